"""Shadow mode: a candidate scores live requests beside production without answering them."""

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.processes import environment, run_cli
from tests.serving.conftest import settle
from tests.serving.portal import PASSWORD, sign_in
from textloop.config import Settings
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import SHADOW
from textloop.release.deploy import deploy_model
from textloop.review.assignments import claim_next, decide
from textloop.security.accounts import create_user
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.queries import aliased_model, get_classifier
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


def test_a_multi_label_classifier_is_never_shadowed(both_modes: Store, settings: Settings) -> None:
    """Shadow scoring compares single labels: choosing a shadow for label sets is refused, over
    HTTP and from the command line, and none is set."""
    train_classifier(both_modes, settings, "tags", "ngram", use_cache=False)  # version 2
    not_yet = "shadow scoring is not available for multi-label classifier 'tags' yet"
    with both_modes.session() as session:
        admin = {"x-api-key": create_api_key(session, ["admin"]).key}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        refused = client.put("/v1/classifiers/tags/shadow", json={"version": 2}, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["message"].startswith(not_yet)
    done = run_cli(environment(settings.data_dir, settings.database_url), "shadow", "tags", "2")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {not_yet}")
    with both_modes.session() as session:
        assert aliased_model(session, get_classifier(session, "tags"), SHADOW) is None
