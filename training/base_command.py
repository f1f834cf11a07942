"""The ``train-base`` command: train a base colorizer and install it as a user model."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from engine.cancel import CancelToken
from engine.device import DEVICE_CHOICES
from engine.errors import ReviveError
from engine.terminal_progress import ProgressLine, format_duration
from training.base_config import BaseTrainingConfig
from training.base_trainer import train_base
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted, ValidationDone


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--photos", required=True, type=Path, metavar="DIR", help="folder of colour photos")
    parser.add_argument("--out", required=True, metavar="NAME", help="name of the model to install")
    parser.add_argument("--steps", type=int, default=5000, help="training steps (default 5000)")
    parser.add_argument("--size", type=int, default=128, help="training crop size in pixels (default 128)")
    parser.add_argument("--batch-size", type=int, default=16, help="photos per step (default 16)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--resume", action="store_true", help="continue the run of the same NAME")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    try:
        config = BaseTrainingConfig(
            photos=args.photos, name=args.out, steps=args.steps, size=args.size,
            batch_size=args.batch_size, device=args.device, resume=args.resume, seed=args.seed,
        )
    except ValueError as error:
        print(f"revive: {error}", file=sys.stderr)
        return 2
    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    progress: ProgressLine | None = None
    try:
        for event in train_base(config, cancel):
            if isinstance(event, TrainingStarted):
                print(
                    f"Training {config.name} on {event.train_images} photos ({event.validation_images} held out)"
                    f" on {event.device}, steps {event.start_step}->{event.total_steps}\nRun folder: {event.run_dir}",
                    file=sys.stderr,
                )
                progress = ProgressLine(event.total_steps)
            elif isinstance(event, StepDone) and progress:
                losses = " ".join(f"{k} {v:.3f}" for k, v in event.losses.items())
                progress.update(event.step, losses, event.eta_seconds)
            elif isinstance(event, ValidationDone):
                if progress:
                    progress.close()
                m = event.metrics
                print(
                    f"step {event.step}: validation PSNR {m['psnr']:.2f} dB (gray {m['gray_psnr']:.2f}),"
                    f" CIEDE2000 {m['ciede2000']:.2f} (gray {m['gray_ciede2000']:.2f}),"
                    f" colourfulness {m['colourfulness']:.1f} (originals {m['original_colourfulness']:.1f})",
                    file=sys.stderr,
                )
            elif isinstance(event, CheckpointSaved):
                pass
            elif isinstance(event, TrainingFinished):
                if progress:
                    progress.close()
                if event.cancelled:
                    print(f"Stopped at step {event.step}; state saved. Resume with the same command and --resume.",
                          file=sys.stderr)
                    return 130
                print(f"Installed model {config.name}: {event.model_path}\n"
                      f"Use it with: main.py colorize --model {config.name} PHOTOS -o OUT", file=sys.stderr)
    except (ReviveError, ValueError) as error:
        if progress:
            progress.close()
        print(f"revive: {error}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGINT, previous)
    return 0


__all__ = ["add_arguments", "run", "format_duration"]
