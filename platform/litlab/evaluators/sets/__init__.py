"""Evaluation sets by name: ``load_eval_set("tuxpaint-stamps", root=None, size=224, max_images=0)``.

Shipped real data (Debian / npm packages, or the demo shards):
  fmnist-test, fmnist-idx-train, fmnist-idx-test       LabelledEvalSet  (10 classes)
  emoji-groups, emoji-subgroups                        LabelledEvalSet  (9 / 99 classes, Noto renders)
  emoji-vendors-heldout                                LabelledEvalSet  (~171 held-out emoji, Apple + Twitter art)
  emoji-heldout, tuxpaint-stamps                       RetrievalSet     (images vs captions)
  emoji-style-google-apple, -google-twitter, -apple-twitter   CrossStyleSet (same emoji, two art styles)
Your own copies (root required):
  image-folder, cifar100-test, cifar100-train, pets-test, pets-trainval   LabelledEvalSet
  coco-captions                                        RetrievalSet
``set_texts(name, root)`` lists a set's class names or captions without reading an image (``sets.texts``).
Every loader: ``max_images`` (0 = all) evenly spaced over a deterministic order, images through the eval
transform at ``size``, unreadable images counted in ``.skipped`` (and logged), missing files named.
"""

from litlab.evaluators.sets import (  # noqa: F401 - importing registers the loaders
    cifar100,
    coco,
    emoji_groups,
    emoji_heldout,
    emoji_styles,
    emoji_vendors,
    fashion_mnist,
    image_folder,
    pets,
    tuxpaint,
)
from litlab.evaluators.sets.registry import EVAL_SETS, Loader, load_eval_set
from litlab.evaluators.sets.texts import SET_TEXTS, SetTexts, set_texts
from litlab.evaluators.sets.types import CrossStyleSet, EvalSet, LabelledEvalSet, RetrievalSet

__all__ = ["EVAL_SETS", "SET_TEXTS", "CrossStyleSet", "EvalSet", "LabelledEvalSet", "Loader", "RetrievalSet",
           "SetTexts", "load_eval_set", "set_texts"]
