"""What tuning and evaluation share: declared (images, style, concepts) and computed (vocabulary coverage).

    python -m litlab.data.coverage --root ~/.cache/litlab/data --train train \
        --evals zeroshot/emoji-vendors-heldout zeroshot/fmnist-test retrieval/emoji-heldout [--json out.json]

A text tower trained from scratch can name in zero-shot only the words its tuning captions contained. For each
evaluation (``<evaluator>/<set>[@root]``, as in ``eval.evals``), the texts it scores images against (class names
for zero-shot, captions for retrieval; image-only evaluators have none) are compared with the words of every
tuning caption (``txt`` and ``txts``) of the split, per tuning source and all together:
  texts covered   share of the distinct texts whose every word occurs in the tuning captions
  words covered   share of the distinct words of those texts that occur in them
Words are maximal runs of letters and digits, lower-cased ("T-shirt/top" -> t, shirt, top). The tuning split's
rows are grouped into sources by their key's first part (``domains.KEY_PREFIXES``), each with the domain its
recipe (``_stats.json``) declares; ``domains.shared`` says what each source and evaluation set share. Cheap:
captions and names only, no image decoded (~1 s for the demo data). ``coverage_report`` gives it as JSON,
``coverage_table.to_markdown`` as the README's table; the design grid logs both on each sweep's parent run.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from litlab import storage
from litlab.data.dedup.evalsets import SHARD_SPLITS
from litlab.data.domains import EVAL_DOMAINS, KEY_PREFIXES, Domain, shared, source_domain
from litlab.data.recipes import describe
from litlab.data.shards import STATS, has_column, iter_rows, read_stats, shard_files

WORD = re.compile(r"[^\W_]+")
TEXT_EVALUATORS = ("zeroshot", "retrieval")  # evaluators that score images against texts; others use images only
OTHER = "other (undeclared)"  # rows whose key no shipped source writes
ALL = "all tuning captions"


def words(text: str) -> list[str]:
    """Lower-cased runs of letters and digits: "T-shirt/top" -> ["t", "shirt", "top"]."""
    return WORD.findall(text.lower())


@dataclass(frozen=True)
class Coverage:
    texts: int  # distinct texts
    texts_covered: float  # share of them whose every word is in the vocabulary (nan without texts)
    words: int  # distinct words of those texts
    words_covered: float  # share of them in the vocabulary (nan without words)
    uncovered: tuple[str, ...]  # the texts with a word the vocabulary lacks, in order


def measure(texts: Iterable[str], vocabulary: set[str] | frozenset[str]) -> Coverage:
    """How much of ``texts`` the ``vocabulary`` (a set of words) covers."""
    distinct = list(dict.fromkeys(texts))
    vocab_of = {t: set(words(t)) for t in distinct}
    every = set().union(*vocab_of.values()) if distinct else set()
    uncovered = tuple(t for t in distinct if not vocab_of[t] <= vocabulary)
    nan = float("nan")
    return Coverage(len(distinct), 1 - len(uncovered) / len(distinct) if distinct else nan, len(every),
                    len(every & vocabulary) / len(every) if every else nan, uncovered)


@dataclass(frozen=True)
class TuningSource:
    name: str  # a shipped shard source, or OTHER
    rows: int
    vocabulary: frozenset[str]
    domain: Domain | None


def tuning_sources(folder: str) -> tuple[list[TuningSource], dict[str, Any]]:
    """(the split's rows grouped by source with their caption vocabularies, its recipe) from captions only."""
    recipe = read_stats(folder).recipe if storage.is_file(storage.join(folder, STATS)) else {}
    columns = ["key", "txt"] + (["txts"] if has_column(shard_files(folder), "txts") else [])
    rows: Counter[str] = Counter()
    vocab: dict[str, set[str]] = defaultdict(set)
    for row in iter_rows(folder, columns):
        source = KEY_PREFIXES.get(str(row["key"]).split("/", 1)[0], OTHER)
        rows[source] += 1
        for caption in [row["txt"] or "", *(row.get("txts") or [])]:
            vocab[source].update(words(caption))
    parts = {p["source"]: p for p in recipe.get("parts", [])}
    out = []
    for name in sorted(rows, key=lambda n: (n == OTHER, n)):
        part = parts.get(name, {})
        domain = None if name == OTHER else source_domain(name, part.get("options"), part.get("heldout", "all"))
        out.append(TuningSource(name, rows[name], frozenset(vocab[name]), domain))
    return out, recipe


@dataclass(frozen=True)
class EvalTexts:
    spec: str
    set: str  # the set the spec scores on (its last)
    kind: str  # class names | captions | none (image-only evaluator or set)
    texts: tuple[str, ...]
    domain: Domain | None


def eval_texts(spec: str, data_root: str) -> EvalTexts:
    """The texts an evaluation spec scores on, read as its loader would (shard splits from ``data_root``)."""
    from litlab.evaluators.sets import set_texts

    body, _, root = spec.partition("@")
    evaluator, _, sets = body.partition("/")
    name = sets.split("+")[-1]
    if evaluator not in TEXT_EVALUATORS:
        return EvalTexts(spec, name, "none", (), EVAL_DOMAINS.get(name))
    found = set_texts(name, root or (data_root if name in SHARD_SPLITS else None))
    return EvalTexts(spec, name, found.kind, found.texts, EVAL_DOMAINS.get(name))


def _share(value: float) -> float | None:
    return None if math.isnan(value) else value  # JSON has no NaN


def _cov(texts: EvalTexts, vocabulary: frozenset[str], keep: int) -> dict[str, Any]:
    c = measure(texts.texts, vocabulary)
    return {"texts": c.texts, "texts_covered": _share(c.texts_covered), "words": c.words,
            "words_covered": _share(c.words_covered),
            "uncovered": len(c.uncovered),
            "uncovered_first": [{"text": t, "missing": [w for w in dict.fromkeys(words(t)) if w not in vocabulary]}
                                for t in c.uncovered[:keep]]}


def coverage_report(data_root: str, train: str, evals: Sequence[str], keep: int = 8) -> dict[str, Any]:
    """Tuning sources x evaluations: declared sharing and vocabulary coverage, as plain JSON values."""
    folder = storage.join(data_root, train) if storage.is_remote(data_root) else f"{data_root.rstrip('/')}/{train}"
    sources, recipe = tuning_sources(folder)
    every = frozenset().union(*(s.vocabulary for s in sources))
    targets = [eval_texts(spec, data_root) for spec in evals]
    pairs = []
    for t in targets:
        for s in sources:
            pairs.append({"source": s.name, "eval": t.spec, **shared(s.domain, t.domain), **_cov(t, s.vocabulary, 0)})
        pairs.append({"source": ALL, "eval": t.spec, **_cov(t, every, keep)})
    return {
        "train": {"root": data_root, "split": train, "rows": sum(s.rows for s in sources), "words": len(every),
                  "recipe": describe(recipe)},
        "sources": [{"source": s.name, "rows": s.rows, "words": len(s.vocabulary),
                     "domain": asdict(s.domain) if s.domain else None} for s in sources],
        "evals": [{"spec": t.spec, "set": t.set, "kind": t.kind, "domain": asdict(t.domain) if t.domain else None}
                  for t in targets],
        "pairs": pairs,
    }


def sweep_coverage(configs: Iterable[Any]) -> dict[str, str]:
    """Artifact path -> text: the report (json and markdown) for each distinct (data.root, data.train, eval.evals)
    of a sweep's run configs, computed once. A report that cannot be computed is an artifact saying why: the
    cells still run (their own preflight names any missing data)."""
    from litlab.data.coverage_table import to_markdown

    groups = list(dict.fromkeys((c.data.root, c.data.train, tuple(c.eval.evals)) for c in configs))
    out: dict[str, str] = {}
    for i, (root, train, evals) in enumerate(groups):
        stem = "coverage/coverage" if len(groups) == 1 else f"coverage/{i}-{train}"
        try:
            report = coverage_report(root, train, evals)
        except (OSError, ValueError, KeyError) as err:
            out[f"{stem}.md"] = f"Coverage of `{train}` under {root} x {', '.join(evals)}: not computed ({err}).\n"
            continue
        out[f"{stem}.json"] = json.dumps(report, indent=2)
        out[f"{stem}.md"] = to_markdown(report)
    return out


def main(argv: list[str] | None = None) -> int:
    from litlab.config import default_data_root
    from litlab.data.coverage_table import to_markdown

    p = argparse.ArgumentParser(prog="python -m litlab.data.coverage", description=__doc__.splitlines()[0])
    p.add_argument("--root", default=default_data_root(), help="data root holding the splits (default: "
                   "$LITLAB_DATA_ROOT or ~/.cache/litlab/data)")
    p.add_argument("--train", default="train", help="the tuning split under root")
    p.add_argument("--evals", nargs="+", required=True, help="evaluations as in eval.evals, e.g. zeroshot/fmnist-test")
    p.add_argument("--json", help="also write the report as JSON to this file")
    args = p.parse_args(argv)
    try:
        from litlab.evaluators.suite import check_evals

        check_evals(args.evals)
        report = coverage_report(args.root, args.train, args.evals)
    except (FileNotFoundError, ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(to_markdown(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
