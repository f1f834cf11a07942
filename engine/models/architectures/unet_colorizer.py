"""The base colorizer: a compact U-Net that predicts a*b* colour classes from L* (and optional hints).

Design (after Zhang et al. 2016 "Colorful Image Colorization", made cheap enough for a 2-core CPU):
a stride-2 stem so every layer runs at half resolution or less, four encoder stages, dilated
residual blocks at 1/16 for the long range a colorizer needs ("sky is up, grass is green"), and a
decoder with skip connections back to 1/2, where a 1x1 head predicts a distribution over the
quantised a*b* bins of ``engine.models.ab_bins``. The annealed-mean decoding (temperature) turns that into
colour; the temperature is part of the model card.

Photo-level context comes in one of two ways. The first model adds a pooled summary of the 1/16
features to every position (``context``). ``global_fusion`` (revive-base v2) follows Iizuka et al.
2016 instead: a global path of two more stride-2 stages, pooled to one vector for the whole photo,
concatenated to every bottleneck position and fused by a 1x1 convolution, so "indoors" or "street"
can decide whether a plain bright area is a wall or the sky.

``hints`` (Zhang et al. SIGGRAPH 2017, "Real-Time User-Guided Image Colorization") adds three input
channels: a*b* / 110 where the user (or, in training, the true photo) gives a colour, and a mask
that is 1 there and 0 elsewhere. All zeros means "no hints" and must colour as well as a model
without the channels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.batch.settings import DEFAULT_TEMPERATURE
from engine.models.ab_bins import ab_bin_centers, annealed_mean
from engine.models.architectures import arguments

HINT_CHANNELS = 3  # a*b* / HINT_AB_SCALE, then the mask
HINT_AB_SCALE = 110.0


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class _DilatedBlock(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(channels, channels, dilation=dilation),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class UNetColorizer(nn.Module):
    """L* (and hints) -> a*b* class logits.

    Input ``(N, 1, H, W)``: L*/50 - 1 in [-1, 1], H and W multiples of 16; with ``hints``,
    ``(N, 4, H, W)``: L* as before, then a*b* / 110 and a 0/1 mask (see the module docstring).
    ``forward`` returns logits ``(N, Q, H/2, W/2)`` over ``ab_bin_centers()``;
    ``predict_ab`` returns a*b* ``(N, 2, H/2, W/2)`` in Lab units (about +-110).
    """

    size_multiple = 16
    # Registered buffers (see __init__), declared for type checkers: nn.Module's __getattr__ says
    # only "Tensor | Module".
    bin_centers: torch.Tensor
    log_class_weights: torch.Tensor
    # Buffers a model file may lack (made before they existed); see engine.models.files.load_model.
    optional_state_keys = ("log_class_weights",)
    ARGUMENT_RULES = {
        "widths": arguments.whole_list(4, 4, 1024),
        "blocks": arguments.whole(0, 32),
        "hints": arguments.flag,
        "global_fusion": arguments.flag,
    }

    def __init__(
        self,
        widths: tuple[int, ...] | list[int] = (32, 64, 128, 256),
        blocks: int = 4,
        hints: bool = False,
        global_fusion: bool = False,
    ) -> None:
        super().__init__()
        widths = tuple(int(w) for w in widths)
        if len(widths) != 4 or min(widths) < 4:
            raise ValueError(f"widths must be 4 positive channel counts, got {widths}")
        if blocks < 0:
            raise ValueError(f"blocks must be 0 or more, got {blocks}")
        w1, w2, w3, w4 = widths
        self.widths, self.blocks = widths, int(blocks)  # what it was built with (a run can continue it)
        self.hints = bool(hints)
        self.global_fusion = bool(global_fusion)
        self.in_channels = 1 + (HINT_CHANNELS if self.hints else 0)
        centers = ab_bin_centers()
        self.register_buffer("bin_centers", centers, persistent=True)
        # log of the training run's class-rebalancing weights, for ``prior_correction`` at decoding.
        self.register_buffer("log_class_weights", torch.zeros(len(centers)), persistent=True)
        self.stem = nn.Sequential(_conv(self.in_channels, w1, stride=2), _conv(w1, w1))  # 1/2
        self.down2 = nn.Sequential(_conv(w1, w2, stride=2), _conv(w2, w2))  # 1/4
        self.down3 = nn.Sequential(_conv(w2, w3, stride=2), _conv(w3, w3))  # 1/8
        self.down4 = nn.Sequential(_conv(w3, w4, stride=2), _conv(w4, w4))  # 1/16
        self.middle = nn.Sequential(*[_DilatedBlock(w4, 2 ** (1 + i % 3)) for i in range(blocks)])
        if self.global_fusion:
            # Iizuka et al. 2016: global features from further-strided convolutions, pooled per photo.
            self.global_path = nn.Sequential(_conv(w4, w4, stride=2), _conv(w4, w4, stride=2))
            self.global_mlp = nn.Sequential(nn.Linear(w4, w4), nn.ReLU(inplace=True), nn.Linear(w4, w4))
            self.fuse = nn.Sequential(nn.Conv2d(2 * w4, w4, 1, bias=False), nn.BatchNorm2d(w4), nn.ReLU(inplace=True))
        else:
            self.context = nn.Sequential(nn.Linear(w4, w4), nn.ReLU(inplace=True), nn.Linear(w4, w4))
        self.up3 = _conv(w4 + w3, w3)
        self.up2 = _conv(w3 + w2, w2)
        self.up1 = nn.Sequential(_conv(w2 + w1, w2), _conv(w2, w2))
        self.head = nn.Conv2d(w2, len(centers), 1)

    @staticmethod
    def _up(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return torch.cat((x, skip), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {x.shape[1]}")
        s1 = self.stem(x)
        s2 = self.down2(s1)
        s3 = self.down3(s2)
        x = self.middle(self.down4(s3))
        if self.global_fusion:
            summary = self.global_mlp(self.global_path(x).mean(dim=(2, 3)))
            x = self.fuse(torch.cat((x, summary[:, :, None, None].expand(-1, -1, *x.shape[-2:])), dim=1))
        else:
            # Global context: the whole photo's summary steers every pixel's colour.
            x = x + self.context(x.mean(dim=(2, 3)))[:, :, None, None]
        x = self.up3(self._up(x, s3))
        x = self.up2(self._up(x, s2))
        x = self.up1(self._up(x, s1))
        return self.head(x)

    def network_input(self, lightness: torch.Tensor, hints: torch.Tensor | None = None) -> torch.Tensor:
        """The input tensor for L* ``(N, 1, H, W)`` in [-1, 1] and optional hints ``(N, 3, H, W)``
        (a*b* / 110, mask); a model without hint channels refuses hints."""
        if not self.hints:
            if hints is not None:
                raise ValueError("this model takes no colour hints")
            return lightness
        if hints is None:
            hints = lightness.new_zeros((lightness.shape[0], HINT_CHANNELS, *lightness.shape[-2:]))
        return torch.cat((lightness, hints.to(lightness.dtype)), dim=1)

    def predict_ab(
        self,
        lightness: torch.Tensor,
        temperature: float = DEFAULT_TEMPERATURE,
        prior_correction: float = 0.0,
        hints: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """a*b* ``(N, 2, H/2, W/2)`` from L* ``(N, 1, H, W)`` in [-1, 1] (and optional hints), by the
        annealed mean (see ``engine.models.ab_bins.annealed_mean`` for ``temperature`` and ``prior_correction``)."""
        logits = self(self.network_input(lightness, hints))
        return annealed_mean(logits, self.bin_centers, temperature, self.log_class_weights, prior_correction)
