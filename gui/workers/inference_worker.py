"""The inference worker: a thin adapter that lives on the one long-lived inference thread.

It owns the loaded ``Colorizer`` (shared with the hint preview, which runs on this same thread; the
training wizard's worker drives torch on its own thread) and runs the jobs the
controller sends through queued signals, one at a time: model loads, the main list's queue (with
the batch runner's overlap, ``gui.workers.review_pipeline``), re-tunes of the photo on show, batches. It
reports through signals carrying plain data (see ``gui.models.jobs``) and the engine's frozen batch events.
Cancelling never goes through this object's queue: the controller sets the job's ``CancelToken``
from the GUI thread and the engine sees it at its next check.

torch is imported only inside the slots (on the inference thread), so the window can be built and
shown before torch has loaded: importing this module is cheap.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from engine.errors import Cancelled, ModelNotFound, ReviveError
from engine.errors import describe_error as engine_describe_error
from gui.models.jobs import (
    BatchRequest,
    ExportRequest,
    ModelInfo,
    ModelRequest,
    PhotoFailure,
    RetuneRequest,
    RetuneSaved,
)
from gui.models.newest_slot import NewestSlot, Posted
from gui.models.photo_session import any_saved_hints
from gui.models.review_queue import ReviewQueue
from gui.workers.device_lane import BATCH, COLORIZING, EXPORTING, LOADING_MODEL, DeviceLane, uses_device

if TYPE_CHECKING:  # torch-importing modules: imported in the slots, on the inference thread
    from engine.batch.plan import BatchPlan
    from engine.models.colorizer import Colorizer
    from gui.hints.preview import HintPreview
    from gui.workers.review_pipeline import TunedPhoto

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
    queue_ran_dry = Signal()  # the main list's queue is empty: every photo taken has been reported
    photo_retuned = Signal(object)  # PhotoResult (display-sized, retuned=True)
    retune_saved = Signal(object)  # RetuneSaved: the cache holds the re-tuned full-resolution result
    retune_failed = Signal(object)  # PhotoFailure
    batch_event = Signal(object)  # engine.batch.run events, BatchFinished last
    batch_failed = Signal(str)  # the batch could not start (bad folders, no model)
    export_progressed = Signal(object)  # ExportProgress of a finished export (upscaler, face model)
    export_done = Signal(object, object)  # its ExportRequest, the Path written or a list_export.FolderExport
    export_failed = Signal(object, str)  # its ExportRequest, why (one line)
    export_cancelled = Signal(object)  # its ExportRequest: nothing (more) was written

    def __init__(self, queue: ReviewQueue | None = None) -> None:
        super().__init__()
        self._colorizer: Colorizer | None = None
        self._wanted: ModelRequest | None = None
        self._queue = queue if queue is not None else ReviewQueue()
        self._retunes: NewestSlot[RetuneRequest] = NewestSlot()
        self._exports: deque[ExportRequest] = deque()  # posted from the GUI thread (post_export)
        self._exports_lock = threading.Lock()
        self._tuned: TunedPhoto | None = None  # the network output of the photo on show
        # The hint preview shares this thread (one device lane): it gets each loaded model, and a
        # turn between the photos of a long run. Set before the thread starts.
        self.hint_preview: HintPreview | None = None
        # The app's device lane (``gui.workers.device_lane``): each job below takes it before it
        # touches torch, so colorizing waits while a training run holds the device. Set before the thread starts.
        self.lane: DeviceLane | None = None

    # -- model ------------------------------------------------------------------------------------
    @Slot(object)
    @uses_device(LOADING_MODEL)
    def load_model(self, request: ModelRequest) -> None:
        """Load a model; on failure the previous one (if any) stays loaded."""
        self._wanted = request
        try:
            self._load(request)
        except Exception as error:  # noqa: BLE001 - reported, and the old model stays
            self._report_model_failure(error)

    def _load(self, request: ModelRequest) -> Colorizer:
        self.model_loading.emit(request.model or "")
        colorizer = load_colorizer(request.model, request.device)  # imports torch: seconds, on this thread only
        # The new model was loaded while the old one stayed (a failed load keeps it), so both were in
        # memory for a moment; the old one's weights and network output are released here, when the
        # last reference (the hint preview's, just below) lets go. No cache is emptied explicitly.
        self._colorizer = self._tuned = None
        self._colorizer = colorizer
        if self.hint_preview is not None:  # handed over on this thread, the one that calls it
            self.hint_preview.set_colorizer(colorizer)
        card = colorizer.card
        name = colorizer.path.stem if colorizer.path is not None else card.name
        self.model_loaded.emit(
            ModelInfo(
                name,
                card.description,
                colorizer.device.description,
                card.render_size,
                card.temperature,
                getattr(card, "trained_on", ""),  # an added model's card has no training record
                colorizer.takes_hints,
            )
        )
        return colorizer

    def _preview_turn(self) -> None:
        """Let the hint preview render its newest wish now, between two photos of a long run (its
        queued wake-up would wait for the whole run). It lives on this thread: a direct call."""
        if self.hint_preview is not None:
            self.hint_preview.worker.wake()

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

    # -- the main list's queue -----------------------------------------------------------------------
    def _queue_emptied(self) -> bool:
        return not self._queue.waiting()

    def _queue_refused(self) -> None:
        """The lane was not granted (every photo was cancelled while waiting, or the app quits)."""
        while (job := self._queue.take()) is not None:  # also marks the queue as not taken
            self.photo_cancelled.emit(job.source)
        self.queue_ran_dry.emit()

    @Slot()
    @uses_device(COLORIZING, give_up=_queue_emptied, refused=_queue_refused)
    def run_queue(self) -> None:
        """Colorize the queue's photos until it is empty (``queue_ran_dry`` last)."""
        try:
            colorizer = self._ensure_model()
            from gui.workers.review_pipeline import (
                RawKept,
                ReviewCancelled,
                ReviewDone,
                ReviewFailed,
                ReviewStarted,
                run_review,
            )

            for event in run_review(self._queue, colorizer, self._wants_raw, self._between_photos):
                if isinstance(event, ReviewStarted):
                    self.photo_started.emit(event.source)
                elif isinstance(event, ReviewDone):
                    self.photo_finished.emit(event.result)
                elif isinstance(event, ReviewFailed):
                    self.photo_failed.emit(event.failure)
                elif isinstance(event, ReviewCancelled):
                    self.photo_cancelled.emit(event.source)
                elif isinstance(event, RawKept):
                    self._tuned = event.tuned
        except Exception as error:
            if not isinstance(error, ReviveError):
                log.error("colorizing the list failed", exc_info=error)
            message = describe_error(error)
            while (job := self._queue.take()) is not None:  # also marks the queue as not taken
                self.photo_failed.emit(PhotoFailure(job.source, message))
        self.queue_ran_dry.emit()

    def _between_photos(self) -> None:
        self._serve_retune()
        self._serve_waiting_exports()
        self._preview_turn()

    def _wants_raw(self, source) -> bool:
        current = self._queue.current()
        if self._tuned is not None and self._tuned.job.source != current:
            self._tuned = None  # another photo is on show: free its network output (tens of MB)
        return source == current

    # -- re-tuning the photo on show ----------------------------------------------------------------------
    def request_retune(self, request: RetuneRequest) -> Posted[RetuneRequest]:
        """Called from the GUI thread: the newest request replaces any not yet served (returned as
        ``replaced``: it will never be served); when ``wake`` says so, the caller emits the signal
        behind ``serve_retune`` (the queue also serves it, between photos)."""
        return self._retunes.put(request)

    @Slot()
    @uses_device(COLORIZING, give_up=lambda self: not self._retunes.pending())
    def serve_retune(self) -> None:
        while self._serve_retune():
            pass

    def _serve_retune(self) -> bool:
        """Serve the newest re-tune, if one waits; False when none did."""
        request = self._retunes.take()
        if request is None:
            return False
        job = request.job
        try:
            colorizer = self._ensure_model()
            from gui.workers.review_pipeline import model_name, retune, tune_from_scratch

            tuned = self._tuned
            render_size, _ = colorizer.resolve(job.settings)
            if (
                tuned is None
                or tuned.job.source != job.source
                or tuned.render_size != render_size
                or tuned.model != model_name(colorizer)
                or _marks(tuned.job.hints) != _marks(job.hints)
                or tuned.job.restoration != job.restoration  # repaired since: another luma
            ):
                tuned = self._tuned = tune_from_scratch(job, colorizer)
            quick, full = retune(tuned, job, colorizer)
            self.photo_retuned.emit(quick)
            if not self._retunes.pending():  # a newer move will save its own result
                full()
                self.retune_saved.emit(RetuneSaved(job.source, request.generation))
        except Exception as error:
            if not isinstance(error, ReviveError):
                log.error("re-tuning %s failed", job.source, exc_info=error)
            self.retune_failed.emit(PhotoFailure(job.source, describe_error(error)))
        return True

    # -- batches ---------------------------------------------------------------------------------------
    def _batch_refused(self, request: BatchRequest) -> None:
        self.batch_failed.emit("The batch was cancelled before it started (it was waiting for the device).")

    @Slot(object)
    @uses_device(BATCH, give_up=lambda self, request: request.cancel.cancelled, refused=_batch_refused)
    def run_batch(self, request: BatchRequest) -> None:
        try:
            if request.cluster is not None:
                self._run_batch_on_cluster(request)
                return
            colorizer = self._ensure_model()
            from engine.batch.plan import plan_batch
            from engine.batch.run import run_batch

            plan = _with_saved_hints(plan_batch(request.inputs, request.options), request.hint_store)
            for note in plan.notes:
                log.info("batch: %s", note)
            from gui.workers.restoration_steps import batch_repair  # the Restore tab's choice, as --restore

            repair = batch_repair(request.restoration)
            finishing = None
            if request.upscale or request.faces:  # loaded per batch: a batch of them takes minutes anyway
                from engine.external.finishing import Finishing

                device = (self._wanted or ModelRequest(None)).device
                finishing = Finishing.load(request.upscale, request.faces, device)
            events = run_batch(plan, colorizer, request.options, request.cancel, repair=repair, finishing=finishing)
            for event in events:
                self.batch_event.emit(event)
                self._preview_turn()
        except Exception as error:
            if not isinstance(error, ReviveError):
                log.error("the batch failed", exc_info=error)
            self.batch_failed.emit(describe_error(error))

    # -- exports finished by added models ----------------------------------------------------------------
    def post_export(self, request: ExportRequest) -> None:
        """Called from the GUI thread: ``request`` joins the exports waiting, first come first; the
        caller then emits the signal behind ``serve_exports``. The main list's queue also serves
        them between photos, so an export does not wait for a long run of dropped photos."""
        with self._exports_lock:
            self._exports.append(request)

    def _exports_all_cancelled(self) -> bool:
        with self._exports_lock:
            return all(request.cancel.cancelled for request in self._exports)

    def _exports_refused(self) -> None:
        """The lane was not granted (every waiting export was cancelled, or the app quits)."""
        while (request := self._take_export()) is not None:
            self.export_cancelled.emit(request)

    @Slot()
    @uses_device(EXPORTING, give_up=_exports_all_cancelled, refused=_exports_refused)
    def serve_exports(self) -> None:
        self._serve_waiting_exports()

    def _serve_waiting_exports(self) -> None:
        """Every export waiting now and any queued while they run, oldest first."""
        while self._serve_export():
            pass

    def _take_export(self) -> ExportRequest | None:
        with self._exports_lock:
            return self._exports.popleft() if self._exports else None

    def _serve_export(self) -> bool:
        """Upscale and/or restore faces on reviewed results, then write them
        (``gui.workers.finished_export``); False when no export waited."""
        request = self._take_export()
        if request is None:
            return False
        if request.cancel.cancelled:  # before its models load (seconds): nothing was written
            self.export_cancelled.emit(request)
            return True
        try:
            from gui.workers.finished_export import run_finished_export

            device = (self._wanted or ModelRequest(None)).device
            self.export_done.emit(request, run_finished_export(request, device, self.export_progressed.emit))
        except Cancelled:
            self.export_cancelled.emit(request)
        except Exception as error:
            if not isinstance(error, ReviveError):
                log.error("the export failed", exc_info=error)
            self.export_failed.emit(request, describe_error(error))
        return True

    def _run_batch_on_cluster(self, request: BatchRequest) -> None:
        """``request`` on its Ray cluster (``engine.cluster.run``): the same events, files, ledger
        and report as ``run_batch``. The cluster's workers load the model, this process does not:
        the one on show (the same file), else the one asked for. A cluster that cannot be reached,
        or whose workers cannot see the folders, raises ClusterError (one line) before any event."""
        cluster = request.cluster
        assert cluster is not None
        from engine.batch.plan import plan_batch
        from engine.cluster.run import run_batch_on_cluster

        wanted = self._wanted or ModelRequest(None)
        loaded = self._colorizer.path if self._colorizer is not None else None
        plan = _with_saved_hints(plan_batch(request.inputs, request.options), request.hint_store)
        for note in plan.notes:
            log.info("batch: %s", note)
        events = run_batch_on_cluster(
            plan,
            request.options,
            loaded if loaded is not None else wanted.model,
            wanted.device,
            cluster.address,
            request.cancel,
            workers=cluster.worker_count,
            upscale=request.upscale,
            faces=request.faces,
            restore=request.restoration.request() if request.restoration and not request.restoration.is_empty else None,
        )
        for event in events:
            self.batch_event.emit(event)
            self._preview_turn()


