"""Your own ImageNet-style labelled folder: ``root/<class folder>/<image files>``, plus optional class names.

Classes are the sub-folders of ``root`` in sorted order (label = position), e.g. ImageNet's ``n01440764``...
Class names come from ``classnames`` (default: ``root/classnames.txt`` or ``root/classnames.json`` when
present, else the folder names made readable): a .txt has one name per line in sorted-folder order (as the
usual ImageNet classnames.txt), a .json maps folder -> name. Images: files with an image extension
(.jpg .jpeg .png .bmp .gif .webp .tif .tiff, any case), sorted by path; other files are ignored, images that
fail to decode are counted as ``corrupt_image``. ``max_images`` keeps that many spread over the classes.
"""

from __future__ import annotations

import json
from pathlib import Path

from litlab.data.sources.image_folder import IMAGE_EXTENSIONS, is_image_file
from litlab.evaluators.sets.assemble import build_labelled
from litlab.evaluators.sets.images import subset
from litlab.evaluators.sets.names import readable
from litlab.evaluators.sets.paths import need_root, require_path
from litlab.evaluators.sets.registry import EVAL_SETS
from litlab.evaluators.sets.types import LabelledEvalSet

EXTENSIONS = IMAGE_EXTENSIONS  # the shard source ``folder``'s: one list of what counts as an image file
NAME_FILES = ("classnames.txt", "classnames.json")


def read_classnames(path: Path, folders: list[str]) -> list[str]:
    """One name per class folder from a .txt (a line per folder, sorted order) or .json (folder -> name)."""
    text = require_path(path, "class-names file").read_text(encoding="utf-8")
    if path.suffix == ".json":
        mapping = json.loads(text)
        if not isinstance(mapping, dict):
            raise ValueError(f"{path}: needs a JSON object mapping folder -> name, got {type(mapping).__name__}")
        missing = [f for f in folders if f not in mapping]
        if missing:
            raise ValueError(f"{path}: {len(missing)} class folders have no name, e.g. {missing[:5]}")
        return [str(mapping[f]).strip() for f in folders]
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if len(names) != len(folders):
        raise ValueError(f"{path}: {len(names)} names for {len(folders)} class folders; need one line per folder")
    return names


def _default_names_file(root: Path) -> Path | None:
    return next((root / n for n in NAME_FILES if (root / n).is_file()), None)


def classes(folder: Path, classnames: str | Path | None = None) -> tuple[list[str], list[str]]:
    """(class sub-folders in sorted order, their names) of an image folder."""
    folders = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ValueError(f"{folder}: no class sub-folders (expected root/<class>/<image files>)")
    names_file = Path(classnames).expanduser() if classnames is not None else _default_names_file(folder)
    return folders, read_classnames(names_file, folders) if names_file else [readable(f) for f in folders]


def load_image_folder(root: str | Path | None, size: int, max_images: int = 0, *,
                      classnames: str | Path | None = None) -> LabelledEvalSet:
    """Labelled set from class sub-folders; ``classnames``: a names file (see the module docstring)."""
    folder = require_path(need_root(root, "image-folder", "a folder of class sub-folders"), "image folder")
    folders, names = classes(folder, classnames)
    files, labels = [], []
    for label, name in enumerate(folders):
        found = sorted(p for p in (folder / name).rglob("*") if is_image_file(p.name) and p.is_file())
        files += found
        labels += [label] * len(found)
    if not files:
        raise ValueError(f"{folder}: no image files ({', '.join(sorted(EXTENSIONS))}) in its class folders")
    pick = subset(len(files), max_images)
    return build_labelled("image-folder", [files[i] for i in pick], [labels[i] for i in pick], names, size)


EVAL_SETS.register("image-folder")(load_image_folder)
