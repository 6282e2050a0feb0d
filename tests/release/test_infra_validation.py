"""A model must load and answer in a fresh process, fast enough, before it may serve."""

import json
from pathlib import Path

import pytest

from tests.corpus import write_corpus
from tests.processes import environment, run_cli
from textloop.config import Settings
from textloop.models import families
from textloop.models.base import MANIFEST, ModelResources, Use, save_model
from textloop.models.checks import TRAIN
from textloop.release.infra_validation import infra_validate
from textloop.store import open_store
from textloop.store.queries import get_classifier, get_model_version

TEXTS = [text for text, _ in TRAIN]


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    model = families.create("ngram").fit(TEXTS, [label for _, label in TRAIN])
    save_model(model, tmp_path / "model")
    return tmp_path / "model"


def test_a_sound_model_passes_with_its_latency_measured(saved: Path, settings: Settings) -> None:
    result = infra_validate(saved, ["business", "sport", "tech"], TEXTS, settings)
    assert result.passed, result.reasons
    assert result.measurements["p95_ms"] >= result.measurements["p50_ms"] > 0


def test_a_broken_artifact_fails(saved: Path, settings: Settings) -> None:
    (saved / "scorer.npz").write_bytes(b"not a model")  # what serving reads
    result = infra_validate(saved, ["business", "sport", "tech"], TEXTS, settings)
    assert not result.passed
    assert "failed to load or classify" in result.reasons[0]


def test_wrong_labels_and_slow_answers_fail(saved: Path, settings: Settings) -> None:
    manifest = json.loads((saved / MANIFEST).read_text())
    assert manifest["family"] == "ngram"
    result = infra_validate(saved, ["business", "sport"], TEXTS, settings, max_p95_ms=0.0)
    assert not result.passed
    assert result.reasons[0] == "the loaded model's labels differ from the registered ones"
    assert "p95 latency" in result.reasons[1]


def test_the_probe_loads_an_embedding_model_as_a_replica_does(
    tmp_path: Path, settings: Settings
) -> None:
    """On the settings' ONNX export and one thread per call, never PyTorch on every core: a
    latency measured on a runtime that never serves gates nothing real."""
    resources = ModelResources.for_settings(settings, Use.TRAINING)
    model = families.create("embedding", resources).fit(TEXTS, [label for _, label in TRAIN])
    save_model(model, tmp_path / "model")
    result = infra_validate(tmp_path / "model", sorted(model.classes_), TEXTS, settings)
    assert result.passed, result.reasons
    assert result.measurements["encoders"] == [settings.encoder_runtime] == ["onnx-int8"]


def test_training_records_infra_validation_and_deploy_refuses_a_failure(tmp_path: Path) -> None:
    env = environment(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert run_cli(env, "ingest", str(write_corpus(tmp_path / "c.csv")), "-c", "t").returncode == 0
    trained = json.loads(run_cli(env, "train", "t", "--model", "ngram", "--json").stdout)
    assert trained["steps"]["infra_validate"] == "succeeded"
    settings = Settings.load(data_dir=tmp_path / "data", database_url=env["TEXTLOOP_DATABASE_URL"])
    store = open_store(settings)
    with store.session() as session:
        record = get_model_version(session, get_classifier(session, "t"), 1)
        assert record.infra_validation["passed"] is True
        record.infra_validation = {"passed": False, "reasons": ["p95 latency 900 ms"]}
    store.dispose()
    refused = run_cli(env, "deploy", "t")
    assert refused.returncode == 1
    assert "failed infra-validation: p95 latency 900 ms" in refused.stderr
    assert run_cli(env, "deploy", "t", "--force").returncode == 0


def test_deploy_refuses_a_version_whose_files_changed_since_registration(
    tmp_path: Path, artifact_root: str | None
) -> None:
    if artifact_root is not None:  # in a remote store a changed part fails its manifest's hash
        pytest.skip("changes the files of a local artifact root")
    env = environment(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert run_cli(env, "ingest", str(write_corpus(tmp_path / "c.csv")), "-c", "t").returncode == 0
    assert run_cli(env, "train", "t", "--model", "ngram").returncode == 0
    artifact = tmp_path / "data" / "artifacts" / "classifiers" / "t" / "models" / "1"
    (artifact / "inner" / "pipeline.joblib").write_bytes(b"corrupted on disk")
    refused = run_cli(env, "deploy", "t")
    assert refused.returncode == 1
    assert "its files changed since it was registered" in refused.stderr
