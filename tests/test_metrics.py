"""engine.metrics on known cases: a perfect match, a balanced photo's gray copy, a known cast."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.color import lab_to_rgb
from engine.metrics import gray_copy, score, summarize


def _rgb_from_lab(lab: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` Lab -> ``(H, W, 3)`` float sRGB in [0, 1]; fails if a colour is out of gamut
    (clipping would change the a*b* the test relies on)."""
    tensor = torch.from_numpy(lab).permute(2, 0, 1)[None].double()
    rgb = lab_to_rgb(tensor, clip=False)[0].permute(1, 2, 0).numpy()
    assert rgb.min() >= 0.0 and rgb.max() <= 1.0, "test colour out of the sRGB gamut"
    return rgb


def _lab_halves(
    lightness: float, left: tuple[float, float], right: tuple[float, float], size: tuple[int, int] = (16, 24)
) -> np.ndarray:
    lab = np.empty((*size, 3))
    lab[..., 0] = lightness
    half = size[1] // 2
    lab[:, :half, 1:] = left
    lab[:, half:, 1:] = right
    return lab


def _shapes_lab() -> np.ndarray:
    """A varied photo in Lab: a lightness ramp and four colour patches, all well inside the gamut
    even with b* 30 higher."""
    lab = np.empty((16, 32, 3))
    lab[..., 0] = np.linspace(45.0, 70.0, 32)[None, :]
    patches = [(10.0, -20.0), (-15.0, -10.0), (5.0, 0.0), (-5.0, -25.0)]
    for i, (a, b) in enumerate(patches):
        lab[:, i * 8 : (i + 1) * 8, 1:] = (a, b)
    return lab


def test_an_original_against_itself_is_perfect():
    rgb = (_rgb_from_lab(_shapes_lab()) * 255).round().astype(np.uint8)
    result = score(rgb, rgb)
    assert result["ciede2000"] == 0.0
    assert result["psnr"] == 100.0
    assert result["auc"] == 1.0
    assert result["mean_a_error"] == 0.0 and result["mean_b_error"] == 0.0
    assert result["almost_gray"] == 0.0


def test_the_gray_copy_of_a_balanced_photo_has_no_cast():
    # left half a* +30 and b* -30 (a violet), right half a* -30 and b* +30 (a green): the mean
    # colour is neutral ((-30, -30) would be out of gamut at any lightness that keeps (30, 30) in)
    original = (_rgb_from_lab(_lab_halves(60.0, (30.0, -30.0), (-30.0, 30.0))) * 255).round().astype(np.uint8)
    gray = gray_copy(original)
    assert gray.dtype == np.uint8 and gray.shape == original.shape
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    result = score(gray, original)
    assert abs(result["mean_a_error"]) < 0.5
    assert abs(result["mean_b_error"]) < 0.5
    assert result["almost_gray"] == 1.0
    assert result["ciede2000"] > 10  # colourless, yet not cast


def test_ten_more_b_star_is_a_yellow_cast_of_ten():
    lab = _shapes_lab()
    original = _rgb_from_lab(lab)
    shifted = lab.copy()
    shifted[..., 2] += 10.0
    result = score(_rgb_from_lab(shifted), original)
    assert result["mean_b_error"] == pytest.approx(10.0, abs=0.5)
    assert abs(result["mean_a_error"]) < 0.5
    assert result["ciede2000"] > 1.0


def test_the_auc_falls_as_the_error_grows():
    lab = _shapes_lab()
    original = _rgb_from_lab(lab)
    aucs = []
    for shift in (0.0, 5.0, 10.0, 30.0):
        shifted = lab.copy()
        shifted[..., 2] += shift
        aucs.append(score(_rgb_from_lab(shifted), original)["auc"])
    assert aucs[0] == pytest.approx(1.0)
    assert all(later < earlier for earlier, later in zip(aucs, aucs[1:])), aucs
    # a uniform error of 30 Lab units: the CDF is 0 below 30 and 1 from 30 on (80 % of 0..150)
    assert aucs[-1] == pytest.approx(121 / 151, abs=0.02)


def _row(ciede: float, **others: float) -> dict[str, float]:
    row = {
        "psnr": 20.0,
        "ciede2000": ciede,
        "colourfulness": 10.0,
        "almost_gray": 0.0,
        "mean_a_error": 0.0,
        "mean_b_error": 0.0,
        "auc": 0.9,
    }
    row.update(others)
    return row


def test_summarize_counts_the_photos_better_than_gray():
    model = [_row(5.0), _row(12.0), _row(9.0), _row(10.0, colourfulness=30.0)]
    gray = [_row(10.0, colourfulness=0.0, almost_gray=1.0)] * 4
    summary = summarize(model, gray, [20.0] * 4)
    assert summary["better_than_gray"] == 0.5  # 5 and 9 beat 10; 12 does not; a tie does not count
    assert summary["ciede2000"] == 9.0 and summary["gray_ciede2000"] == 10.0
    assert summary["colourfulness_ratio"] == pytest.approx(15.0 / 20.0)
    assert summary["photos"] == 4
    # the gray copy against itself never beats itself
    assert summarize(gray, gray, [20.0] * 4)["better_than_gray"] == 0.0


def test_summarize_refuses_mismatched_photos():
    with pytest.raises(ValueError, match="same photos"):
        summarize([_row(1.0)], [], [1.0])
