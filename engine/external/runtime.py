"""An external model on a device: resolving a name or path, the precision, image <-> tensor, memory.

``load_external`` returns a ``LoadedModel``: spandrel's descriptor moved to the device chosen by
``engine.device.select_device`` (the CPU unless asked otherwise), plus its card. Weights stay in
fp32 and half precision runs through autocast (only where spandrel says the architecture supports
it): several architectures make fp32 tensors of their own inside ``forward`` (DDColor's position
embeddings), which fail against cast weights but are handled by autocast.

Image arrays cross the boundary as numpy: ``(H, W, 3)`` sRGB or ``(H, W)`` gray, uint8 or
uint16, gamma-encoded as in the file; tensors are ``(1, C, H, W)`` float in [0, 1], as spandrel's
call contract says.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from engine.device import DeviceChoice, out_of_memory_as, select_device
from engine.errors import ModelFileError, ReviveError, UnsupportedImage
from engine.external import store
from engine.external.card import ExternalCard, require_task
from engine.models.registry import model_name_problem

if TYPE_CHECKING:  # spandrel (with torchvision) takes seconds to import: only when a model is opened
    from spandrel import ModelDescriptor

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready to run: ``descriptor.model`` is on ``device.device`` in fp32, eval mode; it runs
    in ``dtype`` (autocast) inside ``running``."""

    descriptor: ModelDescriptor
    card: ExternalCard
    path: Path
    device: DeviceChoice
    dtype: torch.dtype
    warnings: tuple[str, ...] = ()


def _card_for_path(path: Path, data: bytes, descriptor: ModelDescriptor) -> ExternalCard:
    """A card for a file used straight from its path, without adding it."""
    from engine.external import loading

    name = path.stem if model_name_problem(path.stem) is None else "model"
    try:
        return ExternalCard(
            name=name,
            file=name + path.suffix.lower(),
            original_name=path.name[:200],
            source=f"used from {str(path.parent)[:1000]}",
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            added="",
            **loading.facts(descriptor),
        )
    except ValueError as error:  # spandrel reported something a card cannot hold (e.g. a 32x scale)
        raise ModelFileError(f"{path.name}: {error}") from None


def open_external(name_or_path: str | Path) -> tuple[ModelDescriptor, ExternalCard, Path]:
    """spandrel's descriptor (CPU, fp32) and the card of an added model's name or a file's path.

    An added model's file must still be the one Revive examined (size and SHA-256). ModelNotFound
    for an unknown name, ModelFileError for a file Revive will not run.
    """
    from engine.external import loading  # imports spandrel: here, not when colorize starts

    model, path, data = store.model_file(name_or_path)
    if model is None:
        descriptor = loading.examine(data, path.name)
        return descriptor, _card_for_path(path, data, descriptor), path
    assert model.card is not None  # model_file refuses a damaged card
    return loading.load_stored(model.card, data), model.card, model.path


def _precision(choice: DeviceChoice, descriptor: ModelDescriptor) -> tuple[torch.dtype, tuple[str, ...]]:
    """The dtype to run in: the device's choice where the model supports it, else the nearest it does."""
    wanted = choice.dtype
    if wanted == torch.float16 and not descriptor.supports_half:
        fallback = torch.bfloat16 if descriptor.supports_bfloat16 and choice.device.type == "cuda" else torch.float32
        return fallback, (
            f"{descriptor.architecture.id} does not run in fp16; using "
            f"{'bf16' if fallback == torch.bfloat16 else 'fp32'}",
        )
    if wanted == torch.bfloat16 and not descriptor.supports_bfloat16:
        return torch.float32, (f"{descriptor.architecture.id} does not run in bf16; using fp32",)
    return wanted, ()


def load_external(
    name_or_path: str | Path, tasks: tuple[str, ...], wanted: str, device: str = "cpu", precision: str = "auto"
) -> LoadedModel:
    """Open an external model for one of ``tasks`` (WrongModelTask otherwise; ``wanted`` names the
    use for people) on ``device`` ("cpu" by default) in ``precision``."""
    choice = select_device(device, precision)
    descriptor, card, path = open_external(name_or_path)
    require_task(card, tasks, wanted)
    dtype, warnings = _precision(choice, descriptor)
    for warning in warnings:
        log.info("%s", warning)
    descriptor.model.to(device=choice.device)
    descriptor.model.eval()
    log.info("loaded external model %s (%s, %s) on %s", card.name, card.architecture, card.task, choice.description)
    return LoadedModel(descriptor, card, path, choice, dtype, warnings)


