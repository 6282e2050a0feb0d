"""The audit log from the command line: ``textloop audit`` reads it, and ``audit_command`` is how
every command that changes something leaves its entry (actor ``cli USER@HOST``, source ``cli``).

Only commands that finish are recorded: whoever runs the CLI holds the database itself, so the
entry says what was done rather than guarding anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, fail, out

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from textloop.store import Store


app = typer.Typer()


@app.command()
def audit(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many of the newest entries (at most 500).")] = 50,
    action: Annotated[
        str | None, typer.Option(help='Only actions containing this ("deploy").')
    ] = None,
    target: Annotated[str | None, typer.Option(help="Only this classifier, task or key.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Who did what, when and from where: admin actions and review decisions, newest first."""
    from textloop.security.audit import MAX_PAGE, AuditFilter, entry_dict, list_entries

    if not 1 <= limit <= MAX_PAGE:
        fail(f"--limit must be between 1 and {MAX_PAGE}, got {limit}")
    with invocation(ctx).store.session() as session:
        where = AuditFilter(action=action, target=target)
        entries = [entry_dict(entry) for entry in list_entries(session, where, limit=limit)]
    if as_json:
        emit_json(entries)
        return
    for entry in entries:
        status = entry["status"] if entry["status"] is not None else "-"
        out.print(
            f"{entry['id']:>6}  {entry['at'][:19].replace('T', ' ')}  {status:>3}  "
            f"{entry['actor']}  {entry['action']}  {entry['target'] or '-'}  "
            f"from {entry['source'] or '?'}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def audit_command(
    ctx: typer.Context, where: Store | Session, target: str | None = None, **details: Any
) -> None:
    """Record the running command (``textloop keys create``) in the audit log: in ``where``'s
    open unit of work when given a session (stored with the change), else in one of its own."""
    from sqlalchemy.orm import Session

    from textloop.security.audit import CLI_SOURCE, cli_actor, record

    # "keys create", whatever the program was called as (textloop, python -m textloop)
    command = ctx.command_path.removeprefix(ctx.find_root().command_path).strip()
    action = f"textloop {command}"

    def write(session: Session) -> None:
        record(session, cli_actor(), action, target, None, CLI_SOURCE, details)

    if isinstance(where, Session):
        write(where)
        return
    with where.session() as session:
        write(session)
