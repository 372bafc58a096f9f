"""What every shard source is: cheap, picklable work items, and a ``load`` that turns one item into a Record.

The split lets the shard builder run ``load`` anywhere: in one process (``python -m litlab.cluster.build_shards``) or
spread over a Ray cluster (``litlab.cluster.build_shards``), ``rows_per_shard`` items per task. ``items()``
must be deterministic (same input, same order), so shard ``i`` always holds the same items.

A source raises ``SkipRecord(reason)`` from ``load`` for an item it cannot use (a missing image file, an empty
caption); the builder counts it by reason in ``_stats.json`` and goes on. Reasons are short snake_case words.

Sources register themselves with ``@SOURCES.register("name")`` on a frozen dataclass whose fields are its
options: ``input`` (a local path or ``s3://`` URI; shipped sources default to where their package installs)
and source-specific ones. ``make_source("coco", {"input": ..., "images": ...})`` builds one from strings,
with an error naming any unknown option and listing the valid ones.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from litlab.data.shards import Record
from litlab.registry import Registry


class SkipRecord(Exception):
    """An item the source cannot turn into a record; ``reason`` is the counter it goes under."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class Source(Protocol):
    def items(self) -> Iterator[Any]:
        """Work items in a fixed order; small and picklable (paths, ids, short captions)."""
        ...

    def load(self, item: Any) -> Record:
        """The record of one item (image bytes read and encoded); raises SkipRecord for unusable ones."""
        ...


SOURCES: Registry[type] = Registry("shard source")


def _convert(value: str, annotation: Any, name: str) -> Any:
    """A CLI string as the option's type (str, int, float, bool, or an Optional of those)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    target = args[0] if args else annotation
    if target is bool:
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise ValueError(f"option {name}={value!r}: expected true or false")
    if target in (int, float):
        try:
            return target(value)
        except ValueError:
            raise ValueError(f"option {name}={value!r}: expected {target.__name__}") from None
    return value


def make_source(name: str, options: Mapping[str, Any]) -> Source:
    """Build the source registered as ``name``; string values are converted to the options' types."""
    cls = SOURCES.get(name)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)} for source {name!r}; "
                         f"valid: {', '.join(fields) or 'none'}")
    missing = [f.name for f in fields.values() if f.name not in options
               and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ValueError(f"source {name!r} needs option(s) {', '.join(missing)}")
    values = {k: _convert(v, hints[k], k) if isinstance(v, str) else v for k, v in options.items()}
    return cls(**values)


def iter_records(source: Source, items: Iterator[Any] | list[Any], skipped: dict[str, int]) -> Iterator[Record]:
    """``source.load`` over ``items``; SkipRecord is counted in ``skipped`` by reason, anything else raises."""
    for item in items:
        try:
            yield source.load(item)
        except SkipRecord as skip:
            skipped[skip.reason] = skipped.get(skip.reason, 0) + 1
