"""The portal's Jinja templates, shared by every page module, and the ``words`` filter: a stored
label as a person reads it (a multi-label classifier's set as its names, joined by commas)."""

from pathlib import Path

from fastapi.templating import Jinja2Templates

from textloop.store.stored_labels import decode

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["words"] = lambda label: ", ".join(decode(label or ""))
