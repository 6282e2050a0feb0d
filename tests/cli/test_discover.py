"""``textloop discover``: clusters of doubted texts listed for people and scripts, a cluster made a
label (audited), and one-line errors for what cannot be done."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.conftest import Templates
from tests.processes import environment, run_cli
from tests.review.discovered import COOKING, TRAVEL, answer, deploy_and_doubt, model_cache
from textloop.config import Settings
from textloop.store import Store
from textloop.store.queries import get_classifier
from textloop.store.tables import AuditEntry, Prediction, ReviewTask, utcnow


@pytest.fixture
def env(
    store: Store, settings: Settings, corpus_csv: Path, templates: Templates
) -> Iterator[dict[str, str]]:
    """``topics`` deployed, every answer doubted, cooking and travel questions answered; what
    the CLI prints is under test, not storage: SQLite alone."""
    templates.apply(store, settings, corpus_csv, deploy_and_doubt)
    answer(store, model_cache(settings), [*COOKING, *TRAVEL])
    yield environment(settings.data_dir, settings.database_url)


def listed(env: dict[str, str], *options: str) -> dict:
    done = run_cli(env, "discover", "topics", *options, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_discover_lists_clusters_for_scripts_and_for_people(env: dict[str, str]) -> None:
    found = listed(env)
    assert found["classifier"] == "topics" and found["model_encoder"] is False
    cooking = next(c for c in found["clusters"] if set(c["texts"]) <= set(COOKING))
    assert cooking["size"] == len(cooking["texts"]) == len(cooking["prediction_ids"])
    assert cooking["representatives"] == cooking["texts"][:3]
    assert {"bake", "bread", "oven", "recipe", "cookies"} & set(cooking["keywords"][:3])
    assert sum(c["size"] for c in found["clusters"]) + found["unclustered"] == found["texts"]

    shown = run_cli(env, "discover", "topics", "--since", "7d")
    assert shown.returncode == 0, shown.stderr
    assert (
        f"Cluster {cooking['number']} ({cooking['key']}): {cooking['size']} texts" in shown.stdout
    )
    assert f"keywords: {', '.join(cooking['keywords'])}" in shown.stdout
    assert f"“{cooking['texts'][0]}”" in shown.stdout
    assert "textloop discover topics --since 7d --limit 2000 --add-label NAME" in shown.stdout
    assert shown.stderr == "" or "embedding" in shown.stderr  # progress, never an error


def test_a_cluster_becomes_a_label_and_its_texts_go_to_review(
    env: dict[str, str], store: Store
) -> None:
    cooking = next(c for c in listed(env)["clusters"] if set(c["texts"]) <= set(COOKING))
    done = run_cli(
        env, "discover", "topics", "--add-label", "baking", "--cluster", cooking["key"], "--json"
    )
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout)
    assert added["label"] == "baking" and added["texts"] == cooking["size"]
    assert added["resuggested"] == cooking["size"]  # every text had its model-doubt task open
    assert added["cluster"]["key"] == cooking["key"]
    with store.session() as session:
        assert "baking" in get_classifier(session, "topics").labels
        suggested = session.scalars(
            select(ReviewTask.suggested_label).where(ReviewTask.text.in_(cooking["texts"]))
        ).all()
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert suggested == ["baking"] * cooking["size"]
    assert entry is not None and entry.action == "textloop discover"
    assert entry.target == "topics" and entry.details["label"] == "baking"
    assert entry.details["cluster"] == cooking["key"]

    again = run_cli(env, "discover", "topics", "--add-label", "baking", "--cluster", cooking["key"])
    assert again.returncode == 1  # its texts are in review with the new label: no such cluster
    assert f"no cluster has key {cooking['key']!r} now" in again.stderr


KEY = "{the key of a cluster there is}"


@pytest.mark.parametrize(
    "options, message",
    [
        (("--add-label", "x", "--cluster", "2"), "name the cluster by its key, not its number 2"),
        (("--add-label", "x", "--cluster", "abcdef12"), "no cluster has key 'abcdef12' now"),
        (("--add-label", "sport", "--cluster", KEY), "'sport' is a label of 'topics' already"),
        (("--add-label", " ", "--cluster", KEY), "a new label needs a name"),
        (("--add-label", "x"), "--add-label and --cluster go together"),
        (("--since", "a week"), "since must be a duration such as 30m, 12h, 7d or 2w"),
        (("--limit", "0"), "limit must be between 1 and 10,000, not 0"),
    ],
)
def test_what_cannot_be_done_is_one_line_and_changes_nothing(
    env: dict[str, str], store: Store, options: tuple[str, ...], message: str
) -> None:
    if KEY in options:  # a cluster there is: the name is what is wrong
        key = listed(env)["clusters"][0]["key"]
        options = tuple(key if option == KEY else option for option in options)
    done = run_cli(env, "discover", "topics", *options)
    assert done.returncode == 1 and done.stdout == ""
    *progress, error = done.stderr.strip().splitlines()  # what was embedded, then the error
    assert error.startswith("error: ") and message in error
    assert all(line.lstrip().startswith("embedding") for line in progress)
    with store.session() as session:
        assert get_classifier(session, "topics").labels == ["finance", "sport", "weather"]


def test_an_unknown_classifier_and_nothing_to_discover_are_said_plainly(
    env: dict[str, str], store: Store
) -> None:
    unknown = run_cli(env, "discover", "nope")
    assert unknown.returncode == 1
    assert "classifier 'nope' does not exist" in unknown.stderr
    with store.session() as session:
        session.execute(update(Prediction).values(created_at=utcnow() - timedelta(days=40)))
    nothing = run_cli(env, "discover", "topics")
    assert nothing.returncode == 0, nothing.stderr
    assert (
        "topics: nothing to discover: none of the newest 2,000 predictions of the last 30d is "
        "out of scope or less sure than 1" in " ".join(nothing.stdout.split())  # its threshold
    )
    assert listed(env)["clusters"] == []


def test_the_default_cluster_size_is_the_one_clustering_uses() -> None:
    from textloop.cli.discover import DEFAULT_MIN_SIZE
    from textloop.review.clustering import MIN_CLUSTER_SIZE

    assert DEFAULT_MIN_SIZE == MIN_CLUSTER_SIZE
