"""The hints of the photo on show, end to end: the wiring between the editor, the preview and the
saved hints, in one place the main window can connect to.

``show_photo(path, display_rgb)`` reads the photo's saved hints (by content, off the GUI thread);
until they are in, the editor takes no edits, so nothing the user does is overwritten by them.
Then the preview renders the photo with them, every edit goes to the preview and is saved a moment
later, and selecting a mark asks the model for its likely colours there.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.batch.settings import ColorizeSettings
from engine.hints.schema import PhotoHints
from gui.hints.editor import HintEditor
from gui.hints.persistence import HintPersistence
from gui.hints.preview import HintPreview
from gui.hints.preview_worker import PreviewFrame, SpotSuggestions

log = logging.getLogger(__name__)


class HintSession(QObject):
    """Connects a ``HintEditor``, a ``HintPreview`` and a ``HintPersistence`` for the photo on show."""

    hints_ready = Signal(object, object)  # Path, PhotoHints: the photo's saved hints are in the editor
    preview_ready = Signal(object, object)  # Path, (h, w, 3) uint8: the photo on show with its hints
    suggestions_ready = Signal(list)  # ["#rrggbb"] likely at the selected spot (for HintPanel.set_suggestions)
    problem = Signal(str)  # a preview or a file problem, for people

    def __init__(
        self, editor: HintEditor, preview: HintPreview, persistence: HintPersistence, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.editor, self.preview, self.persistence = editor, preview, persistence
        self._path: Path | None = None
        self._image: np.ndarray | None = None  # the display copy, until the hints are in
        self._settings: ColorizeSettings | None = None
        self._fallback = PhotoHints()  # what the photo's hints start from when none were saved
        editor.hints_edited.connect(self._on_editor_hints_edited)
        editor.mark_selected.connect(self._on_editor_mark_selected)
        persistence.hints_loaded.connect(self._on_persistence_hints_loaded)
        persistence.load_failed.connect(self._on_persistence_load_failed)
        persistence.save_failed.connect(self.problem)
        preview.frame_ready.connect(self._on_preview_frame_ready)
        preview.suggestions_ready.connect(self._on_preview_suggestions_ready)
        preview.preview_failed.connect(self.problem)

    def photo(self) -> Path | None:
        return self._path

    def show_photo(
        self,
        path: Path,
        display_rgb: np.ndarray,
        settings: ColorizeSettings | None = None,
        fallback: PhotoHints | None = None,
    ) -> None:
        """Hint ``path``, whose display copy ``(h, w, 3)`` uint8 the caller no longer touches.
        ``fallback``: the hints to start from when none were saved (a restored colour photo's own
        colours as the reference to match)."""
        self.persistence.flush()  # the last photo's edits are written before anything else happens
        self._path, self._image, self._settings = Path(path), display_rgb, settings
        self._fallback = fallback or PhotoHints()
        self.editor.set_enabled(False)
        self.editor.reset(PhotoHints())
        self.persistence.load(self._path)

    def set_settings(self, settings: ColorizeSettings) -> None:
        """Render size, saturation or boldness changed in the settings panel."""
        self._settings = settings
        self.preview.set_settings(settings)

    def close_photo(self) -> None:
        """Nothing on show (the photo was removed, or hint mode ended)."""
        self.persistence.flush()
        self._path = self._image = None
        self.editor.reset(PhotoHints())
        self.preview.clear()

    # -- reports ----------------------------------------------------------------------------------
    def _on_persistence_hints_loaded(self, path: Path, hints: PhotoHints) -> None:
        if path != self._path:
            return  # the user moved on before this photo's hints were read
        if hints.is_empty:
            hints = self._fallback
        self.editor.reset(hints)
        self.editor.set_enabled(True)
        if self._image is not None:
            self.preview.show_photo(self._image, hints, self._settings)
            self._image = None
        self.hints_ready.emit(path, hints)

    def _on_persistence_load_failed(self, path: Path, message: str) -> None:
        if path == self._path:
            self.problem.emit(f"The saved hints of {path.name} could not be read: {message}")
            self._on_persistence_hints_loaded(path, PhotoHints())

    def _on_editor_hints_edited(self, hints: PhotoHints) -> None:
        if self._path is not None:
            self.preview.set_hints(hints)
            self.persistence.save_later(self._path, hints)

    def _on_editor_mark_selected(self, x: float, y: float) -> None:
        if self._path is not None:
            self.preview.request_suggestions(x, y)

    def _on_preview_frame_ready(self, frame: PreviewFrame) -> None:
        if self._path is not None:
            self.preview_ready.emit(self._path, frame.rgb)

    def _on_preview_suggestions_ready(self, suggestions: SpotSuggestions) -> None:
        self.suggestions_ready.emit(list(suggestions.colours))
