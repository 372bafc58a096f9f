"""Gloo process groups on this machine for the benchmarks that time a step across workers, without Ray. Not a script.

``run_ranks(fn, world, *args)`` starts ``world`` processes, each calling ``fn(rank, world, port, out, *args)`` with a
free loopback port and a dict they share (a ``multiprocessing.Manager``'s, where rank 0 leaves its figures), waits for
them and returns that dict. ``join(rank, world, port)`` is the first thing such a worker does: one torch thread, as a
demo Ray worker has, and the process group.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ranks(fn: Callable[..., None], world: int, *args: Any,
              start_method: Literal["fork", "spawn"] = "fork") -> dict[str, Any]:
    """Run ``fn(rank, world, port, out, *args)`` in ``world`` processes; ``out`` as they left it (a plain dict)."""
    out = mp.Manager().dict()
    mp.start_processes(fn, args=(world, free_port(), out, *args), nprocs=world, join=True, start_method=start_method)
    return dict(out)


def join(rank: int, world: int, port: int, threads: int = 1) -> None:
    """Set this worker's torch threads (first: in a forked child) and join the gloo group on ``port``."""
    torch.set_num_threads(threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
