"""Waiting for a job to finish by asking for it again: once for the blocking client, once for the
async one. Finished means any end, good or bad; what counts as success is the caller's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from textloop.client.errors import JobFailedError, WaitTimeoutError

J = TypeVar("J", bound=Mapping[str, Any])


def poll(
    get: Callable[[], J],
    finished: Callable[[J], bool],
    timeout: float | None,
    interval: float,
    what: str,
) -> J:
    """``get()`` every ``interval`` seconds until ``finished``; ``WaitTimeoutError`` after
    ``timeout`` seconds (None: no limit)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        state = get()
        if finished(state):
            return state
        _check_deadline(deadline, timeout, state, what)
        time.sleep(interval)


async def poll_async(
    get: Callable[[], Awaitable[J]],
    finished: Callable[[J], bool],
    timeout: float | None,
    interval: float,
    what: str,
) -> J:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        state = await get()
        if finished(state):
            return state
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
