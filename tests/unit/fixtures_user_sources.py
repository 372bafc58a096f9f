"""Small real inputs in the formats users bring, for the shard sources of ``litlab.data.sources``.

Helpers only (no tests). ``FIXTURES`` maps every users'-format source name to a builder that writes a clean
input of a few real photos (scikit-image's, via fixtures_eval_sets) under a folder and returns the
options for ``make_source(name, options)``. With ``bad=True`` a builder adds one broken item of each kind
its source skips; ``BAD_SKIPS`` says what each source must count for them.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fixtures_eval_sets import CORRUPT, encoded, photos

ASTRONAUT, COFFEE, CAT, ROCKET, CAMERA = range(5)  # photos() order


def jpeg(i: int) -> bytes:
    return encoded(photos()[i])


def png(i: int) -> bytes:
    return encoded(photos()[i], "PNG")


def _write(root: Path, files: dict[str, bytes | str]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data.encode() if isinstance(data, str) else data)


def write_folder(root: Path, bad: bool = False) -> dict[str, str]:
    """pairs/a/astronaut.jpg, pairs/a/coffee.png, pairs/b/cat.jpg (+ cat.json), each with its .txt."""
    files: dict[str, bytes | str] = {
        "a/astronaut.jpg": jpeg(ASTRONAUT), "a/astronaut.txt": "an astronaut in a white suit\n",
        "a/coffee.png": png(COFFEE), "a/coffee.txt": "a cup of coffee",
        "b/cat.jpg": jpeg(CAT), "b/cat.txt": "a tabby cat", "b/cat.json": json.dumps({"license": "cc0", "n": 3}),
        "notes.md": "not an image", "b/lonely.txt": "a caption without an image"}
    if bad:
        files |= {"c/rocket.jpg": jpeg(ROCKET),  # no caption file: no_caption
                  "c/camera.jpg": jpeg(CAMERA), "c/camera.txt": "  \n\t",  # empty_caption
                  "c/broken.jpg": CORRUPT, "c/broken.txt": "a broken file"}  # corrupt_image
    _write(root / "pairs", files)
    return {"input": str(root / "pairs")}


COCO_NOTES = [(632, "a cat lying on a red blanket"), (139, "an astronaut in a white suit"), (285, "a cup of coffee"),
              (632, "a tabby cat"), (139, "a woman in a space suit"), (632, "a cat looking up"),
              (632, "an orange cat"), (632, "a cat with green eyes")]


def write_coco(root: Path, bad: bool = False) -> dict[str, str]:
    """coco/annotations/captions_val2017.json + coco/val2017/: 139 (2 captions), 285 (1), 632 (5)."""
    files = {139: jpeg(ASTRONAUT), 285: png(COFFEE), 632: jpeg(CAT)}
    images = [{"id": i, "file_name": f"{i:012d}.{'png' if i == 285 else 'jpg'}", "width": 64, "height": 48}
              for i in (632, 139, 285)]
    notes = list(COCO_NOTES)
    if bad:
        files |= {724: jpeg(ROCKET), 776: jpeg(CAMERA), 802: CORRUPT}
        images += [{"id": i, "file_name": f"{i:012d}.jpg"} for i in (724, 776, 785, 802)]  # 724: no annotation
        images.append({"id": 872, "file_name": "../secret.jpg"})  # leaves val2017/: unsafe_path
        notes += [(776, "   "), (785, "a missing file"), (802, "a broken file"), (872, "a secret")]
        _write(root / "coco", {"secret.jpg": jpeg(ROCKET)})  # it exists, and still must not be read
    _write(root / "coco" / "val2017", {im["file_name"]: files[im["id"]] for im in images if im["id"] in files})
    ids = [50 + 7 * n for n in range(len(notes))][::-1]  # annotation ids decide the caption order
    doc = {"info": {}, "images": images,
           "annotations": [{"id": a, "image_id": i, "caption": c} for a, (i, c) in zip(ids, notes, strict=True)]}
    _write(root / "coco" / "annotations", {"captions_val2017.json": json.dumps(doc)})
    return {"input": str(root / "coco" / "annotations" / "captions_val2017.json"),
            "images": str(root / "coco" / "val2017")}


CSV_ROWS = [["filepath", "title", "license"],
            ["img/astronaut.jpg", "an astronaut in a white suit", "pd"],
            ["img/coffee.png", 'a cup of coffee, "black"', "cc0"],
            ["img/cat.jpg", "a tabby cat", "cc-by"],
            ["./img/cat.jpg", "a cat looking up", "cc-by"]]  # the same image again, next row: one record
CSV_BAD_ROWS = [["img/rocket.jpg"],  # missing_column
                ["img/nothere.jpg", "a missing file", "pd"],  # missing_file
                ["../outside.jpg", "an escape", "pd"],  # unsafe_path
                ["/etc/hostname", "an absolute path", "pd"],  # unsafe_path
                ["img/camera.jpg", "  ", "pd"],  # empty_caption
                ["", "no path", "pd"],  # empty_path
                ["img/broken.jpg", "a broken file", "pd"]]  # corrupt_image


def write_csv(root: Path, bad: bool = False, rows: Sequence[Sequence[str]] | None = None) -> dict[str, str]:
    """pairs.csv (filepath, title, license) with paths relative to its folder, images in img/."""
    _write(root / "csv", {"img/astronaut.jpg": jpeg(ASTRONAUT), "img/coffee.png": png(COFFEE), "img/cat.jpg": jpeg(CAT),
                          "img/rocket.jpg": jpeg(ROCKET), "img/camera.jpg": jpeg(CAMERA), "img/broken.jpg": CORRUPT,
                          "outside.jpg": jpeg(ROCKET)})
    with open(root / "csv" / "pairs.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows or CSV_ROWS + (CSV_BAD_ROWS if bad else []))
    return {"input": str(root / "csv" / "pairs.csv"), "path_column": "filepath", "caption_column": "title"}


I2D_SCHEMA = pa.schema([("caption", pa.string()), ("url", pa.string()), ("key", pa.string()),
                        ("status", pa.string()), ("error_message", pa.string()), ("width", pa.int32()),
                        ("height", pa.int32()), ("original_width", pa.int32()), ("original_height", pa.int32()),
                        ("jpg", pa.binary())])


def i2d_sample(shard: int, i: int, caption: str | None, data: bytes | None, status: str = "success") -> dict:
    """One row as img2dataset's ParquetSampleWriter writes it (jpg null for failed downloads)."""
    ok = data is not None
    return {"caption": caption, "url": f"https://example.com/{shard}/{i}.jpg", "key": f"{shard:05d}{i:04d}",
            "status": status, "error_message": None if ok else "HTTP Error 404: Not Found",
            "width": 64 if ok else None, "height": 48 if ok else None, "original_width": 640 if ok else None,
            "original_height": 480 if ok else None, "jpg": data}


