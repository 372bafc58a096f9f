"""Every tokenizer, shipped or trained, follows the padding and pooling rules of litlab.tokenizers.

NAMES holds every registered tokenizer plus one trained per kind (``trained:<kind>`` stands for the ``file:``
name of a tokenizer trained here on real captions: CLDR emoji names, written as shards). CLIP's BPE is checked
against open_clip's own SimpleTokenizer; WordPiece and CLIP against ids published with BERT and CLIP.
"""

import importlib.util
import json
import pickle
import shutil
import sys
import types
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch
from litlab.config import ConfigError, RunConfig, apply_overrides, from_dict, to_dict
from litlab.data.shards import Record, encode_jpeg, write_shards
from litlab.data.sources.emoji import parse_emoji_test
from litlab.models.text.base import last_index
from litlab.models.text_towers import build_text_tower
from litlab.registry import UnknownNameError
from litlab.tokenizers import DEFAULT_MAX_LEN, TOKENIZERS, get_tokenizer
from litlab.tokenizers.__main__ import main
from litlab.tokenizers.clip_bpe import _QUOTES
from litlab.tokenizers.train import KINDS, SPECIAL_TOKENS, train_on_split
from litlab.zoo import package_path
from PIL import Image

NAMES = TOKENIZERS.names() + [f"trained:{kind}" for kind in KINDS.names()]
BYTE_LEVEL = {"bpe_clip", "sentencepiece_mistral", "trained:bpe"}  # no character is ever unknown
LONG = " ".join(["a very long caption about a red dress and a blue coat"] * 6)
UNICODE = ["grinning face 😀", "café crème brûlée", "日本語のキャプション", "👩‍👩‍👧‍👦 family", "Ünïcödé ß"]
VOCAB = 600


@pytest.fixture(scope="module")
def captions() -> list[str]:
    """240 real captions: CLDR emoji names (accents, flags, punctuation), every eighth of those without skin tone."""
    return [e.name for e in parse_emoji_test() if not e.has_skin_tone][::8][:240]


@pytest.fixture(scope="module")
def shards(tmp_path_factory, captions) -> str:
    jpg = encode_jpeg(Image.new("RGB", (8, 8), (200, 30, 30)))
    out = tmp_path_factory.mktemp("caption-shards") / "train"
    write_shards([Record(f"cap/{i}", jpg, c, {}) for i, c in enumerate(captions)], out, rows_per_shard=100)
    return str(out)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, shards) -> dict[str, str]:
    """kind -> file: name of a tokenizer trained on ``shards``."""
    folder = tmp_path_factory.mktemp("trained")
    return {kind: train_on_split(shards, kind, VOCAB, str(folder / f"{kind}.json"), progress=lambda m: None).name
            for kind in KINDS.names()}


@pytest.fixture
def make(trained):
    def get(name: str, max_len: int = DEFAULT_MAX_LEN):
        return get_tokenizer(trained[name.split(":")[1]] if name.startswith("trained:") else name, max_len)

    return get


@pytest.mark.parametrize("name", NAMES)
def test_fixed_shape_right_padding_and_mask(name, make):
    tok = make(name, 12)
    out = tok(["a cat", "", "a photo of a red dress on a chair", LONG])
    assert out.ids.shape == out.mask.shape == (4, 12) and out.ids.dtype == out.mask.dtype == np.int64
    lengths = out.mask.sum(1)
    assert (out.mask == (np.arange(12) < lengths[:, None])).all(), "mask must be 1...1 0...0"
    assert (out.ids[out.mask == 0] == tok.pad_id).all()
    assert lengths[1] == tok.reserved and lengths[3] == 12 and lengths[0] < lengths[2]


@pytest.mark.parametrize("name", NAMES)
def test_end_token_is_the_last_real_token_even_when_truncated(name, make):
    for max_len in (2, 5, 16):
        tok = make(name, max_len)
        out = tok(["a cat", LONG, "", "grinning face 😀 " * 10])
        last = last_index(torch.from_numpy(out.mask)).numpy()  # where "last" pooling reads
        assert (out.ids[np.arange(4), last] == tok.end_id).all()
        if tok.start_id is not None:
            assert (out.ids[:, 0] == tok.start_id).all()


@pytest.mark.parametrize("name", NAMES)
def test_empty_string_is_start_and_end(name, make):
    tok = make(name)
    out = tok([""])
    expected = [i for i in (tok.start_id, tok.end_id) if i is not None] + [tok.pad_id] * (16 - tok.reserved)
    assert out.ids[0].tolist() == expected and tok.decode(out) == [""]
    assert tok([]).ids.shape == (0, 16)


