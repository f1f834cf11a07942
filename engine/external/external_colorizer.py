"""DDColor as a Revive colorizer, and ``load_colorizer`` for Revive's own models and external ones.

``ExternalColorizer`` has the public interface of ``engine.models.colorizer.Colorizer`` that the batch
runner and the app use (``card.name``, ``device``, ``path``, ``warnings``, ``takes_hints``,
``classifies``, ``resolve``, ``prepare``, ``predict``, ``colorize``, and the app's re-decoding
path ``forward``, ``hint_channels``, ``decode``, ``plausible_colours``), so either can be handed
to them. The pipeline follows DDColor's reference inference (``inference/colorization_pipline.py``
in its authors' repository): the gray photo, as RGB in [0, 1], is resized to the model's square
input (512 x 512 by default), its L* taken and turned back to RGB with a*b* = 0, and the network
predicts a*b* (Lab units) at that size. Where the reference then resizes a*b* to full size and
stacks it on the full-size L*, Revive resizes it to the render shape (aspect kept) and merges it
with the full-resolution luminance by its edge-aware merge (``engine.models.chroma_merge``), exactly as
``Colorizer.decode`` does: sharp at any size, and the photo's own luminance is kept.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.batch.settings import DEFAULT_SETTINGS, ColorizeSettings
from engine.color import gray_to_lightness, lab_to_rgb, rgb_to_ycbcr_chroma
from engine.errors import ModelFileError, ModelNotFound, UnsupportedImage
from engine.external import store
from engine.external.card import DDCOLOR_INPUT_SIZE
from engine.external.runtime import LoadedModel, load_external, require_finite, running
from engine.hints.schema import HintError, PhotoHints, adjust_ab
from engine.models.card import MODEL_SUFFIX, read_header
from engine.models.chroma_merge import ChromaField, fit_chroma_field, merge_chroma
from engine.models.colorizer import Colorizer, render_shape
from engine.models.registry import list_models

log = logging.getLogger(__name__)

SIZE_MULTIPLE = 32  # ConvNeXt, DDColor's encoder, downsamples by 32


@dataclass(frozen=True)
class DDColorPrepared:
    """A photo's luminance, ready for DDColor: ``guide`` ``(h, w)`` float32 Y in [0, 1] at render
    shape (aspect kept; for the merge) and ``square`` ``(M, M)`` float32 Y in [0, 1] (stretched to
    the model's square input, as DDColor's reference does)."""

    guide: torch.Tensor
    square: torch.Tensor


def _resize_luma(luma: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """``(H, W)`` uint8/uint16 -> ``(h, w)`` float32 in [0, 1] at ``size`` (w, h), bilinear on the
    gamma-encoded values (as cv2.resize on the 8-bit RGB does in the reference)."""
    if luma.dtype == np.uint16:
        image = Image.fromarray(luma.astype(np.float32) / 65535.0, mode="F")
        scale = 1.0
    else:
        image = Image.fromarray(luma)
        scale = 1.0 / 255.0
    if image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0 if luma.dtype == np.uint8 else None)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) * scale).clamp(0.0, 1.0)


class ExternalColorizer:
    """DDColor on a device, with Colorizer's interface. Not thread-safe: one thread calls it."""

    takes_hints = False  # no hint channels: colour marks are refused, whole-photo adjustments apply
    classifies = False  # a*b* is regressed, there is no class distribution to decode

    def __init__(self, loaded: LoadedModel):
        self.loaded = loaded
        self.card = loaded.card
        self.device = loaded.device
        self.path: Path | None = loaded.path
        self.warnings: tuple[str, ...] = loaded.warnings

    @classmethod
    def load(cls, name_or_path: str | Path, device: str = "cpu", precision: str = "auto") -> ExternalColorizer:
        return cls(load_external(name_or_path, ("colorization",), "a colorization model", device, precision))

    def resolve(self, settings: ColorizeSettings) -> tuple[int, None]:
        """(the square input side, no temperature): ``settings.render_size`` rounded to a multiple of
        32, or DDColor's 512."""
        size = settings.render_size or DDCOLOR_INPUT_SIZE
        return max(SIZE_MULTIPLE * 2, round(size / SIZE_MULTIPLE) * SIZE_MULTIPLE), None

    def prepare(self, luma: np.ndarray, settings: ColorizeSettings) -> DDColorPrepared:
        """The luma ``(H, W)`` uint8/uint16 at render shape and at the square input (Pillow, fast)."""
        if not isinstance(luma, np.ndarray) or luma.ndim != 2 or luma.dtype not in (np.uint8, np.uint16):
            raise UnsupportedImage(
                f"luma must be a (H, W) uint8 or uint16 array, got {getattr(luma, 'shape', None)} "
                f"{getattr(luma, 'dtype', type(luma).__name__)}"
            )
        size, _ = self.resolve(settings)
        height, width = luma.shape
        guide = _resize_luma(luma, render_shape(width, height, size))
        return DDColorPrepared(guide, _resize_luma(luma, (size, size)))

    @torch.inference_mode()
    def forward(self, prepared: DDColorPrepared, hints: torch.Tensor | None = None) -> torch.Tensor:
        """DDColor's a*b* ``(1, 2, h, w)`` (Lab units, float32, CPU) at the render shape of ``prepared.guide``.
        ``hints`` must be None (``hint_channels`` always gives None: DDColor has no hint input)."""
        if hints is not None:
            raise ValueError(f"the model {self.card.name} takes no colour hints")
        lightness = gray_to_lightness(prepared.square)  # (M, M) L* in [0, 100]
        gray_lab = torch.stack((lightness, torch.zeros_like(lightness), torch.zeros_like(lightness)))[None]
        gray_rgb = lab_to_rgb(gray_lab)  # (1, 3, M, M) in [0, 1]: the reference's "img_gray_rgb"
        loaded = self.loaded
        side = prepared.square.shape[0]
        with running(loaded, f"render size {side}", "a smaller render size"):
            ab = loaded.descriptor.model(gray_rgb.to(loaded.device.device))
        ab = require_finite(ab.float(), f"the colorizer {self.card.name}")
        ab = F.interpolate(ab, size=tuple(prepared.guide.shape), mode="bilinear", align_corners=False)
        return ab.cpu()

    def hint_channels(self, prepared: DDColorPrepared, hints: PhotoHints | None) -> None:
        """Always None: DDColor has no hint input channels."""
        return None

    def plausible_colours(
        self, raw: torch.Tensor, prepared: DDColorPrepared, x: float, y: float, count: int = 6
    ) -> list[str]:
        """Always []: a regressing model has no class distribution to suggest colours from."""
        return []

    def decode(
        self,
        ab: torch.Tensor,
        prepared: DDColorPrepared,
        temperature: float | None = None,
        prior_correction: float = 0.0,
        chroma_scale: float = 1.0,
        hints: PhotoHints | None = None,
        saturation: float = 1.0,
    ) -> ChromaField:
        """Colour from DDColor's a*b* (``forward``), with ``Colorizer.decode``'s signature:
        ``temperature`` and ``prior_correction`` do not apply (no classes); ``chroma_scale``, the
        whole-photo adjustments of ``hints`` and the user's ``saturation`` do; then a chroma field
        for the full-resolution merge. Cheap: the app re-decodes for every slider move."""
        ab = ab[0] * chroma_scale
        if hints is not None and not hints.adjust.is_neutral:
            ab = torch.from_numpy(adjust_ab(ab.numpy(), hints.adjust))
        ab = ab * saturation
        lightness = gray_to_lightness(prepared.guide)
        rgb = lab_to_rgb(torch.cat((lightness[None], ab), dim=0)[None])[0]
        return fit_chroma_field(prepared.guide, rgb_to_ycbcr_chroma(rgb))

    def predict(
        self, prepared: DDColorPrepared, settings: ColorizeSettings, hints: PhotoHints | None = None
    ) -> ChromaField:
        """The colour of one prepared photo. HintError when the photo has colour marks."""
        if hints is not None and hints.has_marks:
            raise HintError(
                f"the model {self.card.name} takes no colour hints; choose a model that does"
                " (main.py models shows which)"
            )
        return self.decode(self.forward(prepared), prepared, hints=hints, saturation=settings.saturation)

    def colorize(
        self, luma: np.ndarray, settings: ColorizeSettings = DEFAULT_SETTINGS, hints: PhotoHints | None = None
    ) -> np.ndarray:
        """The whole pipeline for one photo: ``(H, W)`` uint8/uint16 luma -> ``(H, W, 3)`` sRGB, same dtype."""
        return merge_chroma(luma, self.predict(self.prepare(luma, settings), settings, hints))


