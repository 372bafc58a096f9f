"""System-test fixtures: a real S3-compatible server (moto_server) on loopback."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port

BIN = Path(sys.executable).parent
BUCKETS = ("litlab-ckpt", "litlab-data")


@pytest.fixture
def s3(monkeypatch) -> Iterator:
    """A moto_server on a free loopback port, its buckets created; credentials and endpoint in the standard AWS
    environment variables (never on a command line). Yields a boto3 S3 client."""
    port = free_port()
    server = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"AWS_ACCESS_KEY_ID": "litlab-test", "AWS_SECRET_ACCESS_KEY": "litlab-test-secret",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    import boto3

    client = boto3.client("s3")
    for _ in range(50):
        try:
            client.create_bucket(Bucket=BUCKETS[0])
            break
        except Exception:  # noqa: BLE001 - the server is still starting
            time.sleep(0.2)
    for bucket in BUCKETS[1:]:
        client.create_bucket(Bucket=bucket)
    try:
        yield client
    finally:
        server.terminate()
        server.wait(timeout=10)