@pytest.mark.parametrize("name", NAMES)
def test_unicode_and_emoji_captions(name, make):
    tok = make(name, 32)
    out = tok(UNICODE)
    assert (out.mask.sum(1) > tok.reserved).all() and (out.ids < tok.vocab_size).all()
    if name in BYTE_LEVEL:  # every byte has a token: the text comes back whole
        assert [d.replace(" ", "") for d in tok.decode(out)][0].endswith("😀")
        assert "👩‍👩‍👧‍👦" in tok.decode(out)[3]


@pytest.mark.parametrize("name", NAMES)
def test_vocab_size_covers_every_id(name, make, captions):
    tok = make(name, 64)
    assert all(0 <= i < tok.vocab_size for i in tok.specials.ids())
    ids = tok(captions + UNICODE + [LONG]).ids
    assert ids.min() >= 0 and ids.max() < tok.vocab_size
    assert isinstance(tok.decode_content([tok.vocab_size - 1]), str)  # the last id is a real entry


@pytest.mark.parametrize("name", NAMES)
def test_batch_is_row_by_row(name, make):
    tok, texts = make(name), ["a cat", LONG, "", "café 😀"]
    batch = tok(texts)
    for i, text in enumerate(texts):
        assert (tok([text]).ids[0] == batch.ids[i]).all()


@pytest.mark.parametrize("name", NAMES)
def test_every_tokenizer_feeds_the_end_token_pooling_tower(name, make):
    """transformer_tiny pools at the end token; its embedding table takes the tokenizer's vocab_size (BERT and T5
    towers take any size too: test_text_towers builds them with an odd one)."""
    tok = make(name)
    out = tok(["a photo of a cat", LONG, ""])
    torch.manual_seed(0)
    tower = build_text_tower("transformer_tiny", False, tok.vocab_size, tok.max_len).eval()
    assert tower.pooling == "last" and tower.embed.num_embeddings == tok.vocab_size
    with torch.no_grad():
        z = tower(torch.from_numpy(out.ids), torch.from_numpy(out.mask))
    assert z.shape == (3, tower.feature_dim) and torch.isfinite(z).all()


@pytest.mark.parametrize("name", NAMES)
def test_pickles_by_name(name, make):
    tok = make(name, 9)
    again = pickle.loads(pickle.dumps(tok))
    assert (again.name, again.max_len) == (tok.name, 9) and (again(["a cat"]).ids == tok(["a cat"]).ids).all()


def test_default_length_is_the_papers_16():
    assert DEFAULT_MAX_LEN == 16 == RunConfig().text.max_len
    assert get_tokenizer("wordpiece_minilm").max_len == 16


@pytest.mark.parametrize(("name", "ids"), [
    ("wordpiece_minilm", [101, 1037, 6302, 1997, 1037, 4937, 102]),  # BERT uncased: a photo of a cat
    ("bpe_clip", [49406, 320, 1125, 539, 320, 2368, 49407]),  # CLIP's README / open_clip
    ("sentencepiece_mistral", [1, 264, 8428, 302, 264, 5255, 2]),
])
def test_known_ids(name, ids):
    assert get_tokenizer(name)(["a photo of a cat"]).ids[0, : len(ids)].tolist() == ids


@pytest.mark.parametrize("name", [n for n in NAMES if n != "sentencepiece_mistral"])
def test_uncased_tokenizers_ignore_case_and_spacing(name, make):
    out = make(name)(["a photo of a cat", " A Photo\tof  a CAT "])
    assert (out.ids[0] == out.ids[1]).all()


