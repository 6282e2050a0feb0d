"""The whole loop on Banking77, against a real ``textloop serve --with-worker`` process.

v1 is trained on 10% of Banking77's training rows. The rest of the training texts are sent to
the classify endpoint at a steady rate while a simulated reviewer answers the open review tasks
over the HTTP API from the true labels. After 100 reviewed labels the worker retrains; v2 must be
blessed and deployed by itself, test better than v1, and be announced to a webhook receiver in
order with valid signatures, and no classify request may fail or time out meanwhile. It runs on
SQLite, the embedded default.

To keep CI short the stream stops once v2 has answered ``AFTER_SWAP`` requests (sending the
texts again from the start if the retrain outlasts them, as it can on a busy machine); set
``TEXTLOOP_SCENARIO_FULL=1`` to send every remaining training text once.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.processes import environment, run_cli, running_server
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.serial]

BANKING77 = Path(__file__).parents[2] / "src" / "textloop" / "demo_data"
SECRET = "the-scenario-webhook-secret"
FULL = os.environ.get("TEXTLOOP_SCENARIO_FULL") == "1"
RATE = 20.0 if FULL else 40.0  # classify requests per second (shortened: reviews come sooner)
AFTER_SWAP = 200


class Traffic(threading.Thread):
    """Sends one text every 1/RATE seconds and records what each answer said."""

    def __init__(self, base: str, key: dict[str, str], texts: list[str]) -> None:
        super().__init__(daemon=True)
        self.base, self.key, self.texts = base, key, texts
        self.versions: list[int] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as http:
            started = time.monotonic()
            stream = self.texts if FULL else itertools.cycle(self.texts)
            for number, text in enumerate(stream):
                if self.stop.is_set():
                    return
                time.sleep(max(0.0, started + number / RATE - time.monotonic()))
                try:
                    answer = http.post(
                        "/v1/classifiers/bank/classify", json={"text": text}, headers=self.key
                    )
                except httpx.HTTPError as exc:  # a timeout counts as a failure
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if answer.status_code != 200:
                    self.failures.append(f"{answer.status_code}: {answer.text[:200]}")
                    continue
                self.versions.append(answer.json()["model_version"])
                if not FULL and self.versions.count(2) >= AFTER_SWAP:
                    return


class Reviewer(threading.Thread):
    """Claims open tasks over HTTP with a reviewer's own key and answers with the true label."""

    def __init__(self, base: str, key: dict[str, str], truth: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.base, self.key, self.truth = base, key, truth
        self.decided = 0
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as http:
            while not self.stop.is_set():
                task = http.post("/v1/classifiers/bank/review/claim", headers=self.key)
                if task.status_code == 204:
                    self.stop.wait(0.2)
                    continue
                if task.status_code != 200:
                    self.errors.append(task.text)
                    self.stop.wait(0.5)
                    continue
                label = self.truth[task.json()["text"]]
                decided = http.post(
                    f"/v1/review/tasks/{task.json()['id']}/decision",
                    json={"label": label},
                    headers=self.key,
                )
                if decided.status_code == 200:
                    self.decided += 1
                else:
                    self.errors.append(decided.text)


def banking77_split(folder: Path) -> tuple[Path, list[tuple[str, str]]]:
    with (BANKING77 / "train.csv").open(newline="", encoding="utf-8") as handle:
        rows = [(row["text"], row["category"]) for row in csv.DictReader(handle)]
    random.Random(0).shuffle(rows)
    first = len(rows) // 10
    v1 = folder / "v1.csv"
    with v1.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows[:first])
    return v1, rows[first:]


def test_reviewed_traffic_retrains_and_ships_a_better_model_without_failing_a_request(
    tmp_path: Path,
) -> None:
    # The embedded default: the loop, not storage, is under test here (the retrain over HTTP,
    # the killed worker and the swap under load run on both databases).
    env = environment(tmp_path / "data", f"sqlite:///{tmp_path / 'textloop.db'}")
    env["TEXTLOOP_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"  # where the webhook receiver listens
    admin = {"x-api-key": json.loads(run_cli(env, "init", "--json").stdout)["api_key"]}
    made = run_cli(env, "users", "create", "rita@example.com", "--password-stdin",
                   stdin="a long password\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    issued = run_cli(env, "keys", "create", "--scopes", "review", "--user", "rita@example.com",
                     "--json")  # fmt: skip
    reviewer = {"x-api-key": json.loads(issued.stdout)["api_key"]}
    v1_file, rest = banking77_split(tmp_path)
    ingested = run_cli(env, "ingest", str(v1_file), "-c", "bank", "--label-column", "category",
                       "--test-file", str(BANKING77 / "test.csv"))  # fmt: skip
    assert ingested.returncode == 0, ingested.stderr
    trained = run_cli(env, "train", "bank", "--model", "embedding", "--deploy")
    assert trained.returncode == 0, trained.stderr
    policy = run_cli(env, "retrain-policy", "bank", "--after", "100", "--model", "embedding")
    assert policy.returncode == 0, policy.stderr

    with (
        Receiver.running() as receiver,
        running_server(env, tmp_path / "server.log", "--with-worker") as base,
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        hook = {"url": receiver.url, "secret": SECRET, "classifier": "bank"}
        assert http.post("/v1/webhooks", json=hook, headers=admin).status_code == 201
        traffic = Traffic(base, admin, [text for text, _ in rest])
        answers = Reviewer(base, reviewer, dict(rest))
        traffic.start()
        answers.start()
        traffic.join(timeout=1500 if FULL else 600)
        finished = not traffic.is_alive()
        traffic.stop.set()
        answers.stop.set()
        answers.join(timeout=30)
        assert finished, "v2 did not answer within the time allowed"

        assert traffic.failures == []
        assert answers.errors == []
        assert answers.decided >= 100
        assert 2 in traffic.versions, "v2 never answered"
        swap = traffic.versions.index(2)
        # every request after a swap is answered by the new model (with the whole stream, the
        # reviewed labels keep coming and later versions follow v2 the same way)
        assert set(traffic.versions[:swap]) == {1} and traffic.versions == sorted(traffic.versions)
        assert FULL or set(traffic.versions[swap:]) == {2}

        # v2's test split is v1's fixed test rows plus a held-out slice of the reviewed labels;
        # the blessing scored both models on it
        models = http.get("/v1/classifiers/bank/models", headers=admin).json()
        blessing = next(m["blessing"] for m in models if m["version"] == 2)
        assert blessing["production_version"] == 1
        accuracy = {2: blessing["candidate"]["accuracy"], 1: blessing["production"]["accuracy"]}
        assert blessing["blessed"] and accuracy[2] > accuracy[1], blessing
        classifier = http.get("/v1/classifiers/bank", headers=admin).json()
        assert classifier["production_version"] >= max(traffic.versions)

        expected = ["run.started", "model.blessed", "model.deployed", "run.succeeded"]
        deadline = time.monotonic() + 30
        while len(receiver.received) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.2)
        received = [body["type"] for body in receiver.events(SECRET)]  # signatures checked
        assert received[:4] == expected
        # reviewers who keep deciding while v2 ships may trigger the next retrain: its events
        # follow, starting with its run
        assert received[4:5] in ([], ["run.started"])
    print(
        f"\nscenario: {len(traffic.versions)} requests ({swap} by v1), 0 failures, "
        f"{answers.decided} reviewed; test accuracy v1 {accuracy[1]:.4f} -> v2 {accuracy[2]:.4f}; "
        f"versions served {sorted(set(traffic.versions))}; {len(received)} webhook deliveries"
    )
