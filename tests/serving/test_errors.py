"""An error tells each caller what to do in its own words: a program the request that fixes it,
a person at a shell the command, a person in the portal the fact alone."""

from fastapi.testclient import TestClient

from tests.processes import environment, run_cli
from tests.serving.conftest import Keys
from textloop.config import Settings
from textloop.errors import NotFound, Remedy
from textloop.store import Store
from textloop.store.queries import get_or_create_classifier


def test_a_remedy_is_phrased_for_the_surface_that_shows_it() -> None:
    error = NotFound("no model", remedy=Remedy(cli="run `textloop train x`", api="POST /v1/x"))
    assert error.for_cli() == "no model; run `textloop train x`"
    assert error.for_api() == "no model; POST /v1/x"
    assert NotFound("gone").for_api() == NotFound("gone").for_cli() == "gone"


def test_the_api_names_the_request_that_fixes_an_error_never_a_command(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    with deployed.session() as session:
        get_or_create_classifier(session, "fresh")
    headers = keys.header(keys.admin)

    undeployed = client.post("/v1/classifiers/fresh/classify", json={"text": "hi"}, headers=headers)
    untrained = client.post(
        "/v1/classifiers/fresh/deployments", json={"force": True}, headers=headers
    )

    assert undeployed.status_code == untrained.status_code == 404
    for answer in (undeployed, untrained):
        message = answer.json()["error"]["message"]
        assert "POST /v1/classifiers/fresh/" in message
        assert "textloop" not in message and "--" not in message


def test_the_cli_names_the_command_that_fixes_an_error(store: Store, settings: Settings) -> None:
    with store.session() as session:
        get_or_create_classifier(session, "topics")
    env = environment(settings.data_dir, settings.database_url)
    result = run_cli(env, "train", "topics")
    assert result.returncode == 1
    assert "run `textloop ingest FILE --classifier topics` first" in result.stderr
