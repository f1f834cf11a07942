"""The CycleGAN ResNet generator (Johnson et al. 2016, as used by Zhu et al. 2017).

c7s1-F, two downsamplings (d2F, d4F), ``n_blocks`` residual blocks (R4F), two upsamplings and
c7s1-out with tanh. Options the CycleGAN paper and its follow-ups study are arguments: the number of
residual blocks, the normalisation (and whether the first and last layers have one), the
activation, and strided convolutions versus pooling for downsampling.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models.architectures import arguments
from engine.models.architectures.layers import ACTIVATIONS, NORMS, activation, norm_layer

# Output scale when the generator is used as a colorizer (2 output channels = a*b*):
# tanh's [-1, 1] maps to [-AB_SCALE, AB_SCALE] Lab units.
AB_SCALE = 110.0


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: str, act: str) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            norm_layer(norm, channels),
            activation(act),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            norm_layer(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Image-to-image generator.

    Input ``(N, in_channels, H, W)`` in [-1, 1], H and W multiples of 4; output
    ``(N, out_channels, H, W)`` in [-1, 1] (tanh). As a colorizer (in 1, out 2) the input is
    L*/50 - 1 and the output a*b* / ``AB_SCALE``.
    """

    size_multiple = 4
    ARGUMENT_RULES = {
        "in_channels": arguments.whole(1, 4),
        "out_channels": arguments.whole(1, 4),
        "filters": arguments.whole(1, 256),
        "n_blocks": arguments.whole(0, 32),
        "norm": arguments.one_of(*NORMS),
        "activation_name": arguments.one_of(*ACTIVATIONS),
        "downsampling": arguments.one_of("strided", "pool"),
        "norm_first": arguments.flag,
        "norm_last": arguments.flag,
    }

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 3,
        filters: int = 64,
        n_blocks: int = 9,
        norm: str = "instance",
        activation_name: str = "relu",
        downsampling: str = "strided",
        norm_first: bool = False,
        norm_last: bool = False,
    ) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be 0 or more, got {n_blocks}")
        if filters < 1:
            raise ValueError(f"filters must be at least 1, got {filters}")
        if downsampling not in ("strided", "pool"):
            raise ValueError(f"downsampling must be 'strided' or 'pool', got {downsampling!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, filters, 7),
            norm_layer(norm if norm_first else "none", filters),
            activation(activation_name),
        ]
        channels = filters
        for _ in range(2):
            if downsampling == "strided":
                layers.append(nn.Conv2d(channels, channels * 2, 3, stride=2, padding=1))
            else:
                layers += [nn.Conv2d(channels, channels * 2, 3, padding=1), nn.AvgPool2d(2)]
            layers += [norm_layer(norm, channels * 2), activation(activation_name)]
            channels *= 2
        layers += [_ResidualBlock(channels, norm, activation_name) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 3, stride=2, padding=1, output_padding=1),
                norm_layer(norm, channels // 2),
                activation(activation_name),
            ]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, out_channels, 7)]
        if norm_last:
            layers.append(norm_layer(norm, out_channels))
        layers.append(nn.Tanh())
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def predict_ab(
        self, lightness: torch.Tensor, temperature: float = 1.0, prior_correction: float = 0.0
    ) -> torch.Tensor:
        """a*b* ``(N, 2, H, W)`` from L* ``(N, 1, H, W)`` in [-1, 1]; ``temperature`` and
        ``prior_correction`` are unused (a regressing generator has no distribution to decode)
        and kept for a uniform contract."""
        if self.in_channels != 1 or self.out_channels != 2:
            raise ValueError("this generator does not map L* to a*b* (needs in_channels=1, out_channels=2)")
        return self(lightness) * AB_SCALE
