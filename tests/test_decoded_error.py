"""The loss on the decoded colour (training.decoded_error): known cases, and it pulls the right way."""

from __future__ import annotations

import pytest
import torch

from engine.models.ab_bins import ab_bin_centers, annealed_mean
from training.decoded_error import GRAY_FLOOR, decoded_error_loss, perceptual_ab_error


def _field(a: float, b: float, size: int = 4) -> torch.Tensor:
    return torch.tensor([a, b]).view(1, 2, 1, 1).expand(1, 2, size, size).clone()


def test_the_same_colour_scores_zero_and_a_gray_copy_its_chroma_compressed():
    target = _field(30.0, 40.0)  # chroma 50
    assert perceptual_ab_error(target, target).max() < 1e-2
    gray = perceptual_ab_error(torch.zeros_like(target), target)
    assert gray.mean().item() == pytest.approx(50.0 / (1.0 + 0.045 * 50.0), rel=1e-4)


def test_a_hue_error_counts_less_compressed_than_a_chroma_error():
    target = _field(50.0, 0.0)
    rotated = _field(0.0, 50.0)  # same chroma, other hue: all of it is hue difference
    weaker = _field(25.0, 0.0)  # same hue, half the chroma
    hue = perceptual_ab_error(rotated, target).mean().item()
    chroma = perceptual_ab_error(weaker, target).mean().item()
    assert hue == pytest.approx(50.0 * 2**0.5 / (1.0 + 0.015 * 50.0), rel=1e-3)
    assert chroma == pytest.approx(25.0 / (1.0 + 0.045 * 50.0), rel=1e-3)


def _logits_for(ab: torch.Tensor, centers: torch.Tensor, sharpness: float = 1.0) -> torch.Tensor:
    """Logits ``(1, Q, h, w)`` peaked at the bins nearest ``ab``."""
    distance = torch.cdist(ab.permute(0, 2, 3, 1).reshape(-1, 2), centers)
    return (-sharpness * distance).T.reshape(1, len(centers), *ab.shape[-2:])


def test_the_loss_is_the_decoded_errors_share_of_the_gray_copys():
    centers = ab_bin_centers()
    target = _field(20.0, 30.0)
    logits = _logits_for(_field(-30.0, -30.0), centers)
    lightness = torch.full((1, 1, 4, 4), 50.0)
    weights = torch.zeros(len(centers))
    loss = decoded_error_loss(logits, target, lightness, centers, weights, 0.6, 0.0, 1.0)
    decoded = annealed_mean(logits, centers, 0.6)
    expected = perceptual_ab_error(decoded, target).mean() / (
        perceptual_ab_error(0 * target, target).mean() + GRAY_FLOOR
    )
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_its_gradient_moves_the_decoded_colour_toward_the_truth():
    centers = ab_bin_centers()
    target = _field(20.0, 30.0, size=8)
    logits = _logits_for(_field(-20.0, 10.0, size=8), centers, 0.2).requires_grad_(True)
    # Targets at twice the logits' size are pooled to it, as the network's half-size output is.
    target = torch.nn.functional.interpolate(target, scale_factor=2)
    lightness = torch.full((1, 1, 16, 16), 50.0)
    weights = torch.zeros(len(centers))

    def loss() -> torch.Tensor:
        return decoded_error_loss(logits, target, lightness, centers, weights, 0.6, 0.0, 1.3, rolloff=0.7)

    before = loss().item()
    optimizer = torch.optim.Adam([logits], lr=0.5)
    for _ in range(30):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
    assert loss().item() < 0.3 * before


def test_a_faint_crop_weighs_more_than_a_vivid_one_for_the_same_error():
    centers = ab_bin_centers()
    weights = torch.zeros(len(centers))
    lightness = torch.full((1, 1, 4, 4), 50.0)
    faint, vivid = _field(3.0, 3.0), _field(40.0, 40.0)
    off_faint = _logits_for(faint + _field(10.0, 10.0), centers, 5.0)
    off_vivid = _logits_for(vivid + _field(10.0, 10.0), centers, 5.0)
    loss_faint = decoded_error_loss(off_faint, faint, lightness, centers, weights, 0.6, 0.0, 1.0)
    loss_vivid = decoded_error_loss(off_vivid, vivid, lightness, centers, weights, 0.6, 0.0, 1.0)
    assert loss_faint > 2 * loss_vivid


def test_the_colour_floor_charges_a_shrunken_colour_and_nothing_above_it():
    centers = ab_bin_centers()
    weights = torch.zeros(len(centers))
    lightness = torch.full((1, 1, 4, 4), 50.0)
    target = _field(30.0, 40.0)  # chroma 50

    def loss(logits: torch.Tensor, floor: float) -> float:
        return decoded_error_loss(logits, target, lightness, centers, weights, 0.6, 0.0, 1.0, colour_floor=floor).item()

    neutral = _logits_for(_field(0.0, 0.0), centers, 5.0)
    # A neutral guess at a chroma-50 crop pays the floor's whole shortfall (0.5 x 50) on top.
    gray_error = 50.0 / (1.0 + 0.045 * 50.0)
    assert loss(neutral, 0.5) - loss(neutral, 0.0) == pytest.approx(25.0 / (gray_error + GRAY_FLOOR), rel=0.05)
    vivid = _logits_for(_field(36.0, 48.0), centers, 5.0)  # chroma 60: over the floor
    assert loss(vivid, 0.5) == pytest.approx(loss(vivid, 0.0), abs=1e-6)
