"""Each route declares its policy, and a request is answered by the application of its route:
the API in JSON, the portal in pages, a path no route answers by the application whose part of
the URL space it lies in."""

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from textloop.serving.policy import API_FALLBACK, Surface, api
from textloop.serving.surfaces import RouteTable


def test_a_route_without_a_declared_policy_is_refused_when_the_app_is_built() -> None:
    router = APIRouter()

    @router.get("/v1/undeclared")
    def undeclared() -> None: ...

    app = FastAPI(openapi_url=None)
    app.include_router(router)
    with pytest.raises(TypeError, match="/v1/undeclared declares no policy"):
        RouteTable(app, Surface.API, API_FALLBACK)


def test_a_route_declared_for_the_other_surface_is_refused() -> None:
    router = APIRouter()

    @router.get("/admin/misplaced")
    @api("admin")
    def misplaced() -> None: ...

    app = FastAPI(openapi_url=None)
    app.include_router(router)
    with pytest.raises(TypeError, match=r"not Surface\.PORTAL"):
        RouteTable(app, Surface.PORTAL, API_FALLBACK)


def test_errors_are_rendered_by_the_surface_that_answers(client: TestClient) -> None:
    for path in ("/v1/nothing-here", "/v1/classifiers/topics/classify/more"):
        missing = client.get(path)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
    wrong_method = client.get("/v1/classify")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    for path in ("/nothing-here", "/admin/nothing-here", "/static"):
        page = client.get(path)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "content-security-policy" in page.headers
    assert client.delete("/login").headers["content-type"].startswith("text/html")
