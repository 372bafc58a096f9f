"""Regenerate the ablation tables from MLflow, the paper's numbers beside ours.

Run:
    python ablations/report.py                                  # sweep 'smoke' from the embedded store ./mlruns
    python ablations/report.py --sweep smoke --mlflow-uri http://127.0.0.1:5001
Writes reports/<sweep>/towers.md and prints it. Takes a few seconds on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paper
import tables

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="LiT ablation tables from MLflow runs")
    p.add_argument("--sweep", default="smoke", help="MLflow experiment written by experiments/design_grid.py")
    p.add_argument("--mlflow-uri", default=os.environ.get("MLFLOW_TRACKING_URI"))
    p.add_argument("--out", default=str(REPO / "reports"))
    args = p.parse_args(argv)
    from litlab.cluster.tracking import fetch_cell_runs, local_store_uri

    uri = args.mlflow_uri or local_store_uri(REPO / "mlruns")
    try:
        runs = fetch_cell_runs(uri, args.sweep)
    except LookupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows = tables.towers_rows(runs)
    if not rows:
        print(f"error: sweep {args.sweep!r} has no finished cell runs at {uri}", file=sys.stderr)
        return 2
    text = f"## Tower settings — sweep `{args.sweep}`\n\n{tables.markdown(rows)}\n\n{paper.FIGURE3_FINDINGS}\n"
    out = Path(args.out) / args.sweep
    out.mkdir(parents=True, exist_ok=True)
    (out / "towers.md").write_text(text)
    print(text)
    print(f"written: {out / 'towers.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
