"""The client covers the API: every route the server documents has a client method (and every
client method calls a route the server has), the answers' shapes match the server's schemas,
and importing the client loads nothing of the server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest

from textloop.client import AsyncClient, Client
from textloop.client.routes import declared_routes
from textloop.client.schemas import SERVER_SCHEMAS
from textloop.config import Settings
from textloop.serving.app import create_app


@pytest.fixture(scope="module")
def openapi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The server's OpenAPI document: the routes it documents and the schemas of its answers."""
    data_dir = tmp_path_factory.mktemp("openapi")
    document: dict[str, Any] = create_app(Settings.load(data_dir=data_dir)).openapi()
    return document


def server_routes(openapi: dict[str, Any]) -> set[str]:
    """Every documented route: "METHOD /path/{template}"."""
    return {
        f"{method.upper()} {path}"
        for path, operations in openapi["paths"].items()
        for method in operations
    }


def routes_of(kind: type[Client] | type[AsyncClient]) -> dict[str, list[str]]:
    client = kind("http://127.0.0.1:9", "unused")
    try:
        return declared_routes(client)
    finally:
        if isinstance(client, AsyncClient):
            asyncio.run(client.aclose())
        else:
            client.close()


@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_every_route_of_the_api_has_a_client_method(
    openapi: dict[str, Any], kind: type[Client] | type[AsyncClient]
) -> None:
    server = server_routes(openapi)
    assert any(route.startswith("POST /v1/") for route in server)
    missing = sorted(server - routes_of(kind).keys())
    assert missing == [], f"routes of the API that {kind.__name__} has no method for: {missing}"


@pytest.mark.parametrize("kind", [Client, AsyncClient])
def test_every_client_method_calls_a_route_the_server_has(
    openapi: dict[str, Any], kind: type[Client] | type[AsyncClient]
) -> None:
    declared = routes_of(kind)
    unknown = {route: declared[route] for route in sorted(declared.keys() - server_routes(openapi))}
    assert unknown == {}, f"{kind.__name__} methods calling routes the server lacks: {unknown}"


def test_both_clients_name_the_same_methods_for_the_same_routes() -> None:
    assert routes_of(Client) == routes_of(AsyncClient)
    assert routes_of(Client)["GET /v1/classifiers/{name}"] == ["classifiers.get"]


@pytest.mark.parametrize("schema", sorted(SERVER_SCHEMAS))
def test_each_answer_shape_has_the_fields_of_the_servers_schema(
    openapi: dict[str, Any], schema: str
) -> None:
    served = openapi["components"]["schemas"][schema]["properties"]
    typed = SERVER_SCHEMAS[schema]
    fields = set(typed.__required_keys__) | set(typed.__optional_keys__)  # type: ignore[attr-defined]
    assert fields == set(served), f"{typed.__name__} differs from {schema}"


def test_importing_the_client_loads_nothing_of_the_server() -> None:
    script = (
        "import sys, textloop\n"
        "textloop.Client, textloop.AsyncClient\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    loaded = done.stdout.split()
    heavy = {"torch", "sklearn", "fastapi", "starlette", "sqlalchemy", "pydantic", "numpy"}
    assert sorted(heavy & set(loaded)) == []
    ours = [m for m in loaded if m.startswith("textloop.") and not m.startswith("textloop.client")]
    assert ours == [], "the client imports other layers of textloop"


def test_import_textloop_alone_does_not_load_the_client() -> None:
    script = "import sys, textloop\nprint('textloop.client' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
