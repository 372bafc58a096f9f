"""infra/ checked statically against the real schemas: every file parses and validates (Kubernetes' and KubeRay's,
the Compose Specification, Ray's cluster-launcher schema through Ray's own validator); the Dockerfiles pin their
base, run as a user and their pins equal the project's. No network, no Ray started, no container engine.
The files' agreement with one another and with the code: test_infra_agreement.py, test_infra_agreement_env.py.

Where the schemas come from: tests/unit/infra_schemas/README.md.
"""

from __future__ import annotations

import copy
import io
import json
import re
import shlex
from functools import cache
from importlib.resources import files

import jsonschema
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from infra_files import (
    DOCKERFILE,
    INFRA,
    K8S_DEFS,
    K8S_VERSIONS,
    MLFLOW_DOCKERFILE,
    REPO,
    SCHEMAS,
    compose,
    dockerfile,
    find,
    kube_objects,
    launcher,
    load_all,
    makefile_setup,
    project_pins,
    pyproject,
)
from referencing import Registry, Resource


# ------------------------------------------------------------------------------------ Kubernetes + KubeRay schemas
@cache
def k8s_definitions(version: str) -> dict:
    folder = files("kubernetes_validate") / "kubernetes-json-schema" / f"v{version}.0-local-strict"
    return json.loads((folder / "_definitions.json").read_text())


def strict(node):
    """A CRD's structural schema as the API server applies it under kubectl's default strict field validation:
    an object that lists its properties refuses any other field."""
    if isinstance(node, dict):
        out = {k: strict(v) for k, v in node.items()}
        if "properties" in node and "additionalProperties" not in node \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(v) for v in node]
    return node


@cache
def kuberay_validator(kind: str, version: str) -> jsonschema.Draft202012Validator:
    crd = strict(yaml.safe_load((SCHEMAS / "kuberay-v1.yaml").read_text()))
    registry = Registry().with_resources([
        (crd["$id"], Resource.from_contents(crd)),
        (K8S_DEFS, Resource.from_contents(k8s_definitions(version))),
    ])
    return jsonschema.Draft202012Validator({"$ref": f"{crd['$id']}#/$defs/{kind}"}, registry=registry)


def validate_kube(obj: dict, version: str) -> None:
    """Raise jsonschema.ValidationError if ``obj`` is not a valid object of its kind (unknown kinds raise too)."""
    if obj.get("apiVersion") == "ray.io/v1":
        if obj.get("kind") not in ("RayCluster", "RayJob"):
            raise LookupError(f"no schema for ray.io/v1 {obj.get('kind')}")
        kuberay_validator(obj["kind"], version).validate(obj)
        return
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError as err:
        raise LookupError(err.message) from None


@pytest.mark.parametrize("path", sorted(INFRA.rglob("*.yaml")), ids=lambda p: str(p.relative_to(INFRA)))
def test_every_yaml_file_parses(path):
    docs = load_all(path)
    assert docs and all(isinstance(d, dict) for d in docs)


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("where,obj", kube_objects(), ids=[w for w, _ in kube_objects()])
def test_kubernetes_objects_validate(where, obj, version):
    validate_kube(obj, version)


def test_the_manifests_hold_what_the_cluster_needs():
    kinds = sorted((d["kind"], d["metadata"]["name"]) for _, d in kube_objects())
    assert kinds == [("ConfigMap", "litlab-env"), ("Deployment", "mlflow"), ("RayCluster", "litlab"),
                     ("RayJob", "litlab-paper"), ("Service", "mlflow"), ("Service", "postgres"),
                     ("StatefulSet", "postgres")]


def broken(obj: dict, path: str, value) -> dict:
    """A deep copy of ``obj`` with ``value`` set at the dotted ``path`` (list indexes as numbers)."""
    obj = copy.deepcopy(obj)
    *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = obj
    for key in parents:
        node = node[key]
    node[last] = value
    return obj


