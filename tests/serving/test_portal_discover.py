"""The admin's "Discover labels" page: clusters of a classifier's doubted texts, each with a form
that adds it as a label and sends its texts to review; admins only, CSRF on the form, and the
confirmation read back from what was recorded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Templates
from tests.review.discovered import COOKING, TRAVEL, answer, deploy_and_doubt, model_cache
from tests.serving.portal import PASSWORD, sign_in
from textloop.config import Settings
from textloop.review.discovered_labels import add_label_from_cluster
from textloop.security.accounts import create_user
from textloop.serving.app import create_app
from textloop.store import Store
from textloop.store.queries import get_classifier, get_or_create_classifier
from textloop.store.tables import Prediction, ReviewTask

LABELS = ["finance", "sport", "weather"]


@pytest.fixture
def client(
    store: Store, settings: Settings, corpus_csv: Path, templates: Templates
) -> Iterator[TestClient]:
    """``topics`` deployed, every answer doubted, cooking and travel questions answered; an
    admin and a reviewer."""
    templates.apply(store, settings, corpus_csv, deploy_and_doubt)
    answer(store, model_cache(settings), [*COOKING, *TRAVEL])
    with store.session() as session:
        create_user(session, "admin@example.com", PASSWORD, "admin")
        create_user(session, "rita@example.com", PASSWORD, "reviewer")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def clusters_on(page: str) -> dict[str, dict[str, str]]:
    """Each cluster's form fields (hidden ones and the prefilled label; not the CSRF token), by
    cluster key."""
    forms = re.findall(
        r'<form method="post" action="/admin/discover/topics/labels".*?</form>', page, re.S
    )
    found = {}
    for form in forms:
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
        found[fields["cluster"]] = {
            name: unescape(value) for name, value in fields.items() if name != "csrf_token"
        }
    return found


def test_an_admin_sees_the_clusters_and_adds_one_as_a_label(
    client: TestClient, store: Store
) -> None:
    token = sign_in(client, "admin@example.com")
    page = client.get("/admin/discover?classifier=topics&since=7d")
    assert page.status_code == 200
    assert '<a href="/admin/discover">Discover labels</a>' in page.text
    forms = clusters_on(page.text)
    assert len(forms) >= 2
    with store.session() as session:
        texts_of = dict(session.execute(select(ReviewTask.prediction_id, ReviewTask.text)).all())
    clusters = {
        key: [texts_of[i] for i in form["predictions"].split()] for key, form in forms.items()
    }
    key = next(key for key, texts in clusters.items() if set(texts) <= set(COOKING))
    cooking, ids = forms[key], forms[key]["predictions"].split()
    assert any(text in page.text for text in clusters[key])  # its texts are on the page
    assert cooking["label"]  # prefilled with the cluster's two best keywords
    assert cooking["since"] == "7d"

    done = client.post(
        "/admin/discover/topics/labels",
        data={**cooking, "label": "baking", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/discover?classifier=topics&added=baking&since=7d"
    after = client.get(done.headers["location"]).text
    assert (
        f"Added “baking” to topics: {len(ids)} texts to review suggesting it (0 new tasks, "
        f"{len(ids)} open tasks now suggest it, 0 left as they were)"
    ) in after
    assert cooking["cluster"] not in clusters_on(after)  # in review now: not discovered again
    with store.session() as session:
        assert get_classifier(session, "topics").labels == [*LABELS, "baking"]
        suggested = session.scalars(
            select(ReviewTask.suggested_label).where(ReviewTask.prediction_id.in_(ids))
        ).all()
    assert suggested == ["baking"] * len(ids)


def test_the_form_refuses_a_missing_token_a_label_in_use_and_an_empty_name(
    client: TestClient, store: Store
) -> None:
    token = sign_in(client, "admin@example.com")
    form = next(iter(clusters_on(client.get("/admin/discover?classifier=topics").text).values()))
    assert client.post("/admin/discover/topics/labels", data=form).status_code == 403
    for label, message in (
        ("sport", "&#x27;sport&#x27; is a label of &#x27;topics&#x27; already"),
        ("   ", "a new label needs a name"),
    ):
        refused = client.post(
            "/admin/discover/topics/labels", data={**form, "label": label, "csrf_token": token}
        )
        assert refused.status_code == 422 and message in refused.text
    refused = client.post(
        "/admin/discover/topics/labels",
        data={**form, "predictions": "", "label": "baking", "csrf_token": token},
    )
    assert refused.status_code == 422 and "names no cluster" in refused.text
    with store.session() as session:
        assert get_classifier(session, "topics").labels == LABELS
        assert set(session.scalars(select(ReviewTask.source))) == {"implicit"}


def test_reviewers_are_refused_the_page_and_the_form(client: TestClient, store: Store) -> None:
    token = sign_in(client, "rita@example.com")
    page = client.get("/admin/discover?classifier=topics")
    assert page.status_code == 403 and "this page is for admins" in page.text
    refused = client.post(
        "/admin/discover/topics/labels",
        data={"label": "baking", "predictions": "x", "csrf_token": token},
    )
    assert refused.status_code == 403
    with store.session() as session:
        assert get_classifier(session, "topics").labels == LABELS


def test_an_address_alone_confirms_nothing(client: TestClient) -> None:
    sign_in(client, "admin@example.com")
    page = client.get("/admin/discover?classifier=topics&added=sport").text
    assert 'id="confirmed"' not in page


def test_the_page_asks_which_classifier_and_names_one_that_cannot_be_discovered(
    client: TestClient, store: Store
) -> None:
    sign_in(client, "admin@example.com")
    with store.session() as session:
        get_or_create_classifier(session, "fresh")  # a second classifier, with no model
    chooser = client.get("/admin/discover").text
    assert '<option value="">choose one</option>' in chooser and "Cluster 1" not in chooser
    missing = client.get("/admin/discover?classifier=fresh")
    assert (
        missing.status_code == 404
        and "classifier &#x27;fresh&#x27; has no deployed model" in missing.text
    )
    unknown = client.get("/admin/discover?classifier=nope")
    assert unknown.status_code == 404
    assert client.get("/admin/discover?classifier=topics&limit=5000").status_code == 422
    assert client.get("/admin/discover?classifier=topics&since=1y").status_code == 422


def test_reviewers_see_the_new_label_first_on_the_cluster_s_tasks(
    client: TestClient, store: Store
) -> None:
    """The model gave the new label no score: it is offered under key 1 all the same, as the
    suggestion `Enter` approves; a text that had no task says why it is in the queue."""
    with store.session() as session:
        ids = dict(session.execute(select(Prediction.text, Prediction.id)).all())
        tasks = session.scalars(select(ReviewTask)).all()
        for task in tasks:  # travel questions reviewed already; one cooking text's task gone
            if task.text in TRAVEL:
                task.status, task.final_label = "done", "sport"
        session.delete(next(task for task in tasks if task.text == COOKING[0]))
    with store.session() as session:
        add_label_from_cluster(session, "topics", "baking", [ids[text] for text in COOKING])
    token = sign_in(client, "rita@example.com")
    seen = {}
    for _ in COOKING:
        page = client.get("/queues/topics/next").text
        text = re.search(r'id="task-text"[^>]*>(.*?)<', page, re.S)
        assert text is not None
        seen[unescape(text.group(1)).strip()] = page
        task_id = re.search(r'action="/tasks/(\w+)"', page)
        assert task_id is not None
        client.post(f"/tasks/{task_id.group(1)}", data={"label": "baking", "csrf_token": token})
    assert set(seen) == set(COOKING)
    for page in seen.values():
        assert re.search(r'value="baking" data-key="1"[^>]*class="approve"', page)
    assert "one of a cluster of texts an admin made a new label of" in seen[COOKING[0]]
    with store.session() as session:
        finals = session.scalars(select(ReviewTask.final_label).where(ReviewTask.text.in_(COOKING)))
        assert set(finals) == {"baking"}
