"""Predictions from the command line: ``textloop classify`` scores one text in this process,
``serve`` runs the HTTP API and the review portal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from textloop.cli.context import JsonFlag, invocation, setting_option
from textloop.cli.output import emit_json, fail, out

app = typer.Typer()


@app.command()
def classify(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    text: Annotated[str, typer.Argument(help="Text to classify.")],
    alias: Annotated[
        str, typer.Option(help="The alias that answers: production, or staging to try a release.")
    ] = "production",
    as_json: JsonFlag = False,
) -> None:
    """Classify one text with the production model (recorded like an API prediction)."""
    from textloop.predict.classify import classify as run_classify
    from textloop.serving.schemas import MAX_TEXT_CHARS

    if not text.strip() or len(text) > MAX_TEXT_CHARS:
        fail(f"TEXT must be between 1 and {MAX_TEXT_CHARS} non-blank characters")
    run = invocation(ctx)
    (result,) = run_classify(run.store, run.models, name, [text], alias=alias)
    if as_json:
        emit_json(result.__dict__)
        return
    flag = "  [yellow](sent to review)[/]" if result.review else ""
    out.print(f"{result.label}  confidence {result.confidence:.3f}{flag}")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    with_worker: Annotated[
        bool, typer.Option(help="Also run queued jobs (retrains) in this process.")
    ] = False,
    workers: Annotated[
        int, typer.Option(help="Server processes sharing the port (one per core at most).")
    ] = 1,
    batch_wait_ms: Annotated[float | None, setting_option("batch_wait_ms")] = None,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this PEM certificate (chain).")
    ] = None,
    ssl_keyfile: Annotated[
        Path | None, typer.Option(help="The certificate's PEM private key.")
    ] = None,
) -> None:
    """Serve the HTTP API and the review portal until interrupted."""
    from textloop.serving.server import Tls, run_server

    if batch_wait_ms is not None and not 0 <= batch_wait_ms <= 100:
        fail(f"--batch-wait-ms must be between 0 and 100, got {batch_wait_ms}")
    config = invocation(ctx, batch_wait_ms=batch_wait_ms).settings
    tls = Tls.from_options(ssl_certfile, ssl_keyfile)
    run_server(config, host, port, with_worker=with_worker, workers=workers, tls=tls)
