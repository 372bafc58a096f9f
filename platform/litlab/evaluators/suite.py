"""The evaluation suite: ``eval.evals`` specs -> metrics, with embeddings spread over the Train workers.

A spec is ``<evaluator>/<set>[+<set>][@root]``: ``zeroshot/fmnist-test``, ``retrieval/tuxpaint-stamps``,
``crossstyle/emoji-style-google-apple``, ``fewshot/fmnist-idx-train+fmnist-idx-test`` (probe train + test),
``zeroshot/cifar100-test@/data/cifar-100-python.tar.gz`` (a user's copy). Metric names are
``<evaluator>/<set>/<metric>`` (few-shot: the test set, e.g. ``fewshot/fmnist-idx-test/10shot/top1``); beside
them ``EvalSuite.facts()`` gives each metric's chance level and item count (litlab.evaluators.facts).
Under torch.distributed every rank embeds every W-th image and caption
(``distributed.shard_indices``) and all ranks gather them back in order, so each rank computes exactly the
metrics one process would; the caller logs them from rank 0. Sets are loaded once per suite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from litlab.config import ConfigError, RunConfig
from litlab.distributed import gather_in_order, shard_indices, world
from litlab.evaluators.cache import ImageEmbeddingCache
from litlab.evaluators.facts import CountFn, SetCounts, fact_metrics
from litlab.evaluators.linear_probe import fewshot_probe
from litlab.evaluators.prompts import TEMPLATES
from litlab.evaluators.resolve import load_set
from litlab.evaluators.retrieval import retrieval_metrics, t2i_ranks, text_embeddings
from litlab.evaluators.sets import EVAL_SETS, CrossStyleSet, LabelledEvalSet, RetrievalSet
from litlab.evaluators.zeroshot import class_embeddings, classification_metrics, image_embeddings
from litlab.registry import Registry, UnknownNameError
from litlab.stats.chance import SetShape
from litlab.tokenizers import Tokenize, get_tokenizer

FEWSHOTS = (1, 5, 10, 25)  # shots per class, as in the paper's few-shot tables
RECALL_AT = (1, 5, 10)  # retrieval Recall@k, as in the paper's Table 4


@dataclass(frozen=True)
class EvalSpec:
    evaluator: str
    sets: tuple[str, ...]
    root: str | None = None

    @property
    def text(self) -> str:
        """The spec as written in eval.evals."""
        return f"{self.evaluator}/{'+'.join(self.sets)}" + (f"@{self.root}" if self.root else "")

    @property
    def name(self) -> str:
        """The metric prefix: the evaluator and the set it scores on (few-shot: the test set; MLflow forbids '+')."""
        return f"{self.evaluator}/{self.sets[-1]}"


@dataclass(frozen=True)
class Context:
    """What every evaluator needs besides the model and its data."""

    tokenize: Tokenize
    templates: str
    batch_size: int
    device: torch.device | str = "cpu"
    cache: ImageEmbeddingCache | None = None  # reuses zimg while the image side is frozen (litlab.evaluators.cache)


EvaluateFn = Callable[[Any, list[Any], Context], dict[str, float]]  # (model, its sets, context) -> metrics


@dataclass(frozen=True)
class Evaluator:
    """An evaluator with what it declares, once: the kind of each set it takes, every metric it returns, which of
    them have a chance level, and how its sets are counted (litlab.evaluators.facts)."""

    run: EvaluateFn
    takes: tuple[type, ...]  # e.g. (LabelledEvalSet,); few-shot takes a train and a test set
    metrics: tuple[str, ...]  # logged as <evaluator>/<set>/<metric>
    chance: tuple[str, ...]  # metrics with a chance level, logged as chance/<evaluator>/<set>/<metric>
    counts: CountFn  # its sets -> shape and items per hit-fraction metric (items/<evaluator>/<set>/<metric>)


EVALUATORS: Registry[Evaluator] = Registry("evaluator")


def evaluator(name: str, *, takes: tuple[type, ...], metrics: Sequence[str], chance: Sequence[str],
              counts: CountFn) -> Callable[[EvaluateFn], EvaluateFn]:
    """Register the decorated function as evaluator ``name``, with the sets it takes, the metrics it returns, those
    with a chance level, and its sets' counts."""
    undeclared = sorted(set(chance) - set(metrics))
    if undeclared:
        raise ValueError(f"evaluator {name!r}: chance level for undeclared metric {undeclared[0]!r}")

    def add(run: EvaluateFn) -> EvaluateFn:
        EVALUATORS.register(name)(Evaluator(run, tuple(takes), tuple(metrics), tuple(chance), counts))
        return run

    return add


def split_metric_key(key: str) -> tuple[str, str, str] | None:
    """A logged metric's (evaluator, set, metric): ``zeroshot/fmnist-test/top1`` -> ("zeroshot", "fmnist-test",
    "top1"); None for a name no evaluator declares (``train/loss``, a metric since renamed...)."""
    name, _, rest = key.partition("/")
    set_name, _, metric = rest.partition("/")
    if name in EVALUATORS and set_name and metric in EVALUATORS.get(name).metrics:
        return name, set_name, metric
    return None


