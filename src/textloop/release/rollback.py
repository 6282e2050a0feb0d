"""Rollback: point ``production`` back at the version it served before the current one.

The deployment history is the recorded ``deployment`` artifacts (by ``textloop deploy``, a
pipeline's deploy step or an earlier rollback); the newest one that moved production names the
version it replaced. Rolling back twice therefore returns to where it started, like an undo.
The move goes through ``release.deploy``'s door, forced (the version served before) and
announced as ``model.rolled_back``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.config import Settings
from textloop.errors import InvalidRequest, NotFound
from textloop.registry.aliases import PRODUCTION, AliasMove
from textloop.release.deploy import deploy_model
from textloop.store.database import Store
from textloop.store.queries import aliased_model, get_classifier
from textloop.store.tables import Artifact

HISTORY = 200  # deployments looked through; production moves far less often than that


def rollback(store: Store, settings: Settings, name: str) -> AliasMove:
    with store.session() as session:
        classifier = get_classifier(session, name)
        current = aliased_model(session, classifier, PRODUCTION)
        if current is None:
            raise NotFound(f"classifier {name!r} has no production model to roll back")
        previous = previous_version(session, classifier.id, current.version)
        if previous is None:
            raise InvalidRequest(
                f"{name} production version {current.version} replaced no earlier version; "
                "there is nothing to roll back to"
            )
    return deploy_model(
        store,
        settings,
        name,
        previous,
        force=True,
        event="model.rolled_back",
        details={"from_version": current.version},
    )


def previous_version(session: Session, classifier_id: int, current: int) -> int | None:
    deployments = session.scalars(
        select(Artifact)
        .where(Artifact.classifier_id == classifier_id, Artifact.type == "deployment")
        .order_by(Artifact.id.desc())
        .limit(HISTORY)
    )
    for deployment in deployments:
        moved = deployment.properties
        if moved.get("alias") != PRODUCTION or moved.get("deployed") is False:
            continue
        if moved.get("previous_version") == moved.get("version"):
            continue  # a redeploy of the same version moved nothing
        if moved.get("version") == current:
            previous = moved.get("previous_version")
            return int(previous) if previous is not None else None
    return None
