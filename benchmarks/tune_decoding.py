"""Choose a model's decoding (render size, temperature, prior correction, chroma scale, ...) on photos
it never trained on, and optionally write the choice into its model card.

    uv run benchmarks/tune_decoding.py ../shared/data/val --model PATH_OR_NAME [--limit N]
        [--render-sizes 96,128,160,192,256] [--temperatures 0.2,0.3,0.38,0.5]
        [--priors 0,0.25,0.5] [--scales 0.7,0.85,1.0] [--gates 0,0.5,1] [--flips 0,1] [--rolloffs 0,0.7]
        [--write OUT.safetensors [--name NAME]]

Uses ``training.decoding_sweep`` (the same code the trainer's export uses): every decoding is
scored through the engine's own forward/decode/merge against a gray copy, and chosen against the
product's bar. Prints the best decodings and which floors each clears. ``--write`` saves the model
with the chosen decoding and the sweep's figures in its card (a new file; never over the input);
``--name`` renames it in the card (a training snapshot carries its run's name).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _common import floats  # also puts the repository on sys.path


def _flips(text: str) -> tuple[bool, ...]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values or any(v not in ("0", "1") for v in values):
        raise ValueError(f"--flips takes 0, 1 or 0,1, got {text!r}")
    return tuple(v == "1" for v in dict.fromkeys(values))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path, help="folder of colour photos never trained on (val)")
    parser.add_argument("--model", help="model name or .safetensors path (default: the shipped model)")
    parser.add_argument("--limit", type=int, default=0, help="use at most N photos (0: all)")
    parser.add_argument("--render-sizes", default="96,128,160,192,256")
    parser.add_argument("--temperatures", default="0.2,0.3,0.38,0.5")
    parser.add_argument("--priors", default="0,0.25,0.5")
    parser.add_argument("--scales", default="0.7,0.85,1.0")
    parser.add_argument("--gates", default="0", help="confidence gammas (engine.models.ab_bins; 0 = off)")
    parser.add_argument(
        "--flips", default="0", help="1: also average in the mirror image (Colorizer.forward); 0,1 tries both"
    )
    parser.add_argument(
        "--rolloffs", default="0", help="chroma taken out toward white (engine.color.rolloff_gain; 0 = off)"
    )
    parser.add_argument(
        "--split",
        choices=("all", "trained", "held-out"),
        default="all",
        help="with a training folder: only the photos train-base trains on, or only its held-out share"
        " (training.data.photo_folder.split_photos), to see how much better it colours photos it has seen",
    )
    parser.add_argument("--score-side", type=int, default=128, help="short side at which scores are computed")
    parser.add_argument("--top", type=int, default=12, help="how many decodings to print")
    parser.add_argument("--write", type=Path, metavar="OUT", help="save the model with the chosen decoding here")
    parser.add_argument("--name", help="with --write: the model's name in its card (default: the input's)")
    args = parser.parse_args(argv)
    if args.name is not None and args.write is None:
        parser.error("--name names the written model: give --write OUT too")
    if args.write is not None and args.split != "all":
        parser.error("--split measures a training folder: choose a decoding to --write on photos never trained on")

    import torch

    from engine.errors import ReviveError
    from engine.models.colorizer import Colorizer
    from engine.models.files import save_model
    from engine.models.registry import model_name_problem
    from training.data.photo_folder import list_photos, split_photos, spread
    from training.decoding_sweep import bars_met, choose, grid, load_originals, sweep

    problem = model_name_problem(args.name) if args.name is not None else None
    if problem:  # before the sweep, which takes minutes
        print(f"tune_decoding: {problem}", file=sys.stderr)
        return 2
    try:
        colorizer = Colorizer.load(args.model, "cpu", "fp32")
        paths = list_photos(args.photos)
        if args.split != "all":
            paths = dict(zip(("trained", "held-out"), split_photos(paths)))[args.split]
        photos = load_originals(spread(paths, args.limit))
        decodings = grid(
            [int(v) for v in floats(args.render_sizes)],
            floats(args.temperatures),
            floats(args.priors),
            floats(args.scales),
            floats(args.gates),
            _flips(args.flips),
            floats(args.rolloffs),
        )
    except (ReviveError, ValueError) as error:
        print(f"tune_decoding: {error}", file=sys.stderr)
        return 2
    print(
        f"{len(photos)} photos from {args.photos}, {len(decodings)} decodings, model {colorizer.card.name}"
        f" ({colorizer.path})",
        file=sys.stderr,
    )
    started = time.monotonic()
    summaries: dict = {}
    for done, result in sweep(colorizer, photos, decodings, args.score_side):
        summaries = result or summaries
        if done % 25 == 0:
            print(f"  {done}/{len(photos)} photos, {time.monotonic() - started:.0f} s", file=sys.stderr)
    chosen = choose(summaries)

    def row(d) -> str:
        s = summaries[d]
        met = sum(bars_met(s).values())
        return (
            f"{d.label:<38} PSNR {s['psnr'] - s['gray_psnr']:+.2f} dB  CIEDE {s['ciede2000'] - s['gray_ciede2000']:+.2f}"
            f"  better {s['better_than_gray']:4.0%}  cast a* {s['mean_a_error']:+5.1f} b* {s['mean_b_error']:+5.1f}"
            f"  colour {s['colourfulness_ratio']:4.0%}  gray {s['almost_gray']:3.0%}  bars {met}/6"
        )

    ranked = sorted(
        summaries, key=lambda d: (sum(bars_met(summaries[d]).values()), summaries[d]["better_than_gray"]), reverse=True
    )
    print("gains are against the gray copy; bars: training.decoding_sweep.BAR")
    for d in ranked[: args.top]:
        print(("* " if d == chosen else "  ") + row(d))
    print(f"chosen: {chosen.label}")
    if args.write:
        if args.write.exists():
            print(f"tune_decoding: {args.write} exists; choose a new file", file=sys.stderr)
            return 2
        card = colorizer.card.with_updates(
            name=args.name or colorizer.card.name,
            **chosen.card_fields(),
            metrics={
                **colorizer.card.metrics,
                "tuned_on": str(args.photos),
                "tuned_photos": len(photos),
                "chosen": summaries[chosen],
                "bars_met": bars_met(summaries[chosen]),
                "decoding_sweep": {d.label: s for d, s in summaries.items()},
            },
        )
        module = colorizer._module.to(torch.device("cpu")).to(memory_format=torch.contiguous_format)
        save_model(args.write, module, card)
        print(f"wrote {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
