"""What people tell the classifier: feedback on predictions, files of corrections, the review
queue (a reviewer claims a task and decides it), and the pool of unlabelled texts that review
tasks are sampled from.

Claiming and deciding need a reviewer's own key (``textloop keys create --scopes review --user
EMAIL``): a decision belongs to a person.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from textloop.client.files import FileInput, body_of
from textloop.client.resources.classify import fields
from textloop.client.routes import Call, Group, Mode, read_bytes, read_json_or_none, route
from textloop.client.schemas import Corrections, Feedback, PoolCounts, ReviewTask


def _tasks(response: httpx.Response) -> list[ReviewTask]:
    tasks: list[ReviewTask] = response.json()["tasks"]
    return tasks


class FeedbackGroup(Group[Mode]):
    @route("POST", "/v1/classifiers/{name}/feedback")
    def report(
        self,
        classifier: str,
        *,
        prediction_id: str | None = None,
        text: str | None = None,
        label: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> Call[Feedback]:
        """Report a wrong prediction (by its ``prediction_id``, or a ``text``), with the right
        ``label`` if known (a multi-label classifier's right set as ``labels``, ``[]`` when no
        label applies); an explicit review task opens."""
        return Call(
            path={"name": classifier},
            json=fields(
                prediction_id=prediction_id,
                text=text,
                label=label,
                labels=None if labels is None else list(labels),
            ),
        )

    @route("POST", "/v1/classifiers/{name}/corrections")
    def upload_corrections(
        self,
        classifier: str,
        file: FileInput,
        *,
        content_type: str | None = None,
        label_separator: str | None = None,
    ) -> Call[Corrections]:
        """A file of corrections (``label`` with ``text`` or ``prediction_id``), each row
        feedback with a review task; the same file again records nothing (``created``
        False). A multi-label classifier's label cell holds a set joined by
        ``label_separator`` (default ``|``; an empty cell: no label applies)."""
        body, kind = body_of(file, content_type)
        return Call(
            path={"name": classifier},
            query={"label_separator": label_separator},
            content=body,
            headers={"Content-Type": kind},
        )


class Review(Group[Mode]):
    @route("GET", "/v1/classifiers/{name}/review/tasks")
    def tasks(
        self,
        classifier: str,
        *,
        status: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Call[list[ReviewTask]]:
        """The review queue, oldest first: ``status`` ``open`` (the default), ``done``,
        ``conflict`` or ``all``."""
        return Call(
            path={"name": classifier},
            query={"status": status, "limit": limit, "offset": offset},
            read=_tasks,
        )

    @route("POST", "/v1/classifiers/{name}/review/claim")
    def claim(self, classifier: str) -> Call[ReviewTask | None]:
        """Lease the reviewer's next task for ten minutes (the one they hold, if any); None
        when no task waits for them."""
        return Call(path={"name": classifier}, read=read_json_or_none)

    @route("POST", "/v1/review/tasks/{task_id}/decision")
    def decide(self, task_id: str, label: str) -> Call[ReviewTask]:
        """Label a task the reviewer holds; the answer says whether more reviewers are needed
        (``open``), or it is ``done`` (``final_label``) or in ``conflict``."""
        return Call(path={"task_id": task_id}, json={"label": label})

    @route("POST", "/v1/review/tasks/{task_id}/decision")
    def decide_set(self, task_id: str, labels: Sequence[str]) -> Call[ReviewTask]:
        """Decide a multi-label classifier's task: the labels that apply (none: ``[]``); the
        answer's ``final_labels`` is the settled set once reviewers agree."""
        return Call(path={"task_id": task_id}, json={"labels": list(labels)})

    @route("POST", "/v1/review/tasks/{task_id}/decision")
    def none_of_these(self, task_id: str) -> Call[ReviewTask]:
        """Decide that the text fits none of the labels: counted like a label, and a task its
        reviewers all settle so is ``done`` with no ``final_label``."""
        return Call(path={"task_id": task_id}, json={"none_of_these": True})

    @route("POST", "/v1/review/tasks/{task_id}/decision")
    def skip(self, task_id: str) -> Call[ReviewTask]:
        """Pass a held task on to someone else."""
        return Call(path={"task_id": task_id}, json={"skip": True})

    @route("GET", "/v1/classifiers/{name}/review/export")
    def export(
        self,
        classifier: str,
        *,
        format: str | None = None,
        data_key: str | None = None,
        from_name: str | None = None,
        to_name: str | None = None,
    ) -> Call[bytes]:
        """Every review decision, one row each, as ``csv`` (the default), ``jsonl`` or
        ``parquet`` bytes; or every review task in Label Studio's import format
        (``format="label-studio"``, with the labelling config's names: ``data_key`` for
        ``$text``, ``from_name`` of its Choices, ``to_name`` of its Text)."""
        return Call(
            path={"name": classifier},
            query={
                "format": format,
                "data_key": data_key,
                "from_name": from_name,
                "to_name": to_name,
            },
            read=read_bytes,
        )


class Pool(Group[Mode]):
    @route("POST", "/v1/classifiers/{name}/pool")
    def add(self, classifier: str, texts: Sequence[str]) -> Call[PoolCounts]:
        """Add up to 10,000 unlabelled texts; one already pooled or labelled is counted, not
        stored again."""
        return Call(path={"name": classifier}, json={"texts": list(texts)})

    @route("POST", "/v1/classifiers/{name}/pool/samples")
    def sample(
        self,
        classifier: str,
        *,
        n: int | None = None,
        strategy: str | None = None,
        seed: int | None = None,
    ) -> Call[list[ReviewTask]]:
        """Turn the ``n`` most useful pool texts (by ``strategy``, default ``diverse``) into
        review tasks."""
        return Call(
            path={"name": classifier},
            json=fields(n=n, strategy=strategy, seed=seed),
            read=_tasks,
            slow=True,
        )
