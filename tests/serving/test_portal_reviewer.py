"""The reviewer's task page: what was saved and how to undo it, "none of these", their recent
decisions, progress and context, the labels they use most, and the classifier's guidelines."""

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.serving.portal import sign_in, token_in
from textloop.review.assignments import LEASE
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import ReviewDecision, ReviewTask


def task_of(page: object) -> str:
    return str(page.url).split("?")[0].rsplit("/", 1)[-1]  # type: ignore[attr-defined]


def decide(client: TestClient, page: object, **form: str) -> object:
    """Submit the task page's form as its buttons do; returns the next page."""
    return client.post(
        f"/tasks/{task_of(page)}",
        data={**form, "csrf_token": token_in(page.text)},  # type: ignore[attr-defined]
    )


def test_the_next_page_says_what_was_saved_and_undo_brings_the_task_back(
    client: TestClient, people: Store
) -> None:
    sign_in(client, "rita@example.com")
    first = client.get("/queues/topics/next")
    second = decide(client, first, label="finance")
    assert task_of(second) != task_of(first)
    saved = second.text.split('id="saved"')[1].split("</div>")[0]
    assert 'role="status"' in second.text and "Saved: <strong>finance</strong>" in saved
    assert f'action="/tasks/{task_of(first)}/undo"' in saved
    again = client.post(f"/tasks/{task_of(first)}/undo", data={"csrf_token": token_in(second.text)})
    assert task_of(again) == task_of(first) and 'id="decision"' in again.text
    with people.session() as session:
        task = session.get(ReviewTask, task_of(first))
        assert task is not None and (task.status, task.final_label) == ("open", None)
        assert session.scalars(select(ReviewDecision)).all() == []
    decide(client, again, label="sport")
    with people.session() as session:
        task = session.get(ReviewTask, task_of(first))
        assert task is not None and (task.status, task.final_label) == ("done", "sport")


def test_none_of_these_is_a_decision_skip_is_not(client: TestClient, people: Store) -> None:
    sign_in(client, "rita@example.com")
    first = client.get("/queues/topics/next")
    assert 'value="none"' in first.text and "<kbd>n</kbd> None of these" in first.text
    second = decide(client, first, action="none")
    assert "Saved: <strong>none of these</strong>" in second.text
    third = decide(client, second, action="skip")
    assert "Saved: <strong>skipped</strong>" in third.text
    with people.session() as session:
        rows = {
            task.text[-6:]: (task.status, task.final_label, label)
            for task, label in session.execute(
                select(ReviewTask, ReviewDecision.label).join(
                    ReviewDecision, ReviewDecision.task_id == ReviewTask.id
                )
            )
        }
    assert rows == {"part 0": ("done", None, None), "part 1": ("open", None, "")}


def test_a_form_with_no_label_and_no_action_is_refused_and_records_nothing(
    client: TestClient, people: Store
) -> None:
    sign_in(client, "rita@example.com")
    page = client.get("/queues/topics/next")
    refused = decide(client, page, label_search="  ")
    assert refused.status_code == 422 and "none of these" in refused.text  # type: ignore[attr-defined]
    with people.session() as session:
        assert session.scalars(select(ReviewDecision)).all() == []


def test_my_recent_decisions_can_be_revised(client: TestClient, people: Store) -> None:
    sign_in(client, "rita@example.com")
    assert "You have not decided any topics task yet" in client.get("/queues/topics/mine").text
    first = client.get("/queues/topics/next")
    decide(client, decide(client, first, label="weather"), action="none")
    mine = client.get("/queues/topics/mine")
    rows = mine.text.split('id="decisions"')[1]
    assert rows.index("<em>none of these</em>") < rows.index("weather")  # newest first
    revised = client.post(f"/tasks/{task_of(first)}/undo", data={"csrf_token": token_in(mine.text)})
    assert task_of(revised) == task_of(first) and "weather" not in revised.text.split("<ol")[0]


def test_nobody_undoes_another_reviewers_decision(client: TestClient, people: Store) -> None:
    sign_in(client, "admin@example.com")
    first = client.get("/queues/topics/next")
    decide(client, first, label="finance")
    client.cookies.clear()
    token = sign_in(client, "rita@example.com")
    refused = client.post(f"/tasks/{task_of(first)}/undo", data={"csrf_token": token})
    assert refused.status_code == 422 and "nothing to undo" in refused.text
    with people.session() as session:
        task = session.get(ReviewTask, task_of(first))
        assert task is not None and task.final_label == "finance"


def test_the_task_page_says_why_the_task_is_here_and_how_much_is_left(
    client: TestClient, people: Store
) -> None:
    sign_in(client, "rita@example.com")
    page = client.get("/queues/topics/next").text
    assert "3 left for you · 0 done today" in page
    assert "Here because the model was unsure: confidence 0.45, below the threshold 0.50" in page
    queues = client.get("/").text
    assert "<th>left for you</th>" in queues


def test_the_labels_a_reviewer_picks_most_fill_the_keys_after_the_model_s(
    client: TestClient, people: Store
) -> None:
    with people.session() as session:  # 12 labels: only some fit under the keys
        get_classifier(session, "topics").labels = sorted(
            ["sport", "finance", "weather", *(f"extra_{n:02d}" for n in range(9))]
        )
    sign_in(client, "rita@example.com")
    page = client.get("/queues/topics/next")
    assert "<kbd>9</kbd> extra_07" in page.text  # alphabetical, before any decision
    page = decide(client, page, label="weather")
    page = decide(client, page, label="weather")
    assert "<kbd>2</kbd> weather" in page.text  # after the model's suggestion, "sport"
    assert "Extra 07" not in page.text.split("<ol")[1].split("</ol>")[0]
    assert '<span class="readable">Extra 00</span>' in page.text  # readable names beside


def test_guidelines_are_shown_beside_the_task_as_markdown_without_raw_html(
    client: TestClient, people: Store
) -> None:
    with people.session() as session:
        get_classifier(session, "topics").guidelines = (
            "**Sport** means the game, not its money.\n\n<script>alert(1)</script>\n\n"
            "[more](javascript:alert(1))"
        )
    sign_in(client, "rita@example.com")
    page = client.get("/queues/topics/next").text
    guidelines = page.split('id="guidelines"')[1].split("</aside>")[0]
    assert "<strong>Sport</strong> means the game" in guidelines
    assert "&lt;script&gt;" in guidelines and "<script>" not in guidelines  # shown, never run
    assert 'href="javascript:' not in guidelines


def test_a_repeated_undo_finds_the_task_in_hand_and_an_old_link_arms_no_undo(
    client: TestClient, people: Store
) -> None:
    sign_in(client, "rita@example.com")
    first = client.get("/queues/topics/next")
    second = decide(client, first, label="finance")
    undo = {"csrf_token": token_in(second.text)}
    for _ in range(2):  # a double click, or a POST the browser sent again
        again = client.post(f"/tasks/{task_of(first)}/undo", data=undo)
        assert again.status_code == 200 and task_of(again) == task_of(first)
    third = decide(client, again, label="sport")
    with people.session() as session:  # a decision made longer ago than a hold lasts
        for decision in session.scalars(select(ReviewDecision)):
            decision.created_at -= LEASE
    stale = client.get(f"/tasks/{task_of(third)}?saved={task_of(first)}")
    assert 'id="undo"' not in stale.text and "Saved:" not in stale.text
