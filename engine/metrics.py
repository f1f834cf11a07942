"""Colorization quality metrics: PSNR, CIEDE2000, colourfulness, colour cast, ab-error AuC.

Inputs are numpy sRGB images ``(H, W, 3)`` uint8 (or float in [0, 1]). Used by
``benchmarks/quality.py``, the decoding sweep and training's validation.

- ``mean_a_error``/``mean_b_error``: the signed mean of output minus original a* (b*), Lab units.
  A colour cast shows as a mean far from 0 (a blue cast: b* error well below 0).
- ``auc``: the area under the cumulative distribution of the per-pixel a*b* error (Euclidean,
  Lab units) over thresholds 0 to 150, normalised to [0, 1] (Zhang, Isola & Efros 2016, "AuC").
  1 is a perfect colour match.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.color import rgb_to_lab

# Hasler-Suesstrunk colourfulness under which a photo looks gray to a person (their scale: 0 = not
# colourful, 15 = slightly, 33 = moderately). Photos in our colour set have a median around 35.
ALMOST_GRAY_COLOURFULNESS = 5.0


def _float(rgb: np.ndarray) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) / 255.0
    return rgb.astype(np.float32)


def psnr(output: np.ndarray, reference: np.ndarray) -> float:
    """Peak signal-to-noise ratio over RGB, in dB (peak 1.0); capped at 100 for identical images."""
    mse = float(np.mean((_float(output) - _float(reference)) ** 2))
    return 100.0 if mse <= 1e-10 else float(10.0 * np.log10(1.0 / mse))


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` sRGB -> ``(H, W, 3)`` float64 Lab."""
    tensor = torch.from_numpy(_float(rgb)).permute(2, 0, 1)[None].double()
    return rgb_to_lab(tensor)[0].permute(1, 2, 0).numpy()


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu & Dalal 2005) per pixel; inputs ``(..., 3)`` Lab."""
    l1, a1, b1 = np.moveaxis(lab1.astype(np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(lab2.astype(np.float64), -1, 0)
    c1 = np.hypot(a1, b1)
    c2 = np.hypot(a2, b2)
    c_mean7 = ((c1 + c2) / 2.0) ** 7
    g = 0.5 * (1.0 - np.sqrt(c_mean7 / (c_mean7 + 25.0**7)))
    a1p, a2p = (1.0 + g) * a1, (1.0 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0
    dlp = l2 - l1
    dcp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhp = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2.0)
    lp_mean = (l1 + l2) / 2.0
    cp_mean = (c1p + c2p) / 2.0
    hsum = h1p + h2p
    hp_mean = np.where(
        np.abs(h1p - h2p) > 180.0,
        np.where(hsum < 360.0, (hsum + 360.0) / 2.0, (hsum - 360.0) / 2.0),
        hsum / 2.0,
    )
    hp_mean = np.where(c1p * c2p == 0, hsum, hp_mean)
    t = (
        1.0
        - 0.17 * np.cos(np.radians(hp_mean - 30.0))
        + 0.24 * np.cos(np.radians(2.0 * hp_mean))
        + 0.32 * np.cos(np.radians(3.0 * hp_mean + 6.0))
        - 0.20 * np.cos(np.radians(4.0 * hp_mean - 63.0))
    )
    d_theta = 30.0 * np.exp(-(((hp_mean - 275.0) / 25.0) ** 2))
    cp_mean7 = cp_mean**7
    r_c = 2.0 * np.sqrt(cp_mean7 / (cp_mean7 + 25.0**7))
    s_l = 1.0 + 0.015 * (lp_mean - 50.0) ** 2 / np.sqrt(20.0 + (lp_mean - 50.0) ** 2)
    s_c = 1.0 + 0.045 * cp_mean
    s_h = 1.0 + 0.015 * cp_mean * t
    r_t = -np.sin(np.radians(2.0 * d_theta)) * r_c
    return np.sqrt((dlp / s_l) ** 2 + (dcp / s_c) ** 2 + (dhp / s_h) ** 2 + r_t * (dcp / s_c) * (dhp / s_h))


def mean_ciede2000(output: np.ndarray, reference: np.ndarray) -> float:
    return float(np.mean(ciede2000(to_lab(output), to_lab(reference))))


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness M, on the 0..255 scale of the paper."""
    image = _float(rgb) * 255.0
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def is_almost_gray(rgb: np.ndarray) -> bool:
    return colourfulness(rgb) < ALMOST_GRAY_COLOURFULNESS


