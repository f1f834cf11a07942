"""Full-resolution results kept on disk for export, within a byte budget. Plain Python, no Qt.

A finished photo's result is an ``.npy`` file (exact, any bit depth, fast to write and read back).
When the files pass the budget, the oldest results are deleted first, except the one on show; a
photo whose result was dropped is colorized again before it can be exported.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_BUDGET_BYTES = 4 * 1024**3
STALE_AFTER_S = 24 * 3600


class ResultCache:
    def __init__(self, folder: Path, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.folder = Path(folder)
        self.budget_bytes = budget_bytes
        self._sizes: OrderedDict[Path, int] = OrderedDict()  # source -> bytes, oldest first
        self._files: dict[Path, Path] = {}

    def path_for(self, source: Path) -> Path:
        """Where the result of ``source`` goes (one file per source path)."""
        digest = hashlib.sha1(str(Path(source).resolve()).encode("utf-8")).hexdigest()[:16]
        return self.folder / f"{Path(source).stem[:40]}-{digest}.npy"

    def add(self, source: Path, path: Path, keep: Path | None = None) -> list[Path]:
        """Count a new result; delete the oldest ones over budget (never ``keep`` or ``source``).
        Returns the sources whose results were dropped."""
        try:
            self._sizes[source] = path.stat().st_size
        except OSError as error:
            log.warning("cached result %s is missing: %s", path, error)
            return []
        self._files[source] = path
        self._sizes.move_to_end(source)
        dropped = []
        candidates = [s for s in self._sizes if s not in (source, keep)]
        total = sum(self._sizes.values())
        for oldest in candidates:
            if total <= self.budget_bytes:
                break
            total -= self._sizes.pop(oldest)
            self._files.pop(oldest).unlink(missing_ok=True)
            dropped.append(oldest)
        return dropped

    def discard(self, source: Path) -> None:
        """Delete the result of ``source`` (the photo left the list)."""
        self._sizes.pop(source, None)
        path = self._files.pop(source, None) or self.path_for(source)
        path.unlink(missing_ok=True)

    def discard_all(self) -> None:
        """Delete every result of this session (on quit)."""
        for path in self._files.values():
            path.unlink(missing_ok=True)
        self._files.clear()
        self._sizes.clear()

    def clear_stale(self, max_age_s: float = STALE_AFTER_S) -> None:
        """Delete results left by sessions that ended without cleaning up (a crash)."""
        if not self.folder.is_dir():
            return
        limit = time.time() - max_age_s
        for path in self.folder.glob("*.npy"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except OSError as error:
                log.debug("could not clear %s: %s", path, error)
