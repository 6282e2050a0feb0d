"""Stages: a version is deployed to staging, tried there by requests that name it, and promoted
to production through the gates of a deploy."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.processes import environment, run_cli
from tests.serving.conftest import Keys, settle
from tests.serving.portal import sign_in
from textloop.config import Settings
from textloop.errors import InvalidRequest, NotBlessed, NotFound
from textloop.notifications.events import list_events
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION, STAGING
from textloop.release.deploy import deploy_model
from textloop.release.promote import promote
from textloop.store import Store
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import Prediction, ReviewTask

URL = "/v1/classifiers/topics/classify"


def versions(store: Store) -> dict[str, int | None]:
    with store.session() as session:
        topics = get_classifier(session, "topics")
        found = {alias: aliased_model(session, topics, alias) for alias in (PRODUCTION, STAGING)}
    return {alias: model.version if model else None for alias, model in found.items()}


@pytest.fixture
def unblessed_on_staging(deployed: Store, settings: Settings) -> Store:
    """Version 2 (a majority-class model, worse than production) on staging."""
    assert train_classifier(deployed, settings, "topics", "majority").version == 2
    deploy_model(deployed, settings, "topics", 2, alias=STAGING)
    return deployed


def test_staging_takes_an_unblessed_version_and_production_does_not_move(
    unblessed_on_staging: Store,
) -> None:
    assert versions(unblessed_on_staging) == {PRODUCTION: 1, STAGING: 2}
    with unblessed_on_staging.session() as session:
        staged = [e.data for e in list_events(session, types=["model.staged"])]
    assert staged == [{"classifier": "topics", "version": 2, "previous_version": None}]


def test_promote_refuses_an_unblessed_staging_version_naming_why(
    unblessed_on_staging: Store, settings: Settings
) -> None:
    with pytest.raises(NotBlessed, match="was not blessed against production version 1: ") as err:
        promote(unblessed_on_staging, settings, "topics", STAGING, PRODUCTION)
    assert "accuracy" in err.value.message  # the verdict's reason, with its numbers
    assert versions(unblessed_on_staging) == {PRODUCTION: 1, STAGING: 2}


def test_promote_moves_production_to_the_staged_version_and_says_so(
    deployed: Store, settings: Settings
) -> None:
    assert train_classifier(deployed, settings, "topics", "ngram", use_cache=False).version == 2
    deploy_model(deployed, settings, "topics", 2, alias=STAGING)

    moved = promote(deployed, settings, "topics", STAGING, PRODUCTION)

    assert (moved.alias, moved.version, moved.previous_version) == (PRODUCTION, 2, 1)
    assert versions(deployed) == {PRODUCTION: 2, STAGING: 2}
    with deployed.session() as session:
        deployed_events = [e.data for e in list_events(session, types=["model.deployed"])]
    assert deployed_events[-1] == {"classifier": "topics", "version": 2, "previous_version": 1}


def test_promote_names_what_is_missing_or_wrong(deployed: Store, settings: Settings) -> None:
    with pytest.raises(NotFound, match="nothing on staging to promote"):
        promote(deployed, settings, "topics", STAGING, PRODUCTION)
    with pytest.raises(InvalidRequest, match="the stages are production, staging"):
        promote(deployed, settings, "topics", "shadow", PRODUCTION)
    with pytest.raises(InvalidRequest, match="to itself"):
        promote(deployed, settings, "topics", PRODUCTION, PRODUCTION)


def test_a_request_naming_staging_is_answered_and_recorded_by_the_staging_version(
    client: TestClient, keys: Keys, unblessed_on_staging: Store
) -> None:
    headers = keys.header(keys.classify)
    text = {"text": "the striker scored a goal"}

    staged = client.post(URL, params={"alias": "staging"}, json=text, headers=headers)
    served = client.post(URL, json=text, headers=headers)
    several = client.post(
        "/v1/classify?alias=staging", json={"classifiers": ["topics"], **text}, headers=headers
    )

    assert staged.status_code == served.status_code == several.status_code == 200
    assert (
        staged.json()["model_version"]
        == several.json()["predictions"]["topics"]["model_version"]
        == 2
    )
    assert served.json()["model_version"] == 1
    assert staged.json()["review"] is False  # a release being tried opens no review task
    settle(client)
    with unblessed_on_staging.session() as session:
        stored = session.get(Prediction, staged.json()["prediction_id"])
        assert stored is not None and (stored.alias, stored.model_version_id) == (
            STAGING,
            aliased_model(session, get_classifier(session, "topics"), STAGING).id,
        )
        production = session.get(Prediction, served.json()["prediction_id"])
        assert production is not None and production.alias == PRODUCTION
        tasks = session.scalar(
            select(func.count())
            .select_from(ReviewTask)
            .where(ReviewTask.prediction_id == stored.id)
        )
        assert tasks == 0


def test_the_shadow_or_an_unknown_alias_never_answers(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    headers = keys.header(keys.classify)
    for alias in ("shadow", "canary"):
        answer = client.post(URL, params={"alias": alias}, json={"text": "hi"}, headers=headers)
        assert answer.status_code == 422
        assert answer.json()["error"]["field"] == "alias"
    empty = client.post(URL, params={"alias": "staging"}, json={"text": "hi"}, headers=headers)
    assert empty.status_code == 404
    assert "no model under alias 'staging'" in empty.json()["error"]["message"]


def test_stages_over_http(
    client: TestClient, keys: Keys, deployed: Store, settings: Settings
) -> None:
    admin = keys.header(keys.admin)
    train_classifier(deployed, settings, "topics", "majority")
    staged = client.post(
        "/v1/classifiers/topics/deployments", json={"version": 2, "alias": "staging"}, headers=admin
    )
    assert staged.status_code == 201, staged.text
    assert staged.json() | {} == {
        "classifier": "topics",
        "alias": "staging",
        "version": 2,
        "previous_version": None,
    }

    refused = client.post(
        "/v1/classifiers/topics/promotions",
        json={"from": "staging", "to": "production"},
        headers=admin,
    )
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "not_blessed" and "was not blessed" in error["message"]
    assert '"force": true' in error["message"] and "--force" not in error["message"]

    forced = client.post(
        "/v1/classifiers/topics/promotions",
        json={"from": "staging", "to": "production", "force": True},
        headers=admin,
    )
    assert forced.status_code == 201, forced.text
    assert (forced.json()["alias"], forced.json()["version"]) == ("production", 2)


def test_the_cli_promotes_and_names_why_it_refuses(deployed: Store, settings: Settings) -> None:
    train_classifier(deployed, settings, "topics", "majority")
    env = environment(settings.data_dir, settings.database_url)

    staged = run_cli(env, "deploy", "topics", "--version", "2", "--alias", "staging")
    refused = run_cli(env, "promote", "topics", "--from", "staging", "--to", "production")

    assert staged.returncode == 0, staged.stderr
    assert "topics staging is now model version 2" in staged.stdout
    assert refused.returncode == 1
    assert "was not blessed against production version 1" in refused.stderr
    assert "--force to override" in refused.stderr
    answered = run_cli(env, "classify", "topics", "rain and snow", "--alias", "staging", "--json")
    assert answered.returncode == 0, answered.stderr
    assert '"model_version": 2' in answered.stdout


def test_an_admin_promotes_staging_from_the_models_page(
    client: TestClient, people: Store, settings: Settings
) -> None:
    train_classifier(people, settings, "topics", "ngram", use_cache=False)  # version 2, blessed
    deploy_model(people, settings, "topics", 2, alias=STAGING)
    token = sign_in(client, "admin@example.com")
    page = client.get("/admin/models").text
    assert 'action="/admin/models/topics/promote"' in page
    assert "Promote staging (version 2) to production" in page

    promoted = client.post("/admin/models/topics/promote", data={"csrf_token": token})

    assert promoted.status_code == 200 and "Roll back from version 2" in promoted.text
    assert versions(people) == {PRODUCTION: 2, STAGING: 2}
