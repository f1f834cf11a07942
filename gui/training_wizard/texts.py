"""What the training wizard says and suggests: durations, dataset findings, model and run names.

Pure functions (no Qt), tested without a window.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from engine.durations import about_duration, format_duration
from training.cyclegan.events import HoldoutScored
from training.cyclegan.scores import cast
from training.data.dataset_check import DatasetReport

ERROR_COLOUR = "#c62828"  # red: blocks the next step
WARNING_COLOUR = "#b26a00"  # amber: for the user to judge
KIND_LABELS = {"gray": "gray", "tinted": "tinted", "colour": "colour"}

# A countdown that does not flicker between units, as on the command line; an estimate for sentences.
format_eta = format_duration
format_estimate = about_duration


# What each preset does, without a duration: the wizard measures one on this computer instead.
PRESET_TEXTS = {
    "quick-cpu": "300 steps on 128 px crops with a small F (3 residual blocks), the colorizer kept close to the "
    "base: a careful first fine-tune on a laptop. It is measured against the base on colour photos "
    "kept aside and offered only if it does better.",
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
    for folder, label, why in (
        (report.old, "Old photos", "as previews"),
        (report.color, "Colour photos", "to measure the model before and after"),
    ):
        held = f"; some kept aside {why}" if folder.holdout else ""
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


# -- the held-out scores: base vs fine-tuned ----------------------------------------------------------
def shown_scores(scores: HoldoutScored) -> tuple[int, dict[str, float]]:
    """(step, summary) of the fine-tune to show: the best step when one beats the base, else the last."""
    if scores.best_step is not None and scores.best is not None:
        return scores.best_step, scores.best
    return scores.step, scores.tuned


def score_table_html(base_name: str, scores: HoldoutScored) -> str:
    """Base vs fine-tuned vs gray copy on the held-out colour photos, as a small rich-text table."""
    step, tuned = shown_scores(scores)
    base = scores.base

    def cells(values: list[str]) -> str:
        return "".join(f'<td align="right">&nbsp;{v}&nbsp;</td>' for v in values)

    rows = [
        ("PSNR (dB, higher is better)", [f"{base['psnr']:.2f}", f"{tuned['psnr']:.2f}", f"{base['gray_psnr']:.2f}"]),
        (
            "CIEDE2000 (lower is better)",
            [f"{base['ciede2000']:.2f}", f"{tuned['ciede2000']:.2f}", f"{base['gray_ciede2000']:.2f}"],
        ),
        (
            "Colour cast a* / b* (0 is none)",
            [
                f"{base['mean_a_error']:+.1f} / {base['mean_b_error']:+.1f}",
                f"{tuned['mean_a_error']:+.1f} / {tuned['mean_b_error']:+.1f}",
                "—",
            ],
        ),
        ("Better than a gray copy", [f"{base['better_than_gray']:.0%}", f"{tuned['better_than_gray']:.0%}", "—"]),
    ]
    head = cells([f"<b>{html.escape(base_name)}</b>", f"<b>Fine-tuned (step {step})</b>", "<b>Gray copy</b>"])
    body = "".join(f"<tr><td>{label}</td>{cells(values)}</tr>" for label, values in rows)
    return f"<table cellspacing=0><tr><td></td>{head}</tr>{body}</table>"


def verdict_html(base_name: str, scores: HoldoutScored | None) -> str:
    """One plain sentence: is the fine-tune better than the base, and what Install will do."""
    name = html.escape(base_name)
    if scores is None:
        return (
            f'<span style="color:{WARNING_COLOUR}"><b>Not measured.</b> This run has no scores against '
            f"{name}, so it is not installed unless you choose Install anyway.</span>"
        )
    step, tuned = shown_scores(scores)
    photos = f"{scores.photos} of your colour photos that it never trained on"
    if scores.best_step is not None:
        return (
            f"<b>Better than {name}</b> on {photos}: CIEDE2000 {tuned['ciede2000']:.2f} against "
            f"{scores.base['ciede2000']:.2f}. Install adds the model from step {step}, its best step."
        )
    if tuned["ciede2000"] >= scores.base["ciede2000"]:
        why = f"CIEDE2000 {tuned['ciede2000']:.2f} against {scores.base['ciede2000']:.2f} at step {step}"
    else:
        why = f"a stronger colour cast at step {step}: {cast(tuned):.1f} against {cast(scores.base):.1f} Lab units"
    return (
        f'<span style="color:{ERROR_COLOUR}"><b>The new model is worse than {name}</b> on {photos} '
        f"({why}). Nothing is installed: keep using the base model, or choose <b>Install anyway</b>.</span>"
    )
