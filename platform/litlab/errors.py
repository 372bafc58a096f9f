"""Errors that are the user's to fix, not faults to retry.

A ``ConfigError`` (a bad key or value, ``litlab.config``) or a ``DataError`` (data that cannot be used as configured:
a missing split or column, an evaluation set that does not resolve) fails the same way on every attempt, so a run
that raises one fails at once: ``litlab.cluster.not_faults`` stops Ray Train from spending ``train.max_failures``
restarts on it. Every other exception (a worker killed, a node lost, storage that does not answer) stays a fault
and keeps its retries. The preflight (``litlab.preflight``) finds these errors before any training starts; this
is the guard for what changes after it (a file deleted mid-sweep, a run started without a preflight).
"""

from __future__ import annotations

from litlab.config import ConfigError


class DataError(ValueError):
    """Data that cannot be used as configured; the message names the path or column and says how to fix it."""


NOT_FAULTS: tuple[type[Exception], ...] = (ConfigError, DataError)


def not_a_fault(err: BaseException | None) -> Exception | None:
    """The ConfigError or DataError that ``err`` is or was raised from (``raise ... from``, or the ``cause`` a Ray
    task error carries), the innermost one, else None. Implicit chaining ("during handling of ...") is another
    failure: not followed."""
    found, seen = None, set()
    while err is not None and id(err) not in seen:
        if isinstance(err, NOT_FAULTS):
            found = err
        seen.add(id(err))
        err = err.__cause__ or getattr(err, "cause", None)
    return found
