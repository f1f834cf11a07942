"""Small shared builders: normalisation and activation chosen by name."""

from __future__ import annotations

from torch import nn

NORMS = ("instance", "batch", "none")
ACTIVATIONS = ("relu", "leaky_relu")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """``instance`` (CycleGAN's default), ``batch``, or ``none``."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {kind!r}")


def activation(kind: str) -> nn.Module:
    """``relu`` or ``leaky_relu`` (slope 0.2, as in the PatchGAN)."""
    if kind == "relu":
        return nn.ReLU(inplace=True)
    if kind == "leaky_relu":
        return nn.LeakyReLU(0.2, inplace=True)
    raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {kind!r}")
