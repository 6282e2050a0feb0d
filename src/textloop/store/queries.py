"""Lookups that every layer needs, each raising ``NotFound`` with a message a user can act on."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest, NotFound, Remedy
from textloop.store.tables import Classifier, DatasetVersion, ModelAlias, ModelVersion, ReviewTask

CLASSIFIER_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}")  # fullmatch: no trailing newline


def get_classifier(session: Session, name: str) -> Classifier:
    classifier = session.scalar(select(Classifier).where(Classifier.name == name))
    if classifier is None:
        raise NotFound(f"classifier {name!r} does not exist")
    return classifier


def get_or_create_classifier(session: Session, name: str, mode: str | None = None) -> Classifier:
    """The classifier ``name``; a new one is created ``mode`` (a ``stored_labels.Mode``,
    single-label when None). An existing one keeps the mode it was created with: whether a
    batch may join it is the caller's to say (``data.datasets.classifier_for``)."""
    if not CLASSIFIER_NAME.fullmatch(name):
        raise InvalidRequest(
            f"classifier name {name!r} is invalid: use lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (at most 100 characters)",
            field="classifier",
        )
    classifier = session.scalar(select(Classifier).where(Classifier.name == name))
    if classifier is None:
        classifier = Classifier(name=name, threshold=0.5, labels=[])
        if mode is not None:
            classifier.mode = mode
        session.add(classifier)
        session.flush()
    return classifier


def latest_dataset_version(session: Session, classifier: Classifier) -> DatasetVersion:
    dataset = session.scalar(
        select(DatasetVersion)
        .where(DatasetVersion.classifier_id == classifier.id)
        .order_by(DatasetVersion.version.desc())
        .limit(1)
    )
    if dataset is None:
        raise NotFound(
            f"classifier {classifier.name!r} has no data yet",
            remedy=Remedy(
                cli=f"run `textloop ingest FILE --classifier {classifier.name}` first",
                api=f"upload a file first: POST /v1/classifiers/{classifier.name}/datasets",
            ),
        )
    return dataset


def get_dataset_version(session: Session, classifier: Classifier, version: int) -> DatasetVersion:
    dataset = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.classifier_id == classifier.id, DatasetVersion.version == version
        )
    )
    if dataset is None:
        raise NotFound(f"classifier {classifier.name!r} has no dataset version {version}")
    return dataset


def next_version(
    session: Session, column: object, classifier_column: object, classifier_id: int
) -> int:
    current = session.scalar(select(func.max(column)).where(classifier_column == classifier_id))  # type: ignore[arg-type]
    return (current or 0) + 1


def get_model_version(session: Session, classifier: Classifier, version: int) -> ModelVersion:
    model = session.scalar(
        select(ModelVersion).where(
            ModelVersion.classifier_id == classifier.id, ModelVersion.version == version
        )
    )
    if model is None:
        raise NotFound(f"classifier {classifier.name!r} has no model version {version}")
    return model


def aliased_model(session: Session, classifier: Classifier, alias: str) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion)
        .join(ModelAlias, ModelAlias.model_version_id == ModelVersion.id)
        .where(ModelAlias.classifier_id == classifier.id, ModelAlias.alias == alias)
    )


def resolve_dataset_version(
    session: Session, classifier: Classifier, version: int | None
) -> DatasetVersion:
    """The given dataset version, or the newest when ``version`` is None."""
    if version is None:
        return latest_dataset_version(session, classifier)
    return get_dataset_version(session, classifier, version)


def resolve_model_version(
    session: Session, classifier: Classifier, version: int | None
) -> ModelVersion:
    """The given model version, or the newest when ``version`` is None."""
    if version is not None:
        return get_model_version(session, classifier, version)
    newest = session.scalar(
        select(ModelVersion)
        .where(ModelVersion.classifier_id == classifier.id)
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )
    if newest is None:
        raise NotFound(
            f"classifier {classifier.name!r} has no trained model",
            remedy=Remedy(
                cli=f"run `textloop train {classifier.name}`",
                api=f"train one: POST /v1/classifiers/{classifier.name}/models",
            ),
        )
    return newest


def settled_label() -> ColumnElement[str]:
    """In a query over review tasks: the settled label as an answer stores it, to compare with
    one. A multi-label classifier's "none of these" is the empty set, which answers store as "";
    a single label is never empty, so comparisons with one are unchanged."""
    return func.coalesce(ReviewTask.final_label, "")
