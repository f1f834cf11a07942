"""Fine-tuning the colorizer CycleGAN-style on two unpaired folders (Zhu et al. 2017).

``train_cyclegan(config, cancel)`` is a generator of events (``training.events`` plus
``PreviewReady``): pull it to make progress; stop pulling to pause; set the cancel token to stop
(checked before every step: the state is saved and ``TrainingFinished(cancelled=True)`` ends the run).

A run lives in ``<REVIVE_HOME>/runs/<name>/``:
- ``config.json``: the options it was started with (``load_run_config``);
- ``base_card.json``: the base model's card (architecture and arguments of G; export needs no base file);
- ``dataset.json``: what was trained on (folders, counts, held-out files);
- ``state.pt``: the resumable state (G, F, D_A, D_B, both Adam states, step, colour-class weights),
  tensors only, saved with ``torch.save`` and loaded with ``weights_only=True`` and checked field by
  field (``cyclegan_export.load_run_state``). The image pools are not saved: after a resume they
  start empty and refill within ``pool_size`` fakes;
- ``metrics.json``: mean losses over the last 50 steps, at each checkpoint;
- ``previews/step_NNNNNN.png``: before/after grids of the held-out old photos;
- ``scores.json``: base vs G on the held-out colour photos at every preview (``cyclegan_scores``);
- ``best.safetensors``: G at the best of those steps that beats the base (what export installs).
- ``latest.safetensors``: G at the last checkpoint (what ``keep_worse`` export installs, read without
  loading ``state.pt``).
Resuming (``resume=True``) continues at the saved step with the same optimizer state and the same
batch sequence (batches are a function of seed and step). The optimizers' options (betas, eps...)
always come from the config, never from the saved file. Every problem with the name or the saved
run is found before the folders are read.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from engine.atomic_files import atomic_file, write_text_atomically
from engine.cancel import CancelToken
from engine.device import out_of_memory_as
from engine.errors import Cancelled, ReviveError
from engine.models.architectures import build
from engine.models.files import ModelCard, load_model
from engine.models.registry import resolve_model
from training.base.data import PhotoCache, source_tag
from training.base.installing import forget_installs
from training.colour_classes import rebalancing_weights
from training.cyclegan.config import (
    BASE_CARD_FILE,
    CONFIG_FILE,
    DATASET_FILE,
    LATEST_MODEL_FILE,
    METRICS_FILE,
    STATE_FILE,
    CycleGANConfig,
    DamagedRun,
    start_problem,
)
from training.cyclegan.data import DomainData, load_domain, make_batch
from training.cyclegan.events import PreviewReady
from training.cyclegan.export import (
    NotBetter,
    check_optimizer_state,
    export_cyclegan,
    load_run_dataset,
    load_run_state,
    required_run_file,
)
from training.cyclegan.parts import (
    adversarial_factor,
    build_discriminator,
    build_resnet,
    lab_from_rgb11,
    learning_rate_factor,
    non_finite_weight,
    training_precision,
    uint8_to_rgb11,
)
from training.cyclegan.preview import save_grid, translate_previews
from training.cyclegan.scores import HoldoutJudge, prepare_photos, save_generator, scoring_image
from training.cyclegan.step import LOSS_NAMES, ColorizerG, CycleGANNetworks
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted

log = logging.getLogger(__name__)

RECENT = 50  # steps averaged for the ETA and the reported metrics
MAX_SKIPPED_STEPS = 3  # steps in a row with an update left out (non-finite gradients) before the run is called diverged


def init_weights(module: nn.Module, std: float = 0.02) -> nn.Module:
    """The reference code's initialisation: convolutions N(0, 0.02), norms' scales N(1, 0.02), biases 0."""
    for child in module.modules():
        if isinstance(child, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(child.weight, 0.0, std)
            if child.bias is not None:
                nn.init.zeros_(child.bias)
        elif isinstance(child, nn.modules.batchnorm._BatchNorm) and child.weight is not None:
            nn.init.normal_(child.weight, 1.0, std)
            nn.init.zeros_(child.bias)
    return module


def load_base(base: str | None) -> tuple[nn.Module, ModelCard, Path]:
    """The base colorizer G: (module in fp32 on the CPU, its card, its file); ReviveError if unusable."""
    path = resolve_model(base)
    module, card = load_model(path)
    if card.color_space != "lab" or not hasattr(module, "predict_ab"):
        raise ReviveError(f"{path.name} is not an L* -> a*b* colorizer and cannot be fine-tuned as G")
    return module, card, path


def build_networks(
    config: CycleGANConfig, device: torch.device, base_module: nn.Module, base_card: ModelCard
) -> CycleGANNetworks:
    """G from the base model, F (RGB -> old-photo RGB, 3 -> 3 so it can learn sepia tints and fading)
    and the two PatchGANs from the config's options."""
    g = ColorizerG(base_module, base_card.temperature, None, config.freeze_g_batch_norm, base_card.prior_correction)
    f = init_weights(build_resnet(config, 3, 3))
    d_a = init_weights(build_discriminator(config))
    d_b = init_weights(build_discriminator(config))
    return CycleGANNetworks.create(g, f, d_a, d_b, config, device)


