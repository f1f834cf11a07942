"""Quantised a*b* colour bins for colour classification (Zhang, Isola & Efros, ECCV 2016).

The colorizer predicts, for each pixel, a distribution over the in-gamut cells of a 10-unit a*b*
grid (the paper's Q = 313 classes; our grid gives ``len(ab_bin_centers())``). Predicting a
distribution instead of regressing a*b* is what keeps colours saturated: regression averages
the plausible colours of an object into brown-gray.
"""

from __future__ import annotations

import functools
import math

import torch

from engine.color import lab_to_rgb

GRID_STEP = 10.0
GRID_LIMIT = 110.0


@functools.lru_cache(maxsize=1)
def _centers() -> torch.Tensor:
    # A cell is kept when any colour inside it is displayable at some lightness: sample the a*b*
    # plane finely, test every sample against the sRGB gamut, and keep the cells that got a hit.
    # Explicitly on the CPU: the first call may come while a module is built on the meta device.
    fine = torch.arange(-GRID_LIMIT - 5.0, GRID_LIMIT + 5.0 + 0.1, 2.5, dtype=torch.float64, device="cpu")
    a, b = torch.meshgrid(fine, fine, indexing="ij")
    ab = torch.stack((a.flatten(), b.flatten()), dim=1)
    lightness = torch.linspace(1.0, 99.0, 50, dtype=torch.float64, device="cpu")
    lab = torch.stack(
        (
            lightness.view(1, -1).expand(len(ab), -1),
            ab[:, 0:1].expand(-1, len(lightness)),
            ab[:, 1:2].expand(-1, len(lightness)),
        )
    ).unsqueeze(0)
    rgb = lab_to_rgb(lab, clip=False)[0]  # (3, n_ab, n_L)
    in_gamut = ((rgb >= 0.0) & (rgb <= 1.0)).all(dim=0).any(dim=1)
    cells = torch.unique(torch.round(ab[in_gamut] / GRID_STEP) * GRID_STEP, dim=0)
    inside = (cells.abs() <= GRID_LIMIT).all(dim=1)
    return cells[inside].to(torch.float32)


def ab_bin_centers() -> torch.Tensor:
    """The a*b* centres of the in-gamut bins: ``(Q, 2)`` float32, a then b, units of Lab."""
    return _centers().clone()


def ab_to_bin(ab: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Nearest bin index per pixel: ``ab`` ``(N, 2, H, W)`` -> ``(N, H, W)`` int64."""
    n, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    index = torch.cdist(flat.float(), centers.to(flat.device).float()).argmin(dim=1)
    return index.view(n, h, w)


def annealed_mean(
    logits: torch.Tensor,
    centers: torch.Tensor,
    temperature: float,
    log_class_weights: torch.Tensor | None = None,
    prior_correction: float = 0.0,
    confidence_gamma: float = 0.0,
) -> torch.Tensor:
    """Decode class logits ``(N, Q, H, W)`` to a*b* ``(N, 2, H, W)``.

    The annealed mean of the paper: softmax(logits / T) weighted mean of the bin centres.
    T = 1 is the plain mean (safe, desaturated); T -> 0 approaches the mode (vivid, patchy);
    the paper uses 0.38.

    A network trained with class rebalancing predicts roughly p(q) * w(q) (rare colours boosted by
    their weight w). ``prior_correction`` alpha in [0, 1] divides w^alpha back out
    (``log_class_weights`` = log w, ``(Q,)``): 0 keeps the boosted, bold colours, 1 returns to the
    plain posterior (safer, duller). The trainer picks alpha and T on held-out photos.

    ``confidence_gamma`` g > 0 scales each pixel's chroma by its confidence ``c ** g``, with
    ``c = 1 - H / log Q`` (H the entropy of the plain distribution, T = 1): where the network
    hesitates between many colours the pixel is pulled toward neutral, where it is sure the colour
    stays vivid. A per-pixel version of what T and alpha do for the whole photo; 0 turns it off.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    logits = logits.float()
    if log_class_weights is not None and prior_correction:
        logits = logits - prior_correction * log_class_weights.to(logits.device, logits.dtype).view(1, -1, 1, 1)
    probs = torch.softmax(logits / temperature, dim=1)
    ab = torch.einsum("nqhw,qc->nchw", probs, centers.to(probs.device, probs.dtype))
    if confidence_gamma > 0:
        plain = torch.log_softmax(logits, dim=1)
        entropy = -(plain.exp() * plain).sum(dim=1, keepdim=True)
        confidence = (1.0 - entropy / math.log(logits.shape[1])).clamp(0.0, 1.0)
        ab = ab * confidence**confidence_gamma
    return ab
