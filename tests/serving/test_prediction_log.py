"""The prediction log's watermark: a reader waits for the entries queued before it, never for
the queue to empty; the journal holds about what is queued, in segments, and loses nothing."""

from __future__ import annotations

import os
from pathlib import Path

from tests.serving.held import HeldWrites
from tests.serving.test_online import entry_for, stored
from textloop.serving.journal import Journal, recover
from textloop.serving.prediction_log import PredictionLog
from textloop.store import Store


def test_a_reader_waits_for_the_entries_before_it_and_not_for_those_after(
    deployed: Store,
) -> None:
    log = PredictionLog(deployed)
    first = entry_for(deployed, ["first"])
    assert log.offer(first)
    assert log.flush()
    held = HeldWrites(log)
    held.hold()
    mark = log.mark()  # a request arrives: everything so far is stored
    second = entry_for(deployed, ["second"])
    assert log.offer(second)
    assert log.wait_stored(mark, timeout=0)  # what arrives after it is not waited for
    assert log.wait_for([first.predictions[0]["id"]], timeout=0)
    assert log.wait_for(["never answered here"], timeout=0)
    assert not log.wait_for([second.predictions[0]["id"]], timeout=0.05)
    assert not log.wait_stored(log.mark(), timeout=0.05)
    held.release()
    assert log.wait_for([second.predictions[0]["id"]])
    log.close()
    assert stored(deployed) == 2


def test_the_lag_counts_the_rows_waiting_and_the_age_of_the_oldest(deployed: Store) -> None:
    log = PredictionLog(deployed, limit=10)
    held = HeldWrites(log)
    assert log.lag().rows == 0 and log.lag().oldest_seconds == 0
    held.hold()
    assert log.offer(entry_for(deployed, ["a", "b", "c"]))
    lag = log.lag()
    assert (lag.rows, lag.limit, lag.full) == (3, 10, False)
    assert lag.oldest_seconds > 0
    held.release()
    assert log.flush()
    assert log.lag().rows == 0 and log.stored == 3
    log.close()


def test_the_journal_drops_each_segment_once_every_entry_in_it_is_stored(
    deployed: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "journal"
    log = PredictionLog(deployed, Journal(folder, segment_bytes=2_000))
    held = HeldWrites(log)
    held.hold()
    for number in range(30):
        assert log.offer(entry_for(deployed, [f"text {number}"]))
    assert len(list(folder.iterdir())) > 3  # many segments while nothing is stored
    held.release()
    assert log.flush()
    assert log.offer(entry_for(deployed, ["one more"]))
    assert log.flush()
    files = list(folder.iterdir())
    assert len(files) == 1 and files[0].stat().st_size == 0  # only the open one, emptied
    log.close()
    assert not list(folder.iterdir())


def test_a_killed_servers_segments_are_all_recovered_once(deployed: Store, tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    journal = Journal(folder, segment_bytes=2_000)
    log = PredictionLog(deployed, journal)
    HeldWrites(log).hold()  # as if the process died before its writer stored any
    for number in range(30):
        assert log.offer(entry_for(deployed, [f"text {number}"]))
    segments = sorted(folder.iterdir())
    assert len(segments) > 3
    dead = f"{2**22 + 1}"  # a pid no process can have: the writer is gone
    for path in segments:
        os.link(path, folder / path.name.replace(str(os.getpid()), dead, 1))
        path.unlink()
    assert recover(folder, deployed) == 30
    assert stored(deployed) == 30 and not list(folder.iterdir())


def test_a_dead_servers_journal_with_this_servers_pid_is_recovered(
    deployed: Store, tmp_path: Path
) -> None:
    """A restarted container's server often gets its predecessor's pid (1) again: the journal
    names say when their process started, so the predecessor's is not taken for its own."""
    folder = tmp_path / "journal"
    journal = Journal(folder)
    entry = entry_for(deployed, ["answered before the restart"])
    journal.append(entry.predictions, entry.tasks, 1)
    pid = os.getpid()
    assert journal.path.name.startswith(f"{pid}@")  # this process, with its start time
    assert recover(folder, deployed) == 0  # its own journal: alive
    journal.path.rename(folder / f"{pid}@1-deadbeef-000000.jsonl")  # same pid, started before
    assert recover(folder, deployed) == 1
    assert stored(deployed) == 1
    journal.close()
