"""Every registered text tower: sizes, shapes, padding invariance, gradients, seeded init, pooling rules.

Every tower is constructed on the meta device (no memory, no init cost) to check its width, pooling rule and
parameter count. Full behaviour (real forward/backward) runs on the tiny towers and on MiniLM (``minilm_l6`` with
its pretrained weights, ``minilm_l6_scratch`` random); the small/base towers (13M-86M block parameters) get the
construction checks only, to keep this file fast on 2 CPU cores; tests/unit/test_models.py runs a real forward of
every tower. Non-MiniLM towers are built with an odd 777-token vocabulary: any tokenizer's size must work.
"""

import pytest
import torch
from litlab.models.text.base import POOLERS, last_index, last_token_pool, mean_pool, trim_padding
from litlab.models.text_towers import PRETRAINED_TEXT_TOWERS, TEXT_TOWERS, build_text_tower
from litlab.registry import UnknownNameError
from litlab.row_sync import average_rows, exclude_token_tables


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Inputs here are a few tokens: one thread is faster than two, and immune to a busy second core."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

MINILM_VOCAB = 30522  # MiniLM's WordPiece
VOCAB, MAX_LEN, PAD = 777, 12, 0
ALL = TEXT_TOWERS.names()
BEHAVIOUR = [n for n in ALL if n.endswith("_tiny") or n.startswith("minilm")]
RANDOM_BEHAVIOUR = [n for n in BEHAVIOUR if n not in PRETRAINED_TEXT_TOWERS]

# width, and parameters outside the token/position/type embedding tables (blocks, norms, T5's relative bias)
EXPECTED = {
    "minilm_l6": (384, 10.6e6), "minilm_l6_scratch": (384, 10.6e6),
    "bert_tiny": (128, 0.40e6), "bert_small": (512, 12.6e6), "bert_base": (768, 85.1e6),
    "t5_tiny": (128, 0.39e6), "t5_small": (512, 18.9e6), "t5_base": (768, 84.9e6),
    "transformer_tiny": (128, 0.40e6), "transformer_small": (384, 21.3e6), "transformer_base": (768, 85.1e6),
}


def vocab_of(arch: str) -> int:
    return MINILM_VOCAB if arch.startswith("minilm") else VOCAB


