"""What the client raises, so that callers know what to catch.

    ClientError                    base: catch this for every failure the client reports
    ├── TransportError             no answer: connecting, sending or reading failed (retried)
    ├── ApiError                   the server answered an error: status, code, message, field
    │   ├── InvalidRequestError    400, 413, 415, 422: the request is wrong; ``field`` names it
    │   ├── AuthenticationError    401: a missing, unknown, revoked or expired API key
    │   ├── PermissionDeniedError  403: the key lacks the scope or may not use the classifier
    │   ├── NotFoundError          404: no such classifier, version, task, job or route
    │   ├── ConflictError          409: not in a state that allows it (an unblessed version)
    │   ├── RateLimitError         429: the key's usage plan refused it; see ``retry_after``
    │   └── ServerError            5xx: the server failed or is unavailable
    ├── JobFailedError             a waited-for job ended failed, dead or cancelled (``job``)
    └── WaitTimeoutError           a wait for a job ran out of time (also a ``TimeoutError``)

Every ``ApiError`` carries the API's one error shape, ``{"error": {"code", "message",
"field"}}``, and the response's headers (``Retry-After``, ``X-RateLimit-*``). A 429 or 503 is
raised only once the retries allowed by the ``RetryPolicy`` are spent, or at once when its
``Retry-After`` is longer than the policy will wait (a spent monthly quota). This module is the
client's own: it imports nothing of the server, so the client stays usable on its own.

An answer outside the API's shape is an ``ApiError`` too, never a decoder's error: any status
outside 2xx (``error_from``), a redirect among them (the client follows none; the error names
the ``Location``), and a 2xx whose body cannot be read (``unreadable_answer``).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

import httpx


class ClientError(Exception):
    """Base of every failure the client reports."""


class TransportError(ClientError):
    """No answer came: the connection failed, broke or timed out (httpx's error is the cause)."""


class ApiError(ClientError):
    """The server answered with an error in the API's error shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        request: str = "",
    ) -> None:
        where = f" ({request})" if request else ""
        on = f" [{field}]" if field else ""
        super().__init__(f"{status} {code}{on}: {message}{where}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers: Mapping[str, str] = httpx.Headers(headers or {})
        self.request = request  # "METHOD URL", for the log

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked the client to wait (``Retry-After``), when it said."""
        return retry_after_seconds(self.headers.get("retry-after"))


class InvalidRequestError(ApiError):
    """400, 413, 415 or 422: sending the same request again cannot succeed."""


class AuthenticationError(ApiError):
    """401: the API key is missing, unknown, revoked or expired."""


class PermissionDeniedError(ApiError):
    """403: a valid key without the scope, or limited to other classifiers."""


class NotFoundError(ApiError):
    """404: the classifier, version, task, job (or route) does not exist."""


class ConflictError(ApiError):
    """409: the thing is not in a state that allows the request."""


class RateLimitError(ApiError):
    """429: the key's usage plan refused the request (``rate_limited`` or ``quota_exceeded``)."""


class ServerError(ApiError):
    """5xx: the server failed (500) or cannot serve now (503)."""


class JobFailedError(ClientError):
    """A job the client waited for ended without succeeding; ``job`` is its last state."""

    def __init__(self, message: str, job: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.job = job


class WaitTimeoutError(ClientError, TimeoutError):
    """A wait ran out of time before the job finished; ``job`` is its last state."""

    def __init__(self, message: str, job: Mapping[str, Any]) -> None:
        super().__init__(message)
        self.job = job


BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: InvalidRequestError,
    415: InvalidRequestError,
    422: InvalidRequestError,
    429: RateLimitError,
}


def error_from(response: httpx.Response) -> ApiError:
    """The exception for an answer that is not a success (any status outside 2xx). A body not
    in the API's shape (a proxy's page, an empty one, broken JSON) still gives one, with the
    code ``http_error`` and the start of the body as its message. A redirect (3xx) is never
    followed: its error names the ``Location`` it pointed to, whatever its body."""
    code, message, field = "http_error", response.text[:300].strip(), None
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location", "").strip()[:300]
        to = f"redirected to {location}" if location else "redirected, with no Location"
        message = f"{to}; the client does not follow redirects"
    else:
        try:
            detail = response.json()["error"]
            code, message, field = str(detail["code"]), str(detail["message"]), detail.get("field")
        except (ValueError, KeyError, TypeError):
            message = message or response.reason_phrase
    kind = BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return kind(status, code, message, field, response.headers, _request(response))


def unreadable_answer(response: httpx.Response, error: Exception) -> ApiError:
    """The exception for a success (2xx) whose body cannot be read as the call expects (not
    JSON: an HTML page, an empty body), with the code ``invalid_response``."""
    kind = response.headers.get("content-type", "no Content-Type")
    start = response.text[:300].strip()
    body = f": {start}" if start else ", an empty body"
    message = f"the answer cannot be read ({type(error).__name__}; {kind}){body}"
    return ApiError(
        response.status_code,
        "invalid_response",
        message,
        headers=response.headers,
        request=_request(response),
    )


def _request(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url}"


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds, or an HTTP date."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
