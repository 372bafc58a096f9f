"""Study "text_models" (Table 4): text tower family x tokenizer, pretrained or random init."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ablations import paper
from ablations.report_groups import Group
from ablations.report_model import STUDY_TABLES, StudyReport, Table, paper_reference
from ablations.report_values import DASH, Keys, dataset, run_text, seeds_text, shown, status_notes
from ablations.report_verdicts import pairs_check

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


def text_tower(group: Group) -> TextTower:
    arch = group.setting("text.arch") or "?"
    setup = group.setting("setup") or "??"
    family, detail = family_of(arch)
    pretrained = len(setup) == 2 and setup[1] in "UL" and not arch.endswith("_scratch")
    return TextTower(family, detail, pretrained, tokenizer_short(group.setting("text.tokenizer") or "?"))


def _row(group: Group, keys: Keys) -> tuple:
    tower = text_tower(group)
    ref = paper.table4_row(tower.family, tower.tokenizer)
    cited = tuple(n.text() if (n := ref.get(col)) else DASH for col in PAPER_COLUMNS) if ref else (DASH,) * 3
    return (tower.label, shown(group, keys.zeroshot), shown(group, keys.i2t), shown(group, keys.t2i), *cited,
            run_text(group))


def _columns(keys: Keys, groups: dict[str, Group]) -> tuple[str, ...]:
    return ("text tower + tokenizer", keys.header("zeroshot", groups), keys.header("i2t", groups),
            keys.header("t2i", groups), "paper IN 0-shot (Table 4, YFCC-CLIP)", "paper I→T (Table 4)",
            "paper T→I (Table 4)", "runs")


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def pretraining_check(groups: Sequence[Group], keys: Keys) -> str:
    """Pretrained text tower > the same family + tokenizer from random init (Table 4's brackets), over seeds."""
    pre: dict[str, tuple[float, ...]] = {}
    scratch: dict[str, tuple[float, ...]] = {}
    towers: dict[str, TextTower] = {}
    for g in groups:
        t = text_tower(g)
        name = f"{t.family} ({t.detail}) + {t.tokenizer}"
        towers[name] = t
        (pre if t.pretrained else scratch).setdefault(name, g.values(keys.zeroshot) if keys.zeroshot else ())
    gains = []
    for name, values in pre.items():
        if values and scratch.get(name):
            ref = paper.table4_row(towers[name].family, towers[name].tokenizer)
            cited = ref.get("IN 0-shot") if ref else None
            beside = f" (paper: +{cited.gain:.1f}, Table 4)" if cited and cited.gain else ""
            gains.append(f"{name}: {100 * (_mean(values) - _mean(scratch[name])):+.1f}{beside}")
    signal = keys.signal("zeroshot", {g.id: g for g in groups})
    check = pairs_check(pre, scratch, ">", ("pretrained", "random init"), signal)
    return (f"Pretrained vs random-init text tower, zero-shot top-1 % ({dataset(keys.zeroshot)}): mean gain "
            f"{'; '.join(gains) or 'none measured'}. Check: {check}.")


@STUDY_TABLES.register("text_models")
def text_models(groups: Sequence[Group]) -> StudyReport:
    keys = Keys.of(groups)
    by_id = {g.id: g for g in groups}
    ours = Table(f"Text towers x tokenizers ({seeds_text(groups)}), paper beside", _columns(keys, by_id),
                 tuple(_row(g, keys) for g in groups))
    notes = (MATCH_NOTE, paper.TABLE4_GAIN_NOTE, pretraining_check(groups, keys), *keys.signal_notes(
        by_id, ("zeroshot", "i2t", "t2i")), *status_notes(groups))
    return StudyReport("text_models", "Table 4 — text models and tokenizers", (ours, paper_reference(paper.TABLE4)),
                       notes)
