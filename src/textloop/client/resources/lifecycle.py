"""Where a model comes from and where it goes: classifiers, their datasets, model versions and
deployments (production, staging, the shadow, a rollback). Every route here needs ``admin``.

Training, deploying and promoting run a pipeline step before they answer, so their calls get the
client's long timeout (``slow_timeout``), as does an upload (it is ingested before the answer).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from textloop.client.files import FileInput, body_of
from textloop.client.resources.classify import fields
from textloop.client.routes import Call, Group, Mode, route
from textloop.client.schemas import Classifier, Dataset, Deployment, Json, ModelVersion

Stage = Literal["production", "staging"]
Classifiers_ = list[Classifier]
Models_ = list[ModelVersion]


def _listed(values: Sequence[str] | None) -> list[str] | None:
    return None if values is None else [*values]


class Classifiers(Group[Mode]):
    @route("GET", "/v1/classifiers/{name}")
    def get(self, name: str) -> Call[Classifier]:
        """One classifier: its labels, review threshold and production version."""
        return Call(path={"name": name})

    @route("GET", "/v1/classifiers")
    def list(self) -> Call[Classifiers_]:
        """The classifiers this key may use, by name."""
        return Call()


class Datasets(Group[Mode]):
    @route("POST", "/v1/classifiers/{name}/datasets")
    def upload(
        self,
        classifier: str,
        file: FileInput,
        *,
        content_type: str | None = None,
        text_column: str | None = None,
        label_column: str | None = None,
        split_column: str | None = None,
        delimiter: str | None = None,
        skip_bad_rows: bool | None = None,
        multi_label: bool | None = None,
        label_separator: str | None = None,
        new_labels: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Call[Dataset]:
        """Store a labelled file (CSV, TSV, JSONL, Parquet or .xlsx, by its suffix unless
        ``content_type`` says) as a new dataset version; the classifier is created if new.
        ``multi_label``: the label column holds label sets (names joined by
        ``label_separator``, ``|`` by default, or a Parquet/JSON list), which a new classifier
        keeps for good. ``new_labels``: a multi-label classifier may take label names it does
        not know yet (refused otherwise, a 422 naming the row).

        The upload carries an ``Idempotency-Key`` (a fresh one unless given), so a retry after
        a lost answer is answered with the first answer instead of ingesting again.
        """
        body, kind = body_of(file, content_type)
        return Call(
            path={"name": classifier},
            query={
                "text_column": text_column,
                "label_column": label_column,
                "split_column": split_column,
                "delimiter": delimiter,
                "skip_bad_rows": skip_bad_rows,
                "multi_label": multi_label,
                "label_separator": label_separator,
                "new_labels": new_labels,
            },
            content=body,
            headers={
                "Content-Type": kind,
                "Idempotency-Key": idempotency_key or f"textloop-client-{uuid.uuid4().hex}",
            },
            slow=True,
        )


class Models(Group[Mode]):
    @route("POST", "/v1/classifiers/{name}/models")
    def train(
        self,
        classifier: str,
        *,
        model: str | None = None,
        dataset_version: int | None = None,
        ignore_anomalies: bool | None = None,
        no_cache: bool | None = None,
        from_step: str | None = None,
        tune_trials: int | None = None,
        tune_seconds: float | None = None,
        slice_columns: Sequence[str] | None = None,
    ) -> Call[ModelVersion]:
        """Train a model version now (``model``: a family such as ``ngram``, default ``auto``)
        and answer once it is registered, with its metrics and blessing; it is not deployed."""
        return Call(
            path={"name": classifier},
            json=fields(
                model=model,
                dataset_version=dataset_version,
                ignore_anomalies=ignore_anomalies,
                no_cache=no_cache,
                from_step=from_step,
                tune_trials=tune_trials,
                tune_seconds=tune_seconds,
                slice_columns=_listed(slice_columns),
            ),
            slow=True,
        )

    @route("GET", "/v1/classifiers/{name}/models")
    def list(self, classifier: str) -> Call[Models_]:
        """Every model version of the classifier, oldest first, with its metrics."""
        return Call(path={"name": classifier})


class Deployments(Group[Mode]):
    @route("POST", "/v1/classifiers/{name}/deployments")
    def deploy(
        self,
        classifier: str,
        version: int | None = None,
        *,
        alias: Stage | None = None,
        force: bool | None = None,
    ) -> Call[Deployment]:
        """Point ``production`` (or ``alias="staging"``) at a version, the newest by default,
        after infra-validating it; an unblessed version is a ``ConflictError`` unless
        ``force``."""
        return Call(
            path={"name": classifier},
            json=fields(version=version, alias=alias, force=force),
            slow=True,
        )

    @route("POST", "/v1/classifiers/{name}/promotions")
    def promote(
        self,
        classifier: str,
        *,
        source: Stage = "staging",
        target: Stage = "production",
        force: bool | None = None,
    ) -> Call[Deployment]:
        """Deploy the version ``source`` holds to ``target``, through the same gates."""
        return Call(
            path={"name": classifier},
            json=fields(**{"from": source, "to": target}, force=force),
            slow=True,
        )

    @route("POST", "/v1/classifiers/{name}/rollback")
    def rollback(self, classifier: str) -> Call[Deployment]:
        """Point production back at the version it served before the current one."""
        return Call(path={"name": classifier})

    @route("GET", "/v1/classifiers/{name}/shadow")
    def shadow(self, classifier: str) -> Call[Json]:
        """The shadow version and its agreement with production on live requests."""
        return Call(path={"name": classifier})

    @route("PUT", "/v1/classifiers/{name}/shadow")
    def set_shadow(self, classifier: str, version: int | None) -> Call[Json]:
        """Shadow production with ``version`` (it scores live texts, answers none); None stops."""
        return Call(path={"name": classifier}, json={"version": version})
