"""Measured orderings against the paper's stated direction, written out with the numbers they come from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

Relation = Literal["≥", ">"]


def _holds(a: float, b: float, rel: Relation) -> bool:
    return a >= b if rel == "≥" else a > b


def _actual(a: float, b: float) -> str:
    return ">" if a > b else "=" if a == b else "<"


def chain(names: Sequence[str], relations: Sequence[Relation], measured: Mapping[str, float | None]) -> str:
    """Check ``names[0] rel[0] names[1] rel[1] ...`` on the measured values (percent), skipping unmeasured names
    (a skipped strict relation keeps the comparison strict). E.g. "Lu 77.1 ≥ Uu 70.2 > uu 60.1: agrees"."""
    if len(relations) != len(names) - 1:
        raise ValueError("one relation between each pair of names")
    present = [i for i, n in enumerate(names) if measured.get(n) is not None]
    absent = [n for n in names if measured.get(n) is None]
    claim = "".join(f"{n} {r} " for n, r in zip(names, relations, strict=False)) + names[-1]
    if len(present) < 2:
        return f"{claim}: cannot check, measured only {_listed(names, measured) or 'none'}"
    parts, agrees = [f"{names[present[0]]} {measured[names[present[0]]]:.1f}"], True
    for i, j in zip(present, present[1:], strict=False):
        rel: Relation = ">" if ">" in relations[i:j] else "≥"
        a, b = measured[names[i]], measured[names[j]]
        assert a is not None and b is not None
        ok = _holds(a, b, rel)
        agrees &= ok
        parts.append(rel if ok else f"{_actual(a, b)} (paper: {rel})")
        parts.append(f"{names[j]} {b:.1f}")
    skipped = f" ({', '.join(absent)} not measured)" if absent else ""
    return f"{' '.join(parts)}{skipped}: {'agrees' if agrees else 'disagrees'}"


def below_all(low: Sequence[str], others: Sequence[str], measured: Mapping[str, float | None], what: str) -> str:
    """Check that every measured ``low`` name scores below every measured ``others`` name."""
    lows = {n: measured[n] for n in low if measured.get(n) is not None}
    rest = {n: measured[n] for n in others if measured.get(n) is not None}
    if not lows or not rest:
        return f"{what} ({', '.join(low)}) below the others: cannot check, measured only " \
               f"{_listed([*low, *others], measured) or 'none'}"
    top_low = max(lows, key=lambda n: lows[n] or 0.0)
    floor = min(rest, key=lambda n: rest[n] or 0.0)
    agrees = (lows[top_low] or 0.0) < (rest[floor] or 0.0)
    sign = "<" if agrees else "≥"
    return (f"{what} {_listed(low, measured)} {sign} {floor} {rest[floor]:.1f} (the lowest other setting): "
            f"{'agrees' if agrees else 'disagrees'}")


def pairwise(pairs: Sequence[tuple[str, float | None, float | None]], names: tuple[str, str], rel: Relation) -> str:
    """Check ``a rel b`` for each labelled pair, e.g. global ≥ local at every batch size."""
    shown, agrees, n = [], True, 0
    for label, a, b in pairs:
        if a is None or b is None:
            continue
        ok, n = _holds(a, b, rel), n + 1
        agrees &= ok
        shown.append(f"{label}: {a:.1f} {rel if ok else _actual(a, b)} {b:.1f}")
    claim = f"{names[0]} {rel} {names[1]}"
    if not n:
        return f"{claim}: cannot check, no pair measured"
    return f"{claim} ({'; '.join(shown)}): {'agrees' if agrees else 'disagrees'}"


def increasing(points: Sequence[tuple[float, float]], what: str) -> str:
    """Check that y grows with x (strictly), e.g. top-1 with batch size."""
    pts = sorted(points)
    if len(pts) < 2:
        return f"{what} increasing: cannot check, {len(pts)} point(s) measured"
    agrees = all(b[1] > a[1] for a, b in zip(pts, pts[1:], strict=False))
    shown = " → ".join(f"{x:g}: {y:.1f}" for x, y in pts)
    return f"{what} increasing ({shown}): {'agrees' if agrees else 'disagrees'}"


def _listed(names: Sequence[str], measured: Mapping[str, float | None]) -> str:
    return ", ".join(f"{n} {v:.1f}" for n in names if (v := measured.get(n)) is not None)
