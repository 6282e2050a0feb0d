"""One model version answers a text the same on every path that classifies with it.

The CLI, HTTP (the lean handler and the documented route), the client, batch jobs on both
engines, the notebook API, an exported bundle and the MLflow model all give the same label and
a confidence within 1e-6, whatever texts a text is classified with: one at a time, all together
or shuffled. Each path runs in its own process, as its users run it.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.corpus import corpus_rows, write_corpus
from tests.processes import environment, run_cli, running_server
from textloop.client import Client

pytestmark = [
    pytest.mark.slow,  # trains an embedding model, starts a server and Ray
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

SHORT = [text for text, _ in corpus_rows(per_label=8, seed=7)][:16]
# of several lengths, as real texts are: a text must not be answered by what it is padded to
TEXTS = [*SHORT, *(" ".join(SHORT[i : i + 5]) for i in range(8))]
TOLERANCE = 1e-6

Answer = tuple[str, float]  # label, confidence


@dataclass
class Deployed:
    env: dict[str, str]
    admin_key: str
    version: int
    root: Path


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    """An embedding model (the encoder and a calibrated linear head) in production: the path
    where runtimes and batching could make answers drift apart."""
    root = tmp_path_factory.mktemp("one-answer")
    env = environment(root / "data", f"sqlite:///{root / 'textloop.db'}")
    admin = json.loads(run_cli(env, "init", "--json").stdout)["api_key"]
    corpus = write_corpus(root / "corpus.csv", per_label=40)
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    trained = run_cli(env, "train", "topics", "--model", "embedding", "--json")
    assert trained.returncode == 0, trained.stderr
    version = json.loads(trained.stdout)["version"]
    deployed = run_cli(env, "deploy", "topics", "--version", str(version), "--force")
    assert deployed.returncode == 0, deployed.stderr
    return Deployed(env, admin, version, root)


def python(deployed: Deployed, script: str, stdin: object) -> object:
    """Run ``script`` in a fresh interpreter with the instance's settings; its last line of
    output is JSON."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(stdin),
        env=deployed.env,
        cwd=deployed.root,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def by_cli(deployed: Deployed, texts: list[str]) -> list[Answer]:
    done = run_cli(deployed.env, "classify", "topics", *texts, "--json")
    assert done.returncode == 0, done.stderr
    return [(a["label"], a["confidence"]) for a in json.loads(done.stdout)]


def by_batch(engine: str) -> Callable[[Deployed, list[str]], list[Answer]]:
    def run(deployed: Deployed, texts: list[str]) -> list[Answer]:
        source, out = deployed.root / f"in-{engine}.csv", deployed.root / f"out-{engine}.parquet"
        pacsv.write_csv(pa.table({"text": texts}), source)
        done = run_cli(
            deployed.env, "batch-classify", "topics", str(source), "--output", str(out),
            "--engine", engine, "--chunk-rows", "7",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        rows = pq.read_table(out).to_pylist()
        return [(row["predicted_label"], row["confidence"]) for row in rows]

    return run


def by_notebook(deployed: Deployed, texts: list[str]) -> list[Answer]:
    script = (
        "import json, sys\n"
        "from textloop.notebook import open_workspace\n"
        "frame = open_workspace(progress=False).classify('topics', json.load(sys.stdin))\n"
        "print(json.dumps(list(zip(frame['label'], frame['confidence']))))\n"
    )
    return [(label, confidence) for label, confidence in python(deployed, script, texts)]


def by_bundle(deployed: Deployed, texts: list[str]) -> list[Answer]:
    bundle = deployed.root / "bundle"
    if not bundle.exists():
        version = str(deployed.version)
        done = run_cli(deployed.env, "export", "topics", "--version", version, "--out", str(bundle))
        assert done.returncode == 0, done.stderr
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(bundle)!r})\n"
        "import predict\n"
        f"answers = predict.load({str(bundle)!r}).classify(json.load(sys.stdin))\n"
        "print(json.dumps([(a['label'], a['confidence']) for a in answers]))\n"
    )
    return [(label, confidence) for label, confidence in python(deployed, script, texts)]


def by_mlflow(deployed: Deployed, texts: list[str]) -> list[Answer]:
    tracking = f"sqlite:///{deployed.root / 'mlflow.db'}"
    exported = subprocess.run(  # in the instance's folder: MLflow stores artifacts beside it
        [sys.executable, "-m", "textloop", "export-mlflow", "topics",
         "--version", str(deployed.version), "--tracking-uri", tracking, "--json"],
        env=deployed.env, cwd=deployed.root, capture_output=True, text=True,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    registered = json.loads(exported.stdout)["registered_version"]
    script = (
        "import json, sys, mlflow, pandas as pd\n"
        f"mlflow.set_tracking_uri({tracking!r})\n"
        f"model = mlflow.pyfunc.load_model('models:/textloop-topics/{registered}')\n"
        "frame = model.predict(pd.DataFrame({'text': json.load(sys.stdin)}))\n"
        "print(json.dumps(list(zip(frame['label'], frame['confidence']))))\n"
    )
    return [(label, confidence) for label, confidence in python(deployed, script, texts)]


OFFLINE = {
    "cli": by_cli,
    "batch local": by_batch("local"),
    "batch ray": by_batch("ray"),
    "notebook": by_notebook,
    "bundle": by_bundle,
    "mlflow": by_mlflow,
}


def online(deployed: Deployed) -> dict[str, list[Answer]]:
    """The server's paths: the lean handler with every text in one request, the documented
    route (taken for any query string) one text per request, and the client with the texts
    shuffled."""
    answers: dict[str, list[Answer]] = {}
    log = deployed.root / "server.log"
    with (
        running_server(deployed.env, log) as base,
        httpx.Client(base_url=base, headers={"x-api-key": deployed.admin_key}) as http,
    ):
        together = http.post("/v1/classifiers/topics/classify", json={"texts": TEXTS})
        assert together.status_code == 200, together.text
        answers["http lean"] = [
            (a["label"], a["confidence"]) for a in together.json()["predictions"]
        ]
        alone = []
        for text in TEXTS:
            one = http.post("/v1/classifiers/topics/classify?alias=production", json={"text": text})
            assert one.status_code == 200, one.text
            alone.append((one.json()["label"], one.json()["confidence"]))
        answers["http documented"] = alone
        shuffled = random.Random(3).sample(TEXTS, len(TEXTS))
        with Client(base, deployed.admin_key) as client:
            found = dict(zip(shuffled, client.classify_many("topics", shuffled), strict=True))
        answers["client"] = [(found[t]["label"], found[t]["confidence"]) for t in TEXTS]
    return answers


def test_every_path_gives_a_version_s_answer_to_within_a_millionth(deployed: Deployed) -> None:
    answers = online(deployed)
    for path, classify in OFFLINE.items():
        answers[path] = classify(deployed, TEXTS)
    reference = answers["http documented"]
    for path, found in answers.items():
        assert len(found) == len(TEXTS), path
        labels = sum(a[0] == b[0] for a, b in zip(found, reference, strict=True))
        worst = max(abs(a[1] - b[1]) for a, b in zip(found, reference, strict=True))
        assert labels == len(TEXTS), f"{path}: {labels} of {len(TEXTS)} labels agree"
        assert worst <= TOLERANCE, f"{path}: confidences differ by up to {worst:.2e}"
