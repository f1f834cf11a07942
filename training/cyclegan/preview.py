"""Previews of a CycleGAN run: the held-out photos translated by the current G, and a before/after grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.atomic_files import atomic_file, ensure_folder
from training.cyclegan.parts import rgb11_to_uint8, uint8_to_rgb11

GAP = 4  # pixels between tiles


@torch.inference_mode()
def translate_previews(
    g, previews, device: torch.device, dtype: torch.dtype
) -> tuple[tuple[str, np.ndarray, np.ndarray], ...]:
    """Run G (``ColorizerG`` or ``RGBGenerator``) in eval mode on each preview.

    ``previews``: (name, ``(h, w, 3)`` uint8 sRGB) with sides that suit G; returns
    (name, before copy, after ``(h, w, 3)`` uint8 sRGB). G is put back in training mode.
    """
    g.module.eval()
    out = []
    try:
        for name, image in previews:
            x = uint8_to_rgb11(torch.from_numpy(np.array(image, dtype=np.uint8))[None]).to(device)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                translated, _ = g.translate(x)
            out.append((name, image.copy(), rgb11_to_uint8(translated)[0].numpy().copy()))
    finally:
        g.train()
    return tuple(out)


def before_after_grid(images) -> np.ndarray:
    """One row per (name, before, after): ``(H, W, 3)`` uint8 sRGB on a white background."""
    if not images:
        return np.full((16, 16, 3), 255, np.uint8)
    width = max(b.shape[1] + a.shape[1] for _, b, a in images) + 3 * GAP
    height = sum(max(b.shape[0], a.shape[0]) for _, b, a in images) + (len(images) + 1) * GAP
    canvas = np.full((height, width, 3), 255, np.uint8)
    y = GAP
    for _, before, after in images:
        canvas[y : y + before.shape[0], GAP : GAP + before.shape[1]] = before
        x = 2 * GAP + before.shape[1]
        canvas[y : y + after.shape[0], x : x + after.shape[1]] = after
        y += max(before.shape[0], after.shape[0]) + GAP
    return canvas


def save_grid(images, path: Path) -> Path:
    """Write ``before_after_grid(images)`` as a PNG (atomically)."""
    path = Path(path)
    ensure_folder(path)
    with atomic_file(path) as handle:
        Image.fromarray(before_after_grid(images)).save(handle, format="PNG")
    return path
