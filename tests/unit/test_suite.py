"""The evaluation suite: specs, every evaluator on real sets, and sharded evaluation equal to one process."""

import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from litlab.config import ConfigError, RunConfig, apply_overrides
from litlab.distributed import gather_in_order, shard_indices
from litlab.evaluators.suite import EVALUATORS, Context, EvalSuite, check_evals, parse_spec, split_metric_key
from litlab.evaluators.zeroshot import class_embeddings, classification_metrics, image_embeddings
from litlab.models.build import build_model
from litlab.tokenizers import get_tokenizer

SPECS = ("zeroshot/fmnist-test", "retrieval/emoji-heldout", "fewshot/fmnist-idx-train+fmnist-idx-test")


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = apply_overrides(RunConfig(), {"setup": "Lu", "image.arch": "mobilenet_v2", "image.size": 32})
    return build_model(cfg).eval()


def suite(root, specs=SPECS, max_images=60) -> EvalSuite:
    ctx = Context(tokenize=get_tokenizer("wordpiece_minilm", 16), templates="simple", batch_size=16)
    return EvalSuite(specs, data_root=str(root), size=32, max_images=max_images, ctx=ctx)


# One real set (or pair) per evaluator, with room for every metric it declares (few-shot: 30 images a class).
EXAMPLES = {"zeroshot": ("zeroshot/fmnist-test", 60), "retrieval": ("retrieval/emoji-heldout", 60),
            "crossstyle": ("crossstyle/emoji-style-google-apple", 30),
            "fewshot": ("fewshot/fmnist-idx-train+fmnist-idx-test", 300)}


def test_every_evaluator_has_an_example():
    assert sorted(EXAMPLES) == EVALUATORS.names()


@pytest.mark.parametrize("name", EVALUATORS.names())
def test_every_evaluator_returns_exactly_the_metrics_it_declares(name, tiny_shards):
    spec, max_images = EXAMPLES[name]
    got = suite(tiny_shards, [spec], max_images)(tiny_model())
    prefix = parse_spec(spec).name
    assert sorted(got) == sorted(f"{prefix}/{m}" for m in EVALUATORS.get(name).metrics)
    assert all(split_metric_key(k) == (name, prefix.split("/")[1], k[len(prefix) + 1:]) for k in got)


@pytest.mark.parametrize("name", EVALUATORS.names())
def test_every_evaluator_gives_the_chance_level_and_item_count_of_what_it_returns(name, tiny_shards):
    """facts(): a chance level for each declared metric, from the set's shape; an item count for each hit-fraction
    metric (its value times the count is a whole number of hits); nothing a reader could take for a score."""
    spec, max_images = EXAMPLES[name]
    s = suite(tiny_shards, [spec], max_images)
    got = s(tiny_model())
    facts = s.facts()
    declared = EVALUATORS.get(name)
    prefix = parse_spec(spec).name
    chance = sorted(k for k in facts if k.startswith("chance/"))
    assert chance == sorted(f"chance/{prefix}/{m}" for m in declared.chance)
    assert declared.chance and set(declared.chance) <= set(declared.metrics)
    for key, value in facts.items():
        fact, metric = key.split("/", 1)
        assert fact in ("chance", "items") and metric in got, key  # describes a returned score...
        assert split_metric_key(key) is None  # ...and is never read as one
        if fact == "chance":
            assert 0 < value <= 1, key
        else:
            hits = got[metric] * value
            assert value >= 1 and abs(hits - round(hits)) < 1e-6, (key, got[metric], value)
    data = s.load(parse_spec(spec))[-1]
    counts = declared.counts(s.load(parse_spec(spec)))
    if name == "zeroshot":
        expected = {"top1": len(data.images), "top5": len(data.images)}
    elif name == "retrieval":
        expected = {f"{w}_r{k}": len(data.images) if w == "i2t" else len(data.captions)
                    for w in ("i2t", "t2i") for k in (1, 5, 10)}
    elif name == "crossstyle":
        expected = {f"r{k}": len(data.query_images) for k in (1, 5, 10)}
    else:  # few-shot top-1 is a mean over draws, not one run's hit fraction: no items
        expected = {}
    assert dict(counts.items) == expected


