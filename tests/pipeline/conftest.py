"""A store holding the three-topic corpus as dataset version 1 of ``topics``."""

from pathlib import Path

import pytest

from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.store import Store


@pytest.fixture
def ingested(store: Store, settings: Settings, corpus_csv: Path) -> Store:
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    return store
