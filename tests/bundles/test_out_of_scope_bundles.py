"""A model with an out-of-scope detector leaves textloop with it: its bundle's ``predict.py`` and
its MLflow model send aside the texts textloop's own predictor does (``"out_of_scope": true``,
``"label": None``, the nearest label still first in the scores), by the same rule behind a
cascade and without an encoder; it comes back by import with its detector; and a model without
one answers as bundles always did, with no ``out_of_scope`` key."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.bundles.edge import run_bundle
from tests.corpus import corpus_rows
from tests.processes import environment
from textloop.artifacts import artifacts_for
from textloop.bundles.export import (
    CHECK_TEXTS,
    SCOPE_MARGIN,
    Located,
    check_against_bundle,
    export_bundle,
    locate,
)
from textloop.bundles.importing import import_bundle
from textloop.bundles.writer import BundleWriter
from textloop.config import Settings
from textloop.errors import ConfigError
from textloop.models import families
from textloop.models import shared_predict as predict
from textloop.models.base import ModelResources, Use, load_model
from textloop.models.cascade import NEVER, CascadeClassifier
from textloop.models.compose import compose
from textloop.models.out_of_scope import OutOfScopeDetector, attach
from textloop.predict.outcome import Scored, scored
from textloop.predict.predictor import DIRECT
from textloop.registry.models import register_model
from textloop.store import Store
from textloop.store.queries import get_classifier, latest_dataset_version

ROWS = corpus_rows(per_label=40)  # the rows of the ``classifier_id`` fixture's corpus
TRAIN, VALIDATION, TEST = ROWS[:72], ROWS[72:96], ROWS[96:]
IN_SCOPE = [text for text, _ in TRAIN[:3]]  # texts it learned from: nearest cosine 1
ELSEWHERE = [  # about none of sport, finance and weather
    "how long should sourdough bread rise before baking",
    "a poem about the quiet of the moon over the sea",
]
TEXTS = [*IN_SCOPE, *ELSEWHERE]
ASIDE = [False] * len(IN_SCOPE) + [True] * len(ELSEWHERE)


def texts_of(rows: list[tuple[str, str]]) -> list[str]:
    return [text for text, _ in rows]


def labels_of(rows: list[tuple[str, str]]) -> list[str]:
    return [label for _, label in rows]


@dataclasses.dataclass(frozen=True)
class Trained:
    """An ``embedding`` model on the INT8 ONNX encoder (calibrated on validation, as training
    composes it) and an ``ngram`` model, each with the detector fitted for it, unattached."""

    model: Any
    detector: OutOfScopeDetector
    ngram: Any
    ngram_detector: OutOfScopeDetector


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("encoders") / "data")
    resources = ModelResources.for_settings(settings, Use.TRAINING)
    embedding = families.create("embedding", resources).fit(texts_of(TRAIN), labels_of(TRAIN))
    model = compose({"embedding": embedding}, texts_of(VALIDATION), labels_of(VALIDATION)).model
    ngram = families.create("ngram").fit(texts_of(TRAIN), labels_of(TRAIN))
    return Trained(
        model,
        OutOfScopeDetector(recall=0.9).fit(model, texts_of(VALIDATION), texts_of(TRAIN)),
        ngram,
        OutOfScopeDetector(recall=0.9).fit(ngram, texts_of(VALIDATION), texts_of(TRAIN)),
    )


def registered(
    store: Store, settings: Settings, model: Any, detector: OutOfScopeDetector | None
) -> Located:
    """``model`` with ``detector`` registered as the newest version of ``topics``."""
    attach(model, detector)
    try:
        with store.session() as session:
            topics = get_classifier(session, "topics")
            dataset = latest_dataset_version(session, topics)
            register_model(session, artifacts_for(settings), topics, dataset, model, {})
    finally:
        attach(model, None)  # the fixture's model is shared: it carries no detector
    with store.session() as session:
        return locate(session, "topics", None)


def textloop_answers(settings: Settings, found: Located, texts: list[str]) -> list[Scored]:
    """What textloop's own predictor answers for ``texts`` with the version, loaded as a
    server loads it."""
    served = load_model(
        artifacts_for(settings).local(found.artifact_uri),
        ModelResources.for_settings(settings, Use.SERVING),
    )
    answered = DIRECT.answer(served, texts)
    return scored(served, answered.probabilities, answered.out_of_scope)


def bundled(model: Any, directory: Path) -> predict.Bundle:
    """``model``'s tree and detector written as ``export`` writes them, without a registry."""
    writer = BundleWriter(directory)
    manifest: dict[str, Any] = {"format": predict.FORMAT, "model": writer.node(model)}
    scope = writer.out_of_scope(model)
    if scope is not None:
        manifest[predict.SCOPE] = scope
    (directory / predict.MANIFEST).write_text(json.dumps(manifest))
    return predict.load(directory)


