"""Colorizing the main list's photos for review, with the batch runner's overlap. No Qt.

As in ``engine.batch.run.run_batch``, reading and preparing the next photo (a reader thread) and
merging + saving the previous one (a writer thread) overlap the model's work on the current one
(Pillow and torch release the GIL): measured 2-3x the one-photo-at-a-time loop the list used. The
differences are what a review needs: results go to the session's result cache (``.npy``: exact and
fast, any bit depth) with display-sized before/after images instead of output files; jobs come
from a ``ReviewQueue`` that the GUI reorders while the run goes on (the photo on show first); and
the network's raw output of the photo on show is kept (``RawKept``) so saturation and boldness can
be re-decoded without a model run (``retune``).

Only the inference worker imports this module (it imports torch).
"""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from engine.errors import ReviveError, describe_error
from engine.hints.schema import HintError, PhotoHints
from engine.imaging import Photo, read_photo, read_preview_rgb
from engine.models.chroma_merge import ChromaField, merge_chroma
from engine.models.colorizer import Colorizer, Prepared
from gui.models.jobs import DISPLAY_MAX_SIDE, PhotoFailure, PhotoJob, PhotoResult
from gui.models.review_queue import ReviewQueue
from gui.workers.display_images import save_cached, to_display
from gui.workers.restoration_steps import with_restored_luma

log = logging.getLogger(__name__)

READ_AHEAD = 2


@dataclass(frozen=True)
class ReviewStarted:
    source: Path


@dataclass(frozen=True)
class ReviewDone:
    result: PhotoResult


@dataclass(frozen=True)
class ReviewFailed:
    failure: PhotoFailure


@dataclass(frozen=True)
class ReviewCancelled:
    source: Path


@dataclass
class TunedPhoto:
    """What re-decoding one photo needs; kept by the worker, never sent to the GUI thread.

    ``raw``: ``Colorizer.forward``'s output (CPU float32); ``luma``: the full-resolution ``(H, W)``
    luma (uint8/uint16, read-only); ``display_luma``: a display-sized uint8 copy, made on first use.
    """

    job: PhotoJob
    raw: torch.Tensor
    prepared: Prepared
    luma: np.ndarray
    render_size: int
    model: str
    display_luma: np.ndarray | None = None


@dataclass(frozen=True)
class RawKept:
    """The network output of the photo on show (the worker keeps it; not for the GUI)."""

    tuned: TunedPhoto


ReviewEvent = ReviewStarted | ReviewDone | ReviewFailed | ReviewCancelled | RawKept


def model_name(colorizer: Colorizer) -> str:
    return colorizer.path.stem if colorizer.path is not None else colorizer.card.name


@torch.inference_mode()
def decode(colorizer: Colorizer, raw: torch.Tensor, prepared: Prepared, job: PhotoJob) -> ChromaField:
    """Colour from the network's raw output with ``job``'s saturation, temperature and hints."""
    _, temperature = colorizer.resolve(job.settings)
    card = colorizer.card
    return colorizer.decode(
        raw, prepared, temperature, card.prior_correction, card.chroma_scale, job.hints, job.settings.saturation
    )


def predict_keeping_raw(colorizer: Colorizer, prepared: Prepared, job: PhotoJob) -> tuple[torch.Tensor, ChromaField]:
    """``Colorizer.predict``, returning the network's raw output too (for re-decoding)."""
    hints: PhotoHints | None = job.hints
    if hints is not None and hints.has_marks and not colorizer.takes_hints:
        raise HintError(f"the model {colorizer.card.name} takes no colour hints; choose a model that does")
    raw = colorizer.forward(prepared, colorizer.hint_channels(prepared, hints))
    return raw, decode(colorizer, raw, prepared, job)


def _read(job: PhotoJob, colorizer: Colorizer) -> tuple[Photo, Prepared, np.ndarray]:
    photo = with_restored_luma(read_photo(job.source), job.restoration)  # repaired first (the Restore tab)
    prepared = colorizer.prepare(photo.luma, job.settings)
    before = read_preview_rgb(job.source, DISPLAY_MAX_SIDE)  # JPEGs decode at a reduced scale: cheap
    return photo, prepared, before


def _finish(
    job: PhotoJob,
    luma: np.ndarray,
    chroma: ChromaField,
    *,
    before: np.ndarray | None,
    started: float,
    model: str,
    render_size: int,
    retuned: bool = False,
) -> PhotoResult:
    rgb = merge_chroma(luma, chroma)
    save_cached(job.cache_path, rgb)
    height, width = rgb.shape[:2]
    after = to_display(rgb)
    return PhotoResult(
        job.source,
        before,
        after,
        (width, height),
        job.cache_path,
        model,
        time.monotonic() - started,
        job.tuning,
        render_size,
        retuned,
        job.hints,
    )


