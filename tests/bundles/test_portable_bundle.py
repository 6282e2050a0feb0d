"""A model exported as a bundle answers, where only numpy, onnxruntime and tokenizers are
installed, exactly as the server answers for that version; and it comes back by import."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import tarfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.bundles.edge import EDGE_PACKAGES, run_bundle
from tests.corpus import corpus_rows, write_corpus
from tests.processes import environment, run_cli, running_server

TEXTS = [text for text, _ in corpus_rows(per_label=167, seed=99)][:500]


@dataclass
class Registry:
    env: dict[str, str]
    admin_key: str
    versions: dict[str, int]  # family → version
    root: Path


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """One classifier with an ensemble (encoder and n-grams, calibrated) and an n-gram model."""
    root = tmp_path_factory.mktemp("bundles")
    env = environment(root / "data", f"sqlite:///{root / 'textloop.db'}")
    admin = json.loads(run_cli(env, "init", "--json").stdout)["api_key"]
    corpus = write_corpus(root / "corpus.csv", per_label=60)
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    versions = {}
    for family in ("ensemble", "ngram"):
        # without a cascade, so that every text reaches the encoder
        options = ["--cascade-max-drop", "0"] if family == "ensemble" else []
        trained = run_cli(env, "train", "topics", "--model", family, *options, "--json")
        assert trained.returncode == 0, trained.stderr
        versions[family] = json.loads(trained.stdout)["version"]
    return Registry(env, admin, versions, root)


def served(registry: Registry, version: int, texts: list[str]) -> list[dict]:
    assert (
        run_cli(registry.env, "deploy", "topics", "--version", str(version), "--force").returncode
        == 0
    )
    answers: list[dict] = []
    log = registry.root / f"server-{version}.log"
    with (
        running_server(registry.env, log) as base,
        httpx.Client(base_url=base, headers={"x-api-key": registry.admin_key}) as http,
    ):
        for start in range(0, len(texts), 250):
            response = http.post(
                "/v1/classifiers/topics/classify", json={"texts": texts[start : start + 250]}
            )
            assert response.status_code == 200, response.text
            answers += response.json()["predictions"]
    return answers


def export(registry: Registry, family: str, out: Path) -> None:
    """``textloop export`` of the version of ``family`` to ``out``."""
    version = str(registry.versions[family])
    done = run_cli(registry.env, "export", "topics", "--version", version, "--out", str(out))
    assert done.returncode == 0, done.stderr


def model_versions(registry: Registry) -> list[int]:
    with closing(sqlite3.connect(registry.root / "textloop.db")) as db:
        return [row[0] for row in db.execute("SELECT version FROM model_versions ORDER BY 1")]


def test_the_edge_environment_holds_only_the_three_libraries(edge_python: Path) -> None:
    done = subprocess.run(
        [
            edge_python,
            "-I",
            "-c",
            "import importlib.metadata as m; "
            "print(sorted(d.metadata['Name'].lower() for d in m.distributions()))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.replace("'", '"')) == sorted(EDGE_PACKAGES)
    assert subprocess.run([edge_python, "-I", "-c", "import textloop"]).returncode != 0


@pytest.mark.parametrize("family", ["ensemble", "ngram"])
def test_a_bundle_answers_as_the_server_does_for_the_same_version(
    registry: Registry, edge_python: Path, family: str
) -> None:
    version = registry.versions[family]
    bundle = registry.root / f"bundle-{family}"
    export(registry, family, bundle)
    manifest = json.loads((bundle / "bundle.json").read_text())
    assert manifest["requires"] == (
        ["numpy", "onnxruntime", "tokenizers"] if family == "ensemble" else ["numpy"]
    )
    from_server = served(registry, version, TEXTS)
    from_bundle = run_bundle(edge_python, bundle, TEXTS)
    assert len(from_bundle) == len(from_server) == 500
    assert [a["label"] for a in from_bundle] == [a["label"] for a in from_server]
    worst = max(
        abs(a["confidence"] - b["confidence"])
        for a, b in zip(from_bundle, from_server, strict=True)
    )
    assert worst <= 1e-5, f"confidences differ by up to {worst:.2e}"


def test_predict_py_runs_as_a_script_one_json_object_per_line(
    registry: Registry, edge_python: Path
) -> None:
    bundle = registry.root / "bundle-script"
    assert run_cli(registry.env, "export", "topics", "--out", str(bundle)).returncode == 0
    done = subprocess.run(
        [
            edge_python,
            "-I",
            str(bundle / "predict.py"),
            "rain and wind tomorrow",
            "interest on my loan",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["rain and wind tomorrow", "interest on my loan"]
    assert [line["label"] for line in lines] == ["weather", "finance"]
    assert all(set(line) == {"text", "label", "confidence", "scores"} for line in lines)


def test_an_archived_bundle_comes_back_as_a_new_version_that_answers_the_same(
    registry: Registry,
) -> None:
    archive = registry.root / "ngram.tar.gz"
    version = registry.versions["ngram"]
    export(registry, "ngram", archive)
    imported = run_cli(registry.env, "import", str(archive), "--json")
    assert imported.returncode == 0, imported.stderr
    record = json.loads(imported.stdout)
    assert record["imported_from"]["version"] == version
    assert record["version"] > max(registry.versions.values())
    texts = TEXTS[:50]
    original = served(registry, version, texts)
    again = served(registry, record["version"], texts)
    assert [(a["label"], a["confidence"]) for a in original] == [
        (a["label"], a["confidence"]) for a in again
    ]


def test_a_bundle_changed_after_export_is_refused_and_nothing_is_registered(
    registry: Registry, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    export(registry, "ngram", bundle)
    with (bundle / "arrays" / "ngram.npz").open("ab") as handle:
        handle.write(b"\0")
    before = model_versions(registry)
    refused = run_cli(registry.env, "import", str(bundle))
    assert refused.returncode != 0
    assert "arrays/ngram.npz" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert model_versions(registry) == before


def test_a_folder_bundle_imported_after_use_records_where_it_came_from(
    registry: Registry, edge_python: Path, tmp_path: Path
) -> None:
    bundle = tmp_path / "used"
    export(registry, "ngram", bundle)
    run_bundle(edge_python, bundle, TEXTS[:3])  # importing predict.py leaves __pycache__ there
    assert (bundle / "__pycache__").is_dir()
    imported = run_cli(registry.env, "import", str(bundle), "--json")
    assert imported.returncode == 0, imported.stderr
    number = json.loads(imported.stdout)["version"]
    with closing(sqlite3.connect(registry.root / "textloop.db")) as db:
        (metrics,) = db.execute(
            "SELECT metrics FROM model_versions WHERE version = ?", (number,)
        ).fetchone()
    recorded = json.loads(metrics)
    assert "test" not in recorded  # measured on the sender's data, not this classifier's
    assert recorded["imported_from"]["metrics"]["test"]["accuracy"] > 0
    assert not list((bundle / "model").rglob("*.joblib"))  # exports carry no pickles
    # the model's own arrays are the portable tree's, stored once
    assert (bundle / "model" / "inner" / "scorer.npz").samefile(bundle / "arrays" / "ngram.npz")


def test_a_bundle_bringing_a_pickle_is_refused_even_with_matching_hashes(
    registry: Registry, tmp_path: Path
) -> None:
    bundle = tmp_path / "crafted"
    export(registry, "ngram", bundle)
    (bundle / "model" / "pipeline.joblib").write_bytes(b"not to be unpickled")
    manifest = json.loads((bundle / "bundle.json").read_text())
    manifest["files"]["model/pipeline.joblib"] = hashlib.sha256(b"not to be unpickled").hexdigest()
    (bundle / "bundle.json").write_text(json.dumps(manifest))
    before = model_versions(registry)
    refused = run_cli(registry.env, "import", str(bundle))
    assert refused.returncode != 0 and "model/pipeline.joblib" in refused.stderr
    assert "pickled" in refused.stderr
    assert model_versions(registry) == before


def test_export_refuses_a_destination_that_exists(registry: Registry, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("mine")
    refused = run_cli(registry.env, "export", "topics", "--out", str(tmp_path / "taken"))
    assert refused.returncode != 0 and "exists already" in refused.stderr
    assert (tmp_path / "taken" / "file").read_text() == "mine"


def test_an_archive_has_one_top_folder(registry: Registry, tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    assert run_cli(registry.env, "export", "topics", "--out", str(archive)).returncode == 0
    with tarfile.open(archive) as tar:
        tops = {name.split("/", 1)[0] for name in tar.getnames()}
    assert tops == {"model"}


def test_mlflow_loads_the_exported_model_and_predicts_the_servers_labels(
    registry: Registry, tmp_path: Path
) -> None:
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    version = registry.versions["ensemble"]
    exported = subprocess.run(
        [*textloop_command(), "export-mlflow", "topics", "--version", str(version),
         "--tracking-uri", tracking, "--json"],
        env=registry.env, cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    logged = json.loads(exported.stdout)
    assert logged["registered_name"] == "textloop-topics" and logged["registered_version"] == 1
    texts = TEXTS[:100]
    script = (
        "import json, sys, mlflow, pandas as pd\n"
        f"mlflow.set_tracking_uri({tracking!r})\n"
        "model = mlflow.pyfunc.load_model('models:/textloop-topics/1')\n"
        "texts = json.load(sys.stdin)\n"
        "print(json.dumps(model.predict(pd.DataFrame({'text': texts}))['label'].tolist()))\n"
        "run = mlflow.get_run(json.loads(sys.argv[1]))\n"
        "print(json.dumps([run.data.metrics.get('accuracy'), run.data.tags['textloop.family']]))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script, json.dumps(logged["run_id"])],
        input=json.dumps(texts), cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    labels, (accuracy, family) = (json.loads(line) for line in loaded.stdout.splitlines()[-2:])
    assert labels == [answer["label"] for answer in served(registry, version, texts)]
    assert family == "ensemble" and 0 < accuracy <= 1


def test_an_unreachable_tracking_server_is_one_line_and_a_non_zero_exit(
    registry: Registry, tmp_path: Path
) -> None:
    refused = run_cli(
        registry.env, "export-mlflow", "topics", "--tracking-uri", f"file://{tmp_path}/mlruns"
    )
    assert refused.returncode != 0
    assert "MLflow at file://" in refused.stderr and "refused the export" in refused.stderr


def textloop_command() -> list[str]:
    return [sys.executable, "-m", "textloop"]
