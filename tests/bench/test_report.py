"""The arithmetic of a benchmark report: latency percentiles, throughput and cost."""

import pytest

from textloop.bench.loadgen import latency_percentiles, summarize
from textloop.bench.report import DEFAULT_PRICE_PER_HOUR, PhaseReport, cost_per_million
from textloop.bench.server_stats import Usage


def test_percentiles_are_in_milliseconds_and_interpolate_between_samples() -> None:
    latencies = [i / 1000 for i in range(1, 101)]  # 1 ms .. 100 ms

    p50, p95, p99 = latency_percentiles(latencies)

    assert (p50, p95, p99) == pytest.approx((50.5, 95.05, 99.01))


def test_no_successful_request_has_no_percentiles() -> None:
    assert latency_percentiles([]) == (None, None, None)


def test_throughput_counts_only_successes_and_requests_count_errors_too() -> None:
    result = summarize(concurrency=4, latencies=[0.01] * 30, errors=10, elapsed=2.0)

    assert (result.requests, result.errors, result.throughput) == (40, 10, 15.0)
    assert result.p50_ms == result.p99_ms == pytest.approx(10.0)


def test_a_million_requests_cost_the_instance_hours_they_take() -> None:
    # 100 requests a second: a million take 10,000 s, 2.78 hours, at $0.36 an hour $1.00
    assert cost_per_million(0.36, 100.0) == pytest.approx(1.0)
    assert cost_per_million(DEFAULT_PRICE_PER_HOUR, 0.0) is None


def test_a_phase_report_is_flat_plain_data_for_json() -> None:
    load = summarize(concurrency=1, latencies=[0.002, 0.004], errors=0, elapsed=1.0)

    usage = Usage(cpu_percent=150.0, rss_mib=200.0, cpu_seconds=0.003)
    measured = PhaseReport.of(load, usage, 0.72, vcpus=2).to_dict()
    unmeasured = PhaseReport.of(load, None, 0.72, vcpus=2).to_dict()

    assert measured["concurrency"] == 1 and measured["throughput"] == 2.0
    # 3 ms of CPU over two requests, at $0.36 a vCPU-hour: 1.5 ms, $0.15 per million
    assert measured["server_cpu_ms_per_request"] == pytest.approx(1.5)
    assert measured["cost_per_million"] == pytest.approx(0.15)
    assert measured["cost_basis"] == "server CPU time"
    # without the server's CPU: the machine's hours at the throughput (2 a second)
    assert unmeasured["cost_per_million"] == pytest.approx(100.0)
    assert unmeasured["cost_basis"] == "throughput"
    assert (measured["server_cpu_percent"], measured["server_rss_mib"]) == (150.0, 200.0)
    assert (unmeasured["server_cpu_percent"], unmeasured["server_rss_mib"]) == (None, None)
