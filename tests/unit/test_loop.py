import itertools

import pytest
import torch
from litlab.config import Optim, RunConfig, apply_overrides
from litlab.loop import train
from litlab.models.build import build_model
from litlab.optim import warmup_cosine
from litlab.tokenizers import get_tokenizer

CAPTIONS = ["a red square", "a green square", "a blue square", "a white square"]
COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]


def batches():
    tok = get_tokenizer("wordpiece_minilm", 16)(CAPTIONS)
    images = torch.tensor(COLOURS, dtype=torch.uint8)[:, None, None, :].expand(4, 16, 16, 3).contiguous()
    return itertools.repeat({"image": images, "ids": torch.from_numpy(tok.ids), "mask": torch.from_numpy(tok.mask)})


def test_loss_falls_and_logs_every_metric():
    torch.manual_seed(0)
    cfg = apply_overrides(RunConfig(), {"setup": "uu", "image.arch": "mobilenet_v2"})
    model = build_model(cfg)
    logged = []
    optim = Optim(steps=30, lr=3e-3, warmup_steps=3)
    last = train(model, batches(), optim, log=lambda s, m: logged.append((s, m)), log_every=10)
    assert [s for s, _ in logged] == [10, 20, 30]
    assert set(last) == {"train/loss", "train/temperature", "train/lr", "train/grad_norm", "train/pairs_per_s"}
    assert logged[-1][1]["train/loss"] < 0.5 * logged[0][1]["train/loss"]


def test_running_out_of_data_is_an_error():
    model = build_model(apply_overrides(RunConfig(), {"setup": "uu", "image.arch": "mobilenet_v2"}))
    with pytest.raises(RuntimeError, match="ran out after 2 of 5 steps"):
        train(model, itertools.islice(batches(), 2), Optim(steps=5, warmup_steps=1), log=lambda s, m: None)


def test_warmup_then_cosine():
    cfg = Optim(steps=110, warmup_steps=10)
    assert warmup_cosine(0, cfg) == pytest.approx(0.1) and warmup_cosine(9, cfg) == pytest.approx(1.0)
    assert warmup_cosine(60, cfg) == pytest.approx(0.5) and warmup_cosine(110, cfg) == pytest.approx(0.0)


def test_evaluate_runs_every_n_steps_before_the_last():
    model = build_model(apply_overrides(RunConfig(), {"setup": "Lu", "image.arch": "mobilenet_v2"}))
    calls = []
    train(model, batches(), Optim(steps=7, warmup_steps=1), log=lambda s, m: None, log_every=7,
          evaluate=lambda step: calls.append(step), eval_every=3)
    assert calls == [3, 6]  # the caller evaluates the last step itself
