"""Guidelines are markdown written by an admin and shown to reviewers: rendered without raw
HTML, so a guideline can format text and link, but never run a script on a reviewer's page."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

# "js-default": CommonMark with tables and strikethrough, raw HTML off, links checked (no
# javascript: or data: addresses).
_renderer = MarkdownIt("js-default")


def render(text: str | None) -> Markup | None:
    """Safe HTML for ``text``, or None when there is nothing to show."""
    if not text or not text.strip():
        return None
    return Markup(_renderer.render(text))  # markdown-it escapes text; raw HTML is off
