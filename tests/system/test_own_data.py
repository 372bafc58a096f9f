"""Your own data, end to end: a dataset made by img2dataset (tests/system/img2dataset_data.py, broken entries
included) trains through the design grid as it is (parquet output: failed rows skipped and counted in MLflow) or
after the one build the preflight prints (webdataset output); an evaluation set found missing after the last step
fails its run at once, with one attempt, where a fault would have been retried.

One local Ray cluster serves the module (started by the first test that trains, stopped at the end); real
img2dataset, real HTTP on loopback, real Ray Train and a real sqlite MLflow store.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import img2dataset_data
import pyarrow.parquet as pq
import pytest
from tiny_runs import TINY

pytestmark = pytest.mark.system
REPO = Path(__file__).resolve().parents[2]
GOOD = 48  # real rows downloaded; img2dataset_data.BROKEN adds 3 more entries


@pytest.fixture(scope="module")
def own(tiny_shards, tmp_path_factory) -> dict:
    """{root, parquet, webdataset, uri, storage, evals}: img2dataset's outputs as splits under one data root."""
    from litlab.data.shards import iter_rows

    root = tmp_path_factory.mktemp("own")
    rows = [r for _, r in zip(range(GOOD), iter_rows(tiny_shards / "train", ["jpg", "txt"]), strict=False)]
    folders = img2dataset_data.make(rows, root)
    return {"root": root, **folders, "uri": f"sqlite:///{root / 'mlflow.db'}", "storage": str(root / "ray"),
            "evals": f"zeroshot/fmnist-test@{tiny_shards}"}


@pytest.fixture(scope="module")
def ray_cluster():
    from litlab.cluster.session import connect, shutdown

    connect(num_cpus=2)
    yield
    shutdown()


def grid(own: dict, sweep: str, *sets: str, dry_run: bool = False) -> int:
    import design_grid

    args = ["--preset", "smoke", "--cell", "setup=Lu", "--sweep", sweep, "--mlflow-uri", own["uri"],
            "--storage", own["storage"], *(["--dry-run"] if dry_run else [])]
    sets = (f"data.root={own['root']}", f"eval.evals={own['evals']}", *TINY, *sets)
    return design_grid.main(args + [a for s in sets for a in ("--set", s)])


def test_img2dataset_output_is_what_its_status_says(own):
    table = pq.read_table(sorted(own["parquet"].glob("*.parquet"))).to_pydict()
    assert Counter(table["status"]) == {"success": GOOD + 1, **{k: v for k, v in img2dataset_data.BROKEN.items()
                                                                   if k.startswith("failed")}}
    assert sum(j is None for j in table["jpg"]) == 2 and table["caption"].count("") == 1
    assert sorted(p.suffix for p in own["webdataset"].iterdir() if p.suffix == ".tar")  # tars, and no images in
    assert "jpg" not in pq.read_schema(next(own["webdataset"].glob("*.parquet"))).names  # its parquet


def test_parquet_output_trains_as_it_is_and_counts_the_rows_it_skips(own, ray_cluster):
    from litlab.cluster.tracking import client, fetch_cell_runs

    assert grid(own, "own-parquet", "data.train=i2d", "eval.every=0") == 0
    (run,) = fetch_cell_runs(own["uri"], "own-parquet")
    assert run["status"] == "FINISHED" and "zeroshot/fmnist-test/top1" in run["metrics"]
    # 6 steps x 16 rows = 96 > 51 rows: every row was decoded at least once, each skipped row counted
    for reason, n in {"no_image": 2, "empty_caption": 1}.items():
        history = client(own["uri"]).get_metric_history(run["run_id"], f"data/skipped/{reason}")
        assert history and history[-1].value >= n, (reason, history)


def test_webdataset_output_gets_the_one_line_build_then_trains(own, ray_cluster, capsys):
    from litlab.cluster.tracking import fetch_cell_runs

    assert grid(own, "own-wds", "data.train=i2d-wds", dry_run=True) == 2
    err = capsys.readouterr().err
    command = re.search(r"`(python -m litlab\.cluster\.build_shards webdataset --input \S+ --out \S+)`", err)
    assert command and "then --set data.train=i2d-wds-shards" in err, err
    words = command.group(1).split()
    subprocess.run([sys.executable, *words[1:]], check=True, cwd=REPO, capture_output=True)  # as printed
    assert grid(own, "own-wds", "data.train=i2d-wds-shards", "optim.steps=2", "eval.every=0") == 0
    (run,) = fetch_cell_runs(own["uri"], "own-wds")
    assert run["status"] == "FINISHED" and run["metrics"]["data/build_skipped/empty_caption"] == 1


def test_an_evaluation_set_missing_at_the_end_fails_the_run_at_once(own, ray_cluster):
    """Without the preflight (fit_cell directly), the evaluation after the last step does not find its set: a
    DataError, one attempt, though train.max_failures allows two restarts (a fault would use them)."""
    from litlab.cluster.packs import fit_cell
    from litlab.cluster.tracking import cell_tags, client, create_cell_run, ensure_experiment
    from litlab.config import RunConfig, apply_overrides
    from litlab.errors import DataError
    from ray.util.state import list_actors

    cfg = apply_overrides(RunConfig(), {"data.root": str(own["root"]), "data.train": "i2d", "image.size": 32,
                                        "text.arch": "transformer_tiny", "optim.steps": 3, "data.batch_size": 16,
                                        "train.log_every": 1, "train.max_failures": 2, "train.workers": 1,
                                        "eval.evals": "zeroshot/image-folder@/nonexistent/imagenet/val"})
    run_id = create_cell_run(own["uri"], ensure_experiment(own["uri"], "own-late"), cfg,
                             cell_tags(cfg, "late", ("late",), "own-late"))
    workers = {a.actor_id for a in list_actors(filters=[("class_name", "=", "RayTrainWorker")], limit=10_000)}
    with pytest.raises(DataError, match=r"eval.evals: zeroshot/image-folder@/nonexistent/imagenet/val: image folder "
                                        r"not found: /nonexistent/imagenet/val. Check the path after '@'"):
        fit_cell(cfg, name="own-late", storage=own["storage"], tracking_uri=own["uri"], run_id=run_id)
    started = {a.actor_id for a in list_actors(filters=[("class_name", "=", "RayTrainWorker")], limit=10_000)}
    assert len(started - workers) == 1  # one worker started: one attempt
    # it trained to the end before the evaluation failed (a run that does not finish keeps its values live, under
    # the attempt's name: litlab.cluster.history)
    steps = [m.step for m in client(own["uri"]).get_metric_history(run_id, "attempt.1/train/loss")]
    assert steps == [1, 2, 3]