def write_i2d_parquet(path: Path, samples: Sequence[dict], schema: pa.Schema = I2D_SCHEMA) -> None:
    """A parquet file written img2dataset's way: a ParquetWriter fed 100 rows at a time (row groups of 100)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, len(samples), 100):
            chunk = samples[start:start + 100]
            writer.write_table(pa.Table.from_pydict({k: [s[k] for s in chunk] for k in schema.names}, schema))


def write_img2dataset(root: Path, bad: bool = False) -> dict[str, str]:
    """i2d/00000.parquet (astronaut, coffee) and i2d/00001.parquet (cat), img2dataset's parquet output."""
    first = [i2d_sample(0, 0, "an astronaut in a white suit", jpeg(ASTRONAUT)),
             i2d_sample(0, 1, "a cup of coffee", png(COFFEE))]
    second = [i2d_sample(1, 0, "a tabby cat", jpeg(CAT))]
    if bad:
        first.append(i2d_sample(0, 2, "a lost photo", None, "failed_to_download"))
        second += [i2d_sample(1, 1, " ", jpeg(ROCKET)), i2d_sample(1, 2, "a broken file", CORRUPT)]
    write_i2d_parquet(root / "i2d" / "00000.parquet", first)
    write_i2d_parquet(root / "i2d" / "00001.parquet", second)
    (root / "i2d" / "00000_stats.json").write_text("{}")  # img2dataset writes these beside; not read
    return {"input": str(root / "i2d")}


def write_tar(path: Path, members: Sequence[tuple[str, bytes]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def wds_sample(key: str, image: bytes | None, caption: str | None, ext: str = "jpg") -> list[tuple[str, bytes]]:
    """A sample's members in webdataset's TarWriter order (sorted extensions)."""
    members = [(f"{key}.{ext}", image)] if image is not None else []
    members.append((f"{key}.json", json.dumps({"url": f"https://example.com/{key}", "status": "success"}).encode()))
    if caption is not None:
        members.append((f"{key}.txt", caption.encode()))
    return sorted(members)


def write_webdataset(root: Path, bad: bool = False) -> dict[str, str]:
    """wds/00000.tar (astronaut, coffee as .png) and wds/00001.tar (cat), img2dataset's webdataset output."""
    first = wds_sample("000000000", jpeg(ASTRONAUT), "an astronaut in a white suit") + \
        wds_sample("000000001", png(COFFEE), "a cup of coffee", "png")
    second = wds_sample("000010000", jpeg(CAT), "a tabby cat")
    if bad:
        second += wds_sample("000010001", jpeg(ROCKET), None)  # no_caption
        second += wds_sample("000010002", None, "no image here")  # no_image
        second += wds_sample("000010003", CORRUPT, "a broken file")  # corrupt_image
        second += wds_sample("000010004", jpeg(CAMERA), "\n ")  # empty_caption
        (root / "wds").mkdir(parents=True, exist_ok=True)
        (root / "wds" / "00002.tar").write_bytes(b"this is not a tar archive" * 40)  # corrupt_tar
    write_tar(root / "wds" / "00000.tar", first)
    write_tar(root / "wds" / "00001.tar", second)
    return {"input": str(root / "wds")}


FIXTURES: dict[str, Callable[[Path], dict[str, str]]] = {
    "folder": write_folder, "coco": write_coco, "csv": write_csv, "img2dataset": write_img2dataset,
    "webdataset": write_webdataset}

BAD_SKIPS: dict[str, dict[str, int]] = {
    "folder": {"no_caption": 1, "empty_caption": 1, "corrupt_image": 1},
    "coco": {"no_caption": 1, "empty_caption": 1, "missing_file": 1, "corrupt_image": 1, "unsafe_path": 1},
    "csv": {"missing_column": 1, "missing_file": 1, "unsafe_path": 2, "empty_caption": 1, "empty_path": 1,
            "corrupt_image": 1},
    "img2dataset": {"failed_to_download": 1, "empty_caption": 1, "corrupt_image": 1},
    "webdataset": {"no_caption": 1, "no_image": 1, "corrupt_image": 1, "empty_caption": 1, "corrupt_tar": 1},
}
