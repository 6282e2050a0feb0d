"""An identical training run reuses the earlier model; any change to its inputs trains again."""

from pathlib import Path

import pyarrow as pa
from sqlalchemy import func, select

from textloop.config import Settings
from textloop.data.datasets import ingest_table
from textloop.data.readers import read_labelled_file
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.store import Store
from textloop.store.tables import Execution, ModelVersion


def ingest(store: Store, settings: Settings, table: pa.Table) -> None:
    with store.session() as session:
        ingest_table(session, "topics", table, "corpus", settings.split_fractions)


def count_models(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(ModelVersion)) or 0


def test_training_twice_on_unchanged_data_reuses_the_model(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    ingest(store, settings, read_labelled_file(corpus_csv))
    first = train_classifier(store, settings, "topics", "ngram")
    second = train_classifier(store, settings, "topics", "ngram")
    assert (first.cached, second.cached) == (False, True)
    assert second.version == first.version == 1
    assert second.test_metrics == first.test_metrics
    assert count_models(store) == 1
    with store.session() as session:
        statuses = session.scalars(select(Execution.status).where(Execution.component == "train"))
        assert list(statuses) == ["succeeded", "cached"]


def test_no_cache_trains_again(store: Store, settings: Settings, corpus_csv: Path) -> None:
    ingest(store, settings, read_labelled_file(corpus_csv))
    train_classifier(store, settings, "topics", "ngram")
    again = train_classifier(store, settings, "topics", "ngram", use_cache=False)
    assert not again.cached and again.version == 2


def test_changing_one_row_or_the_parameters_trains_again(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    table = read_labelled_file(corpus_csv)
    ingest(store, settings, table)
    train_classifier(store, settings, "topics", "ngram")
    assert not train_classifier(store, settings, "topics", "majority").cached
    texts = table.column("text").to_pylist()
    texts[0] = texts[0] + " and more"
    ingest(store, settings, pa.table({"text": texts, "label": table.column("label")}))
    changed = train_classifier(store, settings, "topics", "ngram")
    assert not changed.cached and changed.dataset_version == 2


def test_a_new_production_model_invalidates_the_cache(
    store: Store, settings: Settings, corpus_csv: Path
) -> None:
    ingest(store, settings, read_labelled_file(corpus_csv))
    train_classifier(store, settings, "topics", "majority")
    with store.session() as session:
        set_alias(session, "topics", PRODUCTION, 1)
    train_classifier(store, settings, "topics", "ngram")
    with store.session() as session:
        set_alias(session, "topics", PRODUCTION, 2)
    # The blessing of an ngram run depends on production, which has changed since.
    assert not train_classifier(store, settings, "topics", "ngram").cached