def build(arch: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_text_tower(arch, arch in PRETRAINED_TEXT_TOWERS, vocab_of(arch), MAX_LEN).eval()


_CACHE: dict[str, torch.nn.Module] = {}


def tower(arch: str) -> torch.nn.Module:
    """One seed-0 build per tower for the whole file (in eval mode: dropout off); minilm_l6 is pretrained."""
    if arch not in _CACHE:
        _CACHE[arch] = build(arch)
    return _CACHE[arch]


def batch(arch: str, lengths=(5, 8, 3), width: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids (B, width) with ``lengths`` real tokens, pad id 0, and their mask."""
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(1, vocab_of(arch), (len(lengths), width), generator=gen)  # (B, T)
    mask = (torch.arange(width) < torch.tensor(lengths)[:, None]).long()  # (B, T)
    return ids * mask + PAD * (1 - mask), mask


def features(arch: str, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return tower(arch)(ids, mask)  # (B, F)


def block_params(model: torch.nn.Module) -> int:
    """Parameter count without the token, position and token-type tables (T5's tied tables counted once)."""
    tables = {id(p): p for n, p in model.named_parameters(remove_duplicate=False)
              if n == "pos" or n.endswith(("word_embeddings.weight", "position_embeddings.weight",
                                            "token_type_embeddings.weight", "shared.weight", "embed.weight"))}
    return sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in tables.values())


def test_every_registered_tower_has_an_expected_size():
    assert sorted(EXPECTED) == ALL


@pytest.mark.parametrize("arch", ALL)
def test_construction_width_pooling_and_parameter_count(arch):
    with torch.device("meta"):
        model = build_text_tower(arch, False, vocab_of(arch), MAX_LEN)
    width, blocks = EXPECTED[arch]
    assert model.feature_dim == width
    assert model.pooling == ("last" if arch.startswith("transformer") else "mean")
    assert block_params(model) == pytest.approx(blocks, rel=0.03)


@pytest.mark.parametrize("arch", BEHAVIOUR)
def test_output_shape_is_batch_by_feature_dim(arch):
    ids, mask = batch(arch, lengths=(3, 2), width=4)
    out = features(arch, ids, mask)
    assert out.shape == (2, tower(arch).feature_dim) and torch.isfinite(out).all()


@pytest.mark.parametrize("arch", BEHAVIOUR)
def test_appending_pads_changes_nothing(arch):
    ids, mask = batch(arch, width=8)
    longer_ids = torch.cat([ids, torch.full((3, 4), PAD)], 1)  # (B, 12)
    longer_mask = torch.cat([mask, torch.zeros(3, 4, dtype=mask.dtype)], 1)  # (B, 12)
    torch.testing.assert_close(features(arch, longer_ids, longer_mask), features(arch, ids, mask),
                               atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", BEHAVIOUR)
def test_only_real_tokens_matter_up_to_the_last_one(arch):
    ids, mask = batch(arch)
    base = features(arch, ids, mask)
    in_padding = ids.clone()
    in_padding[0, 6] = 42  # row 0 has 5 real tokens: position 6 is padding
    torch.testing.assert_close(features(arch, in_padding, mask), base, atol=1e-5, rtol=1e-5)
    last_real = ids.clone()
    last_real[0, 4] = 42 if ids[0, 4] != 42 else 43  # the last real token (the end token) of row 0
    changed = features(arch, last_real, mask)
    assert (changed[0] - base[0]).abs().max() > 1e-4
    torch.testing.assert_close(changed[1:], base[1:], atol=1e-5, rtol=1e-5)  # rows are independent


@pytest.mark.parametrize("arch", BEHAVIOUR)
def test_an_all_pad_row_gives_finite_features(arch):
    ids, mask = batch(arch, lengths=(4, 0), width=6)
    out = features(arch, ids, mask)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(features(arch, ids[:1], mask[:1]), out[:1], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", BEHAVIOUR)
def test_gradients_reach_the_token_embeddings(arch):
    model = tower(arch)
    model.zero_grad(set_to_none=True)
    ids, mask = batch(arch)
    model(ids, mask).square().sum().backward()
    table = next(m for m in model.modules() if isinstance(m, torch.nn.Embedding) and m.num_embeddings == vocab_of(arch))
    used = ids[mask.bool()].unique()
    grad = table.weight.grad
    assert grad is not None and (grad[used].abs().sum(1) > 0).all()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad and p.ndim > 1)
    model.zero_grad(set_to_none=True)


@pytest.mark.parametrize("arch", RANDOM_BEHAVIOUR)
def test_random_init_is_deterministic_under_a_seed(arch):
    same, other = build(arch, seed=0).state_dict(), build(arch, seed=1).state_dict()
    reference = tower(arch).state_dict()
    assert all(torch.equal(reference[k], v) for k, v in same.items())
    assert any(not torch.equal(reference[k], v) for k, v in other.items())


@pytest.mark.parametrize("arch", BEHAVIOUR)
def test_forward_is_the_declared_pooling_of_the_token_states(arch):
    model = tower(arch)
    ids, mask = batch(arch)
    with torch.no_grad():
        tokens = model.encode_tokens(ids, mask)  # (B, T, F)
    pool = {"last": last_token_pool, "mean": mean_pool}[model.pooling]
    torch.testing.assert_close(features(arch, ids, mask), pool(tokens, mask))


@pytest.mark.parametrize("arch", BEHAVIOUR)
def test_trailing_padding_is_not_encoded_and_features_and_gradients_are_as_if_it_were(arch):
    """In float64, so that what is left is the float rounding of sums over other lengths (~1e-16): the only
    gradients that differ by more are attention key biases, whose true gradient is 0 (softmax ignores a shift)."""
    model = build(arch).double()
    ids, mask = batch(arch, lengths=(5, 3, 4), width=MAX_LEN)  # 7 columns of padding in every row
    assert trim_padding(ids, mask)[0].shape == (3, 5)
    seen = []
    hook = model.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[1]))
    trimmed = model(ids, mask)  # (B, F)
    hook.remove()
    untrimmed = POOLERS[model.pooling](model.encode_tokens(ids, mask), mask)  # every column encoded
    assert seen == [MAX_LEN]  # forward was given 12 columns (and encoded 5)
    torch.testing.assert_close(trimmed, untrimmed, rtol=1e-12, atol=1e-12)
    params = [p for p in model.parameters() if p.requires_grad]
    got = torch.autograd.grad(trimmed.square().sum(), params, allow_unused=True)
    want = torch.autograd.grad(untrimmed.square().sum(), params, allow_unused=True)
    for (name, _), g, w in zip(((n, p) for n, p in model.named_parameters() if p.requires_grad), got, want,
                               strict=True):
        if w is None:
            assert g is None, name
        else:
            torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-12, msg=name)


