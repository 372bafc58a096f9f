"""Every mistake in a sweep's cells, found before anything trains: all problems at once, each naming the bad value
and the fix.

Pure (no Ray, no MLflow): it reads configs, parquet footers and a few images of each evaluation set. What needs
the cluster or the tracking server (MLflow reachable, storage writable, the cells fit) is
``litlab.cluster.preflight``. Per cell:

- names: image and text towers, tokenizer, and the setup letters they can take (``models.build.check_names``);
  pretrained timm weights that the workers can load (``models.hub_weights``);
- evaluations: every spec parses (``evaluators.suite.check_evals``), every set loads from its root (``PROBE_IMAGES``
  images at ``PROBE_SIZE`` px, through the loader training uses) and is the kind its evaluator scores;
- dedup settings (``data.dedup.check_config``) and precompute (``models.precomputed.precompute_problem``);
- the training split: ``<data.root>/<data.train>`` and its columns in every file (``data.layout``), on local disk or
  ``s3://``; a ``key`` column where dedup or precompute need one.

``Preflight`` caches per distinct split and evaluation set, so a 35-cell sweep over one split reads it once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from litlab import storage
from litlab.config import ConfigError, RunConfig
from litlab.data.dedup import check_config as check_dedup
from litlab.data.layout import SplitLayout, split_layout
from litlab.errors import DataError
from litlab.evaluators.resolve import load_set, set_root
from litlab.evaluators.suite import EVALUATORS, EvalSpec, check_evals, parse_spec
from litlab.grid import Cell
from litlab.models.build import check_names
from litlab.models.hub_weights import hub_weights_problem
from litlab.models.precomputed import precompute_problem
from litlab.registry import UnknownNameError
from litlab.sizing import Node, sized_sweep

PROBE_IMAGES, PROBE_SIZE = 4, 16  # what the preflight loads of each evaluation set
SHOWN_CELLS = 3  # cell ids named per problem before "and N more"


@dataclass(frozen=True)
class Problem:
    text: str  # what is wrong, naming the bad value, and the fix
    cells: tuple[str, ...] = ()  # the cells it concerns; () = the sweep as a whole

    def line(self, total: int) -> str:
        if not self.cells:
            return self.text
        if len(self.cells) == total and total > 1:
            return f"all {total} cells: {self.text}"
        more = len(self.cells) - SHOWN_CELLS
        ids = ", ".join(self.cells[:SHOWN_CELLS]) + (f" and {more} more" if more > 0 else "")
        return f"cell{'s' if len(self.cells) > 1 else ''} {ids}: {self.text}"


def report(problems: Sequence[Problem], total: int) -> str:
    """The problems as the CLI prints them: one line for one problem, else a heading and a line each."""
    if len(problems) == 1:
        return problems[0].line(total)
    lines = [f"{len(problems)} problems found before training (nothing was started):"]
    return "\n".join(lines + [f"  - {p.line(total)}" for p in problems])


def config_problems(cfg: RunConfig, hub_offline: bool = True) -> list[str]:
    """What is wrong in the config itself (no data read)."""
    out = []
    checks: list[Callable[[RunConfig], None]] = [check_names, lambda c: check_evals(c.eval.evals), check_dedup]
    for check in checks:
        try:
            check(cfg)
        except ConfigError as err:
            out.append(str(err))
    if cfg.train.precompute and (why := precompute_problem(cfg)):
        out.append(f"train.precompute: {why}")
    if not out and cfg.image_letter in "LU" and (why := hub_weights_problem(cfg.image.arch, hub_offline)):
        out.append(why)
    return out


@dataclass
class Preflight:
    """Checks many cells, reading each distinct split and evaluation set once. ``hub_offline``: whether the workers
    will run with HF_HUB_OFFLINE=1 (``litlab.cluster.session.worker_env``)."""

    hub_offline: bool = True
    _layouts: dict[tuple[str, ...], SplitLayout | str] = field(default_factory=dict)
    _sets: dict[tuple[str, str, str | None], str] = field(default_factory=dict)

    def cells(self, cells: Sequence[Cell]) -> list[Problem]:
        """Every problem of every cell, identical ones merged (listing their cells), in order of appearance."""
        by_text: dict[str, list[str]] = {}
        for c in cells:
            for text in self.cell(c.config):
                by_text.setdefault(text, []).append(c.id)
        return [Problem(text, tuple(ids)) for text, ids in by_text.items()]

    def cell(self, cfg: RunConfig) -> list[str]:
        return [*config_problems(cfg, self.hub_offline), *self.data_problems(cfg), *self.eval_problems(cfg)]

    def layout(self, cfg: RunConfig) -> SplitLayout | str:
        """The training split's layout, or the problem that stops it."""
        key = (cfg.data.root, cfg.data.train, cfg.data.image_column, cfg.data.caption_column)
        if key not in self._layouts:
            try:
                self._layouts[key] = split_layout(*key)
            except DataError as err:
                self._layouts[key] = str(err)
            except OSError as err:  # storage that does not answer, or refuses us (S3 credentials)
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                self._layouts[key] = f"data.root={cfg.data.root!r}: {first} (check the path, or for s3:// the AWS " \
                                     f"credentials and AWS_ENDPOINT_URL)"
        return self._layouts[key]

    def data_problems(self, cfg: RunConfig) -> list[str]:
        out = []
        if cfg.train.precompute and storage.is_remote(cfg.data.root):
            out.append(f"train.precompute keeps its embedding cache beside the shards, on local disk; "
                       f"data.root={cfg.data.root!r} is remote: copy the split to a local data.root or set "
                       f"train.precompute=false")
        layout = self.layout(cfg)
        if isinstance(layout, str):
            return [*out, layout]
        keyed = [k for k, on in (("data.dedup", cfg.data.dedup != "none"), ("train.precompute", cfg.train.precompute))
                 if on]
        if keyed and not layout.key:
            out.append(f"{' and '.join(keyed)} name rows by their 'key' column, and {layout.split} has none: build "
                       f"litlab shards from it (python -m litlab.cluster.build_shards --list: the sources) or set "
                       f"{keyed[0]} off")
        return out

    def eval_problems(self, cfg: RunConfig) -> list[str]:
        out = []
        for text in cfg.eval.evals:
            try:
                spec = parse_spec(text)
            except (ValueError, UnknownNameError):
                continue  # config_problems names it
            for name, kind in zip(spec.sets, EVALUATORS.get(spec.evaluator).takes, strict=True):
                key = (spec.text, name, set_root(name, spec.root, cfg.data.root))
                if key not in self._sets:
                    self._sets[key] = _probe(spec, name, kind, cfg.data.root)
                if self._sets[key]:
                    out.append(self._sets[key])
        return out