def check_image(image: np.ndarray, what: str = "image", gray_ok: bool = True) -> None:
    """UnsupportedImage unless ``image`` is ``(H, W, 3)`` (or ``(H, W)`` when ``gray_ok``) uint8/uint16."""
    shapes = "(H, W, 3) or (H, W)" if gray_ok else "(H, W, 3)"
    ok_shape = (
        (image.ndim == 3 and image.shape[2] == 3) or (gray_ok and image.ndim == 2)
        if isinstance(image, np.ndarray)
        else False
    )
    if not ok_shape or image.dtype not in (np.uint8, np.uint16) or min(image.shape[:2]) < 1:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise UnsupportedImage(f"the {what} must be a {shapes} uint8 or uint16 array, got {shape} {dtype}")


def to_tensor(image: np.ndarray, channels: int, device: torch.device) -> torch.Tensor:
    """``(H, W, 3)``/``(H, W)`` uint8/uint16 -> ``(1, channels, H, W)`` float32 in [0, 1]. A gray image fed
    to an RGB model is replicated to three channels; an RGB image fed to a gray model is refused."""
    scale = 255.0 if image.dtype == np.uint8 else 65535.0
    x = torch.from_numpy(np.ascontiguousarray(image)).to(device=device, dtype=torch.float32).div_(scale)
    x = x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None]
    if x.shape[1] == 1 and channels == 3:
        x = x.expand(1, 3, *x.shape[2:])
    elif x.shape[1] != channels:
        raise UnsupportedImage(f"the model takes {channels}-channel images, and this one has {x.shape[1]}")
    return x.contiguous()


def require_finite(y: torch.Tensor, what: str = "the added model") -> torch.Tensor:
    """``y`` (a model's output), or ReviveError when it holds NaN or infinity: finite weights can
    still overflow at run time, and clamping keeps NaN, which becomes black pixels written as a
    success. The photo fails alone, saying so."""
    if not bool(torch.isfinite(y).all()):
        raise ReviveError(
            f"{what} gave invalid values (NaN or infinity) for this photo: it does not work on it,"
            " or its weights are damaged"
        )
    return y


def from_tensor(x: torch.Tensor, dtype: np.dtype, gray: bool) -> np.ndarray:
    """``(1, C, H, W)`` in [0, 1] -> ``(H, W, 3)`` (or ``(H, W)`` when ``gray``: ITU-R 601 luma of an RGB
    output) of ``dtype`` (uint8/uint16), rounded. ReviveError when ``x`` is not finite (``require_finite``)."""
    x = require_finite(x.detach().float()).clamp(0, 1)[0].cpu()
    if gray and x.shape[0] == 3:
        x = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2])[None]
    elif not gray and x.shape[0] == 1:
        x = x.expand(3, *x.shape[1:])
    scale = 255.0 if dtype == np.uint8 else 65535.0
    out = x.mul(scale).add_(0.5).clamp_(0, scale).to(torch.int32).numpy().astype(dtype)
    return out[0] if gray else np.ascontiguousarray(out.transpose(1, 2, 0))


@contextlib.contextmanager
def running(loaded: LoadedModel, what: str, fix: str = ""):
    """Run the model inside: autocast in ``loaded.dtype`` (off for fp32), and an allocator failure
    turned into OutOfMemory naming ``what`` ran out and ``fix`` (plus the CPU, when not on it)."""
    device = loaded.device.device
    fixes = [f for f in (fix, "the CPU (--device cpu)" if device.type != "cpu" else "") if f]
    advice = f": try {' or '.join(fixes)}" if fixes else " (close other programs, or use a computer with more)"
    with (
        out_of_memory_as(device, f"out of memory on {loaded.device.description} for {what}{advice}"),
        torch.autocast(device.type, dtype=loaded.dtype, enabled=loaded.dtype != torch.float32),
    ):
        yield
