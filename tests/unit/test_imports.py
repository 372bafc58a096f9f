"""Architecture rules: only litlab.cluster imports ray or mlflow; no platform/__init__.py; every script's docstring
gives a command that runs it, with options it accepts."""

import ast
import re
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "platform" / "litlab" / "cluster"
SOURCES = [p for d in ("platform", "experiments", "ablations") for p in (REPO / d).rglob("*.py")]


def imported_roots(path: Path, top_level: bool = False) -> set[str]:
    """The packages a module imports anywhere, or (``top_level``) when it is imported: not in its functions."""
    tree = ast.parse(path.read_text())
    roots = set()
    for node in tree.body if top_level else ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


PLAIN = [p for p in SOURCES if CLUSTER not in p.parents]
SCRIPTS = [p for p in sorted((REPO / "experiments").rglob("*.py")) + [REPO / "ablations" / "report.py"]
           if 'if __name__ == "__main__":' in p.read_text()]
OTHER_PROGRAMS = ("ray ", "make ", "pip ", "docker ", "kubectl ", "mlflow ")  # docstring lines running them


@pytest.mark.parametrize("path", PLAIN, ids=lambda p: str(p.relative_to(REPO)))
def test_only_cluster_imports_ray_or_mlflow(path):
    assert not imported_roots(path) & {"ray", "mlflow"}, f"{path} imports ray/mlflow; move that code to litlab.cluster"


SCIPY_HOME = REPO / "platform" / "litlab" / "stats" / "dist.py"


@pytest.mark.parametrize("path", [p for p in SOURCES if p.is_relative_to(REPO / "platform") and p != SCIPY_HOME],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_scipy_is_imported_on_first_use_only(path):
    # every Train worker imports litlab.stats (chance levels): scipy.stats at import time cost each ~0.45 CPU-s
    assert "scipy" not in imported_roots(path, top_level=True), f"{path}: use litlab.stats.dist (scipy on first use)"


def test_no_platform_package():
    assert not (REPO / "platform" / "__init__.py").exists()


def accepted_options(tree: ast.Module) -> set[str]:
    """The option strings of every ``add_argument(...)`` call in a script (argparse adds --help)."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "add_argument"]
    return {"--help"} | {a.value for c in calls for a in c.args if isinstance(a, ast.Constant) and a.value[:1] == "-"}


def documented_runs(doc: str) -> list[list[str]]:
    """Each ``python <script> [args]`` command in a docstring, as argv (a trailing # comment dropped)."""
    return [shlex.split(line.split("python ", 1)[1].split(" #")[0]) for line in doc.splitlines() if "python " in line]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_every_script_documents_a_command_that_runs_it_with_options_it_accepts(path):
    tree = ast.parse(path.read_text())
    doc = ast.get_docstring(tree) or ""
    runs = [argv for argv in documented_runs(doc) if argv[0].endswith(path.name)]
    assert runs, f"{path.name}: its docstring gives no `python {path.relative_to(REPO)} ...` command"
    assert {argv[0] for argv in runs} == {str(path.relative_to(REPO))}, "the command names another path"
    ours = "\n".join(line for line in doc.splitlines() if not line.strip().startswith(OTHER_PROGRAMS))
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", ours))
    assert mentioned <= accepted_options(tree), f"{path.name} documents options it does not accept"
