"""Access to the API: ``textloop init`` makes the data directory and the first admin key,
``textloop keys`` creates API keys (with an expiry and a usage plan), lists and revokes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, out
from textloop.errors import InvalidRequest

if TYPE_CHECKING:
    from textloop.security.usage import Plan
    from textloop.store.tables import ApiKey

app = typer.Typer()
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command()
def init(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Create the data directory and database, and print a new admin API key (shown once)."""
    from textloop.security.api_keys import create_api_key

    run = invocation(ctx)
    with run.store.session() as session:
        key = create_api_key(session, ["admin"], name="admin (init)")
        audit_command(ctx, session, f"key {key.id}", prefix=key.prefix, scopes=key.scopes)
    if as_json:
        emit_json({"api_key": key.key, "data_dir": str(run.settings.data_dir)})
        return
    out.print(f"Initialised [bold]{run.settings.data_dir}[/]")
    out.print("Admin API key (shown once, keep it safe):")
    out.print(key.key, highlight=False, soft_wrap=True)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: classify, feedback, review, metrics, admin.")
    ] = "classify,feedback",
    classifiers: Annotated[
        str | None, typer.Option(help="Comma-separated classifier names (default: all).")
    ] = None,
    name: Annotated[str, typer.Option(help="A note saying who the key is for.")] = "",
    user: Annotated[
        str | None,
        typer.Option(help="A portal account's email: the key reviews as that person."),
    ] = None,
    expires_in: Annotated[
        float | None, typer.Option("--expires-in", help="Days until the key stops working.")
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="When the key stops working: YYYY-MM-DD (its start, UTC) or ISO time."),
    ] = None,
    quota: Annotated[
        int | None, typer.Option(help="Requests per calendar month (UTC); default unlimited.")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="Requests per second on average; default unlimited.")
    ] = None,
    burst: Annotated[
        int | None,
        typer.Option(help="Requests that may come at once under --rate (default: a second's)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    from textloop.security.api_keys import create_api_key

    expires_at = _expiry(expires_in, expires)
    store = invocation(ctx).store
    with store.session() as session:
        key = create_api_key(
            session,
            [scope.strip() for scope in scopes.split(",") if scope.strip()],
            [c.strip() for c in classifiers.split(",") if c.strip()] if classifiers else None,
            name,
            user,
            expires_at=expires_at,
            monthly_quota=quota,
            rate_per_second=rate,
            burst=burst,
        )
        audit_command(
            ctx,
            session,
            f"key {key.id}",
            prefix=key.prefix,
            scopes=key.scopes,
            classifiers=key.classifiers,
            user=key.user,
            expires_at=expires_at.isoformat() if expires_at else None,
            monthly_quota=quota,
            rate_per_second=rate,
            burst=burst,
        )
    if as_json:
        emit_json(
            {
                "api_key": key.key,
                "id": key.id,
                "scopes": key.scopes,
                "classifiers": key.classifiers,
                "user": key.user,
                "expires_at": key.expires_at.isoformat() if key.expires_at else None,
                "plan": key.plan.__dict__ if key.plan else None,
            }
        )
        return
    limits = [f"expires {_moment(key.expires_at)}"] if key.expires_at else []
    limits += [key.plan.describe()] if key.plan else []
    details = f"; {'; '.join(limits)}" if limits else ""
    out.print(f"API key {key.id} with scopes {', '.join(key.scopes)}{details} (shown once):")
    out.print(key.key, highlight=False, soft_wrap=True)


def _expiry(days: float | None, date: str | None) -> datetime | None:
    if days is not None and date is not None:
        raise InvalidRequest("give --expires-in or --expires, not both", field="expires")
    if days is not None:
        if days <= 0:
            raise InvalidRequest("--expires-in takes a positive number of days", field="expires")
        return datetime.now(UTC) + timedelta(days=days)
    if date is None:
        return None
    try:
        moment = datetime.fromisoformat(date)
    except ValueError:
        raise InvalidRequest(
            f"--expires takes YYYY-MM-DD or an ISO date-time, not {date!r}", field="expires"
        ) from None
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(UTC)


@keys_app.command("list")
def keys_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every API key, newest first: scopes, classifiers, plan, expiry, last use, revocation."""
    from sqlalchemy import select

    from textloop.security.usage import Plan
    from textloop.store.tables import ApiKey

    with invocation(ctx).store.session() as session:
        records = session.scalars(select(ApiKey).order_by(ApiKey.id.desc())).all()
    if as_json:
        emit_json([_listed(record, Plan.of(record)) for record in records])
        return
    if not records:
        out.print("no API keys: `textloop keys create` makes one")
        return
    table = Table(
        "id", "key", "access", "plan", "expires", "last used", "revoked",
        box=box.SIMPLE_HEAD,
        caption="times in UTC",
    )  # fmt: skip
    for record in records:
        plan = Plan.of(record)
        where = ", ".join(record.classifiers) if record.classifiers else "all"
        table.add_row(
            str(record.id),
            escape(f"{record.prefix}… {record.name}".strip()),
            escape(f"{', '.join(record.scopes)} on {where}"),
            plan.describe() if plan else "unlimited",
            _moment(record.expires_at, "") or "never",
            _moment(record.last_used_at, "") or "never",
            _moment(record.revoked_at, ""),
            style="dim" if record.revoked_at else None,
        )
    out.print(table)


def _listed(record: ApiKey, plan: Plan | None) -> dict[str, Any]:
    return {
        "id": record.id,
        "prefix": record.prefix,
        "name": record.name,
        "scopes": record.scopes,
        "classifiers": record.classifiers,
        "plan": plan.__dict__ if plan else None,
        "expires_at": _iso(record.expires_at),
        "last_used_at": _iso(record.last_used_at),
        "revoked_at": _iso(record.revoked_at),
    }


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key_id: Annotated[int, typer.Argument(metavar="ID", help="The key's id (keys list).")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key: every server refuses it within a second. Revoking again changes nothing."""
    from textloop.security.api_keys import revoke_api_key

    with invocation(ctx).store.session() as session:
        record = revoke_api_key(session, key_id)
        revoked_at, prefix = record.revoked_at, record.prefix
        audit_command(ctx, session, f"key {key_id}", prefix=prefix)
    if as_json:
        emit_json({"id": key_id, "prefix": prefix, "revoked_at": _iso(revoked_at)})
        return
    out.print(f"Revoked API key {key_id} ({prefix}…) as of {_moment(revoked_at)}", highlight=False)


def _iso(moment: datetime | None) -> str | None:
    return _utc(moment).isoformat() if moment else None


def _moment(moment: datetime | None, zone: str = " UTC") -> str:
    return _utc(moment).strftime("%Y-%m-%d %H:%M") + zone if moment else ""


def _utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; they were stored in UTC. (Not
    ``store.tables.as_utc``: the CLI imports SQLAlchemy only when a command needs it.)"""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
