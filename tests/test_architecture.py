"""docs/architecture.md describes the tree as it is: every layer it lists is held by the
import-linter contract, every contract it names can be imported, and its examples work."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

import textloop
from textloop.models.base import families
from textloop.models.checks import check_classifier
from textloop.review.strategies import strategies

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()
LAYERS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def layered_packages() -> set[str]:
    (contract,) = [c for c in LAYERS["contracts"] if c["type"] == "layers"]
    return {name.strip() for layer in contract["layers"] for name in layer.split("|")}


def top_level_packages() -> set[str]:
    source = Path(textloop.__file__).parent
    packages = {p.name for p in source.iterdir() if (p / "__init__.py").is_file()}
    modules = {p.stem for p in source.glob("*.py") if p.stem != "__init__"}
    return {f"textloop.{name}" for name in packages | modules}


def named_contracts() -> list[str]:
    """Every ``textloop.a.b.Name`` the page names in backticks."""
    return sorted(set(re.findall(r"`(textloop(?:\.\w+)+)`", ARCHITECTURE)))


def test_the_layers_contract_covers_every_top_level_package() -> None:
    assert top_level_packages() == layered_packages()


def test_the_page_lists_every_layered_package() -> None:
    table = {f"textloop.{name}" for name in re.findall(r"`(\w+)`", ARCHITECTURE)}
    assert layered_packages() <= table


@pytest.mark.parametrize("dotted", named_contracts())
def test_every_named_contract_can_be_imported(dotted: str) -> None:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return
    pytest.fail(f"{dotted} cannot be imported")


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", ARCHITECTURE, flags=re.S)


def test_the_model_family_example_passes_the_conformance_check() -> None:
    namespace: dict[str, object] = {}
    try:
        exec(examples()[0], namespace)
        check_classifier(families.get("class-prior")())
    finally:
        families.unregister("class-prior")


def test_the_strategy_example_ranks_the_least_sure_text_first() -> None:
    namespace: dict[str, object] = {}
    try:
        exec(examples()[1], namespace)
        strategy = strategies.get("least-sure-first")()
        usefulness = strategy.usefulness(np.array([[0.9, 0.1], [0.5, 0.5]]))
        assert strategy.select(["sure", "unsure"], usefulness, 1, None) == [1]
    finally:
        strategies.unregister("least-sure-first")


def test_the_job_handler_and_engine_examples_register() -> None:
    from textloop.batch.engines import engines
    from textloop.worker import job_handlers

    namespace: dict[str, object] = {}
    try:
        exec(examples()[2], namespace)
        exec(examples()[3], namespace)
        handler = job_handlers.get("export-report")
        assert handler(None, None, "topics", {}, None) == {"classifier": "topics", "written": True}
        assert "single-thread" in engines.names()
    finally:
        job_handlers.unregister("export-report")
        engines.unregister("single-thread")


def test_the_file_format_example_reads_a_file_it_is_named_for(tmp_path: Path) -> None:
    from textloop.data.readers import ReadOptions, file_readers, read_labelled_file

    namespace: dict[str, object] = {}
    path = tmp_path / "train.txt"
    path.write_text("__label__sport the match went on\n__label__weather rain again\n")
    try:
        exec(examples()[4], namespace)
        table = read_labelled_file(path, options=ReadOptions(file_format="fasttext"))
        assert table.to_pylist() == [
            {"text": "the match went on", "label": "sport"},
            {"text": "rain again", "label": "weather"},
        ]
    finally:
        file_readers.unregister("fasttext")
