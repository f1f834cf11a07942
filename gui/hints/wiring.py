"""Hint mode in the main window: the hint tool's parts (``gui.hint_*``) wired to the before/after
view, the controller and the photo on show.

Turning it on (View > Hint Tool, its toolbar button, or H): the overlay lies over the view and
takes the left button (the middle button and the wheel still pan and zoom), the Hints tab shows,
and the photo on show is previewed with its saved hints (``HintSession``), again for each photo
shown while it is on. The result side then shows the preview, which follows every edit (colour
recomputed at render size on the inference thread, merged at display size); the view's
full-resolution crops of the cached result are off meanwhile, as they lack the newest hints.

When the edits settle (a moment without one), when another photo is shown and when hint mode
ends, the photo's hints go to its list entry (``Controller.set_saved_hints``), so its cached
full-resolution result, Export and the list's colorizing follow them; the batch finds them in the
user data folder by the photos' content (``InferenceWorker.run_batch``).

Colour marks need a model with hint channels: until one is loaded the tool says so; with a
loaded model without them, the Hints tab explains it and keeps its whole-photo adjustments.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from engine.hints.schema import PhotoHints
from gui.hints.editor import HintEditor
from gui.hints.overlay import HintOverlay
from gui.hints.panel import HintPanel
from gui.hints.persistence import HintPersistence
from gui.hints.session import HintSession
from gui.models.jobs import ModelInfo
from gui.models.photo_session import WAITING
from gui.widgets.actions import make_action
from gui.widgets.qt_images import to_pixmap

if TYPE_CHECKING:
    from gui.main_window import MainWindow

log = logging.getLogger(__name__)

SETTLE_MS = 800  # this long without an edit and the full-resolution result follows the hints
HINT_TIP = "Say what colour things were (H)"
NO_MODEL_TIP = "Say what colour things were (H): available once the colorizer has loaded"
NO_MARKS_TIP = (
    "Say what colour things were (H). The model {name} takes no colour marks: choose one that "
    "does (such as revive-base v2); its whole-photo warmth, tint and reference matching still work"
)


class HintMode(QObject):
    """The hint tool of one main window (see the module docstring)."""

    mode_changed = Signal(bool)  # hint mode turned on or off

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._controller = controller = window.controller
        self._view = view = window.compare_view
        self.editor = HintEditor(self)
        self.overlay = HintOverlay(self.editor)
        self.overlay.attach(view, view.photo_rects)
        self.overlay.set_active(False)
        self.panel = HintPanel(self.editor, controller.tasks)
        self.panel.setEnabled(False)  # it edits the photo on show in hint mode only
        self.persistence = HintPersistence(controller.hint_store, self)
        self.session = HintSession(self.editor, controller.hint_preview, self.persistence, self)
        self.action = make_action(window, "&Hint Tool", self._on_action_triggered, ["H"], "hint", HINT_TIP, "Hints")
        self.action.setCheckable(True)
        self._on = False
        self._takes_hints = False
        self._before: tuple[Path, np.ndarray] | None = None  # the display copy of the photo on show
        self._committed: PhotoHints | None = None  # the hints of the photo on show its entry has
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self.commit)
        self._follow_model(controller.model_info())

        controller.preview_ready.connect(self._on_controller_preview_ready)
        controller.photos_removed.connect(self._on_controller_photos_removed)
        controller.model_changed.connect(self._follow_model)
        window.photo_list.current_photo_changed.connect(self._on_photo_list_current_photo_changed)
        view.original_shown.connect(self._on_view_original_shown)
        self.editor.hints_edited.connect(self._on_editor_hints_edited)
        self.editor.edit_refused.connect(window.show_message)
        self.session.hints_ready.connect(self._on_session_hints_ready)
        self.session.preview_ready.connect(self._on_session_preview_ready)
        self.session.suggestions_ready.connect(self.panel.set_suggestions)
        self.session.problem.connect(window.show_message)

    # -- the mode ---------------------------------------------------------------------------------
    def is_on(self) -> bool:
        return self._on

    def shows_preview(self) -> bool:
        """True while the result side of the view belongs to the hint preview."""
        return self._on

    def set_on(self, on: bool) -> None:
        """Hint mode on or off (the action's state follows)."""
        if on and self._controller.model_info() is None:
            on = False  # nothing could preview the hints yet (the action is disabled meanwhile)
        self.action.setChecked(on)
        if on == self._on:
            return
        self._on = on
        self.panel.setEnabled(on)
        if on:
            self._view.set_result_detail(False)
            self.overlay.set_active(self._takes_hints)
            self._show_current()
        else:
            path = self.session.photo()
            self._leave_photo()
            self.overlay.set_active(False)
            self._view.set_result_detail(True)
            self._show_own_result(path)
        self.mode_changed.emit(on)

    def _on_action_triggered(self) -> None:
        self.set_on(self.action.isChecked())

    def _show_current(self) -> None:
        """Preview the photo on show, once its display copy is in."""
        path = self._controller.current()
        if (
            not self._on
            or path is None
            or self._before is None
            or self._before[0] != path
            or path == self.session.photo()
        ):
            return
        self._committed = None
        self.session.show_photo(
            path, self._before[1], self._controller.colorize_settings(), self._controller.default_hints(path)
        )

    def _leave_photo(self) -> None:
        """The photo on show goes: its hints to its entry first."""
        self._settle.stop()
        self.commit()
        if self.session.photo() is not None:
            self.session.close_photo()

    def _show_own_result(self, path: Path | None) -> None:
        """Hint mode ended: the view shows the photo's own result again (a new one is on its way
        when the hints changed it)."""
        entry = self._controller.session.get(path) if path is not None else None
        if entry is None or path != self._controller.current() or entry.saving or entry.status in WAITING:
            return
        self._controller.select(path)  # shows what it has: from memory, or read from the cache

    # -- the hints go to the photo ----------------------------------------------------------------
    def commit(self) -> None:
        """Give the photo on show its edited hints (its result, Export and colorizing follow)."""
        self._settle.stop()
        path = self.session.photo()
        if path is None or not self.editor.enabled:  # its saved hints are still being read
            return
        hints = self.editor.hints
        if hints != self._committed:
            self._committed = hints
            self._controller.set_saved_hints(path, hints)

    def commit_now(self) -> None:
        """Before an export: the edits made a moment ago count."""
        if self._on:
            self.commit()

    def flush_saves(self) -> None:
        """Write every hint edit that waits, and wait for the writes (before a batch reads them;
        a small file each, milliseconds)."""
        self.persistence.flush()
        self.persistence.wait()

    def shutdown(self) -> None:
        """On quit: the waiting saves are written (results are not recomputed)."""
        self._settle.stop()
        self.persistence.shutdown()

    # -- reports ----------------------------------------------------------------------------------
    def _on_controller_preview_ready(self, path: Path, before, after, size) -> None:
        if before is not None:
            self._before = (path, before)
        if self._on and path == self._controller.current() and path != self.session.photo():
            self._leave_photo()
            self._show_current()

    def _on_photo_list_current_photo_changed(self, path: Path | None) -> None:
        if self._on and self.session.photo() is not None and path != self.session.photo():
            self._leave_photo()

    def _on_controller_photos_removed(self, paths: list[Path]) -> None:
        if self.session.photo() in paths:
            self._settle.stop()
            self.session.close_photo()  # its edits are still saved: hints belong to the photo's content

    def _on_session_hints_ready(self, path: Path, hints: PhotoHints) -> None:
        self._committed = hints

    def _on_session_preview_ready(self, path: Path, rgb: np.ndarray) -> None:
        if self._on and path == self._controller.current() and self._view.has_photo():
            self._view.set_after(to_pixmap(rgb))

    def _on_editor_hints_edited(self, hints: PhotoHints) -> None:
        self._settle.start()

    def _on_view_original_shown(self, on: bool) -> None:
        self.overlay.set_marks_visible(not on)

    def _follow_model(self, info: ModelInfo | None) -> None:
        self._takes_hints = info is not None and info.takes_hints
        self.action.setEnabled(info is not None)
        tip = HINT_TIP if self._takes_hints else NO_MODEL_TIP if info is None else NO_MARKS_TIP.format(name=info.name)
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        if info is not None:
            self.panel.set_model_takes_hints(self._takes_hints)
        if self._on:
            self.overlay.set_active(self._takes_hints)

    def settings_changed(self) -> None:
        """Render size, saturation or boldness changed in the Adjust tab: the preview follows."""
        if self._on:
            self.session.set_settings(self._controller.colorize_settings())
