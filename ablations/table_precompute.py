"""Study "precompute" (Table 7): training from precomputed image embeddings vs running the locked tower."""

from __future__ import annotations

from collections.abc import Sequence

from ablations import paper
from ablations.report_groups import Group
from ablations.report_model import STUDY_TABLES, StudyReport, Table, TableCell, paper_reference
from ablations.report_values import DASH, Keys, other_settings, run_text, seeds_text, shown, status_notes
from ablations.report_verdicts import pairs_check

SPEED = "train/pairs_per_s"
HARDWARE_NOTE = ("Speeds are not comparable across rows of different sources: ours are training pairs/s of the whole "
                 "run on this machine (CPU), the paper's Table 7 is images/s per core on 8 TPUv3 cores with ViT "
                 "image towers. Compare the speed-up ratios.")
SPEED_WHAT = ("training pairs/s (train/pairs_per_s: pairs over the wall time of each run's last logging window, "
              "evaluation excluded) of the same model trained from precomputed image embeddings vs running the "
              "locked image tower every step")


def precomputed(group: Group) -> bool:
    return (group.setting("train.precompute") or "").strip().lower() in ("true", "1", "yes")


def pairs(groups: Sequence[Group]) -> dict[str, dict[bool, Group]]:
    """Model label (towers, plus other overrides) -> precomputed? -> group."""
    out: dict[str, dict[bool, Group]] = {}
    for g in groups:
        others = other_settings(g, ("train.precompute",), groups)
        label = f"ours: {g.setting('image.arch') or '?'} + {g.setting('text.arch') or '?'}"
        out.setdefault(label + (f" ({others})" if others else ""), {})[precomputed(g)] = g
    return out


def speedup(pre: Group | None, not_: Group | None) -> str:
    """Mean speed precomputed / mean speed not, or why there is none."""
    for g in (pre, not_):
        if g is None or g.status == "missing":
            return DASH
        if g.status == "failed":
            return "FAILED"
    a, b = pre.values(SPEED) if pre else (), not_.values(SPEED) if not_ else ()
    return f"{(sum(a) / len(a)) / (sum(b) / len(b)):.2f}x" if a and b and sum(b) else "n/a"


def _side(group: Group | None, key: str | None, scale: float = 100.0) -> TableCell:
    return DASH if group is None else shown(group, key, scale)


def our_row(label: str, by: dict[bool, Group], key: str | None) -> tuple:
    pre, not_ = by.get(True), by.get(False)
    runs = " / ".join(run_text(g) if g else DASH for g in (pre, not_))
    return (label, _side(pre, SPEED, 1.0), _side(not_, SPEED, 1.0), speedup(pre, not_), _side(pre, key),
            _side(not_, key), "pairs/s, 2-core CPU", runs)


def paper_rows() -> tuple[tuple[str, ...], ...]:
    rows = []
    for r in paper.TABLE7.rows:
        pre, not_ = r.get("speed pre"), r.get("speed not")
        ratio = f"{pre.value / not_.value:.2f}x" if pre and not_ else DASH
        rows.append((f"paper: {r.label}", pre.text() if pre else DASH, not_.text() if not_ else DASH, ratio, DASH,
                     DASH, "img/s/core, 8 TPUv3 cores (Table 7)", DASH))
    return tuple(rows)


def speed_check(groups: Sequence[Group]) -> str:
    """Precomputation is faster (Table 7), tested over seeds per model: Welch on the runs' speeds."""
    by_model = pairs(groups)
    pre = {label: by[True].values(SPEED) for label, by in by_model.items() if True in by}
    not_ = {label: by[False].values(SPEED) for label, by in by_model.items() if False in by}
    check = pairs_check(pre, not_, ">", ("precomputed", "not"), None, scale=1.0)
    return f"Speed check, {SPEED_WHAT} (paper Table 7: precomputed is faster): {check}."


@STUDY_TABLES.register("precompute")
def precompute(groups: Sequence[Group]) -> StudyReport:
    keys = Keys.of(groups)
    header = keys.header("zeroshot", {g.id: g for g in groups}).replace("ours 0-shot top-1 % ", "")
    columns = ("model", "speed precomputed", "speed not", "speed-up (precomputed / not, means)",
               f"0-shot top-1 % precomputed {header}", f"0-shot top-1 % not {header}", "unit, hardware",
               "runs (precomputed / not)")
    ours = tuple(our_row(label, by, keys.zeroshot) for label, by in pairs(groups).items())
    table = Table(f"Precomputed image embeddings ({seeds_text(groups)}), paper Table 7 beside", columns,
                  ours + paper_rows())
    notes = (HARDWARE_NOTE, speed_check(groups), *keys.signal_notes({g.id: g for g in groups}, ("zeroshot",)),
             *status_notes(groups))
    return StudyReport("precompute", "Table 7 — precomputed image embeddings", (table, paper_reference(paper.TABLE7)),
                       notes)
