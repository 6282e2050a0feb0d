"""The whole first loop against a real ``textloop serve`` process, over HTTP only.

init (CLI, for the admin key) → upload data → train → deploy → classify → feedback → review tasks.
"""

import json
from pathlib import Path

import httpx

from tests.corpus import write_corpus
from tests.processes import environment, run_cli, running_server


def test_ingest_train_deploy_classify_feedback_review_over_http(
    tmp_path: Path, database_url: str
) -> None:
    env = environment(tmp_path / "data", database_url)
    init = run_cli(env, "init", "--json")
    assert init.returncode == 0, init.stderr
    admin = {"x-api-key": json.loads(init.stdout)["api_key"]}
    corpus = write_corpus(tmp_path / "corpus.csv", text_column="utterance", label_column="topic")

    with (
        running_server(env, tmp_path / "server.log") as base,
        httpx.Client(base_url=base, timeout=120) as http,
    ):
        upload = http.post(
            "/v1/classifiers/topics/datasets?text_column=utterance&label_column=topic",
            content=corpus.read_bytes(),
            headers={**admin, "content-type": "text/csv"},
        )
        assert upload.status_code == 201, upload.text
        assert upload.json()["rows"] == 120 and upload.json()["version"] == 1

        trained = http.post("/v1/classifiers/topics/models", json={"model": "ngram"}, headers=admin)
        assert trained.status_code == 201, trained.text
        assert trained.json()["version"] == 1
        assert trained.json()["metrics"]["test"]["accuracy"] > 0.8

        not_yet = http.post("/v1/classifiers/topics/classify", json={"text": "goal"}, headers=admin)
        assert not_yet.status_code == 404
        assert "no deployed model" in not_yet.json()["error"]["message"]

        deployed = http.post("/v1/classifiers/topics/deployments", json={}, headers=admin)
        assert deployed.status_code == 201 and deployed.json()["version"] == 1

        keys = run_cli(env, "keys", "create", "--scopes", "classify,feedback", "--json")
        app_key = {"x-api-key": json.loads(keys.stdout)["api_key"]}
        batch = http.post(
            "/v1/classifiers/topics/classify",
            json={"texts": ["the referee and the stadium", "interest on my loan"]},
            headers=app_key,
        )
        assert batch.status_code == 200, batch.text
        first, second = batch.json()["predictions"]
        assert (first["label"], second["label"]) == ("sport", "finance")

        feedback = http.post(
            "/v1/classifiers/topics/feedback",
            json={"prediction_id": second["prediction_id"], "label": "sport"},
            headers=app_key,
        )
        assert feedback.status_code == 201, feedback.text

        denied = http.get("/v1/classifiers/topics/review/tasks", headers=app_key)
        assert denied.status_code == 403
        tasks = http.get("/v1/classifiers/topics/review/tasks?status=open", headers=admin).json()[
            "tasks"
        ]
        explicit = [task for task in tasks if task["source"] == "explicit"]
        assert [task["reported_label"] for task in explicit] == ["sport"]
        assert explicit[0]["text"] == "interest on my loan"
        implicit = [task for task in tasks if task["source"] == "implicit"]
        assert {task["prediction_id"] for task in implicit} <= {
            first["prediction_id"],
            second["prediction_id"],
        }
        assert all(task["confidence"] < 0.5 for task in implicit)
