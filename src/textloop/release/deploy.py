"""Deploying: the one door through which production and staging move.

Every move of a served alias comes through ``deploy_model``: ``textloop deploy``, the HTTP
deployments route, the portal, ``promote``, ``rollback``, a pipeline's deploy step (``train
--deploy``, ``Workspace.train(deploy=True)``) and retrains. So every
move passes the same gates, is recorded in the deployment history, ends the shadowing of the
version it promotes and emits its event; a second copy of any of these is how paths drift apart.

Training records an infra-validation with every version it registers; deploy probes only a
version that has none. A version whose files no longer match the content hash recorded when it
was registered is refused, as is one that failed infra-validation and, for production, one that
is not blessed, unless forced; a forced move checks nothing, so it needs neither the artifact
store nor a probe. A move to the version the alias holds already changes, records and announces
nothing. Staging takes an unblessed version: it is there to be tried, and reaches production
only through the same gates (``release.promote``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.artifacts import ArtifactMissing, ArtifactStore, artifacts_for
from textloop.config import Settings
from textloop.errors import InvalidRequest, NotBlessed, Remedy
from textloop.metadata.recorder import find_artifact, model_uri
from textloop.notifications.events import emit
from textloop.registry.aliases import (
    OVERRIDE,
    PRODUCTION,
    STAGING,
    AliasMove,
    clear_shadow,
    require_blessing,
    set_alias,
)
from textloop.release.infra_validation import infra_validate
from textloop.store.database import Store
from textloop.store.queries import (
    aliased_model,
    get_classifier,
    get_model_version,
    resolve_model_version,
)
from textloop.store.tables import Example

SAMPLE_SIZE = 50
EVENTS = {PRODUCTION: "model.deployed", STAGING: "model.staged"}

OVERRIDE_CHANGED = Remedy(
    cli="train again, or deploy it with --force to override",
    api='train again, or deploy it with "force": true to override',
)


def deploy_model(
    store: Store,
    settings: Settings,
    name: str,
    version: int | None = None,
    force: bool = False,
    alias: str = PRODUCTION,
    *,
    event: str | None = None,
    details: Mapping[str, Any] | None = None,
    guard: Callable[[Session], None] | None = None,
    record: bool = True,
) -> AliasMove:
    """Point ``alias`` at ``version`` (default: the newest) once it passes the gates.

    ``event`` replaces the alias's own (a rollback announces ``model.rolled_back``) and
    ``details`` add to its data; ``guard``
    runs in the transaction that moves the alias, so a worker that lost its job moves nothing;
    ``record=False`` is for a pipeline step, whose run records the move as its output.
    """
    if alias not in EVENTS:
        raise InvalidRequest(f"deploy moves production or staging, not {alias!r}", field="alias")
    with store.session() as session:
        target = resolve_model_version(session, get_classifier(session, name), version)
        if alias == PRODUCTION and not force:
            require_blessing(name, target)  # before the infra probe, which takes seconds
        number = target.version
    if not force:  # forced (a rollback, say): no gate, so no hashing and no probe either
        _require_validated(store, settings, name, number)
    with store.session() as session:
        if guard is not None:
            guard(session)
        classifier = get_classifier(session, name)
        current = aliased_model(session, classifier, alias)
        if current is not None and current.version == number:
            return AliasMove(name, alias, number, number)  # nothing moves, nothing to record
        moved = set_alias(session, name, alias, number, force, record=record)
        classifier_id = classifier.id
        if alias == PRODUCTION:
            clear_shadow(session, name, number)  # promoted: nothing left to shadow
    if moved.previous_version != moved.version:
        emit(
            store,
            classifier_id,
            event or EVENTS[alias],
            classifier=name,
            version=moved.version,
            previous_version=moved.previous_version,
            **(details or {}),
        )
    return moved


def _require_validated(store: Store, settings: Settings, name: str, version: int) -> None:
    """Refuse a version whose files changed since it was registered, or that failed
    infra-validation; one never validated (an imported bundle) is probed first, as a replica
    would load it, and the result kept with it."""
    with store.session() as session:
        target = get_model_version(session, get_classifier(session, name), version)
        recorded, labels, uri = target.infra_validation, list(target.labels), target.artifact_uri
        sample = list(
            session.scalars(
                select(Example.text)
                .where(Example.dataset_version_id == target.dataset_version_id)
                .order_by(Example.id)
                .limit(SAMPLE_SIZE)
            )
        )
    artifacts = artifacts_for(settings)
    if _changed_since_registered(store, artifacts, name, version, uri):
        raise NotBlessed(
            f"{name} model version {version}: its files changed since it was registered, so its "
            "metrics, blessing and infra-validation no longer describe them",
            remedy=OVERRIDE_CHANGED,
        )
    if recorded is None:
        probed = infra_validate(artifacts.local(uri), labels, sample or ["hello"], settings)
        recorded = probed.to_dict()
        with store.session() as session:
            get_model_version(
                session, get_classifier(session, name), version
            ).infra_validation = recorded
    if not recorded["passed"]:
        raise NotBlessed(
            f"{name} model version {version} failed infra-validation: "
            f"{'; '.join(recorded['reasons'])}",
            remedy=OVERRIDE,
        )


def _changed_since_registered(
    store: Store, artifacts: ArtifactStore, name: str, version: int, uri: str
) -> bool:
    """Whether the files differ from those push registered (and infra-validated)."""
    with store.session() as session:
        artifact = find_artifact(session, model_uri(name, version))
        registered = artifact.content_hash if artifact is not None else None
    if registered is None:
        return False
    try:
        return artifacts.content_hash(uri) != registered
    except ArtifactMissing:
        return True
