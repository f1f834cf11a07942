"""Shared factories for the engine tests: tiny models, tiny generated photos, a CPU colorizer.

Everything here is small enough that a test using it runs in well under a second on a 2-core CPU.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from PIL import Image

from engine.device import select_device
from engine.models.architectures.unet_colorizer import UNetColorizer
from engine.models.colorizer import Colorizer
from engine.models.files import ModelCard, save_model

TINY_WIDTHS = (8, 8, 16, 16)
TINY_BLOCKS = 1
TINY_ARGUMENTS = {"widths": list(TINY_WIDTHS), "blocks": TINY_BLOCKS}


def tiny_module(seed: int = 0, hints: bool = False) -> UNetColorizer:
    """A randomly initialised (but reproducible) tiny U-Net colorizer in eval mode."""
    torch.manual_seed(seed)
    return UNetColorizer(widths=TINY_WIDTHS, blocks=TINY_BLOCKS, hints=hints).eval()


def tiny_card(name: str = "tiny", hints: bool = False, **changes) -> ModelCard:
    arguments = dict(TINY_ARGUMENTS, hints=True) if hints else dict(TINY_ARGUMENTS)
    card = ModelCard(name=name, architecture="unet_colorizer", arguments=arguments)
    return card.with_updates(**changes) if changes else card


def constant_colour_module(a: float, b: float, strength: float = 30.0, hints: bool = False) -> UNetColorizer:
    """A tiny colorizer whose output is the a*b* bin nearest (a, b), for every pixel of every photo.

    The head's weights are zero and its bias favours one bin so strongly that the annealed mean is
    that bin's centre: the output colour is known, whatever the (random) body computes.
    """
    module = tiny_module(hints=hints)
    centers = module.bin_centers
    index = int(torch.cdist(torch.tensor([[a, b]], dtype=centers.dtype), centers).argmin())
    with torch.no_grad():
        module.head.weight.zero_()
        module.head.bias.zero_()
        module.head.bias[index] = strength
    return module


def bin_nearest(module: UNetColorizer, a: float, b: float) -> tuple[float, float]:
    centers = module.bin_centers
    index = int(torch.cdist(torch.tensor([[a, b]], dtype=centers.dtype), centers).argmin())
    return float(centers[index, 0]), float(centers[index, 1])


def install_model(home: Path, name: str = "tiny", module: torch.nn.Module | None = None, **card_changes) -> Path:
    """Save a tiny model as user model ``name`` under ``home`` (the REVIVE_HOME of the test)."""
    module = module if module is not None else tiny_module()
    hints = bool(getattr(module, "hints", False))
    return save_model(Path(home) / "models" / f"{name}.safetensors", module, tiny_card(name, hints, **card_changes))


def cpu_colorizer(module: torch.nn.Module | None = None, render_size: int = 64, **card_changes) -> Colorizer:
    """A Colorizer on the CPU in fp32 (deterministic, whatever the CPU's bf16 support)."""
    module = module if module is not None else tiny_module()
    card = tiny_card(hints=bool(getattr(module, "hints", False)), render_size=render_size, **card_changes)
    return Colorizer(module, card, select_device("cpu", "fp32"))


def gradient_luma(width: int, height: int, low: int = 40, high: int = 210, dtype=np.uint8) -> np.ndarray:
    """``(height, width)`` luma: a smooth diagonal ramp from ``low`` to ``high`` (8-bit levels)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    ramp = (x / max(1, width - 1) + y / max(1, height - 1)) / 2.0
    values = low + (high - low) * ramp
    if dtype == np.uint16:
        return np.round(values * 257.0).astype(np.uint16)
    return np.round(values).astype(np.uint8)


def colour_shapes(width: int, height: int, seed: int) -> np.ndarray:
    """``(height, width, 3)`` uint8 sRGB: a coloured background with a few flat coloured rectangles."""
    rng = np.random.default_rng(seed)
    palette = np.array(
        [[200, 30, 30], [30, 160, 40], [40, 60, 200], [230, 200, 40], [240, 240, 240], [90, 40, 120]],
        dtype=np.uint8,
    )
    image = np.empty((height, width, 3), np.uint8)
    image[:] = palette[rng.integers(len(palette))]
    for _ in range(3):
        x0, y0 = rng.integers(0, width // 2), rng.integers(0, height // 2)
        x1, y1 = x0 + rng.integers(width // 4, width // 2), y0 + rng.integers(height // 4, height // 2)
        image[y0:y1, x0:x1] = palette[rng.integers(len(palette))]
    return image


def write_gray_photo(path: Path, width: int = 40, height: int = 30, **save_options) -> Path:
    """A small gray photo file (type from the suffix) with a gradient, for batch and CLI tests."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gradient_luma(width, height)).save(path, **save_options)
    return path


def assert_close(actual: torch.Tensor, expected: torch.Tensor, atol: float) -> None:
    """Same shape and every value within ``atol`` (torch.testing's version costs seconds to import)."""
    assert actual.shape == expected.shape, (tuple(actual.shape), tuple(expected.shape))
    difference = (actual.double() - expected.double()).abs().max().item()
    assert difference <= atol, f"largest difference {difference:.3g} > {atol:.3g}"


@contextlib.contextmanager
def torch_threads(count: int):
    """Run torch's CPU ops on ``count`` threads inside the block, then restore the previous count.

    Tiny tensors gain nothing from two threads, and on a busy machine (a training job in the
    background) threads that wait on each other at every op made tiny tests many times slower.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def load_script(path: Path) -> ModuleType:
    """A benchmark or script file imported as a module, as ``uv run`` runs it: its folder on
    ``sys.path`` (for ``_common``) and the module in ``sys.modules`` while it executes (dataclasses
    look their module up then); both are undone afterwards."""
    path = Path(path)
    name = f"script_{path.stem}"
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.modules.pop(name, None)
        sys.path.remove(str(path.parent))


def tune_decoding_setup(tmp_path: Path, home: Path) -> tuple[ModuleType, Path, list[str]]:
    """``benchmarks/tune_decoding.py`` loaded, a folder of three small colour photos, and the
    arguments of a one-decoding sweep of an installed tiny model (render 64, T 0.5, no prior
    correction, scale 1) that a test adds its own axis to."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        Image.fromarray(colour_shapes(96, 64, seed=i)).save(photos / f"p{i}.png")
    install_model(home, "tiny", tiny_module(seed=4), render_size=64)
    tune = load_script(Path(__file__).resolve().parent.parent / "benchmarks" / "tune_decoding.py")
    return (
        tune,
        photos,
        ["--model", "tiny", "--render-sizes", "64", "--temperatures", "0.5", "--priors", "0", "--scales", "1"],
    )
