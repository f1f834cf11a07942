"""Hint preview latency: how long after an edit the app's preview of the photo on show is ready.

    uv run benchmarks/hint_preview.py [--photo PATH] [--model NAME] [--edits 12]

Drives the app's own preview worker (``gui.hints.preview_worker.HintPreviewWorker``, the code the
Hints tab runs on the inference thread) synchronously, on a 12-megapixel photo (the given one
scaled up, or a generated one): the display copy (long side 1280) is prepared once, as when the
photo is opened; then each edit adds one colour point somewhere else and the worker renders the
newest wish. Prints the median and worst seconds per edit for a colour point (network + decode +
merge at display size) and for a whole-photo adjustment (decode + merge, no network), measured
by the worker itself (``PreviewFrame.seconds``), with the model's render size, on this machine's
CPU threads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import _common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from PIL import Image


def photo_12mp(path: Path | None) -> np.ndarray:
    """``(3000, 4000, 3)`` uint8: the photo scaled to 12 MP, or smooth generated shapes."""
    if path is not None:
        return np.asarray(Image.open(path).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC))
    rng = np.random.default_rng(0)
    small = (rng.random((24, 32, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", type=Path, help="a photo to scale to 12 MP (default: generated)")
    parser.add_argument("--model", help="model name or file (default: the shipped model)")
    parser.add_argument("--edits", type=int, default=12, help="colour points added one by one")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QCoreApplication

    from engine.batch.settings import ColorizeSettings
    from engine.hints.schema import ColourAdjust, HintPoint, PhotoHints
    from engine.models.colorizer import Colorizer
    from gui.hints.preview_worker import HintPreviewWorker, PreviewMailbox, PreviewPhoto, display_luma

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])  # noqa: F841  (signals need one)
    colorizer = Colorizer.load(args.model)
    if not colorizer.takes_hints:
        print(f"{colorizer.card.name} takes no colour hints", file=sys.stderr)
        return 2
    image = photo_12mp(args.photo)
    mailbox = PreviewMailbox()
    worker = HintPreviewWorker(mailbox)
    frames = []
    worker.frame_ready.connect(frames.append)
    worker.preview_failed.connect(lambda message: print("failed:", message, file=sys.stderr))

    settings = ColorizeSettings()
    mailbox.post(colorizer=colorizer, photo=PreviewPhoto(1, image), settings=settings, hints=PhotoHints())
    worker.wake()  # the photo opened: prepare + network + decode + merge (not counted below)
    shape = display_luma(image).shape
    rng = np.random.default_rng(1)
    points: list[HintPoint] = []
    for _ in range(args.edits):
        x, y = rng.uniform(0.1, 0.9, 2)
        colour = "#" + "".join(f"{int(v):02x}" for v in rng.integers(40, 220, 3))
        points.append(HintPoint(float(x), float(y), colour, 0.02))
        mailbox.post(hints=PhotoHints(points=tuple(points)))
        worker.wake()
    marks = [f.seconds for f in frames[1:] if f.ran_network]
    for warmth in np.linspace(-0.5, 0.5, args.edits):
        mailbox.post(hints=PhotoHints(points=tuple(points), adjust=ColourAdjust(warmth=float(warmth))))
        worker.wake()
    adjusts = [f.seconds for f in frames[1 + len(marks) :] if not f.ran_network]
    print(
        f"{colorizer.card.name}, render size {colorizer.card.render_size}, preview {shape[1]}x{shape[0]},"
        f" {colorizer.device.description}"
    )
    print(
        f"a colour point added: median {statistics.median(marks):.3f} s, worst {max(marks):.3f} s ({len(marks)} edits)"
    )
    print(
        f"a whole-photo adjustment: median {statistics.median(adjusts):.3f} s, worst {max(adjusts):.3f} s"
        f" ({len(adjusts)} edits)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
