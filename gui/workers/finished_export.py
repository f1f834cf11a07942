"""Exports finished by added models (an upscaler, a face model), for the inference thread. No Qt.

An export of the review normally writes the cached result as it is, on the background pool (a
copy with metadata: milliseconds). With the Adjust tab's *Upscale* or *Faces* chosen it runs
those models first, as ``colorize --upscale/--faces`` finish a batch: that is seconds to minutes
of device work, so it takes the device lane on the inference thread, reports progress per
upscaler tile and stops at the next tile when cancelled (nothing half-written: files are atomic).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.cancel import CancelToken
from engine.external.finishing import Finished, Finishing
from engine.imaging import PhotoMetadata
from gui.models.jobs import EXPORT_FACES as FACES
from gui.models.jobs import EXPORT_LOADING as LOADING
from gui.models.jobs import EXPORT_UPSCALING as UPSCALING
from gui.models.jobs import ExportProgress, ExportRequest
from gui.workers.display_images import export_result
from gui.workers.list_export import FolderExport, export_to_folder


class _Finisher:
    """The ``finish`` of ``export_result``/``export_to_folder``: runs ``finishing`` on each photo
    with ``cancel``, telling ``report`` which photo and tile it is at."""

    def __init__(
        self, finishing: Finishing, cancel: CancelToken, count: int, report: Callable[[ExportProgress], None]
    ) -> None:
        self.finishing, self.cancel, self.count, self.report = finishing, cancel, count, report
        self.index, self.photo = 0, Path()

    def started(self, index: int, photo: Path) -> None:
        self.index, self.photo = index, photo

    def __call__(self, rgb: np.ndarray, alpha: np.ndarray | None, metadata: PhotoMetadata) -> Finished:
        self.cancel.raise_if_cancelled()
        rgb = np.array(rgb)  # the cache is memory-mapped read-only; torch wants its own copy anyway
        stage = UPSCALING if self.finishing.upscaler is not None else FACES
        self.report(ExportProgress(self.photo, self.index, self.count, stage))

        def tiles(done: int, total: int) -> None:
            self.report(ExportProgress(self.photo, self.index, self.count, UPSCALING, done, total))
            if done == total and self.finishing.faces is not None:
                self.report(ExportProgress(self.photo, self.index, self.count, FACES, done, total))

        return self.finishing.apply(rgb, alpha, metadata, self.cancel, tiles)


def run_finished_export(
    request: ExportRequest, device: str, report: Callable[[ExportProgress], None]
) -> Path | FolderExport:
    """Load the request's models on ``device`` and export: the file written (``target``), or what
    a folder export did. Raises Cancelled for a cancelled export to a file (nothing written); a
    cancelled folder export keeps the photos written so far (``FolderExport.cancelled``)."""
    first = request.results[0][0]
    report(ExportProgress(first, 0, len(request.results), LOADING))
    finishing = Finishing.load(request.upscale, request.faces, device)
    finisher = _Finisher(finishing, request.cancel, len(request.results), report)
    if request.target is not None:
        finisher.started(0, first)
        return export_result(first, request.results[0][1], request.target, request.quality, finisher)
    assert request.folder is not None
    request.cancel.raise_if_cancelled()
    return export_to_folder(
        request.results, request.folder, request.format, request.quality, finisher, started=finisher.started
    )
