"""docs/client.md lists every method of the client with the route it calls, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from textloop.client import Client
from textloop.client.routes import declared_routes

DOC = Path(__file__).parents[2] / "docs" / "client.md"
ROW = re.compile(r"^\| `([a-z_.]+)` \| ([A-Z]+) `([^`]+)` \|$", re.MULTILINE)


def test_the_method_table_is_the_clients_methods_and_their_routes() -> None:
    documented = {(name, f"{method} {path}") for name, method, path in ROW.findall(DOC.read_text())}
    with Client("http://127.0.0.1:9", "unused") as client:
        declared = {
            (name, route)
            for route, names in declared_routes(client).items()
            for name in names
            if not name.startswith("_")
        }
    assert sorted(declared - documented) == [], "methods missing from docs/client.md"
    assert sorted(documented - declared) == [], "docs/client.md lists methods the client lacks"


def test_the_helpers_are_documented() -> None:
    text = DOC.read_text()
    for helper in ("classify_many", "batch_jobs.wait", "jobs.wait", "events.iterate"):
        assert f"`{helper}`" in text, helper
