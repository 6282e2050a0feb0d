"""Batch engines are one registry: every place that picks an engine (the flag, the setting, the
API, a worker running a queued job) finds it there, a registered engine of one's own runs when it
is named, each engine runs with options of its own type, and Ray keeps its logging to itself
unless asked."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.batch.conftest import Trained, write_input
from tests.processes import run_cli
from textloop.batch import jobs
from textloop.batch.engines import (
    Done,
    Engine,
    LocalOptions,
    RayOptions,
    Work,
    engine_options,
    engines,
    find_engine,
    ray_init_options,
    run_local,
)
from textloop.batch.output import Parts
from textloop.batch.run import BatchRequest, check_request, classify_file, prepare, rows_per_second
from textloop.batch.sources import Chunk
from textloop.config import Settings
from textloop.errors import InvalidRequest
from textloop.worker import Worker


@dataclass(frozen=True)
class TinyOptions:
    """The tiny engine's options: a note it hands back, to show which options reached it."""

    note: str = "from the settings"


@pytest.fixture
def tiny() -> Iterator[list[TinyOptions]]:
    """A third party's engine, registered as ``tiny`` for one test: it scores on one scorer and
    notes the options of each of its runs in the list this gives."""
    given: list[TinyOptions] = []

    class Tiny(Engine):
        options = TinyOptions

        def run(
            self,
            work: Work,
            chunks: Sequence[Chunk],
            parts: Parts,
            done: Callable[[Done], None],
            options: TinyOptions,
        ) -> None:
            given.append(options)
            run_local(work, chunks, parts.write, done, scorers=1)

    engines.register("tiny")(Tiny)
    yield given
    engines.unregister("tiny")


def request(folder: Path, engine: str, options: object = None) -> BatchRequest:
    """A request to classify ``folder``'s in.csv into out.csv on ``engine``."""
    return BatchRequest(
        "topics", folder / "in.csv", folder / "out.csv", engine=engine, options=options
    )


def ids(path: Path) -> list[str]:
    return [str(value) for value in pq.read_table(path).column("id").to_pylist()]


def run_jobs(trained: Trained) -> None:
    worker = Worker(trained.store, trained.settings)
    while worker.run_once():
        pass


def test_each_built_in_engine_has_options_of_its_own_type(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path).with_flags(ray_address="head:6379")
    assert engine_options("local", settings) == LocalOptions()
    assert engine_options("ray", settings) == RayOptions(address="head:6379")
    assert engine_options("ray", settings, verbose=True).verbose


def test_an_unknown_engine_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(InvalidRequest, match=r"unknown engine 'spark'; use one of local, ray$"):
        find_engine("spark")


def test_the_setting_takes_what_the_registry_has_and_refuses_the_rest_as_the_flag_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: list[TinyOptions]
) -> None:
    monkeypatch.setenv("TEXTLOOP_ENGINE", "tiny")
    settings = Settings.load(data_dir=tmp_path)
    assert check_request(request(tmp_path, settings.engine)) == "csv"

    monkeypatch.setenv("TEXTLOOP_ENGINE", "spark")
    settings = Settings.load(data_dir=tmp_path)  # loads: the name is checked when a batch starts
    refused = r"unknown engine 'spark'; use one of local, ray, tiny$"
    with pytest.raises(InvalidRequest, match=refused):
        check_request(request(tmp_path, settings.engine))


def test_an_engine_is_given_options_of_its_own_type_only(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="the local engine takes LocalOptions, not RayOptions"):
        check_request(request(tmp_path, "local", options=RayOptions()))


def test_ray_logs_its_errors_only_unless_asked_to_say_more() -> None:
    for address in (None, "head:6379"):
        quiet = ray_init_options(address, 2, verbose=False)
        assert (quiet["logging_level"], quiet["log_to_driver"]) == (logging.ERROR, False)
        loud = ray_init_options(address, 2, verbose=True)
        assert (loud["logging_level"], loud["log_to_driver"]) == (logging.INFO, True)
    assert ray_init_options(None, 2, verbose=False)["address"] == "local"  # never another's Ray


def test_the_rate_is_rows_over_the_time_since_the_run_began() -> None:
    # a file of 5,549 rows whose last chunks finished together, 9 s after the start
    assert rows_per_second(5_549, 9.0) == pytest.approx(616.6, abs=0.1)
    assert rows_per_second(0, 0.0) == 0.0


