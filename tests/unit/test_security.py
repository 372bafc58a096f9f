"""Security: checkpoints never unpickle code, paths from users' files cannot leave their root, and the local
servers listen on loopback only."""

from __future__ import annotations

import ast
import os
import re
import shlex
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
CODE = [p for d in ("platform", "experiments", "ablations", "tests") for p in (REPO / d).rglob("*.py")
        if p != Path(__file__).resolve()]  # this file loads an exploit unsafely once, to prove it is live
# in-memory pickles a job makes and reads itself (never a file from storage or a user), with the reason
PICKLE_OK = {"platform/litlab/cluster/build_shards.py": "Ray Data rows holding the same job's work items"}


def _torch_load_calls(path: Path) -> list[ast.Call]:
    calls = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
            calls.append(node)
    return calls


def test_every_torch_load_is_weights_only():
    calls = {p: _torch_load_calls(p) for p in CODE}
    assert sum(map(len, calls.values())) >= 3  # the scan sees the real loaders (checkpoints, evaluate, ports)
    bad = [f"{p.relative_to(REPO)}:{c.lineno}" for p, cs in calls.items() for c in cs
           if not any(k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                      for k in c.keywords)]
    assert not bad, f"torch.load without weights_only=True (can run code from a file): {bad}"


def test_no_pickle_or_unsafe_loaders_on_stored_files():
    pattern = re.compile(r"\b(pickle\.loads?|cloudpickle\.loads?|dill\.loads?|joblib\.load|yaml\.unsafe_load)\(|"
                         r"allow_pickle=True|yaml\.load\((?!.*SafeLoader)")
    hits = [f"{p.relative_to(REPO)}:{i}" for p in REPO.joinpath("platform").rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1)
            if pattern.search(line) and str(p.relative_to(REPO)) not in PICKLE_OK]
    assert not hits, f"loaders that can run code from a file: {hits}"


class Exploit:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def test_a_checkpoint_holding_code_is_refused_and_the_code_never_runs(tmp_path):
    from litlab.cluster.checkpoint_store import new_name, newest_loadable, write_folder
    from litlab.cluster.checkpoints import CheckpointError, load_payload, read_checkpoint
    from pyarrow.fs import LocalFileSystem

    armed = tmp_path / "armed"
    torch.save({"model": Exploit(armed), "step": 1}, tmp_path / "proof.pt")
    torch.load(tmp_path / "proof.pt", weights_only=False)  # the payload is live: an unsafe loader runs it
    assert armed.exists()

    marker = tmp_path / "pwned"
    torch.save({"model": Exploit(marker), "step": 5}, tmp_path / "evil.pt")
    evil = (tmp_path / "evil.pt").read_bytes()
    with pytest.raises(CheckpointError, match=r"refused checkpoint .*evil/model.pt.*weights_only=True"):
        load_payload(evil, str(tmp_path / "evil" / "model.pt"))
    # written whole, its manifest matching: only the loader stands between the file and the code in it
    folder = write_folder(LocalFileSystem(), str(tmp_path / "run"), new_name(5), {"model.pt": evil}, {"step": 5})
    with pytest.raises(CheckpointError, match="(?s)none of the 1 checkpoint.*refused checkpoint"):
        newest_loadable([folder], lambda f: read_checkpoint(LocalFileSystem(), f))
    assert not marker.exists(), "loading the checkpoint ran the code inside it"


