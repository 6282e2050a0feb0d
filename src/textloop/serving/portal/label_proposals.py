"""New labels in the portal: a reviewer proposes one from the task page (deciding the task "none
of these"), and admins approve or reject each proposed name on the "Proposed labels" page.

The proposing form sits beside the task's decision form, not in it, so that Enter in its box
sends the name and never a label button. Every form checks its CSRF token first; the admin
page and its forms require the ``admin`` role. After approving or rejecting, the address names
only a proposal's id, and the page reads what was done back from the database.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from textloop.errors import NotFound
from textloop.review import label_proposals
from textloop.review.assignments import NONE_WORD
from textloop.serving.audit_trail import note
from textloop.serving.deps import SessionDep
from textloop.serving.policy import Audit, portal
from textloop.serving.portal.session import Form, PortalAccount, check_csrf
from textloop.serving.portal.templating import templates
from textloop.serving.schemas import MAX_ROW_ID
from textloop.store.tables import (
    Classifier,
    LabelProposal,
    ProposalStatus,
    ReviewStatus,
    ReviewTask,
)

router = APIRouter(include_in_schema=False)
PROPOSED = "proposed_label"  # the task page's field
LABEL = "label"  # the admin page's field: the proposed name approved or rejected

ProposalId = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]


@router.post("/tasks/{task_id}/propose")
@portal(audit=Audit.DECISION)
def propose_label(
    task_id: str, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    """Decide the task "none of these" and propose the name typed beside it as a new label."""
    check_csrf(account.csrf_token, form)
    task = session.get(ReviewTask, task_id)
    classifier = session.get(Classifier, task.classifier_id) if task else None
    if task is None or classifier is None:
        raise NotFound(f"review task {task_id!r} does not exist")
    account.require_classifier(classifier.name)
    name = form.get(PROPOSED, "")
    note(request, classifier=classifier.name, label=None, proposed_label=name.strip())
    label_proposals.propose(session, task_id, account.user_id, name)
    return RedirectResponse(f"/queues/{classifier.name}/next?saved={task_id}", status_code=303)


@router.get("/admin/proposals", response_class=HTMLResponse)
@portal(audit=Audit.ADMIN_ACTION)
def proposals_page(
    request: Request, session: SessionDep, account: PortalAccount, decided: ProposalId = None
) -> Response:
    """Every pending proposed name, the most proposed first; ``decided`` names a proposal the
    admin just approved or rejected."""
    account.require_admin()
    return templates.TemplateResponse(
        request,
        "admin_proposals.html",
        {
            "account": account,
            "names": label_proposals.pending_names(session),
            "none_word": NONE_WORD,
            "confirmed": _decided(session, decided),
        },
    )


@router.post("/admin/proposals/{name}/approve")
@portal(audit=Audit.ADMIN_ACTION)
def approve_label(
    name: str, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    """Add the proposed ``label`` to classifier ``name``; its tasks train on it."""
    account.require_admin()
    check_csrf(account.csrf_token, form)
    label = form.get(LABEL, "")
    note(request, label=label.strip())
    outcome = label_proposals.approve(session, name, label, account.user_id)
    note(request, label_added=outcome.label_added, relabelled=len(outcome.relabelled))
    return _back(session, outcome)


@router.post("/admin/proposals/{name}/reject")
@portal(audit=Audit.ADMIN_ACTION)
def reject_label(
    name: str, request: Request, session: SessionDep, account: PortalAccount, form: Form
) -> Response:
    """Turn the proposed ``label`` down; its tasks stay "none of these"."""
    account.require_admin()
    check_csrf(account.csrf_token, form)
    label = form.get(LABEL, "")
    note(request, label=label.strip())
    outcome = label_proposals.reject(session, name, label, account.user_id)
    return _back(session, outcome)


def _back(session: SessionDep, outcome: label_proposals.Outcome) -> Response:
    """To the page, naming one proposal the change decided (the newest of the name)."""
    decided = session.scalar(
        select(LabelProposal.id)
        .join(Classifier, Classifier.id == LabelProposal.classifier_id)
        .where(
            Classifier.name == outcome.classifier,
            LabelProposal.name == outcome.name,
            LabelProposal.status == outcome.status,
        )
        .order_by(LabelProposal.id.desc())
        .limit(1)
    )
    return RedirectResponse(f"/admin/proposals?decided={decided}", status_code=303)


def _decided(session: SessionDep, proposal_id: int | None) -> str | None:
    """What became of the proposal's name, from the database."""
    proposal = session.get(LabelProposal, proposal_id) if proposal_id else None
    classifier = session.get(Classifier, proposal.classifier_id) if proposal else None
    if proposal is None or classifier is None:
        return None
    if proposal.status == ProposalStatus.REJECTED:
        return f"Rejected “{proposal.name}” for {classifier.name}: its tasks stay {NONE_WORD}"
    if proposal.status != ProposalStatus.APPROVED:
        return None
    training = session.scalar(
        select(func.count())
        .select_from(ReviewTask)
        .where(
            ReviewTask.classifier_id == classifier.id,
            ReviewTask.status == ReviewStatus.DONE,
            ReviewTask.final_label == proposal.name,
            ReviewTask.merged_into.is_(None),
        )
    )
    tasks, wait = (
        ("1 reviewed task", "waits") if training == 1 else (f"{training} reviewed tasks", "wait")
    )
    return (
        f"Approved “{proposal.name}”: a label of {classifier.name} now; {tasks} labelled with "
        f"it {wait} for the next retrain"
    )
