"""The serving fixtures (a deployed ``topics`` classifier, keys of every kind, a client over
them), and keys issued with an expiry or a usage plan."""

from typing import Any

import pytest

from tests.serving.conftest import (  # noqa: F401 (fixtures)
    client,
    deployed,
    keys,
    people,
)
from textloop.security.api_keys import create_api_key
from textloop.store import Store

CLASSIFY = "/v1/classifiers/topics/classify"
TEXT = {"text": "rain and wind tomorrow"}


class Issuer:
    """Issues classify keys in the test's store: ``issue(monthly_quota=3)`` → (id, key)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, scopes: tuple[str, ...] = ("classify",), **limits: Any) -> tuple[int, str]:
        with self.store.session() as session:
            issued = create_api_key(session, list(scopes), **limits)
        return issued.id, issued.key


@pytest.fixture
def issue(store: Store) -> Issuer:
    return Issuer(store)
