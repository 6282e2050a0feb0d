"""Moving production (deploy, rollback) under a steady stream of requests fails none of them."""

import json
import threading
import time
from pathlib import Path

import httpx

from tests.corpus import write_corpus
from tests.processes import environment, run_cli, running_server

TEXTS = ["the referee and the stadium", "interest on my loan", "rain and wind tomorrow"]


def test_rollback_and_deploy_under_load_fail_no_request(tmp_path: Path, database_url: str) -> None:
    env = environment(tmp_path / "data", database_url)
    admin = json.loads(run_cli(env, "init", "--json").stdout)["api_key"]
    assert (
        run_cli(env, "ingest", str(write_corpus(tmp_path / "c.csv")), "-c", "topics").returncode
        == 0
    )
    for _ in range(2):  # version 1, then an equal (so blessed) version 2, each deployed
        trained = run_cli(env, "train", "topics", "--model", "ngram", "--deploy", "--no-cache")
        assert trained.returncode == 0, trained.stderr
    answers: list[tuple[int, int | None]] = []
    stop = threading.Event()

    with running_server(env, tmp_path / "server.log") as base:

        def load() -> None:
            with httpx.Client(base_url=base, timeout=30, headers={"x-api-key": admin}) as http:
                while not stop.is_set():
                    for text in TEXTS:
                        try:
                            response = http.post(
                                "/v1/classifiers/topics/classify", json={"text": text}
                            )
                            version = response.json().get("model_version")
                            answers.append((response.status_code, version))
                        except httpx.HTTPError:
                            answers.append((0, None))

        clients = [threading.Thread(target=load) for _ in range(4)]
        for client in clients:
            client.start()

        def served(count: int, version: int) -> None:
            """Waits for `count` more answers and for `version` among them.

            The deployment cache may take a moment to see a change, so a fixed number of
            answers is not enough on a busy machine; the deadline keeps a real failure finite.
            """
            start = len(answers)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                recent = answers[start:]
                if len(recent) >= count and any(seen == version for _, seen in recent):
                    return
                time.sleep(0.05)

        served(60, version=2)
        assert run_cli(env, "rollback", "topics").returncode == 0
        after_rollback = len(answers)
        served(60, version=1)
        assert run_cli(env, "deploy", "topics", "--version", "2").returncode == 0
        after_deploy = len(answers)
        served(60, version=2)
        stop.set()
        for client in clients:
            client.join()

    assert {status for status, _ in answers} == {200}, "a request failed during a swap"
    assert {version for _, version in answers[:after_rollback]} >= {2}
    assert 1 in {version for _, version in answers[after_rollback:after_deploy]}
    assert 2 in {version for _, version in answers[after_deploy:]}
    assert answers[-1][1] == 2, "production went back to version 1 after the deploy"
