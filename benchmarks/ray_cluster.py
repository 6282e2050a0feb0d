"""Batch classification on a Ray cluster of two nodes, the model read from an S3 store.

Starts an S3-compatible server on a loopback port (moto's standalone server), a Ray head
(``ray start --head``) and one more Ray node (``ray start --address``, with a temp folder of its
own), each with ``--cpus`` CPUs; trains ``bench`` on Banking77 into the S3 artifact store and
deploys it; then runs ``textloop batch-classify --engine ray --ray-address`` on the cluster and
asks Ray which node each scoring actor ran on. The same input is then scored by the local engine,
and the two outputs must agree to 1e-6 on every score. Everything started is stopped at the end.

Both nodes run on this machine: they are separate raylets with separate object stores and
worker processes, not separate disks, so the input file and the job's parts folder are on a
path both see (on separate hosts: a shared filesystem for those two).

Usage: python benchmarks/ray_cluster.py [--rows 10000] [--cpus 1] [--model ngram] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from _cli import BANKING77, ingested, textloop

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.s3_server import CREDENTIALS, s3_server

TOLERANCE = 1e-6


def ray(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(Path(sys.executable).parent / "ray"), *args], env=env, check=True,
                   capture_output=True, text=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=BANKING77)
    parser.add_argument("--label-column", default="category")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--cpus", type=int, default=1, help="CPUs each Ray node offers")
    parser.add_argument("--model", default="ngram")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures: dict[str, object] = {"machine": f"{platform.processor() or platform.machine()}, "
                                  f"{os.cpu_count()} cores", "rows": args.rows}  # fmt: skip
    with ingested(args) as (env, tmp), s3_server(tmp / "s3.log") as s3:
        bucket = f"textloop-{uuid.uuid4().hex[:8]}"
        import s3fs

        os.environ.update(CREDENTIALS)
        s3fs.S3FileSystem(endpoint_url=s3.endpoint).mkdir(bucket)
        env.update(s3.environment(), TEXTLOOP_ARTIFACT_ROOT=f"s3://{bucket}/textloop")
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        env["RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO"] = "0"
        # the classifier was ingested into the local store; train into the S3 one
        textloop(env, "train", "bench", "--model", args.model)
        textloop(env, "deploy", "bench", "--force")
        source = tmp / "input.parquet"
        write_input(args.data / "train.csv", source, args.rows)
        port = free_port()
        address = f"127.0.0.1:{port}"
        common = ["--num-cpus", str(args.cpus), "--disable-usage-stats"]
        try:
            ray("start", "--head", "--port", str(port), "--include-dashboard=false",
                "--temp-dir", str(tmp / "ray-head"), *common, env=env)  # fmt: skip
            ray("start", "--address", address, "--temp-dir", str(tmp / "ray-node"), *common,
                env=env)  # fmt: skip
            nodes = wait_for_nodes(address, 2)
            figures["nodes"] = len(nodes)
            outputs = {}
            for engine in ("ray", "local"):
                outputs[engine] = tmp / f"{engine}.parquet"
                extra = ["--ray-address", address] if engine == "ray" else []
                report, seconds = textloop(env, "batch-classify", "bench", str(source), "-o",
                                           str(outputs[engine]), "--engine", engine,
                                           "--chunk-rows", "1000", *extra)  # fmt: skip
                figures[engine] = {"wall_seconds": round(seconds, 2),
                                   "rows_per_second": round(args.rows / seconds, 1),
                                   "rows": report.get("rows")}  # fmt: skip
            figures["actors_per_node"] = actors_per_node(address)
            figures["agree"] = agree(outputs["ray"], outputs["local"])
        finally:
            ray("stop", "--force", env=env)
    print(json.dumps(figures, indent=2) if args.json else "\n".join(
        f"{key}: {value}" for key, value in figures.items()))  # fmt: skip
    ok = figures.get("agree") and len(figures.get("actors_per_node", {})) == 2  # type: ignore[arg-type]
    sys.exit(0 if ok else 1)


def write_input(train_csv: Path, target: Path, rows: int) -> None:
    import pyarrow.csv as pacsv

    texts = pacsv.read_csv(train_csv).column("text").to_pylist()
    made = [f"{texts[i % len(texts)]} {texts[(i * 7 + 3) % len(texts)]}" for i in range(rows)]
    pq.write_table(pa.table({"text": made}), target)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_nodes(address: str, count: int) -> list[dict[str, object]]:
    import ray as ray_api

    ray_api.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        deadline = time.monotonic() + 60
        while len(alive := [n for n in ray_api.nodes() if n["Alive"]]) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(alive)} of {count} Ray nodes joined")
            time.sleep(0.5)
        return alive
    finally:
        ray_api.shutdown()


def actors_per_node(address: str) -> dict[str, int]:
    """How many of the batch's scoring actors ran on each node (by node id, shortened), from
    the cluster's own record of its actors (the state API would need the dashboard)."""
    import ray as ray_api
    from ray._private import state

    ray_api.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        actors = state.actors().values()
        scoring = [a for a in actors if "ChunkActor" in str(a.get("ActorClassName"))]
        return dict(Counter(str(a["Address"]["NodeID"])[:8] for a in scoring))
    finally:
        ray_api.shutdown()


def agree(first: Path, second: Path) -> bool:
    a, b = pq.read_table(first), pq.read_table(second)
    if a.num_rows != b.num_rows:
        return False
    a, b = a.sort_by("text"), b.sort_by("text")
    same_labels = a.column("predicted_label").equals(b.column("predicted_label"))
    gap = pc.max(pc.abs(pc.subtract(a.column("confidence"), b.column("confidence")))).as_py()
    return bool(same_labels and gap <= TOLERANCE)


if __name__ == "__main__":
    main()
