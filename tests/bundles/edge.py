"""Where a bundle must run: a Python with only numpy, onnxruntime and tokenizers installed, none
of textloop, and how a test runs a bundle's ``predict.py`` there."""

from __future__ import annotations

import json
import shutil
import subprocess
import venv
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

EDGE_PACKAGES = ("numpy", "onnxruntime", "tokenizers")


def edge_environment(home: Path) -> Path:
    """A fresh virtual environment in ``home`` holding only the three libraries: their installed
    files, as pinned here, copied file by file from their wheels' records. Its python."""
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    for name in EDGE_PACKAGES:
        dist = distribution(name)
        for file in dist.files or ():
            source = Path(str(dist.locate_file(file)))
            if ".." in file.parts or not source.is_file():
                continue  # scripts installed outside site-packages are not needed
            (site / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, site / file)
    return python


def run_bundle(python: Path, bundle: Path, texts: list[str]) -> list[dict[str, Any]]:
    """``predict.load(bundle).classify(texts)`` in the edge environment, isolated from this
    checkout (``-I``: no current directory, no user site, no PYTHON* variables); it must not
    have imported textloop or any other heavy library to answer."""
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(bundle)!r})\n"
        "import predict\n"
        "texts = json.load(sys.stdin)\n"
        f"print(json.dumps(predict.load({str(bundle)!r}).classify(texts)))\n"
        "print(json.dumps(sorted(m for m in ('textloop', 'torch', 'sklearn', 'scipy') "
        "if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [python, "-I", "-c", script], input=json.dumps(texts), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    answers, loaded = done.stdout.strip().splitlines()
    assert json.loads(loaded) == []
    result: list[dict[str, Any]] = json.loads(answers)
    return result
