"""Simulated user hints for training (Zhang et al. SIGGRAPH 2017, "Real-Time User-Guided Image
Colorization"): a few points and small patches where the network is told the true colour.

For each photo, a number of hints drawn from a geometric distribution (p = 1/8, as the paper),
each a square patch of 1 to 9 pixels at a random place, carrying the mean a*b* of the true photo
over that patch. Batches with no hints at all (``none_probability``) teach the network to colour
on its own; a hint-free input must score as well as a model without hint channels.

Output: ``(N, 3, H, W)`` float32: a*b* / 110 inside the patches (0 elsewhere), then the mask (1 in
the patches, 0 elsewhere), the input layout of ``UNetColorizer`` with ``hints``.
"""

from __future__ import annotations

import torch

from engine.models.architectures.unet_colorizer import HINT_AB_SCALE, HINT_CHANNELS

MAX_HINTS = 24
GEOMETRIC_P = 1 / 8


def sample_hints(ab: torch.Tensor, generator: torch.Generator, none_probability: float = 0.5) -> torch.Tensor:
    """Hints for true a*b* ``ab`` ``(N, 2, H, W)`` in Lab units; see the module docstring."""
    n, _, height, width = ab.shape
    hints = torch.zeros((n, HINT_CHANNELS, height, width), dtype=torch.float32)
    if float(torch.rand(1, generator=generator)) < none_probability:
        return hints
    # torch's distributions have no generator argument: draw the geometric count by inversion.
    u = torch.rand(n, generator=generator).clamp(min=1e-6)
    counts = (torch.log(u) / torch.log(torch.tensor(1 - GEOMETRIC_P))).floor().long().clamp(max=MAX_HINTS)
    counts[torch.rand(n, generator=generator) < 0.1] = 0  # some photos of a hinted batch get none
    for i in range(n):
        for _ in range(int(counts[i])):
            half = int(torch.randint(0, 5, (1,), generator=generator))
            y = int(torch.randint(0, height, (1,), generator=generator))
            x = int(torch.randint(0, width, (1,), generator=generator))
            y0, y1 = max(0, y - half), min(height, y + half + 1)
            x0, x1 = max(0, x - half), min(width, x + half + 1)
            colour = ab[i, :, y0:y1, x0:x1].mean(dim=(1, 2)) / HINT_AB_SCALE
            hints[i, 0:2, y0:y1, x0:x1] = colour.view(2, 1, 1)
            hints[i, 2, y0:y1, x0:x1] = 1.0
    return hints
