"""Which model version answers for a classifier under an alias, found in one short read.

A ``Deployment`` is everything a caller needs to predict and record without asking the database
again: the classifier's id and review threshold, the version (id, number, artifact) behind the
alias, and the production alias's shadow, if any. Callers read it, close the transaction, and
only then load and call the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.errors import NotFound, Remedy
from textloop.registry.aliases import PRODUCTION, SHADOW
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import Classifier, ModelAlias, ModelVersion


@dataclass(frozen=True)
class Deployment:
    classifier_id: int
    name: str
    threshold: float
    version_id: int
    version: int
    artifact_uri: str
    shadow: tuple[int, str] | None = None  # (model version id, artifact) of the shadow model
    alias: str | None = PRODUCTION  # the alias that chose the version (None: pinned by id)
    out_of_scope: bool = True  # the classifier's setting: may answers be "out of scope"?
    out_of_scope_label: str | None = None  # the data's own label of out-of-scope examples


def aliased_version(session: Session, classifier: Classifier, alias: str) -> ModelVersion:
    """The version behind ``alias``; ``NotFound`` naming the command that sets it."""
    model = aliased_model(session, classifier, alias)
    if model is None:
        if alias == PRODUCTION:
            raise NotFound(
                f"classifier {classifier.name!r} has no deployed model",
                remedy=Remedy(
                    cli=f"run `textloop deploy {classifier.name}`",
                    api=f"deploy a version: POST /v1/classifiers/{classifier.name}/deployments",
                ),
            )
        raise NotFound(f"classifier {classifier.name!r} has no model under alias {alias!r}")
    return model


def production_model(session: Session, classifier: Classifier) -> ModelVersion:
    return aliased_version(session, classifier, PRODUCTION)


def find_deployment(session: Session, name: str, alias: str = PRODUCTION) -> Deployment:
    classifier = get_classifier(session, name)
    version = aliased_version(session, classifier, alias)
    shadow = None
    if alias == PRODUCTION:
        row = session.execute(
            select(ModelVersion.id, ModelVersion.artifact_uri)
            .join(ModelAlias, ModelAlias.model_version_id == ModelVersion.id)
            .where(ModelAlias.classifier_id == classifier.id, ModelAlias.alias == SHADOW)
        ).first()
        shadow = (row[0], row[1]) if row is not None else None
    return _deployment(classifier, version, shadow, alias)


def pinned_deployment(session: Session, name: str, model_version_id: int) -> Deployment:
    """A deployment fixed to one version (a batch job keeps the model it started with)."""
    classifier = get_classifier(session, name)
    version = session.get(ModelVersion, model_version_id)
    if version is None or version.classifier_id != classifier.id:
        raise NotFound(f"model version id {model_version_id} of {name!r} does not exist")
    return _deployment(classifier, version, None, None)


def _deployment(
    classifier: Classifier,
    version: ModelVersion,
    shadow: tuple[int, str] | None,
    alias: str | None,
) -> Deployment:
    return Deployment(
        classifier_id=classifier.id,
        name=classifier.name,
        threshold=classifier.threshold,
        version_id=version.id,
        version=version.version,
        artifact_uri=version.artifact_uri,
        shadow=shadow,
        alias=alias,
        out_of_scope=classifier.out_of_scope,
        out_of_scope_label=classifier.out_of_scope_label,
    )
