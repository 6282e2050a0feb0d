"""A file of corrections recorded as explicit feedback: each row names a label and either a text
(``text,label``) or a prediction (``prediction_id,label``), as a batch of work is checked by hand.

Every row is checked before anything is written (a label the classifier does not know, a
prediction that does not exist, an empty or over-long text refuse the file, naming its row);
texts without a prediction are scored outside any transaction, all in one model call per chunk;
then every row is written in one transaction. A file is named by the hash of its bytes, like a
dataset upload: sending the same file again records nothing and answers what the first did.

A multi-label classifier's label cell holds a set (``correction_labels``: ``a|b``, a list, or an
empty cell for "no label applies", stored as the empty set ``""``); each of its names must be a
label the classifier knows. A single-label classifier's empty cell is still "no label", refused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select

from textloop.batch.run import input_hash
from textloop.batch.sources import plan, read_chunks
from textloop.data.label_sets import check_separator
from textloop.data.row_limits import too_long
from textloop.errors import DataError, InvalidRequest
from textloop.metadata.recorder import content_uri, find_artifact, record_artifact
from textloop.predict.deployment import Deployment, find_deployment
from textloop.predict.model_cache import ModelCache
from textloop.predict.outcome import Scored, scored
from textloop.predict.predictor import DIRECT, Predictor
from textloop.registry.aliases import PRODUCTION
from textloop.review.correction_labels import ONE_LABEL, LabelCells, cell_text
from textloop.review.feedback import task_scores, write_feedback
from textloop.review.labels import require_known_label
from textloop.store.database import Store
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.stored_labels import Mode
from textloop.store.tables import Prediction

ARTIFACT = "corrections"
MAX_ROWS = 100_000
SCORED_AT_ONCE = 64  # texts per model call, so classify requests are not held up behind them


@dataclass(frozen=True)
class Correction:
    row: int  # 1-based, as the file's reader counts data rows
    label: str  # a multi-label classifier's: a stored set ("": no label applies)
    text: str | None
    prediction_id: str | None


def read_corrections(
    path: Path, source: str | None = None, cells: LabelCells = ONE_LABEL
) -> list[Correction]:
    """The file's rows, their labels read by ``cells``; ``DataError`` naming the first that is
    not a correction."""
    shown = source or path.name
    planned = plan(path)
    cells = replace(cells, json_arrays=planned.source.format == "jsonl")
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
            where = f"{shown}: row {number}"
            if error is not None:
                raise DataError(f"{where}: {error}")
            label = cells.read(values.get("label"), where)
            text = cell_text(values.get("text")) or None
            prediction_id = cell_text(values.get("prediction_id")).strip() or None
            problem = _problem(label, text, prediction_id, cells.sets)
            if problem is not None:
                raise DataError(f"{where}: {problem}")
            rows.append(Correction(number, label, text, prediction_id))
    return rows


def _problem(label: str, text: str | None, prediction_id: str | None, sets: bool) -> str | None:
    if not label and not sets:  # a set's empty cell is the empty set: no label applies
        return "no label"
    if (text is None) == (prediction_id is None):
        return "give either a text or a prediction_id"
    if text is not None and not text.strip():
        return "empty text"
    return too_long(text, label, label_set=sets)


def record_corrections(
    store: Store,
    models: ModelCache,
    name: str,
    path: Path,
    api_key_id: int | None = None,
    predictor: Predictor = DIRECT,
    source: str | None = None,
    label_separator: str | None = None,
) -> dict[str, Any]:
    """Record every correction of the file at ``path`` once; the answer says what it made.
    ``source`` names the file in errors (an upload's temporary name means nothing);
    ``label_separator`` joins a multi-label classifier's names in a cell (default ``|``)."""
    shown = source or path.name
    if not path.is_file():
        raise DataError(f"{shown}: no such file")
    hashed = input_hash(path)
    uri = content_uri(name, ARTIFACT, hashed)
    with store.session() as session:
        classifier = get_classifier(session, name)
        cells = _cells(classifier.mode, name, label_separator)
        earlier = find_artifact(session, uri)
        if earlier is not None:
            return {**earlier.properties, "created": False}
    rows = read_corrections(path, shown, cells)
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
    answers: dict[int, Scored] = {}
    if deployment is not None and bare:
        model = models.get(deployment.version_id, deployment.artifact_uri)
        for start in range(0, len(bare), SCORED_AT_ONCE):  # the server's batcher is shared
            part = bare[start : start + SCORED_AT_ONCE]
            probabilities = predictor.predict(model, [row.text or "" for row in part])
            for row, item in zip(part, scored(model, probabilities), strict=True):
                answers[row.row] = item
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
                if (found := answers.get(row.row)) is not None:
                    suggested, confidence = found.label, found.confidence
                    scores = task_scores(found)
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


def _cells(mode: str, name: str, separator: str | None) -> LabelCells:
    """How the classifier's label cells read: sets for a multi-label one, joined by
    ``separator``, which a single-label classifier refuses (its cell is one label)."""
    if separator is None:
        return LabelCells(sets=mode == Mode.MULTI_LABEL)
    if mode != Mode.MULTI_LABEL:
        raise InvalidRequest(
            f"a label separator applies to label sets only; {name!r} is single-label",
            field="label_separator",
        )
    check_separator(separator)
    return LabelCells(sets=True, separator=separator)


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
