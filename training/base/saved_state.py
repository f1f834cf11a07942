"""A base-colorizer run's resumable state (``state.pt``): saved, loaded safely, checked field by field.

The file lives in a user-writable folder, so everything in it is checked before use: a damaged or
hand-edited state is one line ("the saved run in ... is damaged"), never a traceback from deep
inside the first optimizer step, nor a misleading "training diverged".
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import torch

from engine.atomic_files import atomic_file
from engine.errors import ReviveError
from training.base.config import MAX_STEPS
from training.cyclegan.export import check_optimizer_state

log = logging.getLogger(__name__)

DAMAGED_RUN = "the saved run in {} is damaged; start again without --resume (or delete that folder)"
ADAM_MOMENTS = {"step", "exp_avg", "exp_avg_sq"}  # what torch's Adam keeps per parameter (no amsgrad)
# Adam's numeric options, checked by range (a saved run holds what the trainer set); every other
# option (amsgrad, foreach, fused...) must be what the trainer's own optimizer has.
CHECKED_BY_RANGE = ("lr", "betas", "eps", "weight_decay")


def save_state(path: Path, model, ema, optimizer, step: int, class_weights: torch.Tensor) -> None:
    with atomic_file(path) as handle:
        torch.save(
            {
                "model": model.state_dict(),
                "ema": ema.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": torch.tensor(step),
                "class_weights": class_weights,
            },
            handle,
        )


def load_state(path: Path, device: torch.device) -> dict:
    """A saved run's state, loaded safely (tensors only) and checked; ReviveError in one line for
    anything damaged or foreign, never advice to load it unsafely."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as error:  # noqa: BLE001 - unpickling errors have many types; all mean "damaged"
        log.info("cannot load %s: %s", path, error)
        raise ReviveError(DAMAGED_RUN.format(path.parent)) from None
    expected = {"model": dict, "ema": dict, "optimizer": dict, "step": torch.Tensor, "class_weights": torch.Tensor}
    if not isinstance(state, dict) or any(not isinstance(state.get(k), t) for k, t in expected.items()):
        raise ReviveError(DAMAGED_RUN.format(path.parent))
    step = state["step"]
    if step.numel() != 1 or step.dtype not in (torch.int64, torch.int32) or not 0 <= int(step) <= MAX_STEPS:
        raise ReviveError(DAMAGED_RUN.format(path.parent))
    weights = state["class_weights"]
    if (
        weights.dim() != 1
        or not weights.is_floating_point()
        or not torch.isfinite(weights).all()
        or (weights <= 0).any()
    ):
        raise ReviveError(DAMAGED_RUN.format(path.parent))
    if not _is_optimizer_layout(state["optimizer"]):
        raise ReviveError(DAMAGED_RUN.format(path.parent))
    return state


def _is_optimizer_layout(saved: dict) -> bool:
    """The shape of ``Optimizer.state_dict()``, which ``load_state_dict`` assumes without checking
    (anything else fails there with an AttributeError or TypeError)."""
    groups, moments = saved.get("param_groups"), saved.get("state")
    return (
        isinstance(moments, dict)
        and isinstance(groups, list)
        and all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups)
    )


def restore(
    state: dict, run_dir: Path, model: torch.nn.Module, average: torch.nn.Module, optimizer: torch.optim.Optimizer
) -> None:
    """Load a checked ``state`` (of the run in ``run_dir``) into the model, its weight average and
    the optimizer, built with the trainer's own options; ReviveError in one line when it does not
    fit or is damaged."""
    own_options = [{k: v for k, v in group.items() if k != "params"} for group in optimizer.param_groups]
    try:
        model.load_state_dict(state["model"])
        average.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as error:
        log.info("state does not match: %s", error)
        raise ReviveError(
            f"the saved run in {run_dir} does not match this model or these options; start again without --resume"
        ) from None
    problem = optimizer_problem(optimizer, own_options)
    if problem:
        log.info("saved optimizer state unusable: %s", problem)
        raise ReviveError(DAMAGED_RUN.format(run_dir))


def optimizer_problem(optimizer: torch.optim.Optimizer, own_options: list[dict]) -> str | None:
    """Why a loaded Adam state cannot be used (None when it can): moments that do not fit their
    parameters (``check_optimizer_state``, shared with ``train``), incomplete moments, or options
    out of range or unlike ``own_options`` (the optimizer's options before loading)."""
    problem = check_optimizer_state(optimizer)
    if problem:
        return problem
    for group, own in zip(optimizer.param_groups, own_options, strict=True):
        problem = _options_problem(group, own)
        if problem:
            return problem
        for parameter in group["params"]:
            moments = optimizer.state.get(parameter)
            if moments and set(moments) != ADAM_MOMENTS:  # empty: Adam starts it afresh
                return f"a parameter's moments are {sorted(moments)}"
    return None


def _options_problem(group: dict, own: dict) -> str | None:
    betas = group.get("betas")
    if not isinstance(betas, tuple | list) or len(betas) != 2 or not all(_within(b, 0, 1) for b in betas):
        return f"betas are {betas!r}, not two numbers in [0, 1)"
    for key, low in (("lr", 0.0), ("weight_decay", 0.0)):
        if not _within(group.get(key), low, math.inf):
            return f"{key} is {group.get(key)!r}"
    if not _within(group.get("eps"), 0.0, math.inf) or group["eps"] == 0:
        return f"eps is {group.get('eps')!r}"
    for key, value in own.items():
        if key not in CHECKED_BY_RANGE and group.get(key) != value:
            return f"{key} is {group.get(key)!r}, not {value!r}"
    return None


def _within(value: object, low: float, high: float) -> bool:
    """A finite number (not a bool) in ``[low, high)``."""
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and low <= value < high
    )
