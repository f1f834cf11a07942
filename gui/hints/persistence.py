"""Each photo's hints kept in the user data folder (``engine.hints.store``), read and written off the
GUI thread: the key is a hash of the photo's bytes, tens of milliseconds for a large scan.

Loading a photo's hints gives ``hints_loaded(path, hints)`` (empty hints when none were saved).
Saving waits a moment (``save_later``) so a drag or a slider move writes once, not at every step;
``flush`` writes what waits at once (before another photo is shown), ``shutdown`` flushes and
waits for the writes (on quit). All file work runs on one background thread of its own, in
order, so an older save can never land after a newer one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from engine.hints.schema import PhotoHints
from engine.hints.store import HintStore, photo_key
from gui.workers.background_tasks import BackgroundTasks

log = logging.getLogger(__name__)

SAVE_DELAY_MS = 400


def load_hints(store: HintStore, path: Path) -> tuple[Path, str, PhotoHints]:
    """(path, its content key, its saved hints or empty ones). OSError when the photo cannot be read;
    a damaged hint file reads as none (the store logs why)."""
    key = photo_key(path)
    return path, key, store.load(key) or PhotoHints()


def save_hints(store: HintStore, path: Path, key: str | None, hints: PhotoHints) -> tuple[Path, str]:
    """Save (empty hints: forget) the hints of ``path``, hashing it when its key is not known yet."""
    key = key or photo_key(path)
    store.save(key, hints)
    return path, key


class HintPersistence(QObject):
    """Loads and saves photos' hints in the background (see the module docstring)."""

    hints_loaded = Signal(object, object)  # Path, PhotoHints
    load_failed = Signal(object, str)  # Path, why
    save_failed = Signal(str)  # why, for people

    def __init__(self, store: HintStore | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store if store is not None else HintStore()
        self._tasks = BackgroundTasks(self, max_threads=1)  # one thread: the writes keep their order
        self._keys: dict[Path, str] = {}  # content keys already computed this session
        self._pending: dict[Path, PhotoHints] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SAVE_DELAY_MS)
        self._timer.timeout.connect(self.flush)
        self._closed = False

    def load(self, path: Path) -> None:
        """Read the saved hints of ``path`` (``hints_loaded`` or ``load_failed``)."""
        if self._closed:
            return
        path = Path(path)
        self._tasks.submit(
            load_hints,
            self.store,
            path,
            on_done=self._on_tasks_loaded,
            on_failed=lambda message: self.load_failed.emit(path, message),
        )

    def save_later(self, path: Path, hints: PhotoHints) -> None:
        """Save ``hints`` as the hints of ``path`` soon; a newer call for the same photo replaces it."""
        if self._closed:
            return
        self._pending[Path(path)] = hints
        self._timer.start()

    def flush(self) -> None:
        """Write every save that waits, now (in the background)."""
        self._timer.stop()
        pending, self._pending = self._pending, {}
        for path, hints in pending.items():
            self._tasks.submit(
                save_hints,
                self.store,
                path,
                self._keys.get(path),
                hints,
                on_done=self._on_tasks_saved,
                on_failed=self._on_tasks_save_failed,
            )

    def pending(self) -> bool:
        """True while a save waits or a file task runs."""
        return bool(self._pending) or self._tasks.active() > 0

    def wait(self, msecs: int = -1) -> bool:
        """Block until the file tasks are done (tests; the app uses ``shutdown``)."""
        return self._tasks.wait(msecs)

    def shutdown(self) -> None:
        """Write what waits, wait for every write; later calls do nothing. Idempotent."""
        if self._closed:
            return
        self.flush()
        self._tasks.wait()
        self._closed = True
        self._tasks.shutdown()

    def _on_tasks_loaded(self, result: tuple[Path, str, PhotoHints]) -> None:
        path, key, hints = result
        self._keys[path] = key
        self.hints_loaded.emit(path, hints)

    def _on_tasks_saved(self, result: tuple[Path, str]) -> None:
        path, key = result
        self._keys[path] = key

    def _on_tasks_save_failed(self, message: str) -> None:
        log.warning("saving hints failed: %s", message)
        self.save_failed.emit(f"The hints could not be saved: {message}")
