"""The Ray path end to end: design_grid.py -> Ray Tune -> TorchTrainer (2 workers) -> MLflow -> report.py, and the
MLflow UI showing the sweep. The sweep runs twice: as it is, then resumed with --seeds 2, which adds one replicate per
cell beside the finished runs; the report aggregates each setting's replicates.

Real local Ray cluster processes, a real sqlite MLflow store, real shards of emoji and Fashion-MNIST; for the UI, an
`mlflow server` on that store on a free loopback port and Chromium (Debian package `chromium`, installed by
`make test`) running the UI's JavaScript: the tests read the DOM it rendered. The compare view is the page
researchers use to put cells side by side, so that is the page checked.
"""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from servers import free_port, start_mlflow, stop
from tiny_runs import TINY

pytestmark = pytest.mark.system
# Six steps teach a locked tower's text side what it is scored on only when tuning and evaluation share their
# concepts: the sweep tunes on train-fmnist (Fashion-MNIST train pairs) and is tagged so. Transfer at this budget
# has no signal (see the README's protocol section), so it could not back the learning claim below.
IN_DISTRIBUTION = ["--set", "data.train=train-fmnist", "--set", "eval.protocol=in-distribution",
                   "--set", "eval.templates=simple"]


@pytest.fixture(scope="module")
def sweep(tiny_shards, tmp_path_factory, monkeypatch_module):
    """The smoke sweep, its console (what design_grid.py printed for people) kept in <tmp>/console.txt."""
    import design_grid

    tmp = tmp_path_factory.mktemp("sweep")
    monkeypatch_module.setenv("LITLAB_LOG_DIR", str(tmp / "logs"))
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    args = ["--preset", "smoke", "--sweep", "sys-smoke", "--mlflow-uri", uri, "--storage", str(tmp / "ray"),
            "--set", f"data.root={tiny_shards}", *IN_DISTRIBUTION]
    for s in TINY:
        args += ["--set", s]
    console = io.StringIO()
    try:
        with contextlib.redirect_stdout(console):  # the first invocation's console (the second resumes it)
            first = design_grid.main(args)
        codes = first, design_grid.main([*args, "--seeds", "2"])
    finally:
        from litlab.cluster.session import shutdown

        shutdown()
        (tmp / "console.txt").write_text(console.getvalue())
    return codes, uri, tmp


def _first_seed(runs: list[dict]) -> list[dict]:
    """The runs of the cells' own seed (the first invocation's), one per setting."""
    return [r for r in runs if r["tags"]["cell"] == r["tags"]["replicate_group"]]


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_both_cells_finish_with_metrics_in_mlflow(sweep):
    from litlab.cluster.tracking import client, fetch_cell_runs

    codes, uri, _ = sweep
    assert codes == (0, 0)
    runs = fetch_cell_runs(uri, "sys-smoke")
    assert sorted(r["tags"]["setup"] for r in _first_seed(runs)) == ["Lu", "uu"]
    for r in runs:
        assert r["status"] == "FINISHED"
        assert r["params"]["optim.steps"] == "6" and r["params"]["setup"] == r["tags"]["setup"]
        # train.workers=0 (the default), sized from this cluster's one node of 2 CPUs (litlab.sizing.auto_train)
        assert (r["params"]["train.workers"], r["params"]["train.cpus_per_worker"]) == ("2", "0.5")
        steps = [m.step for m in client(uri).get_metric_history(r["run_id"], "train/loss")]
        assert steps == [2, 4, 6]  # every logged step once, from rank 0 only
        evals = [m.step for m in client(uri).get_metric_history(r["run_id"], "zeroshot/fmnist-test/top1")]
        assert evals == [4, 6]  # eval.every=4 during training, then the final evaluation
        assert r["tags"]["config_hash"] and r["tags"]["mlflow.parentRunId"]
        artifacts = [a.path for a in client(uri).list_artifacts(r["run_id"], "checkpoint")]
        assert artifacts == ["checkpoint/model.pt"] and "config.json" in [
            a.path for a in client(uri).list_artifacts(r["run_id"])]


