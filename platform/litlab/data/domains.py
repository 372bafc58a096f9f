"""What each shipped dataset is, declared once: where its images come from, how they look, what they name.

A ``Domain`` says, for a shard source (as a recipe configures it) or an evaluation set:
  images    the origins of its pictures ("Noto emoji drawings": the font's renders and emoji-datasource-google's
            PNGs are the same drawings; "Fashion-MNIST test images")
  styles    how they look ("Noto emoji art", "Fashion-MNIST product photos")
  concepts  the pool of things it names ("Unicode emoji", "Fashion-MNIST classes")
  part      of the held-out draw (``litlab.data.heldout``): all items, the held-out ones, or the rest
``shared(tuning, evaluation)`` compares two declarations: images and concepts are shared when an origin or the
pool is the same and the parts overlap (held-out and rest never do), styles when a style is the same. Users'
own sources and sets declare nothing (None): the table says "undeclared" and the computed vocabulary coverage
(``litlab.data.coverage``) is all it can show. Tests check that every registered source and set is declared here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Part = Literal["all", "held-out", "rest"]
NOTO = ("Noto emoji drawings", "Noto emoji art")  # (images, style) of the font's renders and of Google's PNGs
VENDOR_ART = {"google": NOTO, "apple": ("Apple emoji drawings", "Apple emoji art"),
              "twitter": ("Twitter emoji drawings", "Twitter emoji art")}


@dataclass(frozen=True)
class Domain:
    images: tuple[str, ...]
    styles: tuple[str, ...]
    concepts: str
    part: Part = "all"


def _vendors(vendors: tuple[str, ...], concepts: str = "Unicode emoji", part: Part = "all") -> Domain:
    return Domain(tuple(VENDOR_ART[v][0] for v in vendors), tuple(dict.fromkeys(VENDOR_ART[v][1] for v in vendors)),
                  concepts, part)


def _fmnist(split: str) -> Domain:
    return Domain((f"Fashion-MNIST {split} images",), ("Fashion-MNIST product photos",), "Fashion-MNIST classes")


CLIPART = Domain(("Open Clip Art drawings",), ("Open Clip Art clip art",), "Open Clip Art titles and keywords")
STAMPS = Domain(("Tux Paint stamps",), ("Tux Paint stamps: photo cut-outs and drawings",), "Tux Paint stamp captions")
UNDECLARED: Callable[[Mapping[str, Any]], Domain | None] = lambda options: None  # noqa: E731 - users' own data

# shard source -> its domain under the options a recipe gives it
SOURCE_DOMAINS: dict[str, Callable[[Mapping[str, Any]], Domain | None]] = {
    "noto-emoji": lambda o: Domain((NOTO[0],), (NOTO[1],), "Unicode emoji"),
    "emoji-styles": lambda o: _vendors(tuple(v.strip() for v in str(o.get("vendors", "google,apple,twitter"))
                                             .split(",") if v.strip())),
    "openclipart": lambda o: CLIPART,
    "fashion-mnist": lambda o: _fmnist(str(o.get("split", "train"))),
    "tuxpaint-stamps": lambda o: STAMPS,
    **{name: UNDECLARED for name in ("coco", "csv", "folder", "img2dataset", "webdataset")},
}
# the first part of a row's key -> the shipped source that writes it (rows of other keys are users' own data)
KEY_PREFIXES = {"emoji": "noto-emoji", "openclipart": "openclipart", "fmnist": "fashion-mnist",
                "tuxpaint": "tuxpaint-stamps", **{f"emoji-{v}": "emoji-styles" for v in VENDOR_ART}}

EVAL_DOMAINS: dict[str, Domain | None] = {
    "fmnist-test": _fmnist("test"), "fmnist-idx-test": _fmnist("test"), "fmnist-idx-train": _fmnist("train"),
    "emoji-groups": Domain((NOTO[0],), (NOTO[1],), "Unicode emoji groups"),
    "emoji-subgroups": Domain((NOTO[0],), (NOTO[1],), "Unicode emoji subgroups"),
    "emoji-heldout": Domain((NOTO[0],), (NOTO[1],), "Unicode emoji", "held-out"),
    "emoji-vendors-heldout": _vendors(("apple", "twitter"), part="held-out"),
    "tuxpaint-stamps": STAMPS,
    **{f"emoji-style-{a}-{b}": _vendors((a, b)) for a, b in (("google", "apple"), ("google", "twitter"),
                                                             ("apple", "twitter"))},
    **{f"cifar100-{s}": Domain((f"CIFAR-100 {s} images",), ("CIFAR-100 photos",), "CIFAR-100 classes")
       for s in ("train", "test")},
    **{f"pets-{s}": Domain((f"Oxford-IIIT Pets {s} images",), ("Oxford-IIIT Pets photos",), "Oxford-IIIT Pets breeds")
       for s in ("trainval", "test")},
    "coco-captions": None, "image-folder": None,  # whatever copy the user points at
}


def source_domain(source: str, options: Mapping[str, Any] | None = None, heldout: str = "all") -> Domain | None:
    """The declared domain of shard ``source`` built with ``options``; ``heldout`` as in a recipe part."""
    declared = SOURCE_DOMAINS.get(source, UNDECLARED)(options or {})
    if declared is None:
        return None
    part: Part = {"exclude": "rest", "only": "held-out"}.get(heldout, "all")  # type: ignore[assignment]
    return Domain(declared.images, declared.styles, declared.concepts, part)


def _overlap(a: Part, b: Part) -> bool:
    return "all" in (a, b) or a == b


def shared(tuning: Domain | None, evaluation: Domain | None) -> dict[str, str]:
    """What a tuning source and an evaluation set share: {images, style, concepts} -> yes / no / ... text."""
    if tuning is None or evaluation is None:
        return {k: "undeclared" for k in ("images", "style", "concepts")}
    apart = not _overlap(tuning.part, evaluation.part)
    same_images = set(tuning.images) & set(evaluation.images)
    styles = [s for s in evaluation.styles if s in tuning.styles]
    return {
        "images": ("no (held out of the same pool)" if apart else "yes") if same_images else "no",
        "style": "no" if not styles else "yes" if len(styles) == len(evaluation.styles) else
                 f"partly ({', '.join(styles)})",
        "concepts": ("no (held out of the same pool)" if apart else "yes") if tuning.concepts == evaluation.concepts
                    else "no",
    }