def test_padding_is_kept_where_a_row_is_all_padding_or_none_trails():
    ids, mask = batch("transformer_tiny", lengths=(4, 0), width=6)
    assert trim_padding(ids, mask)[0] is ids  # the all-pad row attends to every position: its length matters
    ids, mask = batch("transformer_tiny", lengths=(6, 2), width=6)
    assert trim_padding(ids, mask)[0] is ids


def test_last_token_pooling_picks_the_last_real_position():
    tokens = torch.arange(2 * 5, dtype=torch.float32).reshape(2, 5, 1)  # (B, T, 1): value = 5*row + position
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert last_index(mask).tolist() == [2, 4]
    assert last_token_pool(tokens, mask).flatten().tolist() == [2.0, 9.0]
    assert last_index(torch.tensor([[0, 1, 1, 0], [0, 0, 0, 0]])).tolist() == [2, 0]  # any layout; empty -> 0
    torch.testing.assert_close(mean_pool(tokens, mask).flatten(), torch.tensor([1.0, 7.0]))


def test_scratch_minilm_has_the_pretrained_parameters_but_not_their_values():
    pretrained = tower("minilm_l6").state_dict()
    scratch = tower("minilm_l6_scratch").state_dict()
    assert {k: v.shape for k, v in scratch.items()} == {k: v.shape for k, v in pretrained.items()}
    matrices = [k for k, v in pretrained.items() if v.ndim == 2]
    assert matrices and all(not torch.allclose(scratch[k], pretrained[k]) for k in matrices)


def test_random_init_towers_refuse_pretrained_and_take_any_vocabulary():
    with pytest.raises(ValueError, match="no pretrained weights.*minilm_l6"):
        build_text_tower("t5_tiny", True, VOCAB, MAX_LEN)
    with pytest.raises(ValueError, match="wordpiece_minilm"):
        build_text_tower("minilm_l6", True, VOCAB, MAX_LEN)
    scratch = build_text_tower("minilm_l6_scratch", False, VOCAB, MAX_LEN)
    assert scratch.bert.embeddings.word_embeddings.num_embeddings == VOCAB


def test_unknown_name_lists_the_valid_names_pretrained_first():
    with pytest.raises(UnknownNameError) as err:
        TEXT_TOWERS.get("t5_large")
    message = str(err.value)
    assert f"valid: {PRETRAINED_TEXT_TOWERS[0]}" in message and all(name in message for name in ALL)
    assert "did you mean" in message


@pytest.mark.parametrize("arch", BEHAVIOUR)
def test_the_vocabulary_gradient_stays_in_the_rows_looked_up(arch):
    """litlab.row_sync averages a vocabulary table by the ids its forward looked up: every tower family must read
    its table only through nn.Embedding's forward (and hold it in no other module)."""
    model = build(arch).train()
    names = exclude_token_tables(model, min_rows=vocab_of(arch))
    assert len(names) == 1  # the vocabulary; position and segment tables are shorter
    ids, mask = batch(arch)
    model(ids, mask).square().sum().backward()
    weight = model.get_parameter(names[0])
    record = next(m.looked_up for m in model.modules() if hasattr(m, "looked_up"))
    looked_up = torch.cat(record.ids).unique()
    average_rows([(weight, record)], 1)  # world 1: only the first-step check that no other row has a gradient
    touched = weight.grad.ne(0).any(1).nonzero().flatten()
    assert set(touched.tolist()) <= set(looked_up.tolist()) and len(touched) > 0
