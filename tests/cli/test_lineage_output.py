"""`textloop lineage` for people: each artifact written out once, no made-up model URI."""

from __future__ import annotations

from pathlib import Path

from textloop.artifacts import artifacts_for
from textloop.cli.lineage import render_lineage
from textloop.cli.output import out
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.metadata.lineage import prediction_lineage
from textloop.models.base import ModelResources, Use
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.predict.classify import classify
from textloop.predict.model_cache import ModelCache
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.store import Store


def test_a_predictions_lineage_names_each_artifact_once_and_no_models_none(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    train_classifier(store, settings, "topics", "ngram")
    with store.session() as session:
        set_alias(session, "topics", PRODUCTION, 1)
        session.commit()
    cache = ModelCache(artifacts_for(settings), ModelResources.for_settings(settings, Use.SERVING))
    (result,) = classify(store, cache, "topics", ["goal!"])
    with store.session() as session:
        graph = prediction_lineage(session, result.prediction_id)
    with out.capture() as captured:
        out.print(render_lineage(graph), width=400)
    text = captured.get()
    assert "models/none" not in text
    assert "no production model yet" in text
    steps = text.split("steps upstream", 1)[1]
    assert steps.count("textloop://topics/datasets/1") == 1
    assert "dataset (above)" in steps
    assert "(ngram)" in text  # the family that learned, not the calibrated wrapper
