"""docs/python.md is a walk-through that works: its Python blocks run, in order, in one
interpreter, in an empty folder, as a reader would run them in a notebook."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).parents[1] / "docs" / "python.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[str]:
    return BLOCK.findall(text)


def test_the_walk_through_runs_from_top_to_bottom(tmp_path: Path) -> None:
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    script = "\n\n".join(
        f"print('--- block {number}', flush=True)\n{block}"
        for number, block in enumerate(blocks, 1)
    )
    # a fresh interpreter, as a notebook's kernel: no state of this test process, no data
    # directory of the environment; the encoder exports of the test run stay shared
    env = {k: v for k, v in os.environ.items() if k != "TEXTLOOP_DATA_DIR"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    failed = re.findall(r"--- block (\d+)", done.stdout)
    assert done.returncode == 0, (
        f"docs/python.md block {failed[-1] if failed else '?'} failed:\n{done.stderr[-3000:]}"
    )


def test_blocks_are_found_the_way_a_reader_sees_them() -> None:
    text = "intro\n```python\nx = 1\n```\n\n```\nnot python\n```\n```python\ny = 2\n```\n"
    assert python_blocks(text) == ["x = 1\n", "y = 2\n"]
