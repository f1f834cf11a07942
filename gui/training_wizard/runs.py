"""Training runs on disk: what each one is, how far it got, how much space it takes; deleting one.

A run folder (``<user data>/runs/NAME``, ``training.cyclegan.trainer``) holds a resumable state of
about 100 MB, its configuration, previews and the last losses. Plain Python, no Qt and no torch:
the step comes from ``metrics.json``, never from the state file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.errors import ReviveError
from training.cyclegan.config import CONFIG_FILE, METRICS_FILE, STATE_FILE, load_run_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfo:
    path: Path
    size_bytes: int
    modified: datetime
    step: int | None  # the last saved step (None: unknown)
    steps: int | None  # the steps the run was set up for
    resumable: bool  # a saved state and steps still to go

    @property
    def name(self) -> str:
        return self.path.name

    def progress_text(self) -> str:
        if self.step is None or self.steps is None:
            return "not started" if not self.resumable else "saved"
        if self.step >= self.steps:
            return f"finished ({self.steps} steps)"
        return f"stopped at step {self.step} of {self.steps}"


def folder_size(folder: Path) -> int:
    """Bytes of the regular files under ``folder`` (links are not followed)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            total += info.st_size
    return total


def describe_size(size: int) -> str:
    """'98 MB', '1.2 GB', '640 KB'."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{size} bytes"


def _saved_step(run: Path) -> int | None:
    try:
        data = json.loads((run / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    step = data.get("step") if isinstance(data, dict) else None
    return step if isinstance(step, int) and not isinstance(step, bool) and step >= 0 else None


def run_info(run: Path) -> RunInfo:
    steps = None
    with contextlib.suppress(ReviveError):  # an unreadable config: listed (and deletable), not resumable
        steps = load_run_config(run).steps
    step = _saved_step(run)
    has_state = (run / STATE_FILE).is_file()
    resumable = has_state and steps is not None and (step is None or step < steps)
    modified = datetime.fromtimestamp(max((p.stat().st_mtime for p in run.iterdir()), default=run.stat().st_mtime))
    return RunInfo(run, folder_size(run), modified, step, steps, resumable)


def list_runs(runs: Path) -> list[RunInfo]:
    """The training runs under ``runs`` (folders with a ``config.json``), newest first."""
    if not runs.is_dir():
        return []
    found = []
    for folder in runs.iterdir():
        if folder.is_dir() and not folder.is_symlink() and (folder / CONFIG_FILE).is_file():
            try:
                found.append(run_info(folder))
            except OSError as error:
                log.warning("cannot look at the run %s: %s", folder, error)
    return sorted(found, key=lambda info: info.modified, reverse=True)


def delete_run(run: Path, runs: Path) -> None:
    """Delete one run folder; only a real run folder directly under ``runs`` (ReviveError else)."""
    run, runs = Path(run), Path(runs)
    if run.is_symlink() or run.parent.resolve() != runs.resolve() or not (run / CONFIG_FILE).is_file():
        raise ReviveError(f"{run} is not a training run of Revive's: nothing was deleted")
    try:
        shutil.rmtree(run)
    except OSError as error:
        raise ReviveError(f"could not delete {run.name}: {error.strerror or error}") from None