def nearest(answer: dict[str, Any]) -> str:
    return max(answer["scores"], key=answer["scores"].get)


def test_a_bundle_sends_aside_the_texts_textloop_does_and_keeps_the_nearest_label(
    store: Store,
    settings: Settings,
    classifier_id: int,
    trained: Trained,
    edge_python: Path,
    tmp_path: Path,
) -> None:
    """Where only numpy, onnxruntime and tokenizers are installed."""
    found = registered(store, settings, trained.model, trained.detector)
    exported = export_bundle(settings, found, tmp_path / "bundle")
    assert exported.out_of_scope
    manifest = json.loads((exported.path / predict.MANIFEST).read_text())
    assert manifest[predict.SCOPE]["reference"] == "out_of_scope/reference.npy"
    answers = run_bundle(edge_python, exported.path, TEXTS)
    expected = textloop_answers(settings, found, TEXTS)
    assert [a["out_of_scope"] for a in answers] == [e.out_of_scope for e in expected] == ASIDE
    assert [a["label"] for a in answers] == [None if e.out_of_scope else e.label for e in expected]
    assert [nearest(a) for a in answers] == [e.label for e in expected]
    assert list(answers[-1]) == ["label", "out_of_scope", "confidence", "scores"]
    # the setting's "off", asked of the bundle: the nearest label everywhere, no key
    off = predict.load(exported.path).classify(TEXTS, scope=False)
    assert all(list(answer) == ["label", "confidence", "scores"] for answer in off)
    assert [answer["label"] for answer in off] == [nearest(answer) for answer in answers]


def test_an_imported_bundle_keeps_its_detector(
    store: Store, settings: Settings, classifier_id: int, trained: Trained, tmp_path: Path
) -> None:
    found = registered(store, settings, trained.model, trained.detector)
    bundle = export_bundle(settings, found, tmp_path / "bundle").path
    # textloop's own saved model travels with its detector, its embeddings stored once
    assert (bundle / "model" / "out_of_scope" / "reference.npy").samefile(
        bundle / "out_of_scope" / "reference.npy"
    )
    back = import_bundle(store, settings, bundle)  # its check compares the flags too
    with store.session() as session:
        again = locate(session, "topics", back.version)
    answers = textloop_answers(settings, again, TEXTS)
    assert [answer.out_of_scope for answer in answers] == ASIDE


def test_a_model_without_a_detector_bundles_as_before(
    store: Store, settings: Settings, classifier_id: int, trained: Trained, tmp_path: Path
) -> None:
    found = registered(store, settings, trained.model, None)
    exported = export_bundle(settings, found, tmp_path / "bundle")
    assert not exported.out_of_scope
    assert predict.SCOPE not in json.loads((exported.path / predict.MANIFEST).read_text())
    answers = predict.load(exported.path).classify(TEXTS)
    assert all(list(answer) == ["label", "confidence", "scores"] for answer in answers)
    expected = textloop_answers(settings, found, TEXTS)
    assert [a["label"] for a in answers] == [e.label for e in expected]
    assert all(e.out_of_scope is None for e in expected)