@pytest.mark.parametrize("kind,name,path,value", [
    ("Deployment", "mlflow", "spec.replica", 1),  # a typo: strict validation refuses unknown fields
    ("Deployment", "mlflow", "spec.template.spec.containers.0.ports.0.containerPort", "5001"),
    ("StatefulSet", "postgres", "spec.volumeClaimTemplates.0.spec.accessModes", "ReadWriteOnce"),
    ("RayCluster", "litlab", "spec.workerGroupSpecs.0.minReplica", 0),  # KubeRay's own fields
    ("RayCluster", "litlab", "spec.autoscalerOptions.upscalingMode", "Fast"),
    ("RayCluster", "litlab", "spec.headGroupSpec.rayStartParams.num-cpus", 0),  # values are strings
    ("RayCluster", "litlab", "spec.workerGroupSpecs.0.template.spec.containers.0.imagePullPolicy", ["Always"]),
    ("RayCluster", "litlab", "spec.headGroupSpec.template.spec.containers.0.resources.limit", {}),  # via PodSpec
    ("RayJob", "litlab-paper", "spec.entrypoint", ["python", "x.py"]),
    ("RayJob", "litlab-paper", "spec.clusterSelector", {"ray.io/cluster": 1}),
])
def test_a_broken_manifest_is_refused(kind, name, path, value):
    with pytest.raises(jsonschema.ValidationError):
        validate_kube(broken(find(kind, name), path, value), K8S_VERSIONS[-1])


