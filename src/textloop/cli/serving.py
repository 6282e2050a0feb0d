"""Predictions from the command line: ``textloop classify`` scores one text in this process,
``out-of-scope`` says whether its answers may be "fits no label", ``serve`` runs the HTTP API
and the review portal."""

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
        if result.out_of_scope:  # fits none of the labels; the nearest one for reference
            answer = f"(out of scope; nearest: {answer})"
        out.print(f"{escape(answer)}  confidence {result.confidence:.3f}{flag}")


@app.command("out-of-scope")
def out_of_scope(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    answer: Annotated[
        bool | None,
        typer.Option(
            "--on/--off",
            help='Answer "out of scope" for texts that fit no label (on), or always give the '
            "nearest label, as a model without a detector does (off).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show or change whether a single-label classifier answers "out of scope" for a text unlike
    everything it was trained on (where its production model learned a detector)."""
    from textloop.cli.audit import audit_command
    from textloop.errors import InvalidRequest
    from textloop.models.out_of_scope import detector_of
    from textloop.predict.deployment import find_deployment
    from textloop.registry.aliases import PRODUCTION
    from textloop.store.queries import aliased_model, get_classifier
    from textloop.store.stored_labels import Mode

    run = invocation(ctx)
    with run.store.session() as session:
        classifier = get_classifier(session, name)
        if classifier.mode == Mode.MULTI_LABEL:
            raise InvalidRequest(
                f"{name!r} is multi-label: its answers are sets, never out of scope"
            )
        if answer is not None:
            classifier.out_of_scope = answer
            audit_command(ctx, session, name, out_of_scope=answer)
        setting = classifier.out_of_scope
        served = aliased_model(session, classifier, PRODUCTION) is not None
        deployment = find_deployment(session, name) if served else None
    detector = None
    if deployment is not None:
        detector = detector_of(run.models.get(deployment.version_id, deployment.artifact_uri))
    state = {
        "classifier": name,
        "out_of_scope": setting,
        "detector": detector.report() if detector is not None else None,
    }
    if as_json:
        emit_json(state)
        return
    if detector is None:
        learned = "its production model has no detector (train again to learn one)"
    else:
        learned = f"its production model's detector keeps {detector.recall:.0%} of in-scope texts"
    shown = "on" if setting else "off (the nearest label, always)"
    out.print(f"{name}: out of scope {shown}; {learned}", highlight=False)


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
