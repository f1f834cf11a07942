"""The ``train-detector`` command: train the damage detector of the scratch stage.

Register it in ``main.py`` like ``train-base`` (add_arguments / run), or run it directly:
``python -m training.cli.train_detector --photos DIR --out FILE.safetensors``.
Torch is imported only when it runs. The first Ctrl+C saves a resumable state.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.batch.settings import DEVICE_CHOICES
from engine.cli.runtime import say
from engine.errors import ReviveError
from training.cli.following import follow_training


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--photos", required=True, type=Path, metavar="DIR", help="folder of clean photos")
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="FILE",
        help="detector file to write (.safetensors; a .json card is written beside it)",
    )
    parser.add_argument(
        "--retune",
        action="store_true",
        help="do not train: choose the threshold rule of the detector in --out again, on --photos",
    )
    parser.add_argument("--name", default="revive-damage-detector", help="the detector's name on its card")
    parser.add_argument("--steps", type=int, default=3000, help="training steps (default 3000)")
    parser.add_argument("--batch-size", type=int, default=8, help="crops per step (default 8)")
    parser.add_argument("--size", type=int, default=128, help="crop side in pixels (default 128)")
    parser.add_argument("--max-photos", type=int, default=3000, help="photos cached for training (default 3000)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="cpu")
    parser.add_argument(
        "--run-dir",
        type=Path,
        help="where the resumable state goes (default: runs/detector-NAME in the data folder)",
    )
    parser.add_argument("--resume", action="store_true", help="continue the run in the run folder")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace a file at --out (or its .json card) that this run did not write"
        " (by default only the run's own earlier detector is replaced)",
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        metavar="FILE",
        help="start from this detector's weights (fine-tune) instead of from scratch",
    )
    parser.add_argument("--learning-rate", type=float, default=2e-3, help="peak learning rate (default 0.002)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from training.restoration.detector_config import DetectorTrainingConfig

    if args.retune:
        from training.restoration.detector_trainer import retune_detector

        try:
            card = retune_detector(args.out, args.photos, seed=args.seed, threads=args.threads)
        except (ReviveError, ValueError) as error:
            say(f"revive: {error}")
            return 2
        say(f"Re-tuned {args.out}: " + ", ".join(f"{k} {v:.3g}" for k, v in card.metrics["chosen"].items()))
        return 0

    try:
        config = DetectorTrainingConfig(
            photos=args.photos,
            out=args.out,
            name=args.name,
            steps=args.steps,
            batch_size=args.batch_size,
            size=args.size,
            max_photos=args.max_photos,
            threads=args.threads,
            device=args.device,
            run_dir=args.run_dir,
            resume=args.resume,
            force=getattr(args, "force", False),
            seed=args.seed,
            init_from=args.init_from,
            learning_rate=args.learning_rate,
        )
    except ValueError as error:
        say(f"revive: {error}")
        return 2
    from training.restoration.detector_trainer import train_detector

    return follow_training(
        lambda cancel: train_detector(config, cancel),
        "revive-train-detector",
        config.name,
        lambda metrics: ", ".join(f"{k} {v:.3g}" for k, v in metrics.items()),
        lambda event: say(f"Wrote the detector {event.model_path}"),
        show_run_folder=False,
    )


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(prog="train-detector", description="Train the damage detector.")
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
