"""Prompt template sets for zero-shot classification; each template has one ``{}`` for the class name.

Sets: ``classname`` (the bare name), ``simple`` (one photo prompt), ``small`` (7 generic prompts),
``clip80`` (the 80 ImageNet templates published with CLIP, Radford et al. 2021), ``best`` (the 7-template
subset of clip80 that CLIP's prompt-engineering notebook recommends as an ensemble), and per-dataset sets
``fmnist`` (Fashion-MNIST clothing) and ``emoji`` (rendered emoji named by their CLDR names).
"""

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

TEMPLATES.register("clip80")((
    "a bad photo of a {}.",
    "a photo of many {}.",
    "a sculpture of a {}.",
    "a photo of the hard to see {}.",
    "a low resolution photo of the {}.",
    "a rendering of a {}.",
    "graffiti of a {}.",
    "a bad photo of the {}.",
    "a cropped photo of the {}.",
    "a tattoo of a {}.",
    "the embroidered {}.",
    "a photo of a hard to see {}.",
    "a bright photo of a {}.",
    "a photo of a clean {}.",
    "a photo of a dirty {}.",
    "a dark photo of the {}.",
    "a drawing of a {}.",
    "a photo of my {}.",
    "the plastic {}.",
    "a photo of the cool {}.",
    "a close-up photo of a {}.",
    "a black and white photo of the {}.",
    "a painting of the {}.",
    "a painting of a {}.",
    "a pixelated photo of the {}.",
    "a sculpture of the {}.",
    "a bright photo of the {}.",
    "a cropped photo of a {}.",
    "a plastic {}.",
    "a photo of the dirty {}.",
    "a jpeg corrupted photo of a {}.",
    "a blurry photo of the {}.",
    "a photo of the {}.",
    "a good photo of the {}.",
    "a rendering of the {}.",
    "a {} in a video game.",
    "a photo of one {}.",
    "a doodle of a {}.",
    "a close-up photo of the {}.",
    "a photo of a {}.",
    "the origami {}.",
    "the {} in a video game.",
    "a sketch of a {}.",
    "a doodle of the {}.",
    "a origami {}.",
    "a low resolution photo of a {}.",
    "the toy {}.",
    "a rendition of the {}.",
    "a photo of the clean {}.",
    "a photo of a large {}.",
    "a rendition of a {}.",
    "a photo of a nice {}.",
    "a photo of a weird {}.",
    "a blurry photo of a {}.",
    "a cartoon {}.",
    "art of a {}.",
    "a sketch of the {}.",
    "a embroidered {}.",
    "a pixelated photo of a {}.",
    "itap of the {}.",
    "a jpeg corrupted photo of the {}.",
    "a good photo of a {}.",
    "a plushie {}.",
    "a photo of the nice {}.",
    "a photo of the small {}.",
    "a photo of the weird {}.",
    "the cartoon {}.",
    "art of the {}.",
    "a drawing of the {}.",
    "a photo of the large {}.",
    "a black and white photo of a {}.",
    "the plushie {}.",
    "a dark photo of a {}.",
    "itap of a {}.",
    "graffiti of the {}.",
    "a toy {}.",
    "itap of my {}.",
    "a photo of a cool {}.",
    "a photo of a small {}.",
    "a tattoo of the {}.",
))

TEMPLATES.register("best")((
    "itap of a {}.",
    "a bad photo of the {}.",
    "a origami {}.",
    "a photo of the large {}.",
    "a {} in a video game.",
    "art of the {}.",
    "a photo of the small {}.",
))

TEMPLATES.register("fmnist")((
    "a photo of a {}, a type of clothing.",
    "a black and white photo of a {}, a type of clothing.",
    "a low resolution photo of a {}.",
    "a product photo of a {}.",
    "a grayscale image of a {}.",
))

TEMPLATES.register("emoji")((
    "an emoji of {}.",
    "{} emoji",
    "an icon of {}.",
    "a cartoon icon of {}.",
    "{}",
))


def prompts(classname: str, template_set: str) -> list[str]:
    """The prompts of ``template_set`` filled with ``classname``; unknown sets raise, listing the valid ones."""
    return [t.format(classname) for t in TEMPLATES.get(template_set)]
