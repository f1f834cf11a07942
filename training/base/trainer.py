"""Training the base colorizer: L* (and optional hints) -> a*b* colour classes, on colour photos.

The loop is a generator of ``training.events`` objects; it checks a cancel token every step, saves
a resumable state (``state.pt``, tensors only, loaded with ``weights_only=True`` and checked field
by field) every ``checkpoint_every`` steps and on cancel, a snapshot of the averaged weights as a
model file at every validation, and exports a normal model file at the end, never over a model it
did not install itself (``training.base.installing``). A resumed run keeps the options it was
started with (``training.base.run_options``); running out of memory is one line that says what to
lower, after saving the run when a step was trained (``training.base.memory``).

Recipe (revive-base v2): sources balanced by square-root sampling (``training.base.data``); random
crops, scale and flips; inputs degraded like old scans (``training.data.augment``); simulated colour
hints in half of the batches (``training.data.hint_sampling``); the class-rebalanced colour loss of
Zhang et al. 2016 plus a light L1 term on the distribution's mean a*b*, which pulls uncertain
regions toward neutral rather than toward the prior's favourite blue; an exponential moving
average (EMA) of the weights for validation and export; the decoding chosen at export on photos
the run never trained on (``training.decoding_sweep``).

Batches are a pure function of (seed, step), so a resumed run continues the same sequence.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.batch.settings import DEFAULT_TEMPERATURE
from engine.cancel import CancelToken
from engine.color import lab_to_rgb, rgb_to_lab
from engine.device import DeviceChoice, free_cached_memory, select_device
from engine.errors import Cancelled, OutOfMemory, ReviveError
from engine.metrics import colourfulness, gray_copy, score, summarize
from engine.models.ab_bins import annealed_mean
from engine.models.architectures.unet_colorizer import UNetColorizer
from engine.models.files import ModelCard, load_model, save_model
from engine.models.registry import is_shipped_name, resolve_model
from engine.paths import runs_dir
from engine.version import app_version
from training.base.config import BaseTrainingConfig
from training.base.data import load_photo_cache
from training.base.installing import check_name_is_free, forget_installs, install
from training.base.memory import (
    export_out_of_memory_text,
    is_memory_error,
    memory_errors_as,
    out_of_memory_text,
    smaller_run_advice,
)
from training.base.run_options import check_resume_options, save_options
from training.base.saved_state import DAMAGED_RUN, load_state, restore, save_state
from training.base.snapshot_choice import (
    SCORE_FIELD,
    best_step,
    load_snapshot,
    score_snapshot,
    scored_snapshots,
    scoring_decodings,
    snapshot_path,
)
from training.colour_classes import colour_class_loss, mean_ab_l1, rebalancing_weights
from training.data.augment import degrade
from training.data.hint_sampling import sample_hints
from training.data.photo_folder import list_photos, load_square_cache, split_photos, spread
from training.decoded_error import decoded_error_loss
from training.decoding_sweep import Decoding, bars_met, grid, load_originals, sweep
from training.decoding_sweep import choose as choose_decoding
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted, ValidationDone
from training.schedule import warmup_cosine

log = logging.getLogger(__name__)

MAX_SKIPPED_STEPS = 3  # steps in a row with non-finite gradients before a run is called diverged
PREFETCH_ON_ACCELERATORS = 6  # batches made ahead at once when the model trains on a GPU
STAGED_MODEL_FILE = "to-install.safetensors"  # the exported model before it is installed


def run_dir_for(config: BaseTrainingConfig) -> Path:
    return config.run_dir or runs_dir() / f"base-{config.name}"


def learning_rate_factor(step: int, total: int) -> float:
    """Linear warm-up, then cosine decay to 5 % of the peak (``training.schedule``)."""
    return warmup_cosine(step, total, 0.05)


def _to_lab(rgb_uint8: torch.Tensor) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 -> ``(N, 3, H, W)`` float32 Lab."""
    return rgb_to_lab(rgb_uint8.permute(0, 3, 1, 2).float() / 255.0)


