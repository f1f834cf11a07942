"""Export of a CycleGAN run's G as a normal Revive model file (loads and colorizes like any model).

Only G is exported (F and the discriminators are training machinery). Its architecture and arguments
are the base model's (from the run's ``base_card.json``), so the base file is not needed any more.

What is exported is the best G, not the last: the run saves G as ``best.safetensors`` at each scored
step that beats the base on the held-out colour photos and every earlier best
(``training.cyclegan.scores``). A run with no such step installs nothing (``NotBetter``) unless the
caller insists (``keep_worse``: then the run's current G is installed, and its card says it is worse).

A run folder's files come from outside (a copied folder, a damaged disk, a hostile file): the state
is loaded with ``weights_only=True`` and checked field by field (``load_run_state``), the JSON files
must be objects of the expected shape; anything else is one ``DamagedRun`` line, never a traceback
and never advice to load the file unsafely.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from pathlib import Path

import torch
from torch import nn

from engine.errors import ReviveError
from engine.models.architectures import build
from engine.models.card import read_card
from engine.models.files import ModelCard, load_model, save_model
from engine.models.registry import user_model_path
from engine.version import app_version
from training.base.installing import install
from training.cyclegan.config import (
    BASE_CARD_FILE,
    BEST_MODEL_FILE,
    DATASET_FILE,
    LATEST_MODEL_FILE,
    METRICS_FILE,
    SCORES_FILE,
    STATE_FILE,
    DamagedRun,
    load_run_config,
)
from training.cyclegan.parts import non_finite_weight
from training.cyclegan.scores import ScoreBook, load_score_book
from training.decoding_sweep import Decoding

log = logging.getLogger(__name__)

MAX_STEP = 10_000_000  # far beyond any preset; a saved step outside 0..MAX_STEP is not a real run's
NETWORKS = ("G", "F", "D_A", "D_B")
STAGED_MODEL_FILE = "install.safetensors"  # the model being installed, in the run folder until placed
OPTIMIZERS = ("opt_G", "opt_D")


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
    """A run's JSON file (always an object); ReviveError in one line otherwise."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReviveError(f"{path}: not valid JSON ({error.msg})") from None
    except RecursionError:
        raise ReviveError(f"{path}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise ReviveError(f"{path}: not a JSON object")
    return data


def load_run_dataset(run_dir: Path) -> dict:
    """``dataset.json`` of a run, checked: the folders and base path are strings, the counts
    whole numbers, the held-out lists lists of names. DamagedRun otherwise."""
    path = Path(run_dir) / DATASET_FILE
    data = parse_run_json(required_run_file(path), path)
    strings = all(isinstance(data.get(k), str) for k in ("base_path", "old_folder", "color_folder"))
    counts = all(_is_int(data.get(k)) and data[k] >= 0 for k in ("old_images", "color_images"))
    held_out = all(
        isinstance(data.get(k, []), list) and all(isinstance(n, str) for n in data.get(k, []))
        for k in ("old_holdout", "color_holdout")
    )
    if not (strings and counts and held_out):
        log.info("%s: unexpected fields", path)
        raise DamagedRun(run_dir)
    return data


def load_run_state(path: Path, device: torch.device | str = "cpu") -> dict:
    """A run's ``state.pt``, loaded safely (tensors only, ``weights_only=True``) and checked: the
    four networks' weights (finite tensors), both optimizers' states, the step (an integer in
    0..MAX_STEP) and, when present, the colour-class weights (1-D, finite, positive). DamagedRun
    in one line for anything damaged or foreign (random bytes, a truncated file, a pickle that
    would run code), never advice to load it unsafely."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # noqa: BLE001 - unpickling errors have many types; all mean "damaged"
        log.info("cannot load %s: %s", path, str(error).splitlines()[0] if str(error) else type(error).__name__)
        raise DamagedRun(path.parent) from None
    problem = _state_problem(state)
    if problem:
        log.info("%s: %s", path, problem)
        raise DamagedRun(path.parent)
    return state


def _state_problem(state: object) -> str | None:
    if not isinstance(state, dict):
        return "not a dictionary"
    for key in NETWORKS:
        weights = state.get(key)
        if not isinstance(weights, dict) or not weights:
            return f"{key} is missing"
        for name, tensor in weights.items():
            if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
                return f"{key} holds something other than named tensors"
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                return f"{key}.{name} is not finite"
    for key in OPTIMIZERS:
        optimizer = state.get(key)
        if not isinstance(optimizer, dict) or not isinstance(optimizer.get("state"), dict):
            return f"{key} is missing"
        groups = optimizer.get("param_groups")
        if not isinstance(groups, list) or not all(
            isinstance(g, dict) and isinstance(g.get("params"), list) and all(_is_int(i) for i in g["params"])
            for g in groups
        ):
            return f"{key} has no usable parameter groups"
    step = state.get("step")
    if (
        not isinstance(step, torch.Tensor)
        or step.numel() != 1
        or step.dtype not in (torch.int64, torch.int32)
        or not 0 <= int(step) <= MAX_STEP
    ):
        return "the step is not a whole number in range"
    weights = state.get("class_weights")
    if weights is not None and (
        not isinstance(weights, torch.Tensor)
        or weights.dim() != 1
        or not weights.is_floating_point()
        or not torch.isfinite(weights).all()
        or bool((weights <= 0).any())
    ):
        return "the colour-class weights are not positive numbers"
    return None


def check_optimizer_state(optimizer: torch.optim.Optimizer) -> str | None:
    """Why an Adam optimizer's loaded state cannot be used (None when it can): every moment must
    be a finite tensor of its parameter's shape and every step a finite count (a foreign state
    would otherwise fail deep inside the first step)."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            moments = optimizer.state.get(parameter, {})
            if not isinstance(moments, dict):
                return "a parameter's state is not a dictionary"
            for key, value in moments.items():
                if not isinstance(value, torch.Tensor):
                    return f"{key} is not a tensor"
                if key == "step":
                    if value.numel() != 1 or not math.isfinite(float(value)) or float(value) < 0:
                        return "a step count is not a count"
                elif value.shape != parameter.shape or not torch.isfinite(value).all():
                    return f"{key} does not fit its parameter"
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class NotBetter(ReviveError):
    """No scored step of the run beats its base model on the held-out colour photos."""


