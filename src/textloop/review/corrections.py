"""A file of corrections recorded as explicit feedback: each row names a label and either a text
(``text,label``) or a prediction (``prediction_id,label``), as a batch of work is checked by hand.

Every row is checked before anything is written (a label the classifier does not know, a
prediction that does not exist, an empty or over-long text refuse the file, naming its row);
texts without a prediction are scored outside any transaction, all in one model call per chunk;
then every row is written in one transaction. A file is named by the hash of its bytes, like a
dataset upload: sending the same file again records nothing and answers what the first did. A
multi-label classifier's corrections would be label sets, not handled yet: they are refused
before the file is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from textloop.batch.run import input_hash
from textloop.batch.sources import plan, read_chunks
from textloop.data.label_sets import single_label_only
from textloop.data.row_limits import too_long
from textloop.data.values import NotText, value_text
from textloop.errors import DataError, InvalidRequest
from textloop.metadata.recorder import content_uri, find_artifact, record_artifact
from textloop.predict.deployment import Deployment, find_deployment
from textloop.predict.model_cache import ModelCache
from textloop.predict.outcome import Scored, to_scored, top_scores
from textloop.predict.predictor import DIRECT, Predictor
from textloop.registry.aliases import PRODUCTION
from textloop.review.feedback import write_feedback
from textloop.review.labels import require_known_label
from textloop.review.pool import TOP_SCORES
from textloop.store.database import Store
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import Prediction

ARTIFACT = "corrections"
MAX_ROWS = 100_000
SCORED_AT_ONCE = 64  # texts per model call, so classify requests are not held up behind them


@dataclass(frozen=True)
class Correction:
    row: int  # 1-based, as the file's reader counts data rows
    label: str
    text: str | None
    prediction_id: str | None


def read_corrections(path: Path, source: str | None = None) -> list[Correction]:
    """The file's rows; ``DataError`` naming the first that is not a correction."""
    shown = source or path.name
    planned = plan(path)
    columns = set(planned.source.columns)
    if "label" not in columns or not columns & {"text", "prediction_id"}:
        found = ", ".join(planned.source.columns)
        raise DataError(
            f"{shown}: a corrections file has a label column and a text or prediction_id "
            f"column (columns found: {found})"
        )
    if planned.rows > MAX_ROWS:
        raise DataError(f"{shown}: {planned.rows:,} rows; at most {MAX_ROWS:,} per file")
    rows: list[Correction] = []
    for _, table, errors in read_chunks(planned.source, planned.chunks):
        for values, error in zip(table.to_pylist(), errors, strict=True):
            number = len(rows) + 1
            label = _text(values.get("label")).strip()
            text = _text(values.get("text")) or None
            prediction_id = _text(values.get("prediction_id")).strip() or None
            problem = error or _problem(label, text, prediction_id)
            if problem is not None:
                raise DataError(f"{shown}: row {number}: {problem}")
            rows.append(Correction(number, label, text, prediction_id))
    return rows


def _text(value: object) -> str:
    """A cell as text: a typed Parquet value (an int label, say) as it would be written."""
    if value is None:
        return ""
    try:
        return value_text(value) or ""
    except NotText:
        return ""


def _problem(label: str, text: str | None, prediction_id: str | None) -> str | None:
    if not label:
        return "no label"
    if (text is None) == (prediction_id is None):
        return "give either a text or a prediction_id"
    if text is not None and not text.strip():
        return "empty text"
    return too_long(text, label)


def record_corrections(
    store: Store,
    models: ModelCache,
    name: str,
    path: Path,
    api_key_id: int | None = None,
    predictor: Predictor = DIRECT,
    source: str | None = None,
) -> dict[str, Any]:
    """Record every correction of the file at ``path`` once; the answer says what it made.
    ``source`` names the file in errors (an upload's temporary name means nothing)."""
    shown = source or path.name
    if not path.is_file():
        raise DataError(f"{shown}: no such file")
    hashed = input_hash(path)
    uri = content_uri(name, ARTIFACT, hashed)
    with store.session() as session:
        classifier = get_classifier(session, name)
        single_label_only(classifier.mode, name, "importing corrections")
        earlier = find_artifact(session, uri)
        if earlier is not None:
            return {**earlier.properties, "created": False}
    rows = read_corrections(path, shown)
    deployment: Deployment | None = None
    with store.session() as session:
        classifier = get_classifier(session, name)
        for row in rows:
            try:
                require_known_label(classifier, row.label)
            except InvalidRequest as exc:
                raise DataError(f"{shown}: row {row.row}: {exc.message}") from None
        predictions = _predictions(session, classifier.id, [r.prediction_id for r in rows])
        for row in rows:
            if row.prediction_id is not None and row.prediction_id not in predictions:
                raise DataError(
                    f"{shown}: row {row.row}: prediction {row.prediction_id!r} does not "
                    f"exist for classifier {name!r}"
                )
        if aliased_model(session, classifier, PRODUCTION) is not None:
            deployment = find_deployment(session, name)
        classifier_id = classifier.id
    bare = [row for row in rows if row.prediction_id is None]
    scored: dict[int, Scored] = {}
    if deployment is not None and bare:
        model = models.get(deployment.version_id, deployment.artifact_uri)
        for start in range(0, len(bare), SCORED_AT_ONCE):  # the server's batcher is shared
            part = bare[start : start + SCORED_AT_ONCE]
            probabilities = predictor.predict(model, [row.text or "" for row in part])
            for row, item in zip(part, to_scored(probabilities, model.classes_), strict=True):
                scored[row.row] = item
    tasks: set[str] = set()
    with store.session() as session:
        earlier = find_artifact(session, uri)  # the same file, sent again meanwhile
        if earlier is not None:
            return {**earlier.properties, "created": False}
        for row in rows:
            suggested: str | None = None
            confidence: float | None = None
            scores: dict[str, float] | None = None
            if row.prediction_id is not None:
                text, suggested, confidence = predictions[row.prediction_id]
            else:
                text = row.text or ""
                if (found := scored.get(row.row)) is not None:
                    suggested, confidence = found.label, found.confidence
                    scores = top_scores(found.scores, TOP_SCORES)
            receipt = write_feedback(
                session, classifier_id, row.prediction_id, text, row.label, api_key_id,
                suggested, confidence, scores,
            )  # fmt: skip
            tasks.add(receipt.review_task_id)
        answer = {
            "rows": len(rows),
            "review_tasks": len(tasks),
            "content_hash": hashed,
        }
        record_artifact(session, classifier_id, ARTIFACT, uri, hashed, answer)
    return {**answer, "created": True}


def _predictions(
    session: Any, classifier_id: int, ids: list[str | None]
) -> dict[str, tuple[str, str, float]]:
    wanted = sorted({i for i in ids if i is not None})
    found: dict[str, tuple[str, str, float]] = {}
    for start in range(0, len(wanted), 500):
        for prediction in session.scalars(
            select(Prediction).where(
                Prediction.id.in_(wanted[start : start + 500]),
                Prediction.classifier_id == classifier_id,
            )
        ):
            found[prediction.id] = (prediction.text, prediction.label, prediction.confidence)
    return found
