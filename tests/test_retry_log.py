"""A background loop that keeps failing logs one line when it starts failing, a reminder now and
then, and one line when it works again: never a traceback per try."""

from __future__ import annotations

import logging

import pytest

from textloop.retry_log import RetryLog


def test_a_failing_streak_is_one_line_and_its_end_another(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("textloop.test-retry")
    retries = RetryLog(log, "refreshing keys", remind=3600)
    with caplog.at_level(logging.WARNING, logger="textloop.test-retry"):
        for _ in range(50):
            retries.failed(RuntimeError("database is locked\n[SQL: UPDATE api_keys ...]"))
        retries.succeeded()
        retries.succeeded()
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "refreshing keys failed (1 try so far), retrying: RuntimeError: database is locked",
        "refreshing keys works again after 50 failed tries",
    ]
    assert all(record.exc_info is None for record in caplog.records)


def test_a_long_streak_is_reminded_of_and_the_traceback_is_kept_for_debugging(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("textloop.test-retry")
    retries = RetryLog(log, "webhook delivery", remind=0)
    with caplog.at_level(logging.DEBUG, logger="textloop.test-retry"):
        retries.failed(OSError())
        retries.failed(OSError())
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "webhook delivery failed (1 try so far), retrying: OSError",
        "webhook delivery failed (2 tries so far), retrying: OSError",
    ]
    assert [r.exc_info is not None for r in caplog.records if r.levelno == logging.DEBUG] == [
        True,
        True,
    ]