def test_chance_levels_of_the_shipped_sets_follow_their_shape(tiny_shards):
    s = suite(tiny_shards, ["zeroshot/fmnist-test", "retrieval/emoji-heldout"], 60)
    facts = s.facts()
    assert facts["chance/zeroshot/fmnist-test/top1"] == pytest.approx(1 / 10)  # 10 classes
    assert facts["chance/zeroshot/fmnist-test/top5"] == pytest.approx(5 / 10)
    emoji = s.load(parse_spec("retrieval/emoji-heldout"))[0]
    assert facts["chance/retrieval/emoji-heldout/t2i_r1"] == pytest.approx(1 / len(emoji.images))
    assert facts["items/retrieval/emoji-heldout/t2i_r1"] == len(emoji.captions)


def test_split_metric_key_knows_only_declared_metrics():
    assert split_metric_key("fewshot/fmnist-idx-test/10shot/top1") == ("fewshot", "fmnist-idx-test", "10shot/top1")
    assert split_metric_key("zeroshot/fmnist-test/top1") == ("zeroshot", "fmnist-test", "top1")
    for other in ("train/loss", "zeroshot/fmnist-test/top3", "zeroshot/top1", "dedup/fmnist-test/dropped"):
        assert split_metric_key(other) is None, other


@pytest.mark.parametrize("text,msg", [
    ("zeroshot", "write <evaluator>/<set>"),
    ("zeroshoot/fmnist-test", "unknown evaluator 'zeroshoot' (did you mean 'zeroshot'?)"),
    ("zeroshot/fmnist-tset", "unknown evaluation set 'fmnist-tset'"),
    ("fewshot/fmnist-test", "evaluator 'fewshot' takes 2 set(s)"),
])
def test_bad_specs_name_the_value_and_the_choices(text, msg):
    with pytest.raises(ConfigError, match="eval.evals") as err:
        check_evals([text])
    assert msg in str(err.value)


def test_spec_with_a_root_and_two_sets():
    spec = parse_spec("fewshot/fmnist-idx-train+fmnist-idx-test@/data/fm")
    assert (spec.evaluator, spec.sets, spec.root, spec.name) == (
        "fewshot", ("fmnist-idx-train", "fmnist-idx-test"), "/data/fm", "fewshot/fmnist-idx-test")


def test_a_set_of_the_wrong_kind_is_a_clear_error(tiny_shards):
    with pytest.raises(ValueError, match="retrieval needs a RetrievalSet, fmnist-test is a LabelledEvalSet"):
        suite(tiny_shards, ["retrieval/fmnist-test"])(tiny_model())


def test_suite_zeroshot_equals_the_plain_computation_and_keeps_train_mode(tiny_shards):
    model = tiny_model().train()
    s = suite(tiny_shards, ["zeroshot/fmnist-test"])
    got = s(model)
    assert model.training
    data = s.load(s.specs[0])[0]
    model.eval()
    zcls = class_embeddings(model, data.classnames, "simple", get_tokenizer("wordpiece_minilm", 16))  # (C, D)
    zimg = image_embeddings(model, data.images, 16)  # (N, D)
    ref = classification_metrics(zimg @ zcls.T, torch.as_tensor(data.labels))
    assert got == {f"zeroshot/fmnist-test/{k}": v for k, v in ref.items()}


def test_gather_in_order_is_the_identity_in_one_process():
    x = torch.arange(12.0).reshape(6, 2)
    assert torch.equal(gather_in_order(x, 6), x)
    assert list(shard_indices(7, 1, 3)) == [1, 4]


def _worker(rank: int, world: int, port: int, root: str, model, out) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    out[rank] = suite(root)(model)
    x = torch.arange(7.0)[rank::world, None]  # an uneven split: 4 rows on rank 0, 3 on rank 1
    out[f"gather{rank}"] = gather_in_order(x, 7).flatten().tolist()
    dist.destroy_process_group()


def test_two_gloo_workers_give_exactly_the_single_process_metrics(tiny_shards):
    model = tiny_model()
    single = suite(tiny_shards)(model)
    assert {"/".join(k.split("/")[:2]) for k in single} == {
        "zeroshot/fmnist-test", "retrieval/emoji-heldout", "fewshot/fmnist-idx-test"}
    assert {"fewshot/fmnist-idx-test/1shot/top1", "fewshot/fmnist-idx-test/5shot/top1"} <= single.keys()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    mp.spawn(_worker, args=(2, port, str(tiny_shards), model, out), nprocs=2, join=True)
    assert out["gather0"] == out["gather1"] == list(np.arange(7.0))
    for rank in range(2):
        assert out[rank].keys() == single.keys()
        for k, v in single.items():
            assert out[rank][k] == pytest.approx(v, abs=1e-9), k
