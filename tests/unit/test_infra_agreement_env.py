"""infra/ files agree with the code on the environment: every env var set is one something reads, every pod gets
what the code reads, no credentials inline, the secrets the README creates are the ones the pods read, one bucket,
pods run as non-root. No network, no Ray started.
"""

from __future__ import annotations

import re

from infra_files import (
    COMPOSE,
    DOCKERFILE,
    INFRA,
    KUBE_FILES,
    LAUNCHER,
    REPO,
    SITE,
    compose,
    dockerfile,
    find,
    kube_objects,
    launcher,
    pod_containers,
)


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
    "LITLAB_LOG_DIR": "optional: a sweep driver's console log folder, ~/.cache/litlab/logs on its node by default",
    "MLFLOW_UI_PORT": "only for a local sqlite store's UI address; a cluster's sweeps use the tracking server's",
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
