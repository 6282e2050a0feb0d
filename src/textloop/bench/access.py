"""A throw-away API key for one benchmark: only ``classify``, only the benchmarked classifier.

It is written straight into the store (bench runs where the data lives) and deleted afterwards,
even when the run fails or is interrupted, so no usable credential outlives the benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete

from textloop.security.api_keys import create_api_key
from textloop.store import Store
from textloop.store.tables import ApiKey


@contextmanager
def temporary_api_key(store: Store, classifier: str) -> Iterator[str]:
    with store.session() as session:
        issued = create_api_key(session, ["classify"], [classifier], name="textloop bench")
    try:
        yield issued.key
    finally:
        with store.session() as session:
            session.execute(delete(ApiKey).where(ApiKey.id == issued.id))
