"""``textloop webhooks``: where events are POSTed, signed with HMAC-SHA256, and the log of
each delivery.

A URL is shown without its credentials once stored, in the output and in the audit log alike.
"""

from __future__ import annotations

from typing import Annotated

import typer

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, out

app = typer.Typer()
webhooks_app = typer.Typer(help="Where events are POSTed, signed.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("add")
def webhooks_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where to POST events (http or https).")],
    secret_stdin: Annotated[
        bool, typer.Option("--secret-stdin", help="Read the signing secret from stdin.")
    ] = False,
    secret: Annotated[
        str | None, typer.Option(help="The signing secret (16+ characters).", hidden=True)
    ] = None,
    classifier: Annotated[
        str | None, typer.Option(help="Only this classifier's events (default: all).")
    ] = None,
    events: Annotated[
        str | None, typer.Option(help="Comma-separated event types (default: all).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send events to URL, signed with HMAC-SHA256 in X-Textloop-Signature."""
    import sys

    from textloop.notifications.destinations import Destinations, without_credentials
    from textloop.notifications.webhooks import add_webhook

    key = sys.stdin.readline().strip() if secret_stdin else secret
    if key is None:
        key = typer.prompt("Signing secret", hide_input=True)
    types = [t.strip() for t in events.split(",") if t.strip()] if events else None
    run = invocation(ctx)
    destinations = Destinations(run.settings.webhook_allowed_hosts)
    with run.store.session() as session:
        hook = add_webhook(session, url, key, classifier, types, destinations)
        summary = {"id": hook.id, "url": hook.url, "events": hook.event_types or "all"}
        shown = without_credentials(hook.url)
        audit_command(ctx, session, f"webhook {hook.id}", url=shown, classifier=classifier)
    if as_json:
        emit_json(summary)
        return
    out.print(f"webhook {summary['id']} → {without_credentials(url)}", highlight=False)


WebhookId = Annotated[int, typer.Argument(help="Webhook id (from `webhooks add` or the portal).")]


@webhooks_app.command("disable")
def webhooks_disable(ctx: typer.Context, webhook_id: WebhookId, as_json: JsonFlag = False) -> None:
    """Send a webhook nothing more until enabled; deliveries already queued wait, in order."""
    _switch(ctx, webhook_id, active=False, as_json=as_json)


@webhooks_app.command("enable")
def webhooks_enable(ctx: typer.Context, webhook_id: WebhookId, as_json: JsonFlag = False) -> None:
    """Send to a disabled webhook again, the deliveries queued meanwhile first."""
    _switch(ctx, webhook_id, active=True, as_json=as_json)


@webhooks_app.command("delete")
def webhooks_delete(ctx: typer.Context, webhook_id: WebhookId, as_json: JsonFlag = False) -> None:
    """Delete a webhook and its deliveries, sent or not."""
    from textloop.notifications.destinations import without_credentials
    from textloop.notifications.webhooks import delete_webhook, get_webhook

    with invocation(ctx).store.session() as session:
        hook = get_webhook(session, webhook_id)
        shown = without_credentials(hook.url)
        delete_webhook(session, hook)
        audit_command(ctx, session, f"webhook {webhook_id}", url=shown)
    if as_json:
        emit_json({"id": webhook_id, "url": shown, "deleted": True})
        return
    out.print(f"deleted webhook {webhook_id} ({shown})", highlight=False, markup=False)


def _switch(ctx: typer.Context, webhook_id: int, active: bool, as_json: bool) -> None:
    from textloop.notifications.destinations import without_credentials
    from textloop.notifications.webhooks import get_webhook, set_active

    with invocation(ctx).store.session() as session:
        hook = get_webhook(session, webhook_id)
        shown = without_credentials(hook.url)
        set_active(session, hook, active)
        audit_command(ctx, session, f"webhook {webhook_id}", url=shown, active=active)
    if as_json:
        emit_json({"id": webhook_id, "url": shown, "active": active})
        return
    state = "enabled" if active else "disabled"
    out.print(f"{state} webhook {webhook_id} ({shown})", highlight=False, markup=False)


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many of the newest deliveries.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """The delivery log: each event sent to each webhook, its attempts and the answer."""
    from textloop.notifications.webhooks import delivery_log

    with invocation(ctx).store.session() as session:
        rows = delivery_log(session, limit)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        out.print(
            f"{row['id']:>6}  webhook {row['webhook']}  event {row['event']} {row['type']:<16} "
            f"{row['status']:<9} attempts {row['attempts']}  {row['error'] or ''}",
            highlight=False,
            markup=False,
        )
