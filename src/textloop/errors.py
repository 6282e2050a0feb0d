"""Exceptions textloop raises on purpose; anything else is a bug.

    TextloopError                 base: catch this to handle every expected failure
    ├── ConfigError               settings or the TOML file are unusable
    ├── DataError                 an input file or table cannot be ingested (names the problem)
    │   ├── DataTooLarge          a file that decodes past a row or size limit     (HTTP 413)
    │   ├── NotText               a value with no faithful text (``data.values``)
    │   ├── InvalidUtf8           bytes that are not UTF-8, with their line (``data.encoding``)
    │   ├── LineTooLong           a CSV, TSV or JSONL line past its limit (``data.encoding``)
    │   ├── UnsupportedEncoding   not a text encoding (HTTP 415, ``data.encoding``)
    │   └── UnsafeInput           a link, device or FIFO where a file is read (``data.untrusted``)
    ├── NotFound                  a classifier, dataset, model version or prediction is missing
    │   └── ArtifactMissing       an artifact's folder is not in the store (``artifacts``)
    ├── InvalidRequest            a well-formed request that makes no sense (unknown label, ...)
    │   ├── IdempotencyKeyReused  an Idempotency-Key sent again with another request (HTTP 422)
    │   └── RefusedDestination    a webhook URL textloop may not send to (``notifications``)
    ├── RequestInProgress         the first request with that Idempotency-Key still runs (HTTP 409)
    ├── Conflict                  a thing in a state that does not allow this      (HTTP 409)
    │   └── LeaseLost             a worker's job was taken over while it ran (``jobs.lease``)
    ├── MalformedBody             a JSON body that is not UTF-8                    (HTTP 400)
    ├── TooLarge                  a body or upload over a configured limit         (HTTP 413)
    ├── UnsupportedMediaType      a body in a Content-Type the route does not take (HTTP 415)
    ├── AuthError                 missing, unknown or revoked API key          (HTTP 401)
    │   └── Forbidden             a valid key without the scope or classifier  (HTTP 403)
    ├── TrainingError             training could not produce a model
    ├── NotBlessed                deploying a version that failed (or skipped) blessing (HTTP 409)
    ├── ArtifactStoreUnreachable  the artifact store did not answer (``artifacts``)  (HTTP 503)
    ├── TooManyRequests           a key's usage plan refuses the request       (HTTP 429)
    │   ├── RateLimited           its token bucket is empty: retry in seconds
    │   └── QuotaExceeded         its monthly quota is spent: retry next month
    └── ServerFailed              ``textloop bench`` could not start its server (``bench``)

The classes named with a module are defined there, beside what raises them. ``NotText`` and
``InvalidUtf8`` are ``ValueError``s too (they were before they joined this tree), as is
``LineTooLong``, its sibling; their callers turn them into a ``DataError`` naming the file, or
a ``MalformedBody``.

Not in this tree, on purpose: ``ValueError``, ``RuntimeError`` and ``NotImplementedError`` for
misuse of an API by code (a model used before ``fit``, a pipeline whose steps are out of order:
programming errors), exceptions a library's protocol asks for (a pydantic validator's
``ValueError``, a JSON ``default``'s ``TypeError``), ``bench.wire.ProtocolError`` (a transport
failure, counted with ``OSError``), and control flow its own layer catches (a batch job's
``Cancelled``, the portal's ``SignInRequired``, which becomes a redirect to the login page).

The HTTP layer maps each class to one status code and one JSON error shape (plus the error's
``headers``, such as ``Retry-After``); the CLI prints the message on one line and exits non-zero.
An error whose fix is an action the caller takes carries a ``Remedy``, phrased once for each
surface, so that an HTTP client is never told to run a command nor a person at a shell to send
a JSON field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Remedy:
    """What fixes an error, in the words of the command line and of the HTTP API."""

    cli: str
    api: str


class TextloopError(Exception):
    """Base of every expected failure; ``code`` is the machine-readable error name.

    ``message`` states what is wrong; ``remedy``, when there is one, what to do about it.
    """

    code = "error"
    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        remedy: Remedy | None = None,
    ) -> None:
        super().__init__(message if remedy is None else f"{message}; {remedy.cli}")
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.remedy = remedy

    def for_cli(self) -> str:
        return self.message if self.remedy is None else f"{self.message}; {self.remedy.cli}"

    def for_api(self) -> str:
        return self.message if self.remedy is None else f"{self.message}; {self.remedy.api}"


class ConfigError(TextloopError):
    code = "config_error"
    status_code = 500


class DataError(TextloopError):
    code = "invalid_data"
    status_code = 422


class DataTooLarge(DataError):
    code = "too_large"
    status_code = 413


class NotFound(TextloopError):
    code = "not_found"
    status_code = 404


class InvalidRequest(TextloopError):
    code = "invalid_request"
    status_code = 422


class IdempotencyKeyReused(InvalidRequest):
    code = "idempotency_key_reused"


class RequestInProgress(TextloopError):
    code = "idempotency_key_in_use"
    status_code = 409


class Conflict(TextloopError):
    """The thing exists but is not in a state that allows this (a finished job cancelled)."""

    code = "conflict"
    status_code = 409


class MalformedBody(TextloopError):
    code = "malformed_json"
    status_code = 400


class TooLarge(TextloopError):
    code = "too_large"
    status_code = 413


class UnsupportedMediaType(TextloopError):
    code = "unsupported_media_type"
    status_code = 415


class AuthError(TextloopError):
    code = "unauthorized"
    status_code = 401


class Forbidden(AuthError):
    code = "forbidden"
    status_code = 403


class TrainingError(TextloopError):
    code = "training_failed"
    status_code = 409


class NotBlessed(TextloopError):
    code = "not_blessed"
    status_code = 409


class TooManyRequests(TextloopError):
    """Carries ``Retry-After`` (and the quota's ``X-RateLimit-*``) in ``headers``."""

    code = "too_many_requests"
    status_code = 429


class RateLimited(TooManyRequests):
    code = "rate_limited"


class QuotaExceeded(TooManyRequests):
    code = "quota_exceeded"