def parse_spec(text: str) -> EvalSpec:
    """``zeroshot/fmnist-test`` -> EvalSpec; unknown evaluators or sets fail listing the valid ones."""
    body, _, root = text.partition("@")
    evaluator, sep, sets = body.partition("/")
    if not sep or not sets:
        raise ValueError(f"bad evaluation {text!r}: write <evaluator>/<set>[+<set>][@root], e.g. zeroshot/fmnist-test")
    takes = EVALUATORS.get(evaluator).takes
    names = tuple(sets.split("+"))
    for name in names:
        EVAL_SETS.get(name)
    if len(names) != len(takes):
        raise ValueError(f"evaluator {evaluator!r} takes {len(takes)} set(s), got {text!r}")
    return EvalSpec(evaluator, names, root or None)


def check_evals(specs: Sequence[str]) -> None:
    """Every spec parses (known evaluator, known sets), or a ConfigError naming the bad one and the valid ones."""
    for text in specs:
        try:
            parse_spec(text)
        except (ValueError, UnknownNameError) as err:
            raise ConfigError(f"eval.evals: {err}") from None


class EvalSuite:
    """Loads each spec's sets once (at ``size``, at most ``max_images``) and scores a model on all of them; a set
    that does not load is a DataError naming the spec and the fix (``litlab.evaluators.resolve``)."""

    def __init__(self, specs: Sequence[str], *, data_root: str, size: int, max_images: int, ctx: Context) -> None:
        self.specs = [parse_spec(s) for s in specs]
        self.data_root, self.size, self.max_images, self.ctx = data_root, size, max_images, ctx
        self._sets: dict[tuple[str, str | None], Any] = {}

    def load(self, spec: EvalSpec) -> list[Any]:
        out = []
        for name in spec.sets:
            if (name, spec.root) not in self._sets:
                self._sets[(name, spec.root)] = load_set(spec.text, name, spec.root, self.data_root, self.size,
                                                         self.max_images)
            data = self._sets[(name, spec.root)]
            out.append(data)
        for data, kind in zip(out, EVALUATORS.get(spec.evaluator).takes, strict=True):
            if not isinstance(data, kind):
                raise ValueError(f"{spec.name}: {spec.evaluator} needs a {kind.__name__}, "
                                 f"{data.name or 'the set'} is a {type(data).__name__}")
        return out

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module) -> dict[str, float]:
        was_training = model.training
        model.eval()
        try:
            metrics: dict[str, float] = {}
            for spec in self.specs:
                scores = EVALUATORS.get(spec.evaluator).run(model, self.load(spec), self.ctx)
                metrics |= {f"{spec.name}/{k}": v for k, v in scores.items()}
            return metrics
        finally:
            model.train(was_training)

    def facts(self) -> dict[str, float]:
        """Each metric's chance level and item count, as ``chance/<metric key>`` and ``items/<metric key>``: log
        them with the scores of every evaluation (the report's intervals and "no signal" marks read them)."""
        out: dict[str, float] = {}
        for spec in self.specs:
            declared = EVALUATORS.get(spec.evaluator)
            out |= fact_metrics(spec.name, declared.chance, declared.counts(self.load(spec)))
        return out


def suite_for(cfg: RunConfig, device: torch.device | str = "cpu") -> EvalSuite:
    """A run's evaluation suite from its config (``eval.*``, the text tokenizer, the image size)."""
    ctx = Context(tokenize=get_tokenizer(cfg.text.tokenizer, cfg.text.max_len), templates=cfg.eval.templates,
                  batch_size=cfg.eval.batch_size, device=device, cache=ImageEmbeddingCache(cfg.eval.cache_dir))
    return EvalSuite(cfg.eval.evals, data_root=cfg.data.root, size=cfg.image.size, max_images=cfg.eval.max_images,
                     ctx=ctx)


def embed_images(model: Any, images: np.ndarray, ctx: Context) -> torch.Tensor:
    """(N, D) image embeddings, each rank embedding its shard, gathered in order; from the cache when frozen.

    Every rank decides hit or miss alike: a miss is computed collectively and rank 0 writes the file only after
    that collective, so no rank can see the file before the others have looked."""
    rank, size = world()

    def compute() -> torch.Tensor:
        idx = np.asarray(shard_indices(len(images), rank, size))
        return gather_in_order(image_embeddings(model, images[idx], ctx.batch_size, ctx.device), len(images))

    return ctx.cache.get(model, images, compute, write=rank == 0) if ctx.cache else compute()


def embed_texts(model: Any, texts: Sequence[str], ctx: Context) -> torch.Tensor:
    """(M, D) text embeddings, each rank embedding its shard, gathered in order."""
    rank, size = world()
    mine = [texts[i] for i in shard_indices(len(texts), rank, size)]
    return gather_in_order(text_embeddings(model, mine, ctx.tokenize, ctx.batch_size, ctx.device), len(texts))


