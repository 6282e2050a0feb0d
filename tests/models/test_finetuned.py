"""The ``finetuned`` family: the encoder moves towards the labels, the same way for the same seed
and within its budget; the model carries its own ONNX export, served without torch and cached
under its own identity, apart from the shared encoder."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from tests.corpus import corpus_rows
from tests.processes import heavy_modules_after
from textloop.bundles.writer import BundleWriter
from textloop.config import Settings
from textloop.models import shared_predict as portable
from textloop.models.base import ModelResources, families, load_model, save_model
from textloop.models.finetuned import FinetunedClassifier
from textloop.models.finetuning import Plan, finetune
from textloop.models.onnx_encoder import FILES, ExportManifest
from textloop.pipeline.training import train_classifier
from textloop.store import Store

pytestmark = pytest.mark.slow  # fine-tunes and exports an encoder
ROWS = corpus_rows(per_label=20, seed=3)
TEXTS, LABELS = [t for t, _ in ROWS], [label for _, label in ROWS]
UNSEEN = ["snow is expected over the hills tonight", "the keeper saved a late penalty",
          "shares fell after the profit warning"]  # fmt: skip


def weights(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def test_the_same_seed_gives_the_same_encoder_and_a_spent_budget_stops_the_run(
    tmp_path: Path,
) -> None:
    runs = [
        finetune("all-MiniLM-L6-v2", TEXTS, LABELS, tmp_path / name, 600, seed=1, schedule=Plan(1))
        for name in ("a", "b")
    ]
    assert weights(tmp_path / "a") == weights(tmp_path / "b")
    assert runs[0].steps == runs[0].planned_steps == 2 and not runs[0].stopped_by_budget
    assert runs[0].last_loss == runs[1].last_loss

    stopped = finetune("all-MiniLM-L6-v2", TEXTS, LABELS, tmp_path / "c", 0, schedule=Plan(1))
    assert stopped.stopped_by_budget and stopped.steps == 0 < stopped.planned_steps


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, ModelResources]:
    resources = ModelResources(
        exports=tmp_path_factory.mktemp("encoders"), runtime="onnx-int8", export_missing=True
    )
    model = families.create("finetuned", resources, epochs=2, seed=0)
    return model.fit(TEXTS, LABELS), resources


def test_its_encoder_has_an_identity_and_a_cache_of_its_own(
    fitted: tuple[object, ModelResources],
) -> None:
    model, resources = fitted
    pool = resources.encoder_pool()
    shared = pool.get("all-MiniLM-L6-v2")
    own = model.tuned_  # type: ignore[attr-defined]
    assert own is not shared and own.name.startswith("finetuned-")
    assert not np.allclose(own.encode(UNSEEN), shared.encode(UNSEEN), atol=1e-3)
    assert set(pool.loaded()) == {"all-MiniLM-L6-v2", own.name}


def test_it_learns_the_labels_and_says_what_fine_tuning_did(
    fitted: tuple[object, ModelResources],
) -> None:
    model, _ = fitted
    probabilities = model.predict_proba(UNSEEN)  # type: ignore[attr-defined]
    predicted = [model.classes_[row] for row in probabilities.argmax(axis=1)]  # type: ignore[attr-defined]
    assert predicted == ["weather", "sport", "finance"]
    report = model.fit_report_  # type: ignore[attr-defined]
    assert report["steps"] == report["planned_steps"] == 4 and report["device"] == "cpu"


def test_a_saved_model_carries_its_encoder_and_serves_without_torch(
    fitted: tuple[object, ModelResources], tmp_path: Path
) -> None:
    model, _ = fitted
    save_model(model, tmp_path / "model")
    files = {path.name for path in (tmp_path / "model" / "encoder").iterdir()}
    assert {FILES["int8"], FILES["fp16"]} <= files and FILES["fp32"] not in files

    # truncated to 64 tokens while fine-tuning only: served at the base encoder's length
    assert ExportManifest.load(tmp_path / "model" / "encoder").max_length == 256

    resources = ModelResources(runtime="onnx-int8")
    loaded = load_model(tmp_path / "model", resources)
    expected = model.predict_proba(UNSEEN)  # type: ignore[attr-defined]
    assert np.allclose(loaded.predict_proba(UNSEEN), expected, atol=1e-6)
    assert list(resources.encoder_pool().loaded()) == [loaded.tuned_.name]
    del loaded
    gc.collect()
    assert resources.encoder_pool().loaded() == {}  # a retired model's encoder goes with it

    code = (
        "from pathlib import Path\n"
        "from textloop.models.base import ModelResources, load_model\n"
        "resources = ModelResources(runtime='onnx-int8')\n"
        f"model = load_model(Path({str(tmp_path / 'model')!r}), resources)\n"
        f"model.predict_proba({UNSEEN!r})"
    )
    assert heavy_modules_after(code) == []


def test_auto_leaves_fine_tuning_out_below_its_minimum_and_says_why(
    store: Store, settings: Settings, classifier_id: int
) -> None:
    report = train_classifier(
        store, settings, "topics", "auto", auto_candidates=("ngram", "finetuned")
    )
    assert set(report.candidates) == {"ngram"} and report.fit_reports == {}
    assert report.skipped["finetuned"].startswith("needs 200 texts to train on among several, has")


def test_a_training_run_records_what_fine_tuning_did_and_what_it_gained(
    store: Store, settings: Settings, classifier_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = dataclasses.replace(FinetunedClassifier.tags, min_train_texts=0)  # a small corpus
    monkeypatch.setattr(FinetunedClassifier, "tags", small)
    report = train_classifier(
        store, settings, "topics", "auto", auto_candidates=("embedding", "finetuned")
    )
    assert set(report.candidates) == {"embedding", "finetuned", "ensemble"}
    fit = report.fit_reports["finetuned"]
    assert fit["steps"] == fit["planned_steps"] > 0 and not fit["stopped_by_budget"]
    gain = report.candidates["finetuned"]["accuracy"] - report.candidates["embedding"]["accuracy"]
    assert fit["validation_gain"] == {"over": "embedding", "accuracy": round(gain, 4)}


def test_its_bundle_carries_the_adapted_encoder_and_answers_alike(
    fitted: tuple[object, ModelResources], tmp_path: Path
) -> None:
    model, _ = fitted
    tree = BundleWriter(tmp_path).node(model)
    (tmp_path / portable.MANIFEST).write_text(json.dumps({"format": 1, "model": tree}))
    (encoder,) = (tmp_path / "encoders").iterdir()
    assert encoder.name.startswith("finetuned-")  # its own encoder, not the shared one
    bundled = portable.load(tmp_path).predict_proba(UNSEEN)
    np.testing.assert_allclose(bundled, model.predict_proba(UNSEEN), atol=1e-6)  # type: ignore[attr-defined]


def test_label_sets_fine_tune_each_label_on_its_own_and_answer_one_probability_each(
    tmp_path: Path,
) -> None:
    """Binary cross-entropy per label over the prototypes' cosines: the loss falls, and the
    adapted encoder's per-label heads answer sets, the empty one included."""
    from tests.corpus import label_set_rows

    rows = label_set_rows(120, seed=5)
    texts, sets = [t for t, _ in rows], [s for _, s in rows]
    resources = ModelResources(
        exports=tmp_path / "encoders", runtime="onnx-int8", export_missing=True
    )
    model = families.create("finetuned", resources, epochs=2, seed=0).fit(texts, sets)
    report = model.fit_report_  # type: ignore[attr-defined]
    assert report["steps"] == report["planned_steps"] > 0
    assert report["last_loss"] is not None and report["first_loss"] is not None
    assert report["last_loss"] < report["first_loss"]
    probabilities = model.predict_proba(["rain and snow today", "the weekend and the neighbour"])
    assert model.classes_ == ["finance", "sport", "weather"]
    assert probabilities.shape == (2, 3) and not np.allclose(probabilities.sum(axis=1), 1.0)
    assert probabilities[0].argmax() == 2 and probabilities[1].max() < 0.5
