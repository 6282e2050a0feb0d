"""The probe's low and informational findings: each answered as the docs promise, not with a 500
or a leak."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.security.test_access import issue
from tests.serving.conftest import Keys, settle
from textloop.errors import InvalidRequest
from textloop.store import Store
from textloop.store.queries import get_or_create_classifier
from textloop.store.tables import Classifier, Job, ReviewTask

# what these check does not depend on the database: SQLite alone keeps CI short


def test_a_classifier_name_with_a_trailing_newline_is_refused(store: Store) -> None:
    with store.session() as session:
        try:
            get_or_create_classifier(session, "trailing\n")
        except InvalidRequest as refused:
            assert "is invalid" in refused.message
        else:
            raise AssertionError("a name ending in a newline was accepted")
        assert session.scalar(select(func.count()).select_from(Classifier)) == 0


def test_a_limited_key_reads_only_its_classifiers_metrics(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    with deployed.session() as session:
        get_or_create_classifier(session, "secret-project")
    limited = {"x-api-key": issue(deployed, ["metrics"], ["other"])}
    text = client.get("/metrics", headers=limited).text
    assert "topics" not in text and "secret-project" not in text
    everything = client.get("/metrics", headers={"x-api-key": issue(deployed, ["metrics"])}).text
    assert 'classifier="topics"' in everything


def test_the_last_day_of_the_calendar_is_a_date_not_a_500(client: TestClient, keys: Keys) -> None:
    admin = keys.header(keys.admin)
    audit = client.get("/v1/audit", params={"until": "9999-12-31"}, headers=admin)
    assert audit.status_code == 200, audit.text
    backfill = client.post(
        "/v1/classifiers/topics/backfill", json={"until": "9999-12-31"}, headers=admin
    )
    assert backfill.status_code == 202, backfill.text
    early = client.get("/v1/audit", params={"since": "0001-01-01T00:00:00+05:00"}, headers=admin)
    assert early.status_code == 422 and "within 0001-9999" in early.text


def test_another_tenants_ids_are_not_found_not_forbidden(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    answer = client.post(
        "/v1/classifiers/topics/classify", json={"text": "goal"}, headers=keys.header(keys.admin)
    )
    prediction = answer.json()["prediction_id"]
    with deployed.session() as session:
        job = Job(kind="retrain", classifier_id=1, payload={}, status="queued")
        session.add(job)
        session.flush()
        job_id = job.id
    settle(client)
    other = {"x-api-key": issue(deployed, ["admin"], ["other"])}
    for path in (f"/v1/jobs/{job_id}", f"/v1/lineage/predictions/{prediction}"):
        refused = client.get(path, headers=other)
        assert refused.status_code == 404, (path, refused.text)
        assert "topics" not in refused.text


def test_five_reports_of_one_prediction_ask_a_reviewer_once(
    client: TestClient, keys: Keys, deployed: Store
) -> None:
    answer = client.post(
        "/v1/classifiers/topics/classify",
        json={"text": "the striker scored"},
        headers=keys.header(keys.classify),
    )
    prediction = answer.json()["prediction_id"]
    settle(client)
    receipts = [
        client.post(
            "/v1/classifiers/topics/feedback",
            json={"prediction_id": prediction, "label": "finance"},
            headers=keys.header(keys.feedback),
        ).json()
        for _ in range(5)
    ]
    assert len({r["feedback_id"] for r in receipts}) == 5
    assert len({r["review_task_id"] for r in receipts}) == 1
    with deployed.session() as session:
        explicit = (
            select(func.count()).select_from(ReviewTask).where(ReviewTask.source == "explicit")
        )
        assert session.scalar(explicit) == 1


def test_json_the_decoder_gives_up_on_is_malformed_json(client: TestClient, keys: Keys) -> None:
    headers = {**keys.header(keys.classify), "content-type": "application/json"}
    for body in ("[" * 100_000 + "]" * 100_000, '{"text": "a", "top_k": ' + "9" * 5_000 + "}"):
        answer = client.post("/v1/classifiers/topics/classify", content=body, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "malformed_json"


def test_no_redirect_is_built_from_the_host_header(client: TestClient, keys: Keys) -> None:
    answer = client.get(
        "/v1/classifiers/",
        headers={**keys.header(keys.admin), "host": "evil.example"},
        follow_redirects=False,
    )
    assert answer.status_code == 404 and "location" not in answer.headers


def test_upload_errors_name_the_upload_not_a_server_path(client: TestClient, keys: Keys) -> None:
    answer = client.post(
        "/v1/classifiers/topics/datasets",
        content=b"PAR1 not really",
        headers={**keys.header(keys.admin), "content-type": "application/vnd.apache.parquet"},
    )
    assert answer.status_code == 422
    message = answer.json()["error"]["message"]
    assert message.startswith("upload: cannot read as parquet") and "/tmp" not in message
    assert "upload-" not in message


def test_a_label_named_skip_can_be_chosen_and_a_skip_is_still_a_skip(
    client: TestClient, people: Store
) -> None:
    from tests.serving.test_review_api import reviewer_key
    from textloop.store.queries import get_classifier
    from textloop.store.tables import ReviewDecision

    with people.session() as session:
        get_classifier(session, "topics").labels = ["skip", "sport", "weather"]
    rita = reviewer_key(people, "rita@example.com")
    answers = []
    for body in ({"label": "skip"}, {"skip": True}):
        task = client.post("/v1/classifiers/topics/review/claim", headers=rita).json()
        decided = client.post(f"/v1/review/tasks/{task['id']}/decision", json=body, headers=rita)
        assert decided.status_code == 200, decided.text
        answers.append(decided.json())
    assert (answers[0]["status"], answers[0]["final_label"]) == ("done", "skip")  # a real label
    assert answers[1]["status"] == "open"  # skipped: still open for someone else
    with people.session() as session:
        stored = dict(session.execute(select(ReviewDecision.task_id, ReviewDecision.label)).all())
    assert stored == {answers[0]["id"]: "skip", answers[1]["id"]: ""}
    both = client.post(
        f"/v1/review/tasks/{answers[1]['id']}/decision",
        json={"label": "sport", "skip": True},
        headers=rita,
    )
    assert both.status_code == 422


def test_a_nul_in_a_path_or_query_is_refused_before_any_lookup(
    client: TestClient, keys: Keys
) -> None:
    admin = keys.header(keys.admin)
    for path in ("/v1/classifiers/a%00b", "/v1/audit?actor=x%00y", "/v1/jobs/1?x=%00"):
        answer = client.get(path, headers=admin)
        assert answer.status_code == 422, (path, answer.text)
        assert "NUL" in answer.json()["error"]["message"]