def not_better_text(base_name: str, book: ScoreBook | None) -> str:
    """Why a run installs nothing, for people (callers add how to insist)."""
    if book is None:
        return f"this run was not measured against {base_name}, so it is not installed"
    return (
        f"the fine-tuned model does not beat {base_name} on {len(book.photos)} of your colour photos it"
        " never trained on (mean CIEDE2000 or colour cast), so nothing was installed"
    )


def _module_from(run_dir: Path, base: ModelCard, state: dict | None, saved: Path | None) -> nn.Module:
    """G built from the base card, with the weights of the model file ``saved`` or else of ``state``."""
    try:
        module = build(base.architecture, base.arguments)
    except ValueError as error:
        raise ReviveError(f"{run_dir / BASE_CARD_FILE}: {error}") from None
    source = saved if saved is not None else run_dir / STATE_FILE
    try:
        if saved is not None:
            module.load_state_dict(load_model(saved)[0].state_dict())
        else:
            assert state is not None  # the caller passes the saved state or a model file of the run
            module.load_state_dict(state["G"])
    except (KeyError, RuntimeError) as error:
        first = str(error).splitlines()[0]
        raise ReviveError(f"{source}: the saved G does not match the base model's architecture ({first})") from None
    return module


def _saved_step(path: Path) -> int:
    """The step a generator file of the run was saved at (its card's ``training.step``)."""
    step = read_card(path).training.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise ReviveError(f"{path}: the model card does not say at which step it was saved")
    return step


