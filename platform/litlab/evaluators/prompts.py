"""Prompt template sets for zero-shot classification; each template has one ``{}`` for the class name."""

from __future__ import annotations

from litlab.registry import Registry

TEMPLATES: Registry[tuple[str, ...]] = Registry("prompt template set")

TEMPLATES.register("classname")(("{}",))
TEMPLATES.register("simple")(("a photo of a {}.",))
TEMPLATES.register("small")((
    "a photo of a {}.",
    "a photo of the {}.",
    "a black and white photo of a {}.",
    "a low resolution photo of a {}.",
    "a drawing of a {}.",
    "a close-up photo of a {}.",
    "itap of a {}.",
))


def prompts(classname: str, template_set: str) -> list[str]:
    return [t.format(classname) for t in TEMPLATES.get(template_set)]
