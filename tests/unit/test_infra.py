"""infra/ checked statically: every file parses and validates against the real schemas (Kubernetes' and KubeRay's,
the Compose Specification, Ray's cluster-launcher schema through Ray's own validator); the Dockerfiles' pins equal
the project's; and the files agree with one another and with the code (image, ports, env vars, entry-point flags,
the options of `ray start` and `mlflow server`). No network, no Ray started, no container engine.

Where the schemas come from: tests/unit/infra_schemas/README.md.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import io
import json
import re
import shlex
import tomllib
from functools import cache
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser
from referencing import Registry, Resource

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


@cache
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


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
@cache
def launcher() -> dict:
    return yaml.safe_load(LAUNCHER.read_text())


def validate_launcher(config: dict) -> None:
    """What `ray up` does before it calls the cloud: fill in the provider's defaults, then Ray's validator."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(config)))


def test_cluster_launcher_yaml_validates_with_rays_own_validator():
    validate_launcher(launcher())


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
def dockerfile(path: Path) -> DockerfileParser:
    return DockerfileParser(fileobj=io.BytesIO(path.read_bytes()))


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


# ------------------------------------------------------------------------------------------ agreement: images
def pod_containers(obj: dict) -> list[dict]:
    spec = obj["spec"]
    templates = [spec["headGroupSpec"]["template"], *(g["template"] for g in spec["workerGroupSpecs"])] \
        if obj["kind"] == "RayCluster" else [spec["template"]]
    return [c for t in templates for c in t["spec"]["containers"]]


def test_one_image_everywhere():
    images = {c["image"] for c in pod_containers(find("RayCluster"))}
    images.add(launcher()["docker"]["image"])
    images |= {svc["image"] for name, svc in compose()["services"].items() if "build" in svc and name != "mlflow"}
    assert images == {image_ref()}
    dockerfile_text = DOCKERFILE.read_text()
    assert f"-t {image_ref()} ." in dockerfile_text  # the build command it documents
    assert {c["image"] for c in pod_containers(find("Deployment", "mlflow"))} == {mlflow_image_ref()}
    assert compose()["services"]["mlflow"]["image"] == mlflow_image_ref()


def test_ray_version_agrees():
    version = project_pins()["ray"]
    assert find("RayCluster")["spec"]["rayVersion"] == version
    assert f"rayproject/ray:{version}-" in dockerfile(DOCKERFILE).baseimage


# ------------------------------------------------------------------------------------------- agreement: ports
def test_ports_agree_with_ports_mk_and_the_defaults():
    p = ports()
    from ray._private import ray_constants

    assert p["RAY_DASHBOARD_PORT"] == ray_constants.DEFAULT_DASHBOARD_PORT
    cluster_sh = (INFRA / "local" / "cluster.sh").read_text()
    for name in ("RAY_GCS_PORT", "RAY_DASHBOARD_PORT", "MLFLOW_PORT", "S3_PORT"):
        assert name not in p or f"{name}=${{{name}:-{p[name]}}}" in cluster_sh, name

    head = find("RayCluster")["spec"]["headGroupSpec"]
    assert head["rayStartParams"]["port"] == str(p["RAY_GCS_PORT"])
    assert head["rayStartParams"]["dashboard-port"] == str(p["RAY_DASHBOARD_PORT"])
    named = {port["name"]: port["containerPort"] for port in head["template"]["spec"]["containers"][0]["ports"]}
    assert named["gcs-server"] == p["RAY_GCS_PORT"] and named["dashboard"] == p["RAY_DASHBOARD_PORT"]

    service, deployment = find("Service", "mlflow"), find("Deployment", "mlflow")
    assert service["spec"]["ports"][0]["port"] == p["MLFLOW_PORT"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == p["MLFLOW_PORT"]
    assert f"--port={p['MLFLOW_PORT']}" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]

    heads = " ".join(launcher()["head_start_ray_commands"])
    assert f"--port={p['RAY_GCS_PORT']}" in heads and f"--dashboard-port={p['RAY_DASHBOARD_PORT']}" in heads
    assert f"--port {p['MLFLOW_PORT']}" in heads
    assert f"$RAY_HEAD_IP:{p['RAY_GCS_PORT']}" in " ".join(launcher()["worker_start_ray_commands"])

    services = compose()["services"]
    assert f"--port={p['RAY_GCS_PORT']}" in services["ray-head"]["command"]
    assert f"--dashboard-port={p['RAY_DASHBOARD_PORT']}" in services["ray-head"]["command"]
    assert f"--address=ray-head:{p['RAY_GCS_PORT']}" in services["ray-worker"]["command"]
    assert f"--port {p['MLFLOW_PORT']}" in services["mlflow"]["command"][0]
    assert services["ray-head"]["ports"] == [f"127.0.0.1:${{RAY_DASHBOARD_PORT:-{p['RAY_DASHBOARD_PORT']}}}:"
                                             f"{p['RAY_DASHBOARD_PORT']}"]
    assert services["mlflow"]["ports"] == [f"127.0.0.1:${{MLFLOW_PORT:-{p['MLFLOW_PORT']}}}:{p['MLFLOW_PORT']}"]
    s3 = services["s3"]["command"]
    s3_port = int(s3[s3.index("-p") + 1])
    assert services["ray-head"]["environment"]["AWS_ENDPOINT_URL"] == f"http://s3:{s3_port}"
    assert p.get("S3_PORT", s3_port) == s3_port
    assert services["s3"]["ports"] == [f"127.0.0.1:${{S3_PORT:-{s3_port}}}:{s3_port}"]


