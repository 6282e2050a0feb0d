"""``textloop import`` treats a bundle as the sender's: a closed tree of regular files, loaded
from arrays and JSON only. Each crafted bundle is refused in one line that names the file, runs
nothing, and registers nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import zipfile
from contextlib import closing
from pathlib import Path

import pytest

from tests.hostile.conftest import World


class Payload:
    """Unpickling this runs a command: it touches ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def model_versions(world: World) -> list[int]:
    with closing(sqlite3.connect(world.root / "textloop.db")) as db:
        return [row[0] for row in db.execute("SELECT version FROM model_versions ORDER BY 1")]


def copied(world: World, folder: Path) -> Path:
    bundle = folder / "bundle"
    shutil.copytree(world.bundle, bundle)
    return bundle


def rehash(bundle: Path) -> None:
    """Record every regular file's hash in the manifest, as a sender would to pass the check."""
    manifest = json.loads((bundle / "bundle.json").read_text())
    manifest["files"] = {
        path.relative_to(bundle).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(bundle.rglob("*"))
        if path.is_file() and not path.is_symlink() and path.name != "bundle.json"
    }
    (bundle / "bundle.json").write_text(json.dumps(manifest))


def archived(bundle: Path) -> Path:
    archive = bundle.with_name("crafted.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundle, arcname="crafted")
    return archive


def refused_in_one_line(world: World, path: Path, *named: str) -> str:
    before = model_versions(world)
    run = world.cli("import", str(path))
    assert run.code != 0
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert all(name in run.stderr for name in named), run.stderr
    assert model_versions(world) == before
    return lines[0]


def probes_bundle(world: World, folder: Path, marker: Path) -> Path:
    """The probe's bundle: ``model/inner`` moved to ``hidden/`` beside a pickle that runs a
    command, its arrays removed (so the n-gram loader would fall back to the pickle), and a
    link ``model/inner -> ../hidden``; every regular file rehashed into the manifest."""
    import joblib

    bundle = copied(world, folder)
    shutil.move(bundle / "model" / "inner", bundle / "hidden")
    joblib.dump(Payload(marker), bundle / "hidden" / "pipeline.joblib")
    (bundle / "hidden" / "scorer.npz").unlink()
    (bundle / "model" / "inner").symlink_to("../hidden")
    rehash(bundle)
    return bundle


@pytest.mark.parametrize("form", ["folder", "archive"])
def test_the_probes_bundle_is_refused_in_one_line_and_runs_nothing(
    world: World, tmp_path: Path, form: str
) -> None:
    marker = tmp_path / "ran"
    bundle = probes_bundle(world, tmp_path, marker)
    path = archived(bundle) if form == "archive" else bundle
    line = refused_in_one_line(world, path, "model/inner")
    assert "symbolic link" in line
    assert not marker.exists()


def test_a_file_hard_linked_from_outside_the_bundle_is_refused(
    world: World, tmp_path: Path
) -> None:
    bundle = copied(world, tmp_path)
    outside = tmp_path / "outside.txt"
    outside.write_text("someone else's file")
    os.link(outside, bundle / "model" / "notes.txt")
    rehash(bundle)
    line = refused_in_one_line(world, bundle, "model/notes.txt")
    assert "hard-linked to a file outside" in line


def test_a_bundle_without_its_arrays_is_refused_rather_than_unpickled(
    world: World, tmp_path: Path
) -> None:
    bundle = copied(world, tmp_path)
    (bundle / "model" / "inner" / "scorer.npz").unlink()
    rehash(bundle)
    line = refused_in_one_line(world, bundle, "pipeline.joblib")
    assert "never from a pickle" in line


def test_compressed_arrays_are_refused(world: World, tmp_path: Path) -> None:
    bundle = copied(world, tmp_path)
    arrays = bundle / "arrays" / "ngram.npz"
    with zipfile.ZipFile(arrays) as source:
        members = {name: source.read(name) for name in source.namelist()}
    arrays.unlink()  # it may be hard-linked to the model's copy: write a new file
    with zipfile.ZipFile(arrays, "w", compression=zipfile.ZIP_DEFLATED) as packed:
        for name, data in members.items():
            packed.writestr(name, data)
    rehash(bundle)
    line = refused_in_one_line(world, bundle, "arrays/ngram.npz")
    assert "compressed" in line


@pytest.mark.parametrize(
    ("manifest", "named"),
    [
        ("[1, 2, 3]", "no object"),
        ('{"format": 1, "files": []}', "malformed"),
        ("{not json", "not a textloop bundle"),
    ],
    ids=["a list", "files not a mapping", "not JSON"],
)
def test_a_malformed_manifest_is_refused_in_one_line(
    world: World, tmp_path: Path, manifest: str, named: str
) -> None:
    bundle = copied(world, tmp_path)
    (bundle / "bundle.json").write_text(manifest)
    assert named in refused_in_one_line(world, bundle)


def test_a_model_file_that_is_not_what_it_says_is_refused_in_one_line(
    world: World, tmp_path: Path
) -> None:
    bundle = copied(world, tmp_path)
    (bundle / "model" / "inner" / "ngram.json").unlink()  # linked or not: a new file
    (bundle / "model" / "inner" / "ngram.json").write_text("[not json")
    rehash(bundle)
    assert "cannot be loaded" in refused_in_one_line(world, bundle)
