"""The LiT design grid: studies as data, expanded into cells and run as a Ray Tune sweep, logged to MLflow.

Run:
    python experiments/design_grid.py --preset smoke                # embedded: local Ray + sqlite MLflow in ./mlruns
    python experiments/design_grid.py --preset smoke --dry-run      # the preflight, then list the cells; no training
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python experiments/design_grid.py --preset smoke --mlflow-uri http://127.0.0.1:5001   # after `make cluster-up`

Options: --study NAME (repeatable), --set key=value (repeatable; changes the base config), --sweep NAME
(the MLflow experiment; default: the preset's name), --max-concurrent N, --scheduler asha (stop hopeless cells at
their intermediate evaluations, each against the cells that differ from it only in optim.lr: the lr search),
--seeds N (each cell N times, at train.seed + 0..N-1: replicates the report aggregates into mean ± 95 % interval
and order verdicts), --verbose (Tune's tables and Ray's and the libraries' messages on the console; else they go
to the sweep's log file, whose path is printed first).
The console shows a line per cell start, per logged step and per cell end, and the sweep's progress with an ETA;
at the end the report (ablations/report.py) is logged on the sweep's parent run, and the MLflow address that
compares the cells is printed (experiments/sweep_report.py).
Takes about 5 minutes for the smoke preset (2 cells x 150 steps, 2 workers each) on a 2-core CPU machine,
plus ~1 minute of Ray start-up (--seeds N: N times the cells); shards must exist first (`make data`).

Every run and every --dry-run starts with the preflight (litlab.preflight, litlab.cluster.preflight): each cell's
config, its training split and columns, every evaluation set with its root, MLflow, the checkpoint storage and the
cluster's size are checked, all problems are printed together and the command exits with 2 before any trial starts.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litlab.config import FIGURE3_SETTINGS, ConfigError, RunConfig, apply_overrides, parse_set
from litlab.grid import Cell, Study, expand, select, set_conflicts
from litlab.sizing import Node, describe, sized_sweep

# imported now, not where it is used: a job's working directory (where experiments/ lies) may be deleted by Ray's
# runtime-env agents while the job runs (see run()); a later import then fails with "No module named 'sweep_report'"
from sweep_report import publish

REPO = Path(__file__).resolve().parent.parent

BASE = RunConfig()

WP, SP = "wordpiece_minilm", "sentencepiece_mistral"
MINILM = {"text.arch": "minilm_l6", "text.tokenizer": WP}  # a text tower that L/U (pretrained) can load
STUDIES = [
    Study("towers", {"setup": FIGURE3_SETTINGS, "optim.steps": (2500, 10000, 30000)}, fixed=MINILM,
          doc="Figure 3: every image/text tower setting (L locked, U unlocked, u from scratch) at several lengths"),
    Study("towers_lr", {"setup": FIGURE3_SETTINGS, "optim.lr": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)}, fixed=MINILM,
          doc="a learning-rate search per setting, so that the towers study's order is not an artefact of one lr"),
    Study("image_encoders", {"image.arch": ("efficientnet_lite0", "mobilenet_v2"), "setup": ("Lu", "uu")},
          doc="Table 3: each image tower whose weights ship here, locked (Lu) and from random init (uu); users "
              "add timm names, e.g. vit_base_patch16_224.augreg_in21k (weights from the hub)"),
    Study("text_models", {"text.arch": ("minilm_l6_scratch", "t5_base", "transformer_base"),
                          "text.tokenizer": (WP, SP)}, fixed={"setup": "Lu"},
          more=(Study("pretrained", {"setup": ("LU",)}, fixed=MINILM),),
          doc="Table 4: pretrained BERT (MiniLM, its WordPiece only), random-init BERT, T5- and ViT-style text "
              "transformers x WordPiece / SentencePiece, under a locked image tower"),
    Study("dedup", {"data.dedup": ("none", "test", "train+test")}, fixed={"setup": "Lu"},
          doc="Table 5: tuning images that duplicate evaluation images kept, or removed against the evaluation "
              "test sets, or against their train splits too (counts in dedup/*)"),
    Study("loss", {"optim.negatives": ("global", "worker"), "data.batch_size": (1024, 4096, 16384)},
          more=(Study("objective", {"optim.objective": ("softmax", "sigmoid"), "setup": ("Lu", "Uu"),
                                    "data.batch_size": (1024, 4096, 16384)}),),
          doc="Appendix F / Figure 9: contrastive loss over every worker's negatives vs each worker's own x batch "
              "size; and SigLIP's sigmoid objective vs softmax x batch size, image tower locked (Lu) or not (Uu)"),
    Study("precompute", {"train.precompute": (False, True)}, fixed={"setup": "Lu"},
          doc="Table 7 / Appendix G: training speed with the locked image tower's embeddings precomputed or not"),
]


@dataclass(frozen=True)
class Preset:
    doc: str
    overrides: dict[str, Any]
    studies: list[Study] = field(default_factory=list)  # replaces STUDIES when given
    axes: dict[str, dict[str, tuple[Any, ...]]] = field(default_factory=dict)  # study -> axis values it shrinks


SMALL = {"image.size": 64, "data.batch_size": 32, "eval.max_images": 1000, "optim.warmup_steps": 10,
         "optim.steps": 60, "eval.every": 20, "text.arch": "transformer_tiny"}
SMALL_AXES = {"towers": {"optim.steps": (60,)},
              "text_models": {"text.arch": ("minilm_l6_scratch", "t5_tiny", "transformer_tiny")},
              "loss": {"data.batch_size": (16, 32, 64)}}
# Transfer (the default): tune on train/ (Noto emoji minus the held-out ones + Open Clip Art) and score on what it
# never showed: the held-out emoji in Apple's and Twitter's art (the headline), Fashion-MNIST's photos, the held-out
# emoji in the tuning's own art. Prompts are the bare class names: every tuning caption is a bare name or title.
TRANSFER = {"data.train": "train", "eval.protocol": "transfer", "eval.templates": "classname",
            "eval.evals": ("zeroshot/emoji-vendors-heldout", "zeroshot/fmnist-test", "retrieval/emoji-heldout")}
# In-distribution: tune on train-fmnist/ (the same emoji + 10k Fashion-MNIST train images captioned "a photo of a
# bag" and the like) and score on Fashion-MNIST's test photos with the prompt those captions resemble.
IN_DISTRIBUTION = {"data.train": "train-fmnist", "eval.protocol": "in-distribution", "eval.templates": "simple",
                   "eval.evals": ("zeroshot/fmnist-test", "retrieval/emoji-heldout")}
PRESETS = {
    "smoke": Preset(
        "2 cells (Lu, uu), 150 steps at 64 px, small text transformer: minutes on a laptop CPU",
        {"image.size": 64, "text.arch": "transformer_tiny", "optim.steps": 150, "optim.warmup_steps": 15,
         "data.batch_size": 64, "eval.max_images": 2000},
        [Study("towers", {"setup": ("Lu", "uu")}, doc="Figure 3 (two settings)")],
    ),
    "paper-small": Preset(
        "every study at laptop scale on the data that ships here, as zero-shot transfer (tuning never shows the "
        "evaluation images, styles or emoji): 64 px, global batch 32, tiny random-init text towers, 60 steps with "
        "evaluations every 20 (the curves)",
        {**SMALL, **TRANSFER}, axes=SMALL_AXES,
    ),
    "paper-small-indist": Preset(
        "paper-small in-distribution: tuning on Fashion-MNIST train pairs, zero-shot on Fashion-MNIST test (the "
        "regime where unlocked towers fit what they are scored on); runs are tagged protocol=in-distribution",
        {**SMALL, **IN_DISTRIBUTION}, axes=SMALL_AXES,
    ),
    # Appendix D's weight decay 1e-4 is big_vision's (schedule x wd per step); at lr 1e-3 that is 0.1 in torch's
    # form (lr_t x wd) that litlab.optim uses
    "paper": Preset("the paper's public recipe (Appendix D): 224 px, lr 1e-3, weight decay 1e-4 in big_vision's form "
                    "(0.1 here), 16 tokens; set data.root to your data",
                    {"image.size": 224, "optim.lr": 1e-3, "optim.weight_decay": 0.1, "text.max_len": 16}),
}


def preset_studies(preset: Preset) -> list[Study]:
    studies = preset.studies or STUDIES
    unknown = sorted(set(preset.axes) - {s.name for s in studies})
    if unknown:
        names = ", ".join(s.name for s in studies)
        raise ConfigError(f"preset axes for unknown study {unknown[0]!r}; studies: {names}")
    return [s.with_axes(preset.axes[s.name]) if s.name in preset.axes else s for s in studies]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="smoke", help=f"one of: {', '.join(PRESETS)}")
    p.add_argument("--study", action="append", default=[], help="run only these studies (repeatable)")
    p.add_argument("--cell", action="append", default=[],
                   help="run only these cell ids or replicate groups (every seed of a cell; repeatable; see --dry-run)")
    p.add_argument("--seeds", type=int, default=1,
                   help="replicates per cell, at train.seed + 0..N-1 (default 1); the report needs >= 2 for verdicts")
    p.add_argument("--set", action="append", default=[], dest="sets", metavar="KEY=VALUE",
                   help="override the base config, e.g. --set optim.lr=3e-4")
    p.add_argument("--sweep", help="sweep name = MLflow experiment (default: the preset)")
    p.add_argument("--dry-run", action="store_true", help="list the cells and exit")
    p.add_argument("--verbose", action="store_true",
                   help="show Tune's tables and Ray's and the libraries' messages here too (else: in the sweep's log)")
    p.add_argument("--mlflow-uri", default=os.environ.get("MLFLOW_TRACKING_URI"),
                   help="MLflow tracking server or store (default: sqlite store in ./mlruns)")
    p.add_argument("--storage", default=os.environ.get("LITLAB_STORAGE", str(Path.home() / ".cache/litlab/ray")),
                   help="Ray Train/Tune storage for checkpoints (absolute path or s3://)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS or a local one)")
    p.add_argument("--max-concurrent", type=int, default=0,
                   help="trials running at once (default: as many as the cluster's CPUs and GPUs fit, keeping 1 CPU "
                        "a trial for Ray Data)")
    p.add_argument("--scheduler", default="fifo", help="fifo (every cell to its end) or asha (Ray Tune's ASHA per "
                   "setting, ranking by the first zero-shot top-1; litlab.cluster.schedulers)")
    return p.parse_args(argv)


def studies_of(args: argparse.Namespace) -> tuple[list[Study], list[Study]]:
    """(the preset's studies, those selected with --study)."""
    if args.preset not in PRESETS:
        raise ConfigError(f"unknown preset {args.preset!r}; valid: {', '.join(PRESETS)}")
    every = preset_studies(PRESETS[args.preset])
    return every, select(every, args.study)


def build_cells(args: argparse.Namespace) -> list[Cell]:
    """The selected cells (unknown presets, studies, cells and config keys are a ConfigError); what is wrong
    inside them is the preflight's to find (litlab.preflight)."""
    _, studies = studies_of(args)
    base = apply_overrides(apply_overrides(BASE, PRESETS[args.preset].overrides), [parse_set(s) for s in args.sets])
    cells = expand(base, studies, args.seeds)
    unknown = sorted(set(args.cell) - {c.id for c in cells} - {c.group for c in cells})
    if unknown:
        raise ConfigError(f"unknown cell {unknown[0]!r}; valid: {', '.join(c.id for c in cells)}")
    return [c for c in cells if not args.cell or c.id in args.cell or c.group in args.cell]


def set_problems(args: argparse.Namespace) -> list[str]:
    """The --set keys that a selected study sets itself (litlab.grid.set_conflicts)."""
    every, studies = studies_of(args)
    return set_conflicts(studies, [parse_set(s)[0] for s in args.sets], every)


def tracking_uri(args: argparse.Namespace) -> str:
    if args.mlflow_uri:
        return args.mlflow_uri
    if "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ:  # set for `ray job submit` drivers, whose cwd is a temp copy
        raise ConfigError("running as a Ray job: pass --mlflow-uri (e.g. http://127.0.0.1:5001 from make cluster-up)")
    from litlab.cluster.tracking import local_store_uri

    return local_store_uri(REPO / "mlruns")


def preflight(args: argparse.Namespace, cells: list[Cell], uri: str) -> list[Node] | None:
    """Every problem of the sweep, before any trial starts (litlab.preflight, litlab.cluster.preflight): printed
    together, and None; else the nodes to size the cells for. Ray is started only when nothing else is wrong (or is
    already running at --address / $RAY_ADDRESS); a dry run without one sizes for this machine."""
    from litlab.cluster import preflight as env
    from litlab.cluster.schedulers import scheduler_problem
    from litlab.preflight import Preflight, Problem, fit_problems, report

    problems = [Problem(text) for text in set_problems(args)] + Preflight(env.hub_offline()).cells(cells)
    problems += [Problem(text) for text in (env.mlflow_problem(uri), env.storage_problem(args.storage),
                                            scheduler_problem(args.scheduler, cells)) if text]
    if args.address or os.environ.get("RAY_ADDRESS") or not (args.dry_run or problems):
        from litlab.cluster.session import cluster_nodes, connect

        connect(args.address)
        nodes = cluster_nodes()
    else:
        nodes = env.local_nodes()
    problems += fit_problems(cells, nodes, args.max_concurrent)
    if problems:
        print(f"error: {report(problems, len(cells))}", file=sys.stderr)
        return None
    return nodes


def show(cells: list[Cell], concurrent: int) -> None:
    for c in cells:
        print(f"{c.id:40s} studies={','.join(c.studies)} hash={c.hash}")
    print(f"{len(cells)} cells, {concurrent} trial(s) at a time; preflight passed"
          + (f" ({describe(cells[0].config.train)})" if cells else ""))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cells = build_cells(args)
        uri = tracking_uri(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    nodes = preflight(args, cells, uri)
    if nodes is None:
        return 2
    auto = [i for i, c in enumerate(cells) if not c.config.train.workers]
    cells, concurrent = sized_sweep(cells, nodes, args.max_concurrent)
    if args.dry_run:
        show(cells, concurrent)
        return 0
    return run(args, cells, concurrent, uri, auto)


def run(args: argparse.Namespace, cells: list[Cell], concurrent: int, uri: str, auto: list[int]) -> int:
    if "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ:
        # A job's working directory is a temporary copy that Ray's runtime-env agents may delete while the job runs
        # (seen with two raylets on one machine, which share it); Tune resolves paths against the cwd at the end.
        os.chdir(Path.home())
    from litlab.cluster.console_view import headline
    from litlab.cluster.schedulers import build_scheduler
    from litlab.cluster.session import cluster_nodes, connect
    from litlab.cluster.sweep_console import SweepConsole, log_path
    from litlab.cluster.tune import run_sweep
    from litlab.data.coverage import sweep_coverage

    sweep = args.sweep or args.preset
    coverage = sweep_coverage(c.config for c in cells)  # what tuning and evaluation share, on the parent run
    resources = connect(args.address)
    print(f"sweep {sweep!r}: {len(cells)} cells -> MLflow {uri}", flush=True)
    print(f"cluster: {resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs on {len(cluster_nodes())} "
          f"node(s) -> {concurrent} trial(s) at a time", flush=True)
    if auto:
        print(f"train.workers=0 in {len(auto)} cell(s), sized from the largest node: "
              f"{describe(cells[auto[0]].config.train)}", flush=True)
    log = None if args.verbose else log_path(sweep)
    print(f"log: {log} (Tune's tables, Ray's and the libraries' messages; --verbose shows them here)" if log else
          "verbose: Tune's tables, Ray's and the libraries' messages are shown here", flush=True)
    _, studies = studies_of(args)
    with SweepConsole([(c.id, c.config.optim.steps) for c in cells], log):
        results = run_sweep(cells, sweep=sweep, tracking_uri=uri, storage=args.storage, max_concurrent=concurrent,
                            artifacts=coverage, scheduler=build_scheduler(args.scheduler, cells))
        front = publish(sweep=sweep, uri=uri, preset=args.preset, preset_doc=PRESETS[args.preset].doc,
                        studies=studies, selected=args.study, cells=cells, results=results, log=log)
    for r in results:  # the finished ones printed their end line; these need the user
        if r.status != "FINISHED":
            shown = ", ".join(f"{k}={v:.4f}" for k, v in headline(r.metrics).items())
            print(f"{r.status:8s} {r.cell_id:30s} run={r.run_id} {shown} {r.error}")
    print("\n".join(front))
    return 0 if all(r.status in ("FINISHED", "STOPPED") for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