def classes_and_images(sets: list[LabelledEvalSet]) -> SetCounts:
    """Zero-shot: chance from the class count; top-k is a hit fraction of the images."""
    (data,) = sets
    return SetCounts(SetShape(classes=len(data.classnames)), {"top1": len(data.labels), "top5": len(data.labels)})


@evaluator("zeroshot", takes=(LabelledEvalSet,), metrics=("top1", "top5", "mean_per_class_recall"),
           chance=("top1", "top5", "mean_per_class_recall"), counts=classes_and_images)
def zeroshot(model: Any, sets: list[LabelledEvalSet], ctx: Context) -> dict[str, float]:
    """Prompts -> class embeddings (prompts sharded, like captions); images sharded; top-1/5, mean per-class
    recall."""
    (data,) = sets
    TEMPLATES.get(ctx.templates)
    zcls = class_embeddings(model, data.classnames, ctx.templates, ctx.tokenize, ctx.device,
                            embed=lambda texts: embed_texts(model, texts, ctx))  # (C, D), prompts over the ranks
    zimg = embed_images(model, data.images, ctx)  # (N, D)
    return classification_metrics(zimg @ zcls.T, torch.as_tensor(data.labels, device=zimg.device))


def captions_per_image(sets: list[RetrievalSet]) -> SetCounts:
    """Retrieval: chance from the captions of each image; image -> text over images, text -> image over captions."""
    (data,) = sets
    per_image = np.bincount(data.caption_to_image, minlength=len(data.images))  # (N,)
    items = {f"i2t_r{k}": len(data.images) for k in RECALL_AT} | {f"t2i_r{k}": len(data.captions) for k in RECALL_AT}
    return SetCounts(SetShape(captions_per_image=tuple(int(c) for c in per_image)), items)


RETRIEVAL_METRICS = tuple(f"{way}_r{k}" for way in ("i2t", "t2i") for k in RECALL_AT)


@evaluator("retrieval", takes=(RetrievalSet,), metrics=RETRIEVAL_METRICS, chance=RETRIEVAL_METRICS,
           counts=captions_per_image)
def retrieval(model: Any, sets: list[RetrievalSet], ctx: Context) -> dict[str, float]:
    """Image <-> text Recall@1/5/10, several captions per image (COCO protocol)."""
    (data,) = sets
    zimg, ztxt = embed_images(model, data.images, ctx), embed_texts(model, data.captions, ctx)
    return retrieval_metrics(zimg, ztxt, torch.as_tensor(data.caption_to_image), ks=RECALL_AT)


def targets_and_queries(sets: list[CrossStyleSet]) -> SetCounts:
    """Cross-style: chance from the target count; recall is a hit fraction of the queries."""
    (data,) = sets
    return SetCounts(SetShape(targets=len(data.target_images)), {f"r{k}": len(data.query_images) for k in RECALL_AT})


@evaluator("crossstyle", takes=(CrossStyleSet,), metrics=[f"r{k}" for k in RECALL_AT],
           chance=[f"r{k}" for k in RECALL_AT], counts=targets_and_queries)
def crossstyle(model: Any, sets: list[CrossStyleSet], ctx: Context) -> dict[str, float]:
    """Image -> image Recall@1/5/10 from one art style to another, through the image tower only."""
    (data,) = sets
    zq = F.normalize(embed_images(model, data.query_images, ctx), dim=-1)  # (Nq, D)
    zt = F.normalize(embed_images(model, data.target_images, ctx), dim=-1)  # (Nt, D)
    ranks = t2i_ranks(zt, zq, torch.as_tensor(data.query_to_target))  # (Nq,) targets scoring >= the right one
    return {f"r{k}": (ranks < k).double().mean().item() for k in RECALL_AT}


def probe_classes(sets: list[LabelledEvalSet]) -> SetCounts:
    """Few-shot: chance from the test set's classes; no items (top-1 is a mean over draws, not one hit fraction)."""
    return SetCounts(SetShape(classes=len(sets[-1].classnames)))


@evaluator("fewshot", takes=(LabelledEvalSet, LabelledEvalSet),
           metrics=[f"{n}shot/{m}" for n in FEWSHOTS for m in ("top1", "top1_std", "lambda")],
           chance=[f"{n}shot/top1" for n in FEWSHOTS], counts=probe_classes)
def fewshot(model: Any, sets: list[LabelledEvalSet], ctx: Context) -> dict[str, float]:
    """Ridge probes on frozen image embeddings: 1/5/10/25 shots per class (those the train set has room for,
    keeping at least one example per class to choose the ridge strength on), 5 draws (linear_probe)."""
    train, test = sets
    fewest = int(np.bincount(train.labels, minlength=len(train.classnames)).min())
    shots = tuple(n for n in FEWSHOTS if n < fewest)
    if not shots:
        raise ValueError(f"{train.name}: a class has only {fewest} images; few-shot probes need at least 2 per "
                         "class (raise eval.max_images)")
    ztr, zte = embed_images(model, train.images, ctx), embed_images(model, test.images, ctx)
    return fewshot_probe(ztr, train.labels, zte, test.labels, shots=shots)
