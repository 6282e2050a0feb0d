"""Runs over HTTP: the newest runs of a classifier, and one run with its steps."""

from fastapi.testclient import TestClient

from tests.serving.conftest import Keys
from tests.serving.test_rejections import assert_error


def test_runs_list_the_classifiers_runs_and_show_one_as_steps(
    client: TestClient, keys: Keys
) -> None:
    admin = keys.header(keys.admin)
    runs = client.get("/v1/classifiers/topics/runs", headers=admin).json()
    # newest first: the deployment, the training run, the ingest
    assert [(r["pipeline"], r["status"]) for r in runs] == [
        ("deploy", "succeeded"),
        ("train", "succeeded"),
        ("ingest", "succeeded"),
    ]
    run = client.get(f"/v1/classifiers/topics/runs/{runs[1]['run']}", headers=admin).json()
    assert run["classifier"] == "topics"
    steps = {step["step"]: step for step in run["steps"]}
    assert steps["evaluate"]["after"] == ["split", "train"]
    assert [a["uri"] for a in steps["push"]["outputs"]] == ["textloop://topics/models/1"]
    assert client.get("/v1/classifiers/topics/runs?limit=1", headers=admin).json() == runs[:1]


def test_runs_need_an_admin_key_and_an_existing_run(client: TestClient, keys: Keys) -> None:
    assert (
        client.get("/v1/classifiers/topics/runs/1", headers=keys.header(keys.classify)).status_code
        == 403
    )
    missing = client.get("/v1/classifiers/topics/runs/999", headers=keys.header(keys.admin))
    assert_error(missing, 404, "not_found", "run 999 of classifier 'topics' does not exist")
    elsewhere = client.get("/v1/classifiers/other/runs/1", headers=keys.header(keys.admin))
    assert_error(elsewhere, 404, "not_found", "run 1 of classifier 'other' does not exist")
    unknown = client.get("/v1/classifiers/nope/runs", headers=keys.header(keys.admin))
    assert_error(unknown, 404, "not_found", "classifier 'nope' does not exist")


def test_every_listed_model_names_the_training_run_that_made_it(
    client: TestClient, keys: Keys
) -> None:
    admin = keys.header(keys.admin)
    models = client.get("/v1/classifiers/topics/models", headers=admin).json()
    trained = [r["run"] for r in client.get("/v1/classifiers/topics/runs", headers=admin).json()
               if r["pipeline"] == "train"]  # fmt: skip
    assert [(m["version"], m["family"], m["run"]) for m in models] == [(1, "ngram", trained[0])]
