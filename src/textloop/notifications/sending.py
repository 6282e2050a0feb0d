"""One webhook POST to a checked ``Destination``: to the address that was checked, once.

``http.client`` rather than ``urllib``: it follows no redirect (a 3xx is the receiver's answer,
recorded as a failure, and the signed body and its headers go nowhere else) and it uses no proxy
from the environment (a proxy would connect wherever the name resolves for it). Whatever goes
wrong before an HTTP answer is reported as one sentence, "could not connect to the receiver",
so that the delivery log cannot be read as a port scan; the details go to the server's log.
"""

from __future__ import annotations

import base64
import http.client
import logging
import socket
import ssl

from textloop.notifications.destinations import Destination

log = logging.getLogger("textloop.webhooks")
COULD_NOT_CONNECT = "could not connect to the receiver"
# Addresses tried per attempt: with the timeout per socket operation, an attempt stays well
# inside the time a claimed delivery is left to its claimer (``webhooks.IN_FLIGHT``).
MAX_ADDRESSES = 2


class _Pinned(http.client.HTTPConnection):
    """Connects to ``address`` instead of resolving ``host`` again; the Host header and the
    TLS server name stay the URL's host."""

    address = ""

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTP(_Pinned):
    pass


class _PinnedHTTPS(http.client.HTTPSConnection, _Pinned):
    pass


def post(
    destination: Destination, payload: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None]:
    """POST ``payload``: (the answer's status, ``None``) on a 2xx, else (status or ``None``,
    why it failed). Each checked address is tried in turn until one connects."""
    headers = dict(headers)
    if destination.credentials is not None:
        token = base64.b64encode(":".join(destination.credentials).encode("utf-8")).decode()
        headers["Authorization"] = f"Basic {token}"
    for address in destination.addresses[:MAX_ADDRESSES]:
        connection = _connection(destination, str(address), timeout)
        try:
            connection.request("POST", destination.target, body=payload, headers=headers)
            response = connection.getresponse()  # the status is the answer: no body is read
        except (OSError, http.client.HTTPException) as exc:
            log.info("webhook to %s via %s: %r", destination.host, address, exc)
            continue
        finally:
            connection.close()
        return _judged(response.status)
    return None, COULD_NOT_CONNECT


def _connection(destination: Destination, address: str, timeout: float) -> _Pinned:
    connection: _Pinned
    if destination.scheme == "https":
        context = ssl.create_default_context()
        connection = _PinnedHTTPS(
            destination.host, destination.port, timeout=timeout, context=context
        )
    else:
        connection = _PinnedHTTP(destination.host, destination.port, timeout=timeout)
    connection.address = address
    return connection


def _judged(status: int) -> tuple[int, str | None]:
    if 200 <= status < 300:
        return status, None
    if 300 <= status < 400:
        return status, f"the receiver answered {status}; redirects are not followed"
    return status, f"the receiver answered {status}"
