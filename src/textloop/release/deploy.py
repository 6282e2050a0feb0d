"""Deploying: check the version is what was validated, then move the production (or staging) alias.

Training records an infra-validation with every version it registers; deploy probes only a
version that has none. A version whose files no longer match the content hash recorded when it
was registered is refused, as is one that failed infra-validation and, for production, one that
is not blessed, unless forced. Staging takes an unblessed version: it is there to be tried, and
reaches production only through the same gates (``release.promote``).
"""

from __future__ import annotations

from sqlalchemy import select

from textloop.artifacts import ArtifactMissing, ArtifactRoot, ArtifactStore, artifact_store
from textloop.errors import InvalidRequest, NotBlessed, Remedy
from textloop.metadata.recorder import find_artifact, model_uri
from textloop.notifications.events import emit
from textloop.registry.aliases import (
    OVERRIDE,
    PRODUCTION,
    STAGING,
    Deployment,
    clear_shadow,
    require_blessing,
    set_alias,
)
from textloop.release.infra_validation import infra_validate
from textloop.store.database import Store
from textloop.store.queries import get_classifier, get_model_version, resolve_model_version
from textloop.store.tables import Example

SAMPLE_SIZE = 50

OVERRIDE_CHANGED = Remedy(
    cli="train again, or deploy it with --force to override",
    api='train again, or deploy it with "force": true to override',
)


def deploy_model(
    store: Store,
    artifact_root: ArtifactRoot,
    name: str,
    version: int | None = None,
    force: bool = False,
    alias: str = PRODUCTION,
) -> Deployment:
    """Point ``alias`` at ``version`` (default: the newest) once it passes the gates."""
    if alias not in (PRODUCTION, STAGING):
        raise InvalidRequest(f"deploy moves production or staging, not {alias!r}", field="alias")
    with store.session() as session:
        classifier = get_classifier(session, name)
        target = resolve_model_version(session, classifier, version)
        if alias == PRODUCTION and not force:
            require_blessing(name, target)  # before the infra probe, which takes seconds
        number, recorded, labels = target.version, target.infra_validation, list(target.labels)
        uri = target.artifact_uri
        sample = list(
            session.scalars(
                select(Example.text)
                .where(Example.dataset_version_id == target.dataset_version_id)
                .order_by(Example.id)
                .limit(SAMPLE_SIZE)
            )
        )
    artifacts = artifact_store(artifact_root)
    if _changed_since_registered(store, artifacts, name, number, uri) and not force:
        raise NotBlessed(
            f"{name} model version {number}: its files changed since it was registered, so its "
            "metrics, blessing and infra-validation no longer describe them",
            remedy=OVERRIDE_CHANGED,
        )
    if recorded is None:
        result = infra_validate(artifacts.local(uri), labels, sample or ["hello"])
        with store.session() as session:
            row = get_model_version(session, get_classifier(session, name), number)
            row.infra_validation = result.to_dict()
        recorded = result.to_dict()
    if not recorded["passed"] and not force:
        raise NotBlessed(
            f"{name} model version {number} failed infra-validation: "
            f"{'; '.join(recorded['reasons'])}",
            remedy=OVERRIDE,
        )
    with store.session() as session:
        moved = set_alias(session, name, alias, number, force)
        classifier_id = get_classifier(session, name).id
        if alias == PRODUCTION:
            clear_shadow(session, name, number)  # promoted: nothing left to shadow
    if moved.previous_version != moved.version:
        emit(
            store,
            classifier_id,
            "model.deployed" if alias == PRODUCTION else "model.staged",
            classifier=name,
            version=moved.version,
            previous_version=moved.previous_version,
        )
    return moved


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
