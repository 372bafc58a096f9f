"""Bad input fails before anything trains: design_grid.py's preflight reports every problem at once, each naming the
bad value and the fix, exits with 2 and starts no Ray. In-process (design_grid.main), the data root the tiny demo
shards, the MLflow store and checkpoint storage in the test's folder, so each case holds only its own mistake."""

import pytest

pytestmark = pytest.mark.system


@pytest.fixture
def run(tiny_shards, tmp_path, capsys):
    import design_grid
    import ray

    def main(*args: str) -> tuple[int, list[str]]:
        base = ["--dry-run", "--mlflow-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--storage", str(tmp_path / "ray"),
                "--set", f"data.root={tiny_shards}"]
        code = design_grid.main([*base, *args])
        out = capsys.readouterr()
        assert not ray.is_initialized()  # nothing started
        return code, out.err.strip().splitlines() if code else out.out.strip().splitlines()

    return main


@pytest.mark.parametrize("args,expected", [
    (["--set", "optim.lrr=1"], "unknown config key 'optim.lrr' (did you mean 'optim.lr'?)"),
    (["--preset", "nope"], "unknown preset 'nope'; valid: smoke"),
    (["--study", "towerz"], "unknown study 'towerz'; valid: towers"),
    (["--cell", "setup=LU"], "unknown cell 'setup=LU'; valid: setup=Lu, setup=uu"),
    (["--set", "image.arch=resnet_typo"], "all 2 cells: unknown image tower 'resnet_typo'"),
    (["--set", "text.arch=bert"], "all 2 cells: unknown text tower 'bert'"),
    (["--set", "eval.evals=zeroshot/fmnist-tset"], "all 2 cells: eval.evals: unknown evaluation set 'fmnist-tset'"),
    (["--set", "eval.evals=zeroshot/image-folder@/nonexistent/val"],
     "all 2 cells: eval.evals: zeroshot/image-folder@/nonexistent/val: image folder not found: /nonexistent/val. "
     "Check the path after '@'"),
    (["--set", "data.train=nope"], "all 2 cells: no split folder "),
    (["--set", "setup=LU"], "--set setup: study 'towers' sets setup itself (axis Lu, uu), so its cells would ignore "
                            "your value; instead change the study's axis"),
    (["--preset", "paper-small", "--study", "towers", "--set", "optim.steps=100"],
     "--set optim.steps: study 'towers' sets optim.steps itself (axis 60)"),
    (["--set", "train.workers=3", "--set", "train.cpus_per_worker=1"], "asks for 4 CPUs"),
])
def test_one_mistake_is_one_line_naming_it(run, args, expected):
    code, lines = run(*args)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), lines
    assert expected in lines[0], lines


def test_every_problem_is_reported_together(run, tmp_path):
    code, lines = run("--set", f"data.root={tmp_path / 'mine'}", "--set", "image.arch=resnet_typo",
                      "--mlflow-uri", "http://127.0.0.1:9", "--storage", "relative/ray")
    assert code == 2 and lines[0] == "error: 5 problems found before training (nothing was started):", lines
    assert [line.split(":")[0] for line in lines[1:]] == [
        "  - all 2 cells", "  - all 2 cells", "  - all 2 cells", "  - MLflow at http", "  - --storage relative/ray"]
    assert "unknown image tower" in lines[1] and "no split folder" in lines[2] and "fmnist-test" in lines[3]


def test_a_clean_dry_run_lists_the_cells_sized_for_this_machine(run):
    code, lines = run()
    assert code == 0 and [line.split()[0] for line in lines[:2]] == ["setup=Lu", "setup=uu"]
    assert lines[2].startswith("2 cells, 1 trial(s) at a time; preflight passed (2 workers x 0.5 CPU")
