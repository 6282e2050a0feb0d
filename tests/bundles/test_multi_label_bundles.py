"""A multi-label model leaves textloop as a bundle or an MLflow model answering sets, and a bundle
comes back only into a classifier of its own mode: label sets cannot be served by a single-label
classifier, nor single labels by a multi-label one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.corpus import label_set_rows
from tests.processes import TEXTLOOP, environment
from textloop.bundles.export import check_against_bundle, export_bundle, locate
from textloop.bundles.importing import import_bundle
from textloop.bundles.writer import BundleWriter
from textloop.config import Settings
from textloop.errors import InvalidRequest
from textloop.models import families
from textloop.models import shared_predict as predict
from textloop.models.ensemble import EnsembleClassifier
from textloop.models.multi_label import MultiLabelClassifier
from textloop.models.set_cascade import SetCascadeClassifier
from textloop.store import Store
from textloop.store.tables import ModelVersion

TEXTS = [
    "the striker scored a goal at the stadium and the bank raised interest",
    "rain and wind in the forecast",
    "what happens to the weekend when the neighbour moves",
]


def model_versions(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(ModelVersion)) or 0


def test_mlflow_serves_a_multi_label_model_s_sets_as_its_bundle_does(
    both_modes: Store, settings: Settings, tmp_path: Path
) -> None:
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = environment(settings.data_dir, settings.database_url)
    done = subprocess.run(  # in tmp_path: MLflow keeps the model's files beside its cwd
        [TEXTLOOP, "export-mlflow", "tags", "--tracking-uri", tracking, "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    script = (
        "import json, sys, mlflow, pandas as pd\n"
        f"mlflow.set_tracking_uri({tracking!r})\n"
        "model = mlflow.pyfunc.load_model('models:/textloop-tags/1')\n"
        "answer = model.predict(pd.DataFrame({'text': json.load(sys.stdin)}))\n"
        "print(json.dumps([list(answer.columns), answer['labels'].tolist()]))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(TEXTS), cwd=tmp_path,
        capture_output=True, text=True,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    columns, labels = json.loads(loaded.stdout.splitlines()[-1])
    assert columns == ["labels", "confidence"]
    with both_modes.session() as session:
        found = locate(session, "tags", None)
    bundle = predict.load(export_bundle(settings, found, tmp_path / "bundle").path)
    assert labels == ["|".join(answer["labels"]) for answer in bundle.classify(TEXTS)]
    assert "" in labels  # the empty set travels as an empty cell


def test_a_bundle_comes_back_only_into_a_classifier_of_its_own_mode(
    both_modes: Store, settings: Settings, tmp_path: Path
) -> None:
    with both_modes.session() as session:
        tags, topics = locate(session, "tags", None), locate(session, "topics", None)
    multi = export_bundle(settings, tags, tmp_path / "tags").path
    single = export_bundle(settings, topics, tmp_path / "topics").path
    with pytest.raises(InvalidRequest) as refused:
        import_bundle(both_modes, settings, multi, "topics")
    assert refused.value.message == (
        "the bundle holds a multi-label model and classifier 'topics' is single-label; import "
        "it into a multi-label classifier"
    )
    with pytest.raises(InvalidRequest) as refused:
        import_bundle(both_modes, settings, single, "tags")
    assert refused.value.message == (
        "the bundle holds a single-label model and classifier 'tags' is multi-label; import "
        "it into a single-label classifier"
    )
    assert model_versions(both_modes) == 2  # nothing registered
    back = import_bundle(both_modes, settings, multi)
    assert (back.classifier, back.version, back.source["classifier"]) == ("tags", 2, "tags")
    again = import_bundle(both_modes, settings, single, "topics")
    assert (again.classifier, again.version) == ("topics", 2)


def test_a_set_cascade_travels_as_one_node_answering_the_sets_the_server_does(
    tmp_path: Path,
) -> None:
    """``predict.py``, and so the MLflow model that calls it, answers the first stage's set where
    that stage is sure and the full model's elsewhere, as the served model does."""
    rows = label_set_rows(240)
    texts, sets = [t for t, _ in rows], [s for _, s in rows]
    cheap = families.create("ngram", C=0.3).fit(texts[:60], sets[:60])
    strong = families.create("ngram").fit(texts[:160], sets[:160])
    ensemble = EnsembleClassifier.from_fitted([cheap, strong], [0.3, 0.7], "logit")
    validation = texts[160:], sets[160:]
    first = MultiLabelClassifier(cheap).fit(*validation)
    full = MultiLabelClassifier(ensemble).fit(*validation)
    model = SetCascadeClassifier(first, full, max_drop=0.1).fit(*validation)
    tree = BundleWriter(tmp_path).node(model)
    (tmp_path / predict.MANIFEST).write_text(json.dumps({"format": 1, "model": tree}))
    check_against_bundle(tmp_path, model)  # what ``export`` holds a bundle to
    unseen = [*texts[:40], *TEXTS]
    assert 0 < model.sure(first.predict_proba(unseen)).sum() < len(unseen)
    answers = predict.load(tmp_path).classify(unseen)
    assert [tuple(answer["labels"]) for answer in answers] == model.predict_sets(unseen)
