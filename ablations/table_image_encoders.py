"""Study "image_encoders" (Table 3): which pretrained image tower to lock, and random init for comparison."""

from __future__ import annotations

from collections.abc import Sequence

from ablations import paper
from ablations.report_groups import Group
from ablations.report_model import STUDY_TABLES, StudyReport, Table, paper_reference
from ablations.report_values import Keys, dataset, run_text, seeds_text, shown, status_notes
from ablations.report_verdicts import pairs_check

ENCODER_NOTE = ("The paper's encoders are ViT-B/16 variants (MoCo-v3, DINO, AugReg on ImageNet, ImageNet-21k or "
                "Places); ours are the image towers that ship here (ImageNet-1k CNNs), so the paper's Table 3 rows "
                "are a reference for the direction, not the same models.")


def encoder_label(group: Group) -> str:
    """image.arch, plus "(random init)" when the setting's image letter is u."""
    arch = group.setting("image.arch") or "?"
    return f"{arch} (random init)" if random_init(group) else arch


def random_init(group: Group) -> bool:
    return (group.setting("setup") or "?").startswith("u")


def _columns(keys: Keys, groups: dict[str, Group]) -> tuple[str, ...]:
    cols = ["image tower", "setup", keys.header("zeroshot", groups)]
    if keys.i2t or keys.t2i:
        cols += [keys.header("i2t", groups), keys.header("t2i", groups)]
    if keys.fewshot10:
        cols.append(keys.header("fewshot10", groups))
    return (*cols, "runs")


def _row(group: Group, keys: Keys) -> tuple:
    row = [encoder_label(group), group.setting("setup") or "?", shown(group, keys.zeroshot)]
    if keys.i2t or keys.t2i:
        row += [shown(group, keys.i2t), shown(group, keys.t2i)]
    if keys.fewshot10:
        row.append(shown(group, keys.fewshot10))
    return (*row, run_text(group))


def pretrained_check(groups: Sequence[Group], keys: Keys) -> str:
    """Pretrained > random init of the same architecture (Figure 3: a pretrained image tower helps), over seeds."""
    pre: dict[str, tuple[float, ...]] = {}
    rnd: dict[str, tuple[float, ...]] = {}
    for g in groups:
        side = rnd if random_init(g) else pre
        side.setdefault(g.setting("image.arch") or "?", g.values(keys.zeroshot) if keys.zeroshot else ())
    check = pairs_check(pre, rnd, ">", ("pretrained", "random init"), keys.signal("zeroshot", {g.id: g for g in
                                                                                                  groups}))
    return (f"Pretrained vs random-init image tower, zero-shot top-1 % ({dataset(keys.zeroshot)}), per "
            f"architecture: {check}. Paper direction (Figure 3): a pretrained image tower helps.")


@STUDY_TABLES.register("image_encoders")
def image_encoders(groups: Sequence[Group]) -> StudyReport:
    keys = Keys.of(groups)
    by_id = {g.id: g for g in groups}
    ours = Table(f"Image towers ({seeds_text(groups)})", _columns(keys, by_id), tuple(_row(g, keys) for g in groups))
    notes = (ENCODER_NOTE, pretrained_check(groups, keys), *keys.signal_notes(by_id), *status_notes(groups))
    reference = paper_reference(paper.TABLE3, "ViT-B/16 encoders, not ours")
    return StudyReport("image_encoders", "Table 3 — image encoders", (ours, reference), notes)
