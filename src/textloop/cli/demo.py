"""``textloop demo``: the whole loop on the bundled Banking77 data, ready to curl in minutes.

The only code that knows the bundled data set. Re-running it reuses the dataset version and the
deployed model instead of training again. What it needs beyond the CLI is imported when it runs,
so that ``textloop --help`` stays quick.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from textloop.cli.context import invocation
from textloop.cli.output import RichProgress, out

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from textloop.serving.runtime import Runtime
    from textloop.store.tables import ModelVersion

CLASSIFIER = "banking77"
KEY_FILE = "demo-api-key"
EXAMPLE_TEXT = "I still have not received my new card, what should I do?"


def bundled_file(name: str) -> Path:
    return Path(str(resources.files("textloop") / "demo_data" / name))


app = typer.Typer()


@app.command()
def demo(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API when ready.")
    ] = True,
) -> None:
    """Ingest the bundled Banking77 data, train, deploy, print a curl command and serve."""
    run_demo(invocation(ctx).runtime(trains=True), host, port, serve_after)


def run_demo(runtime: Runtime, host: str, port: int, serve_after: bool = True) -> None:
    from textloop.data.datasets import with_fixed_test_split
    from textloop.data.readers import read_labelled_file
    from textloop.pipeline.ingestion import ingest_batch
    from textloop.pipeline.training import train_classifier
    from textloop.registry.aliases import PRODUCTION
    from textloop.release.deploy import deploy_model
    from textloop.serving.server import run_server
    from textloop.store.queries import aliased_model, get_classifier

    settings, store = runtime.settings, runtime.store
    out.print(f"textloop demo in [bold]{settings.data_dir}[/] (Banking77, CC BY 4.0, PolyAI)")
    train = read_labelled_file(bundled_file("train.csv"), label_column="category")
    test = read_labelled_file(bundled_file("test.csv"), label_column="category")
    table = with_fixed_test_split(train, test, settings.split_fractions)
    dataset = ingest_batch(store, settings, CLASSIFIER, table, "bundled:banking77")
    out.print(
        f"Dataset version {dataset.version}: {dataset.rows:,} rows, {len(dataset.labels)} labels"
    )

    with store.session() as session:
        classifier = get_classifier(session, CLASSIFIER)
        current = aliased_model(session, classifier, PRODUCTION)
        reusable = current is not None and current.dataset_version_id == dataset.dataset_version_id
    if not reusable:
        with RichProgress() as progress:
            report = train_classifier(
                store, settings, CLASSIFIER, "auto", resources=runtime.resources, progress=progress
            )
        deploy_model(store, settings, CLASSIFIER, report.version)

    with store.session() as session:
        classifier = get_classifier(session, CLASSIFIER)
        model = aliased_model(session, classifier, PRODUCTION)
        assert model is not None
        key, minted = _demo_key(session, settings.data_dir / KEY_FILE)
        _print_model(model)

    url = f"http://{host}:{port}/v1/classifiers/{CLASSIFIER}/classify"
    if minted:
        out.print(f"\nAPI key (kept in {settings.data_dir / KEY_FILE} for the next demo): ", end="")
    else:
        out.print("\nAPI key (the demo's own, made on its first run): ", end="")
    out.print(key, highlight=False, soft_wrap=True)
    out.print("Try it:", highlight=False)
    out.print(
        f"curl -s -X POST {url} -H 'x-api-key: {key}' -H 'content-type: application/json' "
        f'-d \'{{"text": "{EXAMPLE_TEXT}"}}\'',
        highlight=False,
        soft_wrap=True,
    )
    if serve_after:
        run_server(settings, host, port, runtime)


def _demo_key(session: Session, path: Path) -> tuple[str, bool]:
    """The demo's key, and whether it is new: one key for every run of the demo in a data dir.

    The key is kept in the data directory (owner-only), beside the database that could grant
    another; it is minted again only when it was revoked, expired or lost.
    """
    from textloop.errors import TextloopError
    from textloop.security.api_keys import authenticate, create_api_key

    if path.is_file():
        kept = path.read_text().strip()
        try:
            authenticate(session, kept).require("classify", CLASSIFIER)
            return kept, False
        except TextloopError:
            pass
    issued = create_api_key(session, ["classify", "feedback", "review"], name="demo")
    path.touch(mode=0o600)
    path.write_text(issued.key + "\n")
    return issued.key, True


def _print_model(model: ModelVersion) -> None:
    test = model.metrics.get("test", {})
    accuracy, macro_f1 = test.get("accuracy", float("nan")), test.get("macro_f1", float("nan"))
    out.print(
        f"Production model: version {model.version} ({model.params.get('inner') or model.family}, "
        f"calibrated); test accuracy "
        f"{accuracy:.4f}, macro-F1 {macro_f1:.4f}, calibration error {test.get('ece', 0):.3f} "
        f"on {test.get('rows', 0):,} rows"
    )
    for family, scores in model.metrics.get("validation", {}).items():
        out.print(f"  candidate {family}: validation accuracy {scores['accuracy']:.4f}")
