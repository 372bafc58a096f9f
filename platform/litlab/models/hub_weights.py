"""Whether a timm image tower's pretrained weights will load where the workers run.

Towers of the zoo (``litlab.zoo``) load from installed packages. Any other timm name loads its weights from the
Hugging Face hub, and the workers run with ``HF_HUB_OFFLINE=1`` unless the driver's environment says otherwise
(``litlab.cluster.session``): then only weights already in the local hub cache load, and a missing file fails the
run when its workers build the model. The preflight asks here first.
"""

from __future__ import annotations

import timm
from timm.models import get_pretrained_cfg

from litlab.zoo import ZOO

HUB_FILES = ("model.safetensors", "pytorch_model.bin")  # what timm fetches from a hub repo, in its order


def hub_weights_problem(arch: str, offline: bool) -> str | None:
    """Why pretrained weights for image tower ``arch`` will not load (None when they will, or cannot be known)."""
    if arch in ZOO:
        return None
    try:
        cfg = get_pretrained_cfg(arch)
    except RuntimeError as err:  # timm: "Invalid pretrained tag (...) for ..."
        tags = timm.list_pretrained(f"{arch.split('.')[0]}.*")
        return f"image.arch={arch!r}: {err} Tags with weights: {', '.join(tags[:8]) or 'none'}"
    if cfg is None or not (cfg.hf_hub_id or cfg.url or cfg.file):
        return (f"image.arch={arch!r} has no pretrained weights in timm; use image letter 'u' (random init) or a "
                f"tower with weights")
    if not offline or not cfg.hf_hub_id:
        return None
    from huggingface_hub import try_to_load_from_cache

    repo = cfg.hf_hub_id
    if any(isinstance(try_to_load_from_cache(repo, name), str) for name in HUB_FILES):
        return None
    return (f"image.arch={arch!r} loads pretrained weights from the Hugging Face hub ({repo}), but the workers run "
            f"with HF_HUB_OFFLINE=1 and they are not in the local hub cache: fetch them once on every node with "
            f"HF_HUB_OFFLINE=0 python -c \"import timm; timm.create_model('{arch}', pretrained=True)\", or run the "
            f"sweep with HF_HUB_OFFLINE=0 in its environment")
