"""A small dataset made by img2dataset itself, as a user makes one: image files served over HTTP on loopback (real
image bytes and captions: rows of the demo shards), listed in a url/caption parquet, downloaded by the img2dataset
CLI into its parquet and webdataset output formats at once. The list holds what real lists hold besides good rows:
a URL that answers 404, bytes that are no image, an empty caption."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

BIN = Path(sys.executable).parent
FORMATS = ("parquet", "webdataset")
BROKEN = {"failed_to_download": 1, "failed_to_resize": 1, "empty_caption": 1}  # what img2dataset's status says


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return None


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on a free loopback port; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def url_list(rows: list[dict], images: Path, base: str, out: Path) -> Path:
    """Write each row's image as a file under ``images`` and the url/caption list as ``out`` (parquet)."""
    images.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, row in enumerate(rows):
        (images / f"{i:04d}.jpg").write_bytes(row["jpg"])
        entries.append((f"{base}/{i:04d}.jpg", row["txt"]))
    (images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 these bytes are no image " * 20)
    entries += [(f"{base}/missing.jpg", "an image that is not there"), (f"{base}/corrupt.jpg", "a broken file"),
                (f"{base}/0000.jpg", "")]
    pq.write_table(pa.table({"url": [u for u, _ in entries], "caption": [c for _, c in entries]}), out)
    return out


def img2dataset(urls: Path, out: Path, output_format: str, log: Path) -> subprocess.Popen:
    """The img2dataset CLI downloading ``urls`` into ``out`` (64 px, 25 rows a shard), started, not awaited."""
    cmd = [str(BIN / "img2dataset"), "--url_list", str(urls), "--input_format", "parquet", "--url_col", "url",
           "--caption_col", "caption", "--output_format", output_format, "--output_folder", str(out),
           "--processes_count", "1", "--thread_count", "4", "--image_size", "64", "--timeout", "10",
           "--number_sample_per_shard", "25", "--retries", "0", "--extract_exif", "False"]
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}  # albumentations asks PyPI for updates otherwise
    with log.open("w") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)


def make(rows: list[dict], root: Path) -> dict[str, Path]:
    """img2dataset's output of ``rows`` plus the broken entries, in both formats, as splits under ``root``:
    {"parquet": root/i2d, "webdataset": root/i2d-wds}."""
    folders = {"parquet": root / "i2d", "webdataset": root / "i2d-wds"}
    with served(root / "web") as base:
        urls = url_list(rows, root / "web", base, root / "urls.parquet")
        procs = {fmt: img2dataset(urls, folders[fmt], fmt, root / f"img2dataset-{fmt}.log") for fmt in FORMATS}
        for fmt, proc in procs.items():
            assert proc.wait(timeout=600) == 0, (root / f"img2dataset-{fmt}.log").read_text()[-3000:]
    return folders
