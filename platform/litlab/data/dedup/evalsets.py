"""Which evaluation images a run deduplicates against, and where their pixels or hashes come from.

``dedup_sources(evals, mode, data_root)``: the run's ``eval.evals`` specs (``<evaluator>/<set>[+<set>][@root]``)
name the **test** sets: the last set of each spec (a few-shot spec's first set is its probe-training data, a
**train** set). Mode ``test`` keeps the test sets; ``train+test`` adds the probe-training sets and each test
set's train split from ``TRAIN_SPLIT_OF`` (data: fmnist-test -> fmnist-idx-train, cifar100-test ->
cifar100-train, pets-test -> pets-trainval; emoji-heldout, tuxpaint-stamps, the emoji sets and coco-captions
have none).

Images (``eval_batches``): a set that is a split of the shards (fmnist-test, emoji-heldout under
``data.root``) gives its rows' ``key`` and ``sha1``/``phash`` columns (and ``jpg`` for embeddings). Any other
set is read from its original images (``ORIGINALS``: the idx arrays, CIFAR pickles, image files, Noto
renders), hashed here with ``litlab.data.hashing`` exactly as the shard writer hashes. A set missing from
``ORIGINALS`` falls back to its loader's resized images (``FALLBACK_SIZE``): perceptual hashes and
embeddings still match, exact pixel hashes cannot. Keys are ``<set>:<key within the set>``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litlab import storage
from litlab.data.shards import STATS, has_column, iter_rows, shard_files
from litlab.registry import Registry

log = logging.getLogger(__name__)

MODES = ("none", "test", "train+test")
SHARD_SPLITS = {"fmnist-test": "fmnist-test", "emoji-heldout": "emoji-heldout"}  # set -> split under data.root
FALLBACK_SIZE = 256  # resolution of a set read through its loader (one not in ORIGINALS)


@dataclass(frozen=True)
class TrainSplit:
    name: str  # the evaluation set holding the train split
    same_root: bool  # read from the test set's @root (one archive/folder holds both), else its own default


TRAIN_SPLIT_OF: dict[str, TrainSplit] = {
    "fmnist-test": TrainSplit("fmnist-idx-train", same_root=False),  # shard split -> Debian idx files
    "fmnist-idx-test": TrainSplit("fmnist-idx-train", same_root=True),
    "cifar100-test": TrainSplit("cifar100-train", same_root=True),
    "pets-test": TrainSplit("pets-trainval", same_root=True),
}


@dataclass(frozen=True)
class EvalSource:
    """One evaluation set to deduplicate against."""

    name: str  # a registered evaluation set (litlab.evaluators.sets.EVAL_SETS)
    root: str | None  # its @root, data.root for shard splits, None = its standard install location
    role: str  # "test" or "train"

    @property
    def label(self) -> str:
        return self.name if self.root is None else f"{self.name}@{self.root}"


def dedup_sources(evals: Sequence[str], mode: str, data_root: str) -> list[EvalSource]:
    """The evaluation sets of ``evals`` that ``mode`` deduplicates against, each once (a set that is both a test
    and a train set counts as test), test sets first, in spec order."""
    from litlab.evaluators.suite import parse_spec  # validates evaluator and set names

    if mode not in MODES:
        raise ValueError(f"unknown dedup mode {mode!r}; valid: {', '.join(MODES)}")
    if mode == "none":
        return []
    tests: list[EvalSource] = []
    trains: list[EvalSource] = []
    for text in evals:
        spec = parse_spec(text)

        def root_of(name: str, given: str | None) -> str | None:
            return given or (data_root if name in SHARD_SPLITS else None)

        test = spec.sets[-1]
        tests.append(EvalSource(test, root_of(test, spec.root), "test"))
        if mode == "train+test":
            trains += [EvalSource(name, root_of(name, spec.root), "train") for name in spec.sets[:-1]]
            if test in TRAIN_SPLIT_OF:
                split = TRAIN_SPLIT_OF[test]
                trains.append(EvalSource(split.name, root_of(split.name, spec.root if split.same_root else None),
                                         "train"))
    out: dict[tuple[str, str | None], EvalSource] = {}
    for source in tests + trains:
        out.setdefault((source.name, source.root), source)
    return list(out.values())


def shard_folder(source: EvalSource) -> str | None:
    """The shard folder of a set that is a split of the shards, else None."""
    if source.name not in SHARD_SPLITS:
        return None
    from litlab.evaluators.sets.shard_split import split_folder

    return split_folder(source.root, SHARD_SPLITS[source.name])


def fingerprint(source: EvalSource) -> dict[str, Any] | None:
    """What identifies the set's content cheaply: a shard split's ``_stats.json`` (rows, bytes, files); None for
    sets read from installed packages or users' files."""
    folder = shard_folder(source)
    if folder is None or not storage.is_file(storage.join(folder, STATS)):
        return None
    stats = json.loads(storage.read_text(storage.join(folder, STATS)))
    return {k: stats.get(k) for k in ("rows", "bytes", "files")}


