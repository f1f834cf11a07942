"""How far a photo-by-photo chroma scale could take a model's colour: an oracle, for analysis only.

    uv run benchmarks/chroma_oracle.py ../shared/data/val [--model NAME] [--limit N]
        [--scales 0,0.2,0.4,0.6,0.8,0.9,1,1.1,1.2,1.4] [--floor 0.6]

Each photo is decoded with the model's own decoding (its card's render size, temperature, prior
correction, gate and mirror average) at every chroma scale in ``--scales`` (the card's scale times
each), scored against its original (``engine.metrics.score``, at a 128-pixel short side as
``tune_decoding.py`` does), and the oracle keeps, per photo, the scale with the lowest CIEDE2000:
a choice no product can make, since it looks at the true colours. Printed against the gray copy:
the model's own decoding, the oracle, the oracle among scales of at least ``--floor``, and a
photo-level oracle that knows only how colourful each original is (two scales and a threshold,
``by_colourfulness_rows``: the best a predictor of "this photo has little colour" could do at the
bar's colourfulness); then the share better than gray among photos whose gray copy is already
close to the original (CIEDE2000 under 10) and among the others. If even the oracle cannot clear
the bar, no decoding of these weights can: the colours themselves must be right more often.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import floats  # also puts the repository on sys.path

CLOSE_TO_GRAY = 10.0  # CIEDE2000 of the gray copy under which a photo counts as having little colour


def oracle_rows(per_scale: dict[float, list[dict]], floor: float = 0.0) -> list[dict]:
    """Per photo, the row (``score`` dict) of the scale with the lowest CIEDE2000 among scales >= floor."""
    scales = [s for s in per_scale if s >= floor]
    if not scales:
        raise ValueError(f"no scale is at least {floor:g}")
    count = len(per_scale[scales[0]])
    return [min((per_scale[s][i] for s in scales), key=lambda row: row["ciede2000"]) for i in range(count)]


def by_colourfulness_rows(
    per_scale: dict[float, list[dict]], gray: list[dict], originals: list[float], colour_floor: float
) -> tuple[list[dict], float, float, float]:
    """A photo-level oracle that knows only how colourful each original is: photos under a
    threshold get one scale, the others another. Among thresholds at the originals' deciles and
    every pair of scales that keeps at least ``colour_floor`` of the originals' colourfulness, the
    policy better than gray most often (then the lowest CIEDE2000): ``(rows, threshold, low
    scale, high scale)``. What a predictor of "this photo has little colour" could at best do."""
    from engine.metrics import summarize

    fullness = np.asarray(originals, dtype=float)
    best, best_key = None, None
    for threshold in np.quantile(fullness, np.linspace(0.1, 0.9, 9)):
        low = fullness < threshold
        for s_low in per_scale:
            for s_high in per_scale:
                rows = [per_scale[s_low if low[i] else s_high][i] for i in range(len(fullness))]
                summary = summarize(rows, gray, originals)
                if summary["colourfulness_ratio"] < colour_floor:
                    continue
                key = (summary["better_than_gray"], -summary["ciede2000"])
                if best_key is None or key > best_key:
                    best, best_key = (rows, float(threshold), s_low, s_high), key
    if best is None:
        raise ValueError(f"no pair of scales keeps {round(100 * colour_floor)} % of the originals' colourfulness")
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path, help="folder of colour photos never trained on (val)")
    parser.add_argument("--model", help="model name or .safetensors path (default: the shipped model)")
    parser.add_argument("--limit", type=int, default=0, help="use at most N photos, spread over the folder (0: all)")
    parser.add_argument("--scales", default="0,0.2,0.4,0.6,0.8,0.9,1,1.1,1.2,1.4")
    parser.add_argument("--floor", type=float, default=0.6, help="the smallest scale of the second oracle")
    args = parser.parse_args(argv)

    from engine.errors import ReviveError
    from engine.metrics import summarize
    from engine.models.colorizer import Colorizer
    from training.data.photo_folder import list_photos, spread
    from training.decoding_sweep import BAR, Decoding, load_originals, score_photo

    try:
        scales = floats(args.scales)
        if not scales or min(scales) < 0:
            raise ValueError(f"--scales must be numbers of at least 0, got {args.scales!r}")
        colorizer = Colorizer.load(args.model, "cpu", "fp32")
        photos = load_originals(spread(list_photos(args.photos), args.limit))
        if not photos:
            raise ReviveError(f"no readable photos in {args.photos}")
    except (ReviveError, ValueError) as error:
        print(f"chroma_oracle: {error}", file=sys.stderr)
        return 2
    card = colorizer.card
    print(f"{len(photos)} photos from {args.photos}, model {card.name} ({colorizer.path})", file=sys.stderr)
    # The card's own decoding at each scale (times the card's): one network pass per photo.
    decodings = {s: replace(Decoding.of_card(card), chroma_scale=card.chroma_scale * s) for s in scales}
    started = time.monotonic()
    per_scale: dict[float, list[dict]] = {s: [] for s in scales}
    gray_rows, originals = [], []
    for done, (_, original) in enumerate(photos, start=1):
        gray, fullness, rows = score_photo(colorizer, original, list(decodings.values()))
        gray_rows.append(gray)
        originals.append(fullness)
        for s, d in decodings.items():
            per_scale[s].append(rows[d])
        if done % 50 == 0:
            print(f"  {done}/{len(photos)} photos, {time.monotonic() - started:.0f} s", file=sys.stderr)

    def line(label: str, rows: list[dict]) -> str:
        s = summarize(rows, gray_rows, originals)
        return (
            f"{label:<34} CIEDE2000 gain {s['gray_ciede2000'] - s['ciede2000']:+.2f}  better than gray"
            f" {s['better_than_gray']:4.0%}  colourfulness {s['colourfulness_ratio']:4.0%}"
            f"  left gray {s['almost_gray']:3.0%}"
        )

    own = per_scale.get(1.0)
    if own is not None:
        print(line(f"own decoding (scale {card.chroma_scale:g})", own))
    print(line("oracle scale per photo", oracle_rows(per_scale)))
    print(line(f"oracle scale per photo, >= {args.floor:g}", oracle_rows(per_scale, args.floor)))
    try:
        rows, threshold, s_low, s_high = by_colourfulness_rows(
            per_scale, gray_rows, originals, BAR["colourfulness_ratio"]
        )
        print(line(f"by colourfulness < {threshold:.0f}: {s_low:g} / {s_high:g}", rows))
    except ValueError as error:
        print(f"by the originals' colourfulness: {error}")
    if own is not None:
        gray = np.array([row["ciede2000"] for row in gray_rows])
        model = np.array([row["ciede2000"] for row in own])
        close = gray < CLOSE_TO_GRAY
        for label, part in (("little colour", close), ("the others", ~close)):
            if part.any():
                print(
                    f"own decoding, photos with {label} (gray copy CIEDE2000 {'<' if part is close else '>='}"
                    f" {CLOSE_TO_GRAY:g}): {int(part.sum())} photos, better than gray"
                    f" {(model[part] < gray[part]).mean():.0%}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
