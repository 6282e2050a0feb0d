"""``/docs``: the API reference, drawn on the server from the app's own OpenAPI document.

Nothing is fetched from elsewhere (the stock Swagger UI loads its script from a CDN, which a
machine without network shows as a blank page), no script runs, and the page is as current as the
routes because it is made from them. Like ``/openapi.json`` it is public: it describes the routes
and the error shape, never data, and every route it lists still needs its key. It is a page for
people, so the portal serves it (``router``), from the API application's document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from textloop.serving.policy import portal
from textloop.serving.portal.templating import templates

METHODS = ("get", "post", "put", "patch", "delete")
SCHEMA_PREFIX = "#/components/schemas/"


def router(document: Callable[[], dict[str, Any]]) -> APIRouter:
    """``/docs`` drawn from ``document`` (the API application's ``openapi``)."""
    routes = APIRouter(include_in_schema=False)

    @routes.get("/docs", response_class=HTMLResponse)
    @portal()
    def api_reference(request: Request) -> HTMLResponse:
        described = document()
        context = {
            "account": None,
            "info": described.get("info", {}),
            "operations": operations(described),
            "schemas": schemas(described),
        }
        return templates.TemplateResponse(request, "api_reference.html", context)

    return routes


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation in path order: what a reader needs to call it and what it answers."""
    found = []
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody", {}).get("content", {})
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "anchor": f"{method}-{path}".replace("/", "-")
                    .replace("{", "")
                    .replace("}", ""),
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        {
                            "name": parameter["name"],
                            "where": parameter.get("in", ""),
                            "required": parameter.get("required", False),
                            "type": type_name(parameter.get("schema", {})),
                            "description": parameter.get("description", ""),
                        }
                        for parameter in operation.get("parameters", [])
                    ],
                    "body": [
                        {"media_type": media, "type": type_name(content.get("schema", {}))}
                        for media, content in body.items()
                    ],
                    "responses": [
                        {
                            "status": status,
                            "description": answer.get("description", ""),
                            "type": ", ".join(
                                type_name(content.get("schema", {}))
                                for content in answer.get("content", {}).values()
                            ),
                        }
                        for status, answer in operation.get("responses", {}).items()
                    ],
                }
            )
    return found


def anchor(method: str, path: str) -> str:
    """``post--v1-classifiers-name-classify``: a fragment id for one operation."""
    return f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "")


def schemas(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The named schemas the operations refer to, each with its fields."""
    named = document.get("components", {}).get("schemas", {})
    return [
        {
            "name": name,
            "description": schema.get("description", ""),
            "fields": [
                {
                    "name": field,
                    "type": type_name(spec),
                    "required": field in schema.get("required", []),
                    "description": spec.get("description", ""),
                }
                for field, spec in schema.get("properties", {}).items()
            ],
            "choices": [str(value) for value in schema.get("enum", [])],
        }
        for name, schema in sorted(named.items())
    ]


def type_name(schema: dict[str, Any]) -> str:
    """A JSON schema as a reader says it: ``array of ClassifyItem``, ``string or null``."""
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(SCHEMA_PREFIX)
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return " or ".join(type_name(part) for part in schema[combinator])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {type_name(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return f"object of {type_name(extra) if isinstance(extra, dict) else 'any'}"
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    return str(kind or "any")
