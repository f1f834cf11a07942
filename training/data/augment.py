"""Make training inputs look like old scans: exposure, contrast, fading, blur, grain, JPEG.

Only the network's input (L*) is degraded; the target colour stays the clean photo's, so the
colorizer learns to see through the damage typical of old prints and scans instead of mistaking
grain for texture or a faded sky for fog. Every choice is drawn from the caller's generator, so a
batch stays a pure function of (seed, step) and a resumed run continues the same sequence.

Input and output: L* ``(N, 1, H, W)`` float32 in [0, 100].
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def _uniform(generator: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def _chosen(generator: torch.Generator, n: int, probability: float) -> torch.Tensor:
    return torch.rand(n, generator=generator) < probability


def _blur(lightness: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Gaussian blur with one sigma per image (5x5 kernels, depthwise)."""
    offsets = torch.arange(-2, 3, dtype=torch.float32)
    kernels = torch.exp(-(offsets[None] ** 2) / (2 * sigma[:, None] ** 2))
    kernels = kernels / kernels.sum(dim=1, keepdim=True)
    n = lightness.shape[0]
    x = lightness.transpose(0, 1)  # (1, N, H, W): one group per image
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), kernels.view(n, 1, 1, 5), groups=n)
    x = F.conv2d(F.pad(x, (0, 0, 2, 2), mode="replicate"), kernels.view(n, 1, 5, 1), groups=n)
    return x.transpose(0, 1)


def _jpeg(lightness: torch.Tensor, quality: int) -> torch.Tensor:
    """One image ``(1, H, W)`` through an 8-bit gray JPEG at ``quality``."""
    plane = (lightness[0] * 2.55).round().clamp(0, 255).to(torch.uint8).numpy()
    buffer = io.BytesIO()
    Image.fromarray(plane).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        back = np.asarray(decoded.convert("L"), dtype=np.float32)
    return torch.from_numpy(back / 2.55)[None]


def degrade(lightness: torch.Tensor, generator: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """A degraded copy of ``lightness`` (see the module docstring); ``strength`` 0 returns it as is.

    Each image independently: contrast and exposure (p 0.5), gamma (p 0.3), fading (p 0.3: blacks
    lifted, whites dulled), blur (p 0.3, sigma 0.4-1.4 px), film grain (p 0.4, 1-6 L* units,
    slightly clumped), JPEG artefacts (p 0.2, quality 25-70).
    """
    if strength <= 0:
        return lightness
    n = lightness.shape[0]
    x = lightness.clone()
    pick = _chosen(generator, n, 0.5 * strength)
    contrast, exposure = _uniform(generator, n, 0.75, 1.25), _uniform(generator, n, -8.0, 8.0)
    adjusted = (x - 50.0) * contrast.view(-1, 1, 1, 1) + 50.0 + exposure.view(-1, 1, 1, 1)
    x = torch.where(pick.view(-1, 1, 1, 1), adjusted, x).clamp(0.0, 100.0)

    pick = _chosen(generator, n, 0.3 * strength)
    gamma = _uniform(generator, n, 0.75, 1.35)
    x = torch.where(pick.view(-1, 1, 1, 1), 100.0 * (x / 100.0).clamp(min=1e-4) ** gamma.view(-1, 1, 1, 1), x)

    pick = _chosen(generator, n, 0.3 * strength)
    low, high = _uniform(generator, n, 3.0, 25.0), _uniform(generator, n, 78.0, 98.0)
    faded = low.view(-1, 1, 1, 1) + x * (high - low).view(-1, 1, 1, 1) / 100.0
    x = torch.where(pick.view(-1, 1, 1, 1), faded, x)

    pick = _chosen(generator, n, 0.3 * strength)
    sigma = _uniform(generator, n, 0.4, 1.4)
    if pick.any():
        x = torch.where(pick.view(-1, 1, 1, 1), _blur(x, sigma), x)

    pick = _chosen(generator, n, 0.4 * strength)
    amount = _uniform(generator, n, 1.0, 6.0)
    if pick.any():
        noise = torch.randn(x.shape, generator=generator)
        noise = 0.6 * noise + 0.4 * _blur(noise, torch.full((n,), 0.8)) * 2.0  # clumped like film grain
        x = torch.where(pick.view(-1, 1, 1, 1), x + noise * amount.view(-1, 1, 1, 1), x)
    x = x.clamp(0.0, 100.0)

    pick = _chosen(generator, n, 0.2 * strength)
    qualities = torch.randint(25, 71, (n,), generator=generator)
    for i in torch.nonzero(pick).flatten().tolist():
        x[i] = _jpeg(x[i], int(qualities[i]))
    return x
