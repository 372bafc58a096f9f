"""Statistics for the report: numbers with intervals, chance levels, and order verdicts that can say
"inconclusive". Pure numpy/scipy: no ray, no mlflow, no torch.

- ``summarize(values, items=None)`` -> Estimate: t over seeds (n >= 2), else a bootstrap over items (one run
  of a hit fraction), else no interval. ``band(x, runs)`` -> a t band per step for curves.
- ``chance_of(metric, SetShape(...))`` and the per-evaluator functions in ``chance``: random-scoring levels.
- ``above_chance(est, chance)`` / ``any_above_chance(column, chance)``: "no signal" detection.
- ``compare(a, b, claim)`` -> Verdict (Welch's t, two-sided); ``chain("Lu ≥ Uu > uu", values)``,
  ``below_all``, ``pairwise`` -> ClaimVerdict (Holm over the links); ``trend(values_by_x)`` -> TrendVerdict.
- ``format``: table cells and one-line verdict texts.
"""

from litlab.stats.bands import Band, band
from litlab.stats.chance import SetShape, chance_of
from litlab.stats.claims import ClaimVerdict, below_all, chain, check_links, pairwise, parse_chain
from litlab.stats.compare import Verdict, compare
from litlab.stats.estimate import Estimate, item_bootstrap, summarize, wilson_interval
from litlab.stats.holm import holm
from litlab.stats.signal import above_chance, any_above_chance
from litlab.stats.trend import TrendVerdict, trend

__all__ = ["Band", "ClaimVerdict", "Estimate", "SetShape", "TrendVerdict", "Verdict", "above_chance",
           "any_above_chance", "band", "below_all", "chain", "chance_of", "check_links", "compare", "holm",
           "item_bootstrap", "pairwise", "parse_chain", "summarize", "trend", "wilson_interval"]
