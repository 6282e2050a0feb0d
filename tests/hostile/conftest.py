"""One deployed n-gram classifier (``topics``), an exported bundle of it and a server that reads
batch input from one root, shared by every hostile-input test: what is under test is how each
door refuses, not how a model is made."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.corpus import write_corpus
from tests.processes import TEXTLOOP, environment, run_cli, running_server, server_pids


@dataclass
class World:
    root: Path
    env: dict[str, str]
    admin_key: str
    bundle: Path  # an exported n-gram bundle, never changed: copy it to craft one
    inputs: Path  # the server's batch_input_roots
    base: str = ""
    server_pid: int = 0

    def cli(self, *args: str, timeout: float = 120) -> Run:
        """``textloop *args`` with its own peak memory (``wait4``: that process's tree alone);
        one that does not end within ``timeout`` (blocked on a FIFO, reading a device) fails."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            process = subprocess.Popen([TEXTLOOP, *args], env=self.env, stdout=out, stderr=err)
            watchdog = threading.Timer(timeout, process.kill)
            watchdog.start()
            try:
                _, status, usage = os.wait4(process.pid, 0)
            finally:
                watchdog.cancel()
            process.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        if process.returncode == -signal.SIGKILL:
            raise AssertionError(f"textloop {' '.join(args)} did not end in {timeout} s")
        return Run(process.returncode, stdout, stderr, usage.ru_maxrss / 1024)

    def server_peak_mb(self) -> float:
        """The server's peak resident memory so far (``VmHWM``)."""
        for line in Path(f"/proc/{self.server_pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM for the server")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    peak_mb: float


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    inputs = root / "inputs"
    inputs.mkdir()
    env = environment(root / "data", f"sqlite:///{root / 'textloop.db'}")
    env["TEXTLOOP_BATCH_INPUT_ROOTS"] = str(inputs)
    env["TEXTLOOP_MAX_UPLOAD_BYTES"] = str(120 * 1024 * 1024)
    admin = json.loads(run_cli(env, "init", "--json").stdout)["api_key"]
    corpus = write_corpus(root / "corpus.csv", per_label=30)
    assert run_cli(env, "ingest", str(corpus), "-c", "topics").returncode == 0
    trained = run_cli(env, "train", "topics", "--model", "ngram", "--deploy", "--json")
    assert trained.returncode == 0, trained.stderr
    bundle = root / "bundle"
    done = run_cli(env, "export", "topics", "--out", str(bundle))
    assert done.returncode == 0, done.stderr
    world = World(root, env, admin, bundle, inputs)
    log = root / "server.log"
    with running_server(env, log) as base:
        world.base = base
        (world.server_pid,) = server_pids(log)
        yield world
    shutil.rmtree(root, ignore_errors=True)
