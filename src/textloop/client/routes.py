"""How a client method declares the route it calls, written once for both clients.

A method of a resource group is a function that builds a ``Call`` (the path parameters, the
query, the body, and how to read the answer), decorated with the route it calls::

    class Classifiers(Group[Mode]):
        @route("GET", "/v1/classifiers/{name}")
        def get(self, name: str) -> Call[Classifier]:
            return Call(path={"name": name})

``route`` turns the function into an ``Endpoint``. Read from a group of the blocking ``Client``
it is a method answering a ``Classifier``; from a group of the ``AsyncClient``, a coroutine
function answering one: the group's runner sends the call, and the type checker knows which.
Because each method names its route, ``declared_routes`` can list what a client covers, and a
test compares that with the server's routes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload
from urllib.parse import quote

import httpx

P = ParamSpec("P")
T = TypeVar("T")


class Sync:
    """Marks a group of the blocking client: its methods answer at once."""


class Async:
    """Marks a group of the async client: its methods are coroutine functions."""


Mode = TypeVar("Mode", Sync, Async)


def read_json(response: httpx.Response) -> Any:
    return response.json()


def read_nothing(response: httpx.Response) -> None:
    return None


def read_bytes(response: httpx.Response) -> bytes:
    return response.content


def read_text(response: httpx.Response) -> str:
    return response.text


def read_json_or_none(response: httpx.Response) -> Any:
    """A JSON body, or None for 204 (a review claim with nothing to claim)."""
    return None if response.status_code == 204 else response.json()


@dataclass(frozen=True)
class Call(Generic[T]):
    """What one method call sends, beyond its route, and how its answer is read.

    ``query`` values that are None are left out, so the server's defaults apply; a list is sent
    as the parameter repeated. ``json`` None sends no body. ``content`` is a raw body: bytes, or
    a file read from its start at each attempt. ``save_to`` streams the answer into that file
    instead of memory. ``final`` lists error statuses that are answers here (``/readyz``'s 503),
    read by ``read`` and never retried. ``slow`` calls (training, deploying) get the client's
    long read timeout.
    """

    path: Mapping[str, str | int] = field(default_factory=dict)
    query: Mapping[str, Any] | None = None
    json: Any = None
    content: bytes | Path | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    read: Callable[[httpx.Response], T] = read_json
    final: frozenset[int] = frozenset()
    save_to: Path | None = None
    slow: bool = False


@dataclass(frozen=True)
class Route:
    """An HTTP method and a path template of the API, as the server declares them."""

    method: str
    path: str

    def url(self, parameters: Mapping[str, str | int]) -> str:
        """The path with each ``{name}`` filled in, quoted whole (a ``/`` in a value stays in
        its segment)."""
        return self.path.format_map({k: quote(str(v), safe="") for k, v in parameters.items()})

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class Runner(Protocol):
    """Sends a call on its route and reads the answer: at once, or as a coroutine."""

    def run(self, route: Route, call: Call[Any]) -> Any: ...


class Group(Generic[Mode]):
    """A set of methods over one resource, sharing the client's runner (its connection pool)."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner


class Endpoint(Generic[P, T]):
    """A method declared once: it builds the call, and the group's runner sends it."""

    def __init__(self, route: Route, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self.route = route
        self.build = build
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__
        signature = inspect.signature(build)
        self.signature = signature.replace(parameters=list(signature.parameters.values())[1:])

    @overload
    def __get__(self, group: None, owner: type) -> Endpoint[P, T]: ...

    @overload
    def __get__(self, group: Group[Sync], owner: type) -> Callable[P, T]: ...

    @overload
    def __get__(self, group: Group[Async], owner: type) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(self, group: Group[Any] | None, owner: type) -> Any:
        if group is None:
            return self
        runner, route, build = group._runner, self.route, self.build

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return runner.run(route, build(group, *args, **kwargs))

        method.__signature__ = self.signature  # type: ignore[attr-defined]
        return method


def route(
    method: str, path: str
) -> Callable[[Callable[Concatenate[Any, P], Call[T]]], Endpoint[P, T]]:
    """Declare the route a method calls; see the module's docstring."""

    def declare(build: Callable[Concatenate[Any, P], Call[T]]) -> Endpoint[P, T]:
        return Endpoint(Route(method, path), build)

    return declare


def endpoints(group: object) -> dict[str, Endpoint[Any, Any]]:
    """The endpoints of a group (or client) by method name, inherited ones included."""
    found: dict[str, Endpoint[Any, Any]] = {}
    for name in dir(type(group)):
        value = inspect.getattr_static(group, name)
        if isinstance(value, Endpoint):
            found[name] = value
    return found


def declared_routes(client: Group[Any]) -> dict[str, list[str]]:
    """Every route a client calls ("GET /v1/classifiers/{name}"), with the methods that call
    it ("classifiers.get"): the client's own methods and those of its groups."""
    routes: dict[str, list[str]] = {}
    owners: list[tuple[str, object]] = [("", client)]
    owners += [
        (f"{name}.", value) for name, value in vars(client).items() if isinstance(value, Group)
    ]
    for prefix, owner in owners:
        for name, endpoint in endpoints(owner).items():
            routes.setdefault(str(endpoint.route), []).append(prefix + name)
    return routes
