"""The controller: owns the session, the inference thread and the background pool, and wires them.

Widgets call its methods (open these paths, redo, export, start a batch, cancel) and listen to its
signals; the worker on the inference thread gets jobs through queued signals. Cancelling sets the
jobs' ``CancelToken`` directly from the GUI thread, so it takes effect while the worker is busy.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal

from engine.batch_plan import BatchOptions
from engine.batch_progress import BatchProgress
from engine.batch_run import BatchFinished, BatchStarted, JobFailed
from engine.cancel import CancelToken
from engine.colorizer import ColorizeSettings
from engine.errors import ReviveError
from engine.model_registry import default_model_name, list_models
from engine.paths import revive_home
from gui.app_settings import AppSettings
from gui.background_tasks import BackgroundTasks
from gui.batch_panel import BatchForm
from gui.display_images import export_result, load_display_pair, make_thumbnail
from gui.export_naming import export_problem
from gui.inference_worker import NO_MODEL_MESSAGE, InferenceWorker
from gui.jobs import BatchRequest, ModelInfo, ModelRequest, PhotoFailure, PhotoJob, PhotoResult
from gui.photo_list import THUMBNAIL_SIDE
from gui.photo_session import PhotoSession, PhotoStatus, expand_paths
from gui.result_cache import ResultCache
from gui.tuning import Tuning

log = logging.getLogger(__name__)

PREVIEW_CACHE_SIZE = 6  # display-sized before/after pairs kept in memory
DROPPED_FROM_CACHE = "result dropped to save disk space: redo to export it"
PROGRESS_INTERVAL_S = 0.1  # batch progress reaches the panel at most this often (plus key events)


def _is_model_path(name: str) -> bool:
    return bool(name) and (Path(name).suffix == ".safetensors" or Path(name).parent != Path("."))


class Controller(QObject):
    # photos
    photos_added = Signal(list)  # [Path]
    photo_status_changed = Signal(object, object, str)  # Path, PhotoStatus, message
    thumbnail_ready = Signal(object, object)  # Path, (h, w, 3) uint8
    preview_ready = Signal(object, object, object, tuple)  # Path, before, after or None, (width, height)
    preview_failed = Signal(object, str)  # Path, why
    nothing_found = Signal(str)  # a drop or open that held no photos
    # model
    models_listed = Signal(list, str, dict)  # names, current, tooltips
    model_loading = Signal(str)
    model_changed = Signal(object)  # ModelInfo
    model_problem = Signal(str)
    # export
    export_finished = Signal(object)  # Path written
    export_failed = Signal(str)
    # batch
    batch_started = Signal()
    batch_progressed = Signal(object)  # BatchProgress
    batch_finished = Signal(object)  # BatchProgress with its summary
    batch_failed = Signal(str)
    # settings
    recent_changed = Signal(list)  # [Path]

    # to the worker (queued)
    _model_requested = Signal(object)
    _photo_requested = Signal(object)
    _batch_requested = Signal(object)

    def __init__(self, settings: AppSettings, model: str | None = None, device: str | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.session = PhotoSession()
        self.results = ResultCache(revive_home() / "cache" / "gui")
        self._explicit_model = model
        self._device = device or settings.device()
        self._tuning = Tuning(model or settings.model(), settings.render_size(), settings.saturation_percent(),
                              settings.boldness())
        self._auto_colorize = settings.auto_colorize()
        self._model_info: ModelInfo | None = None
        self._card_temperatures: dict[str, float] = {}
        self._current: Path | None = None
        self._previews: OrderedDict[Path, tuple[np.ndarray, np.ndarray | None, tuple[int, int]]] = OrderedDict()
        self._photo_token = CancelToken()
        self._batch_token: CancelToken | None = None
        self._progress: BatchProgress | None = None
        self._last_progress_emit = 0.0
        self.last_batch_output: Path | None = None
        self._closed = False

        self.tasks = BackgroundTasks(self)
        self.worker = InferenceWorker()
        self.thread = QThread()
        self.thread.setObjectName("revive-inference")
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        queued = Qt.ConnectionType.QueuedConnection
        self._model_requested.connect(self.worker.load_model, queued)
        self._photo_requested.connect(self.worker.colorize_photo, queued)
        self._batch_requested.connect(self.worker.run_batch, queued)
        self.worker.model_loading.connect(self._on_worker_model_loading, queued)
        self.worker.model_loaded.connect(self._on_worker_model_loaded, queued)
        self.worker.model_failed.connect(self._on_worker_model_failed, queued)
        self.worker.photo_started.connect(self._on_worker_photo_started, queued)
        self.worker.photo_finished.connect(self._on_worker_photo_finished, queued)
        self.worker.photo_failed.connect(self._on_worker_photo_failed, queued)
        self.worker.photo_cancelled.connect(self._on_worker_photo_cancelled, queued)
        self.worker.batch_event.connect(self._on_worker_batch_event, queued)
        self.worker.batch_failed.connect(self._on_worker_batch_failed, queued)

    # -- life cycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the inference thread, list the models and load the chosen one (on the worker)."""
        self.results.clear_stale()
        self.thread.start()
        self.refresh_models()
        if self._tuning.model:
            self._model_requested.emit(ModelRequest(self._tuning.model, self._device))

    def shutdown(self) -> None:
        """Cancel everything, stop the inference thread and wait for it; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._photo_token.cancel()
        if self._batch_token is not None:
            self._batch_token.cancel()
        self.tasks.shutdown()
        self.thread.quit()
        self.thread.wait()
        self.results.discard_all()
        self.settings.sync()

    # -- models -------------------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """List the installed models again (e.g. after training one) and pick one if none is chosen."""
        models = [m for m in list_models() if m.card is not None]
        self._card_temperatures = {m.name: m.card.temperature for m in models}
        tooltips = {m.name: (m.card.description or m.card.name) + f"\n{m.path}" for m in models}
        chosen = self._tuning.model
        if chosen not in self._card_temperatures and not _is_model_path(chosen):
            try:
                chosen = default_model_name()
            except ReviveError:
                chosen = ""
            self._tuning = Tuning(chosen, *self._tuning_values())
        if not models:
            self.model_problem.emit(NO_MODEL_MESSAGE)
        self.models_listed.emit([m.name for m in models], self._tuning.model, tooltips)

    def _tuning_values(self) -> tuple[int, int, int]:
        return self._tuning.render_size, self._tuning.saturation_percent, self._tuning.boldness

    def choose_model(self, name: str, reload: bool = False) -> None:
        """Make ``name`` the active model; ``reload`` loads it again even when it is already active
        (its file was just replaced, e.g. by the training wizard)."""
        if not name or (not reload and name == self._tuning.model and self._model_info is not None):
            return
        self._tuning = Tuning(name, *self._tuning_values())
        self.settings.set_model(name)
        self._model_requested.emit(ModelRequest(name, self._device))

    def model_info(self) -> ModelInfo | None:
        return self._model_info

    # -- tuning ------------------------------------------------------------------------------------------
    def tuning(self) -> Tuning:
        return self._tuning

    def set_tuning(self, render_size: int, saturation_percent: int, boldness: int) -> None:
        self._tuning = Tuning(self._tuning.model, render_size, saturation_percent, boldness)
        self.settings.set_render_size(render_size)
        self.settings.set_saturation_percent(saturation_percent)
        self.settings.set_boldness(boldness)

    def colorize_settings(self) -> ColorizeSettings:
        temperature = self._card_temperatures.get(self._tuning.model)
        if temperature is None and self._model_info is not None:
            temperature = self._model_info.temperature
        return self._tuning.settings(temperature if temperature is not None else 0.38)

    def auto_colorize(self) -> bool:
        return self._auto_colorize

    def set_auto_colorize(self, on: bool) -> None:
        self._auto_colorize = on
        self.settings.set_auto_colorize(on)

    # -- opening photos --------------------------------------------------------------------------------------
    def open_paths(self, paths: Sequence[Path]) -> None:
        """The one opener behind drops, File > Open, Open Folder and recent items."""
        paths = [Path(p) for p in paths]
        if not paths or self._closed:
            return
        self.recent_changed.emit(self.settings.add_recent(paths))
        self.tasks.submit(expand_paths, paths, on_done=lambda found: self._on_tasks_paths_expanded(paths, found),
                          on_failed=self.nothing_found.emit)

    def _on_tasks_paths_expanded(self, asked: list[Path], found: tuple[list[Path], int]) -> None:
        photos, skipped = found
        added = self.session.add(photos)
        if not photos:
            names = ", ".join(p.name for p in asked[:3])
            self.nothing_found.emit(f"No photos found in {names}" + (" (not an image type Revive reads)" if skipped else ""))
            return
        if added:
            self.photos_added.emit([entry.source for entry in added])
        for entry in added:
            self.tasks.submit(make_thumbnail, entry.source, THUMBNAIL_SIDE * 2,
                              on_done=lambda image, path=entry.source: self.thumbnail_ready.emit(path, image))
            if self._auto_colorize:
                self._queue(entry.source)

    def colorize_waiting(self) -> None:
        """Colorize every photo not done yet (the button when colorizing on add is off)."""
        for entry in self.session.with_status(PhotoStatus.NEW, PhotoStatus.CANCELLED, PhotoStatus.FAILED):
            self._queue(entry.source)

    def redo(self, path: Path | None = None) -> bool:
        """Colorize ``path`` (default: the photo on show) again with the current settings."""
        path = path or self._current
        entry = self.session.get(path) if path is not None else None
        if entry is None or entry.status in (PhotoStatus.QUEUED, PhotoStatus.WORKING):
            return False
        self._queue(entry.source)
        return True

    def cancel_photos(self) -> None:
        """Drop the photos still waiting (the one being colorized finishes)."""
        self._photo_token.cancel()
        self._photo_token = CancelToken()

    def _queue(self, source: Path) -> None:
        entry = self.session.get(source)
        if entry is None or self._closed:
            return
        self._set_status(source, PhotoStatus.QUEUED)
        self._photo_requested.emit(PhotoJob(source, self.colorize_settings(), self.results.path_for(source),
                                            self._photo_token))

    def _set_status(self, path: Path, status: PhotoStatus, message: str = "") -> None:
        entry = self.session.get(path)
        if entry is not None:
            entry.status, entry.message = status, message
            self.photo_status_changed.emit(path, status, message)

    # -- the photo on show ----------------------------------------------------------------------------------------
    def current(self) -> Path | None:
        return self._current

    def select(self, path: Path | None) -> None:
        """Show ``path``: at once from memory, else loaded in the background."""
        self._current = path
        entry = self.session.get(path) if path is not None else None
        if entry is None:
            return
        cached = self._previews.get(entry.source)
        if cached is not None and (cached[1] is not None or entry.status != PhotoStatus.DONE):
            self._previews.move_to_end(entry.source)
            self.preview_ready.emit(entry.source, *cached)
            return
        cache_path = entry.cache_path if entry.status == PhotoStatus.DONE else None
        self.tasks.submit(load_display_pair, entry.source, cache_path,
                          on_done=lambda pair, p=entry.source: self._on_tasks_preview_loaded(p, pair),
                          on_failed=lambda message, p=entry.source: self.preview_failed.emit(p, message))

    def _on_tasks_preview_loaded(self, path: Path, pair: tuple[np.ndarray, np.ndarray | None]) -> None:
        before, after = pair
        entry = self.session.get(path)
        size = entry.full_size if entry and entry.full_size else (before.shape[1], before.shape[0])
        self._remember(path, before, after, size)
        if path == self._current:
            self.preview_ready.emit(path, before, after, size)

    def _remember(self, path: Path, before: np.ndarray, after: np.ndarray | None, size: tuple[int, int]) -> None:
        self._previews[path] = (before, after, size)
        self._previews.move_to_end(path)
        while len(self._previews) > PREVIEW_CACHE_SIZE:
            self._previews.popitem(last=False)

    # -- export ----------------------------------------------------------------------------------------------------
    def can_export(self, path: Path | None = None) -> bool:
        entry = self.session.get(path or self._current) if (path or self._current) else None
        return entry is not None and entry.status == PhotoStatus.DONE and entry.cache_path is not None

    def export(self, target: Path, path: Path | None = None, quality: int = 95) -> None:
        """Write the result of ``path`` (default: on show) to ``target``, in the background."""
        source = path or self._current
        entry = self.session.get(source) if source is not None else None
        if entry is None or entry.cache_path is None or entry.status != PhotoStatus.DONE:
            self.export_failed.emit("this photo has no colorized result yet")
            return
        problem = export_problem(entry.source, Path(target))
        if problem:
            self.export_failed.emit(problem)
            return
        self.settings.set_export_folder(Path(target).parent)
        self.tasks.submit(export_result, entry.source, entry.cache_path, Path(target), quality,
                          on_done=self.export_finished.emit, on_failed=self.export_failed.emit)

    # -- batch -------------------------------------------------------------------------------------------------------
    def batch_running(self) -> bool:
        return self._batch_token is not None

    def start_batch(self, form: BatchForm) -> bool:
        if self.batch_running() or self._closed:
            return False
        self.settings.set_batch_input(form.input_dir)
        self.settings.set_batch_output(form.output_dir)
        self.settings.set_batch_recursive(form.recursive)
        self.settings.set_batch_format(form.format)
        self.settings.set_batch_skip_existing(form.skip_existing)
        try:
            options = BatchOptions(output_dir=form.output_dir, format=form.format, skip_existing=form.skip_existing,
                                   recursive=form.recursive, settings=self.colorize_settings())
        except ValueError as error:
            self.batch_failed.emit(str(error))
            return False
        self._batch_token = CancelToken()
        self._progress = BatchProgress()
        self.last_batch_output = form.output_dir
        self.batch_started.emit()
        self._batch_requested.emit(BatchRequest((form.input_dir,), options, self._batch_token))
        return True

    def cancel_batch(self) -> None:
        """Stop the batch after the photo in progress; finished outputs stay."""
        if self._batch_token is not None:
            self._batch_token.cancel()

    def batch_progress(self) -> BatchProgress | None:
        """The running (or last) batch's progress."""
        return self._progress

    def _on_worker_batch_event(self, event: object) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        self._progress.apply(event, now)
        if isinstance(event, BatchFinished):
            self._batch_token = None
            self.batch_finished.emit(self._progress)
        elif isinstance(event, (BatchStarted, JobFailed)) or now - self._last_progress_emit >= PROGRESS_INTERVAL_S:
            self._last_progress_emit = now
            self.batch_progressed.emit(self._progress)

    def _on_worker_batch_failed(self, message: str) -> None:
        self._batch_token = None
        self.batch_failed.emit(message)

    # -- worker reports ------------------------------------------------------------------------------------------------
    def _on_worker_model_loading(self, name: str) -> None:
        self.model_loading.emit(name)

    def _on_worker_model_loaded(self, info: ModelInfo) -> None:
        self._model_info = info
        self.model_changed.emit(info)

    def _on_worker_model_failed(self, message: str) -> None:
        self.model_problem.emit(message)

    def _on_worker_photo_started(self, path: Path) -> None:
        self._set_status(path, PhotoStatus.WORKING)

    def _on_worker_photo_finished(self, result: PhotoResult) -> None:
        entry = self.session.get(result.source)
        if entry is None:
            return
        entry.cache_path, entry.full_size = result.cache_path, result.full_size
        self._remember(result.source, result.before, result.after, result.full_size)
        self._set_status(result.source, PhotoStatus.DONE, f"{result.seconds:.1f} s")
        for dropped in self.results.add(result.source, result.cache_path, keep=self._current):
            entry = self.session.get(dropped)
            if entry is not None:
                entry.cache_path = None
                if entry.status == PhotoStatus.DONE:
                    self._set_status(dropped, PhotoStatus.DONE, DROPPED_FROM_CACHE)
        if result.source == self._current:
            self.preview_ready.emit(result.source, result.before, result.after, result.full_size)

    def _on_worker_photo_failed(self, failure: PhotoFailure) -> None:
        self._set_status(failure.source, PhotoStatus.FAILED, failure.message)

    def _on_worker_photo_cancelled(self, path: Path) -> None:
        self._set_status(path, PhotoStatus.CANCELLED)
