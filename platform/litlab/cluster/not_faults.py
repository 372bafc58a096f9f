"""Ray Train retries faults, not mistakes: a ConfigError or DataError in a worker fails its run at once.

How Ray Train 2.60 (Train V2) decides: the controller polls the worker group; a worker's exception arrives as a
``WorkerGroupError`` and ``DefaultFailurePolicy`` retries every WorkerGroupError until ``FailureConfig.max_failures``
is spent, whatever it holds (``ray/train/v2/_internal/execution/failure_handling/default.py``). It raises at once
only for a ``ControllerError`` that is not a worker-group start-up failure. ``UserCallback.after_exception`` (public
API, ``ray.train.UserCallback``) is called by the controller with the workers' exceptions before the policy decides
(``UserCallbackHandler.after_worker_group_poll_status``); an exception raised there ends the control-loop iteration,
the controller wraps it in a ControllerError, and the policy gives RAISE: no restart, the run fails with it.

So ``StopOnNotAFault`` raises the worker's own ConfigError/DataError from that hook, ``fit`` unwraps it to that
error, and a worker killed, a lost node or a storage error still gets its ``max_failures`` restarts. The controller
sees only the exception the worker raised (an exception's ``__cause__`` does not survive pickling), so
``surfaced()`` in the worker lifts a ConfigError/DataError that another exception was raised from to the top.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import ray.train
from ray.train import UserCallback

from litlab.config import ConfigError
from litlab.errors import DataError, not_a_fault


def worker_error(err: BaseException) -> BaseException:
    """The exception a worker raised, out of Ray Train's wrapper (which keeps it as ``_base_exc``)."""
    return getattr(err, "_base_exc", err)


class StopOnNotAFault(UserCallback):
    """Fails the run at once when a worker raised a ConfigError or DataError (see the module docstring)."""

    def after_exception(self, run_context: Any, worker_exceptions: dict[int, Exception]) -> None:
        for rank, err in sorted(worker_exceptions.items()):
            found = not_a_fault(worker_error(err))
            if found is not None:
                print(f"rank {rank}: {type(found).__name__}, not a fault: failing the run without a restart",
                      flush=True)
                raise found


@contextlib.contextmanager
def surfaced() -> Iterator[None]:
    """In a worker: a ConfigError/DataError that a failure was raised from (a Ray Data task's error, say) is
    re-raised as itself, so the controller can tell it from a fault."""
    try:
        yield
    except (ConfigError, DataError):
        raise
    except Exception as err:
        found = not_a_fault(err)
        if found is None:
            raise
        kind = ConfigError if isinstance(found, ConfigError) else DataError
        raise kind(*found.args) from err


def fit(trainer: Any) -> ray.train.Result:
    """``trainer.fit()`` that raises a ConfigError/DataError as itself (Ray Train reports it as a controller
    error); any other failure as Ray Train raises it."""
    try:
        return trainer.fit()
    except ray.train.ControllerError as err:
        found = not_a_fault(err.controller_failure)
        if found is None:
            raise
        raise found from None
