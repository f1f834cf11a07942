"""Network architectures (``nn.Module`` only, no training logic) and their registry.

A model file names its architecture and the keyword arguments to build it; ``build`` turns that
back into a module. Every architecture here maps lightness to chroma (see ``Colorizer``'s contract):
input ``(N, 1, H, W)`` L*/50 - 1 in [-1, 1], H and W multiples of ``SIZE_MULTIPLE``.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
from torch import nn

from engine.models.architectures import arguments
from engine.models.architectures.patchgan import PatchDiscriminator
from engine.models.architectures.resnet_generator import ResnetGenerator
from engine.models.architectures.unet_colorizer import UNetColorizer

# Each class also carries ARGUMENT_RULES, the checks ``check`` applies to a model file's arguments.
ARCHITECTURES: dict[str, type[UNetColorizer] | type[ResnetGenerator] | type[PatchDiscriminator]] = {
    "unet_colorizer": UNetColorizer,
    "resnet_generator": ResnetGenerator,
    "patch_discriminator": PatchDiscriminator,
}

# Architectures a model file may hold for colorization (discriminators only live in training state).
COLORIZER_ARCHITECTURES = frozenset({"unet_colorizer", "resnet_generator"})


class PredictsAB(Protocol):
    """What every colorizer architecture has besides being an ``nn.Module``, for type checkers
    (``nn.Module.__getattr__`` is typed "Tensor | Module"): ``typing.cast`` a colorizer's module to
    it to call ``predict_ab`` (each architecture keeps its own defaults)."""

    def predict_ab(
        self, lightness: torch.Tensor, temperature: float = ..., prior_correction: float = ...
    ) -> torch.Tensor: ...


def check(name: str, kwargs: Any) -> int:
    """Check ``kwargs`` for architecture ``name`` (types, ranges, parameter budget) without building
    it; returns the parameter count. ValueError names what is wrong."""
    try:
        factory = ARCHITECTURES[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(f"unknown architecture {str(name)[:40]!r} (known: {known})") from None
    arguments.check_arguments(name, factory.ARGUMENT_RULES, kwargs)
    try:
        count = arguments.parameter_count(factory, kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(f"bad arguments for architecture {name!r}: {error}") from None
    if count > arguments.MAX_PARAMETERS:
        raise ValueError(
            f"architecture {name!r} with these arguments has {count / 1e6:.0f} M parameters, over the "
            f"{arguments.MAX_PARAMETERS / 1e6:.0f} M a model file may ask for"
        )
    return count


def build(name: str, kwargs: dict[str, Any]) -> nn.Module:
    """Build architecture ``name`` with ``kwargs`` after ``check``; ValueError names what is wrong."""
    check(name, kwargs)
    try:
        return ARCHITECTURES[name](**kwargs)
    except TypeError as error:
        raise ValueError(f"bad arguments for architecture {name!r}: {error}") from None