def test_seeds_add_a_replicate_beside_each_finished_run_tagged_with_its_group(sweep):
    from litlab.cluster.tracking import client, fetch_cell_runs

    _, uri, _ = sweep
    runs = fetch_cell_runs(uri, "sys-smoke")
    # the resumed invocation skipped the finished seed-0 cells (one run each) and ran only the new replicates
    assert sorted(r["tags"]["cell"] for r in runs) == ["setup=Lu", "setup=Lu,seed=1", "setup=uu", "setup=uu,seed=1"]
    for r in runs:
        assert r["status"] == "FINISHED"
        assert r["tags"]["replicate_group"] == f"setup={r['tags']['setup']}"
        assert r["params"]["train.seed"] == r["tags"]["seed"] == ("1" if "seed=" in r["tags"]["cell"] else "0")
    lu = [r for r in runs if r["tags"]["setup"] == "Lu"]
    losses = [[m.value for m in client(uri).get_metric_history(r["run_id"], "train/loss")] for r in lu]
    assert losses[0] != losses[1]  # the seed reached the run: init and data order differ


def _untrained_scores(uri: str, run: dict, folder) -> dict[str, float]:
    """The run's model as its worker built it before step 1 (same config, same seed), scored by the same suite."""
    from litlab.cluster.tracking import client
    from litlab.config import from_dict
    from litlab.evaluators.suite import suite_for
    from litlab.models.build import build_model

    path = client(uri).download_artifacts(run["run_id"], "config.json", str(folder))
    cfg = from_dict(json.loads(Path(path).read_text()))
    return suite_for(cfg)(build_model(cfg))


def test_lu_learns_within_its_six_steps(sweep, tmp_path):
    """What 6 steps of 16 pairs achieve with a locked pretrained image tower. Measured over 8 such Lu runs (seeds
    0-3, Ray Data's block order differing run to run): train/loss fell by 0.18-0.51 from step 2 to step 6, and
    zero-shot mean per-class recall reached 0.13-0.39 against 0.04 for the untrained model at seed 0. The uu
    cell learns nothing measurable at this budget (loss 2.7-2.9 throughout, top-1 0.08-0.12), so it has no claim."""
    from litlab.cluster.tracking import client, fetch_cell_runs

    _, uri, _ = sweep
    lu = next(r for r in fetch_cell_runs(uri, "sys-smoke") if r["tags"]["cell"] == "setup=Lu")
    loss = [m.value for m in client(uri).get_metric_history(lu["run_id"], "train/loss")]  # steps 2, 4, 6
    assert loss[-1] < loss[0], loss
    before = _untrained_scores(uri, lu, tmp_path)["zeroshot/fmnist-test/mean_per_class_recall"]
    after = lu["metrics"]["zeroshot/fmnist-test/mean_per_class_recall"]
    assert after > before, (after, before)


def test_runs_record_their_protocol_and_the_sweep_what_tuning_and_evaluation_share(sweep, tmp_path):
    from litlab.cluster.tracking import client, fetch_cell_runs

    _, uri, _ = sweep
    assert {r["tags"]["protocol"] for r in fetch_cell_runs(uri, "sys-smoke")} == {"in-distribution"}
    c = client(uri)
    parent = c.search_runs([c.get_experiment_by_name("sys-smoke").experiment_id], "tags.kind = 'sweep'")[0]
    table = Path(c.download_artifacts(parent.info.run_id, "coverage/coverage.md", str(tmp_path))).read_text()
    assert "| `zeroshot/fmnist-test` | fashion-mnist |" in table and "all tuning captions" in table
    assert json.loads(Path(c.download_artifacts(parent.info.run_id, "coverage/coverage.json", str(tmp_path)))
                      .read_text())["train"]["split"] == "train-fmnist"


