"""Classify gives way to the other requests in flight, so a busy server still answers people.

Under flat-out classify traffic the event loop is never idle, and a request that runs on the
thread pool (feedback, a review claim, a portal page, an admin call) got its share of the one
interpreter lock only between classify requests: on a saturated core it took three to five times
as long as alone, and portal pages missed a quarter-second. So while such a request is in
flight, a classify request waits before it starts its work, until that request has finished,
at most ``MOST_SECONDS``; classify requests already started go on. A request in flight for over
``YOUNG_SECONDS`` (an upload, a download, a long export) is not given way to any more: classify
never waits behind long work. Measured (docs/benchmarks.md): the other requests' p99 under the
flood came within about twice their p99 alone, and classify's throughput rose, as the requests
that wait are then answered together in larger model calls; classify's p99 rises by about the
wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

MOST_SECONDS = 0.05  # the longest one classify request waits
YOUNG_SECONDS = 0.25  # requests in flight longer than this are not given way to


class GiveWay:
    """The requests in flight that classify gives way to; used on the event loop only."""

    def __init__(self, most: float = MOST_SECONDS, young: float = YOUNG_SECONDS) -> None:
        self.most = most
        self.young = young
        self._inflight: dict[int, float] = {}  # request → when it started
        self._numbers = itertools.count()
        self._finish: asyncio.Event | None = None  # set, and replaced, when one finishes

    def started(self) -> int:
        number = next(self._numbers)
        self._inflight[number] = time.monotonic()
        return number

    def finished(self, number: int) -> None:
        del self._inflight[number]
        if self._finish is not None:
            self._finish.set()
            self._finish = None

    async def turn(self) -> None:
        """Wait while a young request is in flight, at most ``most`` seconds."""
        deadline = time.monotonic() + self.most
        while self._inflight:
            now = time.monotonic()
            youngest = max(self._inflight.values())
            left = min(deadline, youngest + self.young) - now
            if left <= 0:
                return
            if self._finish is None:
                self._finish = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finish.wait(), left)