def load_colorizer(model: str | None, device: str) -> Colorizer:
    """The colorizer for ``model`` as ``colorize --model`` finds it (``engine.external.external_colorizer.
    load_colorizer``): Revive's models (None: the default), added colorization models such as DDColor
    (an ``ExternalColorizer``, with the same interface), or a file of either. A Revive model that no added
    one shares a name with goes straight to ``Colorizer.load`` (what load_colorizer does with it), so it
    does not wait for spandrel's import (torchvision's: 5 s measured on the 2-core CPU)."""
    from engine.external import store
    from engine.models.registry import list_models

    if model is None or (
        store.find_external(model) is None and any(m.name == model and m.card is not None for m in list_models())
    ):
        from engine.models.colorizer import Colorizer

        return Colorizer.load(model, device=device)
    from engine.external.external_colorizer import load_colorizer as load_any

    return load_any(model, device)  # an ExternalColorizer has Colorizer's interface


def _with_saved_hints(plan: BatchPlan, store) -> BatchPlan:
    """``plan`` with the saved hints (``engine.hints.store.HintStore``) of the photos that have
    them. Finding them hashes each photo: skipped when nothing was ever saved."""
    if not any_saved_hints(store):
        return plan
    from engine.batch.plan import with_hints

    return with_hints(plan, lambda job: store.hints_for(job.source))


def _marks(hints) -> tuple:
    """What of ``hints`` the network itself sees (its points and strokes)."""
    return (hints.points, hints.strokes) if hints is not None else ((), ())
