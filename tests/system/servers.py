"""Real servers on loopback for the system tests: a free port, and an `mlflow server` started, awaited, stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mlflow(port: int, backend_uri: str, log: Path, *extra: str, timeout: float = 240) -> subprocess.Popen:
    """`mlflow server` on 127.0.0.1:``port`` over ``backend_uri``, returned once /health answers (its log appended
    to ``log``); fails with the log's tail if it dies or stays silent for ``timeout`` seconds."""
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}
    with log.open("a") as out:
        proc = subprocess.Popen([str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", "1", "--backend-store-uri", backend_uri, *extra],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return proc
        except OSError:
            time.sleep(0.5)
    stop(proc)
    raise AssertionError(f"mlflow server on port {port} did not answer: {log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen, timeout: float = 60) -> None:
    os.killpg(proc.pid, 15)  # the server and its uvicorn worker
    proc.wait(timeout=timeout)
