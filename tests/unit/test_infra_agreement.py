"""infra/ files agree with one another and with the code: one image (and its Ray version) everywhere, the ports of
ports.mk, the options of `ray start` and `mlflow server` that exist (read from the installed sources), the host names
MLflow accepts, and a RayJob driver that runs the image's design grid with valid flags on trials that fit the
GPU workers. Env vars, secrets, buckets, non-root: test_infra_agreement_env.py. No network, no Ray started.
"""

from __future__ import annotations

import ast
import fnmatch
import shlex
from functools import cache
from pathlib import Path
from urllib.parse import urlparse

import pytest
from infra_files import (
    DOCKERFILE,
    INFRA,
    REPO,
    SITE,
    compose,
    dockerfile,
    find,
    image_ref,
    launcher,
    mlflow_image_ref,
    pod_containers,
    ports,
    project_pins,
)


# ------------------------------------------------------------------------------------------ agreement: images
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
@pytest.mark.system  # imports Ray (starts nothing), so not in `-m "not system"`
def test_the_dashboard_port_is_rays_default():
    from ray._private import ray_constants

    assert ports()["RAY_DASHBOARD_PORT"] == ray_constants.DEFAULT_DASHBOARD_PORT


def test_ports_agree_with_ports_mk_and_the_defaults():
    p = ports()
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
