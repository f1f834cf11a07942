"""The PatchGAN discriminator (Isola et al. 2017; 70x70 patches with 3 layers), as in CycleGAN."""

from __future__ import annotations

import torch
from torch import nn

from engine.models.architectures import arguments
from engine.models.architectures.layers import NORMS, norm_layer


class PatchDiscriminator(nn.Module):
    """Input ``(N, in_channels, H, W)`` in [-1, 1] -> realness map ``(N, 1, h, w)`` (raw scores,
    for the least-squares GAN loss). The first layer has no normalisation, as in the paper."""

    ARGUMENT_RULES = {
        "in_channels": arguments.whole(1, 8),
        "filters": arguments.whole(1, 256),
        "n_layers": arguments.whole(1, 6),
        "norm": arguments.one_of(*NORMS),
    }

    def __init__(self, in_channels: int = 3, filters: int = 64, n_layers: int = 3, norm: str = "instance") -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {n_layers}")
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, filters, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        channels = filters
        for i in range(1, n_layers + 1):
            out = filters * min(2**i, 8)
            stride = 2 if i < n_layers else 1
            layers += [
                nn.Conv2d(channels, out, 4, stride=stride, padding=1, bias=norm == "none"),
                norm_layer(norm, out),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels = out
        layers.append(nn.Conv2d(channels, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
