"""Waiting for a job to end by asking for it again: once for the blocking client, once for the
async one. The job is returned once it has succeeded; any other end raises ``JobFailedError``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, TypeVar

from textloop.client.errors import JobFailedError, WaitTimeoutError

J = TypeVar("J", bound=Mapping[str, Any])


def poll(
    get: Callable[[], J],
    ended: Collection[str],
    timeout: float | None,
    interval: float,
    what: str,
) -> J:
    """``get()`` every ``interval`` seconds until its status is one of ``ended``, then
    ``succeeded``; ``WaitTimeoutError`` after ``timeout`` seconds (None: no limit)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        state = get()
        if state["status"] in ended:
            return succeeded(state, what)
        _check_deadline(deadline, timeout, state, what)
        time.sleep(interval)


async def poll_async(
    get: Callable[[], Awaitable[J]],
    ended: Collection[str],
    timeout: float | None,
    interval: float,
    what: str,
) -> J:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        state = await get()
        if state["status"] in ended:
            return succeeded(state, what)
        _check_deadline(deadline, timeout, state, what)
        await asyncio.sleep(interval)


def _check_deadline(deadline: float | None, timeout: float | None, state: Any, what: str) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise WaitTimeoutError(
            f"{what} did not finish within {timeout:g} s (still {state.get('status')})", state
        )


def succeeded(state: J, what: str, success: str = "succeeded") -> J:
    """``state`` when its status is ``success``; else ``JobFailedError`` with its error."""
    if state.get("status") != success:
        reason = f": {state['error']}" if state.get("error") else ""
        raise JobFailedError(f"{what} ended {state.get('status')}{reason}", state)
    return state
