"""Property-based fuzzing of the HTTP API from its own OpenAPI document.

Schemathesis reads ``/openapi.json`` from a real server and sends every operation requests built
from its schema, valid and deliberately invalid (bodies, parameters, headers), with an admin key.
No request may cause a server error, and every answer must be one the document declares: its
status code, its content type and, for JSON, its schema (the error shape included).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.corpus import write_corpus
from tests.processes import environment, running_server
from tests.serving.conftest import deploy_corpus
from textloop.config import Settings
from textloop.security.api_keys import create_api_key
from textloop.serving.app import create_app
from textloop.store import open_store

MAX_EXAMPLES = 30  # per operation: about 30 operations, a few hundred requests in all
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server over a SQLite store with a deployed ``topics`` classifier, and an admin key.

    HTTP behaviour does not depend on the database: SQLite only, one server for the module.
    """
    root = tmp_path_factory.mktemp("fuzz")
    env = environment(root / "data", f"sqlite:///{root / 'textloop.db'}")
    store_settings = Settings.load(env["TEXTLOOP_DATA_DIR"], env["TEXTLOOP_DATABASE_URL"])
    store = open_store(store_settings)
    deploy_corpus(store, store_settings, write_corpus(root / "corpus.csv"), "topics")
    with store.session() as session:
        admin = create_api_key(session, ["admin"], name="fuzzing").key
    store.dispose()
    with running_server(env, root / "server.log") as base:
        yield base, admin


def _operations() -> list[tuple[str, str]]:
    """Every operation of the API, from the application's own document (no server needed)."""
    document = create_app(Settings.load(data_dir=Path("/nonexistent/textloop"))).openapi()
    return [(method.upper(), path) for path, item in document["paths"].items() for method in item]


@pytest.fixture(scope="module")
def api(served: tuple[str, str]) -> Any:
    base, _ = served
    return schemathesis.openapi.from_url(f"{base}/openapi.json")


@pytest.mark.parametrize(("method", "path"), _operations())
def test_no_request_causes_a_server_error_or_an_undeclared_answer(
    method: str, path: str, api: Any, served: tuple[str, str]
) -> None:
    _, admin = served
    operation = api[path][method]

    @given(case=st.one_of(*(operation.as_strategy(mode) for mode in GenerationMode)))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(headers={"x-api-key": admin}, checks=CHECKS, timeout=60)

    fuzz()
