"""Export of a CycleGAN run's G as a normal Revive model file (loads and colorizes like any model).

Only G is exported (F and the discriminators are training machinery). Its architecture and arguments
are the base model's (from the run's ``base_card.json``), so the base file is not needed any more.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import torch

from engine.architectures import build
from engine.errors import ReviveError
from engine.model_file import ModelCard, save_model
from engine.model_registry import user_model_path
from training.cyclegan_config import BASE_CARD_FILE, DATASET_FILE, METRICS_FILE, STATE_FILE, load_run_config

log = logging.getLogger(__name__)


def _read_text(path: Path) -> str | None:
    """A run file's text; None when it is absent; ReviveError when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ReviveError(f"cannot read {path}: {error.strerror}") from None


def required_run_file(path: Path) -> str:
    text = _read_text(path)
    if text is None:
        raise ReviveError(f"{path.parent} is not a complete CycleGAN run (no {path.name})")
    return text


def parse_run_json(text: str, path: Path) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ReviveError(f"{path}: not valid JSON ({error.msg})") from None


def export_cyclegan(run: Path, name: str) -> Path:
    """Install the run's current G as user model ``name``; returns the model file's path.

    ``run``: a run folder (``<REVIVE_HOME>/runs/<run>``) or its ``state.pt``. The model card records
    the base model, the folders (names and counts), the steps done, the options, the preset and the
    mean losses of the last steps. ValueError for a bad name; ReviveError for an incomplete run.
    """
    run = Path(run)
    run_dir, state_path = (run.parent, run) if run.is_file() else (run, run / STATE_FILE)
    destination = user_model_path(name)  # ValueError early for a bad name
    config = load_run_config(run_dir)
    base = ModelCard.from_json(required_run_file(run_dir / BASE_CARD_FILE), BASE_CARD_FILE)
    dataset = parse_run_json(required_run_file(run_dir / DATASET_FILE), run_dir / DATASET_FILE)
    metrics_text = _read_text(run_dir / METRICS_FILE)
    metrics = parse_run_json(metrics_text, run_dir / METRICS_FILE) if metrics_text else {}
    if not state_path.is_file():
        raise ReviveError(f"{run_dir} has no saved training state ({STATE_FILE}) to export")
    state = torch.load(state_path, map_location="cpu", weights_only=True)
    module = build(base.architecture, base.arguments)
    try:
        module.load_state_dict(state["G"])
    except (KeyError, RuntimeError) as error:
        raise ReviveError(f"{state_path}: the saved G does not match the base model's architecture ({error})") from None
    steps = int(state["step"])
    old_folder, color_folder = Path(dataset["old_folder"]).name, Path(dataset["color_folder"]).name
    summary = (
        f"{dataset['old_images']} old photos from {old_folder}/ and {dataset['color_images']} colour photos"
        f" from {color_folder}/"
    )
    card = ModelCard(
        name=name,
        architecture=base.architecture,
        arguments=base.arguments,
        color_space=base.color_space,
        render_size=base.render_size,
        temperature=base.temperature,
        prior_correction=base.prior_correction,
        chroma_scale=base.chroma_scale,
        description=f"{base.name} fine-tuned with CycleGAN on {summary} ({steps} steps)",
        trained_on=summary,
        base_model=base.name,
        training={
            **config.options(),
            "method": "CycleGAN (Zhu et al. 2017) with a paired colour term on gray copies of the colour photos",
            "steps_done": steps,
            "old_folder": old_folder,
            "color_folder": color_folder,
            "old_images": dataset["old_images"],
            "color_images": dataset["color_images"],
            "held_out": {"old": dataset.get("old_holdout", []), "color": dataset.get("color_holdout", [])},
        },
        metrics=metrics,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    path = save_model(destination, module.eval(), card)
    log.info("exported %s (step %d) to %s", run_dir.name, steps, path)
    return path
