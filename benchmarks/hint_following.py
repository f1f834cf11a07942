"""How far a model's colour follows one colour hint, on photos it never trained on.

    uv run benchmarks/hint_following.py ../shared/data/val --model revive-base [--model old-demo]
        [--limit 32] [--device cpu]

For each photo (taken evenly over the folder's sorted listing), one hint point of the photo's own
true colour is put at a place drawn from the file name's hash (within the middle 60 % of each
side). The photo's gray copy is colorized without and with the hint, through the engine as
``main.py colorize --hints`` does, and the mean a*b* error (Lab units, against the original) is
measured on a ring around the hint: from 3 to 8 times the hint's radius, outside the mark, which
the engine paints in the hint's exact colour. Printed per model: the ring's error without and with
the hint and its drop (mean and median over the photos). A model that ignores hints drops 0.
Models that take no hints are reported as such. Exits 2 with one line for a bad folder or model.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
import numpy as np

HINT_RADIUS = 0.02  # of the short side (the app's default point size)
RING = (3.0, 8.0)  # inner and outer radius, in hint radii (past the merge's spread of the mark)
WORK_SIDE = 512  # long side the photos are read at


def place(name: str) -> tuple[float, float]:
    """(x, y) in 0..1 from the file name: the same place on every run, spread over photos."""
    digest = hashlib.sha256(name.encode()).digest()
    return 0.2 + 0.6 * digest[0] / 255, 0.2 + 0.6 * digest[1] / 255


def ring_mask(width: int, height: int, x: float, y: float) -> np.ndarray:
    radius = HINT_RADIUS * min(width, height)
    yy, xx = np.mgrid[0:height, 0:width]
    distance = np.hypot(xx - x * width, yy - y * height)
    return (distance > RING[0] * radius) & (distance < RING[1] * radius)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="folder of colour photos never trained on (val)")
    parser.add_argument("--model", action="append", help="model name or path (repeat to compare; default: the default)")
    parser.add_argument(
        "--limit", type=int, default=32, help="photos to use, spread over the folder (default 32; 0: all)"
    )
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    from PIL import Image

    from engine.batch.folder_scan import list_images
    from engine.errors import ReviveError, UnsupportedImage
    from engine.hints.schema import HintPoint, PhotoHints
    from engine.imaging import read_preview_rgb
    from engine.metrics import to_lab
    from engine.models.colorizer import Colorizer
    from training.data.photo_folder import spread

    try:
        paths = sorted(list_images(args.photos))
        models = [Colorizer.load(name, device=args.device, precision="fp32") for name in args.model or [None]]
    except (ReviveError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Each photo is read and prepared once, for every model: (luma, its hint, true a*b*, the ring).
    cases = []
    for path in spread(paths, args.limit):
        try:
            rgb = read_preview_rgb(path, WORK_SIDE)
        except UnsupportedImage as error:
            print(f"skipped {path.name}: {error}", file=sys.stderr)
            continue
        height, width = rgb.shape[:2]
        x, y = place(path.name)
        colour = "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb[int(y * height), int(x * width)]))
        hints = PhotoHints(points=(HintPoint(x, y, colour, HINT_RADIUS),))
        luma = np.asarray(Image.fromarray(rgb).convert("L"))
        cases.append((luma, hints, to_lab(rgb)[..., 1:], ring_mask(width, height, x, y)))
    if not cases:
        print(f"error: no readable photos in {args.photos}", file=sys.stderr)
        return 2
    print(f"{len(cases)} photos from {args.photos}; one true-colour hint each, a*b* error on a ring around it")
    print(f"{'model':24} {'without':>8} {'with':>8} {'drop':>8} {'median drop':>12}")
    for colorizer in models:
        name = colorizer.card.name
        if not colorizer.takes_hints:
            print(f"{name:24} takes no hints")
            continue
        without, with_hint = [], []
        for luma, hints, truth, ring in cases:
            for hint, errors in ((None, without), (hints, with_hint)):
                out = to_lab(colorizer.colorize(luma, hints=hint))[..., 1:]
                errors.append(float(np.linalg.norm(out - truth, axis=-1)[ring].mean()))
        drops = [a - b for a, b in zip(without, with_hint)]
        print(
            f"{name:24} {statistics.mean(without):8.2f} {statistics.mean(with_hint):8.2f}"
            f" {statistics.mean(drops):8.2f} {statistics.median(drops):12.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
