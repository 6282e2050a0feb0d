"""Signing in and out of the portal.

The login page shows only messages of its own (``LOGIN_ERRORS``, chosen by a code in the
address): text from a link is never shown, so nobody can put their words on our page. The login
form's CSRF token is tied to a cookie of its own, the session's to the session.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from textloop.errors import AuthError, TooManyRequests
from textloop.security.accounts import sign_in, sign_out
from textloop.serving.deps import SessionDep
from textloop.serving.policy import portal
from textloop.serving.portal.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Form,
    PortalAccount,
    check_csrf,
    new_login_token,
)
from textloop.serving.portal.templating import templates

router = APIRouter(include_in_schema=False)

LOGIN_ERRORS = {
    "credentials": "wrong email or password",
    "throttled": "too many failed sign-ins for this account or from this address: try again later",
    "session_ended": "your session has ended: sign in again",
}


@router.get("/login", response_class=HTMLResponse)
@portal()
def login_page(request: Request, error: str | None = None) -> Response:
    """The login form; ``?error=CODE`` shows one of ``LOGIN_ERRORS``, any other value nothing."""
    return _login_form(request, LOGIN_ERRORS.get(error or ""))


@router.post("/login")
@portal()
def login(request: Request, session: SessionDep, form: Form) -> Response:
    check_csrf(request.cookies.get(LOGIN_CSRF_COOKIE), form)
    address = request.client.host if request.client else None  # never X-Forwarded-For
    try:
        token, _ = sign_in(session, form.get("email", ""), form.get("password", ""), address)
    except TooManyRequests as exc:  # its message is ours, with the minutes to wait
        session.rollback()
        return _login_form(request, exc.message, 429, exc.headers)
    except AuthError:
        session.rollback()
        return _login_form(request, LOGIN_ERRORS["credentials"])
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=_https(request)
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _login_form(
    request: Request,
    error: str | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = new_login_token()
    response = templates.TemplateResponse(
        request, "login.html", {"csrf_token": token, "error": error}, status, headers
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_https(request)
    )
    return response


@router.post("/logout")
@portal()
def logout(request: Request, session: SessionDep, account: PortalAccount, form: Form) -> Response:
    check_csrf(account.csrf_token, form)
    sign_out(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _https(request: Request) -> bool:
    """Cookies served over TLS are sent back over TLS only."""
    return request.url.scheme == "https"
