"""Proposing a new label in the portal: a reviewer types a name on the task page (the task is
saved "none of these", undo takes both back), and an admin approves or rejects each name on the
"Proposed labels" page; every change is audited, and a name that is no new label is refused."""

from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.serving.portal import sign_in, token_in
from textloop.review.assignments import claim_next, decide
from textloop.security.accounts import create_user
from textloop.store import Store
from textloop.store.queries import get_classifier, get_or_create_classifier
from textloop.store.stored_labels import Mode
from textloop.store.tables import AuditEntry, LabelProposal, ReviewTask, TaskSource, User

REVIEWER, ADMIN = "rita@example.com", "admin@example.com"


@pytest.fixture
def out_of_scope(people: Store) -> Store:
    """The three tasks of ``people``, each one the model found out of scope."""
    with people.session() as session:
        for task in session.scalars(select(ReviewTask)):
            task.source = TaskSource.OUT_OF_SCOPE
    return people


def task_of(page: object) -> str:
    return str(page.url).split("?")[0].rsplit("/", 1)[-1]  # type: ignore[attr-defined]


def propose(client: TestClient, page: object, name: str) -> object:
    """Send the task page's "propose a new label" form; returns the answer."""
    return client.post(
        f"/tasks/{task_of(page)}/propose",
        data={"proposed_label": name, "csrf_token": token_in(page.text)},  # type: ignore[attr-defined]
    )


def task_row(store: Store, task_id: str) -> tuple[str, str | None]:
    with store.session() as session:
        task = session.get(ReviewTask, task_id)
        assert task is not None
        return task.status, task.final_label


def proposals(store: Store) -> list[tuple[str, str]]:
    with store.session() as session:
        return [(p.name, p.status) for p in session.scalars(select(LabelProposal))]


def audited(store: Store, action: str) -> list[tuple[str | None, int | None, dict[str, object]]]:
    with store.session() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return [(row.target, row.status, row.details) for row in rows]


def proposed_by_rita(client: TestClient, name: str = "billing") -> str:
    """Rita proposes ``name`` on her next task; returns the task's id."""
    sign_in(client, REVIEWER)
    page = client.get("/queues/topics/next")
    answer = propose(client, page, name)
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    return task_of(page)


def test_the_task_page_offers_a_new_label_beside_the_labels(
    client: TestClient, out_of_scope: Store
) -> None:
    sign_in(client, REVIEWER)
    page = client.get("/queues/topics/next").text
    form = page.split('id="propose"')[1].split("</form>")[0]
    assert 'action="/tasks/' in page.split('id="propose"')[0].rsplit("<form", 1)[1]
    assert 'name="csrf_token"' in form and 'name="proposed_label"' in form
    assert "No label fits? Propose a new label" in form and 'maxlength="200"' in form
    assert "<kbd>p</kbd> propose a new label" in page
    assert page.index('id="propose"') > page.index("</form>")  # not inside the decision form


def test_proposing_saves_none_of_these_with_the_name_and_undo_takes_both_back(
    client: TestClient, out_of_scope: Store
) -> None:
    sign_in(client, REVIEWER)
    first = client.get("/queues/topics/next")
    second = propose(client, first, "  billing ")
    assert task_of(second) != task_of(first)
    saved = second.text.split('id="saved"')[1].split("</div>")[0]  # type: ignore[attr-defined]
    assert "Saved: <strong>none of these, proposing “billing”</strong>" in saved
    assert task_row(out_of_scope, task_of(first)) == ("done", None)
    assert proposals(out_of_scope) == [("billing", "pending")]
    assert audited(out_of_scope, "POST /tasks/{task_id}/propose") == [
        (task_of(first), 303, {"classifier": "topics", "label": None, "proposed_label": "billing"})
    ]
    again = client.post(
        f"/tasks/{task_of(first)}/undo",
        data={"csrf_token": token_in(second.text)},  # type: ignore[attr-defined]
    )
    assert task_of(again) == task_of(first) and 'id="propose"' in again.text
    assert proposals(out_of_scope) == []
    assert task_row(out_of_scope, task_of(first)) == ("open", None)


@pytest.mark.parametrize(
    "name, message",
    [
        ("sport", "'sport' is a label of 'topics' already"),
        ("   ", "a new label needs a name"),
        ("x" * 201, "at most 200 characters"),
    ],
)
def test_a_name_that_is_no_new_label_is_refused_and_the_task_stays_open(
    client: TestClient, out_of_scope: Store, name: str, message: str
) -> None:
    sign_in(client, REVIEWER)
    page = client.get("/queues/topics/next")
    refused = propose(client, page, name)
    assert refused.status_code == 422 and message in unescape(refused.text)  # type: ignore[attr-defined]
    assert task_row(out_of_scope, task_of(page)) == ("open", None)
    assert proposals(out_of_scope) == []


def test_a_proposal_without_the_form_s_token_is_refused(
    client: TestClient, out_of_scope: Store
) -> None:
    sign_in(client, REVIEWER)
    page = client.get("/queues/topics/next")
    refused = client.post(f"/tasks/{task_of(page)}/propose", data={"proposed_label": "billing"})
    assert refused.status_code == 403 and proposals(out_of_scope) == []


def test_a_multi_label_task_offers_no_proposal(client: TestClient, out_of_scope: Store) -> None:
    with out_of_scope.session() as session:
        tags = get_or_create_classifier(session, "tags", Mode.MULTI_LABEL)
        tags.labels = ["card", "refund"]
        session.add(ReviewTask(classifier_id=tags.id, source="out_of_scope", text="a late parcel"))
    sign_in(client, REVIEWER)
    page = client.get("/queues/tags/next")
    assert 'id="decision"' in page.text and 'id="propose"' not in page.text
    refused = propose(client, page, "delivery")
    assert refused.status_code == 422 and "multi-label" in refused.text  # type: ignore[attr-defined]


