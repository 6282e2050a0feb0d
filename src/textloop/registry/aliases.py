"""The movable aliases over a classifier's model versions, owned here and only here.

``production`` answers requests; ``staging`` answers only the requests that name it, so that a
release can be tried before it is promoted (``release.promote``); ``shadow`` is scored beside
production and never answers (``monitoring.shadow`` measures it). Every alias is moved through
``set_alias``, which records the move as a one-step ``deploy`` run, so that the deployment
history (``release.rollback``) and the lineage see every change; ``production`` takes only a
blessed version unless forced. Deciding whether a version may be deployed (validation, events)
is a service above this one (``release.deploy``, ``release.promote``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from textloop.errors import InvalidRequest, NotBlessed, Remedy
from textloop.metadata.recorder import (
    close_context,
    model_uri,
    open_context,
    record_artifact,
    record_execution,
)
from textloop.store.queries import aliased_model, get_classifier, resolve_model_version
from textloop.store.tables import ModelAlias, ModelVersion, RunStatus, utcnow

PRODUCTION = "production"
STAGING = "staging"  # answers the requests that name it (?alias=staging)
SHADOW = "shadow"  # scored beside production, never answers (monitoring.shadow)
ALIASES = (PRODUCTION, STAGING, SHADOW)
SERVED = (PRODUCTION, STAGING)  # the aliases a request may ask to be answered by

# How a version refused by the gates is deployed anyway.
OVERRIDE = Remedy(
    cli="deploy it with --force to override", api='deploy it with "force": true to override'
)


def require_served(alias: str) -> str:
    """``alias`` if a request may be answered by it; the shadow never answers."""
    if alias not in SERVED:
        raise InvalidRequest(
            f"alias {alias!r} does not answer requests; use one of {', '.join(SERVED)}",
            field="alias",
        )
    return alias


@dataclass(frozen=True)
class AliasMove:
    """What a deploy, promotion or rollback did: ``alias`` now holds ``version``, where it held
    ``previous_version``. (What serves a request is ``predict.deployment.Deployment``.)"""

    classifier: str
    alias: str
    version: int
    previous_version: int | None


def set_alias(
    session: Session,
    name: str,
    alias: str,
    version: int | None = None,
    force: bool = False,
    record: bool = True,
) -> AliasMove:
    """Point ``alias`` at ``version`` (default: the newest) and return what it replaced.

    ``production`` only takes a blessed version unless ``force`` is given. The move is recorded
    as a one-step ``deploy`` run unless the caller is a pipeline step that records itself.
    """
    if alias not in ALIASES:
        raise InvalidRequest(
            f"unknown alias {alias!r}; the aliases are {', '.join(ALIASES)}", field="alias"
        )
    classifier = get_classifier(session, name)
    target = resolve_model_version(session, classifier, version)
    if alias == PRODUCTION and not force:
        require_blessing(name, target)
    previous = aliased_model(session, classifier, alias)
    row = session.get(ModelAlias, (classifier.id, alias))
    if row is None:
        session.add(
            ModelAlias(classifier_id=classifier.id, alias=alias, model_version_id=target.id)
        )
    else:
        row.model_version_id = target.id
        row.updated_at = utcnow()
    session.flush()
    if record:
        _record_deployment(session, classifier.id, name, alias, target.version, previous, force)
    return AliasMove(
        classifier=name,
        alias=alias,
        version=target.version,
        previous_version=previous.version if previous else None,
    )


def require_blessing(name: str, target: ModelVersion) -> None:
    """Refuse a version for production that was not blessed, saying why."""
    verdict = target.blessing
    if verdict is None:
        raise NotBlessed(
            f"{name} model version {target.version} has no blessing verdict", remedy=OVERRIDE
        )
    if not verdict["blessed"]:
        raise NotBlessed(
            f"{name} model version {target.version} was not blessed against production "
            f"version {verdict['production_version']}: {'; '.join(verdict['reasons'])}",
            remedy=OVERRIDE,
        )


def _record_deployment(
    session: Session,
    classifier_id: int,
    name: str,
    alias: str,
    version: int,
    previous: ModelVersion | None,
    forced: bool,
) -> None:
    started = utcnow()
    model = record_artifact(session, classifier_id, "model", model_uri(name, version))
    deployment = record_artifact(
        session,
        classifier_id,
        "deployment",
        f"textloop://{name}/deployments/{uuid.uuid4().hex}",
        properties={
            "alias": alias,
            "version": version,
            "previous_version": previous.version if previous else None,
            "forced": forced,
        },
    )
    parameters = {"alias": alias, "version": version, "force": forced}
    run = open_context(session, classifier_id, "deploy", parameters)
    record_execution(
        session,
        classifier_id,
        "deploy",
        parameters,
        started,
        inputs=[model],
        outputs=[deployment],
        context_id=run.id,
    )
    close_context(session, run.id, RunStatus.SUCCEEDED)


def set_shadow(session: Session, name: str, version: int | None) -> int | None:
    """Make ``version`` the shadow (the newest when None) and return it; it may not be the
    production version, which needs no shadowing."""
    classifier = get_classifier(session, name)
    production = aliased_model(session, classifier, PRODUCTION)
    moved = set_alias(session, name, SHADOW, version, record=False)
    if production is not None and production.version == moved.version:
        raise InvalidRequest(f"version {moved.version} of {name!r} is production already")
    return moved.version


def clear_shadow(session: Session, name: str, version: int | None = None) -> None:
    """Stop shadowing (only if the shadow is ``version``, when given)."""
    classifier = get_classifier(session, name)
    shadow = aliased_model(session, classifier, SHADOW)
    if shadow is not None and (version is None or shadow.version == version):
        session.execute(
            delete(ModelAlias).where(
                ModelAlias.classifier_id == classifier.id, ModelAlias.alias == SHADOW
            )
        )
