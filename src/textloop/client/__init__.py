"""The Python client of textloop's HTTP API: ``Client`` (blocking) and ``AsyncClient``.

    from textloop import Client

    with Client("http://127.0.0.1:8000", api_key) as client:
        answer = client.classify("support", "my card was charged twice")
        job = client.batch_jobs.submit("support", "tickets.csv")
        client.batch_jobs.wait(job["id"])
        client.batch_jobs.download(job["id"], "labelled.csv")

Layout: ``client`` (the two clients), ``resources`` (the methods, a module per area, each
naming the route it calls: ``routes``), ``runner`` (a call to its answer), ``transport``
(retries, backoff, ``Retry-After``), ``errors`` (what is raised), ``schemas`` (the answers'
shapes). It needs only httpx and the standard library: nothing of the server is imported, so
it is light to import and can talk to a server of its own release from anywhere.
"""

from textloop.client.client import AsyncClient, Client
from textloop.client.errors import (
    ApiError,
    AuthenticationError,
    ClientError,
    ConflictError,
    InvalidRequestError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    WaitTimeoutError,
)
from textloop.client.transport import Retry, RetryPolicy

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ClientError",
    "ConflictError",
    "InvalidRequestError",
    "JobFailedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "Retry",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "WaitTimeoutError",
]
