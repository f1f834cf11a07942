"""Colorization quality on colour photos: turn them gray, colorize, compare with the originals.

    uv run benchmarks/quality.py PHOTO_DIR [--holdout] [--model NAME] [--limit N] [--render-size N]

Prints, for the model and for a gray copy (the baseline every colorizer must beat):
mean PSNR (dB, RGB), mean CIEDE2000 (lower is better), mean Hasler-Suesstrunk colourfulness of the
outputs next to that of the originals, and the share of outputs left almost gray.
``--holdout`` scores only the photos the training run held out (the same file-name-hash split).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from PIL import Image


def score(paths: list[Path], colorizer, settings) -> dict[str, dict[str, float]]:
    from engine.metrics import colourfulness
    from engine.metrics import score as score_photo

    rows: dict[str, dict[str, list[float]]] = {"model": {}, "gray": {}}
    originals = []
    for path in paths:
        with Image.open(path) as image:
            original = np.asarray(image.convert("RGB"))
        luma = np.asarray(Image.fromarray(original).convert("L"))
        gray = np.repeat(luma[..., None], 3, axis=2)
        outputs = {"gray": gray}
        if colorizer is not None:
            outputs["model"] = colorizer.colorize(luma, settings)
        originals.append(colourfulness(original))
        for name, output in outputs.items():
            for metric, value in score_photo(output, original).items():
                rows[name].setdefault(metric, []).append(value)
    result = {name: {k: float(np.mean(v)) for k, v in row.items()} for name, row in rows.items() if row}
    for row in result.values():
        row["original_colourfulness"] = float(np.mean(originals))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path, help="folder of colour photos")
    parser.add_argument("--model", help="model name or path (default: the shipped model)")
    parser.add_argument("--holdout", action="store_true", help="only the training run's held-out photos")
    parser.add_argument("--limit", type=int, default=0, help="score at most N photos (0: all)")
    parser.add_argument("--render-size", type=int)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--gray-only", action="store_true", help="score only the gray baseline (no model)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    from engine.colorizer import ColorizeSettings, Colorizer
    from engine.errors import ReviveError
    from training.photo_folder import is_holdout, list_photos

    try:
        paths = list_photos(args.photos)
        if args.holdout:
            paths = [p for p in paths if is_holdout(p)]
        if args.limit:
            paths = paths[: args.limit]
        if not paths:
            raise ReviveError(f"no photos to score in {args.photos}")
        colorizer = None if args.gray_only else Colorizer.load(args.model, args.device)
        settings = ColorizeSettings(render_size=args.render_size, temperature=args.temperature)
    except (ReviveError, ValueError) as error:
        print(f"quality: {error}", file=sys.stderr)
        return 2

    result = score(paths, colorizer, settings)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    name = colorizer.card.name if colorizer else "-"
    print(f"{len(paths)} photos from {args.photos}{' (held-out split)' if args.holdout else ''}, model {name}")
    print(f"{'':<12}{'PSNR dB':>9}{'CIEDE2000':>11}{'colourful':>11}{'originals':>11}{'almost gray':>13}")
    for row_name in ("model", "gray"):
        if row_name in result:
            r = result[row_name]
            label = name if row_name == "model" else "gray copy"
            print(f"{label:<12}{r['psnr']:>9.2f}{r['ciede2000']:>11.2f}{r['colourfulness']:>11.1f}"
                  f"{r['original_colourfulness']:>11.1f}{r['almost_gray']:>12.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
