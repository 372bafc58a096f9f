"""The Ray path end to end: design_grid.py -> Ray Tune -> TorchTrainer (2 workers) -> MLflow -> report.py.

Real local Ray cluster processes, a real sqlite MLflow store, real shards of emoji and Fashion-MNIST.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.system

TINY = ["image.size=32", "optim.steps=6", "optim.warmup_steps=2", "data.batch_size=16", "eval.max_images=100",
        "train.log_every=2", "eval.every=4"]


@pytest.fixture(scope="module")
def sweep(tiny_shards, tmp_path_factory):
    import design_grid

    tmp = tmp_path_factory.mktemp("sweep")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    args = ["--preset", "smoke", "--sweep", "sys-smoke", "--mlflow-uri", uri, "--storage", str(tmp / "ray"),
            "--set", f"data.root={tiny_shards}"]
    for s in TINY:
        args += ["--set", s]
    try:
        code = design_grid.main(args)
    finally:
        from litlab.cluster.session import shutdown

        shutdown()
    return code, uri, tmp


def test_both_cells_finish_with_metrics_in_mlflow(sweep):
    from litlab.cluster.tracking import client, fetch_cell_runs

    code, uri, _ = sweep
    assert code == 0
    runs = fetch_cell_runs(uri, "sys-smoke")
    assert sorted(r["tags"]["setup"] for r in runs) == ["Lu", "uu"]
    for r in runs:
        assert r["status"] == "FINISHED"
        assert r["params"]["optim.steps"] == "6" and r["params"]["setup"] == r["tags"]["setup"]
        assert 0.0 <= r["metrics"]["zeroshot/fmnist-test/top1"] <= 1.0
        steps = [m.step for m in client(uri).get_metric_history(r["run_id"], "train/loss")]
        assert steps == [2, 4, 6]  # every logged step once, from rank 0 only
        evals = [m.step for m in client(uri).get_metric_history(r["run_id"], "zeroshot/fmnist-test/top1")]
        assert evals == [4, 6]  # eval.every=4 during training, then the final evaluation
        assert r["tags"]["config_hash"] and r["tags"]["mlflow.parentRunId"]
        artifacts = [a.path for a in client(uri).list_artifacts(r["run_id"], "checkpoint")]
        assert artifacts == ["checkpoint/model.pt"] and "config.json" in [
            a.path for a in client(uri).list_artifacts(r["run_id"])]


def test_report_prints_one_row_per_setup(sweep, tmp_path, capsys):
    import report

    _, uri, _ = sweep
    assert report.main(["--sweep", "sys-smoke", "--mlflow-uri", uri, "--out", str(tmp_path)]) == 0
    table = (tmp_path / "sys-smoke" / "towers.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| Lu") or line.startswith("| uu")]
    assert len(rows) == 2 and "70.1 (Table 2" in rows[0]


def test_report_on_a_missing_sweep_is_a_clear_error(sweep, capsys):
    import report

    _, uri, _ = sweep
    assert report.main(["--sweep", "nope", "--mlflow-uri", uri]) == 2
    assert "no MLflow experiment 'nope'" in capsys.readouterr().err


def test_evaluate_cli_scores_a_trained_checkpoint_into_mlflow(sweep, capsys):
    from litlab import evaluate
    from litlab.cluster.tracking import client, fetch_cell_runs

    _, uri, tmp = sweep
    lu = next(r for r in fetch_cell_runs(uri, "sys-smoke") if r["tags"]["setup"] == "Lu")
    ckpts = [p for p in sorted((tmp / "ray").rglob("model.pt")) if lu["run_id"][:8] in str(p)]
    assert ckpts, sorted((tmp / "ray").rglob("model.pt"))
    args = ["--checkpoint", str(ckpts[-1].parent), "--mlflow-uri", uri]
    assert evaluate.main([*args, "--evals", "zeroshot/fmnist-test"]) == 0  # a new run in 'evaluations'
    new = client(uri).search_runs([client(uri).get_experiment_by_name("evaluations").experiment_id])[0]
    assert new.data.tags["training_run"] == lu["run_id"]
    # the model is the trained one: same score as the training run's final evaluation
    assert new.data.metrics["zeroshot/fmnist-test/top1"] == lu["metrics"]["zeroshot/fmnist-test/top1"]
    assert evaluate.main([*args, "--into-training-run", "--evals", "zeroshot/fmnist-test"]) == 2
    err = capsys.readouterr().err
    assert "already has zeroshot/fmnist-test/mean_per_class_recall, zeroshot/fmnist-test/top1," in err
    assert "at step 6" in err
    assert evaluate.main([*args, "--into-training-run", "--evals", "retrieval/emoji-heldout"]) == 0
    history = client(uri).get_metric_history(lu["run_id"], "retrieval/emoji-heldout/t2i_r5")
    assert [m.step for m in history] == [6]
