"""Portal accounts from the CLI: ``textloop users create``, ``list``, ``disable``, ``enable`` and
``remove``.

Disabling ends the person's sessions at once; removal is refused while they have review
decisions; the last active admin can be neither disabled nor removed (``security.accounts``).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, out

app = typer.Typer()
users_app = typer.Typer(help="People who sign in to the review portal.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create")
def users_create(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The person's email address, their sign-in name.")],
    role: Annotated[str, typer.Option(help="admin or reviewer.")] = "reviewer",
    classifiers: Annotated[
        str | None,
        typer.Option(help="Comma-separated classifiers a reviewer may review (default: all)."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a portal account; the password is prompted for (twice) unless --password-stdin."""
    from textloop.security.accounts import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    limited = [c.strip() for c in classifiers.split(",") if c.strip()] if classifiers else None
    store = invocation(ctx).store
    with store.session() as session:
        user = create_user(session, email, password, role, limited)
        assigned = list(user.classifiers) if user.classifiers is not None else None
        created = {"id": user.id, "email": user.email, "role": user.role, "classifiers": assigned}
        audit_command(ctx, session, user.email, role=user.role, classifiers=assigned)
    if as_json:
        emit_json(created)
        return
    scope = ", ".join(assigned) if assigned else "every classifier"
    out.print(f"Created {role} {created['email']} ({scope})", highlight=False)


@users_app.command("list")
def users_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every portal account: email, role, the classifiers a reviewer may review, and status."""
    from textloop.security.accounts import list_users

    with invocation(ctx).store.session() as session:
        users: list[dict[str, Any]] = [
            {
                "id": user.id,
                "email": user.email,
                "role": user.role,
                "classifiers": user.classifiers,
                "disabled": user.disabled,
                "created_at": user.created_at.isoformat(),
            }
            for user in list_users(session)
        ]
    if as_json:
        emit_json(users)
        return
    if not users:
        out.print("no portal accounts yet: `textloop users create EMAIL` makes one")
        return
    table = Table("id", "email", "role", "classifiers", "status")
    for user in users:
        table.add_row(
            str(user["id"]),
            str(user["email"]),
            str(user["role"]),
            ", ".join(user["classifiers"] or []) or "all",
            "disabled" if user["disabled"] else "active",
        )
    out.print(table, markup=False)


EmailArgument = Annotated[str, typer.Argument(help="The account's email address.")]


@users_app.command("disable")
def users_disable(ctx: typer.Context, email: EmailArgument, as_json: JsonFlag = False) -> None:
    """Stop a person signing in to the portal; their open sessions end now."""
    from textloop.security.accounts import disable_user, find_user

    with invocation(ctx).store.session() as session:
        user = find_user(session, email)
        ended = disable_user(session, user)
        audit_command(ctx, session, user.email, role=user.role, sessions_ended=ended)
        done = {"id": user.id, "email": user.email, "disabled": True, "sessions_ended": ended}
    if as_json:
        emit_json(done)
        return
    out.print(f"Disabled {done['email']} ({ended} open sessions ended)", highlight=False)


@users_app.command("enable")
def users_enable(ctx: typer.Context, email: EmailArgument, as_json: JsonFlag = False) -> None:
    """Let a disabled person sign in again (with the password they had)."""
    from textloop.security.accounts import enable_user, find_user

    with invocation(ctx).store.session() as session:
        user = find_user(session, email)
        enable_user(session, user)
        audit_command(ctx, session, user.email, role=user.role)
        done = {"id": user.id, "email": user.email, "disabled": False}
    if as_json:
        emit_json(done)
        return
    out.print(f"Enabled {done['email']}", highlight=False)


@users_app.command("remove")
def users_remove(ctx: typer.Context, email: EmailArgument, as_json: JsonFlag = False) -> None:
    """Delete an account that has made no review decisions (disable one that has)."""
    from textloop.security.accounts import find_user, remove_user

    with invocation(ctx).store.session() as session:
        user = find_user(session, email)
        done = {"id": user.id, "email": user.email, "removed": True}
        role = user.role
        remove_user(session, user)
        audit_command(ctx, session, str(done["email"]), role=role)
    if as_json:
        emit_json(done)
        return
    out.print(f"Removed {done['email']}", highlight=False)
