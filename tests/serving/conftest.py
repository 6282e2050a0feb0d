"""An app over a store holding one deployed ``topics`` classifier, and keys of every kind."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Templates
from tests.serving.portal import PASSWORD
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.security.accounts import create_user
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.queries import get_classifier, get_or_create_classifier
from textloop.store.tables import ReviewTask


@dataclass
class Keys:
    admin: str
    classify: str
    feedback: str
    review: str
    other_classifier: str

    def header(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}


def deploy_corpus(store: Store, settings: Settings, corpus_csv: Path, name: str) -> Store:
    """Classifier ``name``: the corpus ingested, an ``ngram`` model trained and deployed."""
    ingest_batch(store, settings, name, read_labelled_file(corpus_csv), "corpus")
    train_classifier(store, settings, name, "ngram")
    with store.session() as session:
        set_alias(session, name, PRODUCTION, 1)
        session.commit()
    return store


def deploy_topics(store: Store, settings: Settings, corpus_csv: Path) -> None:
    deploy_corpus(store, settings, corpus_csv, "topics")


@pytest.fixture
def deployed(store: Store, settings: Settings, corpus_csv: Path, templates: Templates) -> Store:
    templates.apply(store, settings, corpus_csv, deploy_topics)
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


@pytest.fixture
def people(deployed: Store) -> Store:
    """An admin, a reviewer of every classifier, one limited to ``other``, and three tasks."""
    with deployed.session() as session:
        create_user(session, "admin@example.com", PASSWORD, "admin")
        create_user(session, "rita@example.com", PASSWORD, "reviewer")
        get_or_create_classifier(session, "other")
        create_user(session, "otto@example.com", PASSWORD, "reviewer", ["other"])
        topics = get_classifier(session, "topics")
        for number in range(3):
            session.add(
                ReviewTask(
                    classifier_id=topics.id,
                    source="implicit",
                    text=f"the striker and the coach, part {number}",
                    suggested_label="sport",
                    confidence=0.45,
                )
            )
            session.flush()
    return deployed


def settle(client: TestClient) -> None:
    """Bring the server's memory level with the database, as it does by itself within a second:
    answered predictions and refused requests stored, the shadow scored, and changes made
    behind its back (straight in the database, as a worker would) seen."""
    runtime = client.app.state.runtime
    runtime.predictions.flush()
    runtime.refusals.flush(runtime.store)
    runtime.shadow.drain()
    runtime.keys.forget()
    runtime.online.deployments.forget()
