"""The admin's "Discover labels" page: clusters of a classifier's recent doubted texts
(``review.discovery``), each with a form that adds it as a new label and sends its texts to
review suggesting it (``review.discovered_labels``).

The page reads the predictions in a short transaction and embeds and clusters them after it has
ended, never inside one. Each cluster's form carries the cluster's prediction ids, so the label
is added from exactly the texts the admin saw, whatever arrived since; the window the portal
looks at is at most ``MAX_WINDOW`` predictions, which keeps the ids within a form's size. After
adding, the page says what was done as its audit entry recorded it, so that the address names
only the classifier and the label, and a link cannot put counts of its own on the page.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from textloop.errors import InvalidRequest
from textloop.review.clustering import MIN_CLUSTER_SIZE
from textloop.review.discovered_labels import add_label_from_cluster
from textloop.review.discovery import Window, clusters_of, parse_since, read_candidates
from textloop.serving.audit_trail import note
from textloop.serving.deps import RuntimeDep, SessionDep
from textloop.serving.policy import Audit, portal
from textloop.serving.portal.session import Form, PortalAccount, check_csrf
from textloop.serving.portal.templating import templates
from textloop.serving.routes.audit import Blank, Words
from textloop.store.tables import AuditEntry, Classifier

router = APIRouter(prefix="/admin", include_in_schema=False)
MAX_WINDOW = 1000  # predictions: their ids, 33 bytes each, fit a form (``MAX_FORM_BYTES``)
SINCE = {"1d": "day", "7d": "week", "30d": "30 days", "90d": "90 days"}
ADD_ACTION = "POST /admin/discover/{name}/labels"  # its audit entries hold what was added

Since = Literal["1d", "7d", "30d", "90d"]
Limit = Annotated[int, Query(ge=1, le=MAX_WINDOW)]


@router.get("/discover", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION, reads_predictions=True)
def discover_page(
    request: Request,
    runtime: RuntimeDep,
    account: PortalAccount,
    classifier: Annotated[Words, Blank, Query()] = None,
    since: Since = "30d",
    limit: Limit = MAX_WINDOW,
    added: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The window chooser; with ``classifier``, its clusters. ``added`` names the label just
    added to it."""
    account.require_admin()
    with runtime.store.session() as session:
        names = list(session.scalars(select(Classifier.name).order_by(Classifier.name)))
        confirmed = _added(session, classifier, added) if classifier and added else None
    chosen = classifier or (names[0] if len(names) == 1 else None)
    found = None
    if chosen:
        candidates = read_candidates(runtime.store, chosen, Window(parse_since(since), limit))
        found = clusters_of(candidates, runtime.models, torch=False)  # no transaction open
    return templates.TemplateResponse(
        request,
        "admin_discover.html",
        {
            "account": account,
            "names": names,
            "chosen": chosen,
            "since": since,
            "since_words": SINCE,
            "limit": limit,
            "max_window": MAX_WINDOW,
            "min_size": MIN_CLUSTER_SIZE,
            "found": found,
            "confirmed": confirmed,
        },
    )


@router.post("/discover/{name}/labels")
@portal(audit=Audit.ADMIN_ACTION)
def add_label(
    name: str, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    """Add ``label`` to ``name`` from the cluster of ``predictions`` (its prediction ids,
    separated by spaces) and send the cluster's texts to review suggesting it."""
    account.require_admin()
    check_csrf(account.csrf_token, form)
    label = form.get("label", "")
    ids = form.get("predictions", "").split()
    note(request, label=label.strip(), cluster=form.get("cluster", ""), predictions=len(ids))
    if not ids:
        raise InvalidRequest("the form names no cluster's predictions; reload the page")
    added = add_label_from_cluster(session, name, label, ids)
    note(request, **added.as_dict())
    back = {"classifier": name, "added": added.label}
    if form.get("since") in SINCE:
        back["since"] = form["since"]
    return RedirectResponse(f"/admin/discover?{urlencode(back)}", status_code=303)


def _added(session: SessionDep, name: str, label: str) -> str | None:
    """What adding ``label`` to ``name`` did, as the newest audit entry of it says; None when no
    entry says it was added (the address alone proves nothing)."""
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == ADD_ACTION, AuditEntry.status == 303)
        .where(AuditEntry.target == name)
        .order_by(AuditEntry.id.desc())
        .limit(20)
    )
    details = next(
        (e.details for e in entries if (e.details or {}).get("label") == label and e.details),
        None,
    )
    if details is None:
        return None
    return (
        f"Added “{label}” to {name}: {details.get('texts', 0)} texts to review suggesting it "
        f"({details.get('opened', 0)} new tasks, {details.get('resuggested', 0)} open tasks "
        f"now suggest it, {details.get('left', 0)} left as they were). The model answers it "
        "after the next retrain."
    )