Item = Any  # encoded bytes, a path, a pixel array or a PIL image (litlab.data.dedup.methods.rgb_image)
Originals = Callable[[str | None], Iterator[tuple[str, Item]]]
ORIGINALS: Registry[Originals] = Registry("evaluation set with original images")


def eval_batches(source: EvalSource, columns: Sequence[str], batch_size: int = 256) -> Iterator[dict[str, list]]:
    """Batches {key: [<set>:<key>], then the wanted ``columns`` (sha1, phash), or jpg: the images}."""
    folder = shard_folder(source)
    if folder is not None:
        files = shard_files(folder)
        wanted = [c for c in columns if c != "jpg" and has_column(files, c)]
        read = ["key", *wanted] + (["jpg"] if len(wanted) < len(columns) else [])
        batch: dict[str, list] = {c: [] for c in read}
        for row in iter_rows(folder, read, batch_size=batch_size):
            for c in read:
                batch[c].append(f"{source.name}:{row[c]}" if c == "key" else row[c])
            if len(batch["key"]) == batch_size:
                yield batch
                batch = {c: [] for c in read}
        if batch["key"]:
            yield batch
        return
    items = ORIGINALS.get(source.name)(source.root) if source.name in ORIGINALS else _fallback(source)
    batch = {"key": [], "jpg": []}
    for key, item in items:
        batch["key"].append(f"{source.name}:{key}")
        batch["jpg"].append(item)
        if len(batch["key"]) == batch_size:
            yield batch
            batch = {"key": [], "jpg": []}
    if batch["key"]:
        yield batch


def _fallback(source: EvalSource) -> Iterator[tuple[str, Item]]:
    """The loader's images at FALLBACK_SIZE, for a set whose originals this module does not know."""
    from litlab.evaluators.sets import load_eval_set

    log.warning("dedup: %s is read through its loader at %d px: exact pixel hashes cannot match it",
                source.name, FALLBACK_SIZE)
    data = load_eval_set(source.name, source.root, FALLBACK_SIZE)
    arrays = [data.images] if hasattr(data, "images") else [data.query_images, data.target_images]
    n = 0
    for images in arrays:
        for image in images:
            yield f"{n:06d}", image
            n += 1


def _register(*names: str) -> Callable[[Originals], Originals]:
    def add(fn: Originals) -> Originals:
        for name in names:
            ORIGINALS.register(name)(fn if len(names) == 1 else _bind(fn, name))
        return fn

    return add


def _bind(fn: Callable[..., Iterator[tuple[str, Item]]], name: str) -> Originals:
    return lambda root: fn(root, name)


@_register("fmnist-idx-train", "fmnist-idx-test")
def _fmnist_idx(root: str | None, name: str) -> Iterator[tuple[str, Item]]:
    """All 60000 / 10000 (28, 28) arrays of the Debian idx files."""
    from litlab.data.sources import fashion_mnist as fm

    images, _ = fm.load_split(name.removeprefix("fmnist-idx-"), fm.ROOT if root is None else Path(root).expanduser())
    for i, image in enumerate(images):
        yield f"{i:05d}", image


@_register("cifar100-test", "cifar100-train")
def _cifar100(root: str | None, name: str) -> Iterator[tuple[str, Item]]:
    """The (32, 32, 3) arrays of the python archive's split."""
    from litlab.evaluators.sets.cifar100 import ARCHIVE, read_member
    from litlab.evaluators.sets.paths import find_in, need_root

    archive = find_in(need_root(root, name, ARCHIVE), (ARCHIVE,), "CIFAR-100 archive")
    data = read_member(archive, name.removeprefix("cifar100-")).get(b"data")
    if data is None:
        raise ValueError(f"{archive}: {name} has no b'data'")
    for i, image in enumerate(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)):
        yield f"{i:05d}", image


