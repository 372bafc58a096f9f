"""The coverage report (``litlab.data.coverage.coverage_report``) as markdown: the README's and each sweep's table."""

from __future__ import annotations

import math
from typing import Any

from litlab.data.coverage import ALL

DASH = "–"


def pct(value: float | None) -> str:
    return DASH if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f} %"


def _covered(pair: dict[str, Any], kind: str) -> tuple[str, str]:
    if kind == "none":
        return "image only", DASH
    return f"{pct(pair['texts_covered'])} of {pair['texts']}", f"{pct(pair['words_covered'])} of {pair['words']}"


PARTS = {"all": "", "held-out": " (held-out items only)", "rest": " (held-out items excluded)"}


def _declared(domain: dict[str, Any] | None) -> str:
    """``images | style | concepts`` cells of a declaration."""
    if domain is None:
        return f"undeclared (your own data) | {DASH} | {DASH}"
    return (f"{', '.join(domain['images'])} | {', '.join(domain['styles'])} | {domain['concepts']}"
            f"{PARTS[domain['part']]}")


def pairs_table(report: dict[str, Any]) -> list[str]:
    """One row per tuning source and evaluation, then the split's whole vocabulary for that evaluation."""
    rows = {s["source"]: s["rows"] for s in report["sources"]}
    kinds = {e["spec"]: e["kind"] for e in report["evals"]}
    lines = ["| evaluation | tuning source | rows | shares images | style | concepts | texts fully covered | "
             "words covered |", "|---|---|---|---|---|---|---|---|"]
    for p in report["pairs"]:
        texts, words = _covered(p, kinds[p["eval"]])
        if p["source"] == ALL:
            lines.append(f"| `{p['eval']}` | **{ALL}** | {report['train']['rows']} | | | | **{texts}** | **{words}** |")
        else:
            lines.append(f"| `{p['eval']}` | {p['source']} | {rows[p['source']]} | {p['images']} | {p['style']} | "
                         f"{p['concepts']} | {texts} | {words} |")
    return lines


def declarations_table(report: dict[str, Any]) -> list[str]:
    lines = ["| side | name | images | style | concepts |", "|---|---|---|---|---|"]
    lines += [f"| tuning | {s['source']} | {_declared(s['domain'])} |" for s in report["sources"]]
    lines += [f"| evaluation | `{e['spec']}` ({e['kind']}) | {_declared(e['domain'])} |" for e in report["evals"]]
    return lines


def uncovered_lines(report: dict[str, Any]) -> list[str]:
    kinds = {e["spec"]: e["kind"] for e in report["evals"]}
    out = []
    for p in report["pairs"]:
        if p["source"] == ALL and kinds[p["eval"]] != "none" and p["uncovered"]:
            shown = "; ".join(f"\"{u['text']}\" ({', '.join(u['missing'])})" for u in p["uncovered_first"])
            more = " ..." if p["uncovered"] > len(p["uncovered_first"]) else ""
            out.append(f"- `{p['eval']}`: {p['uncovered']} of {p['texts']} {kinds[p['eval']]} have a word no tuning "
                       f"caption has, e.g. {shown}{more}")
    return out


def to_markdown(report: dict[str, Any]) -> str:
    t = report["train"]
    head = (f"Tuning split `{t['split']}` under {t['root']}: {t['rows']} rows, {t['words']} distinct caption words "
            f"({t['recipe']}).")
    sections = [head, "", *pairs_table(report), "", "Declared (litlab.data.domains):", "", *declarations_table(report)]
    if missing := uncovered_lines(report):
        sections += ["", "Not covered (all tuning captions):", "", *missing]
    return "\n".join(sections) + "\n"
