"""How the service and its models are doing: health, runs and lineage, drift and metrics, usage
against a key's plan, and the audit log.

``health`` needs no key; ``usage.get`` any valid key (and it is not counted against the plan);
``monitoring.metrics`` the ``metrics`` scope; the rest ``admin``.
"""

from __future__ import annotations

import httpx

from textloop.client.routes import Call, Group, Mode, read_text, route
from textloop.client.schemas import AuditPage, Json, KeyUsage, KeyUsageList

RunList = list[Json]


def _answers(response: httpx.Response) -> bool:
    return bool(response.status_code == 200)


class Health(Group[Mode]):
    @route("GET", "/healthz")
    def live(self) -> Call[bool]:
        """Whether the process answers (it asks nothing of the database); no answer at all is a
        ``TransportError``."""
        return Call(read=_answers)

    @route("GET", "/readyz")
    def ready(self) -> Call[bool]:
        """Whether to send it traffic: production models loaded, database answering and
        migrated. A 503 here is an answer (False), not an error, and is not retried."""
        return Call(read=_answers, final=frozenset({503}))


class Runs(Group[Mode]):
    @route("GET", "/v1/classifiers/{name}/runs/{run_id}")
    def get(self, classifier: str, run_id: int) -> Call[Json]:
        """One run: status and error, then each step with the steps it ran after and its
        artifacts (the DAG)."""
        return Call(path={"name": classifier, "run_id": run_id})

    @route("GET", "/v1/classifiers/{name}/runs")
    def list(self, classifier: str, *, limit: int | None = None) -> Call[RunList]:
        """The newest runs (ingest, train, deploy), newest first."""
        return Call(path={"name": classifier}, query={"limit": limit})


class Lineage(Group[Mode]):
    @route("GET", "/v1/lineage/predictions/{prediction_id}")
    def prediction(self, prediction_id: str) -> Call[Json]:
        """Upstream of a prediction: its model version, training run, dataset versions."""
        return Call(path={"prediction_id": prediction_id})

    @route("GET", "/v1/lineage/classifiers/{name}/datasets/{version}")
    def dataset(self, classifier: str, version: int) -> Call[Json]:
        """Downstream of a dataset version: every run that consumed it and what it produced."""
        return Call(path={"name": classifier, "version": version})


class Monitoring(Group[Mode]):
    @route("GET", "/v1/classifiers/{name}/drift")
    def drift(self, classifier: str, *, limit: int | None = None) -> Call[Json]:
        """The drift window, its thresholds and the newest reports, newest first."""
        return Call(path={"name": classifier}, query={"limit": limit})

    @route("GET", "/metrics")
    def metrics(self) -> Call[str]:
        """Prometheus text format (the ``metrics`` scope): predictions, review tasks, jobs,
        production versions, drift."""
        return Call(read=read_text)


class Usage(Group[Mode]):
    @route("GET", "/v1/usage")
    def get(self, *, key_id: int | None = None) -> Call[KeyUsage]:
        """This key's plan and this month's requests, refusals and what is left (an admin may
        name another ``key_id``)."""
        return Call(query={"key_id": key_id})

    @route("GET", "/v1/usage/keys")
    def keys(self) -> Call[KeyUsageList]:
        """Every key's plan and usage this month (an unrestricted admin key)."""
        return Call()


class Audit(Group[Mode]):
    @route("GET", "/v1/audit")
    def page(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        key_id: int | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        before_id: int | None = None,
        limit: int | None = None,
    ) -> Call[AuditPage]:
        """Who did what, newest first, filtered; pass ``next`` as ``before_id`` for older
        entries (``next`` is None on the last page)."""
        return Call(
            query={
                "since": since,
                "until": until,
                "key_id": key_id,
                "actor": actor,
                "action": action,
                "target": target,
                "before_id": before_id,
                "limit": limit,
            }
        )
