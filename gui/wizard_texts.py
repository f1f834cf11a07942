"""What the training wizard says and suggests: durations, dataset findings, model and run names.

Pure functions (no Qt), tested without a window.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from engine import terminal_progress
from training.dataset_check import DatasetReport

ERROR_COLOUR = "#c62828"  # red: blocks the next step
WARNING_COLOUR = "#b26a00"  # amber: for the user to judge
KIND_LABELS = {"gray": "gray", "tinted": "tinted", "colour": "colour"}

# A countdown that does not flicker between units: 1:05:09, 4:07, 0:12 (as on the command line).
format_eta = terminal_progress.format_duration


def format_duration(seconds: float) -> str:
    """``about 40 s``, ``about 3 min``, ``about 2 h 15 min`` (rounded, for people)."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if minutes else f"about {hours} h"


# What each preset does, without a duration: the wizard measures one on this computer instead.
PRESET_TEXTS = {
    "quick-cpu": "300 steps on 64 px crops with a small F (3 residual blocks): enough to see the model take "
                 "on the look of your photos; good for trying a pair of folders on a laptop.",
    "gpu-fast": "5,000 steps on 128 px crops, 6 residual blocks (the paper's 128 px generator): for a GPU.",
    "gpu-standard": "20,000 steps on 256 px crops, 9 residual blocks: the paper's setting, for a GPU.",
}


def preset_text(preset) -> str:
    """A preset's description for people, without a time claim (the estimate below is measured)."""
    return PRESET_TEXTS.get(preset.name, preset.description)


def _kinds(counts: dict[str, int]) -> str:
    parts = [f"{n} {KIND_LABELS.get(k, k)}" for k, n in counts.items() if n]
    return ", ".join(parts) or "no readable photos"


def findings_html(report: DatasetReport) -> str:
    """The dataset check as rich text: one line per folder, errors in red, warnings in amber."""
    lines = []
    for folder, label in ((report.old, "Old photos"), (report.color, "Colour photos")):
        held = f"; {len(folder.holdout)} kept aside as previews" if folder.holdout else ""
        lines.append(f"<b>{label}:</b> {folder.count} ({html.escape(_kinds(folder.kinds))}){held}")
    for message in report.errors:
        lines.append(f'<span style="color:{ERROR_COLOUR}">✖ {html.escape(_sentence(message))}</span>')
    for message in report.warnings:
        lines.append(f'<span style="color:{WARNING_COLOUR}">⚠ {html.escape(_sentence(message))}</span>')
    if report.ok and not report.warnings:
        lines.append("Both folders look good.")
    return "<br>".join(lines)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def suggest_model_name(base: str, old_folder: Path, taken: set[str] = frozenset()) -> str:
    """``<base>-<old folder>`` made fit for a file name, with ``-2``, ``-3``... when already taken."""
    stem = _slug(f"{base}-{Path(old_folder).name}") or "my-model"
    return unique_name(stem, taken)


def unique_name(stem: str, taken: set[str]) -> str:
    name, number = stem, 2
    while name in taken:
        name, number = f"{stem}-{number}", number + 1
    return name


def unique_run_dir(runs: Path, stem: str) -> Path:
    """A run folder under ``runs`` not used before (a run that exists is never overwritten)."""
    taken = {p.name for p in runs.iterdir()} if runs.is_dir() else set()
    return runs / unique_name(_slug(stem) or "cyclegan", taken)


def _slug(text: str) -> str:
    text = re.sub(r'[/\\:*?"<>|\s]+', "-", text.strip())
    return text.strip("-.")
