"""Which training run produced each model version: the run of the execution that output it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from textloop.metadata.recorder import model_uri
from textloop.store.tables import Artifact, Event, Execution


def producing_runs(session: Session, classifier: str, versions: list[int]) -> dict[int, int]:
    """Model version → the run id that registered it; versions with no record are left out."""
    if not versions:
        return {}
    uris = {model_uri(classifier, version): version for version in versions}
    rows = session.execute(
        select(Artifact.uri, Execution.context_id)
        .join(Event, Event.artifact_id == Artifact.id)
        .join(Execution, Execution.id == Event.execution_id)
        .where(Artifact.uri.in_(list(uris)), Event.kind == "output")
        .order_by(Execution.id)
    )
    found: dict[int, int] = {}
    for uri, run in rows:
        if run is not None:
            found.setdefault(uris[uri], run)
    return found
