"""The ONNX export of a sentence encoder gives what the original gives, served without torch,
and an export whose files stopped agreeing with the original is refused at load."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.processes import heavy_modules_after
from textloop.errors import ConfigError
from textloop.models.encoders import SentenceEncoder
from textloop.models.onnx_encoder import PROBES, OnnxEncoder
from textloop.models.onnx_export import export_encoder

pytestmark = pytest.mark.slow
TEXTS = ["I am still waiting on my card?", "Which currencies can I hold?", "the match ended 2-1"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("encoders") / "minilm"
    export_encoder("all-MiniLM-L6-v2", directory)
    return directory


def test_the_export_agrees_with_the_original_model(exported: Path) -> None:
    original = SentenceEncoder("all-MiniLM-L6-v2").encode(TEXTS)
    full = OnnxEncoder(exported, "fp32").encode(TEXTS)
    int8 = OnnxEncoder(exported, "int8")
    assert np.allclose(full, original, atol=1e-4)
    similarity = (int8.encode(TEXTS) * original).sum(axis=1)
    assert similarity.min() >= int8.manifest.min_cosine["int8"] - 0.02
    assert int8.manifest.min_cosine["int8"] > 0.9 and int8.dimension == 384


def test_serving_from_the_export_never_imports_torch(exported: Path) -> None:
    code = (
        "from pathlib import Path\n"
        "from textloop.models.onnx_encoder import OnnxEncoder\n"
        f"OnnxEncoder(Path({str(exported)!r})).encode(['hello'])"
    )
    assert heavy_modules_after(code) == []


def test_an_export_that_no_longer_agrees_is_refused(exported: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(exported, broken)
    probes = dict(np.load(broken / PROBES))
    probes["embeddings"] = probes["embeddings"][::-1]  # what another model would have said
    np.savez(broken / PROBES, **probes)
    with pytest.raises(ConfigError, match="agrees with the original only to cosine"):
        OnnxEncoder(broken)
    with pytest.raises(ConfigError, match="precision must be one of int8, fp32"):
        OnnxEncoder(exported, "fp64")
    with pytest.raises(ConfigError, match="no readable ONNX encoder export"):
        OnnxEncoder(tmp_path / "nothing-here")