def test_evaluate_refuses_a_checkpoint_holding_code(tmp_path):
    from litlab import evaluate

    marker = tmp_path / "pwned"
    torch.save({"model": Exploit(marker), "step": 5, "config": {}}, tmp_path / "model.pt")
    with pytest.raises(Exception, match="(?i)weights.only|unsupported global"):
        evaluate.load_checkpoint(tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("rel", ["../x.jpg", "a/../../x.jpg", "..", "/etc/passwd", "//etc/passwd", "s3://b/k",
                                 "..\\..\\x.jpg", "C:/Windows/x.jpg", "a/b/../../../x"])
def test_relative_paths_cannot_escape_their_root(tmp_path, rel):
    from litlab.storage import inside

    with pytest.raises(ValueError, match="escapes its root"):
        inside(str(tmp_path), rel)
    with pytest.raises(ValueError, match="escapes its root"):
        inside("s3://bucket/root", rel)


def test_paths_inside_the_root_are_kept(tmp_path):
    from litlab.storage import inside

    assert inside(str(tmp_path), "a/./b/../c.jpg") == str(tmp_path / "a" / "c.jpg")
    assert inside("s3://bucket/root/", "a/c.jpg") == "s3://bucket/root/a/c.jpg"


def test_symlinks_leading_out_of_a_local_root_are_refused(tmp_path):
    from litlab.storage import inside

    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("x")
    (root / "out").symlink_to(outside)
    (root / "secret.jpg").symlink_to(outside / "secret.txt")
    (root / "sub" / "in").symlink_to(root / "sub")  # a link that stays inside is fine
    for rel in ("out/secret.txt", "secret.jpg", "out"):
        with pytest.raises(ValueError, match=r"escapes its root .* symbolic link"):
            inside(str(root), rel)
    assert inside(str(root), "sub/in/x.jpg") == str(root / "sub" / "in" / "x.jpg")


# --- servers bind loopback ------------------------------------------------------------------------------------
SERVERS = {"ray start": [("--node-ip-address",)], "ray start --head": [("--node-ip-address",), ("--dashboard-host",)],
           "mlflow server": [("--host", "-h")], "mlflow ui": [("--host", "-h")], "moto_server": [("-H", "--host")]}
LOOPBACK = re.compile(r"^(127\.0\.0\.1|\$\{?[A-Z_]*HOST\}?|\$\([A-Z_]*HOST\))$")


def _commands(path: Path) -> list[str]:
    """The file's command lines, backslash continuations joined (comments and echoed text left out)."""
    lines = re.sub(r"\\\n\s*", " ", path.read_text()).splitlines()
    return [line for line in lines if not re.match(r"\s*(#|@?echo\b|@?printf\b)", line)]


def _server_starts(path: Path) -> list[tuple[str, list[str]]]:
    found = []
    for line in _commands(path):
        line = re.sub(r"\$\(BIN\)/|\$BIN/|\"\$BIN/|\$\{BIN\}/", "", line).replace('"', "")
        for m in re.finditer(r"\b(ray start|mlflow (?:server|ui)|moto_server)\b(.*)", line):
            words = m.group(2).split()
            kind = "ray start --head" if m.group(1) == "ray start" and "--head" in words else m.group(1)
            found.append((kind, words))
    return found


def _host_defaults(path: Path) -> dict[str, str]:
    """VAR -> default, from ``VAR=${VAR:-value}`` (shell) and ``VAR ?= value`` (make)."""
    text = path.read_text()
    pairs = re.findall(r"^([A-Z_]*HOST)=\$\{\1:-([^}]*)\}", text, re.M) + \
        re.findall(r"^([A-Z_]*HOST)\s*\?=\s*(\S+)", text, re.M)
    return dict(pairs)


@pytest.mark.parametrize("name", ["infra/local/cluster.sh", "Makefile"])
def test_every_server_started_locally_binds_loopback(name):
    path = REPO / name
    starts = _server_starts(path)
    if name.endswith(".sh"):
        assert {k for k, _ in starts} >= {"ray start --head", "ray start", "mlflow server", "moto_server"}, starts
    defaults = {**_host_defaults(REPO / "infra" / "ports.mk"), **_host_defaults(path)}
    for kind, words in starts:
        for flags in SERVERS[kind]:
            values = [words[i + 1] for i, w in enumerate(words[:-1]) if w in flags]
            values += [w.split("=", 1)[1] for w in words if w.split("=", 1)[0] in flags and "=" in w]
            assert values, f"{name}: `{kind}` has no {flags[0]} (it would listen on every interface): {words}"
            for v in values:
                var = re.sub(r"[${}()]", "", v)
                assert LOOPBACK.match(v) and (v == "127.0.0.1" or defaults.get(var) == "127.0.0.1"), \
                    f"{name}: `{kind} {flags[0]} {v}` is not 127.0.0.1 by default"
