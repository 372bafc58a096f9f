"""The preflight's pure part (litlab.preflight): every mistake a cell can hold is found without Ray, named, with its
fix; problems shared by cells are reported once; each split and evaluation set is read once per sweep."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from litlab import preflight
from litlab.config import RunConfig, apply_overrides
from litlab.grid import Cell, Study, expand, set_conflicts
from litlab.preflight import Preflight, Problem, config_problems, fit_problems, report
from litlab.sizing import Node


def cfg(root, **overrides) -> RunConfig:
    return apply_overrides(RunConfig(), {"data.root": str(root), **overrides})


def cells(root, n: int = 1, **overrides) -> list[Cell]:
    return expand(cfg(root, **overrides), [Study("s", {"optim.lr": tuple(10.0 ** -k for k in range(1, n + 1))})])


@pytest.mark.parametrize("overrides,fragment", [
    ({"image.arch": "resnet_typo"}, "unknown image tower 'resnet_typo'"),
    ({"setup": "LU"}, "setup 'LU' wants a pretrained text tower but text.arch='transformer_tiny' has no weights"),
    ({"setup": "LU", "text.arch": "minilm_l6", "text.tokenizer": "sentencepiece_mistral"},
     "would feed them other ids (set text.tokenizer=wordpiece_minilm or text letter 'u')"),
    ({"eval.evals": "zeroshot/fmnist-tset"}, "eval.evals: unknown evaluation set 'fmnist-tset'"),
    ({"eval.evals": "fewshot/fmnist-idx-test"}, "evaluator 'fewshot' takes 2 set(s)"),
    ({"data.dedup": "test", "data.dedup_method": "exact", "data.dedup_threshold": 3},
     "data.dedup_threshold: dedup method 'exact' takes no threshold"),
    ({"train.precompute": True, "setup": "uu"}, "train.precompute: setup 'uu' trains the image tower"),
    ({"train.precompute": True, "data.crop_area_min": 0.5}, "precompute needs 1.0 (a plain resize)"),
    ({"image.arch": "vit_tiny_patch16_224"},
     "loads pretrained weights from the Hugging Face hub (timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k), but the "
     "workers run with HF_HUB_OFFLINE=1"),
    ({"image.arch": "resnet50.nope"}, "image.arch='resnet50.nope': Invalid pretrained tag (nope) for resnet50. Tags "
                                      "with weights: resnet50.a1_in1k, "),
    ({"image.arch": "coatnet_0_224"}, "image.arch='coatnet_0_224' has no pretrained weights in timm; use image "
                                      "letter 'u'"),
])
def test_each_config_mistake_is_named_with_its_fix(tiny_shards, overrides, fragment):
    problems = config_problems(cfg(tiny_shards, **overrides))
    assert len(problems) == 1 and fragment in problems[0], problems


def test_a_timm_tower_from_the_hub_is_fine_when_the_workers_may_download_or_train_it_from_scratch(tiny_shards):
    assert config_problems(cfg(tiny_shards, **{"image.arch": "vit_tiny_patch16_224"}), hub_offline=False) == []
    assert config_problems(cfg(tiny_shards, **{"image.arch": "vit_tiny_patch16_224", "setup": "uu"})) == []


def test_the_demo_cells_pass(tiny_shards):
    evals = "zeroshot/fmnist-test,retrieval/emoji-heldout,zeroshot/fmnist-idx-test,retrieval/tuxpaint-stamps"
    assert Preflight().cells(cells(tiny_shards, 2, **{"eval.evals": evals, "data.dedup": "test"})) == []


@pytest.mark.parametrize("evals,fragment", [
    ("zeroshot/fmnist-test", "fmnist-test is a split of the demo shards, read from data.root="),
    ("retrieval/coco-captions", "reads your own copy: pass its path as root (a captions_*.json). Write it as "
                                "retrieval/coco-captions@/path/to/your/copy"),
    ("zeroshot/image-folder@/nonexistent/imagenet/val", "image folder not found: /nonexistent/imagenet/val. Check the "
                                                        "path after '@'"),
])
def test_an_evaluation_set_that_does_not_load_says_how_to_fix_the_spec(tmp_path, evals, fragment):
    problems = Preflight().eval_problems(cfg(tmp_path, **{"eval.evals": evals}))
    assert len(problems) == 1 and fragment in problems[0], problems


def test_the_default_evaluation_under_ones_own_data_root_points_at_the_fixes(tmp_path):
    (problem,) = Preflight().eval_problems(cfg(tmp_path))
    assert "Give its root: zeroshot/fmnist-test@" in problem and "(built by `make data`)" in problem
    assert "--set eval.evals=zeroshot/image-folder@/data/imagenet/val,retrieval/coco-captions@" in problem


def test_a_set_of_the_wrong_kind_names_the_evaluators_that_take_it(tiny_shards):
    (problem,) = Preflight().eval_problems(cfg(tiny_shards, **{"eval.evals": "zeroshot/emoji-heldout"}))
    assert problem == ("eval.evals: zeroshot/emoji-heldout: the zeroshot evaluator scores a LabelledEvalSet, and "
                       "emoji-heldout is a RetrievalSet; evaluators for it: retrieval")


def test_the_training_split_is_checked(tmp_path, tiny_shards):
    (problem,) = Preflight().data_problems(cfg(tmp_path))
    assert problem.startswith(f"no split folder {tmp_path}/train")
    assert Preflight().data_problems(cfg(tiny_shards)) == []
    (tmp_path / "train").mkdir()
    (problem,) = Preflight().data_problems(cfg(tmp_path))
    assert problem == f"no parquet shards in {tmp_path}/train (data.train='train' under data.root='{tmp_path}')"
    (problem,) = Preflight().data_problems(cfg("hdfs://namenode:8020/data"))  # storage that cannot be reached
    assert problem.startswith("data.root='hdfs://namenode:8020/data': ") and "\n" not in problem
    assert problem.endswith("(check the path, or for s3:// the AWS credentials and AWS_ENDPOINT_URL)")


def test_dedup_and_precompute_need_a_key_column(tiny_shards, tmp_path):
    (tmp_path / "nokey").mkdir()
    table = pq.read_table(next((tiny_shards / "train").glob("*.parquet"))).drop(["key"])
    pq.write_table(table, tmp_path / "nokey" / "part-00000.parquet")
    keyless = cfg(tmp_path, **{"data.train": "nokey"})
    assert Preflight().data_problems(keyless) == []  # training itself needs no key
    (problem,) = Preflight().data_problems(apply_overrides(keyless, {"data.dedup": "test", "train.precompute": True}))
    assert problem.startswith(f"data.dedup and train.precompute name rows by their 'key' column, and "
                              f"{tmp_path}/nokey has none")


def test_a_sweep_reads_each_split_and_each_evaluation_set_once(tiny_shards, monkeypatch):
    calls = {"split": 0, "set": 0}
    real_split, real_set = preflight.split_layout, preflight.load_set

    def split_layout(*args, **kwargs):
        calls["split"] += 1
        return real_split(*args, **kwargs)

    def load_set(*args, **kwargs):
        calls["set"] += 1
        return real_set(*args, **kwargs)

    monkeypatch.setattr(preflight, "split_layout", split_layout)
    monkeypatch.setattr(preflight, "load_set", load_set)
    evals = "zeroshot/fmnist-test,retrieval/emoji-heldout"
    assert Preflight().cells(cells(tiny_shards, 6, **{"eval.evals": evals})) == []
    assert calls == {"split": 1, "set": 2}


def test_problems_shared_by_cells_are_reported_once_naming_the_cells(tmp_path):
    grid = cells(tmp_path, 5, **{"eval.evals": "retrieval/coco-captions"})
    problems = Preflight().cells(grid)
    assert [len(p.cells) for p in problems] == [5, 5]
    text = report(problems, total=5)
    assert text.splitlines()[0] == "2 problems found before training (nothing was started):"
    assert text.splitlines()[1].startswith("  - all 5 cells: no split folder")
    some = Problem("x", ("a", "b", "c", "d", "e"))
    assert some.line(total=6) == "cells a, b, c and 2 more: x" and Problem("y", ("a",)).line(6) == "cell a: y"
    assert report([Problem("only one")], total=3) == "only one"


def test_cells_that_do_not_fit_the_cluster_are_named(tiny_shards):
    big = cells(tiny_shards, 1, **{"train.workers": 4, "train.cpus_per_worker": 1})
    (problem,) = fit_problems(big, [Node(cpus=2)])
    assert "asks for 5 CPUs (train.workers x train.cpus_per_worker, plus 1 for Ray Data) but the cluster has 2" in \
        problem.text
    gpu = cells(tiny_shards, 1, **{"train.workers": 1, "train.gpus_per_worker": 1})
    assert "asks for 1 GPU(s)" in fit_problems(gpu, [Node(cpus=8)])[0].text
    tiny_batch = cells(tiny_shards, 2, **{"data.batch_size": 1})  # workers sized from the node: 2
    (problem,) = fit_problems(tiny_batch, [Node(cpus=2)])
    assert problem.text.startswith("data.batch_size=1 is smaller than its 2 workers") and len(problem.cells) == 2
    assert fit_problems(cells(tiny_shards, 2), [Node(cpus=2)]) == []


def test_a_set_that_a_study_decides_is_a_problem_naming_the_study_and_the_ways_out():
    towers = Study("towers", {"setup": ("Lu", "uu"), "optim.steps": (60,)})
    text = Study("text", {"text.arch": ("t5_tiny",)}, fixed={"setup": "Lu"},
                 more=(Study("pretrained", {"setup": ("LU",)}),))
    loss = Study("loss", {"optim.loss": ("global", "local")})
    (steps,) = set_conflicts([towers], ["optim.steps"], [towers, text, loss])
    assert steps == ("--set optim.steps: study 'towers' sets optim.steps itself (axis 60), so its cells would ignore "
                     "your value; instead change the study's axis (the studies and the presets' axes are data in "
                     "experiments/design_grid.py), or pick some of its cells with --cell (ids: --dry-run), or run "
                     "studies that leave optim.steps to the base config: --study text / loss")
    (setup,) = set_conflicts([text], ["setup"], [towers, text, loss])
    assert "study 'text' sets setup itself (axis Lu, LU)" in setup and "--study loss" in setup
    assert set_conflicts([towers, loss], ["optim.lr", "data.root"], [towers, loss]) == []
