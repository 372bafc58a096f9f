"""Shared by the infra/ tests (test_infra.py, test_infra_agreement.py, test_infra_agreement_env.py): where the
infra files are, the Kubernetes versions checked, and the helpers that load the files and the project's pins.
No tests here.
"""

from __future__ import annotations

import io
import re
import tomllib
from functools import cache
from pathlib import Path

import jsonschema
import yaml
from dockerfile_parse import DockerfileParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
SCHEMAS = Path(__file__).resolve().parent / "infra_schemas"
SITE = Path(jsonschema.__file__).resolve().parents[1]  # the venv's site-packages
K8S_VERSIONS = ("1.30", "1.37")  # the oldest Kubernetes still common in managed clouds, and the newest schema here
K8S_DEFS = "https://kubernetes.io/api/_definitions.json"

KUBE_FILES = sorted([*INFRA.glob("kuberay/*.yaml"), *INFRA.glob("mlflow/*.yaml")])
COMPOSE = INFRA / "compose" / "compose.yaml"
LAUNCHER = INFRA / "cluster-launcher" / "aws-gpu.yaml"
DOCKERFILE = INFRA / "docker" / "Dockerfile"
MLFLOW_DOCKERFILE = INFRA / "mlflow" / "Dockerfile"


# ---------------------------------------------------------------------------------------------- loading helpers
def load_all(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@cache
def kube_objects() -> tuple[tuple[str, dict], ...]:
    """(file#index, object) for every Kubernetes object in infra/; shared: tests copy before they change one."""
    return tuple((f"{p.relative_to(INFRA)}#{i}", d) for p in KUBE_FILES for i, d in enumerate(load_all(p)))


def find(kind: str, name: str | None = None) -> dict:
    hits = [d for _, d in kube_objects() if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(hits) == 1, f"expected one {kind} {name or ''} in infra/, found {len(hits)}"
    return hits[0]


@cache
def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def project_pins() -> dict[str, str]:
    """name -> version of every `name==version` (extras dropped) in pyproject's dependencies."""
    pins = {}
    for dep in pyproject()["project"]["dependencies"]:
        if m := re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==([^;\s]+)", dep):
            pins[m[1].lower()] = m[2]
    return pins


def makefile_setup() -> tuple[list[str], list[str]]:
    """(the pins of the torch line, the --no-deps pins) of the Makefile's setup recipe."""
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    torch = re.search(r"pip install -q (torch==\S+ torchvision==\S+)", text)[1].split()
    nodeps = re.search(r"pip install -q --no-deps ([^\n]+)", text)[1].split()
    return torch, nodeps


@cache
def ports() -> dict[str, int]:
    text = (INFRA / "ports.mk").read_text()
    return {k: int(v) for k, v in re.findall(r"^(\w+_PORT) \?= (\d+)$", text, re.M)}


def image_ref() -> str:
    return f"registry.example.com/litlab:{pyproject()['project']['version']}"


def mlflow_image_ref() -> str:
    return f"registry.example.com/litlab-mlflow:{project_pins()['mlflow']}"


# ------------------------------------------------------------------- compose, launcher, Dockerfiles, pods
@cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@cache
def launcher() -> dict:
    return yaml.safe_load(LAUNCHER.read_text())


def dockerfile(path: Path) -> DockerfileParser:
    return DockerfileParser(fileobj=io.BytesIO(path.read_bytes()))


def pod_containers(obj: dict) -> list[dict]:
    spec = obj["spec"]
    templates = [spec["headGroupSpec"]["template"], *(g["template"] for g in spec["workerGroupSpecs"])] \
        if obj["kind"] == "RayCluster" else [spec["template"]]
    return [c for t in templates for c in t["spec"]["containers"]]
