"""The loop over HTTP: retrain jobs and waiting for them, the event feed read by its cursor, and
the webhooks events are sent to. Every route here needs ``admin``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence

import httpx

from textloop.client.resources.classify import fields
from textloop.client.routes import Async, Call, Group, Mode, Sync, read_nothing, route
from textloop.client.schemas import Event, EventPage, Job, Json, Webhook
from textloop.client.waiting import poll, poll_async

JOB_ENDED = ("succeeded", "dead")


def _jobs(response: httpx.Response) -> list[Job]:
    jobs: list[Job] = response.json()["jobs"]
    return jobs


def _deliveries(response: httpx.Response) -> list[Json]:
    deliveries: list[Json] = response.json()["deliveries"]
    return deliveries


class Jobs(Group[Mode]):
    @route("GET", "/v1/jobs/{job_id}")
    def get(self, job_id: int) -> Call[Job]:
        """A job: ``queued``, ``running``, ``succeeded`` or ``dead``, its result or error."""
        return Call(path={"job_id": job_id})

    @route("POST", "/v1/classifiers/{name}/retrain")
    def retrain(
        self, classifier: str, *, model: str | None = None, dataset_version: int | None = None
    ) -> Call[Job]:
        """Queue a retrain (merged with one still waiting): reviewed labels merged, trained,
        evaluated, and deployed if the retrain policy says so. A worker runs it."""
        return Call(
            path={"name": classifier}, json=fields(model=model, dataset_version=dataset_version)
        )

    @route("POST", "/v1/classifiers/{name}/backfill")
    def backfill(
        self,
        classifier: str,
        *,
        since: str | None = None,
        until: str | None = None,
        model: str | None = None,
    ) -> Call[list[Job]]:
        """Queue a retrain for each dataset version created between ``since`` and ``until``
        (dates or ISO date-times, UTC; a bare ``until`` date includes that day)."""
        return Call(
            path={"name": classifier},
            json=fields(since=since, until=until, model=model),
            read=_jobs,
        )


class SyncJobs(Jobs[Sync]):
    def wait(self, job_id: int, *, timeout: float | None = None, poll_interval: float = 1.0) -> Job:
        """The job once it has succeeded; ``JobFailedError`` when it is dead (its last attempt
        failed), ``WaitTimeoutError`` after ``timeout`` seconds."""
        return poll(lambda: self.get(job_id), JOB_ENDED, timeout, poll_interval, f"job {job_id}")


class AsyncJobs(Jobs[Async]):
    async def wait(
        self, job_id: int, *, timeout: float | None = None, poll_interval: float = 1.0
    ) -> Job:
        """As the blocking client's ``wait``."""
        return await poll_async(
            lambda: self.get(job_id), JOB_ENDED, timeout, poll_interval, f"job {job_id}"
        )


class Events(Group[Mode]):
    @route("GET", "/v1/events")
    def page(
        self,
        *,
        after: int | None = None,
        limit: int | None = None,
        classifier: str | None = None,
        types: Sequence[str] | None = None,
    ) -> Call[EventPage]:
        """One page of events after the cursor ``after``, oldest first; pass its ``next`` as
        ``after`` for the following page (``next`` equals ``after`` when caught up). ``types``
        filters by event type; a key limited to some classifiers must name one."""
        return Call(
            query={
                "after": after,
                "limit": limit,
                "classifier": classifier,
                "type": None if types is None else list(types),
            }
        )


class SyncEvents(Events[Sync]):
    def iterate(
        self,
        *,
        after: int = 0,
        classifier: str | None = None,
        types: Sequence[str] | None = None,
        page_size: int = 100,
        follow: bool = False,
        poll_interval: float = 1.0,
    ) -> Iterator[Event]:
        """Every event after ``after``, page by page, following the cursor; until caught up,
        or (``follow``) for as long as the caller reads, asking again every ``poll_interval``
        seconds when there is nothing new. An event's ``id`` is the cursor to resume from."""
        while True:
            page = self.page(after=after, limit=page_size, classifier=classifier, types=types)
            yield from page["events"]
            if page["events"]:
                after = page["next"]
            elif not follow:
                return
            else:
                time.sleep(poll_interval)


class AsyncEvents(Events[Async]):
    async def iterate(
        self,
        *,
        after: int = 0,
        classifier: str | None = None,
        types: Sequence[str] | None = None,
        page_size: int = 100,
        follow: bool = False,
        poll_interval: float = 1.0,
    ) -> AsyncIterator[Event]:
        """As the blocking client's ``iterate``: ``async for event in client.events.iterate()``."""
        while True:
            page = await self.page(after=after, limit=page_size, classifier=classifier, types=types)
            for event in page["events"]:
                yield event
            if page["events"]:
                after = page["next"]
            elif not follow:
                return
            else:
                await asyncio.sleep(poll_interval)


class Webhooks(Group[Mode]):
    @route("POST", "/v1/webhooks")
    def create(
        self,
        url: str,
        secret: str,
        *,
        classifier: str | None = None,
        events: Sequence[str] | None = None,
    ) -> Call[Webhook]:
        """Send events (of the ``events`` types; none: every type) to ``url``, signed with
        ``secret`` (HMAC-SHA256 in ``X-Textloop-Signature``)."""
        return Call(
            json=fields(
                url=url,
                secret=secret,
                classifier=classifier,
                events=None if events is None else list(events),
            )
        )

    @route("POST", "/v1/webhooks/{webhook_id}/disable")
    def disable(self, webhook_id: int) -> Call[Webhook]:
        """Send nothing more until enabled; deliveries already queued wait, in order."""
        return Call(path={"webhook_id": webhook_id})

    @route("POST", "/v1/webhooks/{webhook_id}/enable")
    def enable(self, webhook_id: int) -> Call[Webhook]:
        """Send again, the deliveries that waited first."""
        return Call(path={"webhook_id": webhook_id})

    @route("DELETE", "/v1/webhooks/{webhook_id}")
    def delete(self, webhook_id: int) -> Call[None]:
        """Delete the webhook and its deliveries, sent or not."""
        return Call(path={"webhook_id": webhook_id}, read=read_nothing)

    @route("GET", "/v1/webhooks/deliveries")
    def deliveries(self, *, limit: int | None = None) -> Call[list[Json]]:
        """The delivery log, newest first: status, attempts, the receiver's answer."""
        return Call(query={"limit": limit}, read=_deliveries)
