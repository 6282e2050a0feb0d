"""Every door refuses every hostile input it can be handed with a clear 4xx or one line and a
non-zero exit, without blocking, and with memory that does not grow with the input.

The bounds are generous on purpose (they hold on a busy two-core machine); what they catch is a
reader that holds a whole line, a whole decoded body or a whole archive: each hazard is several
times larger than the bound.
"""

from __future__ import annotations

import itertools

import pytest

from tests.hostile.conftest import World
from tests.hostile.doors import DOORS, NAMES, Door, described
from tests.hostile.hazards import HAZARDS

CLI_PEAK_MB = 400  # a CLI command's whole peak; the endless line alone is 512 MB
SERVER_GROWTH_MB = 64  # how far the server's peak may rise; an endless body is 96 MB

CASES = [
    pytest.param(door, name, id=f"{door.name}: {name}") for door in DOORS for name in door.hazards
]
_numbers = itertools.count()


@pytest.mark.parametrize(("door", "name"), CASES)
def test_the_door_refuses_the_hazard_clearly_and_within_bounded_memory(
    world: World, door: Door, name: str
) -> None:
    folder = (
        world.inputs / f"case-{next(_numbers)}"
    )  # inside the batch root: only the door stops it
    folder.mkdir()
    outcome = door.enter(world, HAZARDS[name](folder), folder)
    assert outcome.refused, described(outcome)
    assert any(phrase in outcome.message for phrase in NAMES[name]), described(outcome)
    assert "Traceback" not in outcome.message
    bound = CLI_PEAK_MB if door.name.startswith("cli") else SERVER_GROWTH_MB
    assert outcome.peak_mb < bound, described(outcome)


def test_every_hazard_is_tried_at_some_door() -> None:
    assert {name for door in DOORS for name in door.hazards} == set(HAZARDS) == set(NAMES)
