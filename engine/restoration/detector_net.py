"""The damage detector's network: a small U-Net that marks scratches, dust and folds per pixel.

After the scratch-detection U-Net of Wan et al. 2020 ("Bringing Old Photos Back to Life", section
3.3), made small enough to run on a 12-megapixel photo's working copy in a fraction of a second on
a 2-core CPU: three resolutions (full, 1/2, 1/4), two 3x3 convolutions at each, dilated
convolutions at 1/4 for the reach a fold or a long scratch needs, additive skip connections (a
1x1 projection plus the encoder's features, cheaper than concatenation at full resolution), and a
1x1 head with one logit per pixel. The output stays at full resolution because a scratch is 1-3
pixels wide.

BatchNorm (not instance norm) keeps every pixel's output a function of its neighbourhood only, so
tiles of a big photo give exactly what the whole photo would.

Input ``(N, 1, H, W)`` float32: luma / max - 0.5, so in [-0.5, 0.5]; H and W multiples of 4.
Output ``(N, 1, H, W)`` logits; ``sigmoid`` gives the probability that a pixel is damaged.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.architectures import arguments

ARCHITECTURE = "damage_unet"


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class DamageUNet(nn.Module):
    """Luma -> damage logits (see the module docstring for shapes and ranges)."""

    size_multiple = 4
    # Checked before anything is built (engine.models.architectures.arguments): a model file cannot ask
    # for a network that would not fit in memory.
    ARGUMENT_RULES: ClassVar[dict[str, arguments.Rule]] = {
        "widths": arguments.whole_list(3, 4, 256),
        "dilations": arguments.whole_list(2, 1, 16),
    }

    def __init__(
        self, widths: tuple[int, ...] | list[int] = (16, 32, 64), dilations: tuple[int, ...] | list[int] = (2, 4)
    ) -> None:
        super().__init__()
        w0, w1, w2 = (int(w) for w in widths)
        d1, d2 = (int(d) for d in dilations)
        self.enc0 = nn.Sequential(_conv(1, w0), _conv(w0, w0))
        self.enc1 = nn.Sequential(_conv(w0, w1, stride=2), _conv(w1, w1))
        self.enc2 = nn.Sequential(_conv(w1, w2, stride=2), _conv(w2, w2, dilation=d1), _conv(w2, w2, dilation=d2))
        self.lift1 = nn.Conv2d(w2, w1, 1)
        self.dec1 = _conv(w1, w1)
        self.lift0 = nn.Conv2d(w1, w0, 1)
        self.dec0 = _conv(w0, w0)
        self.head = nn.Conv2d(w0, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"expected (N, 1, H, W) luma, got {tuple(x.shape)}")
        if x.shape[-1] % self.size_multiple or x.shape[-2] % self.size_multiple:
            raise ValueError(f"height and width must be multiples of {self.size_multiple}, got {tuple(x.shape[-2:])}")
        s0 = self.enc0(x)
        s1 = self.enc1(s0)
        x = self.enc2(s1)
        x = self.dec1(F.interpolate(self.lift1(x), scale_factor=2.0, mode="bilinear", align_corners=False) + s1)
        x = self.dec0(F.interpolate(self.lift0(x), scale_factor=2.0, mode="bilinear", align_corners=False) + s0)
        return self.head(x)


def check_arguments(kwargs: object) -> int:
    """Check a card's ``arguments`` for ``DamageUNet`` (types, ranges, parameter budget);
    returns the parameter count. ValueError names what is wrong."""
    arguments.check_arguments(ARCHITECTURE, DamageUNet.ARGUMENT_RULES, kwargs)
    count = arguments.parameter_count(DamageUNet, kwargs)  # type: ignore[arg-type]
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"a damage detector may have at most {MAX_PARAMETERS / 1e6:.0f} M parameters, "
            f"these arguments ask for {count / 1e6:.1f} M"
        )
    return count


MAX_PARAMETERS = 5_000_000  # 10 MB in fp16: far above any detector worth running per photo