def test_clip_ids_equal_open_clips_simple_tokenizer(monkeypatch):
    """open_clip's tokenizer module, loaded alone (its package __init__ pulls in the whole library), with
    ftfy stubbed (not a dependency) on texts ftfy leaves alone: NFC, straight quotes."""
    path = package_path("open_clip", "tokenizer.py")
    monkeypatch.setitem(sys.modules, "ftfy", types.SimpleNamespace(fix_text=lambda t: t))
    spec = importlib.util.spec_from_file_location("open_clip_tokenizer_reference", path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    texts = [e.name for e in parse_emoji_test()][::10] + [e.text for e in parse_emoji_test()][::20] + UNICODE + [
        LONG, "", "  Tabs\tand\nnewlines  ", "&amp;lt;b&amp;gt; HTML", "it's 2024, isn't it?", "<|endoftext|>"]
    texts = [t for t in texts if t == unicodedata.normalize("NFC", t).translate(_QUOTES)]
    for max_len in (16, 77):
        expected = ref.tokenize(texts, context_length=max_len).numpy()
        assert (get_tokenizer("bpe_clip", max_len)(texts).ids == expected).all()


def test_sentencepiece_never_emits_its_pad_id(captions):
    tok = get_tokenizer("sentencepiece_mistral", 64)
    out = tok(captions + UNICODE + ["\x00 control \x07 chars"])
    assert (out.ids[out.mask == 1] != tok.pad_id).all()  # pad = <unk>, and byte fallback never needs unk


@pytest.mark.parametrize("kind", KINDS.names())
def test_trained_tokenizer_round_trips_its_captions(kind, trained, captions):
    tok = get_tokenizer(trained[kind], 48)
    assert tok.vocab_size <= VOCAB and tok.specials.ids() == [0, 3, 2]  # [PAD], [SEP], [CLS]
    seen = tok.decode(tok(captions))
    for caption, text in zip(captions, seen, strict=True):
        expected = caption.lower()
        if kind == "wordpiece":  # BERT's uncased normalizer also strips accents
            expected = "".join(c for c in unicodedata.normalize("NFD", expected) if not unicodedata.combining(c))
        assert "".join(text.split()) == "".join(expected.split()), (caption, text)


def test_trained_file_is_self_describing(trained):
    data = json.loads(Path(trained["wordpiece"][len("file:"):]).read_text())
    assert [t["content"] for t in data["added_tokens"]] == list(SPECIAL_TOKENS)
    assert data["post_processor"]["type"] == "TemplateProcessing"


def test_cli_trains_prints_progress_and_the_name_to_use(shards, captions, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--split", shards, "--kind", "unigram", "--vocab-size", "300", "--out", "tok.json"]) == 0
    out = capsys.readouterr().out
    assert f"read {len(captions)} captions in all" in out and f"text.tokenizer=file:{tmp_path / 'tok.json'}" in out
    assert main(["encode", f"file:{tmp_path / 'tok.json'}", "a red heart", "--max-len", "8"]) == 0
    assert "seen 'a red heart'" in capsys.readouterr().out
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert all(f"{n}: vocab" in listed for n in TOKENIZERS.names())


def test_cli_errors_are_one_line(shards, tmp_path, capsys):
    assert main(["encode", "wordpeice_minilm", "x"]) == 2
    assert "did you mean 'wordpiece_minilm'" in capsys.readouterr().err
    small = ["train", "--split", shards, "--kind", "bpe", "--vocab-size", "100", "--out", str(tmp_path / "t.json")]
    assert main(small) == 2
    assert "too small" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--split", shards, "--kind", "sp", "--out", "x.json"])


def test_unknown_name_lists_every_valid_choice():
    with pytest.raises(UnknownNameError) as err:
        get_tokenizer("wordpeice_minilm", 16)
    assert "did you mean 'wordpiece_minilm'" in str(err.value) and "file:/abs/path/tokenizer.json" in str(err.value)
    with pytest.raises(ConfigError) as err:
        apply_overrides(RunConfig(), {"text.tokenizer": "sp"})
    assert all(name in str(err.value) for name in TOKENIZERS.names())


def test_config_accepts_an_existing_file_and_names_a_missing_one(trained, tmp_path):
    cfg = apply_overrides(RunConfig(), {"text.tokenizer": trained["bpe"]})
    assert from_dict(to_dict(cfg)) == cfg
    missing = tmp_path / "gone" / "tokenizer.json"
    with pytest.raises(ConfigError, match=f"{missing} does not exist"):
        apply_overrides(RunConfig(), {"text.tokenizer": f"file:{missing}"})
    with pytest.raises(FileNotFoundError, match=str(missing)):
        get_tokenizer(f"file:{missing}", 16)
    with pytest.raises(ConfigError, match="absolute path.*file:/"):
        apply_overrides(RunConfig(), {"text.tokenizer": "file:tokenizer.json"})
    with pytest.raises(ConfigError, match=r"must end with \.json or \.model"):
        apply_overrides(RunConfig(), {"text.tokenizer": f"file:{tmp_path}"})
    with pytest.raises(ConfigError, match="max_len must be >= 2"):
        apply_overrides(RunConfig(), {"text.max_len": 1})


def test_file_sentencepiece_model_and_a_file_without_end_token(tmp_path):
    model = tmp_path / "sp.model"
    shutil.copy(package_path("mistral_common", "data/tokenizer.model.v1"), model)
    texts = ["a photo of a cat", LONG, "😀"]
    shipped = get_tokenizer("sentencepiece_mistral", 16)(texts).ids
    assert (get_tokenizer(f"file:{model}", 16)(texts).ids == shipped).all()
    from tokenizers import Tokenizer, models, pre_tokenizers

    bare = Tokenizer(models.WordLevel({"[UNK]": 0, "cat": 1}, unk_token="[UNK]"))
    bare.pre_tokenizer = pre_tokenizers.Whitespace()
    bare.save(str(tmp_path / "bare.json"))
    with pytest.raises(ValueError, match=f"{tmp_path / 'bare.json'} has no end token"):
        get_tokenizer(f"file:{tmp_path / 'bare.json'}", 16)