def _is_revive_file(path: Path) -> bool:
    """True for a .safetensors file whose header holds a Revive card (False when it has none or
    cannot be read: then it is examined as an external file, which says what is wrong)."""
    if path.suffix != MODEL_SUFFIX:
        return False
    try:
        return read_header(path).card_text is not None
    except ModelFileError:
        # Damaged (truncated, say) but with a Revive card in its header: Revive's loader names
        # the damage in Revive's words.
        if not path.is_file():  # a pipe must never be opened for reading here
            return False
        try:
            with open(path, "rb") as handle:
                return b'"revive.card"' in handle.read(1 << 20)
        except OSError:
            return False
    except OSError:  # unreadable: the external loader says what is wrong
        return False


def load_colorizer(
    name_or_path: str | Path | None = None, device: str = "cpu", precision: str = "auto"
) -> Colorizer | ExternalColorizer:
    """A colorizer for a model name or file: Revive's ``Colorizer`` for Revive's models (shipped,
    trained, or a Revive ``.safetensors`` path; None = the default), ``ExternalColorizer`` for an
    added DDColor model or a DDColor file. A Revive model shadows an external one of the same name
    (with a warning). ModelNotFound lists both kinds when nothing matches."""
    if name_or_path is None:
        return Colorizer.load(None, device, precision)
    text = str(name_or_path)
    candidate = Path(text).expanduser()
    if candidate.parent != Path(".") or candidate.suffix.lower() in (".pth", ".pt", ".ckpt", ".safetensors"):
        if _is_revive_file(candidate) or not os.path.lexists(candidate):
            return Colorizer.load(candidate, device, precision)
        return ExternalColorizer.load(candidate, device, precision)
    external = store.find_external(text)
    if external is not None and not any(m.name == text and m.card is not None for m in list_models()):
        return ExternalColorizer.load(text, device, precision)
    try:
        colorizer = Colorizer.load(text, device, precision)
    except ModelNotFound as error:
        added = [m.name for m in store.list_external() if m.card is not None and m.card.task == "colorization"]
        raise ModelNotFound(f"{error}; added colorization models: {', '.join(added) or 'none'}") from None
    if external is not None:
        colorizer.warnings = (
            *colorizer.warnings,
            f"a Revive model and an added model are both called {text!r}; using Revive's",
        )
    return colorizer
