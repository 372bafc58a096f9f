"""Claims made of several order links, tested together: chains, "below every other", pairs across conditions.

Every link ``a rel b`` is a :func:`litlab.stats.compare.compare` (Welch's t over seeds). The links of ONE claim
form a family: their p-values are Holm-adjusted together (links that could not be tested, fewer than 2 seeds on a
side, are left out of the family and stay inconclusive). The claim's verdict:
disagrees if any link is significantly opposite; agrees if every link agrees; inconclusive otherwise.
Each link's verdict is kept for display.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from litlab.stats.compare import Verdict, VerdictWord, adjusted, check_alpha, compare, normalize_claim
from litlab.stats.holm import holm

Link = tuple[str, str, str]  # (a, claim, b), e.g. ("Lu", "≥", "Uu")
Values = Mapping[str, Sequence[float]]  # setting -> one metric value per seed
HOLM = "Holm–Bonferroni over the links"
_RELATION = re.compile(r"\s*(>=|<=|≥|≤|>|<)\s*")


@dataclass(frozen=True)
class ClaimVerdict:
    """The verdict on a whole claim (``text``) and the verdict of each of its ``links``."""

    text: str
    verdict: VerdictWord
    links: tuple[Verdict, ...]
    alpha: float
    correction: str = HOLM

    @property
    def tested(self) -> int:
        """How many links were tested (the size of the Holm family)."""
        return sum(not math.isnan(v.p) for v in self.links)


def overall(verdicts: Sequence[VerdictWord]) -> VerdictWord:
    """disagrees if any disagrees, agrees if all agree, else inconclusive."""
    if not verdicts:
        raise ValueError("a claim needs at least one link")
    if "disagrees" in verdicts:
        return "disagrees"
    return "agrees" if all(v == "agrees" for v in verdicts) else "inconclusive"


def parse_chain(text: str) -> tuple[Link, ...]:
    """"Lu ≥ Uu > uu" -> (("Lu", "≥", "Uu"), ("Uu", ">", "uu")); names may not contain relation signs."""
    parts = _RELATION.split(text.strip())
    names, rels = parts[0::2], parts[1::2]
    if len(names) < 2 or any(not n for n in names):
        raise ValueError(f"bad chain {text!r}: write names separated by >, ≥, >=, <, ≤ or <=, e.g. 'Lu ≥ Uu > uu'")
    return tuple((a, normalize_claim(r), b) for a, r, b in zip(names[:-1], rels, names[1:], strict=True))


def check_links(values: Values, links: Sequence[Link], alpha: float = 0.05, text: str = "") -> ClaimVerdict:
    """Test every link on ``values`` (a name missing from values counts as 0 seeds), Holm over the tested ones."""
    check_alpha(alpha)
    raw = [compare(values.get(a, ()), values.get(b, ()), rel, alpha, names=(a, b)) for a, rel, b in links]
    tested = [i for i, v in enumerate(raw) if not math.isnan(v.p)]
    adjusted_p = dict(zip(tested, holm([raw[i].p for i in tested]), strict=True))
    final = tuple(adjusted(v, adjusted_p.get(i, math.nan), len(tested)) for i, v in enumerate(raw))
    text = text or " ; ".join(f"{a} {r} {b}" for a, r, b in links)
    return ClaimVerdict(text, overall([v.verdict for v in final]), final, alpha)


def chain(text: str, values: Values, alpha: float = 0.05) -> ClaimVerdict:
    """A chain claim such as "Lu ≥ Uu > uu": each adjacent pair is a link."""
    return check_links(values, parse_chain(text), alpha, text)


def below_all(low: Sequence[str], others: Sequence[str], values: Values, alpha: float = 0.05) -> ClaimVerdict:
    """Every setting in ``low`` below every setting in ``others``: len(low) * len(others) "<" links."""
    links = [(a, "<", b) for a in low for b in others if b not in low]
    return check_links(values, links, alpha, f"{' and '.join(low)} below every other setting")


def pairwise(a_by_condition: Values, b_by_condition: Values, claim: str, names: tuple[str, str],
             alpha: float = 0.05) -> ClaimVerdict:
    """``a claim b`` at every condition (e.g. global ≥ local at each batch size): one link per condition in
    either mapping, named "global (bs=8)"; a condition missing on one side is an untested link."""
    check_alpha(alpha)
    rel = normalize_claim(claim)
    conditions = list(dict.fromkeys([*a_by_condition, *b_by_condition]))
    values = {f"{names[0]} ({c})": a_by_condition.get(c, ()) for c in conditions}
    values |= {f"{names[1]} ({c})": b_by_condition.get(c, ()) for c in conditions}
    links = [(f"{names[0]} ({c})", rel, f"{names[1]} ({c})") for c in conditions]
    return check_links(values, links, alpha, f"{names[0]} {rel} {names[1]} at every condition")