@_register("pets-test", "pets-trainval")
def _pets(root: str | None, name: str) -> Iterator[tuple[str, Item]]:
    """images/<stem>.jpg of the list file's entries."""
    from litlab.evaluators.sets.paths import need_root
    from litlab.evaluators.sets.pets import read_list

    folder = need_root(root, name, "the folder with annotations/ and images/")
    stems, _, _ = read_list(folder / "annotations" / f"{name.removeprefix('pets-')}.txt")
    for stem in stems:
        yield stem, folder / "images" / f"{stem}.jpg"


@_register("tuxpaint-stamps")
def _tuxpaint(root: str | None) -> Iterator[tuple[str, Item]]:
    """The captioned stamp PNGs (what the evaluation set keeps)."""
    from litlab.data.sources.tuxpaint import ROOT, read_caption, walk_stamps

    base = ROOT if root is None else Path(root).expanduser()
    pngs, _ = walk_stamps(base)
    for png in pngs:
        if read_caption(png):
            yield png.relative_to(base).with_suffix("").as_posix(), png


@_register("emoji-groups", "emoji-subgroups")
def _emoji_renders(root: str | None, name: str) -> Iterator[tuple[str, Item]]:
    """Noto renders of every emoji the font draws, as the evaluation set draws them."""
    from litlab.data.sources.emoji import TEST_FILE, load_font, parse_emoji_test, render_emoji, select_entries

    path = TEST_FILE if root is None else Path(root).expanduser()
    font = load_font()
    for entry in select_entries(parse_emoji_test(path / TEST_FILE.name if path.is_dir() else path)):
        img = render_emoji(entry.text, font)
        if img is not None:
            yield "-".join(entry.codepoints), img


def _emoji_style(root: str | None, name: str) -> Iterator[tuple[str, Item]]:
    """Both vendors' drawings of the emoji the pair's set holds (queries and targets are both evaluated)."""
    from litlab.data.sources.emoji_styles import default_prefix, image_dir, read_entries

    query, target = name.removeprefix("emoji-style-").split("-")
    base = default_prefix() if root is None else Path(root).expanduser()
    entries = [e for e in read_entries(base, query) if all(e.get(f"has_img_{s}") for s in (query, target))]
    for vendor in (query, target):
        folder = image_dir(base, vendor)
        for entry in entries:
            yield f"{vendor}/{entry['unified']}", folder / entry["image"]


for _pair in ("google-apple", "google-twitter", "apple-twitter"):
    ORIGINALS.register(f"emoji-style-{_pair}")(_bind(_emoji_style, f"emoji-style-{_pair}"))


@_register("emoji-vendors-heldout")
def _emoji_vendors(root: str | None) -> Iterator[tuple[str, Item]]:
    """Apple's and Twitter's drawings of the held-out emoji (the set's images)."""
    from litlab.data.sources.emoji_styles import default_prefix, image_dir
    from litlab.evaluators.sets.emoji_vendors import join_heldout

    base = default_prefix() if root is None else Path(root).expanduser()
    joined = join_heldout(base)
    for vendor, files in joined.files.items():
        for emoji, file in zip(joined.classes, files, strict=True):
            if file is not None:
                yield f"{vendor}/{'-'.join(emoji.codepoints)}", image_dir(base, vendor) / file


@_register("image-folder")
def _image_folder(root: str | None) -> Iterator[tuple[str, Item]]:
    """Every image file under the class sub-folders."""
    from litlab.data.sources.image_folder import is_image_file
    from litlab.evaluators.sets.paths import need_root

    folder = need_root(root, "image-folder", "a folder of class sub-folders")
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and is_image_file(p.name)):
        if not any(part.startswith(".") for part in path.relative_to(folder).parts):
            yield path.relative_to(folder).as_posix(), path


@_register("coco-captions")
def _coco(root: str | None) -> Iterator[tuple[str, Item]]:
    """The captioned images of the captions json (what the evaluation set keeps), COCO's folder layout."""
    from litlab.data.sources.coco import default_images_dir, find_captions_json
    from litlab.evaluators.sets.coco import read_captions_json
    from litlab.evaluators.sets.paths import need_root

    path = Path(find_captions_json(str(need_root(root, "coco-captions", "a captions_*.json"))))
    folder = Path(default_images_dir(str(path)))
    entries, captions = read_captions_json(path)
    for entry in entries:
        if any(c and c.strip() for c in captions.get(int(entry["id"]), [])):
            yield str(entry["file_name"]), folder / str(entry["file_name"])
