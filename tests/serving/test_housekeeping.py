"""Housekeeping: idempotency keys are forgotten after their keeping time, and upload files a
killed server left behind are removed once nothing writes to them."""

import os
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from textloop.security.api_keys import create_api_key
from textloop.serving.housekeeping import Housekeeping
from textloop.serving.idempotency import KEPT_FOR, Answer, Claim, claim, finish
from textloop.store import Store
from textloop.store.tables import IdempotentRequest, utcnow

HOUR = 3600


def keys_left(store: Store) -> list[str]:
    with store.session() as session:
        return sorted(session.scalars(select(IdempotentRequest.key)))


def claimed(store: Store, key_id: int, key: str, age_seconds: float, answered: bool) -> None:
    held = claim(store, key_id, key, "hash")
    assert isinstance(held, Claim)
    if answered:
        finish(store, held, Answer(201, {}))
    with store.session() as session:
        session.execute(
            update(IdempotentRequest)
            .where(IdempotentRequest.key == key)
            .values(created_at=utcnow() - timedelta(seconds=age_seconds))
        )


def test_keys_past_their_keeping_time_are_forgotten_answered_or_not(
    store: Store, tmp_path: Path
) -> None:
    with store.session() as session:
        key_id = create_api_key(session, ["admin"]).id
    keeping = KEPT_FOR.total_seconds()
    claimed(store, key_id, "old answer", keeping + HOUR, answered=True)
    claimed(store, key_id, "old claim", keeping + HOUR, answered=False)
    claimed(store, key_id, "recent answer", keeping - HOUR, answered=True)

    Housekeeping(store, tmp_path).sweep()

    assert keys_left(store) == ["recent answer"]


def test_upload_files_nothing_wrote_to_for_an_hour_are_removed(
    store: Store, tmp_path: Path
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    stale, fresh, other = (uploads / name for name in ("upload-a.csv", "upload-b", "keep.txt"))
    for path in (stale, fresh, other):
        path.write_text("text,label\n")
    two_hours_ago = time.time() - 2 * HOUR
    for path in (stale, other):
        os.utime(path, (two_hours_ago, two_hours_ago))

    Housekeeping(store, uploads).sweep()

    assert sorted(p.name for p in uploads.iterdir()) == ["keep.txt", "upload-b"]


def test_a_process_sweeps_at_most_once_per_interval(store: Store, tmp_path: Path) -> None:
    housekeeping = Housekeeping(store, tmp_path, every=HOUR)
    housekeeping.sweep()
    stale = tmp_path / "upload-late"
    stale.write_text("x")
    os.utime(stale, (time.time() - 2 * HOUR,) * 2)

    housekeeping.sweep()  # again within the hour: nothing done

    assert stale.exists()
