"""Model families behind one contract (``base.TextClassifier``) and the registry that names them."""

from textloop.models.base import (
    ModelResources,
    TextClassifier,
    families,
    load_model,
    save_model,
)

__all__ = ["ModelResources", "TextClassifier", "families", "load_model", "save_model"]
