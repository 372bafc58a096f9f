"""Study "image_encoders" (Table 3): which pretrained image tower to lock, and random init for comparison."""

from __future__ import annotations

from collections.abc import Sequence

from ablations import paper, report_checks
from ablations.report_cells import CellResult
from ablations.report_model import STUDY_TABLES, StudyReport, Table, paper_reference
from ablations.report_values import Keys, counted, dataset, run_text, shown, status_notes

ENCODER_NOTE = ("The paper's encoders are ViT-B/16 variants (MoCo-v3, DINO, AugReg on ImageNet, ImageNet-21k or "
                "Places); ours are the image towers that ship here (ImageNet-1k CNNs), so the paper's Table 3 rows "
                "are a reference for the direction, not the same models.")


def encoder_label(cell: CellResult) -> str:
    """image.arch, plus "(random init)" when the setting's image letter is u."""
    arch = cell.setting("image.arch") or "?"
    setup = cell.setting("setup") or "?"
    return f"{arch} (random init)" if setup.startswith("u") else arch


def _columns(keys: Keys) -> tuple[str, ...]:
    cols = ["image tower", "setup", keys.zeroshot_header()]
    if keys.i2t or keys.t2i:
        cols += [f"ours I→T R@1 % ({dataset(keys.i2t)})", f"ours T→I R@1 % ({dataset(keys.t2i)})"]
    if keys.fewshot10:
        cols.append(f"ours 10-shot top-1 % ({dataset(keys.fewshot10)})")
    return (*cols, "run")


def _row(cell: CellResult, keys: Keys) -> tuple[str, ...]:
    row = [encoder_label(cell), cell.setting("setup") or "?", shown(cell, keys.zeroshot)]
    if keys.i2t or keys.t2i:
        row += [shown(cell, keys.i2t), shown(cell, keys.t2i)]
    if keys.fewshot10:
        row.append(shown(cell, keys.fewshot10))
    return (*row, run_text(cell))


def pretrained_check(cells: Sequence[CellResult], keys: Keys) -> str:
    """Pretrained vs random init of the same architecture (Figure 3: a pretrained image tower helps)."""
    pairs = []
    for arch in dict.fromkeys(c.setting("image.arch") or "?" for c in cells):
        same = [c for c in cells if (c.setting("image.arch") or "?") == arch]
        pre = [c.metric(keys.zeroshot or "") for c in same if not (c.setting("setup") or "?").startswith("u")]
        rnd = [c.metric(keys.zeroshot or "") for c in same if (c.setting("setup") or "?").startswith("u")]
        if pre and rnd:
            pairs.append((arch, _pct(pre[0]), _pct(rnd[0])))
    check = report_checks.pairwise(pairs, ("pretrained", "random init"), ">")
    return f"Measured, zero-shot top-1: {check}. Paper direction (Figure 3): a pretrained image tower helps."


def _pct(v: float | None) -> float | None:
    return None if v is None else 100 * v


@STUDY_TABLES.register("image_encoders")
def image_encoders(cells: Sequence[CellResult]) -> StudyReport:
    keys = Keys.of(cells)
    ours = Table(f"Image towers ({counted(len(cells))})", _columns(keys), tuple(_row(c, keys) for c in cells))
    notes = (ENCODER_NOTE, pretrained_check(cells, keys), *status_notes(cells))
    reference = paper_reference(paper.TABLE3, "ViT-B/16 encoders, not ours")
    return StudyReport("image_encoders", "Table 3 — image encoders", (ours, reference), notes)
