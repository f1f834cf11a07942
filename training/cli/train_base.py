"""The ``train-base`` command: train a base colorizer and install it as a user model.

Torch is imported only when the command runs (``main.py --help`` stays instant). The name is
checked before anything else; the first Ctrl+C (or SIGTERM) saves a resumable state, a second
quits at once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.batch.settings import DEVICE_CHOICES
from engine.cli.runtime import say
from training.cli.following import follow_training


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--photos", required=True, type=Path, metavar="DIR", help="folder of colour photos")
    parser.add_argument("--out", required=True, metavar="NAME", help="name of the model to install")
    parser.add_argument("--steps", type=int, default=5000, help="training steps (default 5000)")
    parser.add_argument("--size", type=int, default=128, help="training crop size in pixels (default 128)")
    parser.add_argument("--batch-size", type=int, default=16, help="photos per step (default 16)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--resume", action="store_true", help="continue the run of the same NAME")
    parser.add_argument(
        "--tune",
        type=Path,
        metavar="DIR",
        help="colour photos never trained on, to choose the decoding on (default: a held-out share of --photos)",
    )
    parser.add_argument(
        "--from",
        dest="init_from",
        metavar="MODEL",
        help="continue from this model's weights (name or file) instead of random ones; its architecture and"
        " colour prior are kept, and the decodings tried are its own and their neighbours",
    )
    parser.add_argument(
        "--learning-rate", type=float, default=1e-3, help="peak learning rate (default 1e-3; lower when continuing)"
    )
    parser.add_argument(
        "--regression-weight",
        type=float,
        default=1.0,
        help="weight of the L1 on the mean a*b*, which pulls unsure colour toward neutral (default 1)",
    )
    parser.add_argument(
        "--decoded-weight",
        type=float,
        default=0.0,
        help="weight of the decoded colour's error relative to the gray copy's, decoded as the --from"
        " model's card says (default 0: off)",
    )
    parser.add_argument(
        "--decoded-colour-floor",
        type=float,
        default=0.5,
        help="with --decoded-weight: the share of its true mean chroma a crop must keep before it pays"
        " for the shortfall (default 0.5; 0 = no floor)",
    )
    parser.add_argument(
        "--augment-strength",
        type=float,
        default=1.0,
        help="how strongly training inputs are made to look like old scans (grain, blur, fading, JPEG"
        " artefacts; default 1, 0 = clean gray inputs)",
    )
    parser.add_argument(
        "--widths",
        metavar="W1,W2,W3,W4",
        help="channels of the U-Net's four levels (default 32,64,128,256; wider is slower and needs a GPU"
        " to train in reasonable time)",
    )
    parser.add_argument("--blocks", type=int, help="residual blocks at the bottleneck (default 4)")
    parser.add_argument(
        "--mirror",
        action="store_true",
        help="also try the mirror-image average when choosing the decoding at the end (each photo and its"
        " mirror colorized and averaged: a little more accurate, twice the model's work per photo)",
    )
    parser.add_argument(
        "--keep-last",
        action="store_true",
        help="install the last averaged weights; by default every snapshot (each 500 steps) is scored on the"
        " --tune photos and the best one is installed, since later weights can colour new photos worse",
    )
    parser.add_argument("--force", action="store_true", help="allow a NAME that replaces a shipped model")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from training.base.config import BaseTrainingConfig

    architecture: dict = {}
    if args.widths is not None or args.blocks is not None:
        if args.init_from:
            say("revive: --widths and --blocks do not go with --from (the model's own architecture is kept)")
            return 2
        try:
            if args.widths is not None:
                architecture["widths"] = tuple(int(w) for w in args.widths.split(","))
        except ValueError:
            say(f"revive: --widths takes four whole numbers separated by commas, got {args.widths!r}")
            return 2
        if args.blocks is not None:
            architecture["blocks"] = args.blocks
    try:
        config = BaseTrainingConfig(
            **architecture,
            photos=args.photos,
            name=args.out,
            steps=args.steps,
            size=args.size,
            batch_size=args.batch_size,
            device=args.device,
            resume=args.resume,
            seed=args.seed,
            tune_photos=args.tune,
            force=args.force,
            init_from=args.init_from,
            learning_rate=args.learning_rate,
            regression_weight=args.regression_weight,
            decoded_weight=args.decoded_weight,
            decoded_colour_floor=args.decoded_colour_floor,
            augment_strength=args.augment_strength,
            flips=(False, True) if args.mirror else (False,),
            keep_best=not args.keep_last,
        )
    except ValueError as error:
        say(f"revive: {error}")
        return 2
    from training.base.trainer import train_base

    def finished(event) -> None:
        kept = event.metrics.get("snapshot_choice") or {}
        if kept:
            count = len(kept["scores"])
            which = "the last" if kept["kept_step"] == kept["last_step"] else "an earlier one"
            say(
                f"Kept the averaged weights of step {kept['kept_step']} ({which} of {count}"
                f" snapshot{'s' if count != 1 else ''} scored on {kept['scored_photos']} photos of {kept['scored_on']})"
            )
        chosen = event.metrics.get("chosen") or {}
        if chosen:
            say(
                f"Decoding chosen on {event.metrics.get('tuned_photos')} photos"
                f" ({event.metrics.get('tuned_on')}): {_scores(chosen)}"
            )
        say(f"Installed model {config.name}: {event.model_path}")
        say(f"Use it with: main.py colorize --model {config.name} PHOTOS -o OUT")

    return follow_training(
        lambda cancel: train_base(config, cancel),
        "revive-train",
        config.name,
        _scores,
        finished,
        describe_tuned=_snapshot_score,
    )


def _snapshot_score(tuned: dict) -> str:
    return f"on {tuned['photos']} photos never trained on ({tuned['decoding']}): {_scores(tuned['summary'])}"


def _scores(m: dict) -> str:
    return (
        f"PSNR {m['psnr']:.2f} dB (gray {m['gray_psnr']:.2f}), CIEDE2000 {m['ciede2000']:.2f}"
        f" (gray {m['gray_ciede2000']:.2f}), better than gray {m['better_than_gray']:.0%},"
        f" cast a* {m['mean_a_error']:+.1f} b* {m['mean_b_error']:+.1f},"
        f" colourfulness {m['colourfulness_ratio']:.0%} of the originals"
    )
