"""The inference worker: a thin adapter that lives on the one long-lived inference thread.

It owns the loaded ``Colorizer`` (the only GUI module that drives torch) and runs the jobs the
controller sends through queued signals, one at a time: model loads, single photos, batches. It
reports through signals carrying plain data (see ``gui.jobs``) and the engine's frozen batch events.
Cancelling never goes through this object's queue: the controller sets the job's ``CancelToken``
from the GUI thread and the engine sees it at its next check.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal, Slot

from engine.batch_plan import plan_batch
from engine.batch_run import run_batch
from engine.colorizer import Colorizer
from engine.errors import ModelNotFound, ReviveError
from engine.errors import describe_error as engine_describe_error
from engine.imaging import read_photo, read_preview_rgb
from gui.display_images import save_cached, to_display
from gui.jobs import DISPLAY_MAX_SIDE, BatchRequest, ModelInfo, ModelRequest, PhotoFailure, PhotoJob, PhotoResult

log = logging.getLogger(__name__)

NO_MODEL_MESSAGE = (
    "No colorization model is installed. Put a .safetensors model in the models folder, "
    "or train one (Tools > Train a model…, or `main.py train-base`)."
)


def describe_error(error: BaseException) -> str:
    """``engine.errors.describe_error``, with the app's own advice when no model is installed."""
    if isinstance(error, ModelNotFound) and "no colorization model is installed" in str(error).lower():
        return NO_MODEL_MESSAGE
    return engine_describe_error(error)


class InferenceWorker(QObject):
    model_loading = Signal(str)  # the name asked for ("" for the default)
    model_loaded = Signal(object)  # ModelInfo
    model_failed = Signal(str)  # why, for people
    photo_started = Signal(object)  # Path
    photo_finished = Signal(object)  # PhotoResult
    photo_failed = Signal(object)  # PhotoFailure
    photo_cancelled = Signal(object)  # Path
    batch_event = Signal(object)  # engine.batch_run events, BatchFinished last
    batch_failed = Signal(str)  # the batch could not start (bad folders, no model)

    def __init__(self) -> None:
        super().__init__()
        self._colorizer: Colorizer | None = None
        self._wanted: ModelRequest | None = None

    # -- model ------------------------------------------------------------------------------------
    @Slot(object)
    def load_model(self, request: ModelRequest) -> None:
        """Load a model; on failure the previous one (if any) stays loaded."""
        self._wanted = request
        try:
            self._load(request)
        except Exception as error:  # noqa: BLE001 - reported, and the old model stays
            self._report_model_failure(error)

    def _load(self, request: ModelRequest) -> Colorizer:
        self.model_loading.emit(request.model or "")
        colorizer = Colorizer.load(request.model, device=request.device)
        self._colorizer = None  # free the old weights before the new ones settle in
        self._colorizer = colorizer
        card = colorizer.card
        name = colorizer.path.stem if colorizer.path is not None else card.name
        self.model_loaded.emit(ModelInfo(name, card.description, colorizer.device.description,
                                         card.render_size, card.temperature))
        return colorizer

    def _report_model_failure(self, error: BaseException) -> None:
        if not isinstance(error, ReviveError):
            log.error("loading the model failed", exc_info=error)
        self.model_failed.emit(describe_error(error))

    def _ensure_model(self) -> Colorizer:
        """The loaded model, loading the wanted one first if needed (a failure is reported, then raised)."""
        if self._colorizer is None:
            try:
                self._load(self._wanted or ModelRequest(None))
            except Exception as error:
                self._report_model_failure(error)
                raise
        assert self._colorizer is not None
        return self._colorizer

    # -- single photos ------------------------------------------------------------------------------
    @Slot(object)
    def colorize_photo(self, job: PhotoJob) -> None:
        if job.cancel.cancelled:
            self.photo_cancelled.emit(job.source)
            return
        self.photo_started.emit(job.source)
        started = time.monotonic()
        try:
            colorizer = self._ensure_model()
            photo = read_photo(job.source)
            rgb = colorizer.colorize(photo.luma, job.settings)
            save_cached(job.cache_path, rgb)
            height, width = rgb.shape[:2]
            after = to_display(rgb)
            del rgb, photo
            before = read_preview_rgb(job.source, DISPLAY_MAX_SIDE)
        except Exception as error:  # noqa: BLE001 - one photo's failure is shown in its row
            if not isinstance(error, ReviveError):
                log.error("colorizing %s failed", job.source, exc_info=error)
            self.photo_failed.emit(PhotoFailure(job.source, describe_error(error)))
            return
        model = self._colorizer.path.stem if self._colorizer and self._colorizer.path else ""
        self.photo_finished.emit(PhotoResult(job.source, before, after, (width, height), job.cache_path,
                                             model, time.monotonic() - started))

    # -- batches ---------------------------------------------------------------------------------------
    @Slot(object)
    def run_batch(self, request: BatchRequest) -> None:
        try:
            colorizer = self._ensure_model()
            plan = plan_batch(request.inputs, request.options)
            for note in plan.notes:
                log.info("batch: %s", note)
            for event in run_batch(plan, colorizer, request.options, request.cancel):
                self.batch_event.emit(event)
        except Exception as error:  # noqa: BLE001 - the batch could not run; say why
            if not isinstance(error, ReviveError):
                log.error("the batch failed", exc_info=error)
            self.batch_failed.emit(describe_error(error))

