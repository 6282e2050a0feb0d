"""Every prediction traces back to its model, the run that trained it and the data it used."""

from pathlib import Path

import pyarrow as pa
import pytest

from textloop.config import Settings
from textloop.data.datasets import ingest_table
from textloop.data.readers import read_labelled_file
from textloop.errors import NotFound, TrainingError
from textloop.metadata.lineage import dataset_lineage, prediction_lineage
from textloop.models.base import ModelResources
from textloop.pipeline.training import train_classifier
from textloop.registry.models import PRODUCTION, set_alias
from textloop.serving.inference import classify
from textloop.serving.model_cache import ModelCache
from textloop.store import Store
from textloop.store.tables import Execution


def grow_and_retrain(store: Store, settings: Settings, table: pa.Table) -> None:
    """Three dataset versions of growing size, a model on each, each deployed."""
    for size in (60, 90, 120):
        with store.session() as session:
            ingest_table(
                session, "topics", table.slice(0, size), f"first {size}", settings.split_fractions
            )
        report = train_classifier(store, settings, "topics", "ngram")
        with store.session() as session:
            set_alias(session, "topics", PRODUCTION, report.version, force=True)


def test_a_prediction_after_two_retrains_names_its_model_run_and_data(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    grow_and_retrain(store, settings, read_labelled_file(corpus_csv))
    cache = ModelCache(settings.artifact_root, ModelResources())
    with store.session() as session:
        (prediction,) = classify(session, cache, "topics", ["rain and wind"])
    with store.session() as session:
        graph = prediction_lineage(session, prediction.prediction_id)

    assert graph["model"]["version"] == 3
    (run,) = graph["upstream"]
    assert (run["component"], run["status"], run["parameters"]["dataset_version"]) == (
        "train",
        "succeeded",
        3,
    )
    inputs = {item["uri"]: item for item in run["inputs"]}
    assert set(inputs) == {"textloop://topics/datasets/3", "textloop://topics/models/2"}
    dataset = inputs["textloop://topics/datasets/3"]
    assert dataset["properties"]["rows"] == 120
    (ingest,) = dataset["produced_by"]
    assert ingest["component"] == "ingest" and ingest["parameters"]["source"] == "first 120"


def test_a_dataset_lists_every_model_trained_on_it_and_their_deployments(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    grow_and_retrain(store, settings, read_labelled_file(corpus_csv))
    train_classifier(store, settings, "topics", "majority", dataset_version=1)
    with store.session() as session:
        graph = dataset_lineage(session, "topics", 1)
    trained = [
        output["uri"]
        for run in graph["downstream"]
        if run["component"] == "train"
        for output in run["outputs"]
    ]
    assert trained == ["textloop://topics/models/1", "textloop://topics/models/4"]
    first_model = graph["downstream"][0]["outputs"][0]
    deploys = [run for run in first_model["consumed_by"] if run["component"] == "deploy"]
    assert deploys and deploys[0]["outputs"][0]["properties"]["version"] == 1


def test_a_failed_run_is_recorded_and_bad_input_is_not(store: Store, settings: Settings) -> None:
    with store.session() as session:
        table = pa.table({"text": [f"t {i}" for i in range(30)], "label": ["a"] * 30})
        ingest_table(session, "mono", table, "x", settings.split_fractions)
    with pytest.raises(TrainingError):
        train_classifier(store, settings, "mono", "ngram")
    with pytest.raises(NotFound):
        train_classifier(store, settings, "absent", "ngram")
    with store.session() as session:
        runs = session.query(Execution).filter(Execution.component == "train").all()
        assert [(run.status, "at least 2" in (run.error or "")) for run in runs] == [
            ("failed", True)
        ]


def test_unknown_prediction_is_not_found(store: Store) -> None:
    with store.session() as session, pytest.raises(NotFound):
        prediction_lineage(session, "0" * 32)