def test_an_admin_sees_each_name_with_its_texts_and_approves_it(
    client: TestClient, out_of_scope: Store
) -> None:
    task = proposed_by_rita(client)
    client.post("/logout", data={"csrf_token": token_in(client.get("/").text)})
    sign_in(client, ADMIN)
    page = client.get("/admin/proposals")
    assert '<a href="/admin/proposals">Proposed labels</a>' in page.text
    section = page.text.split('id="proposal-1"')[1].split("</section>")[0]
    with out_of_scope.session() as session:
        text = session.get(ReviewTask, task).text  # type: ignore[union-attr]
    assert "“billing”" in section and "for topics" in section and text in section
    assert "Proposed 1 time by rita@example.com" in section
    assert "1 settled task would train on it" in section
    approved = client.post(
        "/admin/proposals/topics/approve",
        data={"label": "billing", "csrf_token": token_in(page.text)},
    )
    assert approved.status_code == 200 and str(approved.url).startswith(
        "http://testserver/admin/proposals?decided="
    )
    assert (
        "Approved “billing”: a label of topics now; 1 reviewed task labelled with it waits for "
        "the next retrain" in approved.text
    )
    assert 'id="no-proposals"' in approved.text
    assert task_row(out_of_scope, task) == ("done", "billing")
    with out_of_scope.session() as session:
        assert "billing" in get_classifier(session, "topics").labels
    assert audited(out_of_scope, "POST /admin/proposals/{name}/approve") == [
        ("topics", 303, {"label": "billing", "label_added": True, "relabelled": 1})
    ]


def test_an_admin_rejects_a_name_and_a_repeat_or_an_unknown_name_says_so(
    client: TestClient, out_of_scope: Store
) -> None:
    task = proposed_by_rita(client)
    with out_of_scope.session() as session:
        create_user(session, "adam@example.com", "correct horse battery", "admin")
    sign_in(client, "adam@example.com")
    token = token_in(client.get("/admin/proposals").text)
    rejected = client.post(
        "/admin/proposals/topics/reject", data={"label": "billing", "csrf_token": token}
    )
    assert "Rejected “billing” for topics: its tasks stay none of these" in rejected.text
    assert task_row(out_of_scope, task) == ("done", None) and proposals(out_of_scope) == [
        ("billing", "rejected")
    ]
    late = client.post(
        "/admin/proposals/topics/approve", data={"label": "billing", "csrf_token": token}
    )
    assert late.status_code == 409 and "was rejected" in late.text
    unknown = client.post(
        "/admin/proposals/topics/approve", data={"label": "refunds", "csrf_token": token}
    )
    assert unknown.status_code == 404 and "nobody proposed 'refunds'" in unescape(unknown.text)


def test_a_reviewer_may_neither_see_nor_decide_proposals(
    client: TestClient, out_of_scope: Store
) -> None:
    proposed_by_rita(client)
    token = token_in(client.get("/").text)
    assert client.get("/admin/proposals").status_code == 403
    refused = client.post(
        "/admin/proposals/topics/approve", data={"label": "billing", "csrf_token": token}
    )
    assert refused.status_code == 403 and proposals(out_of_scope) == [("billing", "pending")]


@pytest.mark.parametrize("action", ["approve", "reject"])
@pytest.mark.parametrize("token", [None, "not the form's token"])
def test_an_admin_decision_without_the_form_s_token_is_refused_and_changes_nothing(
    client: TestClient, out_of_scope: Store, action: str, token: str | None
) -> None:
    task = proposed_by_rita(client)
    sign_in(client, ADMIN)
    assert "“billing”" in client.get("/admin/proposals").text
    form = {"label": "billing"} if token is None else {"label": "billing", "csrf_token": token}
    refused = client.post(f"/admin/proposals/topics/{action}", data=form)
    assert refused.status_code == 403
    assert proposals(out_of_scope) == [("billing", "pending")]
    assert task_row(out_of_scope, task) == ("done", None)
    with out_of_scope.session() as session:
        assert "billing" not in get_classifier(session, "topics").labels


def test_a_conflict_over_a_proposal_shows_the_name_and_offers_it_once_approved(
    client: TestClient, out_of_scope: Store
) -> None:
    with out_of_scope.session() as session:
        get_classifier(session, "topics").review_overlap = 2
    task = proposed_by_rita(client)
    with out_of_scope.session() as session:
        admin = session.scalar(select(User.id).where(User.email == ADMIN))
        assert admin is not None
        claimed = claim_next(session, "topics", admin)
        assert claimed is not None and claimed.id == task
        assert decide(session, task, admin, None).status == "conflict"  # a plain none of these
    sign_in(client, ADMIN)
    page = client.get("/admin/conflicts").text
    votes = page.split(f'id="conflict-{task}"')[1].split("</ul>")[0]
    assert f"{REVIEWER}: <em>none of these</em>, proposing “billing”" in votes
    assert f"{ADMIN}: <em>none of these</em></li>" in votes
    assert 'aria-label="Settle with billing"' not in page  # no label yet
    client.post(
        "/admin/proposals/topics/approve", data={"label": "billing", "csrf_token": token_in(page)}
    )
    assert task_row(out_of_scope, task) == ("conflict", None)  # the admin settles it
    page = client.get("/admin/conflicts").text
    assert 'aria-label="Settle with billing"' in page
