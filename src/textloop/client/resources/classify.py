"""Classifying: one text, many texts, and the same texts with several classifiers at once.

These are the client's own methods (``client.classify(...)``), not a group: they are what most
programs call. ``Classifying`` is the base of both clients; the helper that sends any number of
texts in batches of 256 (the API's limit per request) is each client's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from textloop.client.routes import Call, Group, Mode, route
from textloop.client.schemas import Prediction

MAX_BATCH = 256  # texts per classify request (the API's limit)
CLASSIFY = "/v1/classifiers/{name}/classify"
SEVERAL = "/v1/classify"


def fields(**values: Any) -> dict[str, Any]:
    """A JSON body of the values given: None leaves a field out, so the server's default holds."""
    return {key: value for key, value in values.items() if value is not None}


def _predictions(response: httpx.Response) -> list[Prediction]:
    predictions: list[Prediction] = response.json()["predictions"]
    return predictions


def _by_classifier(response: httpx.Response) -> Any:
    return response.json()["predictions"]


class Classifying(Group[Mode]):
    @route("POST", CLASSIFY)
    def classify(
        self, classifier: str, text: str, *, top_k: int | None = None, alias: str | None = None
    ) -> Call[Prediction]:
        """The label of ``text`` by the classifier's production model (``alias="staging"``: the
        version being tried); ``top_k`` keeps only the k highest ``scores``. Each prediction
        is stored and may open a review task (``review``)."""
        return Call(
            path={"name": classifier},
            query={"alias": alias},
            json=fields(text=text, top_k=top_k),
        )

    @route("POST", CLASSIFY)
    def _classify_batch(
        self,
        classifier: str,
        texts: Sequence[str],
        *,
        top_k: int | None = None,
        alias: str | None = None,
    ) -> Call[list[Prediction]]:
        """At most ``MAX_BATCH`` texts in one request; ``classify_many`` takes any number."""
        return Call(
            path={"name": classifier},
            query={"alias": alias},
            json=fields(texts=list(texts), top_k=top_k),
            read=_predictions,
        )

    @route("POST", SEVERAL)
    def classify_with(
        self,
        classifiers: Sequence[str],
        text: str,
        *,
        top_k: int | None = None,
        alias: str | None = None,
    ) -> Call[dict[str, Prediction]]:
        """``text`` by each of up to 20 classifiers, by name; classifiers on one encoder share
        one encoding of it."""
        return Call(
            query={"alias": alias},
            json=fields(classifiers=list(classifiers), text=text, top_k=top_k),
            read=_by_classifier,
        )

    @route("POST", SEVERAL)
    def classify_many_with(
        self,
        classifiers: Sequence[str],
        texts: Sequence[str],
        *,
        top_k: int | None = None,
        alias: str | None = None,
    ) -> Call[dict[str, list[Prediction]]]:
        """Up to 256 texts by each classifier: per classifier, the predictions in order."""
        return Call(
            query={"alias": alias},
            json=fields(classifiers=list(classifiers), texts=list(texts), top_k=top_k),
            read=_by_classifier,
        )


def batches(texts: Sequence[str], size: int) -> list[Sequence[str]]:
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch_size must be 1 to {MAX_BATCH}")
    return [texts[start : start + size] for start in range(0, len(texts), size)]