@dataclass(frozen=True)
class Batch:
    """One training step's data: ``inputs`` ``(N, C, S, S)`` (L*/50 - 1 of the degraded photo,
    then the hint channels when the model takes hints) and the clean photo's a*b* ``(N, 2, S, S)``."""

    inputs: torch.Tensor
    ab: torch.Tensor


def make_batch(
    cache: torch.Tensor, config: BaseTrainingConfig, step: int, weights: torch.Tensor | None = None
) -> Batch:
    """Random crops (scale jitter, flips) for ``step``, photos drawn with ``weights`` (``(N,)``
    probabilities, None: uniform), inputs degraded and hinted as the config says."""
    generator = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
    count, side = cache.shape[0], cache.shape[1]
    if weights is None:
        index = torch.randint(count, (config.batch_size,), generator=generator)
    else:
        index = torch.multinomial(weights, config.batch_size, replacement=True, generator=generator)
    crop = int(torch.randint(config.size, side + 1, (1,), generator=generator))
    y = int(torch.randint(0, side - crop + 1, (1,), generator=generator))
    x = int(torch.randint(0, side - crop + 1, (1,), generator=generator))
    images = cache[index, y : y + crop, x : x + crop].permute(0, 3, 1, 2).float() / 255.0
    if crop != config.size:  # resized in sRGB before the (costly) Lab conversion: fewer pixels to convert
        images = F.interpolate(images, size=(config.size, config.size), mode="bilinear", align_corners=False)
    lab = rgb_to_lab(images.clamp(0.0, 1.0))
    flip = torch.rand(config.batch_size, generator=generator) < 0.5
    lab[flip] = lab[flip].flip(-1)
    lightness, ab = lab[:, :1], lab[:, 1:]
    if config.augment_strength > 0:
        lightness = degrade(lightness, generator, config.augment_strength)
    inputs = lightness / 50.0 - 1.0
    if config.hints:
        inputs = torch.cat((inputs, sample_hints(ab, generator, config.hint_none_probability)), dim=1)
    return Batch(inputs, ab)


class WeightAverage:
    """Exponential moving average of a model's parameters and buffers (the weights exported)."""

    def __init__(self, model: UNetColorizer, decay: float) -> None:
        self.decay = decay
        self.model: UNetColorizer = copy.deepcopy(model).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        # A short warm-up (as in timm's ModelEmaV2 variants): early weights are forgotten quickly.
        decay = min(self.decay, (1 + step) / (10 + step))
        for average, current in zip(self.model.state_dict().values(), model.state_dict().values()):
            if average.is_floating_point():
                average.mul_(decay).add_(current.detach(), alpha=1 - decay)
            else:
                average.copy_(current)

    def state_dict(self) -> dict:
        return self.model.state_dict()


