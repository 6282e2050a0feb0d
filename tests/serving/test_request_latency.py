"""The request latency histogram keeps its series bounded whatever clients send."""

from textloop.serving.request_latency import BUCKETS, RequestLatency


def test_methods_a_client_makes_up_share_one_series() -> None:
    latency = RequestLatency()
    for n in range(100):
        latency.observe("/healthz", f"BREW{n}", 0.0002)
    latency.observe("/healthz", "GET", 20.0)
    (family,) = latency.collect()
    counts = {s.labels["method"]: s.value for s in family.samples if s.name.endswith("_count")}
    assert counts == {"other": 100, "GET": 1}


def test_observations_land_in_the_first_bucket_that_holds_them() -> None:
    latency = RequestLatency()
    latency.observe("/v1/classifiers/{name}/classify", "POST", 0.0007)
    (family,) = latency.collect()
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name.endswith("_bucket")}
    assert len(buckets) == len(BUCKETS) + 1  # and +Inf
    assert (buckets["0.0005"], buckets["0.001"], buckets["+Inf"]) == (0, 1, 1)
