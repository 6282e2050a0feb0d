"""Shadow mode: a candidate scores live requests beside production without answering them."""

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.serving.conftest import settle
from tests.serving.portal import PASSWORD, sign_in
from textloop.config import Settings
from textloop.pipeline.training import train_classifier
from textloop.release.deploy import deploy_model
from textloop.review.assignments import claim_next, decide
from textloop.security.accounts import create_user
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import Prediction, ShadowPrediction

TEXTS = ["the striker scored in the match", "rain and storm in the forecast", "bank profit"]


def test_a_shadow_scores_every_request_and_its_agreement_is_reported(
    client: TestClient, deployed: Store, settings: Settings, keys
) -> None:
    train_classifier(deployed, settings, "topics", "ngram", use_cache=False)  # version 2
    admin = keys.header(keys.admin)
    chosen = client.put("/v1/classifiers/topics/shadow", json={"version": 2}, headers=admin)
    assert chosen.status_code == 200 and chosen.json()["shadow_version"] == 2
    with deployed.session() as session:
        get_classifier(session, "topics").threshold = 1.1  # every request goes to review too
        reviewer = create_user(session, "rita@example.com", PASSWORD, "reviewer").id
        create_user(session, "admin@example.com", PASSWORD, "admin")
        session.commit()
    settle(client)

    answer = client.post(
        "/v1/classifiers/topics/classify", json={"texts": TEXTS}, headers=keys.header(keys.classify)
    )
    assert {p["model_version"] for p in answer.json()["predictions"]} == {1}  # production answers
    settle(client)
    with deployed.session() as session:
        shadowed = session.scalars(select(ShadowPrediction)).all()
        answered = {p.id: p.label for p in session.scalars(select(Prediction))}
        assert len(shadowed) == 3
        assert all(s.agreed == (s.label == answered[s.prediction_id]) for s in shadowed)
        task = claim_next(session, "topics", reviewer)
        decide(session, task.id, reviewer, answered[task.prediction_id])
        session.commit()

    report = client.get("/v1/classifiers/topics/shadow", headers=admin).json()
    assert (report["shadow_version"], report["production_version"]) == (2, 1)
    assert report["scored"] == 3 and report["agreement"] == 1.0  # the same data, the same model
    assert report["reviewed"] == 1 and report["production_accuracy_on_reviewed"] == 1.0

    sign_in(client, "admin@example.com")
    assert "<em>shadow</em>: agrees on 100.0% of 3 requests" in client.get("/admin/models").text

    same = client.put("/v1/classifiers/topics/shadow", json={"version": 1}, headers=admin)
    assert same.status_code == 422 and "production already" in same.text
    deploy_model(deployed, settings, "topics", 2)  # promotion ends the shadowing
    after = client.get("/v1/classifiers/topics/shadow", headers=admin).json()
    assert after["shadow_version"] is None and after["production_version"] == 2
    settle(client)  # deployed behind the server's back
    client.post("/v1/classifiers/topics/classify", json={"text": TEXTS[0]}, headers=admin)
    settle(client)
    with deployed.session() as session:
        assert len(session.scalars(select(ShadowPrediction)).all()) == 3  # nothing shadows now


def test_a_multi_label_shadow_agrees_when_it_answers_exactly_production_s_set(
    both_modes: Store, settings: Settings
) -> None:
    train_classifier(both_modes, settings, "tags", "ngram", use_cache=False)  # version 2
    with both_modes.session() as session:
        keys = create_api_key(session, ["admin"]).key
    with TestClient(create_app(settings)) as client:
        header = {"x-api-key": keys}
        chosen = client.put("/v1/classifiers/tags/shadow", json={"version": 2}, headers=header)
        assert chosen.status_code == 200, chosen.text
        settle(client)
        answer = client.post("/v1/classifiers/tags/classify", json={"texts": TEXTS}, headers=header)
        assert answer.status_code == 200, answer.text
        settle(client)
        report = client.get("/v1/classifiers/tags/shadow", headers=header).json()
    with both_modes.session() as session:
        shadowed = session.scalars(select(ShadowPrediction)).all()
        answered = {p.id: p.label for p in session.scalars(select(Prediction))}
    assert len(shadowed) == 3
    assert all(s.agreed == (s.label == answered[s.prediction_id]) for s in shadowed)
    assert all(
        "\x1f" in s.label or s.label in ("", "finance", "sport", "weather") for s in shadowed
    )
    assert report["scored"] == 3 and report["agreement"] == 1.0  # the same data, the same model
