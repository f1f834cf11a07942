"""A before/after sheet of a fine-tune on old photos: one row "old photo | base | fine-tuned" per photo.

    uv run scripts/finetune_sheet.py --old ../shared/data/old --tuned old-demo [--base revive-base]
        [--count 8] [--out docs/finetune-old.jpg]

The old photos have no true colours, so this is for the eye; the numbers are the held-out scores
of ``main.py train`` and ``benchmarks/quality.py``. Photos are taken evenly over the folder's
sorted listing (the same ones on every run); each is colorized from its luma by both models with
their own decoding, as ``main.py colorize`` does. Exits 1 with the reason when a model or the
folder cannot be used.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PIL import Image

from benchmarks._sheet import draw_sheet, tile
from engine.batch.folder_scan import list_images
from engine.errors import ReviveError, UnsupportedImage
from engine.imaging import read_preview_rgb
from engine.models.colorizer import Colorizer

TILE_HEIGHT = 220  # pixels
WORK_SIDE = 768  # long side the photos are colorized at (enough for the sheet, quick on a CPU)
GAP = 8  # pixels between the tiles


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="folder of old photos")
    parser.add_argument("--tuned", required=True, help="the fine-tuned model (name or path)")
    parser.add_argument("--base", default=None, help="the base model (default: the default model)")
    parser.add_argument("--count", type=int, default=8, help="photos on the sheet (default 8)")
    parser.add_argument(
        "--out", type=Path, default=Path("docs/finetune-old.jpg"), help="image to write (PNG or JPEG, by its suffix)"
    )
    return parser.parse_args(argv)


def chosen(paths: list[Path], count: int) -> list[Path]:
    """``count`` paths spread evenly over the sorted ``paths``."""
    ordered = sorted(paths)
    if len(ordered) <= count:
        return ordered
    return [ordered[round(i * (len(ordered) - 1) / (count - 1))] for i in range(count)] if count > 1 else ordered[:1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        base = Colorizer.load(args.base)
        tuned = Colorizer.load(args.tuned)
        photos = chosen(list(list_images(args.old)), max(1, args.count))
    except (ReviveError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not photos:
        print(f"error: no photos in {args.old}", file=sys.stderr)
        return 1
    rows: list[tuple[str, list[Image.Image] | None]] = []
    for path in photos:
        try:
            rgb = read_preview_rgb(path, WORK_SIDE)
        except UnsupportedImage as error:
            print(f"skipped {path.name}: {error}", file=sys.stderr)
            continue
        luma = np.asarray(Image.fromarray(rgb).convert("L"))
        images = (rgb, base.colorize(luma), tuned.colorize(luma))
        rows.append((path.name, [tile(Image.fromarray(image), TILE_HEIGHT) for image in images]))
        print(f"{path.name} done", file=sys.stderr)
    title = f"old photo | {base.card.name} (base) | {tuned.card.name} (fine-tuned)"
    sheet = draw_sheet([(title, None), *rows], TILE_HEIGHT, GAP)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=88, optimize=True)
    print(f"wrote {args.out} ({len(rows)} photos)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
