"""Which text textloop stores: any Unicode text but NUL and unpaired surrogates.

PostgreSQL cannot store NUL (U+0000) in a text column, and no database can store half of a
surrogate pair (U+D800-U+DFFF alone: JSON's ``"\\ud800"`` escape makes one) as UTF-8. Taken
silently, such a text is answered and then refused by the database later, after the client was
told it was stored. So every text that enters (a request body, a form, a file's cell) is checked
here and refused at the door with the position of the first bad character, the same on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored, naming the first bad character and where; None if it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    character = found.group()
    what = (
        "a NUL character (U+0000)"
        if character == "\x00"
        else (f"an unpaired surrogate (U+{ord(character):04X})")
    )
    return f"contains {what} at character {found.start() + 1}, which cannot be stored"
