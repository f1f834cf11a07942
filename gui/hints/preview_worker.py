"""The hint preview's worker: the photo on show, colorized again after each hint edit, off the GUI thread.

The GUI never queues work here; it writes what it wants to see into a ``PreviewMailbox`` (the
colorizer, the photo, the settings, the hints, a spot to suggest colours for) and the worker, when
it wakes, renders the latest of each. Edits that arrive while a render runs only overwrite the
mailbox, so after it the worker jumps straight to the newest hints: a burst of edits costs two
renders, not one per edit. The mailbox is the app's one newest-request slot
(``gui.models.newest_slot.NewestSlot``, also behind the re-tunes of the photo on show).

What runs is as little as the change needs (``Colorizer``'s stages):
  photo or render size changed -> ``prepare`` + ``forward`` + ``decode`` + merge
  colour marks changed         -> ``forward`` + ``decode`` + merge
  adjustments, saturation, boldness changed -> ``decode`` + merge (no network)
The merge is ``engine.models.chroma_merge.merge_chroma`` on the display copy's luma, so the preview is as
sharp as the view. Results are frozen dataclasses of arrays the worker never touches again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, Signal, Slot

from engine.batch.settings import ColorizeSettings
from engine.errors import ReviveError, describe_error
from engine.hints.schema import PhotoHints
from gui.models.newest_slot import NewestSlot
from gui.workers.device_lane import PREVIEWING, DeviceLane, uses_device

if TYPE_CHECKING:  # torch: the window imports this module before the inference thread has loaded it
    import torch

    from engine.models.colorizer import Colorizer, Prepared

log = logging.getLogger(__name__)

PREVIEW_MAX_SIDE = 1280  # long side of the preview: a view's worth of pixels, merged in tens of ms
SUGGESTION_COUNT = 6


@dataclass(frozen=True, eq=False)
class PreviewPhoto:
    """The photo to preview. ``image``: the display copy, ``(h, w, 3)`` uint8 sRGB or ``(h, w)``
    uint8 luma (its colour, if any, is ignored); the sender does not touch it again. ``token``
    names the photo: results carry it, so late ones of an earlier photo can be told apart."""

    token: int
    image: np.ndarray

    def __post_init__(self) -> None:
        image = self.image
        if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
            raise ValueError(f"a preview photo must be (h, w) or (h, w, 3) uint8, got {image.shape} {image.dtype}")


@dataclass(frozen=True, eq=False)
class PreviewFrame:
    """A rendered preview: ``rgb`` ``(h, w, 3)`` uint8 sRGB (read-only) of photo ``token`` with ``hints``."""

    token: int
    hints: PhotoHints
    rgb: np.ndarray
    ran_network: bool  # False when only the decoding ran (an adjustment changed)
    seconds: float


@dataclass(frozen=True)
class SpotSuggestions:
    """The colours the model finds likely at (x, y) (0..1) of photo ``token``, most likely first."""

    token: int
    x: float
    y: float
    colours: tuple[str, ...]


@dataclass(frozen=True)
class _Wanted:
    colorizer: Colorizer | None
    photo: PreviewPhoto | None
    settings: ColorizeSettings
    hints: PhotoHints
    spot: tuple[int, float, float] | None  # (serial, x, y): a new serial asks again


class PreviewMailbox(NewestSlot[_Wanted]):
    """What the GUI wants to see, newest only (``gui.models.newest_slot``), changed field by field."""

    def __init__(self) -> None:
        super().__init__(_Wanted(None, None, ColorizeSettings(), PhotoHints(), None))

    def post(self, **changes) -> bool:
        """Change what is wanted; True when the worker must be woken (it is not already due to look)."""
        return self.update(lambda wanted: replace(wanted, **changes)).wake


def display_luma(image: np.ndarray, max_side: int = PREVIEW_MAX_SIDE) -> np.ndarray:
    """``(h, w)`` uint8 luma (ITU-R 601, as ``engine.imaging.read_photo``) of a display copy, with the
    long side at most ``max_side``."""
    picture = Image.fromarray(image)
    if picture.mode != "L":
        picture = picture.convert("L")
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(picture)


class HintPreviewWorker(QObject):
    """Lives on a worker thread; see the module docstring. ``wake`` is its only slot."""

    frame_ready = Signal(object)  # PreviewFrame
    suggestions_ready = Signal(object)  # SpotSuggestions
    preview_failed = Signal(str)  # why, for people

    def __init__(self, mailbox: PreviewMailbox) -> None:
        super().__init__()
        self._mailbox = mailbox
        self._colorizer: Colorizer | None = None
        self._photo: PreviewPhoto | None = None
        self._luma: np.ndarray | None = None  # (h, w) uint8 at preview size
        self._render_size: int | None = None
        self._prepared: Prepared | None = None
        self._raw: torch.Tensor | None = None  # the network's output for the marks in _raw_marks
        self._raw_marks: tuple | None = None
        self._raw_plain: torch.Tensor | None = None  # its output without marks: the model's own ideas
        self._shown: tuple | None = None  # (hints, settings) of the last frame sent
        self._spot_served = 0
        self.forward_runs = 0  # how often the network ran (for tests and logging)
        self.lane: DeviceLane | None = None  # the app's device lane: rendering waits while training holds it

    @Slot()
    @uses_device(PREVIEWING)
    def wake(self) -> None:
        """Render until the newest wish is served."""
        while (wanted := self._mailbox.take()) is not None:
            try:
                self._serve(wanted)
            except Exception as error:
                if not isinstance(error, ReviveError):
                    log.error("the hint preview failed", exc_info=error)
                self._shown = None
                self.preview_failed.emit(describe_error(error))

    def _serve(self, wanted: _Wanted) -> None:
        if wanted.colorizer is not self._colorizer or wanted.photo is not self._photo:
            self._colorizer, self._photo = wanted.colorizer, wanted.photo
            self._luma = display_luma(wanted.photo.image) if wanted.photo is not None else None
            self._prepared = self._raw = self._raw_marks = self._raw_plain = self._shown = None
            self._render_size = None
        colorizer, photo, luma = self._colorizer, self._photo, self._luma
        if colorizer is None or photo is None or luma is None:
            return
        render_size, temperature = colorizer.resolve(wanted.settings)
        if self._prepared is None or render_size != self._render_size:
            self._prepared = colorizer.prepare(luma, wanted.settings)
            self._render_size = render_size
            self._raw = self._raw_marks = self._raw_plain = self._shown = None
        prepared = self._prepared
        # A model without hint channels still follows the whole-photo adjustments.
        hints = wanted.hints if colorizer.takes_hints else PhotoHints(adjust=wanted.hints.adjust)
        started = time.monotonic()
        marks = (hints.points, hints.strokes)
        raw, ran = self._raw, False
        if raw is None or marks != self._raw_marks:  # the marks changed: the network must look again
            # The hint-free output, when kept, is not run again with the marks (Colorizer.forward).
            raw = self._raw = self._forward(colorizer, prepared, hints, self._raw_plain if hints.has_marks else None)
            self._raw_marks, ran = marks, True
            if not hints.has_marks:
                self._raw_plain = raw
        if ran or self._shown != (hints, wanted.settings):  # else nothing the user sees changed
            card = colorizer.card
            chroma = colorizer.decode(
                raw, prepared, temperature, card.prior_correction, card.chroma_scale, hints, wanted.settings.saturation
            )
            from engine.models.chroma_merge import merge_chroma  # torch is in by now: a colorizer exists

            rgb = merge_chroma(luma, chroma)
            rgb.setflags(write=False)
            self._shown = (hints, wanted.settings)
            self.frame_ready.emit(PreviewFrame(photo.token, wanted.hints, rgb, ran, time.monotonic() - started))
        if wanted.spot is not None and wanted.spot[0] != self._spot_served:
            serial, x, y = wanted.spot
            if self._raw_plain is None:
                self._raw_plain = self._forward(colorizer, prepared, PhotoHints())
            colours = colorizer.plausible_colours(self._raw_plain, prepared, x, y, SUGGESTION_COUNT)
            self._spot_served = serial
            self.suggestions_ready.emit(SpotSuggestions(photo.token, x, y, tuple(colours)))

    def _forward(
        self, colorizer: Colorizer, prepared: Prepared, hints: PhotoHints, hint_free: torch.Tensor | None = None
    ) -> torch.Tensor:
        self.forward_runs += 1
        return colorizer.forward(prepared, colorizer.hint_channels(prepared, hints), hint_free=hint_free)
