"""A multi-label classifier deployed beside a single-label one, for the tests of what each part
of the loop does with label sets: built once per test process (``Templates``), copied into each
test's own store."""

from __future__ import annotations

from pathlib import Path

from tests.corpus import write_label_sets
from textloop.config import Settings
from textloop.data.label_sets import Mode
from textloop.data.readers import ReadOptions, read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.store import Store

MULTI = "tags"  # label sets of the corpus's topics: none, one or two per text
SINGLE = "topics"  # the corpus, one topic per text


def deploy_both(store: Store, settings: Settings, corpus_csv: Path) -> None:
    """``topics`` and ``tags``, each with an n-gram model as version 1 in production."""
    ingest_batch(store, settings, SINGLE, read_labelled_file(corpus_csv), "corpus")
    train_classifier(store, settings, SINGLE, "ngram", deploy=True)
    sets = write_label_sets(corpus_csv.with_name("label-sets.csv"))
    table = read_labelled_file(sets, options=ReadOptions(multi_label=True))
    ingest_batch(store, settings, MULTI, table, "label sets", mode=Mode.MULTI_LABEL)
    train_classifier(store, settings, MULTI, "ngram", deploy=True)
