"""Your own CIFAR-100, read from the official python archive ``cifar-100-python.tar.gz`` without extracting it.

The archive holds ``cifar-100-python/{train,test,meta}``: Python pickles of dicts with bytes keys
(b'data' (N, 3072) uint8 = the R, G, B planes of a 32x32 image; b'fine_labels' list of 0..99;
b'fine_label_names' in meta). Pickles can run code, so they are read with ``encoding="bytes"`` (the
format's Python 2 strings) by an unpickler that only resolves what numpy arrays need (``_reconstruct``,
``ndarray``, ``dtype``, ``_codecs.encode``) and refuses any other global: this is for this documented
format only, never for arbitrary pickles. Class names: underscores read as spaces ("aquarium fish").
``root`` = the .tar.gz, or a folder holding it. ``max_images`` keeps that many evenly spaced.
"""

from __future__ import annotations

import codecs
import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from litlab.evaluators.sets.assemble import build_labelled
from litlab.evaluators.sets.images import subset
from litlab.evaluators.sets.names import readable
from litlab.evaluators.sets.paths import find_in, need_root
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.types import LabelledEvalSet

ARCHIVE = "cifar-100-python.tar.gz"
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's array-unpickling helper, whatever its module
ALLOWED = {("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
           ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
           ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): codecs.encode}


class ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR pickle")
        return ALLOWED[(module, name)]


def read_member(archive: Path, member: str) -> dict[bytes, Any]:
    """The pickled dict ``cifar-100-python/<member>`` of the archive (found by its base name)."""
    data = None
    try:
        with tarfile.open(archive, "r:*") as tar:
            for info in tar:  # one pass over the stream, stopping at the member
                if info.isfile() and Path(info.name).name == member:
                    data = tar.extractfile(info).read()
                    break
    except (tarfile.TarError, EOFError, OSError) as err:
        raise ValueError(f"{archive}: not a readable tar archive ({err})") from err
    if data is None:
        raise ValueError(f"{archive}: no member named {member!r}; is this {ARCHIVE}?")
    out = ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    if not isinstance(out, dict):
        raise ValueError(f"{archive}:{member}: expected a pickled dict, got {type(out).__name__}")
    return out


def _arrays(batch: dict[bytes, Any], where: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 32, 32, 3) uint8, fine labels (N,) int64) of one pickled split."""
    if b"data" not in batch or b"fine_labels" not in batch:
        raise ValueError(f"{where}: needs b'data' and b'fine_labels', has {sorted(batch)}")
    data = np.asarray(batch[b"data"], dtype=np.uint8)  # (N, 3072)
    labels = np.asarray(batch[b"fine_labels"], dtype=np.int64)  # (N,)
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise ValueError(f"{where}: b'data' {data.shape} and {len(labels)} labels; expected (N, 3072) and N")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def load_cifar100(split: str, root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """CIFAR-100 ``split`` ("train" 50000 or "test" 10000) with its 100 fine labels."""
    archive = find_in(need_root(root, f"cifar100-{split}", ARCHIVE), (ARCHIVE,), "CIFAR-100 archive")
    images, labels = _arrays(read_member(archive, split), f"{archive}:{split}")
    names = [readable(n.decode() if isinstance(n, bytes) else str(n))
             for n in read_member(archive, "meta").get(b"fine_label_names", [])]
    if len(names) <= labels.max(initial=0):
        raise ValueError(f"{archive}: meta has {len(names)} fine_label_names but labels reach {labels.max()}")
    pick = subset(len(images), max_images)
    return build_labelled(f"cifar100-{split}", images[pick], labels[pick], names, size)


@EVAL_SETS.register("cifar100-test")
def cifar100_test(root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """CIFAR-100 test split (10000 images, 100 classes)."""
    return load_cifar100("test", root, size, max_images)


@EVAL_SETS.register("cifar100-train")
def cifar100_train(root: str | Path | None, size: int, max_images: int = 0) -> LabelledEvalSet:
    """CIFAR-100 train split (50000 images): few-shot probe training data."""
    return load_cifar100("train", root, size, max_images)
