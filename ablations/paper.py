"""The LiT paper's published numbers, as data, each with the table or figure it comes from.

Source: Zhai et al., "LiT: Zero-Shot Transfer with Locked-image text Tuning", CVPR 2022 (arXiv 2111.07991 v3),
as transcribed in shared/PAPER.md. Accuracies and recalls are percent; "–" in the paper is ``None`` here.
Plot-only results (Figure 3, Appendix F / Figure 9) are kept as their stated findings, never as invented numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Unit = Literal["%", "count", "img/s/core", "examples"]
Cited = float | tuple[float, float] | None  # a value, (value, bracketed gain), or None for the paper's "–"


@dataclass(frozen=True)
class PaperNumber:
    value: float
    source: str  # the table or figure, e.g. "Table 4"
    what: str  # row and column as the reader should compare it, e.g. "YFCC-CLIP, BERT + WP: IN 0-shot"
    unit: Unit = "%"
    gain: float | None = None  # Table 4's bracket: further gain from a pretrained language model

    def text(self) -> str:
        """The number as the paper prints it: 58.8 (+0.7), 2.6M, 76K, 2439."""
        if self.unit == "count":
            shown = _count(self.value)
        elif self.unit == "%":
            shown = f"{self.value:.1f}"
        else:
            shown = f"{self.value:.0f}"
        return shown if self.gain is None else f"{shown} (+{self.gain:.1f})"

    def cited(self) -> str:
        return f"{self.text()} ({self.source})"


def _count(v: float) -> str:
    if v >= 1e6:
        return f"{v / 1e6:.1f}M"
    return f"{v / 1e3:.0f}K" if v >= 1e3 else f"{v:.0f}"


@dataclass(frozen=True)
class PaperRow:
    label: str
    numbers: tuple[tuple[str, PaperNumber | None], ...]  # column -> number, in the paper's column order

    def get(self, column: str) -> PaperNumber | None:
        for name, number in self.numbers:
            if name == column:
                return number
        raise KeyError(f"no column {column!r} in paper row {self.label!r}; columns: {[n for n, _ in self.numbers]}")

    def texts(self) -> tuple[str, ...]:
        return tuple("–" if n is None else n.text() for _, n in self.numbers)


@dataclass(frozen=True)
class PaperTable:
    source: str  # "Table 4"
    title: str
    columns: tuple[str, ...]
    rows: tuple[PaperRow, ...]

    def row(self, label: str) -> PaperRow | None:
        return next((r for r in self.rows if r.label == label), None)


@dataclass(frozen=True)
class PaperFinding:
    source: str  # "Figure 3"
    text: str

    def cited(self) -> str:
        return f"Paper, {self.source}: {self.text}"


def _table(source: str, title: str, columns: Sequence[str], units: Sequence[Unit],
           rows: Sequence[tuple[str, Sequence[Cited]]]) -> PaperTable:
    built = []
    for label, values in rows:
        numbers = []
        for column, unit, v in zip(columns, units, values, strict=True):
            value, gain = v if isinstance(v, tuple) else (v, None)
            what = f"{title}; {label}: {column}"
            numbers.append((column, None if value is None else PaperNumber(value, source, what, unit, gain)))
        built.append(PaperRow(label, tuple(numbers)))
    return PaperTable(source, title, tuple(columns), tuple(built))


PCT3: tuple[Unit, ...] = ("%", "%", "%")

TABLE2 = _table("Table 2", "settings, 3.6B image-text pairs, zero-shot", ("ImgNet", "ImgNet-v2", "CIFAR-100", "Pets"),
                ("%",) * 4, [
                    ("Lu", (70.1, 61.7, 70.9, 88.1)),
                    ("Uu", (57.2, 50.2, 62.1, 74.8)),
                    ("uu", (50.6, 43.3, 47.9, 70.3)),
                ])

TABLE3 = _table("Table 3", "image encoders (ViT-B/16), LiT on YFCC-CLIP",
                ("full IN", "IN 10-shot", "0-shot", "I→T", "T→I"), ("%",) * 5, [
                    ("MoCo-v3 (IN)", (76.7, 60.6, 55.4, 33.5, 17.6)),
                    ("DINO (IN)", (78.2, 61.2, 55.5, 33.4, 18.2)),
                    ("AugReg (IN21k)", (77.4, 63.9, 55.9, 30.3, 17.2)),
                    ("AugReg (IN)", (77.7, 77.1, 64.3, 25.4, 13.8)),
                    ("AugReg (Places)", (None, 22.5, 28.5, 25.1, 12.9)),
                ])

TABLE4 = _table("Table 4", "text models x tokenizers (AugReg B/32 image tower)", ("IN 0-shot", "I→T", "T→I"), PCT3, [
    ("YFCC-CLIP, ViT + SP", (57.2, 29.7, 16.9)),
    ("YFCC-CLIP, T5 + SP", ((57.8, 1.4), (29.4, 1.6), (17.2, 1.2))),
    ("YFCC-CLIP, mT5 + SP", ((58.1, 1.2), (28.3, 0.4), (16.4, 1.0))),
    ("YFCC-CLIP, BERT + WP", ((58.8, 0.7), (35.2, 1.1), (20.0, 0.7))),
    ("YFCC-CLIP, ViT + WP", (56.4, 28.2, 17.3)),
    ("private, ViT + SP", (68.8, 43.6, 28.5)),
    ("private, ViT + WP", (68.8, 45.4, 29.7)),
    ("private, BERT + WP", (65.8, 43.8, 28.6)),
])
TABLE4_GAIN_NOTE = ("Table 4 brackets: the further gain from initialising the text tower from a pretrained language "
                    "model.")

TABLE5 = _table("Table 5", "deduplication (Lu, B/32, mean of 3 runs)", ("#tune", "#eval", "IN", "I→T", "T→I"),
                ("count", "count", "%", "%", "%"), [
                    ("none", (0, 0, 70.2, 43.6, 28.4)),
                    ("test", (2.6e6, 76e3, 70.2, 43.3, 28.3)),
                    ("train+test", (3.6e6, 220e3, 69.9, 43.7, 28.4)),
                ])

TABLE9 = _table("Table 9", "deduplication repeated with L/16", ("IN", "I→T", "T→I"), PCT3, [
    ("none", (80.2, 50.4, 34.6)),
    ("test", (80.2, 49.0, 34.3)),
    ("train+test", (80.0, 49.6, 34.6)),
])

TABLE7 = _table("Table 7", "precomputed image embeddings, 8 TPUv3 cores",
                ("speed pre", "speed not", "max batch pre", "max batch not"),
                ("img/s/core", "img/s/core", "examples", "examples"), [
                    ("B/32 + B", (2439, 893, 2448, 2262)),
                    ("L/16 + B", (2423, 215, 2448, 1663)),
                    ("g/14 + B", (2409, 17, 2448, 146)),
                ])

FIGURE3 = PaperFinding("Figure 3", "settings LU, Lu, UU, Uu, uu, UL, uL on YFCC100m-CLIP over 2.5k-60k steps (plot "
                       "only): locking the image tower almost always works best for zero-shot; a pretrained image "
                       "tower helps; a pretrained text tower helps only marginally; locking the text tower works "
                       "badly.")
SECTION6 = PaperFinding("Sec. 6", "with very long schedules Uu/UU can overtake Lu on retrieval.")
APPENDIX_F = PaperFinding("Appendix F / Figure 9", "the global contrastive loss is clearly better than the "
                          "per-device (local) one, and larger batches are consistently better (plot only).")
# Not the LiT paper: the loss study's objective part compares against SigLIP's stated finding (no number is cited)
SIGLIP = PaperFinding("SigLIP, Zhai et al., ICCV 2023 (arXiv 2303.15343), abstract",
                      "the sigmoid loss performs better than the softmax contrastive loss at smaller batch sizes "
                      "(and allows larger ones); no number is transcribed here.")

def towers_reference(setup: str) -> PaperNumber | None:
    """Table 2's ImageNet zero-shot for a setting (Lu, Uu, uu); None for settings only in Figure 3."""
    row = TABLE2.row(setup)
    return row.get("ImgNet") if row else None


def table4_row(family: str, tokenizer: str, data: str = "YFCC-CLIP") -> PaperRow | None:
    """The Table 4 row of a text family ("ViT", "T5", "mT5", "BERT") and tokenizer ("SP", "WP")."""
    return TABLE4.row(f"{data}, {family} + {tokenizer}")
