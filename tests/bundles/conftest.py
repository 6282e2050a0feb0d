"""The edge environment every bundle test module may run bundles in, built once for them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bundles.edge import edge_environment


@pytest.fixture(scope="package")
def edge_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Python holding only numpy, onnxruntime and tokenizers (``edge.edge_environment``)."""
    return edge_environment(tmp_path_factory.mktemp("edge") / "venv")