def export_cyclegan(run: Path, name: str, keep_worse: bool = False, *, replace_any: bool = True) -> Path:
    """Install the run's best G as user model ``name``; returns the model file's path.

    ``run``: a run folder (``<REVIVE_HOME>/runs/<run>``) or its ``state.pt``. The best G is the one
    saved at the scored step that beats the base most (``best.safetensors``); without one, NotBetter,
    unless ``keep_worse``: then the run's current G. The model card records the base model, the
    folders (names and counts), the step installed, the options, the preset, the mean losses of the
    last steps and the held-out scores of base and fine-tune. ValueError for a bad name; ReviveError
    for an incomplete run or weights that are not finite.

    ``replace_any`` False installs through ``training.base.installing``: a model of that name, or
    its card, that this run did not install itself is never replaced (ReviveError, the run kept);
    what ``train`` does. The wizard, which warns that Finish replaces a model of that name, keeps True.
    """
    run = Path(run)
    run_dir, state_path = (run.parent, run) if run.is_file() else (run, run / STATE_FILE)
    destination = user_model_path(name)  # ValueError early for a bad name
    config = load_run_config(run_dir)
    base = ModelCard.from_json(required_run_file(run_dir / BASE_CARD_FILE), BASE_CARD_FILE)
    dataset = load_run_dataset(run_dir)
    metrics_text = _read_text(run_dir / METRICS_FILE)
    metrics = parse_run_json(metrics_text, run_dir / METRICS_FILE) if metrics_text else {}
    book = load_score_book(run_dir / SCORES_FILE)
    best_path = run_dir / BEST_MODEL_FILE
    if book is not None and book.best_step is not None and not best_path.is_file():
        raise ReviveError(f"{run_dir} lacks {BEST_MODEL_FILE}, the model of its best step ({book.best_step})")
    measured: tuple[int, dict[str, float] | None] | None
    if book is not None and book.best_step is not None:
        module, steps, better = _module_from(run_dir, base, None, best_path), book.best_step, True
        measured = (book.best_step, book.best)
    elif keep_worse and (run_dir / LATEST_MODEL_FILE).is_file():
        latest = run_dir / LATEST_MODEL_FILE  # G of the last checkpoint: no need to load state.pt
        module, steps, better = _module_from(run_dir, base, None, latest), _saved_step(latest), False
        measured = book.last() if book is not None else None
    elif keep_worse:  # a run saved before latest.safetensors existed
        if not state_path.is_file():
            raise ReviveError(f"{run_dir} has no saved training state ({STATE_FILE}) to export")
        state = load_run_state(state_path)
        module, steps, better = _module_from(run_dir, base, state, None), int(state["step"]), False
        measured = book.last() if book is not None else None
    else:
        raise NotBetter(not_better_text(base.name, book))
    if book is not None:
        metrics = {
            **metrics,
            "held_out_scores": {
                "photos": len(book.photos),
                "base": book.base,
                "beats_base": better,
                "fine_tuned": measured[1] if measured else None,
                "measured_step": measured[0] if measured else None,
            },
        }
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
        **Decoding.of_card(base).card_fields(),  # the base's decoding, chosen on photos it never saw
        description=f"{base.name} fine-tuned with CycleGAN on {summary} ({steps} steps)"
        + ("" if better else f"; installed although it does not beat {base.name} on the held-out photos"),
        trained_on=summary,
        base_model=base.name,
        training={
            **config.options(),
            "method": "CycleGAN (Zhu et al. 2017) with a paired colour term on gray copies of the colour photos",
            "steps_done": steps,
            "revive_version": app_version(),
            "old_folder": old_folder,
            "color_folder": color_folder,
            "old_images": dataset["old_images"],
            "color_images": dataset["color_images"],
            "held_out": {"old": dataset.get("old_holdout", []), "color": dataset.get("color_holdout", [])},
        },
        metrics=metrics,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    broken = non_finite_weight({"G": module.state_dict()})
    if broken:
        raise ReviveError(
            f"{run_dir}: the weights of step {steps} are not finite numbers ({broken}); nothing was installed"
        )
    if replace_any:
        path = save_model(destination, module.eval(), card)
    else:  # written in the run folder first, then placed only where nothing but this run's own model is
        path = install(run_dir, name, save_model(run_dir / STAGED_MODEL_FILE, module.eval(), card))
    log.info("exported %s (step %d) to %s", run_dir.name, steps, path)
    return path
