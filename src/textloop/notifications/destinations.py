"""Where webhooks may send: public addresses only, unless an operator names a host.

A webhook URL is chosen by whoever holds an admin key, and the server then POSTs to it from
inside the network it runs in; left open, that is a way to reach the database, the cloud
metadata service or any port on the host, and to tell open ports from closed ones by the
delivery log. So every address a URL's host resolves to must be public: not loopback,
link-local, private, unspecified, multicast or otherwise reserved (IPv4 inside IPv6 is judged
as the IPv4 address it carries). ``webhook_allowed_hosts`` names the exceptions, by the host as
written in the URL.

The check runs when a webhook is added and again before every delivery, since what a name
resolves to can change; the delivery then connects to the address that was checked
(``notifications.sending``), so a second lookup cannot swap it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from textloop.errors import InvalidRequest

Address = IPv4Address | IPv6Address
Resolver = Callable[[str, int], list[Address]]

NAT64 = IPv6Network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are an IPv4 address
SETTING = "webhook_allowed_hosts"


class RefusedDestination(InvalidRequest):
    """A webhook URL whose host is not one textloop may send to."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message}; to allow it, name the host in {SETTING}", field="url")


@dataclass(frozen=True)
class Destination:
    """A checked URL: the parts a request needs and the addresses it may connect to."""

    scheme: str
    host: str  # as written in the URL, without brackets: the Host header and the TLS name
    port: int
    target: str  # path and query
    addresses: tuple[Address, ...]
    credentials: tuple[str, str] | None  # userinfo of the URL, sent as basic authentication


def refusal(address: Address) -> str | None:
    """The kind of address webhooks may not reach (``"loopback"``, ``"private"``, ...), or
    ``None`` for a public one."""
    if isinstance(address, IPv6Address):
        carried = _carried_ipv4(address)
        if carried is not None:
            return refusal(carried)
    for kind, matches in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("reserved", not address.is_global),
    ):
        if matches:
            return kind
    return None


def resolve(host: str, port: int) -> list[Address]:
    """Every address the system resolver gives for ``host`` (an IP literal gives itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ip_address(info[4][0]) for info in infos))


class Destinations:
    """The policy, built from the settings: ``check(url)`` answers a ``Destination`` or raises
    ``RefusedDestination``. ``resolver`` is the system's unless a test brings its own."""

    def __init__(self, allowed_hosts: Iterable[str] = (), resolver: Resolver = resolve) -> None:
        self.allowed_hosts = frozenset(_host_key(host) for host in allowed_hosts if host.strip())
        self.resolver = resolver

    def check(self, url: str) -> Destination:
        parts = parse(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses: tuple[Address, ...] = (ip_address(host),)  # a literal needs no lookup
        except ValueError:
            try:
                addresses = tuple(self.resolver(host, port))
            except (OSError, UnicodeError, ValueError):
                addresses = ()
        if _host_key(host) not in self.allowed_hosts:
            _require_public(host, addresses)
        if not addresses:
            raise RefusedDestination(f"{host} does not resolve to an address")
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        credentials = None
        if parts.username is not None:
            credentials = (unquote(parts.username), unquote(parts.password or ""))
        return Destination(parts.scheme, host, port, target, addresses, credentials)


def parse(url: str) -> SplitResult:
    """The parts of an http(s) URL with a host, or ``InvalidRequest``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        raise InvalidRequest(f"{url!r} is not a valid URL", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"{url!r} is not an http(s) URL", field="url")
    if not url.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidRequest(
            f"{url!r} holds spaces, control or non-ASCII characters; percent-encode them",
            field="url",
        )
    return parts


def without_credentials(url: str) -> str:
    """The URL as it may be shown and recorded: any ``user:password@`` taken out."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _require_public(host: str, addresses: tuple[Address, ...]) -> None:
    """Refuse unless every address is public. An IP literal is named with its kind; a name only
    says it is not public, so that the answer tells nothing of the inside network's names."""
    kinds = [kind for address in addresses if (kind := refusal(address)) is not None]
    try:
        literal: Address | None = ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and kinds:
        raise RefusedDestination(f"{host} is a {kinds[0]} address, not a public one")
    if kinds or not addresses:
        raise RefusedDestination(f"{host} does not resolve to public addresses only")


def _carried_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, NAT64, 6to4 or Teredo address, where a
    connection to it would end up."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _host_key(host: str) -> str:
    """A host as the allow list compares it: lower case, IPv6 without brackets, one spelling
    of each IP address."""
    host = host.strip().strip("[]").lower().rstrip(".")
    try:
        return str(ip_address(host))
    except ValueError:
        return host
