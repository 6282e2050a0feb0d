"""``textloop bench NAME``: the real HTTP server under closed-loop load, and what a request costs.

Flags are checked here, the run itself is ``bench.runner``; progress goes to stderr, the table
(or one JSON document with ``--json``) to stdout.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.table import Table

from textloop.bench.cores import CoreSplit, default_split
from textloop.bench.report import DEFAULT_PRICE_PER_HOUR, DEFAULT_PRICE_SOURCE, DEFAULT_VCPUS
from textloop.cli.context import JsonFlag, invocation
from textloop.cli.output import emit_json, err, fail, out
from textloop.errors import TextloopError

if TYPE_CHECKING:
    from textloop.bench.runner import BenchPlan


COLUMNS = (
    "users",
    "requests",
    "req/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "errors",
    "CPU %",
    "CPU ms/req",
    "RSS MiB",
    "$/M req",
)


app = typer.Typer()


@app.command()
def bench(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Classifier name.")],
    concurrency: Annotated[
        str, typer.Option(help="Concurrent users of each phase, comma-separated.")
    ] = "1,8,32",
    duration: Annotated[
        float, typer.Option(help="Seconds measured per phase, after a warm-up of up to 1 s.")
    ] = 20.0,
    price_per_hour: Annotated[
        float,
        typer.Option(
            help=f"Dollars an hour for the server's machine (default: {DEFAULT_PRICE_SOURCE})."
        ),
    ] = DEFAULT_PRICE_PER_HOUR,
    url: Annotated[
        str | None,
        typer.Option(help="Load a server already running at http://HOST:PORT; start none."),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help="With --url: a key with the classify scope.")
    ] = None,
    server_pid: Annotated[
        int | None,
        typer.Option(help="With --url: the server's PID, to report its CPU and memory."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes of the server bench starts.")
    ] = None,
    texts: Annotated[
        Path | None,
        typer.Option(help="Texts to send, one a line (default: the classifier's held-out rows)."),
    ] = None,
    client_cores: Annotated[
        str | None,
        typer.Option(help="Cores of the load generator, like 0 or 0-1 (default: the first)."),
    ] = None,
    server_cores: Annotated[
        str | None,
        typer.Option(help="Cores of the server bench starts (default: all but the client's)."),
    ] = None,
    vcpus: Annotated[
        int, typer.Option(help="The vCPUs --price-per-hour buys (CPU time is priced per vCPU).")
    ] = DEFAULT_VCPUS,
    as_json: JsonFlag = False,
) -> None:
    """Load the real HTTP server at each concurrency: latency, throughput, CPU, memory, cost."""
    from textloop.bench.local_server import ServerFailed
    from textloop.bench.runner import BenchPlan, run_bench

    if url is not None and server_cores is not None:
        fail("--server-cores sets up the server bench starts; with --url, pin yours with taskset")
    if vcpus < 1:
        fail(f"--vcpus must be at least 1, not {vcpus}")
    try:
        cores = default_split(client_cores, server_cores)
    except TextloopError as exc:
        fail(exc.for_cli())
    if url is not None:  # someone else's server: only the load generator is ours to pin
        cores = CoreSplit(cores.client, None)
    plan = BenchPlan(
        classifier=name,
        concurrency=parse_concurrency(concurrency),
        duration=duration,
        price_per_hour=price_per_hour,
        url=url,
        api_key=api_key,
        server_pid=server_pid,
        workers=workers,
        texts_file=texts,
        cores=cores,
        vcpus=vcpus,
    )
    check_plan(plan)
    try:
        result = run_bench(invocation(ctx).settings, plan, err.status if not as_json else _quiet)
    except ServerFailed as exc:
        for line in exc.log_tail:
            err.print(f"  | {line}", highlight=False, markup=False, soft_wrap=True)
        fail(exc.for_cli())
    if as_json:
        emit_json(result)
        return
    print_bench(result)


def _quiet(_message: str) -> nullcontext[None]:
    return nullcontext()


def parse_concurrency(value: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in value.split(","))
    except ValueError:
        levels = ()
    if not levels or min(levels) < 1:
        fail(
            "--concurrency takes positive whole numbers separated by commas (like 1,8,32), "
            f"not {value!r}"
        )
    return levels


def check_plan(plan: BenchPlan) -> None:
    if not plan.duration > 0:
        fail(f"--duration must be more than 0 seconds, not {plan.duration:g}")
    if plan.price_per_hour < 0:
        fail(f"--price-per-hour must not be negative, not {plan.price_per_hour:g}")
    if plan.workers is not None and plan.workers < 1:
        fail(f"--workers must be at least 1, not {plan.workers}")
    if plan.url is None and (plan.api_key is not None or plan.server_pid is not None):
        fail("--api-key and --server-pid go with --url; without it bench starts its own server")
    if plan.url is not None and plan.api_key is None:
        fail("--url needs --api-key KEY, a key with the classify scope for this classifier")
    if plan.url is not None and plan.workers is not None:
        fail("--workers sets up the server bench starts; with --url, start yours with --workers")
    if plan.server_pid is not None and not Path(f"/proc/{plan.server_pid}").exists():
        fail(f"--server-pid {plan.server_pid}: no such process on this machine")


def print_bench(result: dict[str, Any]) -> None:
    server = result["server"]
    if server["started_by_bench"]:
        where = (
            f"textloop serve ({_plural(server['workers'], 'worker')}, pid {server['pid']}), "
            f"ready in {server['ready_seconds']:.2f} s"
        )
    else:
        where = result["url"] + (f" (pid {server['pid']})" if server["pid"] else "")
    out.print(f"[bold]{result['classifier']}[/] on {where}", highlight=False)
    out.print(
        f"{_plural(result['texts'], 'text')}, {result['duration_seconds']:g} s measured per phase",
        highlight=False,
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=0)
    for header in COLUMNS:
        table.add_column(header, justify="right")
    for row in result["results"]:
        table.add_row(
            str(row["concurrency"]),
            f"{row['requests']:,}",
            _number(row["throughput"], ",.1f"),
            _number(row["p50_ms"], ".1f"),
            _number(row["p95_ms"], ".1f"),
            _number(row["p99_ms"], ".1f"),
            f"[red]{row['errors']:,}[/]" if row["errors"] else "0",
            _number(row["server_cpu_percent"], ".0f"),
            _number(row["server_cpu_ms_per_request"], ".2f"),
            _number(row["server_rss_mib"], ",.0f"),
            _number(row["cost_per_million"], ",.3f"),
        )
    out.print(table)
    price = result["price_per_hour"]
    source = f", {DEFAULT_PRICE_SOURCE}" if price == DEFAULT_PRICE_PER_HOUR else ""
    out.print(f"{result['cores']}.", highlight=False)
    by_cpu = all(row["cost_basis"] == "server CPU time" for row in result["results"])
    basis = (
        f"for the server's CPU time, at ${price:g} an hour for {result['vcpus']} vCPUs{source}"
        if by_cpu
        else f"at ${price:g} an hour for the machine{source}, kept as busy as in that phase "
        "(the server's CPU was not measured)"
    )
    out.print(
        f"$/M req: dollars per million successful requests {basis}. CPU % is server CPU time "
        "over wall time (100 = one core busy); CPU ms/req is server CPU time per successful "
        "request.",
        highlight=False,
    )


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
