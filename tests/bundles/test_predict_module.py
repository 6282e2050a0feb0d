"""``models/shared_predict.py`` (a bundle's ``predict.py``) gives every built-in family's
probabilities from the arrays the family writes through ``portable``: the bundle's arithmetic is
the model's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from textloop.bundles.writer import BundleWriter
from textloop.errors import ConfigError
from textloop.models import families
from textloop.models import shared_predict as predict
from textloop.models.calibrated import CalibratedClassifier
from textloop.models.cascade import CascadeClassifier
from textloop.models.checks import TRAIN
from textloop.models.ensemble import EnsembleClassifier

TEXTS = [t for t, _ in TRAIN]
LABELS = [label for _, label in TRAIN]
UNSEEN = ["", "ok", "Ünïcödé and emoji 🚀", "a text with words the models never saw at all"]


def bundled(model: Any, directory: Path) -> predict.Bundle:
    tree = BundleWriter(directory).node(model)
    (directory / predict.MANIFEST).write_text(json.dumps({"format": 1, "model": tree}))
    return predict.load(directory)


def cascade_over_a_shared_member() -> CascadeClassifier:
    """A calibrated n-gram model first, inside an ensemble (with the majority prior) as the full
    model; the threshold at the median, so that some texts go each way."""
    cheap = families.create("ngram", C=0.5).fit(TEXTS, LABELS)
    prior = families.create("majority").fit(TEXTS, LABELS)
    ensemble = EnsembleClassifier.from_fitted([cheap, prior], [0.7, 0.3], pooling="arithmetic")
    full = CalibratedClassifier(ensemble).fit(TEXTS, LABELS)
    first = CalibratedClassifier(cheap).fit(TEXTS, LABELS)
    cascade = CascadeClassifier(first, full, max_drop=0.5).fit(TEXTS, LABELS)
    cascade.threshold_ = float(np.median(cascade.first_probabilities(TEXTS).max(axis=1)))
    return cascade


@pytest.mark.parametrize(
    "build",
    [
        lambda: families.create("ngram").fit(TEXTS, LABELS),
        lambda: families.create("majority").fit(TEXTS, LABELS),
        lambda: EnsembleClassifier.from_fitted(
            [
                families.create("ngram").fit(TEXTS, LABELS),
                families.create("ngram", C=0.5).fit(TEXTS, LABELS),
            ],
            [0.5, 0.5],
        ),
        cascade_over_a_shared_member,
    ],
    ids=["ngram", "majority", "geometric-ensemble", "cascade"],
)
def test_the_bundle_gives_the_models_probabilities(build: Any, tmp_path: Path) -> None:
    model = build()
    bundle = bundled(model, tmp_path)
    texts = [*TEXTS, *UNSEEN]
    assert bundle.classes == list(model.classes_)
    np.testing.assert_allclose(bundle.predict_proba(texts), model.predict_proba(texts), atol=1e-12)


def test_a_member_the_cascade_shares_is_written_once(tmp_path: Path) -> None:
    bundled(cascade_over_a_shared_member(), tmp_path)
    assert sorted(p.name for p in (tmp_path / "arrays").iterdir()) == ["ngram.npz"]
    assert '"ref"' in (tmp_path / predict.MANIFEST).read_text()


def test_classify_answers_label_confidence_and_every_score(tmp_path: Path) -> None:
    model = families.create("ngram").fit(TEXTS, LABELS)
    (answer,) = bundled(model, tmp_path).classify([TEXTS[0]])
    assert answer["label"] == LABELS[0]
    assert answer["confidence"] == max(answer["scores"].values())
    assert sorted(answer["scores"]) == sorted(model.classes_)


def test_a_family_without_a_portable_description_is_refused_by_name(tmp_path: Path) -> None:
    class Opaque:
        family = "opaque"
        classes_ = ("a",)

    with pytest.raises(ConfigError, match="'opaque' model family cannot be exported"):
        BundleWriter(tmp_path).node(Opaque())


def test_a_multi_label_bundle_answers_the_set_past_each_threshold(tmp_path: Path) -> None:
    """Per-label calibration, a logit-pooled ensemble and each label's threshold travel in the
    bundle; ``classify`` answers the labels (possibly none) and the confidence in that set."""
    from tests.corpus import label_set_rows
    from textloop.models.compose import compose_sets

    rows = label_set_rows(240)
    texts, sets = [t for t, _ in rows], [s for _, s in rows]
    members = [families.create("ngram", C=c).fit(texts[:160], sets[:160]) for c in (30.0, 1.0)]
    ensemble = EnsembleClassifier.from_fitted(members, [0.6, 0.4], "logit")
    model = compose_sets({"ensemble": ensemble}, texts[160:], sets[160:]).model
    bundle = bundled(model, tmp_path)
    unseen = [*texts[:20], *UNSEEN]
    np.testing.assert_allclose(bundle.predict_proba(unseen), model.predict_proba(unseen))
    answers = bundle.classify(unseen)
    assert [tuple(a["labels"]) for a in answers] == model.predict_sets(unseen)
    assert any(a["labels"] == [] for a in answers)
    probabilities = model.predict_proba(unseen[:1])[0]
    expected = np.prod(
        np.where(probabilities >= model.thresholds_, probabilities, 1 - probabilities)
    )
    assert answers[0]["confidence"] == pytest.approx(expected)
