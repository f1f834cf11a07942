"""A training loss on the colour the product shows, not on the class distribution behind it.

The class loss (``training.colour_classes``) rewards a likely distribution; what a user sees, and
what ``benchmarks/quality.py`` scores, is that distribution decoded (annealed mean, prior
correction, chroma scale, roll-off toward white) and compared with the original in CIEDE2000, photo
by photo against the gray copy. ``decoded_error_loss`` decodes the logits so, differentiably (at
the network's output size, without the sRGB gamut clipping, and with the roll-off on the whole
colour even where hints were given, where inference rolls off only the hint-free guess's share),
and measures each crop's perceptual a*b* error as a share of its gray copy's: a crop whose true
colour is faint (where any wrong tint loses to gray, the photos the shipped model fails most) weighs
more than a vivid one, and a tint the decoding amplifies is penalised as the metric would.

Alone, such a loss buys accuracy with colour: the least error for an unsure pixel is near neutral
(measured: continuing revive-base v2.4 with it left 35 % of the originals' colour, and at like
colour, once re-scaled, it was no closer to the originals). The product's bar keeps a colour
floor, so the loss does too: a crop whose decoded mean chroma falls under ``colour_floor`` times
its true mean chroma pays the shortfall, in the same units. The network may then put its colour
where it is surest instead of shrinking all of it (measured with the floor at 0.5: at like colour
at most 0.05 more CIEDE2000 gain on val than v2.4, and no more photos better than gray; README).

Tensors: logits ``(N, Q, h, w)``; a*b* ``(N, 2, H, W)`` in Lab units (resized to h, w); L*
``(N, 1, H, W)`` in [0, 100] (the network's input lightness, as the roll-off uses at inference).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.color import rolloff_gain
from engine.models.ab_bins import annealed_mean

# A crop's error is divided by its gray copy's plus this (CIEDE2000-like units): a crop that is
# truly gray (gray error ~0) would otherwise weigh without bound.
GRAY_FLOOR = 3.0
_EPS = 1e-6


def _chroma(ab: torch.Tensor) -> torch.Tensor:
    """|a*b*| ``(N, 2, H, W)`` -> ``(N, H, W)``, with a gradient at neutral too."""
    return (ab.square().sum(dim=1) + _EPS).sqrt()


def perceptual_ab_error(ab: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-pixel colour difference at equal lightness, ``(N, 2, H, W)`` twice -> ``(N, H, W)``.

    CIE94's chroma and hue weighting with the target's chroma (1 + 0.045 C, 1 + 0.015 C): the
    same compression of large chroma differences as CIEDE2000, which ``engine.metrics`` scores
    with, but smooth everywhere but at exact agreement (its hue angle is not needed)."""
    chroma_target = target.norm(dim=1)
    delta_c = _chroma(ab) - chroma_target
    delta_h2 = ((ab - target).square().sum(dim=1) - delta_c.square()).clamp(min=0.0)
    return (
        (delta_c / (1.0 + 0.045 * chroma_target)).square() + delta_h2 / (1.0 + 0.015 * chroma_target).square() + _EPS
    ).sqrt()


def decoded_error_loss(
    logits: torch.Tensor,
    ab: torch.Tensor,
    lightness: torch.Tensor,
    centers: torch.Tensor,
    log_class_weights: torch.Tensor,
    temperature: float,
    prior_correction: float,
    chroma_scale: float,
    rolloff: float = 0.0,
    colour_floor: float = 0.0,
) -> torch.Tensor:
    """Mean over crops of (decoded colour's error + colour shortfall) / (gray copy's error +
    GRAY_FLOOR); a scalar. The shortfall is how far the decoded mean chroma falls under
    ``colour_floor`` times the true one (0: no floor)."""
    size = (int(logits.shape[-2]), int(logits.shape[-1]))
    if ab.shape[-2:] != size:
        ab = F.adaptive_avg_pool2d(ab, size)
        lightness = F.adaptive_avg_pool2d(lightness, size)
    decoded = annealed_mean(logits, centers, temperature, log_class_weights, prior_correction) * chroma_scale
    if rolloff:
        decoded = decoded * rolloff_gain(lightness.float(), rolloff)
    target = ab.float()
    error = perceptual_ab_error(decoded, target).mean(dim=(1, 2))
    gray = perceptual_ab_error(torch.zeros_like(target), target).mean(dim=(1, 2))
    if colour_floor:
        shortfall = colour_floor * target.norm(dim=1).mean(dim=(1, 2)) - _chroma(decoded).mean(dim=(1, 2))
        error = error + shortfall.clamp(min=0.0)
    return (error / (gray + GRAY_FLOOR)).mean()
