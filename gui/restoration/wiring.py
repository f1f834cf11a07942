"""Restoration before colour in the main window: the Restore tab, the damage mask over the view,
the compare choice, and the restoration worker on the inference thread, wired to the photo on show.

The Restore tab says which stages are on and how strongly. *Find Damage* runs the detector on the
photo's full-resolution luma and shows its mask over the view; while the tab is on show the left
button paints damage on that mask (right button or the eraser removes it), Ctrl+Z / the Undo
button undo the last stroke, Clear empties it. *Apply to This Photo* repairs the photo with the
stages, filling the edited mask (or, when there is none yet, what the detector finds), keeps the
restored luma in the cache, and colorizes the photo again from it (``PhotoEntry.restoration`` ->
``PhotoJob.restoration``); *Colorize From the Original* forgets the repair. A batch repairs its
photos with the same stages when the tab says so (``BatchForm.restoration`` -> the batch's
``Repair``, as ``colorize --restore`` makes it).

The toolbar's compare choice shows Original | Colorized (the view's own pair), Original | Restored
or Restored | Colorized. Detection and repair run on the inference thread (``RestorationWorker``,
one job at a time, behind any colorizing in progress) with progress and Cancel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal

from engine.cancel import CancelToken
from engine.paths import cache_dir
from gui.models.batch_form import BatchForm
from gui.models.damage_mask import DamageMaskEdits
from gui.models.photo_session import WAITING, PhotoStatus
from gui.models.restoration_choice import (
    DETECT,
    RESTORE,
    AppliedRestoration,
    DamageFound,
    PhotoRestored,
    RestorationFailure,
    RestorationJob,
    RestorationProgress,
)
from gui.models.result_cache import ResultCache
from gui.restoration.compare_choice import (
    COLORIZED,
    ORIGINAL,
    ORIGINAL_COLORIZED,
    ORIGINAL_RESTORED,
    RESTORED,
    ComparePairBox,
)
from gui.restoration.mask_overlay import MaskOverlay
from gui.restoration.panel import RestorationPanel
from gui.widgets.compare_view import AFTER_LABEL, BEFORE_LABEL
from gui.widgets.qt_images import to_pixmap
from gui.workers.restoration_worker import RestorationWorker

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTabWidget, QWidget

    from gui.main_window import MainWindow

log = logging.getLogger(__name__)

MASK_MAX_SIDE = 2048  # the overlay's mask image: a display copy's worth of pixels
STAGE_WORDS = {"": "Reading the photo", "scratches": "Finding and filling damage", "grain": "Smoothing grain"}
STAGE_WORDS["fading"] = "Correcting fading"


@dataclass
class _PhotoRestoration:
    """What the Restore tab keeps of one photo."""

    edits: DamageMaskEdits | None = None
    restored: np.ndarray | None = None  # (h, w, 3) uint8 display copy of the restored photo
    applied: AppliedRestoration | None = None


class RestorationMode(QObject):
    """The restoration parts of one main window (see the module docstring)."""

    _job_requested = Signal(object)  # RestorationJob, to the worker (queued)

    def __init__(self, window: MainWindow, restorer=None) -> None:
        """``restorer``: the ``engine.restoration.pipeline.Restorer`` to use (tests give a tiny one)."""
        super().__init__(window)
        self._window = window
        self._controller = controller = window.controller
        self._view = view = window.compare_view
        self.panel = RestorationPanel()
        self.overlay = MaskOverlay()
        self.overlay.attach(view, view.photo_rects)
        self.compare_box = ComparePairBox()
        self.worker = RestorationWorker(restorer)
        self.worker.lane = getattr(controller, "lane", None)  # the app's device lane, where there is one
        self.worker.moveToThread(controller.thread)
        controller.thread.finished.connect(self.worker.deleteLater)
        self._folder = cache_dir() / "gui-restored"  # restored lumas, deleted on quit (and a day after a crash)
        controller.tasks.submit(ResultCache(self._folder).clear_stale, on_done=lambda _none: None)
        self._photos: dict[Path, _PhotoRestoration] = {}
        self._shown: tuple[Path, np.ndarray, np.ndarray | None, tuple[int, int]] | None = None  # original, colour
        self._tabs: QTabWidget | None = None
        self._tab: QWidget | None = None
        self._editing = False
        self._serial = 0
        self._running: RestorationJob | None = None
        self._redo_waiting: set[Path] = set()
        # Photos colorized again after a repair (or its undoing), with what the panel says when
        # that colour arrives: "colorizing it again…" must not stay on after it is done.
        self._recolorizing: dict[Path, str] = {}
        self._closed = False

        queued = Qt.ConnectionType.QueuedConnection
        self._job_requested.connect(self.worker.run, queued)
        self.worker.progressed.connect(self._on_worker_progressed, queued)
        self.worker.damage_found.connect(self._on_worker_damage_found, queued)
        self.worker.photo_restored.connect(self._on_worker_photo_restored, queued)
        self.worker.failed.connect(self._on_worker_failed, queued)
        self.worker.cancelled.connect(self._on_worker_cancelled, queued)
        panel = self.panel
        panel.find_requested.connect(self.find_damage)
        panel.apply_requested.connect(self.apply)
        panel.cancel_requested.connect(self.cancel)
        panel.revert_requested.connect(self.revert)
        panel.brush_changed.connect(self.overlay.set_brush)
        panel.undo_requested.connect(self.undo)
        panel.redo_requested.connect(self.redo)
        panel.clear_requested.connect(self.clear_mask)
        self.overlay.set_brush(*panel.brush())
        settings = getattr(controller, "settings", None)
        if settings is not None:  # the tab opens as the user left it
            panel.set_choice(settings.restoration_choice())
            panel.batch_box.setChecked(settings.restoration_in_batches())
            panel.choice_changed.connect(settings.set_restoration_choice)
            panel.batch_toggled.connect(settings.set_restoration_in_batches)
        self.overlay.stroke_finished.connect(self._on_overlay_stroke_finished)
        self.overlay.undo_requested.connect(self.undo)
        self.overlay.redo_requested.connect(self.redo)
        self.compare_box.pair_chosen.connect(self._on_compare_box_pair_chosen)
        controller.preview_ready.connect(self._on_controller_preview_ready)
        controller.photos_removed.connect(self._on_controller_photos_removed)
        controller.photo_status_changed.connect(self._on_controller_photo_status_changed)
        window.photo_list.current_photo_changed.connect(self._on_photo_list_current_photo_changed)
        window.hints.mode_changed.connect(self._on_hints_mode_changed)

    # -- placing in the window ----------------------------------------------------------------------
    def follow_tab(self, tabs: QTabWidget, tab: QWidget) -> None:
        """Paint on the mask while ``tab`` (the Restore tab of ``tabs``) is the one on show."""
        self._tabs, self._tab = tabs, tab
        tabs.currentChanged.connect(self._on_tabs_current_changed)

    def _on_tabs_current_changed(self, index: int) -> None:
        if not self._closed and self._tabs is not None:
            self.set_editing(self._tabs.widget(index) is self._tab)

    def batch_form(self, form: BatchForm) -> BatchForm:
        """``form`` with the Restore tab's stages when it says the batch repairs its photos too."""
        choice = self.panel.choice()
        return replace(form, restoration=choice if self.panel.batch_restores() and not choice.is_empty else None)

    # -- the mask -----------------------------------------------------------------------------------
    def set_editing(self, on: bool) -> None:
        """The mask is shown over the view and the left button paints it (the Restore tab is on show)."""
        if on and self._window.hints.is_on():
            self._window.hints.set_on(False)  # both tools take the left button: one at a time
        self._editing = on
        self.overlay.set_active(on and self._shown is not None)
        self._show_mask()

    def edits(self, path: Path | None = None) -> DamageMaskEdits | None:
        """The damage mask of ``path`` (default: the photo on show), None when it has none yet."""
        path = path or self._current()
        state = self._photos.get(path) if path is not None else None
        return state.edits if state is not None else None

    def _edits_for_current(self) -> DamageMaskEdits | None:
        if self._shown is None:
            return None
        state = self._state(self._shown[0])
        if state.edits is None:
            state.edits = DamageMaskEdits(self._shown[3])
        return state.edits

    def _on_overlay_stroke_finished(self, points: list, erase: bool) -> None:
        edits = self._edits_for_current()
        if edits is not None and edits.paint(points, self.panel.brush()[0], erase):
            self._show_mask()

    def undo(self) -> None:
        edits = self.edits()
        if edits is not None and edits.undo():
            self._show_mask()

    def redo(self) -> None:
        edits = self.edits()
        if edits is not None and edits.redo():
            self._show_mask()

    def clear_mask(self) -> None:
        edits = self.edits()
        if edits is not None and edits.clear():
            self._show_mask()

    def _show_mask(self) -> None:
        edits = self.edits()
        width = self._shown[3][0] if self._shown is not None else 1
        self.overlay.set_mask(edits.overlay(MASK_MAX_SIDE) if edits is not None and self._editing else None, width)
        if edits is None:
            self.panel.set_mask_state(False, False, None)
        else:
            self.panel.set_mask_state(edits.can_undo(), edits.can_redo(), edits.share())

    # -- jobs ---------------------------------------------------------------------------------------
    def find_damage(self) -> None:
        """Run the detector on the photo on show (its mask replaces the one being edited)."""
        self._start(DETECT)

    def apply(self) -> None:
        """Repair the photo on show with the chosen stages (filling the edited mask), then colorize it again."""
        self._start(RESTORE)

    def cancel(self) -> None:
        if self._running is not None:
            self._running.cancel.cancel()
            self.panel.set_status("Cancelling…")

    def _start(self, kind: str) -> None:
        path = self._current()
        if path is None or self._closed or self._shown is None:
            return
        choice = self.panel.choice()
        if self._running is not None:
            self._running.cancel.cancel()  # the newest wish wins
        edits = self.edits(path)
        mask = edits.mask.copy() if kind == RESTORE and edits is not None and "scratches" in choice.stages else None
        self._serial += 1
        output = self._folder / self._controller.results.path_for(path).name if kind == RESTORE else None
        job = RestorationJob(kind, path, choice, CancelToken(), self._serial, mask, output)
        self._running = job
        words = "Finding damage" if kind == DETECT else f"Repairing ({choice.describe()})"
        self.panel.set_busy(True, f"{words}… (waits while photos are being colorized)")
        self._job_requested.emit(job)

    def _is_current_job(self, serial: int) -> bool:
        return not self._closed and self._running is not None and self._running.serial == serial

    def _finish_job(self, text: str) -> None:
        self._running = None
        self.panel.set_busy(False, text)

    def _on_worker_progressed(self, progress: RestorationProgress) -> None:
        if self._is_current_job(progress.serial):
            words = STAGE_WORDS.get(progress.stage, progress.stage)
            self.panel.set_progress(progress.fraction, f"{words}… {progress.fraction * 100:.0f} %")

    def _on_worker_damage_found(self, found: DamageFound) -> None:
        if not self._is_current_job(found.serial):
            return
        state = self._state(found.source)
        height, width = found.mask.shape
        if state.edits is None or state.edits.size != (width, height):
            state.edits = DamageMaskEdits((width, height))
        state.edits.set_found(found.mask)
        share = state.edits.share()
        self._finish_job(
            f"Damage found on {share * 100:.2f} % of the photo: paint or erase, then Apply."
            if share
            else "No damage found. Paint any the detector missed, then Apply."
        )
        if found.source == self._current():
            self._show_mask()

    def _on_worker_photo_restored(self, restored: PhotoRestored) -> None:
        if not self._is_current_job(restored.serial):
            return
        state = self._state(restored.source)
        state.restored, state.applied = restored.display, restored.applied
        if restored.mask is not None and state.edits is None:  # what the detector filled, to edit next time
            height, width = restored.mask.shape
            state.edits = DamageMaskEdits((width, height))
            state.edits.set_found(restored.mask)
        self._finish_job(f"Repaired in {restored.seconds:.1f} s; colorizing it again from the repair…")
        entry = self._controller.session.get(restored.source)
        if entry is not None:
            entry.restoration = restored.applied
            done = f"Repaired in {restored.seconds:.1f} s and colorized again from the repair."
            self._colorize_again(restored.source, done)
        if restored.source == self._current():
            self._update_photo_state()
            self.compare_box.set_pair(ORIGINAL_RESTORED)
            self._show_pair()
            self._show_mask()

    def _on_worker_failed(self, failure: RestorationFailure) -> None:
        if self._is_current_job(failure.serial):
            self._finish_job(f"Could not repair {failure.source.name}: {failure.message}")
            self._window.show_message(f"Restoration failed: {failure.message}")

    def _on_worker_cancelled(self, cancelled: RestorationProgress) -> None:
        if self._is_current_job(cancelled.serial):
            self._finish_job("Cancelled.")

    def revert(self) -> None:
        """Forget the repair of the photo on show and colorize its original again."""
        path = self._current()
        state = self._photos.get(path) if path is not None else None
        if state is None or state.applied is None:
            return
        self._forget_repair(path, state)
        self.panel.set_status("Colorizing the original again…")
        self._colorize_again(path, "Colorized from the original again.")
        self._update_photo_state()
        self._show_pair()

    def _forget_repair(self, path: Path, state: _PhotoRestoration) -> None:
        entry = self._controller.session.get(path)
        if entry is not None:
            entry.restoration = None
        if state.applied is not None:
            state.applied.luma_path.unlink(missing_ok=True)
        state.applied = state.restored = None

    def _colorize_again(self, path: Path, done_text: str) -> None:
        entry = self._controller.session.get(path)
        if entry is None:
            return
        self._recolorizing[path] = done_text
        if entry.status in WAITING:  # its job was made before the repair: once more when it is done
            self._redo_waiting.add(path)
        else:
            self._controller.redo(path)

    # -- the photo on show ----------------------------------------------------------------------------
    def _current(self) -> Path | None:
        return self._controller.current()

    def _state(self, path: Path) -> _PhotoRestoration:
        return self._photos.setdefault(path, _PhotoRestoration())

    def _on_controller_preview_ready(self, path: Path, before, after, size) -> None:
        if path != self._current():
            return
        if before is None and (self._shown is None or self._shown[0] != path):
            return  # a re-tuned result of a photo whose original the view does not have
        original = before if before is not None else self._shown[1]
        new_photo = self._shown is None or self._shown[0] != path
        self._shown = (path, original, after, tuple(size))
        if new_photo:
            self.overlay.set_active(self._editing)
            self._show_mask()
        self._update_photo_state()
        if self.compare_box.pair() != ORIGINAL_COLORIZED:
            self._show_pair()  # the window showed its own pair: the chosen one again

    def _on_photo_list_current_photo_changed(self, path: Path | None) -> None:
        if self._shown is not None and self._shown[0] != path:
            self._shown = None
            self.overlay.set_active(False)
            self._show_mask()
            self._update_photo_state()

    def _on_controller_photos_removed(self, paths: list[Path]) -> None:
        for path in paths:
            state = self._photos.pop(Path(path), None)
            if state is not None and state.applied is not None:
                state.applied.luma_path.unlink(missing_ok=True)
            self._redo_waiting.discard(Path(path))
            self._recolorizing.pop(Path(path), None)
            if self._running is not None and self._running.source == Path(path):
                self.cancel()

    def _on_controller_photo_status_changed(self, path: Path, status, message: str) -> None:
        if path in self._redo_waiting and status not in WAITING:
            self._redo_waiting.discard(path)
            self._controller.redo(path)
            return  # that was the job made before the repair; the redo's outcome comes next
        if path in self._recolorizing and status not in WAITING:
            done_text = self._recolorizing.pop(path)
            if path == self._current() and self._running is None:
                if status == PhotoStatus.DONE:
                    self.panel.set_status(done_text)
                else:
                    self.panel.set_status(f"Could not colorize it again: {message or status.value}")

    def _on_hints_mode_changed(self, on: bool) -> None:
        if on:
            self.compare_box.set_pair(ORIGINAL_COLORIZED)  # the hint preview is the result on show
            if self._editing:
                self._editing = False
                self.overlay.set_active(False)

    def _update_photo_state(self) -> None:
        path = self._current()
        state = self._photos.get(path) if path is not None else None
        restored = state is not None and state.restored is not None
        self.panel.set_photo_state(self._shown is not None, state is not None and state.applied is not None)
        self.compare_box.set_restored_available(restored)

    # -- the compared pair ----------------------------------------------------------------------------
    def _on_compare_box_pair_chosen(self, pair: tuple[str, str]) -> None:
        self._show_pair()

    def _show_pair(self) -> None:
        """Give the view the two images of the chosen pair (Original | Colorized: the view's own)."""
        if self._shown is None or not self._view.has_photo():
            return
        path, original, colorized, _ = self._shown
        state = self._photos.get(path)
        images = {ORIGINAL: original, COLORIZED: colorized, RESTORED: state.restored if state is not None else None}
        pair = self.compare_box.pair()
        if pair == ORIGINAL_COLORIZED:
            self._view.set_images(to_pixmap(original), to_pixmap(colorized), (BEFORE_LABEL, AFTER_LABEL))
        else:
            self._view.set_images(to_pixmap(images[pair[0]]), to_pixmap(images[pair[1]]), pair, detail=False)

    # -- life cycle -----------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """On quit (before the controller stops the thread): the running job stops within a tile;
        the restored lumas of this session are deleted. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._running is not None:
            self._running.cancel.cancel()
        # The window's parts are torn down after this (tabs, list and view may still emit): no more reports.
        controller, window = self._controller, self._window
        for signal, slot in (
            (controller.preview_ready, self._on_controller_preview_ready),
            (controller.photos_removed, self._on_controller_photos_removed),
            (controller.photo_status_changed, self._on_controller_photo_status_changed),
            (window.photo_list.current_photo_changed, self._on_photo_list_current_photo_changed),
            (window.hints.mode_changed, self._on_hints_mode_changed),
            *([(self._tabs.currentChanged, self._on_tabs_current_changed)] if self._tabs is not None else []),
        ):
            signal.disconnect(slot)
        for state in self._photos.values():
            if state.applied is not None:
                state.applied.luma_path.unlink(missing_ok=True)
