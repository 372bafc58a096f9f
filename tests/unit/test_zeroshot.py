import numpy as np
import pytest
import torch
import torch.nn.functional as F
from litlab.evaluators.prompts import TEMPLATES, prompts
from litlab.evaluators.sets import LabelledEvalSet
from litlab.evaluators.suite import EVALUATORS, Context
from litlab.evaluators.zeroshot import classification_metrics
from litlab.tokenizers import Tokenized


def test_oracle_scores_one_and_shuffled_near_chance():
    torch.manual_seed(0)
    labels = torch.arange(10).repeat(100)
    oracle = F.one_hot(labels, 10).float()
    assert classification_metrics(oracle, labels) == {"top1": 1.0, "top5": 1.0, "mean_per_class_recall": 1.0}
    shuffled = classification_metrics(oracle[torch.randperm(1000)], labels)
    assert abs(shuffled["top1"] - 0.1) < 0.05 and abs(shuffled["top5"] - 0.5) < 0.1


def test_metrics_match_a_naive_count():
    scores = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1]])
    labels = torch.tensor([0, 1, 1, 2])
    m = classification_metrics(scores, labels)
    assert m["top1"] == pytest.approx(2 / 4)  # rows 0 and 2
    assert m["mean_per_class_recall"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["top5"] == 1.0  # 3 classes: top-k clips to 3


class KeyModel(torch.nn.Module):
    """Embeds an image by its mean colour channel and a prompt by its first token: a known answer."""

    def encode_image(self, images):  # (B, H, W, 3) uint8 -> one-hot of the brightest channel
        return F.one_hot(images.float().mean((1, 2)).argmax(1), 3).float()

    def encode_text(self, ids, mask):
        return F.one_hot(ids[:, 0], 3).float()


def test_zeroshot_evaluator_end_to_end_with_known_answers():
    images = np.zeros((3, 4, 4, 3), np.uint8)
    for c in range(3):
        images[c, ..., c] = 255
    names = ("red", "green", "blue")

    def tokenize(texts):
        ids = np.array([[names.index(t.split()[-1].rstrip("."))] for t in texts])
        return Tokenized(ids, np.ones_like(ids))

    zeroshot, ctx = EVALUATORS.get("zeroshot").run, Context(tokenize=tokenize, templates="simple", batch_size=2)
    m = zeroshot(KeyModel(), [LabelledEvalSet(images, np.array([0, 1, 2]), names)], ctx)
    assert m["top1"] == 1.0
    m = zeroshot(KeyModel(), [LabelledEvalSet(images, np.array([1, 2, 0]), names)], ctx)
    assert m["top1"] == 0.0


@pytest.mark.parametrize("name", TEMPLATES.names())
def test_every_template_set_formats_the_class(name):
    assert all("sneaker" in p for p in prompts("sneaker", name))
