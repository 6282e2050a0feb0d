"""Texts about two subjects the ``topics`` corpus has no label for, for the tests of ``discover``:
each subject's texts are alike, and unlike the corpus's sport, finance and weather."""

from __future__ import annotations

from pathlib import Path

from tests.serving.conftest import deploy_topics
from textloop.artifacts import artifacts_for
from textloop.config import Settings
from textloop.models.base import ModelResources
from textloop.predict.classify import classify
from textloop.predict.model_cache import ModelCache
from textloop.store import Store
from textloop.store.queries import get_classifier

COOKING = [
    "how long should I bake sourdough bread in the oven",
    "what is a good recipe for chocolate chip cookies",
    "can I bake the cake with butter instead of oil",
    "which flour makes the best pizza dough to bake",
    "my bread dough did not rise before baking in the oven",
    "how much sugar goes in a recipe for banana bread",
    "how do I bake cookies that stay soft",
    "what oven temperature to bake a chocolate cake",
]
TRAVEL = [
    "how do I book a cheap flight to Lisbon",
    "which airline flights allow two suitcases",
    "can I change my flight booking to an earlier plane",
    "what documents do I need for a flight to Canada",
    "my connecting flight was cancelled at the airport",
    "how early should I be at the airport for my flight",
    "is a window seat on the plane worth paying for",
    "how do I find a cheap plane ticket for the holidays",
]


def deploy_and_doubt(store: Store, settings: Settings, corpus_csv: Path) -> None:
    """``topics`` deployed (n-gram: no encoder of its own) with a review threshold no answer
    reaches, so that every prediction is a doubted one."""
    deploy_topics(store, settings, corpus_csv)
    with store.session() as session:
        get_classifier(session, "topics").threshold = 1.0


# One for the test process: the default encoder loads once, and embeds each text once.
RESOURCES = ModelResources()


def model_cache(settings: Settings) -> ModelCache:
    return ModelCache(artifacts_for(settings), RESOURCES)


def answer(store: Store, models: ModelCache, texts: list[str], name: str = "topics") -> None:
    """Classify ``texts`` through the product, which stores each prediction and opens a review
    task for each doubted one."""
    classify(store, models, name, texts)
