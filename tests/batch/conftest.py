"""One classifier, trained once per test process on the small corpus with the ``embedding``
family (the family batch work is measured on), in a SQLite data directory of its own: batch
classification is about files and models, not about storage. Tests that share it count what
they add, never what exists."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.corpus import corpus_rows, write_corpus
from tests.processes import environment
from textloop.config import Settings
from textloop.data.readers import read_labelled_file
from textloop.pipeline.ingestion import ingest_batch
from textloop.pipeline.training import train_classifier
from textloop.registry.aliases import PRODUCTION, set_alias
from textloop.store import Store, open_store


class Trained:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.url = f"sqlite:///{root / 'textloop.db'}"
        self.settings = Settings.load(data_dir=self.data, database_url=self.url)
        self.env = environment(self.data, self.url)
        self.store: Store = open_store(self.settings)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    root = tmp_path_factory.mktemp("batch")
    done = Trained(root)
    corpus = write_corpus(root / "corpus.csv")
    ingest_batch(done.store, done.settings, "topics", read_labelled_file(corpus), "corpus")
    train_classifier(done.store, done.settings, "topics", "embedding")
    with done.store.session() as session:
        set_alias(session, "topics", PRODUCTION, 1)
    yield done
    done.store.dispose()


def write_input(path: Path, rows: int = 300, bad: bool = True) -> list[dict[str, str]]:
    """``rows`` texts unseen in training, with an ``id``, the true ``label`` and a zero-padded
    ``code`` (kept as written); with ``bad``, an empty text and one over the limit too."""
    texts = [
        (f"{text} (batch {n})", label)
        for n, (text, label) in enumerate(corpus_rows(per_label=rows // 3 + 1, seed=11))
    ][:rows]
    records = [
        {"id": f"r{n:05d}", "text": text, "label": label, "code": f"{n:03d}"}
        for n, (text, label) in enumerate(texts)
    ]
    if bad:
        records[5]["text"] = "   "
        records[9]["text"] = "x" * 10_001
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["id", "text", "label", "code"])
        writer.writeheader()
        writer.writerows(records)
    return records
