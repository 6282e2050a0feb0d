"""``/metrics`` for Prometheus and the drift reports of a classifier over HTTP."""

import os
import re
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.serving.conftest import settle
from textloop.monitoring.metrics import HELP
from textloop.security.api_keys import create_api_key
from textloop.serving.request_latency import NAME as LATENCY
from textloop.serving.routes.classify import LeanClassify
from textloop.store import Store
from textloop.store.tables import DriftReport, ModelVersion, utcnow

DOCS = Path(__file__).parents[2] / "docs"


def test_metrics_count_predictions_and_show_the_newest_drift_report(
    client: TestClient, deployed: Store, keys
) -> None:
    with deployed.session() as session:
        scraper = {"x-api-key": create_api_key(session, ["metrics"]).key}
        model = session.scalars(select(ModelVersion)).one()
        for drifted in (False, True):
            session.add(
                DriftReport(
                    classifier_id=model.classifier_id,
                    model_version_id=model.id,
                    window_size=500,
                    window_end=utcnow(),
                    measures={"embedding_auc": 0.97 if drifted else 0.5},
                    breached=["embedding_auc"] if drifted else [],
                    drifted=drifted,
                )
            )
        session.commit()
    texts = {"texts": ["the striker scored a goal", "rain and wind tomorrow"]}
    client.post("/v1/classifiers/topics/classify", json=texts, headers=keys.header(keys.classify))
    settle(client)  # a scrape waits for nothing: the predictions are stored within a moment

    scraped = client.get("/metrics", headers=scraper)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = scraped.text.splitlines()
    assert 'textloop_predictions_total{classifier="topics"} 2.0' in lines
    assert 'textloop_production_version{classifier="topics"} 1.0' in lines
    assert 'textloop_drift_detected{classifier="topics"} 1.0' in lines
    assert 'textloop_drift_measure{classifier="topics",measure="embedding_auc"} 0.97' in lines
    assert 'textloop_drift_threshold{classifier="topics",measure="embedding_auc"} 0.75' in lines
    assert "# TYPE textloop_predictions_total counter" in lines
    me = f'pid="{os.getpid()}"'  # the serving figures are the answering process's own
    assert f"textloop_model_call_texts_total{{{me}}} 2.0" in lines
    assert f"textloop_predictions_queued{{{me}}} 0.0" in lines
    assert f"textloop_predictions_stored_total{{{me}}} 2.0" in lines
    assert f"textloop_predictions_oldest_seconds{{{me}}} 0.0" in lines

    assert client.get("/metrics").status_code == 401
    refused = client.get("/metrics", headers=keys.header(keys.classify))
    assert refused.status_code == 403 and "metrics" in refused.json()["error"]["message"]


def test_drift_reports_are_listed_newest_first_with_the_settings(
    client: TestClient, deployed: Store, keys
) -> None:
    admin = keys.header(keys.admin)
    empty = client.get("/v1/classifiers/topics/drift", headers=admin).json()
    assert (empty["window"], empty["reports"]) == (500, [])
    assert empty["thresholds"]["embedding_auc"] == 0.75
    assert client.get("/v1/classifiers/nope/drift", headers=admin).status_code == 404
    assert (
        client.get("/v1/classifiers/topics/drift", headers=keys.header(keys.review)).status_code
        == 403
    )


def test_the_exposition_parses_and_follows_prometheus_naming(
    client: TestClient, deployed: Store, keys
) -> None:
    """The whole scrape, read by ``prometheus_client``'s own parser: counters end ``_total``,
    durations are a ``_seconds`` histogram, and every route's requests are timed under its
    template, the common classify request (answered by ``LeanClassify``) included."""
    with deployed.session() as session:
        scraper = {"x-api-key": create_api_key(session, ["metrics"]).key}
    lean = next(r for r in client.app.router.routes if isinstance(r.app, LeanClassify))
    handed_on = Counted(lean.app.general)
    lean.app.general = handed_on
    classify = keys.header(keys.classify)
    for text in ("the striker scored a goal", "rain and wind tomorrow"):
        answer = client.post(
            "/v1/classifiers/topics/classify", json={"text": text}, headers=classify
        )
        assert answer.status_code == 200
    assert handed_on.calls == 0  # the lean path answered both
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/classifiers/topics/nothing-here").status_code == 404
    assert client.request("BREW", "/healthz").status_code == 405

    text = client.get("/metrics", headers=scraper).text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert {f.type for f in families.values()} <= {"counter", "gauge", "histogram"}  # no strays
    typed = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE))
    assert all(name.endswith("_total") == (kind == "counter") for name, kind in typed.items())
    durations = [name for name, kind in typed.items() if kind == "histogram"]
    durations += [name for name in typed if re.search("duration|latency|time", name)]
    assert durations and all(name.endswith("_seconds") for name in durations)

    latency = families["textloop_http_request_duration_seconds"]
    counts = {
        (s.labels["route"], s.labels["method"]): s.value
        for s in latency.samples
        if s.name.endswith("_count")
    }
    assert counts == {
        ("/v1/classifiers/{name}/classify", "POST"): 2,
        ("/healthz", "GET"): 1,
        ("/healthz", "other"): 1,  # a method a client made up is not a label of its own
        ("unmatched", "GET"): 1,  # nor is a path no route answers
    }
    classified = [
        s
        for s in latency.samples
        if s.name.endswith("_bucket") and s.labels["route"] == "/v1/classifiers/{name}/classify"
    ]
    assert [s.labels["le"] for s in classified][-1] == "+Inf" and classified[-1].value == 2
    assert [s.value for s in classified] == sorted(s.value for s in classified)  # cumulative
    assert {s.labels["pid"] for s in latency.samples} == {str(os.getpid())}


def test_every_metric_is_documented() -> None:
    documented = (DOCS / "api.md").read_text()
    for name in [*HELP, LATENCY]:
        assert f"`{name}`" in documented, name


class Counted:
    """An ASGI app that counts the requests it is handed, and answers them as ``app`` does."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await self.app(scope, receive, send)
