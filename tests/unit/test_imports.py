"""Architecture rules: only litlab.cluster imports ray or mlflow; no platform/__init__.py."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "platform" / "litlab" / "cluster"
SOURCES = [p for d in ("platform", "experiments", "ablations") for p in (REPO / d).rglob("*.py")]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


PLAIN = [p for p in SOURCES if CLUSTER not in p.parents]
SCRIPTS = sorted((REPO / "experiments").rglob("*.py")) + sorted((REPO / "ablations").glob("report.py"))


@pytest.mark.parametrize("path", PLAIN, ids=lambda p: str(p.relative_to(REPO)))
def test_only_cluster_imports_ray_or_mlflow(path):
    assert not imported_roots(path) & {"ray", "mlflow"}, f"{path} imports ray/mlflow; move that code to litlab.cluster"


def test_no_platform_package():
    assert not (REPO / "platform" / "__init__.py").exists()


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_scripts_start_with_a_docstring_saying_how_to_run_them(path):
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert "python " in doc and "2-core" in doc, f"{path.name}: docstring needs the command and 2-core timing"
