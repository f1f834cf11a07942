"""The GUI's handle on the hint preview: say what to show, get frames back; never waits.

Every method only writes the newest wish into the worker's mailbox and, if the worker is asleep,
wakes it with one queued signal (``gui.hints.preview_worker`` explains the coalescing). Frames of a
photo no longer on show are dropped here, so a late one never replaces the new photo's.

The worker needs a thread of its own or the app's inference thread. Sharing the inference thread
is the right choice in the app: the loaded ``Colorizer`` is not thread-safe and the device runs one
job at a time (a batch in progress delays the preview until it is done); give the thread in
``__init__`` and hand the colorizer over with ``set_colorizer`` once it is loaded. Without a
thread, this object starts (and on ``shutdown`` stops) its own.
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal

from engine.batch.settings import ColorizeSettings
from engine.hints.schema import PhotoHints
from gui.hints.preview_worker import HintPreviewWorker, PreviewFrame, PreviewMailbox, PreviewPhoto, SpotSuggestions

log = logging.getLogger(__name__)


class HintPreview(QObject):
    """Previews of the photo on show with its hints, rendered off the GUI thread."""

    frame_ready = Signal(object)  # PreviewFrame of the photo on show: .rgb (h, w, 3) uint8
    suggestions_ready = Signal(object)  # SpotSuggestions for the photo on show
    preview_failed = Signal(str)  # why, for people
    _wake_requested = Signal()

    def __init__(self, thread: QThread | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mailbox = PreviewMailbox()
        self.worker = HintPreviewWorker(self._mailbox)
        self._owns_thread = thread is None
        self._thread = thread if thread is not None else QThread()
        if self._owns_thread:
            self._thread.setObjectName("revive-hint-preview")
        self.worker.moveToThread(self._thread)
        self._thread.finished.connect(self.worker.deleteLater)
        queued = Qt.ConnectionType.QueuedConnection
        self._wake_requested.connect(self.worker.wake, queued)
        self.worker.frame_ready.connect(self._on_worker_frame_ready, queued)
        self.worker.suggestions_ready.connect(self._on_worker_suggestions_ready, queued)
        self.worker.preview_failed.connect(self.preview_failed, queued)
        self._token = 0
        self._spot_serial = 0
        self._closed = False
        if self._owns_thread:
            self._thread.start()

    # -- what to show -----------------------------------------------------------------------------
    def set_colorizer(self, colorizer) -> None:
        """Use this loaded ``engine.models.colorizer.Colorizer`` (None: none). It is handed over: only the
        worker's thread calls it from now on, so pass one created on that thread or not used
        elsewhere any more (the inference worker's own, when the thread is shared)."""
        self._post(colorizer=colorizer)

    def show_photo(
        self, image: np.ndarray, hints: PhotoHints | None = None, settings: ColorizeSettings | None = None
    ) -> int:
        """Preview a new photo: its display copy ``(h, w, 3)`` or ``(h, w)`` uint8 (not touched
        again by the caller), its hints and settings. Returns the token its frames will carry."""
        self._token += 1
        changes = {"photo": PreviewPhoto(self._token, image), "hints": hints or PhotoHints(), "spot": None}
        if settings is not None:
            changes["settings"] = settings
        self._post(**changes)
        return self._token

    def set_hints(self, hints: PhotoHints) -> None:
        """The hints changed (connect ``HintEditor.hints_edited`` here)."""
        self._post(hints=hints)

    def set_settings(self, settings: ColorizeSettings) -> None:
        """Render size, saturation or boldness changed; only a new render size runs the network."""
        self._post(settings=settings)

    def request_suggestions(self, x: float, y: float) -> None:
        """Ask for the model's likely colours at (x, y) (connect ``HintEditor.mark_selected`` here)."""
        self._spot_serial += 1
        self._post(spot=(self._spot_serial, float(x), float(y)))

    def clear(self) -> None:
        """Nothing on show: the worker lets go of the photo."""
        self._token += 1
        self._post(photo=None, spot=None)

    def token(self) -> int:
        """The token of the photo on show."""
        return self._token

    def forward_runs(self) -> int:
        """How often the network has run for the preview (a plain counter; for tests and logs)."""
        return self.worker.forward_runs

    def _post(self, **changes) -> None:
        if self._closed:
            return
        if self._mailbox.post(**changes):
            self._wake_requested.emit()

    # -- life cycle -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Let go of the photo and the colorizer; stop and wait for the own thread. Idempotent."""
        if self._closed:
            return
        self._mailbox.post(colorizer=None, photo=None, spot=None)
        self._wake_requested.emit()  # the worker drops its references on the thread that uses them
        self._closed = True
        if self._owns_thread:
            self._thread.quit()
            self._thread.wait()

    # -- worker reports ---------------------------------------------------------------------------
    def _on_worker_frame_ready(self, frame: PreviewFrame) -> None:
        if frame.token == self._token and not self._closed:
            self.frame_ready.emit(frame)

    def _on_worker_suggestions_ready(self, suggestions: SpotSuggestions) -> None:
        if suggestions.token == self._token and not self._closed:
            self.suggestions_ready.emit(suggestions)
