"""The Colorizer: a model loaded once, called per photo.

Contract: a photo's luminance goes in, an sRGB photo of the same size comes out, with the luminance
kept. Colour is predicted at the render size (short side, aspect ratio kept by padding, never
stretching) and merged with the full-resolution luminance (``engine.models.chroma_merge``).

The three stages are separate so the batch runner can overlap them across photos:
``prepare`` (CPU, small) -> ``predict`` (the model, on the device) -> ``merge_chroma`` (CPU, full size).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.batch.settings import DEFAULT_SETTINGS, ColorizeSettings
from engine.color import gray_to_lightness, lab_to_rgb, rgb_to_ycbcr_chroma, rolloff_gain
from engine.device import DeviceChoice, out_of_memory_as, select_device
from engine.hints.schema import HintError, PhotoHints, adjust_ab, hint_marks, render_hints
from engine.models.ab_bins import annealed_mean
from engine.models.architectures import PredictsAB
from engine.models.chroma_merge import ChromaField, fit_chroma_field, merge_chroma
from engine.models.files import ModelCard, load_model
from engine.models.registry import resolve

log = logging.getLogger(__name__)

MAX_ASPECT = 4.0  # the long side at render size is capped at this many times the short side


@dataclass(frozen=True)
class Prepared:
    """A photo's luminance at render size: ``guide`` ``(h, w)`` float32 Y in [0, 1]."""

    guide: torch.Tensor


def render_shape(width: int, height: int, render_size: int) -> tuple[int, int]:
    """(w, h) at which colour is predicted: short side ``render_size`` (never upscaled), aspect kept."""
    short = min(width, height)
    scale = min(1.0, render_size / short)
    w = max(8, round(width * scale))
    h = max(8, round(height * scale))
    cap = int(render_size * MAX_ASPECT)
    if max(w, h) > cap:
        factor = cap / max(w, h)
        w, h = max(8, round(w * factor)), max(8, round(h * factor))
    return w, h


