"""What a request's Content-Type header says: its media type, and a parameter such as ``charset``.

Read in one place so that every door reads it alike: a media type is case-insensitive and may
be padded with spaces (RFC 9110, 8.3.1), so ``Text/CSV ; charset=cp1252`` names ``text/csv``
wherever it is sent. Kept apart from ``uploads`` and free of the web framework: the JSON check
of ``limits`` and the portal's forms need it too, without the spooling.
"""

from __future__ import annotations

from collections.abc import Mapping

HEADER = "content-type"  # as starlette's ``Headers`` keys it (lowercased); the ``field`` of a 415


def media_type(headers: Mapping[str, str]) -> str:
    """The bare media type, lowercased, its parameters dropped; ``""`` when none is sent."""
    return headers.get(HEADER, "").split(";")[0].strip().lower()


def parameter(headers: Mapping[str, str], name: str) -> str | None:
    """The value of the parameter ``name`` (case-insensitive; quotes removed), None when it is
    absent or empty; named twice, the last one counts."""
    value = None
    for part in headers.get(HEADER, "").split(";")[1:]:
        key, _, given = part.partition("=")
        if key.strip().lower() == name:
            value = given.strip().strip('"') or None
    return value
