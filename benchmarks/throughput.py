"""Throughput: a naive colorization loop against the engine's batch runner, on the same photos.

    uv run benchmarks/throughput.py [--photos DIR] [--count 6] [--megapixels 12] [--model NAME]

The photos are made once into a temporary folder: gray JPEGs of the given size, upscaled from the
colour photos in --photos (or a synthetic texture when none is given). Both pipelines use the same
model at the same render size (the model card's):

- naive: one photo at a time, eager fp32: decode, shrink, model, bilinear a*b* upsampling to full
  resolution, float Lab -> RGB merge at full resolution, encode. What a straightforward script does.
- engine: ``engine.batch_run.run_batch``: decode/encode overlapped with the model, the model in the
  device's fast precision (bf16 on CPUs with native bf16), guided-filter chroma at low resolution and
  an 8-bit YCbCr merge at full resolution.

Prints images per second for both, their ratio, and seconds per photo of that size.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image


def make_photos(folder: Path, count: int, megapixels: float, source: Path | None) -> list[Path]:
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    sources = sorted(source.glob("*.jpg"))[:count] if source else []
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        if sources:
            with Image.open(sources[i % len(sources)]) as image:
                gray = image.convert("L").resize((width, height), Image.BICUBIC)
        else:
            small = (rng.random((height // 16, width // 16)) * 255).astype(np.uint8)
            gray = Image.fromarray(small).resize((width, height), Image.BICUBIC)
        # Film grain, so the JPEG has realistic detail to encode.
        noisy = np.asarray(gray, dtype=np.int16) + rng.integers(-6, 7, (height, width), dtype=np.int16)
        path = folder / f"photo_{i:02d}.jpg"
        Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(path, quality=92)
        paths.append(path)
    return paths


def naive_colorize(path: Path, out: Path, module, render_size: int, temperature: float) -> None:
    from engine.color import gray_to_lightness, lab_to_rgb

    gray = Image.open(path).convert("L")
    width, height = gray.size
    scale = render_size / min(width, height)
    small = gray.resize((round(width * scale) // 16 * 16, round(height * scale) // 16 * 16), Image.BILINEAR)
    with torch.no_grad():
        lightness = gray_to_lightness(torch.from_numpy(np.asarray(small, np.float32) / 255.0))
        ab = module.predict_ab((lightness / 50 - 1)[None, None], temperature)
        ab = F.interpolate(ab, size=(height, width), mode="bilinear", align_corners=False)
        full_l = gray_to_lightness(torch.from_numpy(np.asarray(gray, np.float32) / 255.0))
        rgb = lab_to_rgb(torch.cat((full_l[None, None], ab), dim=1))[0]
    array = (rgb.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    Image.fromarray(array).save(out, quality=95)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, help="colour photos to make the test photos from")
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--model", help="model name or path (default: the shipped model)")
    args = parser.parse_args()

    from engine.batch_plan import BatchOptions, plan_batch
    from engine.batch_run import BatchFinished, run_batch
    from engine.colorizer import Colorizer
    from engine.device import select_device
    from main import _tune_allocator

    _tune_allocator()
    module, card = _common.model_or_random(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        photos = make_photos(tmp / "in", args.count, args.megapixels, args.photos)
        size = Image.open(photos[0]).size
        print(f"{len(photos)} gray JPEGs of {size[0]}x{size[1]} ({size[0] * size[1] / 1e6:.1f} MP), model {card.name},"
              f" render size {card.render_size}, {torch.get_num_threads()} threads")

        (tmp / "naive").mkdir()
        naive_module = module.float().eval()
        naive_colorize(photos[0], tmp / "naive" / "warmup.jpg", naive_module, card.render_size, card.temperature)
        start = time.perf_counter()
        for path in photos:
            naive_colorize(path, tmp / "naive" / path.name, naive_module, card.render_size, card.temperature)
        naive_seconds = time.perf_counter() - start

        colorizer = Colorizer(module, card, select_device("auto"))
        colorizer.colorize(np.zeros((512, 512), np.uint8))  # warm-up, like the naive loop's
        options = BatchOptions(output_dir=tmp / "engine", write_report=False)
        start = time.perf_counter()
        for event in run_batch(plan_batch([tmp / "in"], options), colorizer, options):
            if isinstance(event, BatchFinished):
                assert event.summary.done == len(photos), event.summary
        engine_seconds = time.perf_counter() - start

    naive_rate = len(photos) / naive_seconds
    engine_rate = len(photos) / engine_seconds
    print(f"naive loop (eager fp32, float Lab merge): {naive_rate:.2f} images/s, {naive_seconds / len(photos):.2f} s per photo")
    print(f"engine batch runner ({colorizer.device.description}): {engine_rate:.2f} images/s, "
          f"{engine_seconds / len(photos):.2f} s per photo")
    print(f"speed-up: {engine_rate / naive_rate:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
