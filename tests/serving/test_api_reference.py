"""``/docs`` is an API reference made from the app's own OpenAPI document, needing nothing from
elsewhere and no key, like ``/openapi.json``."""

import re
from pathlib import Path

from fastapi.testclient import TestClient

from textloop.config import Settings
from textloop.serving.api_reference import type_name
from textloop.serving.app import create_app


def test_docs_lists_every_operation_and_loads_nothing_from_elsewhere(tmp_path: Path) -> None:
    app = create_app(Settings.load(data_dir=tmp_path / "data"))
    with TestClient(app) as client:
        page = client.get("/docs")
        document = client.get("/openapi.json").json()
        assert client.get("/redoc").status_code == 404
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for path, operations in document["paths"].items():
        for method in operations:
            assert f'<code class="method">{method.upper()}</code> <code>{path}</code>' in page.text
    sources = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assert sources and all(source.startswith("/") for source in sources), sources


def test_schemas_read_as_a_person_would_say_them() -> None:
    assert type_name({"type": "array", "items": {"$ref": "#/components/schemas/Item"}}) == (
        "array of Item"
    )
    assert type_name({"anyOf": [{"type": "string"}, {"type": "null"}]}) == "string or null"
    assert type_name({"type": "object", "additionalProperties": {"type": "number"}}) == (
        "object of number"
    )