def test_report_aggregates_each_settings_replicates_into_one_row(sweep, tmp_path, capsys):
    from ablations import report

    _, uri, _ = sweep
    assert report.main(["--sweep", "sys-smoke", "--mlflow-uri", uri, "--out", str(tmp_path)]) == 0
    table = (tmp_path / "sys-smoke" / "towers.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| Lu") or line.startswith("| uu")]
    assert len(rows) == 2 and "70.1 (Table 2" in rows[0]
    assert all(" ± " in r and "(n=2)" in r for r in rows), rows  # mean ± 95 % t interval over the 2 seeds
    assert "(fmnist-test; chance 10.0" in table  # the chance level the evaluator logged
    check = next(line for line in table.splitlines() if line.startswith("- Order check"))
    assert re.search(r"Lu > uu: (agrees|disagrees|inconclusive) \[Lu .* \(Welch t, p.*α=0\.05; n=2/2\)", check) \
        or "no signal, not tested" in check, check  # a test over the seeds, never two point values
    header = next(line for line in (tmp_path / "sys-smoke" / "towers.csv").read_text().splitlines())
    assert "ours 0-shot top-1 % (fmnist-test; chance 10.0" in header and header.count(" low,") >= 1
    assert "4 cell run(s), 4 planned cell(s) in 2 setting(s)" in capsys.readouterr().out


def test_report_on_a_missing_sweep_is_a_clear_error(sweep, capsys):
    from ablations import report

    _, uri, _ = sweep
    assert report.main(["--sweep", "nope", "--mlflow-uri", uri]) == 2
    assert "no MLflow experiment 'nope'" in capsys.readouterr().err


def test_evaluate_cli_scores_a_trained_checkpoint_into_mlflow(sweep, capsys):
    from litlab import evaluate
    from litlab.cluster.tracking import CHECKPOINTS_TAG, client, fetch_cell_runs

    _, uri, tmp = sweep
    lu = next(r for r in fetch_cell_runs(uri, "sys-smoke") if r["tags"]["cell"] == "setup=Lu")
    # Lu's own checkpoints: its folder in its pack's Train run (the run's tag), not every folder of that pack (the
    # pack's name carries its first cell's run id, and Lu and uu share one pack)
    ckpts = sorted(Path(lu["tags"][CHECKPOINTS_TAG]).rglob("model.pt"))
    assert ckpts and all(lu["run_id"] in str(p) for p in ckpts), sorted((tmp / "ray").rglob("model.pt"))
    args = ["--checkpoint", str(ckpts[-1].parent), "--mlflow-uri", uri]
    assert evaluate.main([*args, "--evals", "zeroshot/fmnist-test"]) == 0  # a new run in 'evaluations'
    new = client(uri).search_runs([client(uri).get_experiment_by_name("evaluations").experiment_id])[0]
    assert new.data.tags["training_run"] == lu["run_id"]
    # the model is the trained one: same score as the training run's final evaluation
    assert new.data.metrics["zeroshot/fmnist-test/top1"] == lu["metrics"]["zeroshot/fmnist-test/top1"]
    assert evaluate.main([*args, "--into-training-run", "--evals", "zeroshot/fmnist-test"]) == 2
    err = capsys.readouterr().err
    assert "already has chance/zeroshot/fmnist-test/mean_per_class_recall," in err  # the facts beside the scores
    assert "zeroshot/fmnist-test/mean_per_class_recall, zeroshot/fmnist-test/top1," in err
    assert "at step 6" in err
    assert evaluate.main([*args, "--into-training-run", "--evals", "retrieval/emoji-heldout"]) == 0
    history = client(uri).get_metric_history(lu["run_id"], "retrieval/emoji-heldout/t2i_r5")
    assert [m.step for m in history] == [6]


# ---------------------------------------------------------------- the MLflow UI, in headless Chromium


