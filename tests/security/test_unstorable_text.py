"""NUL and unpaired surrogates are refused at the door, the same on both databases; and a row
the database refuses anyway never stops the prediction writer, blocks recovery or loses others.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.serving.conftest import Keys
from textloop.config import Settings
from textloop.serving.journal import recover
from textloop.serving.prediction_log import Entry, PredictionLog
from textloop.serving.rejected import RejectedRows
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import Classifier, ModelVersion, Prediction, new_id

pytestmark = pytest.mark.storage

CLASSIFY = "/v1/classifiers/topics/classify"


def refused(answer, *fragments: str) -> None:
    assert answer.status_code == 422, answer.text
    message = answer.json()["error"]["message"]
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('{"text": "nul \\u0000 inside"}', "text contains a NUL character (U+0000) at character 5"),
        ('{"texts": ["fine", "half \\ud800 pair"]}', "texts.1 contains an unpaired surrogate"),
    ],
)
def test_classify_refuses_text_no_database_can_store(
    client: TestClient, keys: Keys, deployed: Store, body: str, where: str
) -> None:
    answer = client.post(
        CLASSIFY,
        content=body.encode(),
        headers={**keys.header(keys.classify), "content-type": "application/json"},
    )
    refused(answer, where)
    with deployed.session() as session:
        assert session.scalar(select(func.count()).select_from(Prediction)) == 0


def test_feedback_pool_and_uploads_refuse_nul_with_a_4xx(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    admin = keys.header(keys.admin)
    feedback = client.post(
        "/v1/classifiers/topics/feedback",
        json={"text": "a\x00b", "label": "sport"},
        headers=keys.header(keys.feedback),
    )
    refused(feedback, "text contains a NUL character")
    pool = client.post("/v1/classifiers/topics/pool", json={"texts": ["ok", "\x00"]}, headers=admin)
    refused(pool, "texts.1 contains a NUL character")
    upload = client.post(
        "/v1/classifiers/fresh/datasets",
        content=b"text,label\nfine,a\nnul \x00 here,b\n",
        headers={**admin, "content-type": "text/csv"},
    )
    refused(upload, "upload: line 3: text contains a NUL character")
    with deployed.session() as session:  # nothing was created, not even the classifier
        assert session.scalar(select(Classifier).where(Classifier.name == "fresh")) is None


def test_a_parquet_string_column_of_invalid_utf8_is_refused_and_leaves_nothing(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    broken = pa.array([b"ok", b"\xff\xfe"], pa.binary()).view(pa.string())
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": broken, "label": ["a", "b"]}), buffer)
    upload = client.post(
        "/v1/classifiers/fresh/datasets",
        content=buffer.getvalue(),
        headers={**keys.header(keys.admin), "content-type": "application/vnd.apache.parquet"},
    )
    refused(upload, "column 'text' is not valid UTF-8")
    with deployed.session() as session:
        assert session.scalar(select(Classifier).where(Classifier.name == "fresh")) is None


def _row(owner: tuple[int, int], text: str, prediction_id: str | None = None) -> dict:
    return {
        "id": prediction_id or new_id(),
        "classifier_id": owner[0],
        "model_version_id": owner[1],
        "text": text,
        "label": "sport",
        "confidence": 0.9,
        "scores": {"sport": 0.9},
        "created_at": datetime.now(UTC),
    }


def _refusable(store: Store, owner: tuple[int, int]) -> list[Entry]:
    """Entries the database refuses: a model version that does not exist, everywhere; a NUL
    that slipped past the door, on PostgreSQL."""
    entries = [Entry([{**_row(owner, "no such model"), "model_version_id": 999_999}])]
    if store.engine.dialect.name == "postgresql":
        entries.append(Entry([_row(owner, "nul \x00 slipped past")]))
    return entries


@pytest.fixture
def owner(deployed: Store) -> tuple[int, int]:
    """The deployed classifier's id and its model version's id, for hand-made predictions."""
    with deployed.session() as session:
        model = session.scalars(select(ModelVersion)).one()
        return model.classifier_id, model.id


def test_a_refused_row_is_kept_aside_and_the_writer_goes_on(
    store: Store, settings: Settings, owner: tuple[int, int]
) -> None:
    rejected = RejectedRows(settings.data_dir / "rejected")
    writer = PredictionLog(store, rejected=rejected)
    bad = _refusable(store, owner)
    innocent = [Entry([_row(owner, f"innocent {i}")]) for i in range(5)]
    for entry in [innocent[0], *bad, *innocent[1:]]:
        assert writer.offer(entry)
    assert writer.flush(timeout=60)
    assert not writer.pending()  # flush returned because everything settled, not on time
    writer.close()
    with store.session() as session:
        texts = set(session.scalars(select(Prediction.text)))
    assert {f"innocent {i}" for i in range(5)} <= texts
    kept = [json.loads(line) for line in rejected.path.read_text().splitlines()]
    assert rejected.count == len(bad) == len(kept)
    assert {record["predictions"][0]["id"] for record in kept} == {
        entry.predictions[0]["id"] for entry in bad
    }


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def test_recovery_keeps_a_refused_entry_aside_and_reclaims_an_abandoned_claim(
    store: Store, settings: Settings, owner: tuple[int, int], tmp_path: Path
) -> None:
    journals = tmp_path / "journal"
    journals.mkdir()
    bad = _refusable(store, owner)
    good = [_row(owner, f"answered {i}") for i in range(4)]

    def line(rows: list[dict]) -> str:
        return json.dumps({"predictions": rows, "tasks": []}, default=str) + "\n"

    dead = _dead_pid()
    (journals / f"{dead}-aaaa.jsonl").write_text(
        line(good[:2]) + "".join(line(entry.predictions) for entry in bad)
    )
    # a server that died while recovering another's journal left its claim behind
    (journals / f"1-bbbb.jsonl.recovering-{_dead_pid()}").write_text(line(good[2:]))
    rejected = RejectedRows(tmp_path / "rejected")
    assert recover(journals, store, rejected) == 4
    assert list(journals.iterdir()) == []
    assert rejected.count == len(bad)
    with store.session() as session:
        ids = set(session.scalars(select(Prediction.id)))
        assert {row["id"] for row in good} <= ids
        assert get_classifier(session, "topics") is not None
