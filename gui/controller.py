"""The controller: owns the session, the inference thread and the background pool, and wires them.

Widgets call its methods (open these paths, redo, export, start a batch, cancel) and listen to its
signals; the worker on the inference thread gets jobs through queued signals. Cancelling sets the
jobs' ``CancelToken`` directly from the GUI thread, so it takes effect while the worker is busy.

The main list's photos wait in a ``ReviewQueue`` the worker drains with the batch runner's overlap;
the photo on show goes first. Nothing here imports torch: the window is up before the worker has
loaded it (engine events are imported once the worker has sent one, i.e. after torch is in).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal

from engine.batch.settings import DEFAULT_TEMPERATURE, BatchOptions, ColorizeSettings
from engine.cancel import CancelToken
from engine.errors import ReviveError
from engine.external import store as added_store
from engine.hints.schema import PhotoHints, ReferenceStats
from engine.hints.store import HintStore
from engine.models.registry import default_model_name, list_models
from engine.paths import cache_dir
from gui.app_settings import AppSettings
from gui.hints.preview import HintPreview
from gui.models.added_models import AddedModelRow, added_colorizers, added_rows, finishing_choices
from gui.models.batch_form import BatchForm
from gui.models.export_naming import export_problem
from gui.models.jobs import (
    BatchRequest,
    ExportRequest,
    ModelInfo,
    ModelRequest,
    PhotoFailure,
    PhotoJob,
    PhotoResult,
    RetuneRequest,
    RetuneSaved,
)
from gui.models.model_text import people_description
from gui.models.photo_inspection import inspect_photo
from gui.models.photo_session import (
    WAITING,
    ColourChoice,
    Expanded,
    PhotoEntry,
    PhotoSession,
    PhotoStatus,
    expand_paths,
    photo_hints,
)
from gui.models.result_cache import ResultCache
from gui.models.review_queue import ReviewQueue
from gui.models.tuning import Tuning
from gui.workers.added_models import ModelAdded, add_model_file
from gui.workers.background_tasks import BackgroundTasks
from gui.workers.device_lane import EXPORTING, INFERENCE_JOBS, DeviceLane, LaneState, waiting_text
from gui.workers.display_images import DetailSource, export_result, load_display_pair
from gui.workers.inference_worker import NO_MODEL_MESSAGE, InferenceWorker
from gui.workers.list_export import export_to_folder
from gui.workers.quitting import QUIT_WAIT_MS, wait_or_abandon

log = logging.getLogger(__name__)

PREVIEW_CACHE_SIZE = 6  # display-sized before/after pairs kept in memory
DROPPED_FROM_CACHE = "result dropped to save disk space: redo to export it"
PROGRESS_INTERVAL_S = 0.1  # batch progress reaches the panel at most this often (plus key events)
ASK_DELAY_MS = 200  # colour photos found within this time are asked about together


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
    status_message = Signal(str)  # something worth a line in the status bar
    photos_removed = Signal(list)  # [Path]
    queue_progressed = Signal(int, int)  # photos of this round done, photos in it; (0, 0) when all are done
    colour_photos_found = Signal(list)  # [Path] already in colour: ask what to do (set_colour_choice)
    made_with_changed = Signal(object, str, bool)  # Path, what its result was made with ("" none), Redo would change it
    detail_ready = Signal(object, object, object, object)  # Path, (x, y, w, h), before, after or None
    folder_export_finished = Signal(object, int)  # list_export.FolderExport, photos left out (no result)
    folder_export_failed = Signal(str)
    # model
    models_listed = Signal(list, str, dict, dict)  # names, current, tooltips, labels (name -> the picker's text)
    # models added from other projects (Tools > Add Model…, Manage Added Models…)
    model_added = Signal(object)  # gui.workers.added_models.ModelAdded
    model_add_failed = Signal(str)  # why, in one line (the engine's: "could run code", a foreign state dict)
    added_models_changed = Signal()  # one was added or removed: the manage dialog lists them again
    model_loading = Signal(str)
    model_changed = Signal(object)  # ModelInfo
    model_problem = Signal(str)
    # export
    export_finished = Signal(object)  # Path written
    export_failed = Signal(str)
    export_progressed = Signal(object)  # jobs.ExportProgress of an export finished by added models
    export_cancelled = Signal(str)  # what the cancel left, for the status bar
    export_waiting = Signal(str)  # a finished export waits for the device (another job holds it)
    # batch
    batch_started = Signal()
    batch_progressed = Signal(object)  # BatchProgress
    batch_finished = Signal(object)  # BatchProgress with its summary
    batch_failed = Signal(str)
    # settings
    recent_changed = Signal(list)  # [Path]

    # to the worker (queued)
    _model_requested = Signal(object)
    _queue_requested = Signal()
    _retune_requested = Signal()
    _batch_requested = Signal(object)
    _export_requested = Signal()

    def __init__(
        self,
        settings: AppSettings,
        model: str | None = None,
        device: str | None = None,
        parent: QObject | None = None,
        hint_store: HintStore | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.hint_store = hint_store if hint_store is not None else HintStore()  # each photo's saved hints
        self.session = PhotoSession()
        self.results = ResultCache(cache_dir() / "gui")
        self.queue = ReviewQueue()
        self.details = DetailSource()
        self._explicit_model = model
        self._device = device or settings.device()
        self._tuning = Tuning(
            model or settings.model(), settings.render_size(), settings.saturation_percent(), settings.boldness()
        )
        self._auto_colorize = settings.auto_colorize()
        self._model_info: ModelInfo | None = None
        self._card_temperatures: dict[str, float | None] = {}  # None: an added model (no temperature)
        self._current: Path | None = None
        self._previews: OrderedDict[Path, tuple[np.ndarray, np.ndarray | None, tuple[int, int]]] = OrderedDict()
        self._photo_token = CancelToken()
        self._round = [0, 0]  # photos of this round of colorizing done, photos in it
        self._retune_generation = 0
        self._colour_references: dict[Path, object] = {}  # engine.hints.schema.ReferenceStats of colour photos
        self._to_ask: list[Path] = []
        self._ask_timer = QTimer(self)
        self._ask_timer.setSingleShot(True)
        self._ask_timer.setInterval(ASK_DELAY_MS)
        self._ask_timer.timeout.connect(self._on_ask_timer_timeout)
        self._batch_token: CancelToken | None = None
        self._exports_waiting: dict[Path, tuple[Path, int]] = {}  # until a re-tune is saved: target, quality
        self._export_finishing: tuple[str | None, str | None] = settings.export_finishing()  # upscaler, faces
        self._finishing_exports: list[ExportRequest] = []  # sent to the worker, not yet reported back
        self._exports_behind_batch: list[ExportRequest] = []  # of those, sent while a folder batch ran
        self._progress = None  # engine.batch.progress.BatchProgress, from the batch's first event
        self._last_progress_emit = 0.0
        self.last_batch_output: Path | None = None
        self._closed = False

        self.tasks = BackgroundTasks(self)
        self.tasks.task_failed.connect(self._on_tasks_task_failed)
        # One device lane for the app: colorizing, training and the training time estimate take turns.
        self.lane = DeviceLane(self)
        self.lane.changed.connect(self._on_lane_changed)
        self._device_wait = ""  # the queued rows' message while colorizing waits for the device
        self.worker = InferenceWorker(self.queue)
        self.worker.lane = self.lane
        self.thread = QThread()
        self.thread.setObjectName("revive-inference")
        self.worker.moveToThread(self.thread)
        self.thread.finished.connect(self.worker.deleteLater)
        # The hint preview runs on the inference thread too: the device runs one job at a time.
        self.hint_preview = HintPreview(thread=self.thread, parent=self)
        self.worker.hint_preview = self.hint_preview
        self.hint_preview.worker.lane = self.lane
        queued = Qt.ConnectionType.QueuedConnection
        self._model_requested.connect(self.worker.load_model, queued)
        self._queue_requested.connect(self.worker.run_queue, queued)
        self._retune_requested.connect(self.worker.serve_retune, queued)
        self._batch_requested.connect(self.worker.run_batch, queued)
        self._export_requested.connect(self.worker.serve_exports, queued)
        self.worker.model_loading.connect(self._on_worker_model_loading, queued)
        self.worker.model_loaded.connect(self._on_worker_model_loaded, queued)
        self.worker.model_failed.connect(self._on_worker_model_failed, queued)
        self.worker.photo_started.connect(self._on_worker_photo_started, queued)
        self.worker.photo_finished.connect(self._on_worker_photo_finished, queued)
        self.worker.photo_failed.connect(self._on_worker_photo_failed, queued)
        self.worker.photo_cancelled.connect(self._on_worker_photo_cancelled, queued)
        self.worker.queue_ran_dry.connect(self._on_worker_queue_ran_dry, queued)
        self.worker.photo_retuned.connect(self._on_worker_photo_retuned, queued)
        self.worker.retune_saved.connect(self._on_worker_retune_saved, queued)
        self.worker.retune_failed.connect(self._on_worker_retune_failed, queued)
        self.worker.batch_event.connect(self._on_worker_batch_event, queued)
        self.worker.batch_failed.connect(self._on_worker_batch_failed, queued)
        self.worker.export_progressed.connect(self.export_progressed, queued)
        self.worker.export_done.connect(self._on_worker_export_done, queued)
        self.worker.export_failed.connect(self._on_worker_export_failed, queued)
        self.worker.export_cancelled.connect(self._on_worker_export_cancelled, queued)

    # -- life cycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the inference thread, list the models and load the chosen one (on the worker)."""
        if self._closed or self.thread.isRunning():
            return  # the window closed before its start-up timer fired, or started already
        self.tasks.submit(self.results.clear_stale, on_done=lambda _none: None)  # a folder scan: not on this thread
        self.thread.start()
        self.refresh_models()
        # Load now (importing torch takes the worker seconds); photos added meanwhile wait in the queue.
        if self._tuning.model:
            self._model_requested.emit(ModelRequest(self._tuning.model, self._device))
        if self.settings.restore_session():
            photos = [p for p in self.settings.session_photos() if p.is_file()]
            if photos:
                self.open_paths(photos, remember=False)

    def shutdown(self) -> None:
        """Cancel everything, stop the inference thread and wait for it; idempotent."""
        if self._closed:
            return
        self._closed = True
        self.settings.set_session_photos(self.session.paths())
        self._ask_timer.stop()
        self.queue.clear()
        self._photo_token.cancel()
        if self._batch_token is not None:
            self._batch_token.cancel()
        self.cancel_exports()
        self.lane.close()  # a job still waiting for the device gives up
        self.tasks.shutdown(QUIT_WAIT_MS)
        self.hint_preview.shutdown()  # first: its worker lets go of the model on the running thread
        self.thread.quit()
        wait_or_abandon(self.thread, QUIT_WAIT_MS, "the inference thread")
        self.results.discard_all()
        self.settings.sync()

    def is_shut_down(self) -> bool:
        return self._closed

    # -- models -------------------------------------------------------------------------------------------
    def refresh_models(self) -> None:
        """List the installed models again (e.g. after training one) and pick one if none is chosen."""
        models = [m for m in list_models() if m.card is not None]
        added = added_colorizers({m.name for m in models})  # e.g. DDColor, loaded by load_colorizer
        self._card_temperatures = {m.name: m.card.temperature for m in models} | {a.name: None for a in added}
        tooltips = {
            m.name: people_description(m.name, m.card.description, m.card.trained_on) + f"\n{m.path}" for m in models
        } | {a.name: a.tooltip for a in added}
        chosen = self._tuning.model
        if chosen not in self._card_temperatures and not _is_model_path(chosen):
            try:
                chosen = default_model_name()
            except ReviveError:
                chosen = ""
            self._tuning = Tuning(chosen, *self._tuning_values())
        if not models and not added:
            self.model_problem.emit(NO_MODEL_MESSAGE)
        names = [m.name for m in models] + [a.name for a in added]
        self.models_listed.emit(names, self._tuning.model, tooltips, {a.name: a.label for a in added})

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
        self._describe_current()

    def model_info(self) -> ModelInfo | None:
        return self._model_info

    # -- models added from other projects ----------------------------------------------------------------
    def added_models(self) -> list[AddedModelRow]:
        """Every added model (colorizers, upscalers, face models...), for the manage dialog."""
        return added_rows()

    def finishing_models(self) -> tuple[list[str], list[str]]:
        """(upscalers, face models) a batch can finish its results with; listed again with
        ``added_models_changed``."""
        return finishing_choices()

    def add_model_file(self, path: Path, name: str, source: str = "") -> None:
        """Add ``path`` as model ``name`` on the background pool (spandrel examines it: seconds);
        then ``model_added`` and the picker lists it (a colorizer), or ``model_add_failed``."""
        self.tasks.submit(
            add_model_file, Path(path), name, source, on_done=self._on_model_added, on_failed=self.model_add_failed.emit
        )

    def remove_added_model(self, name: str) -> str:
        """Delete an added model's copy and card ('' when done, else why not). The picker lists
        the models again; when the removed one was chosen, the default model is loaded instead."""
        try:
            removed = added_store.remove(name)
        except ReviveError as error:
            return str(error)
        was_chosen = self._tuning.model == name
        self.refresh_models()
        if was_chosen and self._tuning.model:
            self.settings.set_model(self._tuning.model)
            self._model_requested.emit(ModelRequest(self._tuning.model, self._device))
            self._describe_current()
        self.added_models_changed.emit()
        self.status_message.emit(f"Removed {removed.name} (the file you added it from is left where it was)")
        return ""

    def _on_model_added(self, added: ModelAdded) -> None:
        self.refresh_models()
        self.added_models_changed.emit()
        self.status_message.emit(added.line)
        self.model_added.emit(added)

    # -- tuning ------------------------------------------------------------------------------------------
    def tuning(self) -> Tuning:
        return self._tuning

    def set_tuning(self, render_size: int, saturation_percent: int, boldness: int) -> None:
        """New panel values. Saturation and boldness apply at once to the photo on show (decoded
        again from its kept network output, no model run); a new render size waits for Redo."""
        self._tuning = Tuning(self._tuning.model, render_size, saturation_percent, boldness)
        self.settings.set_render_size(render_size)
        self.settings.set_saturation_percent(saturation_percent)
        self.settings.set_boldness(boldness)
        entry = self.session.get(self._current) if self._current is not None else None
        if (
            entry is not None
            and entry.status == PhotoStatus.DONE
            and entry.made_with is not None
            and entry.made_with != self._tuning
            and self._tuning.same_model_run(entry.made_with)
        ):
            self._retune(entry)
        self._describe_current()

    def _retune(self, entry: PhotoEntry) -> None:
        """Decode the photo on show again with the current settings and its hints (the worker
        keeps its network output; a change of marks runs the network once more)."""
        self._retune_generation += 1
        entry.saving = self._retune_generation
        posted = self.worker.request_retune(RetuneRequest(self._job(entry.source), self._retune_generation))
        if posted.wake:
            self._retune_requested.emit()
        self.photo_status_changed.emit(entry.source, entry.status, entry.message)  # export waits
        left = posted.replaced
        if left is not None and left.job.source != entry.source:  # another photo's, never to be served
            other = self.session.get(left.job.source)
            if other is not None and other.saving == left.generation:
                other.saving = 0
                self._drop_waiting_export(other.source, "its new settings were not applied: export it again")
                if other.status == PhotoStatus.DONE and other.hints != other.result_hints:
                    self._queue([other.source])
                self.photo_status_changed.emit(other.source, other.status, other.message)

    # -- hints --------------------------------------------------------------------------------------------------
    def colour_reference(self, path: Path) -> ReferenceStats | None:
        """The ``engine.hints.schema.ReferenceStats`` of a photo already in colour (None for others)."""
        return self._colour_references.get(Path(path))

    def default_hints(self, path: Path) -> PhotoHints | None:
        """What a photo's hints start from when the user has saved none (a restored colour photo's
        own colours as the reference to match)."""
        entry = self.session.get(path)
        return photo_hints(None, entry.colour_choice, self.colour_reference(path)) if entry is not None else None

    def set_saved_hints(self, path: Path, hints: PhotoHints | None) -> None:
        """The hints the user saved for ``path`` changed: they go with its next colorizing, and a
        result already there is brought up to date (``refresh_result``)."""
        entry = self.session.get(path)
        if entry is None:
            return
        entry.saved_hints = hints if hints is not None and not hints.is_empty else None
        if entry.status not in (PhotoStatus.KEPT, PhotoStatus.ASK):
            entry.hints = photo_hints(entry.saved_hints, entry.colour_choice, self.colour_reference(path))
        self.refresh_result(entry.source)

    def refresh_result(self, path: Path) -> None:
        """Make the result of ``path`` follow its hints: the photo on show is re-tuned (fast: its
        network output is kept), another done photo colorized again; a photo waiting or being
        colorized is checked when it is done, a photo not colorized yet takes them when it is."""
        entry = self.session.get(path)
        if entry is None or entry.status != PhotoStatus.DONE or entry.hints == entry.result_hints:
            return
        if entry.source == self._current and entry.made_with is not None:
            self._retune(entry)
        else:
            self._queue([entry.source])

    def colorize_settings(self) -> ColorizeSettings:
        temperature = self._card_temperatures.get(self._tuning.model)
        if temperature is None and self._model_info is not None:
            temperature = self._model_info.temperature
        return self._tuning.settings(temperature if temperature is not None else DEFAULT_TEMPERATURE)

    def auto_colorize(self) -> bool:
        return self._auto_colorize

    def set_auto_colorize(self, on: bool) -> None:
        self._auto_colorize = on
        self.settings.set_auto_colorize(on)

    def made_with(self, path: Path | None = None) -> str:
        """What the result of ``path`` (default: on show) was made with, '' when it has none."""
        entry = self.session.get(path or self._current) if (path or self._current) else None
        if entry is None or entry.made_with is None or entry.status != PhotoStatus.DONE:
            return ""
        return entry.made_with.describe(entry.render_size)

    def _describe_current(self) -> None:
        entry = self.session.get(self._current) if self._current is not None else None
        if entry is not None:
            stale = entry.made_with is not None and not self._tuning.same_model_run(entry.made_with)
            self.made_with_changed.emit(entry.source, self.made_with(), stale)

    # -- opening photos --------------------------------------------------------------------------------------
    def open_paths(self, paths: Sequence[Path], remember: bool = True) -> None:
        """The one opener behind drops, File > Open, Open Folder, recent items and the restored list."""
        paths = [Path(p) for p in paths]
        if not paths or self._closed:
            return
        if remember:
            self.recent_changed.emit(self.settings.add_recent(paths))
        self.tasks.submit(
            expand_paths,
            paths,
            on_done=lambda found: self._on_tasks_paths_expanded(paths, found),
            on_failed=self.nothing_found.emit,
        )

    def _on_tasks_paths_expanded(self, asked: list[Path], found: Expanded) -> None:
        photos, skipped, reals, reasons = found
        known = sum(1 for p, real in zip(photos, reals, strict=True) if self.session.knows(p, real))
        added = self.session.add(photos, reals)
        if not photos:
            names = ", ".join(p.name for p in asked[:3])
            # A pipe or a dangling link dropped alone says what it is; other files are not photos.
            why = reasons[0] if reasons and len(asked) == 1 else "not an image type Revive reads"
            self.nothing_found.emit(f"No photos found in {names}" + (f" ({why})" if skipped else ""))
            return
        if added:
            self.photos_added.emit([entry.source for entry in added])
        self.status_message.emit(describe_added(len(added), skipped, known))
        choices = self.settings.colour_choices()
        for entry in added:
            remembered = choices.get(entry.source)
            if remembered in {c.value for c in ColourChoice}:
                entry.colour_choice = ColourChoice(remembered)
            self.tasks.submit(
                inspect_photo,
                entry.source,
                self.hint_store,
                on_done=lambda look, path=entry.source: self._on_tasks_inspected(path, look),
                on_failed=lambda message, path=entry.source: self._on_tasks_inspect_failed(path, message),
            )

    def _on_tasks_inspected(self, path: Path, look) -> None:
        entry = self.session.get(path)
        if entry is None:
            return
        self.thumbnail_ready.emit(path, look.thumbnail)
        entry.kind = look.kind
        if entry.saved_hints is None:  # else the user hinted it meanwhile: theirs are newer
            entry.saved_hints = look.saved_hints
            entry.hints = photo_hints(entry.saved_hints, entry.colour_choice, None)
        # Queued on its look only while still NEW: Stop (cancel_photos) came first otherwise.
        queue = self._auto_colorize and entry.status == PhotoStatus.NEW
        if look.kind == "colour":
            self._colour_references[path] = look.reference
            if entry.colour_choice is None:
                self._set_status(path, PhotoStatus.ASK, "keep its colours or colorize it?")
                self._to_ask.append(path)
                self._ask_timer.start()
                return
            self._apply_colour_choice(entry, entry.colour_choice, queue=queue)
        elif queue:
            self._queue([path])

    def _on_tasks_inspect_failed(self, path: Path, message: str) -> None:
        if self.session.get(path) is not None:
            self._set_status(path, PhotoStatus.FAILED, message)

    def _on_ask_timer_timeout(self) -> None:
        waiting = [
            p
            for p in dict.fromkeys(self._to_ask)
            if (e := self.session.get(p)) is not None and e.status == PhotoStatus.ASK
        ]
        self._to_ask = []
        if waiting:
            self.colour_photos_found.emit(waiting)

    def set_colour_choice(self, paths: Sequence[Path], choice: ColourChoice) -> None:
        """The user's answer for photos already in colour: remembered per photo, then applied
        (colorized now when asked to, whatever the colorize-on-add setting)."""
        for path in paths:
            entry = self.session.get(path)
            if entry is None or entry.status in WAITING:
                continue
            entry.colour_choice = choice
            self.settings.set_colour_choice(entry.source, choice.value)
            self._apply_colour_choice(entry, choice, queue=True)

    def _apply_colour_choice(self, entry, choice: ColourChoice, queue: bool) -> None:
        if choice == ColourChoice.KEEP:
            entry.hints = None
            self._set_status(entry.source, PhotoStatus.KEPT)
            return
        entry.hints = photo_hints(entry.saved_hints, choice, self.colour_reference(entry.source))
        if queue:
            self._queue([entry.source])
        elif entry.status not in (PhotoStatus.CANCELLED, *WAITING):  # stopped, or queued meanwhile: it stands
            self._set_status(entry.source, PhotoStatus.NEW)

    def colorize_waiting(self) -> None:
        """Colorize every photo not done yet (the button when colorizing on add is off)."""
        self._queue(
            [e.source for e in self.session.with_status(PhotoStatus.NEW, PhotoStatus.CANCELLED, PhotoStatus.FAILED)]
        )

    def redo(self, path: Path | None = None) -> bool:
        """Colorize ``path`` (default: the photo on show) again with the current settings; a photo
        already in colour whose colours were kept (or not decided) is asked about again."""
        path = path or self._current
        entry = self.session.get(path) if path is not None else None
        if entry is None or entry.status in WAITING:
            return False
        if entry.status in (PhotoStatus.KEPT, PhotoStatus.ASK):
            self.colour_photos_found.emit([entry.source])
            return True
        self._queue([entry.source])
        return True

    def cancel_photos(self) -> None:
        """Drop the photos still waiting (the one being colorized finishes), and those just added
        that would be queued once they are looked at: Stop right after a drop stops them all."""
        dropped = self.queue.clear()
        self._photo_token.cancel()
        self._photo_token = CancelToken()
        for source in dropped:
            self._set_status(source, PhotoStatus.CANCELLED)
        self._count_finished(len(dropped))
        if self._auto_colorize:  # their look comes back later and queues only NEW photos
            for entry in self.session.with_status(PhotoStatus.NEW):
                if entry.kind is None:
                    self._set_status(entry.source, PhotoStatus.CANCELLED)

    def waiting_count(self) -> int:
        """Photos of the list queued or being colorized (quitting would drop them)."""
        return len(self.session.with_status(*WAITING))

    def _job(self, source: Path) -> PhotoJob:
        entry = self.session.get(source)
        cache_path = entry.cache_path or self.results.path_for(source)
        return PhotoJob(
            source,
            self.colorize_settings(),
            cache_path,
            self._photo_token,
            self._tuning,
            entry.hints if entry is not None else None,
            entry.restoration if entry is not None else None,  # repaired first (the Restore tab)
        )

    def _queue(self, sources: Sequence[Path]) -> None:
        jobs = []
        for source in sources:
            entry = self.session.get(source)
            if entry is None or self._closed or entry.status in WAITING:
                continue
            if entry.kind == "colour" and entry.colour_choice in (None, ColourChoice.KEEP):
                continue  # asked first; kept ones stay as they are
            self._set_status(source, PhotoStatus.QUEUED, self._device_wait)
            jobs.append(self._job(source))
        if not jobs:
            return
        if self._round[0] >= self._round[1]:
            self._round = [0, 0]  # a new round of colorizing
        self._round[1] += len(jobs)
        self.queue_progressed.emit(*self._round)
        if self.queue.push(jobs):
            self._queue_requested.emit()

    def _count_finished(self, count: int = 1) -> None:
        if not count or not self._round[1]:
            return
        self._round[0] = min(self._round[1], self._round[0] + count)
        if self._round[0] >= self._round[1]:
            total = self._round[1]
            self._round = [0, 0]
            self.queue_progressed.emit(0, 0)
            self.status_message.emit(f"Finished colorizing {total} photo{'s' if total != 1 else ''}")
        else:
            self.queue_progressed.emit(*self._round)

    def _set_status(self, path: Path, status: PhotoStatus, message: str = "") -> None:
        entry = self.session.get(path)
        if entry is not None:
            entry.status, entry.message = status, message
            self.photo_status_changed.emit(path, status, message)

    # -- removing photos -------------------------------------------------------------------------------
    def remove_photos(self, paths: Sequence[Path]) -> None:
        """Take photos off the list (a photo being colorized finishes; its result is dropped)."""
        paths = [Path(p) for p in paths]
        self._count_finished(len(self.queue.remove(paths)))
        removed = self.session.remove(paths)
        if not removed:
            return
        for entry in removed:
            self._previews.pop(entry.source, None)
            self._colour_references.pop(entry.source, None)
            self.results.discard(entry.source)
        if self._current in paths:
            self._current = None
            self.queue.set_current(None)
            self.details.forget()
        self.photos_removed.emit([entry.source for entry in removed])

    def clear_photos(self) -> None:
        self.remove_photos(self.session.paths())

    # -- the photo on show ----------------------------------------------------------------------------------------
    def current(self) -> Path | None:
        return self._current

    def select(self, path: Path | None) -> None:
        """Show ``path``: at once from memory, else loaded in the background. A queued photo on
        show is colorized next."""
        self._current = path
        self.queue.set_current(path)
        entry = self.session.get(path) if path is not None else None
        if entry is None:
            return
        self._describe_current()
        cached = self._previews.get(entry.source)
        if cached is not None and (cached[1] is not None or entry.status != PhotoStatus.DONE):
            self._previews.move_to_end(entry.source)
            self.preview_ready.emit(entry.source, *cached)
            return
        cache_path = entry.cache_path if entry.status == PhotoStatus.DONE else None
        self.tasks.submit(
            load_display_pair,
            entry.source,
            cache_path,
            on_done=lambda pair, p=entry.source: self._on_tasks_preview_loaded(p, pair),
            on_failed=lambda message, p=entry.source: self.preview_failed.emit(p, message),
        )

    def _on_tasks_preview_loaded(self, path: Path, pair: tuple[np.ndarray, np.ndarray | None, tuple[int, int]]) -> None:
        before, after, size = pair
        entry = self.session.get(path)
        if entry is None:
            return
        entry.full_size = entry.full_size or size
        self._remember(path, before, after, entry.full_size)
        if path == self._current:
            self.preview_ready.emit(path, before, after, entry.full_size)

    def _remember(self, path: Path, before: np.ndarray, after: np.ndarray | None, size: tuple[int, int]) -> None:
        self._previews[path] = (before, after, size)
        self._previews.move_to_end(path)
        while len(self._previews) > PREVIEW_CACHE_SIZE:
            self._previews.popitem(last=False)

    def load_detail(self, rect: tuple[int, int, int, int], with_result: bool = True) -> None:
        """Full-resolution pixels of ``rect`` (original pixels) of the photo on show, for the view
        past its display copy; ``detail_ready`` brings them (without the result's when
        ``with_result`` is False: the view shows a preview the cached result lacks)."""
        entry = self.session.get(self._current) if self._current is not None else None
        if entry is None:
            return
        cache_path = entry.cache_path if with_result and entry.status == PhotoStatus.DONE and not entry.saving else None
        self.tasks.submit(
            self.details.region,
            entry.source,
            cache_path,
            tuple(int(v) for v in rect),
            on_done=lambda found, p=entry.source: self._on_tasks_detail_loaded(p, found),
        )

    def _on_tasks_detail_loaded(self, path: Path, found) -> None:
        if path == self._current:
            self.detail_ready.emit(path, *found)

    # -- export ----------------------------------------------------------------------------------------------------
    def can_export(self, path: Path | None = None, soon: bool = False) -> bool:
        """True when the result of ``path`` (default: on show) can be exported now; with ``soon``,
        also while a re-tune of it is being saved (``export`` then writes it once it is)."""
        entry = self.session.get(path or self._current) if (path or self._current) else None
        return (
            entry is not None
            and entry.status == PhotoStatus.DONE
            and entry.cache_path is not None
            and (soon or not entry.saving)
        )

    def export(self, target: Path, path: Path | None = None, quality: int = 95) -> None:
        """Write the result of ``path`` (default: on show) to ``target``, in the background. A file
        already at ``target`` is replaced only when the folder's ledger proves it is Revive's."""
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
        if entry.saving:  # new settings or hints are being applied: written once they are
            self._exports_waiting[entry.source] = (Path(target), quality)
            return
        if self.finishes_exports():
            upscale, faces = self._export_finishing
            pair = ((entry.source, entry.cache_path),)
            request = ExportRequest(
                pair, CancelToken(), target=Path(target), quality=quality, upscale=upscale, faces=faces
            )
            self._send_export(request)
            return
        self.tasks.submit(
            export_result,
            entry.source,
            entry.cache_path,
            Path(target),
            quality,
            on_done=self.export_finished.emit,
            on_failed=self.export_failed.emit,
        )

    def _drop_waiting_export(self, source: Path, why: str) -> None:
        if self._exports_waiting.pop(source, None) is not None:
            self.export_failed.emit(f"{source.name} was not exported: {why}")

    def exportable(self, paths: Sequence[Path]) -> list[Path]:
        return [p for p in paths if self.can_export(p)]

    def export_to_folder(self, paths: Sequence[Path], folder: Path, format: str, quality: int = 95) -> None:
        """Export the results of ``paths`` into ``folder``, named and protected as a batch's outputs
        are (``gui.workers.list_export``); photos without a result are left out (and counted)."""
        results = [(p, self.session.get(p).cache_path) for p in self.exportable(paths)]
        left_out = len(paths) - len(results)
        if not results:
            self.folder_export_failed.emit("none of these photos has a colorized result yet")
            return
        self.settings.set_export_folder(Path(folder))
        if self.finishes_exports():
            upscale, faces = self._export_finishing
            request = ExportRequest(
                tuple(results),
                CancelToken(),
                folder=Path(folder),
                format=format,
                quality=quality,
                upscale=upscale,
                faces=faces,
                left_out=left_out,
            )
            self._send_export(request)
            return
        self.tasks.submit(
            export_to_folder,
            results,
            Path(folder),
            format,
            quality,
            on_done=lambda done: self.folder_export_finished.emit(done, left_out),
            on_failed=self.folder_export_failed.emit,
        )

    # -- exports finished by added models (the Adjust tab's Upscale and Faces) ------------------------------------
    def export_finishing(self) -> tuple[str | None, str | None]:
        """(upscaler, face model) the exports run first; None for none."""
        return self._export_finishing

    def set_export_finishing(self, upscale: str | None, faces: str | None) -> None:
        """Finish later exports with these added models (names; None: none), remembered between starts."""
        self._export_finishing = (upscale or None, faces or None)
        self.settings.set_export_finishing(*self._export_finishing)

    def finishes_exports(self) -> bool:
        return any(self._export_finishing)

    def exports_running(self) -> int:
        """Finished exports sent to the inference thread and not yet reported back."""
        return len(self._finishing_exports)

    def cancel_exports(self) -> None:
        """Stop the finished exports: the one running at its next upscaler tile, the others before
        they start. A folder export keeps the photos it wrote. Those queued behind a folder batch
        cannot have started: they are reported cancelled at once, not when the batch is over."""
        for request in self._finishing_exports:
            request.cancel.cancel()
        if not self._closed:  # quitting: no one is left to tell
            for request in list(self._exports_behind_batch):  # reporting removes it from the list
                self._on_worker_export_cancelled(request)
        self._exports_behind_batch.clear()

    def _send_export(self, request: ExportRequest) -> None:
        self._finishing_exports.append(request)
        self.worker.post_export(request)
        self._export_requested.emit()
        if self.batch_running():  # the batch holds the inference thread until it ends
            self._exports_behind_batch.append(request)
            self.export_waiting.emit("Waiting for the folder batch: the export starts when it is done")

    def _export_reported(self, request: ExportRequest) -> bool:
        """Forget a reported export; False when it had been reported already (cancelled while queued)."""
        if request in self._exports_behind_batch:
            self._exports_behind_batch.remove(request)
        if request not in self._finishing_exports:
            return False
        self._finishing_exports.remove(request)
        return True

    def _on_worker_export_done(self, request: ExportRequest, done) -> None:
        if not self._export_reported(request):
            return
        if request.target is not None:
            self.export_finished.emit(done)
        else:
            self.folder_export_finished.emit(done, request.left_out)

    def _on_worker_export_failed(self, request: ExportRequest, message: str) -> None:
        if self._export_reported(request):
            (self.export_failed if request.target is not None else self.folder_export_failed).emit(message)

    def _on_worker_export_cancelled(self, request: ExportRequest) -> None:
        if not self._export_reported(request):
            return
        what = request.target.name if request.target is not None else f"the export to {request.folder}"
        self.export_cancelled.emit(f"Export cancelled: {what} was not written")

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
        self.settings.set_batch_cluster(form.cluster is not None)
        self.settings.set_batch_finishing(form.upscale, form.faces)
        if form.cluster is not None:
            self.settings.set_batch_cluster_address(form.cluster.address)
            self.settings.set_batch_cluster_workers(form.cluster.workers)
            problem = form.cluster.problem()  # refused here, in one line, before anything runs
            if problem is not None:
                self.batch_failed.emit(problem)
                return False
        try:
            options = BatchOptions(
                output_dir=form.output_dir,
                format=form.format,
                skip_existing=form.skip_existing,
                recursive=form.recursive,
                settings=self.colorize_settings(),
            )
        except ValueError as error:
            self.batch_failed.emit(str(error))
            return False
        self._batch_token = CancelToken()
        self._progress = None
        self.last_batch_output = form.output_dir
        self.batch_started.emit()
        self._batch_requested.emit(
            BatchRequest(
                (form.input_dir,),
                options,
                self._batch_token,
                self.hint_store,
                form.restoration,
                form.cluster,
                form.upscale,
                form.faces,
            )
        )
        return True

    def cancel_batch(self) -> None:
        """Stop the batch after the photo in progress; finished outputs stay."""
        if self._batch_token is not None:
            self._batch_token.cancel()

    def batch_progress(self):
        """The running (or last) batch's ``engine.batch.progress.BatchProgress`` (None before its first event)."""
        return self._progress

    def _on_worker_batch_event(self, event: object) -> None:
        # The worker has imported the engine's batch modules (and torch) by now: these are cheap.
        from engine.batch.progress import BatchProgress
        from engine.batch.run import BatchFinished, BatchStarted, JobFailed

        if self._progress is None:
            self._progress = BatchProgress()
        now = time.monotonic()
        self._progress.apply(event, now)
        if isinstance(event, BatchFinished):
            self._batch_token = None
            self._exports_behind_batch.clear()  # the inference thread is free: they start now
            self.batch_finished.emit(self._progress)
        elif isinstance(event, (BatchStarted, JobFailed)) or now - self._last_progress_emit >= PROGRESS_INTERVAL_S:
            self._last_progress_emit = now
            self.batch_progressed.emit(self._progress)

    def _on_worker_batch_failed(self, message: str) -> None:
        self._batch_token = None
        self._exports_behind_batch.clear()
        self.batch_failed.emit(message)

    # -- the device lane and background failures ---------------------------------------------------------------------
    def _on_lane_changed(self, state: LaneState) -> None:
        """Colorizing waits while another job (a training run) holds the device: say so, in the
        status bar and on the rows of the photos waiting; an export finished by added models says it
        in its own field."""
        if state.waits(EXPORTING) and state.holder != EXPORTING and not self._closed:
            self.export_waiting.emit(f"{waiting_text(state)}: the export starts when it is done")
        waiting = state.waits(INFERENCE_JOBS) and state.holder not in INFERENCE_JOBS
        if waiting == bool(self._device_wait) or self._closed:
            return
        message = f"{waiting_text(state)}: colorizing starts when it is done" if waiting else ""
        self._device_wait = message.lower()
        for entry in self.session.with_status(PhotoStatus.QUEUED):
            self._set_status(entry.source, PhotoStatus.QUEUED, self._device_wait)
        self.status_message.emit(message or "The device is free: colorizing goes on")

    def _on_tasks_task_failed(self, message: str) -> None:
        self.status_message.emit(f"A background task failed: {message}")

    # -- worker reports ------------------------------------------------------------------------------------------------
    def _on_worker_model_loading(self, name: str) -> None:
        self.model_loading.emit(name)

    def _on_worker_model_loaded(self, info: ModelInfo) -> None:
        self._model_info = info
        self.model_changed.emit(info)

    def _on_worker_model_failed(self, message: str) -> None:
        self.model_problem.emit(message)

    def _on_worker_photo_started(self, path: Path) -> None:
        if self.session.get(path) is not None:
            self._set_status(path, PhotoStatus.WORKING)

    def _on_worker_photo_finished(self, result: PhotoResult) -> None:
        self._count_finished()
        entry = self.session.get(result.source)
        if entry is None:  # removed while it was being colorized
            result.cache_path.unlink(missing_ok=True)
            return
        entry.cache_path, entry.full_size = result.cache_path, result.full_size
        entry.made_with, entry.render_size, entry.saving = result.tuning, result.render_size, 0
        entry.result_hints = result.hints
        self._remember(result.source, result.before, result.after, result.full_size)
        self._set_status(result.source, PhotoStatus.DONE, f"{result.seconds:.1f} s")
        self._account(result.source, result.cache_path)
        if result.source == self._current:
            self.preview_ready.emit(result.source, result.before, result.after, result.full_size)
            self._describe_current()
        self.refresh_result(result.source)  # its hints changed while it was being colorized

    def _account(self, source: Path, cache_path: Path) -> None:
        for dropped in self.results.add(source, cache_path, keep=self._current):
            entry = self.session.get(dropped)
            if entry is not None:
                entry.cache_path = None
                if entry.status == PhotoStatus.DONE:
                    self._set_status(dropped, PhotoStatus.DONE, DROPPED_FROM_CACHE)

    def _on_worker_photo_failed(self, failure: PhotoFailure) -> None:
        self._count_finished()
        if self.session.get(failure.source) is not None:
            self._set_status(failure.source, PhotoStatus.FAILED, failure.message)

    def _on_worker_photo_cancelled(self, path: Path) -> None:
        self._count_finished()
        if self.session.get(path) is not None:
            self._set_status(path, PhotoStatus.CANCELLED)

    def _on_worker_queue_ran_dry(self) -> None:
        if not self.queue.waiting() and not self.session.with_status(*WAITING) and self._round[1]:
            self._count_finished(self._round[1] - self._round[0])  # e.g. photos removed while waiting

    def _on_worker_photo_retuned(self, result: PhotoResult) -> None:
        entry = self.session.get(result.source)
        if entry is None or entry.status != PhotoStatus.DONE:
            return
        entry.made_with, entry.render_size, entry.result_hints = result.tuning, result.render_size, result.hints
        cached = self._previews.get(result.source)
        before = cached[0] if cached is not None else None
        if before is not None:
            self._remember(result.source, before, result.after, result.full_size)
        if result.source == self._current:
            self.preview_ready.emit(result.source, before, result.after, result.full_size)
            self._describe_current()

    def _on_worker_retune_saved(self, saved: RetuneSaved) -> None:
        entry = self.session.get(saved.source)
        if entry is None or entry.saving != saved.generation:
            return  # removed, or a newer re-tune is on its way
        entry.saving = 0
        entry.cache_path = entry.cache_path or self.results.path_for(saved.source)
        self._account(saved.source, entry.cache_path)
        self.photo_status_changed.emit(entry.source, entry.status, entry.message)
        waiting = self._exports_waiting.pop(entry.source, None)
        if waiting is not None:
            self.export(waiting[0], entry.source, waiting[1])

    def _on_worker_retune_failed(self, failure: PhotoFailure) -> None:
        entry = self.session.get(failure.source)
        if entry is not None:
            entry.saving = 0
            self.photo_status_changed.emit(entry.source, entry.status, entry.message)
        self._drop_waiting_export(failure.source, failure.message)
        self.status_message.emit(f"Could not apply the new settings: {failure.message}")


def describe_added(added: int, skipped: int, known: int = 0) -> str:
    """'Added 4 photos; 1 other file skipped (not a photo)' for the status bar."""
    text = f"Added {added} photo{'s' if added != 1 else ''}"
    extras = []
    if known:
        extras.append(f"{known} already in the list")
    if skipped:
        extras.append(f"{skipped} other file{'s' if skipped != 1 else ''} skipped (not a photo)")
    return text + ("; " + ", ".join(extras) if extras else "")
