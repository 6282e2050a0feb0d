"""Promoting: move one alias to the version another points at, through the gates of a deploy.

The stages of a release are aliases: a version is deployed to ``staging``, tried there with
requests that name it (``?alias=staging``), and promoted to ``production``. Promotion is a
deploy of the version staging holds, so it passes the same gates (unchanged since registered,
infra-validated, blessed unless forced) and emits the same event; it never skips one because
the version came from staging.
"""

from __future__ import annotations

from textloop.config import Settings
from textloop.errors import InvalidRequest, NotFound, Remedy
from textloop.registry.aliases import PRODUCTION, SERVED, AliasMove
from textloop.release.deploy import deploy_model
from textloop.store.database import Store
from textloop.store.queries import aliased_model, get_classifier


def promote(
    store: Store,
    settings: Settings,
    name: str,
    source: str,
    target: str = PRODUCTION,
    force: bool = False,
) -> AliasMove:
    """Point ``target`` at the version behind ``source`` and return what ``target`` held."""
    for alias, field in ((source, "from"), (target, "to")):
        if alias not in SERVED:
            raise InvalidRequest(
                f"cannot promote {field} {alias!r}; the stages are {', '.join(SERVED)}",
                field=field,
            )
    if source == target:
        raise InvalidRequest(f"{name}: promoting {source} to itself changes nothing", field="to")
    with store.session() as session:
        model = aliased_model(session, get_classifier(session, name), source)
        if model is None:
            raise NotFound(
                f"classifier {name!r} has nothing on {source} to promote",
                remedy=Remedy(
                    cli=f"run `textloop deploy {name} --alias {source}` first",
                    api=f'deploy a version with "alias": "{source}" first: '
                    f"POST /v1/classifiers/{name}/deployments",
                ),
            )
        version = model.version
    return deploy_model(store, settings, name, version, force=force, alias=target)
