"""Who is signed in to the portal, and the CSRF check every form goes through.

The session token lives in an HttpOnly, SameSite=Strict cookie; each session has a CSRF token
that forms echo in a hidden field. Before sign-in, the login form is protected the same way by a
random token in a separate cookie (double submit). Pages that need a person raise
``SignInRequired``, which the portal turns into a redirect to the login page.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request

from textloop.data.storable import unstorable
from textloop.errors import Forbidden, InvalidRequest
from textloop.security.accounts import Account, account_for
from textloop.serving.content_type import media_type
from textloop.serving.context import context_of
from textloop.serving.deps import SessionDep

SESSION_COOKIE = "textloop_session"
LOGIN_CSRF_COOKIE = "textloop_login_csrf"
MAX_FORM_BYTES = 64 * 1024  # the largest form; serving.limits refuses larger bodies


class SignInRequired(Exception):
    """Raised by a page that needs a signed-in person; answered with a redirect to /login."""


def optional_account(request: Request, session: SessionDep) -> Account | None:
    account = account_for(session, request.cookies.get(SESSION_COOKIE))
    session.rollback()  # end the read: the page's own writes start a transaction of their own
    context_of(request).account = account  # for the audit log
    return account


def signed_in(account: Annotated[Account | None, Depends(optional_account)]) -> Account:
    if account is None:
        raise SignInRequired()
    return account


PortalAccount = Annotated[Account, Depends(signed_in)]


async def form_data(request: Request) -> dict[str, str]:
    """The URL-encoded form of a POST, first value of each field (none for an empty body)."""
    body = await request.body()
    if not body:
        return {}
    if media_type(request.headers) != "application/x-www-form-urlencoded":
        raise InvalidRequest("forms must be sent as application/x-www-form-urlencoded")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidRequest("the form is not valid UTF-8") from None
    form = {name: values[0] for name, values in fields.items()}
    for name, value in form.items():
        reason = unstorable(value) or unstorable(name)
        if reason is not None:
            raise InvalidRequest(f"form field {name!r} {reason}", field=name)
    return form


Form = Annotated[dict[str, str], Depends(form_data)]


def check_csrf(expected: str | None, form: dict[str, str]) -> None:
    """Refuse a form whose token is missing or wrong: it may come from another site."""
    given = form.get("csrf_token", "")
    if not expected or not hmac.compare_digest(expected, given):
        raise Forbidden("the form's security token is missing or expired; reload the page")


def new_login_token() -> str:
    return secrets.token_urlsafe(32)