@pytest.fixture(scope="module")
def ui(sweep):
    _, uri, tmp = sweep
    port = free_port()
    server = start_mlflow(port, uri, tmp / "mlflow-ui.log", timeout=120)
    try:
        yield f"http://127.0.0.1:{port}", uri
    finally:
        stop(server, timeout=30)


def _render(url: str, budget_ms: int = 30000) -> str:
    """The page's text after Chromium ran its JavaScript (tags stripped)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("Chromium is not installed: `make test` installs the Debian package `chromium`")
    out = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=2400,1600",
                          f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<style[^<]*</style>", " ", out.stdout))
    return re.sub(r"\s+", " ", html.unescape(text).replace("\xa0", " "))


def _shown(value: float) -> set[str]:
    """The ways the UI may print a metric (it rounds for display)."""
    return {f"{value:.3f}".rstrip("0").rstrip("."), f"{value:.4g}", f"{value:.3g}"}


def test_compare_view_lists_every_cell_with_params_and_metrics(ui):
    from litlab.cluster.tracking import client, fetch_cell_runs

    url, uri = ui
    runs = _first_seed(fetch_cell_runs(uri, "sys-smoke"))  # one per setting: the columns below are Lu and uu
    experiment = client(uri).get_experiment_by_name("sys-smoke").experiment_id
    query = urllib.parse.urlencode({"runs": json.dumps([r["run_id"] for r in runs]),
                                    "experiments": json.dumps([experiment])})
    text = _render(f"{url}/#/compare-runs?{query}")
    start, end = "Parameters Show diff only", "Metrics Show diff only"  # the compare table's two sections
    assert start in text and end in text, text[-3000:]
    for r in runs:
        assert r["tags"]["cell"] in text  # the cell id, shown in the run names and the cell tag
    params = text[text.index(start):text.index(end)]
    assert re.search(r" setup (Lu uu|uu Lu) ", params), params[:3000]  # one column per cell
    assert "optim.steps 6 6" in params and "image.size 32 32" in params
    metrics = text[text.index(end):]
    # The compare table renders its first 17 metric rows, alphabetically, whatever the window (measured with
    # MLflow 3.17.2); the rest scroll into view. The live per-attempt copies (attempt.1/...) and the chance levels
    # sort first, so the check reads, of those first rows, the first whose values differ between the cells.
    first = sorted(set.intersection(*(set(r["metrics"]) for r in runs)))[:17]
    # a value, not a time stamp (epoch seconds, which the UI abbreviates)
    name = next((k for k in first if len({r["metrics"][k] for r in runs}) > 1 and "time/" not in k), first[0])
    assert name in metrics, (name, metrics[:2000])
    for r in runs:
        value = r["metrics"][name]
        assert any(v in metrics for v in _shown(value)), (name, value, metrics[:2000])


def _screenshot(url: str, path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    out = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000",
                          "--virtual-time-budget=60000", f"--screenshot={path}", url],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and path.stat().st_size > 0, out.stderr[-2000:]


def test_the_printed_address_opens_on_every_cell_and_a_zero_shot_chart(ui, sweep):
    """A new user's path: the address design_grid.py printed (its host swapped for this test's server) opens the
    runs page with every cell listed beside the zero-shot charts, one line per cell; a screenshot (a 1600x1000
    window, what the user sees first) is kept in $LITLAB_TEST_ARTIFACTS (default: test-artifacts/ in the
    repository)."""
    from litlab.cluster.tracking import fetch_cell_runs

    url, uri = ui
    _, _, tmp = sweep
    printed = re.search(r"compare the cells in MLflow: (\S+)", (tmp / "console.txt").read_text())
    assert printed, (tmp / "console.txt").read_text()
    address = url + "/#/" + printed.group(1).split("/#/", 1)[1]
    metric = "zeroshot/fmnist-test/top1"  # the smoke preset's first zero-shot evaluation: the headline
    text = _render(address, budget_ms=60000)
    assert f"Sort: {metric}" in text, text[:3000]  # the shared view's sort: the cells listed flat, best first
    for r in fetch_cell_runs(uri, "sys-smoke"):  # each cell a row, and a line in the zero-shot chart
        assert f"{r['tags']['cell']} ({metric})" in text, text[:3000]
    assert f"(attempt.1/{metric})" not in text  # the live per-attempt copies are filtered out: zero-shot comes first
    folder = Path(os.environ.get("LITLAB_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    _screenshot(address, folder / "mlflow-sweep-compare.png")


# ---------------------------------------------------------------- what the console showed, and the front page


def test_the_console_shows_each_update_once_and_the_log_file_holds_the_rest(sweep):
    from litlab.cluster.tracking import fetch_cell_runs

    _, uri, tmp = sweep
    lines = (tmp / "console.txt").read_text().splitlines()  # the first invocation's: 2 cells, 1 seed
    # 2 cells x (start, 2 steps, end, sweep line) + the sweep's header, report and address
    assert len(lines) <= 22, "\n".join(lines)
    for r in _first_seed(fetch_cell_runs(uri, "sys-smoke")):
        cell = r["tags"]["cell"]
        for step, times in ((2, 1), (4, 1), (6, 0)):  # the last step's line would only precede the end line
            shown = [line for line in lines if re.match(rf"\[\d/2 {re.escape(cell)}\] step {step}/6 ", line)]
            assert len(shown) == times, (cell, step, lines)
        assert sum(f"{cell}] started" in line for line in lines) == 1
        assert sum(re.match(rf"\[\d/2 {re.escape(cell)}\] finished in \S+: .*zeroshot/", line) is not None
                   for line in lines) == 1, lines
    assert re.search(r"^sweep: 2/2 done, 0 running, 0 failed; \S+ elapsed, ETA 0s$", "\n".join(lines), re.M)
    assert not [line for line in lines if "pid=" in line or "Trial status" in line]  # Ray's and Tune's: logged
    log = Path(re.search(r"^log: (\S+) ", "\n".join(lines), re.M).group(1))
    assert log.parent == tmp / "logs" and "Trial status" in log.read_text()  # Tune's tables


def test_the_parent_run_is_the_sweeps_front_page(sweep, tmp_path):
    from litlab.cluster.front_page import sweep_run
    from litlab.cluster.tracking import client, fetch_cell_runs

    _, uri, _ = sweep
    c = client(uri)
    experiment_id, parent = sweep_run(uri, "sys-smoke")
    report = {a.path for a in c.list_artifacts(parent, "report")}
    assert {"report/report.md", "report/towers.md", "report/towers.csv", "report/towers.tex",
            "report/towers.png"} <= report, report
    assert "| Lu" in Path(c.download_artifacts(parent, "report/towers.md", str(tmp_path))).read_text()
    assert [a.path for a in c.list_artifacts(parent, "logs")][0].endswith(".log")
    table = json.loads(Path(c.download_artifacts(parent, "cells.json", str(tmp_path))).read_text())
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["data"]]
    runs = {r["run_id"]: r for r in fetch_cell_runs(uri, "sys-smoke")}
    assert sorted(row["run_id"] for row in rows) == sorted(runs)
    for row in rows:
        expected = runs[row["run_id"]]["metrics"]["zeroshot/fmnist-test/top1"]
        assert row["zeroshot/fmnist-test/top1"] == pytest.approx(expected, rel=1e-6)  # the table keeps 10 digits
    note = c.get_run(parent).data.tags["mlflow.note.content"]
    assert "**Sweep `sys-smoke`**: preset `smoke`" in note and f"#/experiments/{experiment_id}/runs?" in note
    tags = c.get_experiment(experiment_id).tags
    assert tags["mlflow.note.content"] == note
    assert json.loads(tags["mlflow.sharedViewState.litlab-compare"])["orderByKey"] == \
        "metrics.`zeroshot/fmnist-test/top1`"
