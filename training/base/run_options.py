"""The options a base-colorizer run was started with, kept in its folder (``options.json``) so that
``--resume`` continues the same training rather than silently changing it halfway.

Batches are a pure function of (seed, step) and the options (``trainer.make_batch``), and the
learning-rate schedule, the network and the loss follow the options too: a resumed run with
another size, batch size or learning rate would be neither the run it continues nor a new one,
and its model card would record options it was not trained with. So a resume that changes any
option of the training is refused in one line that names each option and the run's value.
"""

from __future__ import annotations

import json
import logging
from dataclasses import MISSING, fields
from pathlib import Path

from engine.atomic_files import write_text_atomically
from engine.errors import ReviveError
from training.base.config import BaseTrainingConfig
from training.base.saved_state import DAMAGED_RUN

log = logging.getLogger(__name__)

OPTIONS_FILE = "options.json"

# Options a resumed run may change, with why: none of them changes a training step.
FREE_ON_RESUME = {
    "name",  # the run folder is found by it
    "steps",  # the documented way to train longer: the schedule stretches from the saved step
    "device",  # the same arithmetic elsewhere (resuming on the CPU is the way out of an out-of-memory)
    "resume",
    "force",
    "run_dir",
    "checkpoint_every",  # when the state is saved, not what is trained
    "validate_every",  # when snapshots are made and scored, not what is trained
    "validation_images",  # the progress line's quick check
    "render_size",  # the card's default decoding, used only when no decoding is chosen at export
    # Choosing what to install happens after training (snapshots scored on --tune, the decoding
    # swept at export) and the card records what was used; snapshots scored otherwise are left out.
    "tune_photos",
    "tune_images",
    "keep_best",
    "snapshot_images",
    "render_sizes",
    "temperatures",
    "prior_corrections",
    "chroma_scales",
    "confidence_gammas",
    "flips",
}

# How the command line spells the options it has (the others are named in words).
OPTION_NAMES = {
    "photos": "--photos",
    "size": "--size",
    "batch_size": "--batch-size",
    "learning_rate": "--learning-rate",
    "widths": "--widths",
    "blocks": "--blocks",
    "seed": "--seed",
    "init_from": "--from",
    "regression_weight": "--regression-weight",
    "decoded_weight": "--decoded-weight",
    "decoded_colour_floor": "--decoded-colour-floor",
    "augment_strength": "--augment-strength",
}


def fixed_options(config: BaseTrainingConfig) -> dict:
    """The options a resumed run must keep, as JSON values (folders as absolute paths)."""
    return {f.name: _json_value(getattr(config, f.name)) for f in fields(config) if f.name not in FREE_ON_RESUME}


def save_options(run_dir: Path, config: BaseTrainingConfig) -> None:
    """Record the run's options in its folder (at the start of a new run)."""
    write_text_atomically(run_dir / OPTIONS_FILE, json.dumps(fixed_options(config), indent=2) + "\n")


def check_resume_options(run_dir: Path, config: BaseTrainingConfig) -> None:
    """ReviveError naming every option ``config`` changes from the run saved in ``run_dir``;
    a run saved before its options were kept gets them recorded now."""
    path = run_dir / OPTIONS_FILE
    if not path.exists():
        log.info("%s has no %s (saved by an older version): recording this resume's options", run_dir, OPTIONS_FILE)
        save_options(run_dir, config)
        return
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        log.info("cannot read %s: %s", path, error)
        raise ReviveError(DAMAGED_RUN.format(run_dir)) from None
    if not isinstance(saved, dict):
        raise ReviveError(DAMAGED_RUN.format(run_dir))
    defaults = {f.name: f.default for f in fields(config) if f.default is not MISSING}
    changed = []
    for name, value in fixed_options(config).items():
        # An option newer than the saved run: it ran with that option's default.
        before = saved[name] if name in saved else _json_value(defaults.get(name, value))
        if before != value:
            changed.append(f"{_option(name)} {_shown(value)} (the run's: {_shown(before)})")
    if changed:
        raise ReviveError(
            f"--resume continues the run in {run_dir} with its own options, and these differ: {', '.join(changed)};"
            " give the run's values, or start a new run under another --out name"
        )


def _json_value(value: object) -> object:
    if isinstance(value, Path):
        return str(value.expanduser().resolve())
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    return value


def _option(name: str) -> str:
    return OPTION_NAMES.get(name, name.replace("_", " "))


def _shown(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)
