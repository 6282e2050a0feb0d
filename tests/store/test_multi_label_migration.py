"""Migration 0022: classifiers made before modes existed are single-label, every column that
holds a label (an example's, a prediction's, feedback's, a review's) may be as long as a set of
labels makes it (TEXT on PostgreSQL; on SQLite, which enforces no length, the columns keep their
type and no large table is rebuilt), the rows that refer to a rebuilt table stay, and going back
refuses while label sets exist."""

from __future__ import annotations

import pytest
from sqlalchemy import Text, inspect, select, text

from tests.store.test_database import downgrade
from textloop.config import Settings
from textloop.data.label_sets import encode
from textloop.store import Store, open_store
from textloop.store.database import downgrade_to
from textloop.store.queries import get_or_create_classifier
from textloop.store.tables import (
    DatasetVersion,
    Example,
    Feedback,
    ModelVersion,
    Prediction,
    ReviewDecision,
    ReviewTask,
    ShadowPrediction,
    User,
)

pytestmark = pytest.mark.storage


def test_a_classifier_from_before_modes_is_single_label(settings: Settings) -> None:
    store = open_store(settings)
    downgrade(store, "0021")
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO classifiers (id, name, labels, threshold, created_at) "
                "VALUES (1, 'old', '[]', 0.5, CURRENT_TIMESTAMP)"
            )
        )
    store.dispose()
    store = open_store(settings)
    with store.engine.connect() as connection:
        mode = connection.execute(text("SELECT mode FROM classifiers")).scalar_one()
    assert mode == "single-label"
    store.dispose()


def test_going_back_refuses_while_a_multi_label_classifier_exists(settings: Settings) -> None:
    store = open_store(settings)
    with store.session() as session:
        get_or_create_classifier(session, "single")
        get_or_create_classifier(session, "tickets", "multi-label")
    with pytest.raises(RuntimeError, match=r"multi-label classifiers exist \(tickets\)"):
        downgrade(store, "0021")
    with store.session() as session:
        session.execute(text("DELETE FROM classifiers WHERE name = 'tickets'"))
    downgrade(store, "0021")
    store.dispose()


LABEL_COLUMNS = {
    "examples": ["label"],
    "predictions": ["label"],
    "shadow_predictions": ["label"],
    "feedback": ["label"],
    "review_tasks": ["final_label", "reported_label", "suggested_label"],
    "review_decisions": ["label"],
}
# a set of 30 names of 20 characters: 629 characters stored, where a label had 200
LONG_SET = encode(f"label-number-{i:07d}" for i in range(30))


def store_a_label_everywhere(store: Store, label: str, mode: str = "multi-label") -> None:
    """A classifier's rows, each label column holding ``label``."""
    with store.session() as session:
        classifier = get_or_create_classifier(session, "tickets", mode)
        dataset = DatasetVersion(
            classifier_id=classifier.id, version=1, content_hash="h", source="s", row_count=1
        )
        session.add(dataset)
        session.flush()
        session.add(
            Example(
                dataset_version_id=dataset.id, text="t", label=label, text_hash="h", split="train"
            )
        )
        model = ModelVersion(
            classifier_id=classifier.id,
            version=1,
            family="ngram",
            dataset_version_id=dataset.id,
            artifact_uri="a",
        )
        user = User(email="r@example.com", password_hash="x", role="reviewer")
        session.add_all([model, user])
        session.flush()
        prediction = Prediction(
            classifier_id=classifier.id,
            model_version_id=model.id,
            text="t",
            label=label,
            confidence=0.9,
        )
        session.add(prediction)
        session.flush()
        feedback = Feedback(
            classifier_id=classifier.id, prediction_id=prediction.id, text="t", label=label
        )
        session.add_all(
            [
                feedback,
                ShadowPrediction(
                    prediction_id=prediction.id,
                    model_version_id=model.id,
                    label=label,
                    confidence=0.5,
                    agreed=True,
                ),
            ]
        )
        session.flush()
        task = ReviewTask(
            classifier_id=classifier.id,
            source="explicit",
            text="t",
            suggested_label=label,
            reported_label=label,
            final_label=label,
            prediction_id=prediction.id,
            feedback_id=feedback.id,
        )
        session.add(task)
        session.flush()
        session.add(ReviewDecision(task_id=task.id, user_id=user.id, label=label))


def stored_labels(store: Store) -> list[str | None]:
    with store.session() as session:
        task = session.scalars(select(ReviewTask)).one()
        return [
            session.scalars(select(Example.label)).one(),
            session.scalars(select(Prediction.label)).one(),
            session.scalars(select(ShadowPrediction.label)).one(),
            session.scalars(select(Feedback.label)).one(),
            task.suggested_label,
            task.reported_label,
            task.final_label,
            session.scalars(select(ReviewDecision.label)).one(),
        ]


def test_every_column_that_holds_a_label_holds_a_set_of_any_length(settings: Settings) -> None:
    store = open_store(settings)
    columns = inspect(store.engine)
    for table, names in LABEL_COLUMNS.items():
        found = {column["name"]: column["type"] for column in columns.get_columns(table)}
        if store.engine.dialect.name == "postgresql":  # a VARCHAR(200) there refuses a longer set
            assert all(isinstance(found[name], Text) for name in names), (table, found)
        else:  # SQLite enforces no length: the columns keep theirs and no table is rebuilt
            assert all(found[name].length == 200 for name in names), (table, found)
    store_a_label_everywhere(store, LONG_SET)  # PostgreSQL refuses it in a VARCHAR(200)
    assert stored_labels(store) == [LONG_SET] * 8
    store.dispose()


def test_upgrading_keeps_every_label_and_the_rows_that_refer_to_a_rebuilt_table(
    settings: Settings,
) -> None:
    """SQLite rebuilds a table to change a column's type: the rows that refer to a prediction
    (its shadow's answer, cascading; feedback; a review task) must not go with the old one."""
    store = open_store(settings)
    store_a_label_everywhere(store, "billing", "single-label")
    downgrade_to(store.engine, "0021")
    store.dispose()
    store = open_store(settings)
    assert stored_labels(store) == ["billing"] * 8
    store.dispose()