def _probe(spec: EvalSpec, name: str, kind: type, data_root: str) -> str:
    """"" when a few images of set ``name`` load and it is the kind its evaluator scores, else the problem."""
    try:
        data = load_set(spec.text, name, spec.root, data_root, PROBE_SIZE, PROBE_IMAGES)
    except DataError as err:
        return str(err)
    if not isinstance(data, kind):
        fits = sorted(e for e in EVALUATORS.names() if EVALUATORS.get(e).takes[0] is type(data))
        return (f"eval.evals: {spec.text}: the {spec.evaluator} evaluator scores a {kind.__name__}, and {name} is a "
                f"{type(data).__name__}; evaluators for it: {', '.join(fits) or 'none'}")
    return ""


def fit_problems(cells: Sequence[Cell], nodes: Sequence[Node], max_concurrent: int = 0) -> list[Problem]:
    """The cells sized for ``nodes`` (``litlab.sizing``): a trial the cluster cannot hold, a global batch smaller
    than a run's workers."""
    try:
        sized, _ = sized_sweep(cells, nodes, max_concurrent)
    except ConfigError as err:
        return [Problem(str(err))]
    small: dict[str, list[str]] = {}
    for c in sized:
        batch, workers = c.config.data.batch_size, c.config.train.workers
        if batch < workers:
            small.setdefault(f"data.batch_size={batch} is smaller than its {workers} workers (train.workers, sized "
                             f"from the cluster when 0): each worker takes batch_size / workers rows a step; raise "
                             f"data.batch_size or set train.workers", []).append(c.id)
    return [Problem(text, tuple(ids)) for text, ids in small.items()]


def check_cells(cells: Sequence[Cell], hub_offline: bool = True) -> list[Problem]:
    """Every problem of ``cells`` (see the module docstring); [] when all can train."""
    return Preflight(hub_offline).cells(cells)
