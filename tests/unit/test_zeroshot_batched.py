"""Class embeddings from every prompt in batches (litlab.evaluators.zeroshot) against today's path before it (one
text-tower call per class): the same embeddings up to float32 rounding, the same metrics, on real sets with the
real pretrained MiniLM text tower."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from litlab.config import RunConfig, apply_overrides
from litlab.evaluators.prompts import prompts
from litlab.evaluators.resolve import load_set
from litlab.evaluators.zeroshot import class_embeddings, classification_metrics, image_embeddings
from litlab.models.build import build_model
from litlab.tokenizers import get_tokenizer


@torch.no_grad()
def per_class(model, classnames, template_set, tokenize) -> torch.Tensor:
    """The earlier computation: one call of the text tower per class."""
    out = []
    for name in classnames:
        tok = tokenize(prompts(name, template_set))
        ztxt = model.encode_text(torch.from_numpy(tok.ids), torch.from_numpy(tok.mask))
        out.append(F.normalize(ztxt.mean(0), dim=-1))
    return torch.stack(out)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = apply_overrides(RunConfig(), {"setup": "LU", "image.arch": "mobilenet_v2", "image.size": 32,
                                        "text.arch": "minilm_l6"})
    return build_model(cfg).eval()


@pytest.mark.parametrize("template_set", ["classname", "simple"])
def test_batched_class_embeddings_give_the_same_metrics(model, tiny_shards, template_set):
    tokenize = get_tokenizer("wordpiece_minilm", 16)
    fmnist = load_set("zeroshot/fmnist-test", "fmnist-test", None, str(tiny_shards), 32, 200)
    emoji = load_set("retrieval/emoji-heldout", "emoji-heldout", None, str(tiny_shards), 32, 200)
    first = {int(img): cap for cap, img in reversed(list(zip(emoji.captions, emoji.caption_to_image, strict=True)))}
    names = sorted(set(first.values()))  # many classes: each held-out emoji's first caption
    emoji_labels = [names.index(first[i]) for i in range(len(emoji.images))]
    assert len(names) >= 20
    for classnames, images, labels in ((fmnist.classnames, fmnist.images, fmnist.labels),
                                       (names, emoji.images, emoji_labels)):
        old = per_class(model, classnames, template_set, tokenize)
        new = class_embeddings(model, classnames, template_set, tokenize, batch_size=64)
        assert new.shape == old.shape
        torch.testing.assert_close(new, old, rtol=0, atol=1e-6)
        zimg = image_embeddings(model, images, 64)
        labels = torch.as_tensor(labels)
        assert classification_metrics(zimg @ new.T, labels) == classification_metrics(zimg @ old.T, labels)
