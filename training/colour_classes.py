"""The colour-classification loss of Zhang, Isola & Efros (ECCV 2016), "Colorful Image Colorization".

- Soft encoding: each target a*b* is spread over its 5 nearest bins with a Gaussian (sigma 5).
- Class rebalancing: rare colours (saturated reds, blues, greens) get larger weights, common ones
  (grays, browns) smaller, so the network is not rewarded for painting everything in safe sepia.
  w ~ 1 / ((1 - lam) * p_smoothed + lam / Q), normalised so the expected weight is 1 (lam = 0.5).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.models.ab_bins import ab_to_bin

NEIGHBOURS = 5
SIGMA = 5.0
REBALANCE_LAMBDA = 0.5
PRIOR_SIGMA = 5.0


def rebalancing_weights(ab_samples: torch.Tensor, centers: torch.Tensor, lam: float = REBALANCE_LAMBDA) -> torch.Tensor:
    """Per-bin weights ``(Q,)`` from a*b* samples ``(N, 2, H, W)`` of the training photos;
    ``lam`` 1 gives equal weights, 0 the full inverse of the (smoothed) prior."""
    bins = ab_to_bin(ab_samples, centers).flatten()
    counts = torch.bincount(bins, minlength=len(centers)).double()
    prior = counts / counts.sum()
    # Smooth the prior over neighbouring bins (a Gaussian in a*b* distance).
    distance = torch.cdist(centers.double(), centers.double())
    kernel = torch.exp(-(distance**2) / (2 * PRIOR_SIGMA**2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    smoothed = kernel @ prior
    weights = 1.0 / ((1 - lam) * smoothed + lam / len(centers))
    weights = weights / (smoothed * weights).sum()
    return weights.float()


def soft_targets(ab: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-encode a*b* ``(N, 2, H, W)``: (neighbour indices ``(N, K, H, W)``, weights ``(N, K, H, W)``)."""
    n, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2).float()
    distance = torch.cdist(flat, centers.to(flat.device).float())
    nearest, index = distance.topk(NEIGHBOURS, dim=1, largest=False)
    weight = torch.softmax(-(nearest**2) / (2 * SIGMA**2), dim=1)
    index = index.view(n, h, w, NEIGHBOURS).permute(0, 3, 1, 2)
    weight = weight.view(n, h, w, NEIGHBOURS).permute(0, 3, 1, 2)
    return index, weight


def colour_class_loss(
    logits: torch.Tensor, ab: torch.Tensor, centers: torch.Tensor, class_weights: torch.Tensor
) -> torch.Tensor:
    """Rebalanced soft cross-entropy. logits ``(N, Q, h, w)``; ab ``(N, 2, H, W)`` target (resized to h, w)."""
    if ab.shape[-2:] != logits.shape[-2:]:
        ab = F.adaptive_avg_pool2d(ab, (logits.shape[-2], logits.shape[-1]))
    index, weight = soft_targets(ab, centers)
    log_probs = F.log_softmax(logits.float(), dim=1)
    picked = log_probs.gather(1, index)  # (N, K, h, w)
    per_pixel = -(picked * weight).sum(dim=1)
    pixel_weight = class_weights.to(logits.device)[index[:, 0]]  # weight of the nearest bin
    return (per_pixel * pixel_weight).mean()


AB_SCALE = 110.0


def mean_ab_l1(logits: torch.Tensor, ab: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """L1 between the distribution's mean a*b* (the annealed mean at T = 1) and the true a*b*, in
    units of 110. Where the network is unsure, the mean is pulled toward the median colour, which
    is near neutral: a light counterweight to the rebalanced loss's pull toward rare, vivid
    colours. logits ``(N, Q, h, w)``; ab ``(N, 2, H, W)`` (resized to h, w)."""
    if ab.shape[-2:] != logits.shape[-2:]:
        ab = F.adaptive_avg_pool2d(ab, (logits.shape[-2], logits.shape[-1]))
    probs = torch.softmax(logits.float(), dim=1)
    mean = torch.einsum("nqhw,qc->nchw", probs, centers.to(probs.device, probs.dtype))
    return (mean - ab).abs().mean() / AB_SCALE
