import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from litlab.evaluators.retrieval import retrieval_metrics
from litlab.evaluators.sets import RetrievalSet
from litlab.evaluators.suite import EVALUATORS, Context
from litlab.tokenizers import Tokenized

KS = (1, 5, 10)


def naive_metrics(zimg, ztxt, caption_to_image, ks=KS):
    """Reference: full similarity matrix, a sort per query with wrong items first among equal scores."""
    sim = (F.normalize(zimg, dim=-1) @ F.normalize(ztxt, dim=-1).T).tolist()  # (N, M)
    owner = caption_to_image.tolist()

    def first_right(scores, right):
        order = sorted(range(len(scores)), key=lambda j: (-scores[j], right[j]))  # False (wrong) sorts first
        return next(pos for pos, j in enumerate(order) if right[j])

    i2t = [first_right(sim[i], [owner[j] == i for j in range(len(owner))]) for i in range(len(sim))]
    t2i = [first_right([sim[i][j] for i in range(len(sim))], [i == owner[j] for i in range(len(sim))])
           for j in range(len(owner))]
    out = {f"i2t_r{k}": sum(r < k for r in i2t) / len(i2t) for k in ks}
    return out | {f"t2i_r{k}": sum(r < k for r in t2i) / len(t2i) for k in ks}


def uneven_captions(n_images, rng):
    """caption -> image with 1..5 captions per image, in shuffled order."""
    counts = rng.integers(1, 6, n_images)
    return torch.from_numpy(rng.permutation(np.repeat(np.arange(n_images), counts)))


def test_matches_naive_reference_on_random_embeddings_with_uneven_captions():
    rng = np.random.default_rng(0)
    c2i = uneven_captions(40, rng)
    zimg = torch.from_numpy(rng.normal(size=(40, 8)))
    ztxt = zimg[c2i] + torch.from_numpy(rng.normal(scale=1.5, size=(len(c2i), 8)))  # noisy: recalls in (0, 1)
    got = retrieval_metrics(zimg, ztxt, c2i, ks=(1, 3, 5, 10), chunk_size=7)
    want = naive_metrics(zimg, ztxt, c2i, ks=(1, 3, 5, 10))
    assert got == pytest.approx(want, abs=1e-12)
    assert 0 < got["i2t_r1"] < 1 and 0 < got["t2i_r5"] < 1  # a non-trivial case


def test_matches_naive_reference_with_ties():
    rng = np.random.default_rng(1)
    grid = torch.tensor([[a, b, c, d] for a in (-.5, .5) for b in (-.5, .5) for c in (-.5, .5) for d in (-.5, .5)])
    zimg = grid[torch.from_numpy(rng.integers(0, 16, 30))]  # unit norm; dot products exact, many equal
    c2i = uneven_captions(30, rng)
    ztxt = grid[torch.from_numpy(rng.integers(0, 16, len(c2i)))]
    got = retrieval_metrics(zimg, ztxt, c2i, chunk_size=4)
    assert got == pytest.approx(naive_metrics(zimg, ztxt, c2i), abs=1e-12)
    assert got == retrieval_metrics(zimg, ztxt, c2i, chunk_size=1000)


def test_ties_count_against_the_query():
    zimg = torch.ones(3, 4)
    ztxt = torch.ones(6, 4)  # a collapsed model: every score equal
    c2i = torch.tensor([0, 0, 1, 1, 2, 2])
    m = retrieval_metrics(zimg, ztxt, c2i, ks=(1, 2, 3, 4, 5))
    # i2t: 4 wrong captions rank ahead of the right ones; t2i: 2 wrong images ahead of the right one
    assert m == {"i2t_r1": 0, "i2t_r2": 0, "i2t_r3": 0, "i2t_r4": 0, "i2t_r5": 1,
                 "t2i_r1": 0, "t2i_r2": 0, "t2i_r3": 1, "t2i_r4": 1, "t2i_r5": 1}


def test_oracle_scores_one():
    torch.manual_seed(0)
    zimg = torch.linalg.qr(torch.randn(64, 64)).Q[:50]  # (50, 64) orthonormal rows
    c2i = uneven_captions(50, np.random.default_rng(2))
    ztxt = zimg[c2i] * 3.0  # captions equal their image (up to scale, normalised away)
    assert set(retrieval_metrics(zimg, ztxt, c2i, chunk_size=16).values()) == {1.0}


def test_shuffled_pairs_score_near_chance():
    rng = np.random.default_rng(3)
    n, per = 400, 2
    zimg = torch.from_numpy(rng.normal(size=(n, 32))).float()
    c2i = torch.arange(n).repeat_interleave(per)
    ztxt = zimg[c2i] + 0.1 * torch.randn(len(c2i), 32, generator=torch.Generator().manual_seed(3))
    m = retrieval_metrics(zimg, ztxt, c2i[torch.from_numpy(rng.permutation(n * per))])
    m_total = n * per
    for k in KS:
        p_t2i = k / n
        p_i2t = 1 - math.comb(m_total - per, k) / math.comb(m_total, k)  # any of `per` captions in k draws
        assert abs(m[f"t2i_r{k}"] - p_t2i) < 4 * math.sqrt(p_t2i * (1 - p_t2i) / m_total) + 1e-3
        assert abs(m[f"i2t_r{k}"] - p_i2t) < 4 * math.sqrt(p_i2t * (1 - p_i2t) / n) + 1e-3


def test_rejects_images_without_captions_and_bad_shapes():
    zimg, ztxt = torch.randn(4, 8), torch.randn(3, 8)
    with pytest.raises(ValueError, match="1 images have no caption"):
        retrieval_metrics(zimg, ztxt, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="share D"):
        retrieval_metrics(zimg, torch.randn(3, 5), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="index images"):
        retrieval_metrics(zimg, ztxt, torch.tensor([0, 1, 4]))


class ColourModel(torch.nn.Module):
    """Embeds an image by its brightest channel and a caption by its first token: known answers."""

    def encode_image(self, images):  # (B, H, W, 3) uint8
        return F.one_hot(images.float().mean((1, 2)).argmax(1), 3).float()

    def encode_text(self, ids, mask):
        return F.one_hot(ids[:, 0], 3).float()


def test_retrieval_evaluator_end_to_end_with_known_answers():
    images = np.zeros((3, 4, 4, 3), np.uint8)
    for c in range(3):
        images[c, ..., c] = 255
    names = ["red", "green", "blue"]
    captions = ("red thing", "a blue one", "green", "blue", "red")

    def tokenize(texts):
        ids = np.array([[next(i for i, n in enumerate(names) if n in t)] for t in texts])
        return Tokenized(ids, np.ones_like(ids))

    retrieval, ctx = EVALUATORS.get("retrieval").run, Context(tokenize=tokenize, templates="simple", batch_size=2)
    m = retrieval(ColourModel(), [RetrievalSet(images, captions, np.array([0, 2, 1, 2, 0]))], ctx)
    assert (m["i2t_r1"], m["t2i_r1"]) == (1.0, 1.0)
    m = retrieval(ColourModel(), [RetrievalSet(images, captions, np.array([1, 0, 2, 1, 0]))], ctx)
    assert m["t2i_r1"] == pytest.approx(1 / 5)  # only "red" -> image 0 is right