def test_a_raycluster_without_its_required_fields_is_refused():
    obj = copy.deepcopy(find("RayCluster"))
    del obj["spec"]["workerGroupSpecs"][0]["groupName"]
    with pytest.raises(jsonschema.ValidationError, match="groupName"):
        validate_kube(obj, K8S_VERSIONS[-1])
    obj = copy.deepcopy(find("RayCluster"))
    del obj["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["name"]  # core/v1 Container: required
    with pytest.raises(jsonschema.ValidationError, match="name"):
        validate_kube(obj, K8S_VERSIONS[-1])


def test_an_unknown_kind_is_an_error_not_a_pass():
    with pytest.raises(LookupError):
        validate_kube({"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "x"}}, "1.37")
    with pytest.raises(LookupError):
        validate_kube({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "x"}}, "1.37")


# ----------------------------------------------------------------------------------------------------- compose
@cache
def compose_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def test_compose_file_validates_against_the_compose_spec():
    compose_validator().validate(compose())


@pytest.mark.parametrize("path,value", [
    ("services.ray-head.depends_on.mlflow.condition", "service_ready"),
    ("services.mlflow.ports", 5001),
    ("services.ray-head.healthcheck.interval", ["5s"]),
    ("services.s3.network", ["litlab"]),
])
def test_a_broken_compose_file_is_refused(path, value):
    with pytest.raises(jsonschema.ValidationError):
        compose_validator().validate(broken(compose(), path, value))


def test_compose_publishes_on_loopback_only_and_joins_one_network():
    services = compose()["services"]
    for name, svc in services.items():
        assert svc["networks"] == ["litlab"], name
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_compose_python_snippets_compile():
    for name, svc in compose()["services"].items():
        commands = [svc.get("command"), svc.get("healthcheck", {}).get("test")]
        for cmd in filter(None, commands):
            if isinstance(cmd, list) and "-c" in cmd and "python" in cmd:
                compile(cmd[cmd.index("-c") + 1], f"{name}", "exec")


# ---------------------------------------------------------------------------------------------- cluster launcher

def validate_launcher(config: dict) -> None:
    """What `ray up` does before it calls the cloud: fill in the provider's defaults, then Ray's validator."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(config)))


NEEDS_RAY = pytest.mark.system  # Ray's own validator: imports Ray (starts nothing), so not in `-m "not system"`


@NEEDS_RAY
def test_cluster_launcher_yaml_validates_with_rays_own_validator():
    validate_launcher(launcher())


@NEEDS_RAY
@pytest.mark.parametrize("path,value", [
    ("docker.image_name", "x"),  # not a field
    ("max_workers", "four"),
    ("head_node_type", "cpu"),  # not one of available_node_types
    ("available_node_types.gpu.min_workers", 9),  # the sum of min_workers exceeds max_workers
])
def test_a_broken_launcher_yaml_is_refused(path, value):
    with pytest.raises((jsonschema.ValidationError, ValueError)):
        validate_launcher(broken(launcher(), path, value))


# ------------------------------------------------------------------------------------------------- Dockerfiles

def pip_installs(parser: DockerfileParser) -> list[list[str]]:
    """The arguments of every `pip install` in the RUN instructions."""
    out = []
    for ins in parser.structure:
        if ins["instruction"] == "RUN":
            lexer = shlex.shlex(ins["value"], posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            command: list[str] = []
            for word in [*lexer, "&&"]:
                if word in ("&&", ";", "||"):
                    if command[:2] == ["pip", "install"]:
                        out.append(command[2:])
                    command = []
                else:
                    command.append(word)
    return out


def dockerfile_problems(parser: DockerfileParser) -> list[str]:
    """Rules every image here keeps: a base image pinned by tag, a non-root final user."""
    problems = []
    for ins in parser.structure:
        if ins["instruction"] == "FROM":
            image = ins["value"].split()[0]
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if "@sha256:" not in image and (not tag or tag == "latest"):
                problems.append(f"FROM {image} is not pinned by tag")
    users = [ins["value"].split(":")[0] for ins in parser.structure if ins["instruction"] == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append("the final USER is root")
    return problems


@pytest.mark.parametrize("path", [DOCKERFILE, MLFLOW_DOCKERFILE], ids=lambda p: str(p.relative_to(INFRA)))
def test_dockerfiles_pin_their_base_and_run_as_a_user(path):
    assert dockerfile_problems(dockerfile(path)) == []


@pytest.mark.parametrize("text,problem", [
    ("FROM rayproject/ray\nUSER ray\n", "not pinned"),
    ("FROM rayproject/ray:latest\nUSER ray\n", "not pinned"),
    ("FROM python:3.11.13-slim-bookworm\n", "root"),
    ("FROM python:3.11.13-slim-bookworm\nUSER app\nRUN true\nUSER root\n", "root"),
])
def test_a_broken_dockerfile_is_flagged(text, problem):
    problems = dockerfile_problems(DockerfileParser(fileobj=io.BytesIO(text.encode())))
    assert any(problem in p for p in problems), problems


def test_cluster_image_matches_the_project():
    parser = dockerfile(DOCKERFILE)
    pins, (torch_pins, nodeps_pins) = project_pins(), makefile_setup()
    py = re.search(r"3\.(\d+)", pyproject()["project"]["requires-python"])[0].replace(".", "")
    assert parser.baseimage == f"rayproject/ray:{pins['ray']}-py{py}-gpu"
    installs = pip_installs(parser)
    assert torch_pins in installs and torch_pins == [f"torch=={pins['torch']}", f"torchvision=={pins['torchvision']}"]
    assert ["--no-deps", *nodeps_pins] in installs
    assert ["."] in installs  # the project itself, with pyproject's pins
    assert parser.labels["org.opencontainers.image.version"] == pyproject()["project"]["version"]
    assert parser.envs["HF_HUB_OFFLINE"] == "1" and parser.envs["MLFLOW_DISABLE_TELEMETRY"] == "true"


def test_cluster_image_copies_what_exists_and_the_ignore_file_lets_it_through():
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().split()
    assert ignore[ignore.index("**")] == "**"  # everything is left out, then the sources are let back in
    for ins in dockerfile(DOCKERFILE).structure:
        if ins["instruction"] == "COPY":
            for src in [w for w in ins["value"].split() if not w.startswith("--")][:-1]:
                assert (REPO / src).exists(), src
                assert f"!{src}" in ignore or f"!{src}/" in ignore, f"{src} is not let into the build context"


def test_mlflow_image_matches_the_client():
    installs = [w for args in pip_installs(dockerfile(MLFLOW_DOCKERFILE)) for w in args]
    assert f"mlflow=={project_pins()['mlflow']}" in installs
    assert any(w.startswith("psycopg2-binary==") for w in installs) and any(w.startswith("boto3==") for w in installs)
