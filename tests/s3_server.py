"""A real S3-compatible server on a loopback port (moto's standalone server, the one s3fs's own
test suite runs), for the tests of a shared artifact store."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.processes import free_port, stop, wait_until_answering

# The server takes any credentials; botocore still wants some, and a region.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "textloop-test",
    "AWS_SECRET_ACCESS_KEY": "textloop-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def bucket(self) -> str:
        """A new, empty bucket; its name."""
        import s3fs

        name = f"textloop-{uuid.uuid4().hex[:12]}"
        s3fs.S3FileSystem(endpoint_url=self.endpoint, key="x", secret="y").mkdir(name)
        return name

    def environment(self) -> dict[str, str]:
        return {**CREDENTIALS, "TEXTLOOP_S3_ENDPOINT_URL": self.endpoint}


@contextmanager
def s3_server(log: Path) -> Iterator[S3Server]:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **CREDENTIALS},
        )
        try:
            wait_until_answering(process, log, lambda: httpx.get(endpoint, timeout=1))
            yield S3Server(endpoint)
        finally:
            stop(process)
