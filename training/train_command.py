"""The ``train`` subcommand: fine-tune the colorizer on two unpaired folders (CycleGAN).

    main.py train --old DIR --color DIR --out NAME [--base MODEL] [--preset NAME] [--steps N]
                  [--size N] [--device auto|cpu|cuda|mps] [--resume]

Order: check the folders (findings printed; blocking problems -> exit 2), estimate the time, train
with a progress line (one updating line on a terminal, a line every 5 % otherwise), export.

Exit status: 0 trained and installed; 2 bad options, folders or model (one line on stderr, no
traceback); 130 cancelled with Ctrl-C (the conventional 128 + SIGINT: the state is saved and the
message says how to resume); 1 any other failure reported by the engine during training.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

from engine.cancel import CancelToken
from engine.device import DEVICE_CHOICES
from engine.errors import ReviveError
from training.cyclegan_config import CycleGANConfig
from training.cyclegan_events import PreviewReady
from training.cyclegan_trainer import train_cyclegan
from training.dataset_check import check_dataset
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted
from training.presets import DEFAULT_PRESET, PRESETS, estimate_seconds, make_config

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
SHOWN_LOSSES = ("G_adv", "cycle_A", "cycle_B", "paired", "D_A", "D_B")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--old", required=True, type=Path, help="folder of old photos (gray, sepia, faded): domain A")
    parser.add_argument("--color", required=True, type=Path, help="folder of colour photos: domain B")
    parser.add_argument("--out", required=True, metavar="NAME", help="name of the new model (and of the run)")
    parser.add_argument("--base", metavar="MODEL", help="model to start from (name or file; default: the default model)")
    parser.add_argument(
        "--preset", default=DEFAULT_PRESET, choices=tuple(PRESETS),
        help=f"starting point for every option (default {DEFAULT_PRESET}): "
        + "; ".join(f"{p.name}: {p.description}" for p in PRESETS.values()),
    )
    parser.add_argument("--steps", type=int, help="training steps (default: the preset's)")
    parser.add_argument("--size", type=int, help="training crop side in pixels, a multiple of 16 (default: the preset's)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="where to train (default auto)")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run of this name")


def format_seconds(seconds: float) -> str:
    seconds = int(round(max(0.0, seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _resume_command(args: argparse.Namespace) -> str:
    parts = ["main.py", "train", "--old", str(args.old), "--color", str(args.color), "--out", args.out, "--preset", args.preset]
    for flag, value in (("--base", args.base), ("--steps", args.steps), ("--size", args.size)):
        if value is not None:
            parts += [flag, str(value)]
    if args.device != "auto":
        parts += ["--device", args.device]
    return shlex.join(parts + ["--resume"])


def _fail(message: str, status: int = EXIT_USAGE) -> int:
    print(f"revive train: {' '.join(str(message).split())}", file=sys.stderr)
    return status


def run(args: argparse.Namespace) -> int:
    """Run the command; returns the exit status (see the module docstring). Never raises for bad input."""
    try:
        config = make_config(
            args.preset, args.old, args.color, name=args.out, base=args.base, steps=args.steps, size=args.size,
            device=args.device, resume=args.resume,
        )
        report = check_dataset(config.old, config.color, min_side=config.size)
        print(report.summary())
        for warning in report.warnings:
            print(f"warning: {warning}")
        if report.errors:
            more = f" (and {len(report.errors) - 1} more problem(s))" if len(report.errors) > 1 else ""
            return _fail(report.errors[0] + more)
        print("estimating the training time...", flush=True)
        print(f"estimated time: about {format_seconds(estimate_seconds(config))} for {config.steps} steps", flush=True)
        return _train(config, args)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return _fail("cancelled before training started", EXIT_CANCELLED)
    except (ReviveError, ValueError) as error:
        return _fail(str(error))


def _train(config: CycleGANConfig, args: argparse.Namespace) -> int:
    cancel = CancelToken()
    previous = None
    if threading.current_thread() is threading.main_thread():
        # First Ctrl-C: finish the current step, save and stop. The default handler comes back
        # afterwards, so a second Ctrl-C still interrupts at once.
        def on_interrupt(signum, frame) -> None:
            cancel.cancel()
            signal.signal(signal.SIGINT, previous)

        previous = signal.signal(signal.SIGINT, on_interrupt) or signal.default_int_handler
    try:
        return _follow(train_cyclegan(config, cancel), config, args)
    except ReviveError as error:
        return _fail(str(error), EXIT_FAILED)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _follow(events, config: CycleGANConfig, args: argparse.Namespace) -> int:
    tty = sys.stdout.isatty()
    every = max(1, config.steps // 20)
    last_print = 0.0
    for event in events:
        if isinstance(event, TrainingStarted):
            verb = "resuming at step" if event.start_step else "training from step"
            print(f"{verb} {event.start_step} of {event.total_steps} on {event.device}; run folder {event.run_dir}")
        elif isinstance(event, StepDone):
            losses = " ".join(f"{name} {event.losses[name]:.3f}" for name in SHOWN_LOSSES)
            line = f"step {event.step}/{event.total_steps}  {losses}  ETA {format_seconds(event.eta_seconds)}"
            if tty:
                print(f"\r\x1b[2K{line}", end="", flush=True)
            elif event.step % every == 0 or event.step == event.total_steps or time.monotonic() - last_print > 60:
                print(line, flush=True)
                last_print = time.monotonic()
        elif isinstance(event, PreviewReady) and not tty:
            print(f"preview at step {event.step} saved", flush=True)
        elif isinstance(event, CheckpointSaved) and not tty:
            print(f"checkpoint at step {event.step}: {event.path}", flush=True)
        elif isinstance(event, TrainingFinished):
            if tty:
                print()
            if event.cancelled:
                print(f"cancelled at step {event.step}; the state is saved. Resume with:\n  {_resume_command(args)}")
                return EXIT_CANCELLED
            print(f"model installed: {event.model_path}")
            print(f"use it: main.py colorize --model {config.name} PHOTOS...")
            return EXIT_OK
    return _fail("training ended without finishing", EXIT_FAILED)