@torch.inference_mode()
def evaluate(
    model: UNetColorizer, images: np.ndarray, device, dtype, temperature: float = DEFAULT_TEMPERATURE
) -> dict[str, float]:
    """Colorize held-out squares ``(N, S, S, 3)`` uint8 from their L* (no hints) and score them
    against a gray copy (``engine.metrics.summarize``): a quick check while training."""
    model.eval()
    rows, gray_rows, originals = [], [], []
    for start in range(0, len(images), 16):
        chunk = torch.from_numpy(images[start : start + 16])
        lab = _to_lab(chunk)
        x = model.network_input((lab[:, :1] / 50.0 - 1.0).to(device))
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            logits = model(x).float()
        ab = annealed_mean(logits, model.bin_centers, temperature, model.log_class_weights, 0.0)
        ab = F.interpolate(ab, size=lab.shape[-2:], mode="bilinear", align_corners=False).cpu()
        rgb = lab_to_rgb(torch.cat((lab[:, :1], ab), 1))
        for i in range(len(chunk)):
            out = (rgb[i].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
            reference = chunk[i].numpy()
            rows.append(score(out, reference))
            gray_rows.append(score(gray_copy(reference), reference))
            originals.append(colourfulness(reference))
    return summarize(rows, gray_rows, originals)


def train_base(config: BaseTrainingConfig, cancel: CancelToken | None = None) -> Iterator[object]:
    """Train (or resume) a base colorizer and install it as user model ``config.name``.

    ReviveError in one line, before anything is trained, for a shipped name without ``force``, an
    existing run without ``resume`` (or ``resume`` without one), a model of that name this run did
    not install, a resume with other training options, or a damaged saved run; OutOfMemory when
    memory runs out."""
    cancel = cancel or CancelToken()
    if is_shipped_name(config.name) and not config.force:
        raise ReviveError(
            f"{config.name!r} is the name of a shipped model: your model would replace it everywhere;"
            " choose another name, or add --force"
        )
    choice = select_device(config.device)
    device, dtype = choice.device, choice.dtype
    run_dir = run_dir_for(config)
    state_path = run_dir / "state.pt"
    if state_path.exists() and not config.resume:
        raise ReviveError(
            f"a training run already exists in {run_dir}: add --resume to continue it, or pick another name"
        )
    if config.resume and not state_path.exists():
        raise ReviveError(f"there is no saved run to resume in {run_dir}")
    check_name_is_free(run_dir, config.name, resumed=config.resume)  # and again just before installing

    start = starting_model(config.init_from) if config.init_from else None
    if start is not None:  # its architecture, whatever the options say
        arguments = start.module_arguments
        config = replace(
            config,
            widths=tuple(arguments["widths"]),
            blocks=int(arguments["blocks"]),
            hints=bool(arguments["hints"]),
            global_fusion=bool(arguments["global_fusion"]),
        )
    if config.resume:
        check_resume_options(run_dir, config)
    train_paths, validation_paths = split_photos(list_photos(config.photos))
    if not train_paths:
        raise ReviveError(f"no photos found in {config.photos}")
    state = load_state(state_path, device) if config.resume else None
    with memory_errors_as(
        f"not enough memory to hold {len(train_paths)} photos at {config.cache_size} px:"
        f" try a smaller --size (now {config.size}) or fewer photos"
    ):
        data = load_photo_cache(train_paths, config.cache_size, cancel=cancel)
        train_cache = data.images
        weights = data.sampling_weights(config.balance_power) if config.balance_power < 1 else None
        validation_cache = load_square_cache(validation_paths[: config.validation_images], config.size, cancel=cancel)
        # The photos every snapshot is scored on (training.base.snapshot_choice), read once.
        score_photos = (
            load_originals(spread(tune_paths(config, validation_paths), config.snapshot_images))
            if config.keep_best
            else []
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    if state is None:  # a new run: what --resume must keep, and no claim on an older run's installs
        forget_installs(run_dir)
        save_options(run_dir, config)

    with memory_errors_as(
        f"out of memory on {choice.description} setting up the network: try {smaller_run_advice(config, choice)}"
    ):
        torch.manual_seed(config.seed)  # the same seed gives the same initial weights, hence the same model
        model = UNetColorizer(**config.architecture_arguments).to(device)
        if start is not None:
            model.load_state_dict(start.module.state_dict())
        ema = WeightAverage(model, config.ema_decay)
    centers = model.bin_centers
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate, betas=(0.9, 0.99), weight_decay=1e-5)
    start_step = 0
    if state is not None:
        restore(state, run_dir, model, ema.model, optimizer)
        start_step = int(state["step"])
        class_weights = state["class_weights"].to(device)
        if class_weights.shape != (len(centers),):
            raise ReviveError(DAMAGED_RUN.format(run_dir))
    elif start is not None:  # the model's own weights: its prior correction keeps its meaning
        class_weights = start.module.get_buffer("log_class_weights").exp().to(device)
    else:
        sample = _to_lab(train_cache[:: max(1, len(train_cache) // 1000)])
        class_weights = rebalancing_weights(F.avg_pool2d(sample[:, 1:], 4), centers.cpu(), config.rebalance_lambda).to(
            device
        )
    model.log_class_weights.copy_(class_weights.log())
    ema.model.get_buffer("log_class_weights").copy_(class_weights.log())
    yield TrainingStarted(
        run_dir, start_step, config.steps, choice.description, len(train_cache), len(validation_cache)
    )

    model.train()
    run = _Run(
        config,
        model,
        ema,
        optimizer,
        class_weights,
        train_cache,
        weights,
        validation_cache,
        validation_paths,
        run_dir,
        state_path,
        device,
        dtype,
        cancel,
        start.decoding if start is not None else None,
        choice,
        score_photos,
    )
    yield from _loop(run, start_step)


@dataclass(frozen=True)
class StartingModel:
    """An installed colorizer a run continues from (``BaseTrainingConfig.init_from``)."""

    module: UNetColorizer
    module_arguments: dict
    decoding: Decoding


def starting_model(name: str) -> StartingModel:
    """The model ``name`` (installed name or file) to continue; ReviveError when it is missing,
    unreadable, or not one of Revive's own colorizers (only those can be trained further here)."""
    path = resolve_model(name)
    module, card = load_model(path)
    if card.architecture != "unet_colorizer" or not isinstance(module, UNetColorizer):
        raise ReviveError(f"{path.name} is not a Revive colorizer (unet_colorizer): it cannot be trained further")
    arguments = {
        "widths": list(module.widths),
        "blocks": module.blocks,
        "hints": module.hints,
        "global_fusion": module.global_fusion,
    }
    return StartingModel(module, arguments, Decoding.of_card(card))


@dataclass(frozen=True)
class _Run:
    """What the training steps work with, built once by ``train_base``: the model, its average
    and optimizer, the colour-class weights, the cached photos (``train_cache`` ``(N, S, S, 3)``
    uint8 sRGB, sampled with ``weights`` ``(N,)`` or uniformly when None; the validation squares
    and the held-out paths the decoding is chosen on) and where the run is saved."""

    config: BaseTrainingConfig
    model: UNetColorizer
    ema: WeightAverage
    optimizer: torch.optim.Optimizer
    class_weights: torch.Tensor
    train_cache: torch.Tensor
    weights: torch.Tensor | None
    validation_cache: np.ndarray
    validation_paths: list[Path]
    run_dir: Path
    state_path: Path
    device: torch.device
    dtype: torch.dtype
    cancel: CancelToken
    start_decoding: Decoding | None  # the decoding of the model the run continues, if any
    device_choice: DeviceChoice
    score_photos: list[tuple[Path, np.ndarray]]  # snapshots are scored on these (empty: keep the last)


def _loop(run: _Run, step: int) -> Iterator[object]:
    """The training steps from ``step`` on, then the export (see ``train_base``)."""
    config = run.config
    started = time.monotonic()
    # The next batch is made on a helper thread while the model trains on this one (torch and
    # Pillow release the GIL): making a batch (crops, Lab, old-scan degradations, hints) took as
    # long as a training step on the 2-core CPU. On a GPU a step is faster than one thread makes a
    # batch (0.1 s for 64 crops of 128 px), so several are made ahead at once. Batches are a pure
    # function of the step, so the sequence is the same however many.
    depth = prefetch_depth(run.device)
    prefetch = ThreadPoolExecutor(max_workers=depth, thread_name_prefix="revive-batch")
    try:
        upcoming = {
            s: prefetch.submit(make_batch, run.train_cache, config, s, run.weights)
            for s in range(step, min(step + depth, config.steps))
        }
        final = yield from _steps(run, step, prefetch, upcoming, depth)
    finally:
        prefetch.shutdown(wait=True, cancel_futures=True)
    if final is None:  # stopped: the state is saved, nothing is exported
        return
    log.info("trained %d steps in %.0f s", final - step, time.monotonic() - started)
    try:  # the last step's state is saved: a resumed run comes straight back to the export
        yield from _export(run, final)
    except (MemoryError, RuntimeError, OutOfMemory) as error:
        if not is_memory_error(error):
            raise
        raise OutOfMemory(export_out_of_memory_text(final, run.run_dir)) from None


def prefetch_depth(device: torch.device) -> int:
    """How many batches are made ahead at once: one on a CPU (its cores are busy training), several
    on an accelerator."""
    return 1 if device.type == "cpu" else PREFETCH_ON_ACCELERATORS


def _steps(
    run: _Run, step: int, prefetch: ThreadPoolExecutor, upcoming: dict, depth: int = 1
) -> Generator[object, None, int | None]:
    """Train from ``step`` to ``config.steps``; returns the last step, or None when stopped
    (after saving the state). ``upcoming``: step -> the batch being made for it on ``prefetch``,
    ``depth`` steps ahead. Running out of memory is one OutOfMemory line (``_out_of_memory``)."""
    config, model, ema, optimizer = run.config, run.model, run.ema, run.optimizer
    device, dtype, cancel = run.device, run.dtype, run.cancel
    state_path, class_weights, train_cache, weights = run.state_path, run.class_weights, run.train_cache, run.weights
    recent: list[float] = []
    skipped = 0  # steps in a row whose gradients were not finite
    first = step
    saved: int | None = step if state_path.exists() else None  # the step the saved state holds
    shown = run.start_decoding or Decoding(temperature=DEFAULT_TEMPERATURE)  # what --decoded-weight decodes with
    while step < config.steps:
        if cancel.cancelled:
            save_state(state_path, model, ema, optimizer, step, class_weights)
            yield CheckpointSaved(step, state_path)
            yield TrainingFinished(step, None, cancelled=True)
            return None
        tick = time.monotonic()
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * learning_rate_factor(step, config.steps)
        try:
            batch = upcoming.pop(step).result()
            if step + depth < config.steps:
                upcoming[step + depth] = prefetch.submit(make_batch, train_cache, config, step + depth, weights)
            losses, gradient_norm = _backward(run, batch, step, shown)
        except (MemoryError, RuntimeError) as error:  # the weights are still those of `step`: saved
            if not is_memory_error(error):
                raise
            raise _out_of_memory(run, step, saved, save=step > first) from None
        try:
            # A finite loss can still give non-finite gradients: bf16 through a BatchNorm over a couple
            # of values (the photo-level branch's 1x1 map, from small crops and batches). Such a step
            # is left out rather than let one NaN into every weight and the installed model.
            if torch.isfinite(gradient_norm):
                skipped = 0
                optimizer.step()
            else:
                skipped += 1
                log.warning("step %d left out: its gradients are not finite", step)
                if skipped >= MAX_SKIPPED_STEPS:
                    raise ReviveError(
                        f"training diverged at step {step} ({skipped} steps in a row with non-finite gradients);"
                        " try a lower learning rate, or a larger --size or --batch-size"
                    )
            ema.update(model, step)
        except (MemoryError, RuntimeError) as error:  # perhaps half-updated weights: not saved
            if not is_memory_error(error):
                raise
            raise _out_of_memory(run, step, saved, save=False) from None
        step += 1
        recent = (recent + [time.monotonic() - tick])[-50:]
        per_step = sum(recent) / len(recent)
        yield StepDone(
            step, config.steps, {k: v.item() for k, v in losses.items()}, per_step, per_step * (config.steps - step)
        )
        if step % config.checkpoint_every == 0 or step == config.steps:
            save_state(state_path, model, ema, optimizer, step, class_weights)
            saved = step
            yield CheckpointSaved(step, state_path)
        if (step % config.validate_every == 0 or step == config.steps) and len(run.validation_cache):
            try:
                summary = evaluate(ema.model, run.validation_cache, device, dtype)
                score = _score(run, ema.model, step)
                _save_snapshot(run.run_dir, config, ema.model, step, len(train_cache), score)
            except Cancelled:  # the snapshot is not saved: a resumed run has one fewer to choose from
                save_state(state_path, model, ema, optimizer, step, class_weights)
                yield CheckpointSaved(step, state_path)
                yield TrainingFinished(step, None, cancelled=True)
                return None
            except (MemoryError, RuntimeError, OutOfMemory) as error:  # after a whole step: saved
                if not is_memory_error(error):
                    raise
                raise _out_of_memory(run, step, saved, save=True) from None
            yield ValidationDone(step, summary, score)
    return step


def _backward(run: _Run, batch: Batch, step: int, shown: Decoding) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The losses of ``batch`` (name -> scalar tensor) and the norm of their gradients, which are
    left on the model's weights; ReviveError when the loss is not finite. ``shown``: the decoding
    the decoded-colour term decodes with."""
    config, model, device, dtype = run.config, run.model, run.device, run.dtype
    centers, class_weights = model.bin_centers, run.class_weights
    inputs, ab = batch.inputs.to(device), batch.ab.to(device)
    with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        logits = model(inputs)
    classes = colour_class_loss(logits, ab, centers, class_weights)
    losses = {"colour_classes": classes}
    loss = classes
    if config.regression_weight:
        regression = mean_ab_l1(logits, ab, centers)
        losses["mean_ab_l1"] = regression
        loss = loss + config.regression_weight * regression
    if config.decoded_weight:
        decoded = decoded_error_loss(
            logits,
            ab,
            (inputs[:, :1].float() + 1.0) * 50.0,
            centers,
            model.log_class_weights,
            shown.temperature,
            shown.prior_correction,
            shown.chroma_scale,
            shown.lightness_rolloff,
            config.decoded_colour_floor,
        )
        losses["decoded_vs_gray"] = decoded
        loss = loss + config.decoded_weight * decoded
    if not torch.isfinite(loss):
        raise ReviveError(f"training diverged at step {step} (loss is {loss.item()}); try a lower learning rate")
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    return losses, torch.nn.utils.clip_grad_norm_(model.parameters(), math.inf)


def _out_of_memory(run: _Run, step: int, saved: int | None, save: bool) -> OutOfMemory:
    """The error for memory running out at ``step``, after saving the state of ``step`` when
    ``save`` (the weights are whole, and some step was trained since ``saved``) and it fits."""
    free_cached_memory(run.device)  # room to save, and for whatever runs next
    if save and step != saved:
        try:
            save_state(run.state_path, run.model, run.ema, run.optimizer, step, run.class_weights)
            saved = step
        except (MemoryError, RuntimeError, ReviveError) as error:  # the last checkpoint stands
            log.warning("the run could not be saved after running out of memory: %s", error)
    return OutOfMemory(out_of_memory_text(run.config, run.device_choice, step, saved, run.run_dir))


def _score(run: _Run, model: UNetColorizer, step: int) -> dict | None:
    """The averaged weights' score on the run's score photos (None when it scores none)."""
    if not run.score_photos:
        return None
    card = _card(run.config, len(run.train_cache), step)
    decodings = scoring_decodings(run.config, run.start_decoding)
    return score_snapshot(model, card, run.device_choice, run.score_photos, decodings, run.cancel)


def _card(
    config: BaseTrainingConfig,
    train_count: int,
    step: int,
    decoding: Decoding | None = None,
    metrics: dict | None = None,
) -> ModelCard:
    decoding = decoding or Decoding(config.render_size)
    return ModelCard(
        name=config.name,
        architecture="unet_colorizer",
        arguments=config.architecture_arguments,
        **decoding.card_fields(),
        description="Revive's own colorizer: it predicts the colours of a photo from its gray tones"
        + (", and follows colour hints" if config.hints else "")
        + ".",
        trained_on=f"{train_count} colour photos from {Path(config.photos).name}/ (held-out split by file-name hash)",
        training={
            **{
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in asdict(config).items()
                if k not in ("run_dir", "resume", "force")
            },
            "steps_done": step,
            "revive_version": app_version(),
            "loss": f"class-rebalanced soft colour classification (lambda {config.rebalance_lambda}, 5 neighbours,"
            f" sigma 5) + {config.regression_weight} x L1 of the mean a*b*"
            + (
                f" + {config.decoded_weight} x decoded colour's error over the gray copy's"
                f" (colour floor {config.decoded_colour_floor})"
                if config.decoded_weight
                else ""
            ),
            "decoding": "chosen on photos never trained on (training.decoding_sweep)",
        },
        metrics=metrics or {},
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def _save_snapshot(
    run_dir: Path, config: BaseTrainingConfig, model, step: int, train_count: int, score: dict | None = None
) -> None:
    """The averaged weights as a model file (``snapshots/step-N.safetensors``), with their
    ``score`` in the card: any checkpoint can be scored, chosen or used without the training state."""
    snapshot = copy.deepcopy(model).cpu().eval()
    metrics = {SCORE_FIELD: score} if score else {}
    save_model(snapshot_path(run_dir / "snapshots", step), snapshot, _card(config, train_count, step, metrics=metrics))


def tune_paths(config: BaseTrainingConfig, validation_paths: list[Path]) -> list[Path]:
    """The photos the decoding is chosen on: ``tune_photos`` when given, else the held-out split."""
    paths = list_photos(config.tune_photos) if config.tune_photos else validation_paths
    return paths[: config.tune_images]


def _export(run: _Run, step: int) -> Iterator[object]:
    """Choose the snapshot to install (``_kept_weights``), then its decoding on the tune photos, and
    install it. Stopped (Ctrl+C) at either: the state is saved, ``--resume`` comes straight back here."""
    from engine.device import select_device as choose
    from engine.models.colorizer import Colorizer

    config, train_count, cancel = run.config, len(run.train_cache), run.cancel
    try:
        model, choice = _kept_weights(run, step)
        model = copy.deepcopy(model).cpu().eval()
        colorizer = Colorizer(model, _card(config, train_count, step), choose("cpu"))
        photos = load_originals(tune_paths(config, run.validation_paths))
        summaries: dict = {}
        if photos:
            decodings = grid(*config.decoding_grid(run.start_decoding))
            for _, result in sweep(colorizer, photos, decodings, cancel=cancel):
                summaries = result or summaries
    except Cancelled:
        yield TrainingFinished(step, None, cancelled=True)
        return
    decoding = choose_decoding(summaries) if summaries else Decoding(config.render_size)
    metrics = {
        "tuned_on": _tuned_on(config),
        "tuned_photos": len(photos),
        "chosen": summaries.get(decoding, {}),
        "bars_met": bars_met(summaries[decoding]) if decoding in summaries else {},
        "decoding_sweep": {d.label: s for d, s in summaries.items()},
        **({"snapshot_choice": choice} if choice else {}),
    }
    card = _card(config, train_count, step, decoding, metrics)
    # Written in the run folder first, then placed only if nothing there is another's (re-checked
    # now: a file of that name may have appeared during a long run).
    staged = save_model(run.run_dir / STAGED_MODEL_FILE, model, card)
    path = install(run.run_dir, config.name, staged)
    yield TrainingFinished(step, path, metrics=metrics)


def _tuned_on(config: BaseTrainingConfig) -> str:
    return str(config.tune_photos) if config.tune_photos else "held-out split of the training folder"


def _kept_weights(run: _Run, step: int) -> tuple[torch.nn.Module, dict]:
    """The weights to install: the run's best-scoring snapshot (``training.base.snapshot_choice``),
    the last averaged weights when the run scores none (``--keep-last``, no photos to score on);
    and what was compared, for the card (empty when nothing was)."""
    if not run.score_photos:
        return run.ema.model, {}
    scores = scored_snapshots(run.run_dir / "snapshots", run.config, step, len(run.score_photos))
    # The last weights always compete: scored here when their snapshot was not (no validation
    # images, or stopped while it was being scored).
    last = scores.get(step) or _score(run, run.ema.model, step)
    if last is not None:
        scores[step] = last
    kept = best_step(scores)
    model = load_snapshot(snapshot_path(run.run_dir / "snapshots", kept), run.config) if kept != step else None
    if model is None:
        kept, model = step, run.ema.model
    choice = {
        "kept_step": kept,
        "last_step": step,
        "scored_on": _tuned_on(run.config),
        "scored_photos": len(run.score_photos),
        "scores": {str(s): scores[s] for s in sorted(scores)},
    }
    return model, choice