def run_review(
    queue: ReviewQueue,
    colorizer: Colorizer,
    wants_raw: Callable[[Path], bool],
    between: Callable[[], None] = lambda: None,
) -> Iterator[ReviewEvent]:
    """Colorize the queue's jobs until it is empty; yields events (see the module docstring).
    A job whose cancel token is set is reported cancelled and skipped; ``between()`` runs on the
    calling thread before each photo's model run."""
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="revive-review-read")
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="revive-review-write")
    reads: deque[tuple[PhotoJob, Future]] = deque()
    writes: deque[tuple[PhotoJob, Future]] = deque()
    model = model_name(colorizer)

    def top_up() -> None:
        while len(reads) < READ_AHEAD:
            job = queue.take()
            if job is None:
                return
            reads.append((job, reader.submit(_read, job, colorizer)))

    def drain(block: bool) -> Iterator[ReviewEvent]:
        while writes and (block or writes[0][1].done()):
            job, future = writes.popleft()
            try:
                yield ReviewDone(future.result())
            except Exception as error:  # noqa: BLE001 - one photo's failure is shown in its row
                yield _failed(job, error)

    try:
        top_up()
        while reads:
            job, future = reads.popleft()
            top_up()
            if job.cancel.cancelled:
                future.cancel()
                yield ReviewCancelled(job.source)
                continue
            between()
            yield ReviewStarted(job.source)
            started = time.monotonic()
            try:
                photo, prepared, before = future.result()
                raw, chroma = predict_keeping_raw(colorizer, prepared, job)
            except Exception as error:  # noqa: BLE001 - one bad file never stops the run
                yield _failed(job, error)
                continue
            render_size, _ = colorizer.resolve(job.settings)
            if wants_raw(job.source):
                yield RawKept(TunedPhoto(job, raw, prepared, photo.luma, render_size, model))
            finish = functools.partial(
                _finish, job, photo.luma, chroma, before=before, started=started, model=model, render_size=render_size
            )
            writes.append((job, writer.submit(finish)))
            del finish
            del photo, prepared, chroma, raw
            yield from drain(block=len(writes) > 1)
        yield from drain(block=True)
    finally:
        for _, pending in reads:
            pending.cancel()
        reader.shutdown(wait=True, cancel_futures=True)
        writer.shutdown(wait=True)


def retune(tuned: TunedPhoto, job: PhotoJob, colorizer: Colorizer) -> tuple[PhotoResult, Callable[[], PhotoResult]]:
    """Decode ``tuned`` again with ``job``'s settings: a display-sized result at once, and a
    function that merges the full-resolution one into the cache (run it unless a newer re-tune
    came in meanwhile)."""
    started = time.monotonic()
    chroma = decode(colorizer, tuned.raw, tuned.prepared, job)
    if tuned.display_luma is None:
        tuned.display_luma = _display_luma(tuned.luma)
    after = merge_chroma(tuned.display_luma, chroma)
    height, width = tuned.luma.shape
    quick = PhotoResult(
        job.source,
        None,
        after,
        (width, height),
        job.cache_path,
        tuned.model,
        time.monotonic() - started,
        job.tuning,
        tuned.render_size,
        retuned=True,
        hints=job.hints,
    )
    tuned.job = job

    def full() -> PhotoResult:
        return _finish(
            job,
            tuned.luma,
            chroma,
            before=None,
            started=started,
            model=tuned.model,
            render_size=tuned.render_size,
            retuned=True,
        )

    return quick, full


def tune_from_scratch(job: PhotoJob, colorizer: Colorizer) -> TunedPhoto:
    """Read ``job``'s photo and run the model once, keeping its raw output (a photo on show whose
    output was not kept: colorized while another photo was on show)."""
    photo = with_restored_luma(read_photo(job.source), job.restoration)
    prepared = colorizer.prepare(photo.luma, job.settings)
    raw, _ = predict_keeping_raw(colorizer, prepared, job)
    render_size, _ = colorizer.resolve(job.settings)
    return TunedPhoto(job, raw, prepared, photo.luma, render_size, model_name(colorizer))


def _display_luma(luma: np.ndarray) -> np.ndarray:
    gray = (luma >> 8).astype(np.uint8) if luma.dtype == np.uint16 else luma
    height, width = gray.shape
    scale = DISPLAY_MAX_SIDE / max(width, height)
    if scale >= 1.0:
        return np.ascontiguousarray(gray)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(gray).resize(size, Image.BILINEAR, reducing_gap=2.0))


def _failed(job: PhotoJob, error: BaseException) -> ReviewFailed:
    if not isinstance(error, ReviveError):
        log.error("colorizing %s failed", job.source, exc_info=error)
    return ReviewFailed(PhotoFailure(job.source, describe_error(error)))