@pytest.mark.slow  # trains an embedding model
def test_a_registered_engine_named_by_the_setting_runs_the_batch(
    trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: list[TinyOptions]
) -> None:
    records = write_input(tmp_path / "in.csv", rows=50, bad=False)
    monkeypatch.setenv("TEXTLOOP_ENGINE", "tiny")
    from_environment = Settings.load(data_dir=trained.data, database_url=trained.url).engine
    # the rest as the model was trained (the S3 pass gives each test a fresh artifact root)
    settings = dataclasses.replace(trained.settings, engine=from_environment)
    request = BatchRequest(
        "topics", tmp_path / "in.csv", tmp_path / "out.parquet", engine=settings.engine,
        chunk_rows=20,
    )  # fmt: skip
    summary = classify_file(trained.store, settings, prepare(trained.store, request))
    assert tiny == [TinyOptions()]  # it ran, once, with its own options
    assert (summary.engine, summary.rows, summary.chunks) == ("tiny", 50, 3)
    assert ids(tmp_path / "out.parquet") == [r["id"] for r in records]
    assert list(tmp_path.iterdir()) == [tmp_path / "in.csv", tmp_path / "out.parquet"]


@pytest.mark.slow  # trains an embedding model
def test_a_queued_job_runs_on_the_registered_engine_it_names_with_its_options(
    trained: Trained, tmp_path: Path, tiny: list[TinyOptions]
) -> None:
    records = write_input(tmp_path / "in.csv", rows=50, bad=False)
    options = TinyOptions(note="given at submission")
    request = BatchRequest(
        "topics", tmp_path / "in.csv", tmp_path / "out.parquet", engine="tiny", options=options,
        chunk_rows=20,
    )  # fmt: skip
    job = jobs.submit(trained.store, trained.settings, request)
    run_jobs(trained)
    assert tiny == [options]  # the worker ran it there, with what the job was submitted with
    with trained.store.session() as session:
        done = jobs.describe(session, jobs.find(session, job["id"]))
    assert (done["status"], done["rows_done"], done["error"]) == ("succeeded", 50, None)
    assert ids(tmp_path / "out.parquet") == [r["id"] for r in records]


@pytest.mark.slow  # trains an embedding model
def test_a_worker_that_does_not_know_the_job_s_engine_fails_it_rather_than_run_another(
    trained: Trained, tmp_path: Path, tiny: list[TinyOptions]
) -> None:
    write_input(tmp_path / "in.csv", rows=10, bad=False)
    request = BatchRequest("topics", tmp_path / "in.csv", tmp_path / "out.parquet", engine="tiny")
    job = jobs.submit(trained.store, trained.settings, request)
    engines.unregister("tiny")  # registered where it was submitted, not where it runs
    run_jobs(trained)
    with trained.store.session() as session:
        failed = jobs.describe(session, jobs.find(session, job["id"]))
    assert failed["status"] == "failed"
    assert failed["error"] == "unknown engine 'tiny'; use one of local, ray"
    assert tiny == [] and not (tmp_path / "out.parquet").exists()


@pytest.mark.slow  # trains an embedding model
def test_the_progress_bar_shows_the_rate_over_the_whole_run(
    trained: Trained, tmp_path: Path
) -> None:
    write_input(tmp_path / "in.csv", rows=300, bad=False)
    done = run_cli(trained.env, "batch-classify", "topics", str(tmp_path / "in.csv"), "-o",
                   str(tmp_path / "out.csv"), "--chunk-rows", "64")  # fmt: skip
    assert done.returncode == 0, done.stderr
    overall = re.search(r"in [\d.]+s \(([\d,]+) rows/s\)", done.stdout)
    shown = re.findall(r"([\d,]+) rows/s", done.stderr)
    assert overall and shown, (done.stdout, done.stderr)
    # the bar began a little before the summary's clock: never more than the summary says, as
    # a rate over the last chunks alone (which leaves the model's loading out) would be
    assert 0 < number(shown[-1]) <= 1.2 * number(overall.group(1)) + 5


def number(text: str) -> float:
    return float(text.replace(",", ""))
