"""``textloop discover``: clusters of the texts a classifier doubted, as candidate new labels, and
adding one of them as a label whose texts go to review (``--add-label NAME --cluster KEY``).

The clusters are computed again for ``--add-label`` from the window's predictions as they are
then, so ``--cluster`` names one by the key the listing showed (a hash of its texts), never by
its number, which follows the clusters' sizes: a key that no longer matches (texts came or went
since) is refused rather than another cluster taken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from textloop.cli.audit import audit_command
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import RichProgress, emit_json, fail, out

if TYPE_CHECKING:
    from textloop.review.discovery import Cluster, Discovery

app = typer.Typer()
SHOWN_TEXT = 160  # characters of a representative text on a line
DEFAULT_MIN_SIZE = 4  # clustering.MIN_CLUSTER_SIZE, not imported: --help stays light


@app.command()
def discover(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    since: Annotated[
        str, typer.Option(help="Look at predictions this recent: 30m, 12h, 7d, 2w.")
    ] = "30d",
    limit: Annotated[int, typer.Option(help="Look at most at this many, newest first.")] = 2000,
    below: Annotated[
        float | None,
        typer.Option(
            help="Take answers less sure than this, beside those out of scope (default: 0.7, "
            "or the review threshold where higher)."
        ),
    ] = None,
    min_size: Annotated[
        int, typer.Option(help="The fewest texts that make a cluster.")
    ] = DEFAULT_MIN_SIZE,
    add_label: Annotated[
        str | None,
        typer.Option("--add-label", help="Add this label from --cluster; its texts go to review."),
    ] = None,
    cluster: Annotated[
        str | None, typer.Option(help="The cluster to add the label from: its number or key.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Group recent out-of-scope and unsure predictions into clusters: candidate new labels,
    each with its size, keywords, representative texts and the model's nearest label."""
    from textloop.artifacts import artifacts_for
    from textloop.models.base import ModelResources, Use
    from textloop.predict.model_cache import ModelCache
    from textloop.review.discovery import Window, clusters_of, parse_since, read_candidates

    if (add_label is None) != (cluster is None):
        fail("--add-label and --cluster go together: the label's name and the cluster it is from")
    if min_size < 2:
        fail(f"--min-size must be at least 2, not {min_size}")
    run = invocation(ctx)
    window = Window(since=parse_since(since), limit=limit, below=below)
    candidates = read_candidates(run.store, name, window)
    models = ModelCache(  # every core: a command embeds a window at once
        artifacts_for(run.settings), ModelResources.for_settings(run.settings, Use.BATCH)
    )
    with RichProgress(enabled=not as_json) as progress:
        advance = progress.task(f"embedding {len(candidates.texts):,} texts", len(candidates.texts))
        found = clusters_of(candidates, models, advance, min_size)
    if add_label is not None and cluster is not None:
        _add_label(ctx, found, add_label, cluster, as_json)
        return
    if as_json:
        emit_json(found.as_dict())
        return
    _show(found, since, min_size, below)


def _add_label(ctx: typer.Context, found: Discovery, label: str, which: str, as_json: bool) -> None:
    from textloop.review.discovered_labels import add_label_from_cluster

    chosen = found.cluster(which, by_key=True)
    name = found.candidates.classifier
    store = invocation(ctx).store
    with store.session() as session:
        added = add_label_from_cluster(session, name, label, chosen.prediction_ids)
        audit_command(ctx, session, name, cluster=chosen.key, **added.as_dict())
    if as_json:
        emit_json({**added.as_dict(), "cluster": chosen.as_dict()})
        return
    out.print(
        f"Added label {added.label!r} to {name} from cluster {chosen.number} ({chosen.key}): "
        f"{added.texts:,} texts; {added.opened:,} new review tasks, {added.resuggested:,} open "
        f"tasks now suggest it, {added.left:,} left as they were (in conflict, or settled). "
        "The model answers it after the next retrain.",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


def _show(found: Discovery, since: str, min_size: int, below: float | None) -> None:
    candidates = found.candidates
    name = candidates.classifier
    if not candidates.texts:
        out.print(
            f"{name}: nothing to discover: none of the newest {candidates.window.limit:,} "
            f"predictions of the last {since} is out of scope or less sure than "
            f"{candidates.cutoff:g}"
            + (
                f" that is not dealt with already ({candidates.dealt_with:,} are)"
                if candidates.dealt_with
                else ""
            ),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return
    whose = "the model's encoder" if found.model_encoder else "the default encoder"
    out.print(
        f"{name} (model version {candidates.version}): {len(candidates.texts):,} doubted texts "
        f"from {candidates.predictions:,} predictions of the last {since}; "
        f"{len(found.clusters)} clusters, {found.unclustered:,} texts in none "
        f"(embedded by {whose}, {found.encoder})",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for cluster in found.clusters:
        _show_cluster(cluster)
    if found.clusters:
        out.print(
            f"\nAdd a label from a cluster: textloop discover {name} --since {since} "
            f"--limit {candidates.window.limit}"
            + (f" --min-size {min_size}" if min_size != DEFAULT_MIN_SIZE else "")
            + (f" --below {below}" if below is not None else "")
            + " --add-label NAME --cluster KEY",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _show_cluster(cluster: Cluster) -> None:
    out.print(
        f"\n[bold]Cluster {cluster.number}[/] ({cluster.key}): {cluster.size:,} texts",
        highlight=False,
    )
    out.print(
        f"  keywords: {', '.join(cluster.keywords) or '-'}\n"
        f"  the model said: {cluster.model_label} ({cluster.model_label_share:.0%})"
        + (f", out of scope: {cluster.out_of_scope:,}" if cluster.out_of_scope else ""),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for text in cluster.representatives:
        shown = text if len(text) <= SHOWN_TEXT else text[: SHOWN_TEXT - 1] + "…"
        out.print(f"  “{shown}”", highlight=False, markup=False, soft_wrap=True)