def tracking_uris() -> dict[str, str]:
    return {
        "ConfigMap": find("ConfigMap")["data"]["MLFLOW_TRACKING_URI"],
        "RayJob": entrypoint_args().mlflow_uri,
        "compose": compose()["services"]["ray-head"]["environment"]["MLFLOW_TRACKING_URI"],
    }


def test_the_mlflow_uri_names_the_mlflow_service_and_port():
    for where, uri in tracking_uris().items():
        url = urlparse(uri)
        assert (url.scheme, url.hostname, url.port) == ("http", "mlflow", ports()["MLFLOW_PORT"]), where
    assert find("Service", "mlflow")["metadata"]["name"] == "mlflow" and "mlflow" in compose()["services"]


# --------------------------------------------------------------- agreement: the options of `ray start`, `mlflow server`
@cache
def module_ast(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def click_options(path: Path, func: str, shared: Path | None = None) -> dict[str, bool]:
    """``--name`` -> whether it takes a value, for the click command ``func`` in ``path``, read from the installed
    source (importing the CLIs costs seconds). Options defined as ``shared_module.NAME = click.option(...)``
    are looked up in ``shared``."""
    assigned = {}
    if shared:
        for node in module_ast(shared).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                assigned.update({t.id: node.value for t in node.targets if isinstance(t, ast.Name)})
    fn = next(n for n in module_ast(path).body if isinstance(n, ast.FunctionDef) and n.name == func)
    options = {}
    for deco in fn.decorator_list:
        if isinstance(deco, ast.Attribute):
            deco = assigned.get(deco.attr)
        if not (isinstance(deco, ast.Call) and getattr(deco.func, "attr", "") == "option"):
            continue
        names = [a.value for a in deco.args if isinstance(a, ast.Constant) and str(a.value).startswith("--")]
        flag = any(k.arg in ("is_flag", "count") and getattr(k.value, "value", False) for k in deco.keywords)
        for name in names:
            for part in name.split("/"):
                options[part.strip()] = not (flag or "/" in name)
    return options


def ray_start_options() -> dict[str, bool]:
    return click_options(SITE / "ray" / "scripts" / "scripts.py", "start")


def mlflow_server_options() -> dict[str, bool]:
    return click_options(SITE / "mlflow" / "cli" / "__init__.py", "server", SITE / "mlflow" / "utils" / "cli_args.py")


def options_in(command: str | list[str], program: list[str]) -> list[str]:
    """The ``--options`` of every ``program`` invocation in ``command`` (a shell line or an argv list)."""
    words = command if isinstance(command, list) else shlex.split(command.replace(";", " ; ").replace("&&", " ; "))
    found, inside = [], False
    for i, w in enumerate(words):
        if words[i:i + len(program)] == program:
            inside = True
        elif w in (";", ">", "2>&1", "&)"):
            inside = False
        elif inside and w.startswith("--"):
            found.append(w.split("=")[0])
    return found


def unknown_options(used: list[str], known: dict[str, bool]) -> list[str]:
    return sorted(set(used) - set(known))


def ray_start_uses() -> list[str]:
    c = compose()["services"]
    lines = [*launcher()["head_start_ray_commands"], *launcher()["worker_start_ray_commands"]]
    used = [o for line in lines for o in options_in(line, ["ray", "start"])]
    used += [o for name in ("ray-head", "ray-worker", "ray-gpu-worker") for o in options_in(c[name]["command"],
                                                                                             ["ray", "start"])]
    return used


def test_ray_start_options_exist():
    known = ray_start_options()
    assert {"--head", "--port", "--address", "--dashboard-port"} <= set(known)  # the extraction works
    assert unknown_options(ray_start_uses(), known) == []
    spec = find("RayCluster")["spec"]
    for params in [spec["headGroupSpec"]["rayStartParams"], *(g["rayStartParams"] for g in spec["workerGroupSpecs"])]:
        for key in params:  # KubeRay passes each as --key=value: a flag without a value would not parse
            assert known.get(f"--{key}") is True, f"rayStartParams {key}: not a `ray start` option taking a value"


def mlflow_server_uses() -> list[str]:
    args = find("Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]["args"]
    used = [a.split("=")[0] for a in args]
    used += options_in(compose()["services"]["mlflow"]["command"][0], ["mlflow", "server"])
    used += options_in(" ".join(launcher()["head_start_ray_commands"]), ["mlflow", "server"])
    return used


def test_mlflow_server_options_exist():
    known = mlflow_server_options()
    assert {"--backend-store-uri", "--host", "--port", "--allowed-hosts"} <= set(known)  # the extraction works
    assert unknown_options(mlflow_server_uses(), known) == []


def test_a_wrong_option_is_caught():
    assert unknown_options(["--dashboard-hots"], ray_start_options()) == ["--dashboard-hots"]
    assert unknown_options(["--artifact-destination"], mlflow_server_options()) == ["--artifact-destination"]
    assert ray_start_options()["--head"] is False  # a flag: as a rayStartParams entry it would be refused


@cache
def host_rule():
    """MLflow's own Host-header check (mlflow.server.security_utils.is_allowed_host_header), taken from the
    installed source: importing mlflow costs seconds."""
    path = SITE / "mlflow" / "server" / "security_utils.py"
    fn = next(n for n in module_ast(path).body
              if isinstance(n, ast.FunctionDef) and n.name == "is_allowed_host_header")
    namespace = {"fnmatch": fnmatch}
    exec(compile(ast.Module([fn], []), str(path), "exec"), namespace)
    return namespace["is_allowed_host_header"]


def allowed_hosts(args: list[str]) -> list[str]:
    value = next(a.split("=", 1)[1] if "=" in a else args[i + 1]
                 for i, a in enumerate(args) if a.startswith("--allowed-hosts"))
    return [h.strip() for h in value.split(",")]


def test_mlflow_accepts_the_host_names_its_clients_use():
    allowed = host_rule()
    k8s = allowed_hosts(find("Deployment", "mlflow")["spec"]["template"]["spec"]["containers"][0]["args"])
    local = allowed_hosts(shlex.split(compose()["services"]["mlflow"]["command"][0]))
    port = ports()["MLFLOW_PORT"]
    for hosts, clients in [(k8s, [tracking_uris()["RayJob"], tracking_uris()["ConfigMap"],
                                  f"http://mlflow.litlab.svc.cluster.local:{port}",
                                  f"http://localhost:{port}", f"http://127.0.0.1:{port}"]),  # kubectl port-forward
                           (local, [tracking_uris()["compose"], f"http://127.0.0.1:{port}"])]:
        for uri in clients:
            assert allowed(hosts, urlparse(uri).netloc), f"MLflow would refuse Host {urlparse(uri).netloc}"
        assert not allowed(hosts, f"evil.example.com:{port}")
    # ray up's MLflow keeps the default rule (localhost and private addresses): workers reach it by private IP.
    assert "--allowed-hosts" not in " ".join(launcher()["head_start_ray_commands"])


# ---------------------------------------------------------------------------------- agreement: the RayJob's driver
def entrypoint_words() -> list[str]:
    return shlex.split(find("RayJob")["spec"]["entrypoint"])


def entrypoint_args():
    import design_grid

    words = entrypoint_words()
    assert words[:1] == ["python"]
    return design_grid.parse_args(words[2:])


def overrides_problem(sets: list[str]) -> str | None:
    from design_grid import BASE
    from litlab.config import ConfigError, apply_overrides, parse_set

    try:
        apply_overrides(BASE, [parse_set(s) for s in sets])
    except ConfigError as err:
        return str(err)
    return None


def test_rayjob_runs_the_design_grid_of_the_image_with_valid_flags():
    import design_grid

    script = Path(entrypoint_words()[1])
    workdir = next(i["value"] for i in dockerfile(DOCKERFILE).structure if i["instruction"] == "WORKDIR")
    assert script.is_absolute() and script.relative_to(workdir) == Path("experiments/design_grid.py")
    assert (REPO / script.relative_to(workdir)).is_file()
    args = entrypoint_args()
    assert args.preset in design_grid.PRESETS
    assert overrides_problem(args.sets) is None
    config = find("ConfigMap")["data"]
    assert args.storage == config["LITLAB_STORAGE"]
    assert f"data.root={config['LITLAB_DATA_ROOT']}" in args.sets
    assert find("RayJob")["spec"]["clusterSelector"] == {"ray.io/cluster": find("RayCluster")["metadata"]["name"]}


def test_a_wrong_override_is_caught():
    assert "gpu_per_worker" in overrides_problem(["train.gpu_per_worker=1"])


def test_rayjob_trials_fit_the_gpu_worker_group():
    args = entrypoint_args()
    sets = dict(s.split("=", 1) for s in args.sets)
    group = find("RayCluster")["spec"]["workerGroupSpecs"][0]
    limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
    gpus_per_pod, cpus_per_pod = int(limits["nvidia.com/gpu"]), float(limits["cpu"])
    workers, gpus, cpus = int(sets["train.workers"]), float(sets["train.gpus_per_worker"]), \
        float(sets["train.cpus_per_worker"])
    assert gpus > 0 and gpus <= gpus_per_pod and cpus < cpus_per_pod  # a CPU or more left for Ray Data
    assert args.max_concurrent * workers * gpus <= group["maxReplicas"] * gpus_per_pod
    assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    assert find("RayCluster")["spec"]["enableInTreeAutoscaling"] is True
    head = find("RayCluster")["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in head["resources"]["limits"]


# ------------------------------------------------------------------------ agreement: env vars, secrets, buckets
def project_sources() -> str:
    paths = [*REPO.glob("platform/litlab/**/*.py"), *REPO.glob("experiments/**/*.py"), *REPO.glob("ablations/*.py")]
    return "\n".join(p.read_text() for p in paths)


# Who reads the variables that the project's code does not: the owning package's source, searched for the name.
READERS = {
    "MLFLOW_": ["mlflow/environment_variables.py", "mlflow/cli/__init__.py"],
    "RAY_": ["ray/_private/authentication/authentication_token_setup.py", "ray/_common/usage/usage_constants.py"],
    "AWS_": ["botocore/credentials.py", "botocore/configprovider.py"],
    "HF_": ["huggingface_hub/constants.py"],
}
IMAGE_VARS = {  # read by the official postgres image's entrypoint (documented there)
    "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD", "POSTGRES_PASSWORD_FILE", "PGDATA"}


def env_names() -> dict[str, str]:
    """Every env var the infra files set -> where."""
    names = {}
    for where, obj in kube_objects():
        if obj["kind"] == "ConfigMap":
            names.update(dict.fromkeys(obj["data"], where))
        if obj["kind"] in ("Deployment", "StatefulSet", "RayCluster"):
            for c in pod_containers(obj):
                names.update({e["name"]: where for e in c.get("env", [])})
    for name, svc in compose()["services"].items():
        names.update(dict.fromkeys(svc.get("environment", {}), f"compose {name}"))
    for opt in launcher()["docker"]["run_options"]:
        if opt.startswith("--env "):
            names[opt.split()[1].split("=")[0]] = "launcher"
    names.update(dict.fromkeys(dockerfile(DOCKERFILE).envs, "Dockerfile"))
    return names


def reader(name: str, code: str) -> str | None:
    if re.search(rf"[\"']{name}[\"']", code):
        return "litlab"
    for prefix, paths in READERS.items():
        if name.startswith(prefix) and any(name in (SITE / p).read_text() for p in paths):
            return paths[0].split("/")[0]
    if name in IMAGE_VARS or name.startswith(("PIP_", "PYTHON")):
        return "image"
    return None


def test_every_env_var_set_is_one_something_reads():
    code = project_sources()
    unread = {name: where for name, where in env_names().items() if reader(name, code) is None}
    assert unread == {}
    assert reader("LITLAB_DATA_ROTO", code) is None and reader("MLFLOW_TRACKING_URL", code) is None


# What the code reads from the environment but the clusters leave unset, and why.
NOT_ON_CLUSTERS = {
    "LITLAB_NPM_PREFIX": "the npm emoji packages are not in the image (the emoji-style evaluations run locally)",
    "RAY_ADDRESS": "set by Ray itself for a job's driver",
}


def test_every_pod_gets_what_the_code_reads_from_the_environment():
    read = set(re.findall(r"environ(?:\.get)?[(\[][\"']([A-Z]\w+)", project_sources()))
    assert {"LITLAB_DATA_ROOT", "LITLAB_STORAGE", "MLFLOW_TRACKING_URI"} <= read  # the extraction works
    needed = read - set(NOT_ON_CLUSTERS)
    for c in pod_containers(find("RayCluster")):
        assert {"configMapRef": {"name": "litlab-env"}} in c["envFrom"]
    assert needed <= set(find("ConfigMap")["data"])
    assert needed <= set(compose()["services"]["ray-head"]["environment"])
    run_options = " ".join(launcher()["docker"]["run_options"])
    assert needed - {"MLFLOW_TRACKING_URI"} <= set(re.findall(r"--env (\w+)=", run_options))  # ray up: --mlflow-uri


SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY", re.I)


def inline_secrets(containers: list[dict]) -> list[str]:
    return [f"{c['name']}: {e['name']}" for c in containers for e in c.get("env", [])
            if SECRET_NAME.search(e["name"]) and "valueFrom" not in e]


def test_no_credentials_inline():
    for _, obj in kube_objects():
        if obj["kind"] in ("Deployment", "StatefulSet", "RayCluster"):
            assert inline_secrets(pod_containers(obj)) == []
        assert obj["kind"] != "Secret"
    assert not SECRET_NAME.search(LAUNCHER.read_text())  # ray up's nodes get S3 access from their IAM roles
    # compose: only the S3 server's dummy keys, and only beside its endpoint
    for name, svc in compose()["services"].items():
        env = svc.get("environment", {})
        for key, value in env.items():
            if SECRET_NAME.search(key) and not str(value).startswith("/run/secrets/"):  # compose secrets: files
                assert value == "testing" and env["AWS_ENDPOINT_URL"] == "http://s3:5003", f"{name}: {key}"
    bad = [{"name": "db", "env": [{"name": "POSTGRES_PASSWORD", "value": "hunter2"}]}]
    assert inline_secrets(bad) == ["db: POSTGRES_PASSWORD"]


def secret_refs() -> set[tuple[str, str]]:
    refs = set()
    for _, obj in kube_objects():
        if obj["kind"] in ("Deployment", "StatefulSet", "RayCluster"):
            for c in pod_containers(obj):
                for e in c.get("env", []):
                    if ref := e.get("valueFrom", {}).get("secretKeyRef"):
                        refs.add((ref["name"], ref["key"]))
    return refs


def test_the_secrets_the_readme_creates_are_the_ones_the_pods_read():
    readme = (INFRA / "README.md").read_text()
    created = set()
    for name, rest in re.findall(r"kubectl create secret generic (\S+)((?: +(?:\\\n *)?--from-literal=\S+)+)", readme):
        created |= {(name, key) for key in re.findall(r"--from-literal=(\w+)=", rest)}
    assert secret_refs() == created


def test_one_bucket():
    text = "\n".join(p.read_text() for p in [*KUBE_FILES, LAUNCHER])
    assert set(re.findall(r"s3://([a-z0-9.-]+)/", text)) == {"litlab-example-bucket"}
    compose_text = COMPOSE.read_text()
    assert set(re.findall(r"s3://([a-z0-9.-]+)/", compose_text)) == {"litlab"}
    assert "Bucket='litlab'" in compose_text


def test_pods_run_as_non_root():
    for _, obj in kube_objects():
        if obj["kind"] in ("Deployment", "StatefulSet"):
            templates = [obj["spec"]["template"]]
        elif obj["kind"] == "RayCluster":
            templates = [obj["spec"]["headGroupSpec"]["template"],
                         *(g["template"] for g in obj["spec"]["workerGroupSpecs"])]
        else:
            continue
        for t in templates:
            assert t["spec"]["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
