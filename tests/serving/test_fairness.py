"""Classify gives way to a request in flight, until it finishes, and never to long work."""

from __future__ import annotations

import asyncio

from textloop.serving.fairness import GiveWay

FOREVER = 3600.0  # so that only the behaviour under test can end a wait
HUNG = 60.0  # a turn still waiting after this is stuck, not slow


def test_classify_waits_until_the_request_in_flight_finishes() -> None:
    async def scenario() -> None:
        give_way = GiveWay(most=FOREVER, young=FOREVER)
        feedback = give_way.started()
        classify = asyncio.create_task(give_way.turn())
        for _ in range(20):
            await asyncio.sleep(0)
        assert not classify.done()
        give_way.finished(feedback)
        await asyncio.wait_for(classify, HUNG)

    asyncio.run(scenario())


def test_with_nothing_in_flight_classify_goes_at_once() -> None:
    async def scenario() -> None:
        give_way = GiveWay(most=FOREVER, young=FOREVER)
        give_way.finished(give_way.started())
        await asyncio.wait_for(give_way.turn(), HUNG)

    asyncio.run(scenario())


def test_a_request_in_flight_for_long_is_not_waited_for() -> None:
    async def scenario() -> None:
        give_way = GiveWay(most=FOREVER, young=0.0)  # every request is already old
        give_way.started()  # an upload that never ends
        await asyncio.wait_for(give_way.turn(), HUNG)

    asyncio.run(scenario())


def test_the_wait_is_bounded() -> None:
    async def scenario() -> None:
        give_way = GiveWay(most=0.0, young=FOREVER)
        give_way.started()
        await asyncio.wait_for(give_way.turn(), HUNG)

    asyncio.run(scenario())
