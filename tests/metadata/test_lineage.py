"""Every prediction traces back to its model, the run that trained it and the data it used."""

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.processes import environment, run_cli
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.data.datasets import ingest_table
from textloop.data.readers import read_labelled_file
from textloop.errors import NotFound, TrainingError
from textloop.metadata.lineage import dataset_lineage, prediction_lineage
from textloop.models.base import ModelResources
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.predict.classify import classify
from textloop.predict.model_cache import ModelCache
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.store import Store
from textloop.store.tables import Context, Execution

pytestmark = pytest.mark.storage


def grow_and_retrain(store: Store, settings: Settings, table: pa.Table) -> None:
    """Three dataset versions of growing size, a model on each, each deployed."""
    for size in (60, 90, 120):
        ingest_batch(store, settings, "topics", table.slice(0, size), f"first {size}")
        report = train_classifier(store, settings, "topics", "ngram")
        with store.session() as session:
            set_alias(session, "topics", PRODUCTION, report.version, force=True)


def steps_in(graph: list[dict[str, Any]], items: str, onwards: str) -> list[tuple[str, str]]:
    """Every (step, artifact URI) pair of a lineage tree, depth first."""
    found = []
    for step in graph:
        for artifact in step[items]:
            found.append((step["component"], artifact["uri"]))
            found.extend(steps_in(artifact[onwards], items, onwards))
    return found


def test_a_prediction_after_two_retrains_names_its_model_run_and_data(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    grow_and_retrain(store, settings, read_labelled_file(corpus_csv))
    cache = ModelCache(artifacts_for(settings), ModelResources())
    (prediction,) = classify(store, cache, "topics", ["rain and wind"])
    with store.session() as session:
        graph = prediction_lineage(session, prediction.prediction_id)
        third_run = max(c.id for c in session.query(Context).filter(Context.name == "train"))

    assert graph["model"]["version"] == 3
    assert graph["run"]["run"] == third_run and graph["run"]["pipeline"] == "train"
    assert [d["uri"] for d in graph["datasets"]] == ["textloop://topics/datasets/3"]
    assert graph["datasets"][0]["properties"]["rows"] == 120
    (push,) = graph["upstream"]
    assert (push["component"], push["status"], push["run"]) == ("push", "succeeded", third_run)
    inputs = {item["uri"]: item for item in push["inputs"]}
    (ingest,) = inputs["textloop://topics/datasets/3"]["produced_by"]
    assert ingest["component"] == "ingest"
    assert [batch["properties"]["source"] for batch in ingest["inputs"]] == ["first 120"]
    pairs = steps_in(graph["upstream"], "inputs", "produced_by")
    # Its blessing compared it with model 2, which is named; its own history is not expanded.
    assert ("bless", "textloop://topics/models/2") in pairs
    assert "textloop://topics/datasets/2" not in {uri for _, uri in pairs}
    assert {step for step, _ in pairs} >= {"train", "tune", "split", "evaluate", "infra_validate"}


def test_a_dataset_lists_every_model_trained_on_it_and_their_deployments(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    grow_and_retrain(store, settings, read_labelled_file(corpus_csv))
    train_classifier(store, settings, "topics", "majority", dataset_version=1)
    with store.session() as session:
        graph = dataset_lineage(session, "topics", 1)
    assert [model["uri"] for model in graph["models"]] == [
        "textloop://topics/models/1",
        "textloop://topics/models/4",
    ]
    assert [run["pipeline"] for run in graph["runs"]] == ["train", "train"]
    pairs = steps_in(graph["downstream"], "outputs", "consumed_by")
    assert ("push", "textloop://topics/models/1") in pairs
    assert ("push", "textloop://topics/models/4") in pairs
    deployments = [uri for step, uri in pairs if step == "deploy"]
    assert deployments, "the deployment of model 1 is downstream of dataset 1"


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
        (context,) = session.query(Context).filter(Context.name == "train").all()
        assert context.status == "failed" and context.error.startswith("train: ")


def test_unknown_prediction_is_not_found(store: Store) -> None:
    with store.session() as session, pytest.raises(NotFound):
        prediction_lineage(session, "0" * 32)


def test_a_multi_label_prediction_names_its_set_and_a_single_label_one_its_label(
    store: Store, settings: Settings, both_modes: Store
) -> None:
    cache = ModelCache(artifacts_for(settings), ModelResources())
    texts = ["the striker scored a goal and the bank raised interest", "rain and wind"]
    two, one = classify(store, cache, "tags", texts)
    (single,) = classify(store, cache, "topics", ["rain and wind"])
    with store.session() as session:
        sets = [prediction_lineage(session, p.prediction_id)["prediction"] for p in (two, one)]
        plain = prediction_lineage(session, single.prediction_id)["prediction"]
    assert [p["labels"] for p in sets] == [["finance", "sport"], ["weather"]]
    assert [list(p.labels or ()) for p in (two, one)] == [["finance", "sport"], ["weather"]]
    assert all("label" not in p for p in sets)  # not the stored form, "finance\x1fsport"
    assert (plain["label"], "labels" in plain) == ("weather", False)
    env = environment(settings.data_dir, settings.database_url)
    done = run_cli(env, "lineage", "--prediction", two.prediction_id)
    assert done.returncode == 0, done.stderr
    assert f"prediction {two.prediction_id} (tags): finance|sport at " in done.stdout
