"""An app over a store holding one deployed ``topics`` classifier, and keys of every kind."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.registry.models import PRODUCTION, set_alias
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store


@dataclass
class Keys:
    admin: str
    classify: str
    feedback: str
    review: str
    other_classifier: str

    def header(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}


@pytest.fixture
def deployed(store: Store, settings: Settings, corpus_csv: Path) -> Store:
    ingest_batch(store, settings, "topics", read_labelled_file(corpus_csv), "corpus")
    train_classifier(store, settings, "topics", "ngram")
    with store.session() as session:
        set_alias(session, "topics", PRODUCTION, 1)
    return store


@pytest.fixture
def keys(deployed: Store) -> Keys:
    with deployed.session() as session:
        return Keys(
            admin=create_api_key(session, ["admin"]).key,
            classify=create_api_key(session, ["classify"]).key,
            feedback=create_api_key(session, ["feedback"]).key,
            review=create_api_key(session, ["review"]).key,
            other_classifier=create_api_key(session, ["classify"], ["other"]).key,
        )


@pytest.fixture
def client(deployed: Store, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client
