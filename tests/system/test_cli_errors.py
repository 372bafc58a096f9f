"""Bad configs fail at once, before any Ray or MLflow work, with one line naming the bad value and the valid ones."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system
SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "design_grid.py"
# runs the script as `python design_grid.py ARGS` would, then reports on stdout whether ray or mlflow was imported
PROBE = f"""
import runpy, sys
sys.argv = [{str(SCRIPT)!r}, *sys.argv[1:]]
try:
    runpy.run_path({str(SCRIPT)!r}, run_name="__main__")
except SystemExit as done:
    print("imported:", sorted(m for m in ("ray", "mlflow") if m in sys.modules))
    raise
"""


@pytest.mark.parametrize("args,expected", [
    (["--set", "optim.lrr=1"], "unknown config key 'optim.lrr' (did you mean 'optim.lr'?)"),
    (["--set", "image.arch=resnet_typo"], "unknown image tower 'resnet_typo'"),
    (["--set", "text.arch=bert"], "unknown text tower 'bert'"),
    (["--preset", "nope"], "unknown preset 'nope'; valid: smoke"),
    (["--study", "towerz"], "unknown study 'towerz'; valid: towers"),
    (["--cell", "setup=LU"], "unknown cell 'setup=LU'; valid: setup=Lu, setup=uu"),
    (["--set", "eval.evals=zeroshot/fmnist-tset"], "eval.evals: unknown evaluation set 'fmnist-tset'"),
    (["--set", "data.root=/nonexistent/shards"], "no training shards under data.root='/nonexistent/shards'"),
])
def test_bad_input_fails_fast(args, expected):
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert expected in out.stderr and out.stderr.startswith("error: ")
    assert len(out.stderr.strip().splitlines()) == 1
    assert out.stdout.strip().splitlines()[-1] == "imported: []"  # failed before Ray or MLflow was even imported