def class_weights_for(module: nn.Module, cache) -> torch.Tensor | None:
    """Colour-class rebalancing weights from the colour photos (UNetColorizer only; else None)."""
    centers = getattr(module, "bin_centers", None)
    if centers is None:
        return None
    sample = torch.from_numpy(cache[:: max(1, len(cache) // 500)])
    lab = lab_from_rgb11(uint8_to_rgb11(sample))
    return rebalancing_weights(F.avg_pool2d(lab[:, 1:], 4), centers.cpu())


def _write_json(path: Path, data) -> None:
    write_text_atomically(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def save_state(path: Path, networks: CycleGANNetworks, step: int) -> None:
    with atomic_file(path) as handle:
        torch.save({**networks.state_dict(), "step": torch.tensor(step)}, handle)


def save_checkpoint(run_dir: Path, networks: CycleGANNetworks, base_card: ModelCard, step: int) -> Path:
    """The resumable state, and G alone as ``latest.safetensors``: exporting the current G (a
    worse run installed anyway) then reads G's weights (16 MB for revive-base), not the whole training state.
    ReviveError, and nothing written, when a weight is NaN or infinite: the last good checkpoint
    stays resumable instead of being replaced by one that can only fail."""
    state_path = run_dir / STATE_FILE
    nets = {"G": networks.g.module, "F": networks.f, "D_A": networks.d_a, "D_B": networks.d_b}
    broken = non_finite_weight({name: module.state_dict() for name, module in nets.items()})
    if broken:
        kept = (
            f"the last good checkpoint in {run_dir} is kept (resume it with --resume)"
            if state_path.exists()
            else "no checkpoint was saved before it"
        )
        raise ReviveError(
            f"at step {step} the weights ({broken}) are no longer finite numbers, so they were not saved;"
            f" {kept}; a larger --size or a lower learning rate may avoid it"
        )
    save_state(state_path, networks, step)
    assert isinstance(networks.g, ColorizerG)  # build_networks' G is always the colorizer
    save_generator(run_dir / LATEST_MODEL_FILE, networks.g.module, base_card, step, "last checkpoint")
    return state_path


def _prepare_run(
    config: CycleGANConfig, run_dir: Path, base_card: ModelCard, base_path: Path, a: DomainData, b: DomainData
) -> None:
    forget_installs(run_dir)  # a new run in an older run's folder owns none of its installs
    (run_dir / CONFIG_FILE).write_text(config.to_json() + "\n", encoding="utf-8")
    (run_dir / BASE_CARD_FILE).write_text(base_card.to_json() + "\n", encoding="utf-8")
    _write_json(
        run_dir / DATASET_FILE,
        {
            "base_path": str(base_path),
            "old_folder": str(a.folder),
            "color_folder": str(b.folder),
            "old_images": a.count,
            "color_images": b.count,
            "old_holdout": [name for name, _ in a.previews],
            "color_holdout": [name for name, _ in b.previews],
        },
    )


def train_cyclegan(config: CycleGANConfig, cancel: CancelToken | None = None) -> Iterator[object]:
    """Fine-tune (or resume) G on ``config.old`` / ``config.color``; export the best G when
    ``config.name`` is set and a step beats the base (or ``config.keep_worse``).

    Yields ``TrainingStarted``, ``PreviewReady`` and ``HoldoutScored`` (at the start and every
    ``preview_every`` steps; a resumed run first replays its scored steps), ``StepDone`` (losses:
    ``cyclegan_step.LOSS_NAMES``, unweighted), ``CheckpointSaved``, and last ``TrainingFinished``
    (``model_path`` set when exported, None when nothing beat the base; its ``metrics`` hold the
    losses and ``held_out_scores``: base, best step and its scores, last step and its scores,
    installed or not). Raises ReviveError for unusable folders,
    a missing base model, a name that hides a shipped model (without ``force``), an existing run
    without ``resume``, ``resume`` without a saved run, ``DamagedRun`` for a damaged or foreign
    saved run, or divergence.
    """
    cancel = cancel or CancelToken()
    problem = start_problem(config)
    if problem:
        raise ReviveError(problem)
    choice = training_precision(config.device, config.precision, config.size)
    device, dtype = choice.device, choice.dtype
    run_dir = config.resolved_run_dir()
    state_path = run_dir / STATE_FILE
    state = None
    if config.resume:
        state = load_run_state(state_path, device)
        base_module, base_card, base_path = _saved_base(run_dir)
    else:
        base_module, base_card, base_path = load_base(config.base)
    try:  # the loaders check the token before each file: Stop acts at once, not after the folders
        a = load_domain(config.old, config, "old", cancel=cancel)
        # The colour folder's held-out photos are the ones the fine-tune is measured on.
        b = load_domain(
            config.color,
            config,
            "colour",
            holdout=config.score_count,
            holdout_image=lambda p: scoring_image(p, config.score_side),
            colour_only=True,
            cancel=cancel,
        )
    except Cancelled:  # nothing new to save: a resumed run's state is on disk as it was
        yield TrainingFinished(int(state["step"]) if state is not None else 0, None, cancelled=True)
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    networks = build_networks(config, device, base_module, base_card)
    start_step = 0
    if state is not None:
        _restore(networks, state, run_dir)
        start_step = int(state["step"])
    else:
        _prepare_run(config, run_dir, base_card, base_path, a, b)
        weights = class_weights_for(base_module, b.cache)
        assert isinstance(networks.g, ColorizerG)  # build_networks' G is always the colorizer
        networks.g.class_weights = None if weights is None else weights.to(device)
    judge = HoldoutJudge.open(
        run_dir,
        base_module if state is None else None,
        base_path,
        base_card,
        photos=prepare_photos(b.previews),
        device=choice,
    )
    networks.train()
    cache_a, cache_b = torch.from_numpy(a.cache), torch.from_numpy(b.cache)
    # As for the base model: sources balanced (file-name prefix), so the biggest one (often
    # landscapes, whose skies lean blue) does not set the colour prior.
    sources = tuple(source_tag(p) for p in b.train_paths)
    weights_b = (
        PhotoCache(cache_b, sources).sampling_weights(config.balance_power) if config.balance_power < 1 else None
    )
    yield TrainingStarted(run_dir, start_step, config.steps, choice.description, a.count + b.count, len(a.previews))
    yield _preview(networks, a, run_dir, start_step, device, dtype, base=start_step == 0)
    if start_step == 0:
        yield judge.judge(0, networks.g.module)
    else:
        yield from judge.replay()

    out_of_memory = (
        f"out of memory on {choice.description} at {config.size} px crops, batch {config.batch_size}:"
        " try a smaller size or batch, a smaller preset, or the CPU (--device cpu)"
    )
    step = start_step
    recent: list[float] = []
    recent_losses: list[dict[str, float]] = []
    skipped, in_a_row = 0, 0  # steps with an update left out (non-finite gradients): all, and the latest run of them
    while step < config.steps:
        if cancel.cancelled:
            save_checkpoint(run_dir, networks, base_card, step)
            if recent_losses:
                _write_json(run_dir / METRICS_FILE, _mean_losses(recent_losses, step, skipped))
            yield CheckpointSaved(step, state_path)
            yield TrainingFinished(step, None, cancelled=True)
            return
        tick = time.monotonic()
        real_a = make_batch(cache_a, config, step, salt=0).to(device)
        real_b = make_batch(cache_b, config, step, salt=1, weights=weights_b).to(device)
        with out_of_memory_as(device, out_of_memory):
            try:
                losses = networks.step(
                    real_a,
                    real_b,
                    config,
                    learning_rate_factor(step, config.steps, config.decay_start),
                    dtype,
                    adversarial_factor(step, config.adversarial_warmup),
                )
            except ReviveError as error:
                raise ReviveError(f"at step {step}: {error}") from None
        if networks.skipped:
            skipped, in_a_row = skipped + 1, in_a_row + 1
            log.warning(
                "step %d: the %s update was left out: its gradients are not finite", step, "/".join(networks.skipped)
            )
            if in_a_row >= MAX_SKIPPED_STEPS:
                raise ReviveError(
                    f"training diverged at step {step} ({in_a_row} steps in a row with non-finite gradients);"
                    " try a larger --size or a lower learning rate"
                )
        else:
            in_a_row = 0
        step += 1
        recent = (recent + [time.monotonic() - tick])[-RECENT:]
        recent_losses = (recent_losses + [losses])[-RECENT:]
        per_step = sum(recent) / len(recent)
        yield StepDone(step, config.steps, losses, per_step, per_step * (config.steps - step))
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_checkpoint(run_dir, networks, base_card, step)
            _write_json(run_dir / METRICS_FILE, _mean_losses(recent_losses, step, skipped))
            yield CheckpointSaved(step, state_path)
        if step % config.preview_every == 0 or step == config.steps:
            yield _preview(networks, a, run_dir, step, device, dtype)
            yield judge.judge(step, networks.g.module)
    metrics = _mean_losses(recent_losses, step, skipped)
    model_path = None
    if config.name:
        try:
            model_path = export_cyclegan(run_dir, config.name, keep_worse=config.keep_worse, replace_any=config.force)
        except NotBetter as error:
            log.info("%s: %s", run_dir.name, error)
    book = judge.book
    last = book.last()
    metrics["held_out_scores"] = {
        "base_model": base_card.name,
        "photos": len(book.photos),
        "base": book.base,
        "best_step": book.best_step,
        "best": book.best,
        "last_step": last[0] if last else None,
        "last": last[1] if last else None,
        "installed": model_path is not None,
    }
    yield TrainingFinished(step, model_path, metrics=metrics)


def _saved_base(run_dir: Path) -> tuple[nn.Module, ModelCard, Path]:
    """G's architecture as the run recorded it (``base_card.json``, ``dataset.json``); DamagedRun
    when those files are unreadable or describe no buildable model."""
    try:
        base_card = ModelCard.from_json(required_run_file(run_dir / BASE_CARD_FILE), BASE_CARD_FILE)
        dataset = load_run_dataset(run_dir)
        return build(base_card.architecture, base_card.arguments), base_card, Path(dataset["base_path"])
    except (ReviveError, ValueError) as error:
        log.info("cannot resume %s: %s", run_dir, error)
        raise DamagedRun(run_dir) from None


def _restore(networks: CycleGANNetworks, state: dict, run_dir: Path) -> None:
    """Load a checked saved state into ``networks``; the optimizers keep the config's options."""
    optimizers = (networks.opt_g, networks.opt_d)
    options = [[{k: v for k, v in g.items() if k != "params"} for g in o.param_groups] for o in optimizers]
    networks.load_state_dict(state)  # ReviveError when it is another model's or other options'
    for optimizer, groups in zip(optimizers, options):
        for group, from_config in zip(optimizer.param_groups, groups):
            group.update(from_config)
        problem = check_optimizer_state(optimizer)
        if problem:
            log.info("%s: optimizer state: %s", run_dir, problem)
            raise DamagedRun(run_dir)
    assert isinstance(networks.g, ColorizerG)  # build_networks' G is always the colorizer
    centers = getattr(networks.g.module, "bin_centers", None)
    if centers is not None:
        weights = networks.g.class_weights
        if weights is None or weights.shape != (len(centers),):
            log.info("%s: colour-class weights missing or of the wrong size", run_dir)
            raise DamagedRun(run_dir)
        networks.g.class_weights = weights.to(centers.device)


def _mean_losses(recent_losses: list[dict[str, float]], step: int, skipped: int = 0) -> dict:
    """The metrics of a checkpoint; ``skipped``: steps since this session started with an update
    left out for non-finite gradients."""
    if not recent_losses:
        return {"step": step, "skipped_steps": skipped}
    means = {name: sum(losses[name] for losses in recent_losses) / len(recent_losses) for name in LOSS_NAMES}
    return {"step": step, "mean_losses_last_steps": len(recent_losses), "losses": means, "skipped_steps": skipped}


def _preview(networks, a: DomainData, run_dir: Path, step: int, device, dtype, base: bool = False) -> PreviewReady:
    images = translate_previews(networks.g, a.previews, device, dtype)
    if images:
        save_grid(images, run_dir / "previews" / f"step_{step:06d}.png")
    return PreviewReady(step, images, base=base)
