"""Tiny models of other projects' architectures (spandrel's), for the tests of added models."""

from __future__ import annotations

from pathlib import Path

import torch
from spandrel.architectures.ESRGAN import ESRGAN
from spandrel_extra_arches.architectures.DDColor import DDColor

from tests.helpers import torch_threads


def plain_state(module: torch.nn.Module, half: bool = False) -> dict:
    """``module``'s state dict as such a project publishes it (contiguous tensors, fp16 if ``half``)."""
    return {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in module.state_dict().items()}


def tiny_ddcolor() -> DDColor:
    """The smallest DDColor spandrel recognises: the ConvNeXt-T encoder (spandrel knows only the T,
    S, B and L encoders), a 3-layer multi-scale decoder with 8 colour queries, seeded; about 4 s to
    build on the 2-core CPU."""
    torch.manual_seed(2)
    with torch_threads(1):
        return DDColor(
            encoder_name="convnext-t",
            decoder_name="MultiScaleColorDecoder",
            nf=512,
            num_queries=8,
            num_output_channels=2,
            last_norm="Spectral",
            num_scales=3,
            dec_layers=3,
        ).eval()


def tiny_upscaler_file(path: Path) -> Path:
    """A tiny 2x ESRGAN (RRDBNet, 1 block of 8 features; random weights, seeded: only the size of
    its output matters), saved at ``path`` as a .pth state dict."""
    torch.manual_seed(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(plain_state(ESRGAN(num_filters=8, num_blocks=1, scale=2).eval()), path)
    return path
