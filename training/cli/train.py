"""The ``train`` subcommand: fine-tune the colorizer on two unpaired folders (CycleGAN).

    main.py train --old DIR --color DIR --out NAME [--base MODEL] [--preset NAME] [--steps N]
                  [--size N] [--device auto|cpu|cuda|mps] [--resume] [--force] [--keep-worse]

Order: check the name and the saved run (without torch, before anything is read or written), then
the folders (findings printed; blocking problems -> exit 2), estimate the time, train with a
progress line (one updating line on a terminal, a line every 5 % otherwise), then the before/after
table (base vs fine-tuned on colour photos kept aside) and the install: the best step's model when
one beats the base; otherwise nothing is installed (a note says so, exit 0) unless ``--keep-worse``.

Torch is imported only when the command runs (``main.py --help`` stays instant). Training runs on
a worker thread (``engine.cli.runtime``): the first Ctrl+C (or SIGTERM) saves a resumable state and
stops, a second quits at once.

Exit status: 0 trained (installed, or not better than the base and not installed); 2 bad options, name, folders, model or saved run (one line on
stderr, no traceback); 130 cancelled with Ctrl-C (the conventional 128 + SIGINT: the state is saved
and the message says how to resume); 1 any other failure reported by the engine during training.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from pathlib import Path

from engine.batch.settings import DEVICE_CHOICES
from engine.cancel import CancelToken
from engine.cli.runtime import events_from_thread, interrupts, printable, say
from engine.durations import about_duration, format_duration
from engine.errors import Cancelled, ReviveError
from training.cyclegan.config import (
    DEFAULT_PRESET,
    PRESETS,
    STATE_FILE,
    CycleGANConfig,
    DamagedRun,
    crop_warning,
    make_config,
    start_problem,
)

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
SHOWN_LOSSES = ("G_adv", "cycle_A", "cycle_B", "paired", "D_A", "D_B")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--old", required=True, type=Path, help="folder of old photos (gray, sepia, faded): domain A")
    parser.add_argument("--color", required=True, type=Path, help="folder of colour photos: domain B")
    parser.add_argument(
        "--out",
        required=True,
        metavar="NAME",
        help="name of the new model (and of its run folder under the runs folder)",
    )
    parser.add_argument(
        "--base", metavar="MODEL", help="model to start from (name or file; default: the default model)"
    )
    parser.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        choices=tuple(PRESETS),
        help=f"starting point for every option (default {DEFAULT_PRESET}): "
        + "; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()),
    )
    parser.add_argument("--steps", type=int, help="training steps (default: the preset's)")
    parser.add_argument(
        "--size", type=int, help="training crop side in pixels, a multiple of 16 (default: the preset's)"
    )
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="where to train (default auto)")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run of this name")
    parser.add_argument(
        "--force",
        action="store_true",
        help="allow a NAME that replaces a shipped model (e.g. revive-base) wherever that name is used",
    )
    parser.add_argument(
        "--keep-worse",
        action="store_true",
        help="install the fine-tuned model even when it does not beat the base model on the colour"
        " photos kept aside (by default only a model that does better is installed)",
    )


def _resume_command(args: argparse.Namespace) -> str:
    parts = [
        "main.py",
        "train",
        "--old",
        str(args.old),
        "--color",
        str(args.color),
        "--out",
        args.out,
        "--preset",
        args.preset,
    ]
    for flag, value in (("--base", args.base), ("--steps", args.steps), ("--size", args.size)):
        if value is not None:
            parts += [flag, str(value)]
    if args.device != "auto":
        parts += ["--device", args.device]
    for flag in ("force", "keep_worse"):
        if getattr(args, flag, False):
            parts.append("--" + flag.replace("_", "-"))
    return shlex.join([*parts, "--resume"])


def _fail(message: object, status: int = EXIT_USAGE) -> int:
    say(f"revive: {message}")
    return status


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit status (see the module docstring). Never raises for bad input."""
    try:
        config = make_config(
            args.preset,
            args.old,
            args.color,
            name=args.out,
            base=args.base,
            steps=args.steps,
            size=args.size,
            device=args.device,
            resume=args.resume,
            force=getattr(args, "force", False),
            keep_worse=getattr(args, "keep_worse", False),
        )
    except ValueError as error:
        return _fail(error)
    problem = start_problem(config)
    if problem:
        return _fail(problem)

    from training.cyclegan.export import load_run_state
    from training.cyclegan.presets import estimate_seconds
    from training.data.dataset_check import check_dataset

    try:
        if config.resume:  # a damaged run is told at once, not after the folders and the estimate
            load_run_state(config.resolved_run_dir() / STATE_FILE)
        report = check_dataset(config.old, config.color, min_side=config.size)
        for line in report.summary().splitlines():  # a folder's name may hold a newline: one line each
            print(printable(line))
        warnings = list(report.warnings)
        small_crops = crop_warning(config)
        if small_crops is not None:
            warnings.append(small_crops)
        for warning in warnings:
            print(printable(f"warning: {warning}"))
        if report.errors:
            more = f" (and {len(report.errors) - 1} more problem(s))" if len(report.errors) > 1 else ""
            return _fail(report.errors[0] + more)
        print("estimating the training time...", flush=True)
        print(f"estimated time: {about_duration(estimate_seconds(config))} for {config.steps} steps", flush=True)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return _fail("cancelled before training started", EXIT_CANCELLED)
    except (ReviveError, ValueError) as error:
        return _fail(error)
    except OSError as error:
        return _fail(_os_error_text(error))
    return _train(config, args)


