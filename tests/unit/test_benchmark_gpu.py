"""experiments/benchmarks/gpu.py: its FLOP count, its peak table, and its --tiny path run end to end on CPU.

The figures are checked for being computed (positive, finite, consistent with each other), never for speed:
benchmarks print ratios, tests do not time.
"""

from __future__ import annotations

import math

import pytest
import torch
from benchmarks import gpu
from torch import nn


@pytest.mark.parametrize("input_grad", [False, True])
def test_flop_count_of_one_linear_layer_is_the_hand_count(input_grad):
    """Forward 2*B*I*O; backward adds the weight gradient (2*B*I*O) and, when the input needs one, its own."""
    b, i, o = 3, 8, 4
    layer = nn.Linear(i, o)
    x = torch.randn(b, i, requires_grad=input_grad)
    flops = gpu.count_flops(lambda: layer(x).sum().backward())
    assert flops == (6 if input_grad else 4) * b * i * o


@pytest.mark.parametrize(("name", "peak"), [("NVIDIA H100 80GB HBM3", 989e12), ("NVIDIA H100 PCIe", 756e12),
                                            ("NVIDIA H200", 989e12), ("NVIDIA A100-SXM4-80GB", 312e12),
                                            ("cpu", None), ("Tesla T4", None)])
def test_peak_table_matches_card_names(name, peak):
    assert gpu.peak_bf16(name) == peak


def image_forward_flops() -> int:
    """FLOPs of the --tiny image tower's forward on the --tiny batch: Uu's step adds its backward to Lu's, which
    is 1x (weight gradients) to 2x (input gradients too, all but the first layer's) the forward."""
    args = gpu.parse(["--tiny"])
    model, cfg = gpu.build("Lu", args, torch.device("cpu"))
    batch = gpu.random_batch(cfg, args.batch)
    return gpu.count_flops(lambda: model.image(batch["image"]))


def test_tiny_run_computes_every_figure(capsys):
    threads = torch.get_num_threads()
    try:
        figures = gpu.main(["--tiny", "--threads", "1"])
    finally:
        torch.set_num_threads(threads)  # the rest of the suite runs as before
    out = capsys.readouterr().out
    lu, uu = figures["steps"]["Lu"], figures["steps"]["Uu"]
    for f in (lu, uu):
        for key in ("flops", "step_s", "pairs_per_s", "flops_per_s"):
            assert math.isfinite(f[key]) and f[key] > 0, (key, f)
        assert f["step_min_s"] <= f["step_s"] <= f["step_max_s"]
        assert f["pairs_per_s"] == pytest.approx(8 / f["step_s"])
        assert f["mfu"] is None  # a CPU has no entry in the peak table
    assert 1.0 < (uu["flops"] - lu["flops"]) / image_forward_flops() <= 2.0  # Uu also backpropagates the tower
    g = figures["gather"]
    assert g["backend"] == "gloo" and g["world"] == 1 and g["busbw_gb_s"] is None
    assert g["bytes_per_rank"] == 8 * lu["embed_dim"] * 4 and g["seconds"] > 0 and g["algbw_gb_s"] > 0
    e = figures["embedder"]
    assert e["device"] == "cpu" and e["whole_per_s"] > 0 and e["tower_per_s"] > 0
    assert "MFU" in out and "unknown" in out and "Embedder" in out
