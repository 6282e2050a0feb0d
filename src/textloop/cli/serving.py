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
    texts: Annotated[list[str], typer.Argument(help="One or more texts to classify.")],
    alias: Annotated[
        str, typer.Option(help="The alias that answers: production, or staging to try a release.")
    ] = "production",
    as_json: JsonFlag = False,
) -> None:
    """Classify texts with the production model (recorded like API predictions); with
    ``--json``, one JSON object for one text and a list of them for several."""
    from rich.markup import escape

    from textloop.predict.classify import classify as run_classify
    from textloop.serving.answers import public_prediction
    from textloop.serving.schemas import MAX_TEXT_CHARS

    for text in texts:
        if not text.strip() or len(text) > MAX_TEXT_CHARS:
            fail(f"TEXT must be between 1 and {MAX_TEXT_CHARS} non-blank characters")
    run = invocation(ctx)
    results = run_classify(run.store, run.models, name, texts, alias=alias)
    if as_json:
        answers = [public_prediction(result) for result in results]
        emit_json(answers[0] if len(answers) == 1 else answers)
        return
    for result in results:
        flag = "  [yellow](sent to review)[/]" if result.review else ""
        answer = result.label if result.labels is None else "|".join(result.labels) or "(none)"
        out.print(f"{escape(answer)}  confidence {result.confidence:.3f}{flag}")


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
