"""The LiT design grid: studies as data, expanded into cells and run as a Ray Tune sweep, logged to MLflow.

Run:
    python experiments/design_grid.py --preset smoke                # embedded: local Ray + sqlite MLflow in ./mlruns
    python experiments/design_grid.py --preset smoke --dry-run      # list the cells, run nothing
    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \
        python experiments/design_grid.py --preset smoke --mlflow-uri http://127.0.0.1:5001   # after `make cluster-up`

Options: --study NAME (repeatable), --set key=value (repeatable; changes the base config), --sweep NAME
(the MLflow experiment; default: the preset's name), --max-concurrent N, --seeds N (each cell N times, at
train.seed + 0..N-1: replicates the report aggregates into mean ± 95 % interval and order verdicts).
Takes about 5 minutes for the smoke preset (2 cells x 150 steps, 2 workers each) on a 2-core CPU machine,
plus ~1 minute of Ray start-up (--seeds N: N times the cells); shards must exist first (`make data`).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litlab.config import FIGURE3_SETTINGS, ConfigError, RunConfig, apply_overrides, parse_set
from litlab.grid import Cell, Study, expand, select

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


SMALL = {"image.size": 64, "data.batch_size": 32, "eval.max_images": 1000,
         "optim.warmup_steps": 10, "eval.evals": ("zeroshot/fmnist-test", "retrieval/emoji-heldout")}
PRESETS = {
    "smoke": Preset(
        "2 cells (Lu, uu), 150 steps at 64 px, small text transformer: minutes on a laptop CPU",
        {"image.size": 64, "text.arch": "transformer_tiny", "optim.steps": 150, "optim.warmup_steps": 15,
         "data.batch_size": 64, "eval.max_images": 2000},
        [Study("towers", {"setup": ("Lu", "uu")}, doc="Figure 3 (two settings)")],
    ),
    "paper-small": Preset(
        "every study at laptop scale on the data that ships here: 64 px, global batch 32, tiny random-init text "
        "towers, 60 steps with evaluations every 20 (the curves); `--study towers` (7 cells) takes ~14 min on "
        "2 CPU cores",
        {**SMALL, "optim.steps": 60, "eval.every": 20, "text.arch": "transformer_tiny"},
        axes={"towers": {"optim.steps": (60,)},
              "text_models": {"text.arch": ("minilm_l6_scratch", "t5_tiny", "transformer_tiny")},
              "loss": {"data.batch_size": (16, 32, 64)}},
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
    p.add_argument("--mlflow-uri", default=os.environ.get("MLFLOW_TRACKING_URI"),
                   help="MLflow tracking server or store (default: sqlite store in ./mlruns)")
    p.add_argument("--storage", default=os.environ.get("LITLAB_STORAGE", str(Path.home() / ".cache/litlab/ray")),
                   help="Ray Train/Tune storage for checkpoints (absolute path or s3://)")
    p.add_argument("--address", default=None, help="Ray cluster address (default: $RAY_ADDRESS or a local one)")
    p.add_argument("--max-concurrent", type=int, default=0,
                   help="trials running at once (default: as many as the cluster's CPUs and GPUs fit, keeping 1 CPU "
                        "a trial for Ray Data)")
    return p.parse_args(argv)


def build_cells(args: argparse.Namespace) -> list[Cell]:
    if args.preset not in PRESETS:
        raise ConfigError(f"unknown preset {args.preset!r}; valid: {', '.join(PRESETS)}")
    preset = PRESETS[args.preset]
    base = apply_overrides(apply_overrides(BASE, preset.overrides), [parse_set(s) for s in args.sets])
    cells = expand(base, select(preset_studies(preset), args.study), args.seeds)
    unknown = sorted(set(args.cell) - {c.id for c in cells} - {c.group for c in cells})
    if unknown:
        raise ConfigError(f"unknown cell {unknown[0]!r}; valid: {', '.join(c.id for c in cells)}")
    cells = [c for c in cells if not args.cell or c.id in args.cell or c.group in args.cell]
    from litlab.data.dedup import check_config as check_dedup
    from litlab.evaluators.suite import check_evals
    from litlab.models.build import check_names
    from litlab.models.precomputed import precompute_problem

    for cell in cells:
        try:
            check_names(cell.config)
            check_evals(cell.config.eval.evals)
            check_dedup(cell.config)
            if cell.config.train.precompute and (problem := precompute_problem(cell.config)):
                raise ConfigError(f"train.precompute: {problem}")
        except ConfigError as err:
            raise ConfigError(f"cell {cell.id}: {err}") from None
    return cells


def tracking_uri(args: argparse.Namespace) -> str:
    if args.mlflow_uri:
        return args.mlflow_uri
    if "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ:  # set for `ray job submit` drivers, whose cwd is a temp copy
        raise ConfigError("running as a Ray job: pass --mlflow-uri (e.g. http://127.0.0.1:5001 from make cluster-up)")
    from litlab.cluster.tracking import local_store_uri

    return local_store_uri(REPO / "mlruns")


def check_data(cells: list[Cell]) -> None:
    for root in sorted({c.config.data.root for c in cells}):
        if "://" not in root and not (Path(root) / cells[0].config.data.train).is_dir():
            raise ConfigError(f"no training shards under data.root={root!r}; build them with `make data` "
                              f"(python -m litlab.data.build --root {root}) or set data.root")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cells = build_cells(args)
        if args.dry_run:
            for c in cells:
                print(f"{c.id:40s} studies={','.join(c.studies)} hash={c.hash}")
            print(f"{len(cells)} cells" + ("; hashes before train.workers=0 is sized from the cluster at run time"
                                             if any(not c.config.train.workers for c in cells) else ""))
            return 0
        check_data(cells)
        uri = tracking_uri(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ:
        # A job's working directory is a temporary copy that Ray's runtime-env agents may delete while the job runs
        # (seen with two raylets on one machine, which share it); Tune resolves paths against the cwd at the end.
        os.chdir(Path.home())
    from litlab.cluster.session import cluster_nodes, connect
    from litlab.cluster.tune import run_sweep
    from litlab.sizing import describe, sized_sweep

    sweep = args.sweep or args.preset
    print(f"sweep {sweep!r}: {len(cells)} cells -> MLflow {uri}", flush=True)
    resources = connect(args.address)
    nodes = cluster_nodes()
    auto = [i for i, c in enumerate(cells) if not c.config.train.workers]
    try:
        cells, concurrent = sized_sweep(cells, nodes, args.max_concurrent)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"cluster: {resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs on {len(nodes)} node(s) -> "
          f"{concurrent} trial(s) at a time", flush=True)
    if auto:
        print(f"train.workers=0 in {len(auto)} cell(s), sized from the largest node: "
              f"{describe(cells[auto[0]].config.train)}", flush=True)
    results = run_sweep(cells, sweep=sweep, tracking_uri=uri, storage=args.storage, max_concurrent=concurrent)
    for r in results:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in sorted(r.metrics.items()) if k.startswith("zeroshot"))
        print(f"{r.status:8s} {r.cell_id:30s} run={r.run_id} {shown} {r.error}")
    return 0 if all(r.status == "FINISHED" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
