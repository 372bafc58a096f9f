"""Study "text_models" (Table 4): text tower family x tokenizer, pretrained or random init."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ablations import paper
from ablations.report_cells import CellResult
from ablations.report_model import STUDY_TABLES, StudyReport, Table, paper_reference
from ablations.report_values import DASH, Keys, counted, dataset, run_text, shown, status_notes

TOKENIZERS = {"wordpiece_minilm": "WP", "sentencepiece_mistral": "SP", "bpe_clip": "BPE"}
PAPER_COLUMNS = ("IN 0-shot", "I→T", "T→I")
FAMILIES = (("bert_", "BERT", ""), ("t5_", "T5", ""), ("transformer_", "ViT", "text transformer "))  # prefix, family
MATCH_NOTE = ("Paper columns: Table 4's YFCC-CLIP row of the same text family and tokenizer (our transformer_* "
              "towers are the ViT-style text transformer, t5_* is T5, bert_* and minilm_l6 are BERT); "
              f"{DASH} where Table 4 has no such row (BPE, file tokenizers, BERT + SP, T5 + WP).")


@dataclass(frozen=True)
class TextTower:
    family: str  # Table 4's name: BERT, T5, ViT (or the arch itself when unknown)
    detail: str  # e.g. "MiniLM-L6"
    pretrained: bool
    tokenizer: str  # WP, SP, BPE, file, or the name

    @property
    def label(self) -> str:
        init = "pretrained" if self.pretrained else "random init"
        return f"{self.family} ({self.detail}, {init}) + {self.tokenizer}"


def family_of(arch: str) -> tuple[str, str]:
    """Table 4 family and a detail: minilm_l6 -> (BERT, MiniLM-L6), t5_small -> (T5, small), ..."""
    if arch.startswith("minilm_l6"):
        return "BERT", "MiniLM-L6"
    for prefix, family, detail in FAMILIES:
        if arch.startswith(prefix):
            return family, detail + arch[len(prefix):]
    return arch, arch


def tokenizer_short(name: str) -> str:
    return "file" if name.startswith("file:") else TOKENIZERS.get(name, name)


def text_tower(cell: CellResult) -> TextTower:
    arch = cell.setting("text.arch") or "?"
    setup = cell.setting("setup") or "??"
    family, detail = family_of(arch)
    pretrained = len(setup) == 2 and setup[1] in "UL" and not arch.endswith("_scratch")
    return TextTower(family, detail, pretrained, tokenizer_short(cell.setting("text.tokenizer") or "?"))


def _row(cell: CellResult, keys: Keys) -> tuple[str, ...]:
    tower = text_tower(cell)
    ref = paper.table4_row(tower.family, tower.tokenizer)
    cited = tuple(n.text() if (n := ref.get(col)) else DASH for col in PAPER_COLUMNS) if ref else (DASH,) * 3
    return (tower.label, shown(cell, keys.zeroshot), shown(cell, keys.i2t), shown(cell, keys.t2i), *cited,
            run_text(cell))


def _columns(keys: Keys) -> tuple[str, ...]:
    return ("text tower + tokenizer", keys.zeroshot_header(), f"ours I→T R@1 % ({dataset(keys.i2t)})",
            f"ours T→I R@1 % ({dataset(keys.t2i)})", "paper IN 0-shot (Table 4, YFCC-CLIP)", "paper I→T (Table 4)",
            "paper T→I (Table 4)", "run")


def pretraining_gains(cells: Sequence[CellResult], keys: Keys) -> str:
    """Measured gain of a pretrained text tower over the same family + tokenizer from random init."""
    found: dict[tuple[str, str, str, bool], float] = {}
    for c in cells:
        t, v = text_tower(c), c.metric(keys.zeroshot or "")
        if v is not None:
            found.setdefault((t.family, t.detail, t.tokenizer, t.pretrained), 100 * v)
    gains = []
    for (family, detail, tok, pre), value in found.items():
        if pre and (base := found.get((family, detail, tok, False))) is not None:
            ref = paper.table4_row(family, tok)
            paper_gain = ref.get("IN 0-shot") if ref else None
            beside = f" (paper {family} + {tok}: +{paper_gain.gain:.1f}, Table 4)" if paper_gain and paper_gain.gain \
                else ""
            gains.append(f"{family} ({detail}) + {tok}: {value - base:+.1f}{beside}")
    shown_gains = "; ".join(gains) or "cannot check, no pretrained and random-init pair measured"
    return f"Measured zero-shot gain from a pretrained text tower: {shown_gains}."


@STUDY_TABLES.register("text_models")
def text_models(cells: Sequence[CellResult]) -> StudyReport:
    keys = Keys.of(cells)
    ours = Table(f"Text towers x tokenizers ({counted(len(cells))}), paper beside", _columns(keys),
                 tuple(_row(c, keys) for c in cells))
    notes = (MATCH_NOTE, paper.TABLE4_GAIN_NOTE, pretraining_gains(cells, keys), *status_notes(cells))
    return StudyReport("text_models", "Table 4 — text models and tokenizers", (ours, paper_reference(paper.TABLE4)),
                       notes)
