"""Score a saved checkpoint on any evaluation sets and log the metrics to MLflow.

    python -m litlab.evaluate --checkpoint CKPT --evals zeroshot/fmnist-test retrieval/emoji-heldout \
        [--mlflow-uri URI [--into-training-run | --experiment NAME]] [--set eval.max_images=500]

CKPT is a ``model.pt`` written by a training run, or the Ray checkpoint folder holding it. Without
``--mlflow-uri`` the metrics are only printed. ``--into-training-run`` logs into the run that trained the
checkpoint (at its final step; names already logged there are refused, never overwritten); otherwise a new run
in ``--experiment`` (default "evaluations") is tagged with the checkpoint and its training run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

from litlab.config import ConfigError, RunConfig, apply_overrides, config_hash, from_dict, parse_set
from litlab.evaluators.suite import check_evals, suite_for
from litlab.models.build import build_model


def load_checkpoint(path: str | Path) -> tuple[torch.nn.Module, RunConfig, dict[str, Any]]:
    """(model in eval mode, its RunConfig, the checkpoint's other entries); tensors only (weights_only=True)."""
    path = Path(path)
    file = path / "model.pt" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no checkpoint at {file} (expected a model.pt or a folder holding one)")
    payload = torch.load(file, map_location="cpu", weights_only=True)
    cfg = from_dict(payload["config"])
    model = build_model(cfg)
    model.load_state_dict(payload["model"], strict=not payload.get("image_from_cache", False))  # tower: shipped
    return model.eval(), cfg, {k: v for k, v in payload.items() if k not in ("model", "config")}


def evaluate_checkpoint(path: str | Path, evals: list[str], overrides: list[tuple[str, str]]) -> tuple[
        dict[str, float], RunConfig, dict[str, Any]]:
    model, cfg, meta = load_checkpoint(path)
    cfg = apply_overrides(cfg, [("eval.evals", ",".join(evals)), *overrides] if evals else overrides)
    check_evals(cfg.eval.evals)
    suite = suite_for(cfg)
    return {**suite(model), **suite.facts()}, cfg, meta  # the scores, their chance levels and item counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--evals", nargs="*", default=[], help="<evaluator>/<set>[+<set>][@root]; default: the run's")
    p.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE")
    p.add_argument("--mlflow-uri")
    p.add_argument("--into-training-run", action="store_true")
    p.add_argument("--experiment", default="evaluations")
    args = p.parse_args(argv)
    tic = time.perf_counter()
    try:
        metrics, cfg, meta = evaluate_checkpoint(args.checkpoint, args.evals, [parse_set(s) for s in args.sets])
    except (ConfigError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for k, v in sorted(metrics.items()):
        print(f"{k:55s} {v:.4f}")
    print(f"evaluated in {time.perf_counter() - tic:.1f} s")
    if args.mlflow_uri:
        try:
            run_id = log_to_mlflow(args, metrics, cfg, meta)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"logged to MLflow run {run_id} at {args.mlflow_uri}")
    return 0


def log_to_mlflow(args: argparse.Namespace, metrics: dict[str, float], cfg: RunConfig, meta: dict[str, Any]) -> str:
    from litlab.cluster.tracking import log_evaluation

    if args.into_training_run and not meta.get("run_id"):
        raise ValueError(f"{args.checkpoint} does not name the run that trained it; drop --into-training-run")
    step = int(meta.get("step", cfg.optim.steps))
    tags = {"checkpoint": str(Path(args.checkpoint).resolve()), "training_run": str(meta.get("run_id", "")),
            "config_hash": config_hash(cfg), "setup": cfg.setup}
    return log_evaluation(args.mlflow_uri, metrics, step, tags=tags, experiment=args.experiment,
                          run_id=meta.get("run_id") if args.into_training_run else None)


if __name__ == "__main__":
    sys.exit(main())