def test_mlflow_answers_an_out_of_scope_column(
    store: Store, settings: Settings, classifier_id: int, trained: Trained, tmp_path: Path
) -> None:
    found = registered(store, settings, trained.model, trained.detector)
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    script = (  # logged and loaded in one process, away from this one's MLflow state
        "import json, sys, mlflow, pandas as pd\n"
        "from textloop.bundles.export import locate\n"
        "from textloop.bundles.mlflow_export import export_to_mlflow\n"
        "from textloop.config import Settings\n"
        "from textloop.store import open_store\n"
        "settings = Settings.load()\n"
        "with open_store(settings).session() as session:\n"
        "    found = locate(session, 'topics', None)\n"
        f"logged = export_to_mlflow(settings, found, {tracking!r})\n"
        "model = mlflow.pyfunc.load_model(logged.model_uri)\n"
        "answer = model.predict(pd.DataFrame({'text': json.load(sys.stdin)}))\n"
        "print(json.dumps([list(answer.columns), answer.to_dict('list')]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(TEXTS), cwd=tmp_path,
        env=environment(settings.data_dir, settings.database_url),
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    columns, table = json.loads(done.stdout.splitlines()[-1])
    assert columns == ["label", "out_of_scope", "confidence"]
    expected = textloop_answers(settings, found, TEXTS)
    assert table["out_of_scope"] == ASIDE
    assert table["label"] == [None if e.out_of_scope else e.label for e in expected]


def test_behind_a_cascade_a_text_the_first_stage_answered_is_in_scope(
    trained: Trained, tmp_path: Path
) -> None:
    """As textloop's detector: the texts the cheap stage answers are never encoded to ask."""
    for name, threshold, aside in [("trusting", 0.0, False), ("wary", NEVER, True)]:
        cascade = CascadeClassifier.fitted(trained.ngram, trained.model, 0.001, threshold)
        attach(cascade, trained.detector)
        directory = tmp_path / name
        directory.mkdir()
        bundle = bundled(cascade, directory)
        check_against_bundle(directory, cascade)  # what ``export`` holds a bundle to
        flags = bundle.out_of_scope(ELSEWHERE)
        assert flags is not None and flags.tolist() == [aside] * len(ELSEWHERE)
        model_flags = trained.detector.out_of_scope(
            cascade, ELSEWHERE, cascade.predict_proba(ELSEWHERE)
        )
        assert flags.tolist() == model_flags.tolist()


def test_without_an_encoder_the_bundle_goes_on_the_probability_alone(
    trained: Trained, tmp_path: Path
) -> None:
    attach(trained.ngram, trained.ngram_detector)
    try:
        bundle = bundled(trained.ngram, tmp_path)
        check_against_bundle(tmp_path, trained.ngram)
        given = [*texts_of(TEST), *ELSEWHERE, *CHECK_TEXTS]
        expected = trained.ngram_detector.out_of_scope(
            trained.ngram, given, trained.ngram.predict_proba(given)
        )
    finally:
        attach(trained.ngram, None)
    section = json.loads((tmp_path / predict.MANIFEST).read_text())[predict.SCOPE]
    assert section["embedding"] is None and not list(tmp_path.glob("encoders"))
    flags = bundle.out_of_scope(given)
    assert flags is not None and flags.tolist() == expected.tolist()
    assert 0 < flags.sum() < len(given)


def test_the_export_check_refuses_other_flags_but_not_a_hair_from_the_threshold(
    trained: Trained, tmp_path: Path
) -> None:
    """A check text whose score lies within ``SCOPE_MARGIN`` of the threshold may fall either
    side in the bundle and the model (their numbers agree within 1e-5, not exactly); any other
    text must get the same flag."""
    model, detector = trained.ngram, copy.copy(trained.ngram_detector)
    texts = [*CHECK_TEXTS, *model.classes_]
    scores = detector.scores(model, texts, model.predict_proba(texts))
    # a threshold just at one check text's score: that text is in scope for the model ...
    detector.threshold_ = edge = float(np.sort(scores)[len(scores) // 2])
    attach(model, detector)
    try:
        bundled(model, tmp_path)
        manifest = json.loads((tmp_path / predict.MANIFEST).read_text())

        def rewritten(change: dict[str, Any] | None) -> None:
            if change is None:
                del manifest[predict.SCOPE]
            else:
                manifest[predict.SCOPE].update(change)
            (tmp_path / predict.MANIFEST).write_text(json.dumps(manifest))

        # ... and out of scope for a bundle whose threshold is a hair above: still accepted
        hair = edge + SCOPE_MARGIN / 100
        assert (scores < hair).sum() > (scores < edge).sum()
        rewritten({"threshold": hair})
        check_against_bundle(tmp_path, model)
        rewritten({"threshold": float(scores.max()) + 1.0})  # every text sent aside
        with pytest.raises(ConfigError, match="answers 'out of scope' differently"):
            check_against_bundle(tmp_path, model)
        rewritten(None)  # the detector lost
        with pytest.raises(ConfigError, match="and the bundle does not"):
            check_against_bundle(tmp_path, model)
    finally:
        attach(model, None)


def test_a_text_answered_with_the_data_s_own_out_of_scope_label_is_out_of_scope(
    trained: Trained, tmp_path: Path
) -> None:
    """Where the training data had out-of-scope examples under a label of their own
    (``train --out-of-scope-label``), the bundle answers that label out of scope, as textloop."""
    model, detector = trained.ngram, copy.copy(trained.ngram_detector)
    detector.label = "weather"
    attach(model, detector)
    try:
        bundle = bundled(model, tmp_path)
        check_against_bundle(tmp_path, model)
        given = texts_of(TEST)
        probabilities = model.predict_proba(given)
        expected = detector.out_of_scope(model, given, probabilities)
    finally:
        attach(model, None)
    answered = probabilities.argmax(axis=1) == list(model.classes_).index("weather")
    flags = bundle.out_of_scope(given)
    assert flags is not None and flags.tolist() == expected.tolist()
    assert answered.any() and flags[answered].all()
