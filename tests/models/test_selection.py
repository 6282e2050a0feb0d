"""Weights an ensemble may take: every share in tenths, each member keeping at least one."""

import pytest

from textloop.models.selection import weight_grid


@pytest.mark.parametrize(("members", "count"), [(1, 1), (2, 9), (3, 36)])
def test_every_weighting_in_tenths_is_tried_once(members: int, count: int) -> None:
    grid = weight_grid(members)
    assert len(grid) == count == len({tuple(weights) for weights in grid})
    for weights in grid:
        assert len(weights) == members and min(weights) >= 0.1
        assert sum(weights) == pytest.approx(1.0)