AUC_THRESHOLDS = 150


def ab_error_auc(lab_output: np.ndarray, lab_reference: np.ndarray) -> float:
    """Area under the CDF of the per-pixel a*b* error over thresholds 0..150 (step 1), in [0, 1]."""
    distance = np.hypot(lab_output[..., 1] - lab_reference[..., 1], lab_output[..., 2] - lab_reference[..., 2])
    # share of pixels with error <= t, for t = 0, 1, ..., 150: a histogram of ceil(error) and a cumsum
    bins = np.minimum(np.ceil(distance).astype(np.int64).ravel(), AUC_THRESHOLDS + 1)
    counts = np.bincount(bins, minlength=AUC_THRESHOLDS + 2)[: AUC_THRESHOLDS + 1]
    cdf = np.cumsum(counts) / distance.size
    return float(cdf.mean())


def score(output: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Every metric of one colorized photo against its original (the same size): ``psnr``,
    ``ciede2000``, ``colourfulness`` (of the output), ``almost_gray`` (1.0 or 0.0), the signed
    ``mean_a_error`` and ``mean_b_error`` (the cast) and ``auc``."""
    fullness = colourfulness(output)
    lab_output, lab_reference = to_lab(output), to_lab(reference)
    return {
        "psnr": psnr(output, reference),
        "ciede2000": float(np.mean(ciede2000(lab_output, lab_reference))),
        "colourfulness": fullness,
        "almost_gray": float(fullness < ALMOST_GRAY_COLOURFULNESS),
        "mean_a_error": float(np.mean(lab_output[..., 1] - lab_reference[..., 1])),
        "mean_b_error": float(np.mean(lab_output[..., 2] - lab_reference[..., 2])),
        "auc": ab_error_auc(lab_output, lab_reference),
    }


def gray_copy(reference: np.ndarray) -> np.ndarray:
    """The baseline every colorizer must beat: the photo's own luma as gray RGB ``(H, W, 3)`` uint8."""
    from PIL import Image  # Pillow's 'L' conversion: exactly what a gray copy saved as a file holds

    rgb = reference if reference.dtype == np.uint8 else np.clip(np.rint(reference * 255.0), 0, 255).astype(np.uint8)
    plane = np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).convert("L"))
    return np.repeat(plane[..., None], 3, axis=2)


def summarize(
    model: list[dict[str, float]], gray: list[dict[str, float]], original_colourfulness: list[float]
) -> dict[str, float]:
    """Means of per-photo ``score``s of a model and of the gray copies of the same photos, plus
    ``better_than_gray`` (share of photos where the model's CIEDE2000 is lower) and
    ``colourfulness_ratio`` (the model's mean colourfulness over the originals')."""
    if not model or len(model) != len(gray):
        raise ValueError("summarize needs the same photos scored for the model and the gray copy")
    result = {key: float(np.mean([row[key] for row in model])) for key in model[0]}
    for key in ("psnr", "ciede2000", "auc", "mean_a_error", "mean_b_error"):
        result[f"gray_{key}"] = float(np.mean([row[key] for row in gray]))
    result["better_than_gray"] = float(np.mean([m["ciede2000"] < g["ciede2000"] for m, g in zip(model, gray)]))
    result["original_colourfulness"] = float(np.mean(original_colourfulness))
    result["colourfulness_ratio"] = result["colourfulness"] / max(1e-6, result["original_colourfulness"])
    result["photos"] = float(len(model))
    return result
