"""Two reviewers working one queue at the same time over HTTP, against a real server."""

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.corpus import write_corpus
from tests.processes import environment, running_server
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.security.accounts import create_user
from textloop.store import open_store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewTask

pytestmark = pytest.mark.storage

PASSWORD = "correct horse battery"
REVIEWERS = ("ann@example.com", "bob@example.com")
TASKS = 24


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[tuple[str, Settings]]:
    """A server over a store with the corpus, two reviewers and ``TASKS`` open tasks, set up
    in this process (the commands that do it are tested on their own: a process each costs
    seconds here)."""
    settings = Settings.load(data_dir=tmp_path / "data", database_url=database_url)
    store = open_store(settings)
    corpus = read_labelled_file(write_corpus(tmp_path / "c.csv"))
    ingest_batch(store, settings, "topics", corpus, "corpus")
    with store.session() as session:
        for email in REVIEWERS:
            create_user(session, email, PASSWORD, "reviewer")
        classifier = get_classifier(session, "topics")
        for number in range(TASKS):
            session.add(
                ReviewTask(classifier_id=classifier.id, source="pool", text=f"text {number}")
            )
            session.flush()
    store.dispose()
    env = environment(tmp_path / "data", database_url)
    with running_server(env, tmp_path / "server.log") as base:
        yield base, settings


def work_through_queue(base: str, email: str, label: str, handed: list[str]) -> None:
    """Sign in like a browser and decide tasks until the queue has nothing left for us."""
    with httpx.Client(base_url=base, timeout=60, follow_redirects=True) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token
        client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        page = client.get("/queues/topics/next")
        while "/tasks/" in str(page.url):
            task_id = str(page.url).rsplit("/", 1)[-1]
            handed.append(task_id)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            page = client.post(
                f"/tasks/{task_id}", data={"label": label, "csrf_token": token.group(1)}
            )
            assert page.status_code == 200, page.text
        assert 'id="empty"' in page.text


def run_both(base: str, labels: tuple[str, str]) -> dict[str, list[str]]:
    handed: dict[str, list[str]] = {email: [] for email in REVIEWERS}
    threads = [
        threading.Thread(target=work_through_queue, args=(base, email, label, handed[email]))
        for email, label in zip(REVIEWERS, labels, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return handed


def statuses(settings: Settings) -> list[str]:
    store = open_store(settings)
    with store.session() as session:
        found = list(session.scalars(select(ReviewTask.status)))
    store.dispose()
    return found


def test_with_overlap_one_no_task_is_handed_to_both(server: tuple[str, Settings]) -> None:
    base, settings = server
    handed = run_both(base, ("sport", "finance"))
    ann, bob = (set(handed[email]) for email in REVIEWERS)
    assert not ann & bob
    assert len(ann | bob) == TASKS == len(handed[REVIEWERS[0]]) + len(handed[REVIEWERS[1]])
    assert statuses(settings) == ["done"] * TASKS


def test_with_overlap_two_every_disagreement_is_a_conflict(server: tuple[str, Settings]) -> None:
    base, settings = server
    store = open_store(settings)
    with store.session() as session:
        get_classifier(session, "topics").review_overlap = 2
    store.dispose()
    handed = run_both(base, ("sport", "finance"))
    assert set(handed[REVIEWERS[0]]) == set(handed[REVIEWERS[1]])
    assert len(set(handed[REVIEWERS[0]])) == TASKS
    assert statuses(settings) == ["conflict"] * TASKS
