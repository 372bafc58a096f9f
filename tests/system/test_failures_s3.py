"""S3 errors are retried with backoff: the real moto_server behind a faulty proxy on loopback that answers the first
K requests with 503 SlowDown / 500 InternalError and then forwards. Shards written and read through litlab.storage
survive K faults; with fewer attempts than faults the error names the URI. No Ray."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.system
FAULTS = [(503, "SlowDown", "Please reduce your request rate."), (500, "InternalError", "We encountered an error.")]


class FaultyProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, faults: int) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.upstream, self.faults_left, self.faulted, self.forwarded = urlsplit(upstream), faults, 0, 0
        self.lock = threading.Lock()

    def next_fault(self) -> tuple[int, str, str] | None:
        with self.lock:
            if self.faults_left <= 0:
                self.forwarded += 1
                return None
            self.faults_left -= 1
            self.faulted += 1
            return FAULTS[self.faulted % 2]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultyProxy

    def log_message(self, *args) -> None:
        return None

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        length = str(len(body))
        for k, v in headers:
            if k.lower() == "content-length" and self.command == "HEAD":
                length = v  # the object's size, which a HEAD answer carries without the body
            elif k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        body = self._body()
        fault = self.server.next_fault()
        if fault:
            status, code, text = fault
            xml = f"<Error><Code>{code}</Code><Message>{text}</Message></Error>".encode()
            return self._reply(status, [("Content-Type", "application/xml")], xml)
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "expect")}
        headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        self._reply(resp.status, resp.getheaders(), resp.read())
        conn.close()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle


@pytest.fixture
def faulty(s3, monkeypatch) -> Iterator:
    """Start a proxy in front of the s3 fixture's moto_server: ``faulty(k)`` -> the proxy, AWS_ENDPOINT_URL on it."""
    import os

    upstream, proxies = os.environ["AWS_ENDPOINT_URL"], []

    def start(faults: int) -> FaultyProxy:
        proxy = FaultyProxy(upstream, faults)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.server_address[1]}")
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.shutdown()


def test_shards_are_written_and_read_through_transient_s3_errors(faulty, tiny_shards):
    from litlab.data.shards import Record, iter_rows, read_stats, write_shards

    rows = list(iter_rows(tiny_shards / "fmnist-test", ["key", "jpg", "txt"]))[:12]
    records = [Record(r["key"], r["jpg"], r["txt"], {}) for r in rows]
    proxy = faulty(4)  # more consecutive faults than pyarrow's default of 3 attempts (S3_MAX_ATTEMPTS is 8)
    stats = write_shards(records, "s3://litlab-data/retry", rows_per_shard=5)
    assert proxy.faulted == 4 and proxy.forwarded > 0
    proxy.faults_left = 4
    assert read_stats("s3://litlab-data/retry") == stats and stats.rows == 12
    assert [r["key"] for r in iter_rows("s3://litlab-data/retry", ["key"])] == [r.key for r in records]
    assert proxy.faulted == 8


def test_more_faults_than_attempts_is_an_error_naming_the_uri(faulty, monkeypatch):
    from litlab import storage

    storage.write_bytes_atomic("s3://litlab-data/flaky/a.bin", b"payload")  # straight to moto: no faults
    monkeypatch.setattr(storage, "S3_MAX_ATTEMPTS", 2)
    proxy = faulty(1000)
    with pytest.raises(OSError, match="cannot read s3://litlab-data/flaky/a.bin"):
        storage.read_bytes("s3://litlab-data/flaky/a.bin")
    with pytest.raises(OSError, match="cannot write s3://litlab-data/flaky/b.bin"):
        storage.write_bytes_atomic("s3://litlab-data/flaky/b.bin", b"x" * 1000)
    with pytest.raises(OSError, match="cannot look up s3://litlab-data/flaky/c.bin"):
        storage.exists("s3://litlab-data/flaky/c.bin")
    assert proxy.forwarded == 0 and proxy.faulted >= 6  # 2 attempts each, all refused
