"""Tiny copies of users' datasets in their real on-disk formats, built from scikit-image's bundled photos.

Helpers only (no tests): imported by the test_eval_sets*.py modules. Every builder writes under ``root`` and
returns what the loader takes as its root, plus what the test should expect.
"""

from __future__ import annotations

import functools
import io
import json
import pickle
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

CORRUPT = b"\xff\xd8\xff\xe0 this is not really a JPEG"  # a JPEG signature, then garbage
CIFAR_NAMES = ["apple", "aquarium_fish", "baby", "bear", "beaver"] + [f"class_{i}" for i in range(5, 100)]


@functools.cache
def photos() -> tuple[np.ndarray, ...]:
    """Five real photos (astronaut, coffee, chelsea the cat, rocket, camera man), shrunk to 64x48, RGB."""
    from skimage import data

    raw = (data.astronaut(), data.coffee(), data.chelsea(), data.rocket(), data.camera())
    return tuple(np.asarray(Image.fromarray(a).convert("RGB").resize((64, 48), Image.BILINEAR)) for a in raw)


def encoded(pixels: np.ndarray, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format=fmt)
    return buf.getvalue()


def image_folder(root: Path) -> Path:
    """root/n01 (astronaut, coffee), n02 (chelsea as PNG, rocket), n03 (camera + a corrupt .jpg + a README)."""
    p = photos()
    files = {"n01/a.jpg": encoded(p[0]), "n01/b.JPEG": encoded(p[1]), "n02/c.png": encoded(p[2], "PNG"),
             "n02/d.jpg": encoded(p[3]), "n03/e.jpg": encoded(p[4]), "n03/f_broken.jpg": CORRUPT,
             "n03/README.txt": b"not an image"}
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def coco(root: Path) -> Path:
    """annotations/captions_val2017.json + val2017/: ids listed out of order, 0..3 captions each.

    Images: 42 astronaut (1 caption), 7 coffee (2), 13 chelsea (3), 99 rocket (no caption),
    5 corrupt file (1), 6 missing file (1). Returns the json path.
    """
    p = photos()
    (root / "val2017").mkdir(parents=True)
    files = {42: ("000042.jpg", encoded(p[0])), 7: ("000007.jpg", encoded(p[1])), 13: ("000013.jpg", encoded(p[2])),
             99: ("000099.jpg", encoded(p[3])), 5: ("000005.jpg", CORRUPT), 6: ("000006.jpg", None)}
    for name, data in files.values():
        if data is not None:
            (root / "val2017" / name).write_bytes(data)
    notes = [(13, "a cat lying on a red blanket"), (7, "a cup of coffee"), (42, "an astronaut in a white suit"),
             (13, "a tabby cat"), (7, "coffee on a saucer"), (13, "a cat looking up"), (5, "broken"), (6, "missing")]
    ids = [8, 3, 5, 1, 6, 2, 7, 4]  # annotation ids: caption order within an image follows them
    doc = {"images": [{"id": i, "file_name": name, "width": 64, "height": 48} for i, (name, _) in files.items()],
           "annotations": [{"id": a, "image_id": i, "caption": c} for a, (i, c) in zip(ids, notes, strict=True)]}
    path = root / "annotations" / "captions_val2017.json"
    path.parent.mkdir()
    path.write_text(json.dumps(doc))
    return path


def karpathy_split(root: Path) -> Path:
    """Karpathy's dataset_coco.json layout: test = cocoids 13, 42 and 1000 (not in the captions json)."""
    images = [{"filename": f"COCO_val2014_{i:012d}.jpg", "cocoid": i, "split": s}
              for i, s in [(13, "test"), (42, "test"), (1000, "test"), (7, "train"), (99, "val")]]
    path = root / "dataset_coco.json"
    path.write_text(json.dumps({"dataset": "coco", "images": images}))
    return path


def cifar100(root: Path) -> tuple[Path, np.ndarray]:
    """cifar-100-python.tar.gz with train (5 photos), test (4 photos) and meta; returns (archive, test pixels)."""
    small = np.stack([np.asarray(Image.fromarray(a).resize((32, 32), Image.BILINEAR)) for a in photos()])
    members = {
        "train": {b"filenames": [b"x"] * 5, b"fine_labels": [0, 1, 2, 3, 4], b"coarse_labels": [0] * 5,
                  b"data": small.transpose(0, 3, 1, 2).reshape(5, 3072)},  # R, G, B planes
        "test": {b"filenames": [b"y"] * 4, b"fine_labels": [4, 3, 1, 4], b"coarse_labels": [0] * 4,
                 b"data": small[:4].transpose(0, 3, 1, 2).reshape(4, 3072)},
        "meta": {b"fine_label_names": [n.encode() for n in CIFAR_NAMES], b"coarse_label_names": [b"c"] * 20},
    }
    root.mkdir(parents=True, exist_ok=True)
    path = root / "cifar-100-python.tar.gz"
    write_tar(path, {f"cifar-100-python/{k}": pickle.dumps(v, protocol=2) for k, v in members.items()})
    return path, small[:4]


def write_tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


PETS_TEST = ["#Image CLASS-ID SPECIES BREED ID", "Abyssinian_100 1 1 1", "Abyssinian_101 1 1 1",
             "american_bulldog_100 2 2 1", "american_pit_bull_terrier_7 3 2 2", "american_pit_bull_terrier_8 3 2 2"]


def pets(root: Path) -> Path:
    """annotations/{test,trainval}.txt + images/: american_pit_bull_terrier_8.jpg is corrupt."""
    (root / "annotations").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "annotations" / "test.txt").write_text("\n".join(PETS_TEST) + "\n")
    (root / "annotations" / "trainval.txt").write_text("Abyssinian_1 1 1 1\namerican_bulldog_2 2 2 1\n"
                                                        "american_pit_bull_terrier_3 3 2 2\n")
    stems = [line.split()[0] for line in PETS_TEST[1:]] + ["Abyssinian_1", "american_bulldog_2",
                                                           "american_pit_bull_terrier_3"]
    for i, stem in enumerate(stems):
        data = CORRUPT if stem == "american_pit_bull_terrier_8" else encoded(photos()[i % 5])
        (root / "images" / f"{stem}.jpg").write_bytes(data)
    return root


def user_roots(root: Path) -> dict[str, Path]:
    """A root for every users'-format loader, all under ``root``."""
    return {"image-folder": image_folder(root / "folder"), "coco-captions": coco(root / "coco"),
            "cifar100-test": cifar100(root / "cifar")[0], "cifar100-train": root / "cifar",
            "pets-test": pets(root / "pets"), "pets-trainval": root / "pets"}
