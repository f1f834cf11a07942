"""Exporting several reviewed photos into one folder: named and protected as a batch is. No Qt.

The output names come from the batch planner (``engine.batch.plan.plan_batch``: the photo's stem,
``-2``, ``-3``... for clashes, never a file Revive did not write), and each file is written as the
batch runner writes one: with the original's metadata, replacing only a file the folder's ledger
proves is Revive's own from the same photo, then recorded in that ledger. What is written is the
result the user reviewed (from the result cache), not a new model run; with ``finish`` (an
upscaler, a face model: the inference thread's exports) that result is finished first, and a cancel
stops before the next photo (the photos written so far stay, as a batch's do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.batch.ledger import OutputLedger
from engine.batch.plan import BatchOptions, plan_batch, prepare_output_folder
from engine.errors import Cancelled, OutputError, ReviveError, describe_error
from engine.imaging import read_photo, write_photo
from gui.workers.display_images import load_cached

if TYPE_CHECKING:
    from gui.workers.display_images import Finish

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FolderExport:
    """What an export to a folder did."""

    folder: Path
    written: tuple[Path, ...]
    notes: tuple[str, ...]  # renamed outputs, as the batch planner says them
    failed: tuple[tuple[Path, str], ...]
    cancelled: bool = False  # stopped before the last photo (with ``finish`` only)

    def summary(self) -> str:
        """'Exported 3 photos to /out (1 renamed: …); 1 failed: …' for the status bar and a dialog."""
        count = len(self.written)
        text = f"Exported {count} photo{'s' if count != 1 else ''} to {self.folder}"
        if self.notes:
            text += f" ({len(self.notes)} renamed: {self.notes[0]}{'…' if len(self.notes) > 1 else ''})"
        if self.failed:
            source, message = self.failed[0]
            text += f"; {len(self.failed)} failed ({source.name}: {message})"
        if self.cancelled:
            text += "; cancelled before the rest"
        return text


def export_to_folder(
    results: Sequence[tuple[Path, Path]],
    folder: Path,
    format: str = "same",
    quality: int = 95,
    finish: Finish | None = None,
    started: Callable[[int, Path], None] | None = None,
) -> FolderExport:
    """Write each ``(source, cached result)`` into ``folder``; one failure never stops the rest.
    ``started(index, source)`` is told before each photo (for progress)."""
    folder = Path(folder).expanduser()
    prepare_output_folder(folder)  # a read-only folder is refused once, not per photo
    cached = {Path(source): Path(cache) for source, cache in results}
    options = BatchOptions(output_dir=folder, format=format, quality=quality, recursive=False)
    plan = plan_batch(list(cached), options)
    ledger = OutputLedger.load(folder)
    forbidden = tuple(cached)
    written: list[Path] = []
    failed: list[tuple[Path, str]] = list(plan.problems)
    cancelled = False
    for index, job in enumerate(plan.jobs):
        if started is not None:
            started(index, job.source)
        try:
            photo = read_photo(job.source)
            rgb, alpha, metadata = np.asarray(load_cached(cached[job.source])), photo.alpha, photo.metadata
            if finish is not None:
                finished = finish(rgb, alpha, metadata)
                rgb, alpha, metadata = finished.rgb, finished.alpha, finished.metadata
            replace = job.existing and ledger.owns(job.output, job.source)  # checked again: it may have changed
            write_photo(job.output, rgb, metadata, alpha=alpha, quality=quality, forbidden=forbidden, replace=replace)
            ledger.record(job.output, job.source)
            written.append(job.output)
        except Cancelled:
            cancelled = True
            break
        except (ReviveError, OSError, ValueError) as error:
            failed.append((job.source, describe_error(error)))
    try:
        ledger.compact()
    except OutputError as error:  # only tidying: the ledger as appended is complete
        log.warning("could not tidy the output ledger of %s: %s", folder, error)
    return FolderExport(folder, tuple(written), plan.notes, tuple(failed), cancelled)
