"""``/metrics`` for Prometheus and the drift reports of a classifier over HTTP."""

import os

from fastapi.testclient import TestClient
from sqlalchemy import select

from textloop.security.api_keys import create_api_key
from textloop.store import Store
from textloop.store.tables import DriftReport, ModelVersion, utcnow


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

    scraped = client.get("/metrics", headers=scraper)
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = scraped.text.splitlines()
    assert 'textloop_predictions_total{classifier="topics"} 2' in lines
    assert 'textloop_production_version{classifier="topics"} 1' in lines
    assert 'textloop_drift_detected{classifier="topics"} 1' in lines
    assert 'textloop_drift_measure{classifier="topics",measure="embedding_auc"} 0.97' in lines
    assert 'textloop_drift_threshold{classifier="topics",measure="embedding_auc"} 0.75' in lines
    assert "# TYPE textloop_predictions_total counter" in lines
    me = f'pid="{os.getpid()}"'  # the serving figures are the answering process's own
    assert f"textloop_model_call_texts_total{{{me}}} 2" in lines
    assert f"textloop_predictions_queued{{{me}}} 0" in lines  # stored before the scrape

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
