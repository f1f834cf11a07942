"""Shared bits of the benchmark scripts: make them runnable from anywhere, read number lists, pick a model."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def floats(text: str) -> tuple[float, ...]:
    """``"0.5,0.6, 1"`` -> ``(0.5, 0.6, 1.0)`` (an option's comma-separated numbers; ValueError if not)."""
    return tuple(float(v) for v in text.split(",") if v.strip())


def model_or_random(name: str | None):
    """(module, card) of the named/default model, or a random-weight base colorizer when none is
    installed (speed does not depend on the weights)."""
    from engine.errors import ModelNotFound
    from engine.models.architectures.unet_colorizer import UNetColorizer
    from engine.models.files import ModelCard, load_model
    from engine.models.registry import resolve_model

    try:
        return load_model(resolve_model(name))
    except ModelNotFound:
        if name:
            raise
        module = UNetColorizer().eval()
        return module, ModelCard(name="random-weights", architecture="unet_colorizer", arguments={})