class Colorizer:
    """A loaded colorization model on a device. Not thread-safe: one thread calls it."""

    def __init__(self, module: torch.nn.Module, card: ModelCard, device: DeviceChoice, path: Path | None = None):
        self.card = card
        self.device = device
        self.path = path
        self.warnings: tuple[str, ...] = ()  # what the user should hear about how it was chosen
        self._module = module.to(device.device).eval()
        if device.device.type == "cpu":
            self._module = self._module.to(memory_format=torch.channels_last)
        self._multiple = int(getattr(module, "size_multiple", 16))

    @classmethod
    def load(cls, model: str | Path | None = None, device: str = "auto", precision: str = "auto") -> "Colorizer":
        """Load a model by name or path (None: the default model) on ``device``."""
        choice = select_device(device, precision)
        resolved = resolve(str(model) if model is not None else None)
        module, card = load_model(resolved.path)
        for warning in resolved.warnings:
            log.warning("%s", warning)
        log.info("loaded model %s (%s) on %s", card.name, resolved.path, choice.description)
        colorizer = cls(module, card, choice, resolved.path)
        colorizer.warnings = resolved.warnings
        return colorizer

    def resolve(self, settings: ColorizeSettings) -> tuple[int, float]:
        return (
            settings.render_size or self.card.render_size,
            settings.temperature if settings.temperature is not None else self.card.temperature,
        )

    def prepare(self, luma: np.ndarray, settings: ColorizeSettings) -> Prepared:
        """Shrink the luma ``(H, W)`` uint8/uint16 to render size (Pillow, fast)."""
        render_size, _ = self.resolve(settings)
        height, width = luma.shape
        w, h = render_shape(width, height, render_size)
        if luma.dtype == np.uint16:
            small = Image.fromarray(luma.astype(np.float32) / 65535.0, mode="F").resize(
                (w, h), Image.Resampling.BILINEAR
            )
            guide = torch.from_numpy(np.asarray(small, dtype=np.float32).copy())
        else:
            image = Image.fromarray(luma)
            if (w, h) != (width, height):
                # reducing_gap: a cheap box reduction first, then a proper filter over the last factor 2.
                image = image.resize((w, h), Image.Resampling.BILINEAR, reducing_gap=2.0)
            guide = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
        return Prepared(guide.clamp(0.0, 1.0))

    @property
    def takes_hints(self) -> bool:
        """True when the model has colour-hint input channels."""
        return bool(getattr(self._module, "hints", False))

    @property
    def classifies(self) -> bool:
        """True for a model that predicts a distribution over a*b* classes (decoding applies)."""
        return hasattr(self._module, "bin_centers")

    @torch.inference_mode()
    def forward(
        self,
        prepared: Prepared,
        hints: torch.Tensor | None = None,
        flip_average: bool | None = None,
        hint_free: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The network's raw output for one prepared photo, on the CPU in float32, at the network's
        output resolution and cropped to the photo (``(h, w)`` of ``prepared.guide`` times the
        network's output scale, rounded up: half of it for the U-Net): class logits ``(1, Q, h', w')``
        for a classifying model, a*b* ``(1, 2, h', w')`` in Lab units for a regressing one.

        ``hints`` ``(3, h, w)`` float32 (a*b* / 110 and a 0/1 mask, ``engine.hints.schema``) or None.
        With hints and a card that rolls chroma off toward white, the output holds two images,
        ``(2, Q, h', w')``: the hinted one, then the hint-free one, from one batch; ``decode`` takes
        the roll-off out of the network's own guess only, so a colour the hints ask for on a pale
        area (a blue sky) spreads as far as without the roll-off. ``hint_free``: this photo's own
        hint-free output (``forward(prepared)`` at the same flip) where the caller keeps it, as the
        hint preview does; it is appended instead of run again.
        ``flip_average`` (default: the model card's): the photo and its mirror image go through the
        network as one batch of two and the outputs (the mirror's flipped back) are averaged; a
        colour guess that depends on which side a thing is on cancels out (measured on val:
        CIEDE2000 gain +0.07 at the same colourfulness, for twice the network's time).
        OutOfMemory names the fix.
        """
        guide = prepared.guide
        h, w = guide.shape
        lightness = gray_to_lightness(guide)  # (h, w) L* in [0, 100]
        pad_h = (-h) % self._multiple
        pad_w = (-w) % self._multiple
        x = (lightness / 50.0 - 1.0)[None, None]
        if hints is not None:
            if not self.takes_hints:
                raise ValueError(f"the model {self.card.name} takes no colour hints")
            if tuple(hints.shape) != (3, h, w):
                raise ValueError(f"hints must be (3, {h}, {w}), got {tuple(hints.shape)}")
            x = torch.cat((x, hints.float()[None]), dim=1)
        elif self.takes_hints:
            x = torch.cat((x, x.new_zeros((1, 3, h, w))), dim=1)
        with_hint_free = hints is not None and self.card.lightness_rolloff > 0
        if with_hint_free and hint_free is None:
            x = torch.cat((x, torch.cat((x[:, :1], x.new_zeros((1, 3, h, w))), dim=1)), dim=0)
        images = x.shape[0]
        flip = self.card.flip_average if flip_average is None else flip_average
        if flip:  # mirrored before padding, so both images are padded on the right and crop alike
            x = torch.cat((x, x.flip(-1)), dim=0)
        if pad_h or pad_w:
            mode = "reflect" if pad_h < h and pad_w < w else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
            if x.shape[1] > 1:  # hints are not mirrored into the padding: there is no photo there
                x[:, 1:, h:, :] = 0
                x[:, 1:, :, w:] = 0
        device = self.device.device
        advice = f"out of memory on {self.device.description} at render size {min(h, w)}: try a smaller render size"
        with out_of_memory_as(device, advice if device.type == "cpu" else f"{advice}, or the CPU (--device cpu)"):
            x = x.to(device)
            if device.type == "cpu":
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=self.device.dtype, enabled=self.device.dtype != torch.float32):
                if self.classifies:
                    raw = self._module(x)
                else:
                    raw = cast(PredictsAB, self._module).predict_ab(x)
            # Cropped at the network's own resolution (half the render size for the U-Net): the
            # class distribution is decoded there and only the two a*b* channels are upsampled,
            # 4x less work than decoding 246 upsampled channels (measured 0.94 s -> 0.2 s at 256).
            rows = math.ceil(h * raw.shape[-2] / x.shape[-2])
            cols = math.ceil(w * raw.shape[-1] / x.shape[-1])
            raw = raw[..., :rows, :cols].float().cpu()
            if flip:
                raw = (raw[:images] + raw[images:].flip(-1)) / 2  # logits (or a*b*) averaged, not probabilities
            if with_hint_free and hint_free is not None:
                raw = torch.cat((raw, hint_free[-1:]), dim=0)
            return raw

    def decode(
        self,
        raw: torch.Tensor,
        prepared: Prepared,
        temperature: float,
        prior_correction: float,
        chroma_scale: float,
        hints: PhotoHints | None = None,
        saturation: float = 1.0,
        confidence_gamma: float | None = None,
        lightness_rolloff: float | None = None,
    ) -> ChromaField:
        """Colour from the network's raw output (``forward``): the annealed mean of the class
        distribution (``engine.models.ab_bins``) times the model's ``chroma_scale``, less toward
        white (``engine.color.rolloff_gain``; the card's unless given; with hints, what is taken
        out is the hint-free guess's share, ``forward``'s second image); then the hints' colours
        where they were given (exact at the marks, feathered by a pixel), the whole-photo
        adjustments, and the user's ``saturation``; as a chroma field for the full-resolution
        merge. Cheap: the GUI re-decodes for every slider move without running the network."""
        if self.classifies:
            gamma = self.card.confidence_gamma if confidence_gamma is None else confidence_gamma
            ab = annealed_mean(
                raw,
                self._module.get_buffer("bin_centers").cpu(),
                temperature,
                self._module.get_buffer("log_class_weights").cpu(),
                prior_correction,
                gamma,
            )
        else:
            ab = raw
        h, w = prepared.guide.shape
        fy, fx = math.ceil(h / ab.shape[-2]), math.ceil(w / ab.shape[-1])
        if (fy, fx) != (1, 1):
            ab = F.interpolate(ab, scale_factor=(fy, fx), mode="bilinear", align_corners=False)
        lightness = gray_to_lightness(prepared.guide)
        rolloff = self.card.lightness_rolloff if lightness_rolloff is None else lightness_rolloff
        ab = ab[:, :, :h, :w] * chroma_scale
        # ab[-1] is the hint-free guess when forward ran one, else the only image: without hints
        # this is ab * gain; with them, the hints' own pull on the colour is left whole.
        ab = ab[0] - (1.0 - rolloff_gain(lightness, rolloff)) * ab[-1] if rolloff else ab[0]
        if hints is not None and hints.has_marks:
            values, mask = hint_marks(hints, w, h)
            soft = torch.from_numpy(mask)[None, None]
            soft = torch.maximum(soft, F.avg_pool2d(F.pad(soft, (1, 1, 1, 1), mode="replicate"), 3, stride=1))[0]
            ab = ab * (1 - soft) + torch.from_numpy(values) * soft
        if hints is not None and not hints.adjust.is_neutral:
            ab = torch.from_numpy(adjust_ab(ab.numpy(), hints.adjust))
        ab = ab * saturation
        rgb = lab_to_rgb(torch.cat((lightness[None], ab), dim=0)[None])[0]
        return fit_chroma_field(prepared.guide, rgb_to_ycbcr_chroma(rgb))

    def hint_channels(self, prepared: Prepared, hints: PhotoHints | None) -> torch.Tensor | None:
        """The network's hint input for ``hints`` at ``prepared``'s render shape, or None (no marks,
        or a model without hint channels)."""
        if hints is None or not hints.has_marks or not self.takes_hints:
            return None
        h, w = prepared.guide.shape
        return torch.from_numpy(render_hints(hints, w, h))

    @torch.inference_mode()
    def predict(self, prepared: Prepared, settings: ColorizeSettings, hints: PhotoHints | None = None) -> ChromaField:
        """Predict the colour of one prepared photo, following ``hints`` (engine.hints.schema) if given.
        HintError when the photo has colour marks and the model takes no hints."""
        if hints is not None and hints.has_marks and not self.takes_hints:
            raise HintError(
                f"the model {self.card.name} takes no colour hints; choose a model that does"
                " (main.py models shows which)"
            )
        _, temperature = self.resolve(settings)
        raw = self.forward(prepared, self.hint_channels(prepared, hints))
        return self.decode(
            raw, prepared, temperature, self.card.prior_correction, self.card.chroma_scale, hints, settings.saturation
        )

    @torch.inference_mode()
    def plausible_colours(self, raw: torch.Tensor, prepared: Prepared, x: float, y: float, count: int = 6) -> list[str]:
        """The colours the model itself finds likely at (x, y) (0..1 of the photo), most likely first:
        its top a*b* classes there (as ideepcolor's swatches), distinct by at least 15 a*b* units,
        shown at that spot's lightness, as sRGB hex. [] for a model without classes."""
        if not self.classifies:
            return []
        h, w = prepared.guide.shape
        raw_h, raw_w = raw.shape[-2:]
        probs = torch.softmax(raw[0, :, min(raw_h - 1, int(y * raw_h)), min(raw_w - 1, int(x * raw_w))].float(), dim=0)
        centers = self._module.get_buffer("bin_centers").cpu()
        lightness = float(gray_to_lightness(prepared.guide[min(h - 1, int(y * h)), min(w - 1, int(x * w))]))
        chosen: list[torch.Tensor] = []
        for index in torch.argsort(probs, descending=True).tolist():
            ab = centers[index]
            if all(float(torch.dist(ab, other)) >= 15.0 for other in chosen):
                chosen.append(ab)
            if len(chosen) == count or probs[index] < 0.005:
                break
        colours = []
        for ab in chosen:
            lab = torch.tensor([lightness, float(ab[0]), float(ab[1])]).view(1, 3, 1, 1)
            rgb = (lab_to_rgb(lab)[0, :, 0, 0].clamp(0, 1) * 255).round().int().tolist()
            colours.append("#{:02x}{:02x}{:02x}".format(*rgb))
        return colours

    def colorize(
        self, luma: np.ndarray, settings: ColorizeSettings = DEFAULT_SETTINGS, hints: PhotoHints | None = None
    ) -> np.ndarray:
        """The whole pipeline for one photo: ``(H, W)`` uint8/uint16 luma -> ``(H, W, 3)`` sRGB, same dtype."""
        return merge_chroma(luma, self.predict(self.prepare(luma, settings), settings, hints))