def _train(config: CycleGANConfig, args: argparse.Namespace) -> int:
    from training.cyclegan.trainer import train_cyclegan

    cancel = CancelToken()
    try:
        with interrupts(cancel, "saving the run so it can be resumed"):
            events = events_from_thread(lambda: train_cyclegan(config, cancel), "revive-train")
            return _follow(events, config, args)
    except DamagedRun as error:
        return _fail(error)
    except Cancelled:  # a cancel the trainer did not turn into its cancelled finish
        return _fail("cancelled before the first step", EXIT_CANCELLED)
    except (ReviveError, ValueError) as error:
        return _fail(error, EXIT_FAILED)
    except OSError as error:
        return _fail(_os_error_text(error), EXIT_FAILED)


def _os_error_text(error: OSError) -> str:
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"


def _follow(events, config: CycleGANConfig, args: argparse.Namespace) -> int:
    from training.cyclegan.events import HoldoutScored, PreviewReady
    from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted

    tty = sys.stdout.isatty()
    every = max(1, config.steps // 20)
    last_print = 0.0
    for event in events:
        if isinstance(event, TrainingStarted):
            verb = "resuming at step" if event.start_step else "training from step"
            print(
                printable(
                    f"{verb} {event.start_step} of {event.total_steps} on {event.device}; run folder {event.run_dir}"
                )
            )
        elif isinstance(event, StepDone):
            losses = " ".join(f"{name} {event.losses[name]:.3f}" for name in SHOWN_LOSSES)
            line = f"step {event.step}/{event.total_steps}  {losses}  ETA {format_duration(event.eta_seconds)}"
            if tty:
                print(f"\r\x1b[2K{line}", end="", flush=True)
            elif event.step % every == 0 or event.step == event.total_steps or time.monotonic() - last_print > 60:
                print(line, flush=True)
                last_print = time.monotonic()
        elif isinstance(event, PreviewReady) and not tty:
            print(f"preview at step {event.step} saved", flush=True)
        elif isinstance(event, HoldoutScored) and not tty:
            verdict = "better than the base" if event.better else "not better than the base"
            print(
                f"held-out colour photos at step {event.step}: CIEDE2000 {event.tuned['ciede2000']:.2f}"
                f" (base {event.base['ciede2000']:.2f}), {verdict}",
                flush=True,
            )
        elif isinstance(event, CheckpointSaved) and not tty:
            print(printable(f"checkpoint at step {event.step}: {event.path}"), flush=True)
        elif isinstance(event, TrainingFinished):
            if tty:
                print()
            if event.cancelled:
                print(f"cancelled at step {event.step}; the state is saved. Resume with:")
                print(f"  {printable(_resume_command(args))}")
                return EXIT_CANCELLED
            _print_scores(event.metrics.get("held_out_scores"), config)
            if event.model_path is None:
                print(printable(f"note: {_not_installed_note(event.metrics.get('held_out_scores'), config)}"))
                return EXIT_OK
            print(printable(f"model installed: {event.model_path}"))
            print(printable(f"use it: main.py colorize --model {shlex.quote(config.name or '')} PHOTOS..."))
            return EXIT_OK
    return _fail("training ended without finishing", EXIT_FAILED)


def _print_scores(scores: dict | None, config: CycleGANConfig) -> None:
    """The before/after table of the held-out colour photos (what was installed, or would have been)."""
    from training.cyclegan.scores import format_table

    if not scores:
        return
    if scores["best_step"] is not None:
        step, tuned, label = scores["best_step"], scores["best"], f"fine-tuned, best (step {scores['best_step']})"
    else:
        step, tuned = scores["last_step"], scores["last"]
        label = f"fine-tuned (step {step})"
    base_name = scores.get("base_model") or config.base or "base model"
    print()
    for line in format_table(base_name, scores["base"], tuned, label, scores["photos"]).splitlines():
        print(printable(line))


def _not_installed_note(scores: dict | None, config: CycleGANConfig) -> str:
    from training.cyclegan.scores import CIEDE_MARGIN  # torch is loaded by now (the run has ended)

    base = (scores or {}).get("base_model") or config.base or "the base model"
    run_dir = config.resolved_run_dir()
    return (
        f"the fine-tuned model is not better than {base} on the colour photos kept aside (no step had a"
        f" CIEDE2000 lower by {CIEDE_MARGIN:g} or more without a stronger cast), so nothing was installed. The run is kept in {run_dir};"
        " to install it anyway, run the same command with --resume --keep-worse"
    )
