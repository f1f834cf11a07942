"""Throughput: a naive colorization loop against the engine's batch runner, on the same photos.

    uv run benchmarks/throughput.py [--photos DIR] [--count 6] [--megapixels 12] [--model NAME]

The photos are made once into a temporary folder: gray JPEGs of the given size, upscaled from the
colour photos in --photos (or a synthetic texture when none is given). Both pipelines use the same
model at the same render size (the model card's):

- naive: one photo at a time, eager fp32: decode, shrink, model, bilinear a*b* upsampling to full
  resolution, float Lab -> RGB merge at full resolution, encode. What a straightforward script does.
- engine: ``engine.batch.run.run_batch``: decode/encode overlapped with the model, the model in the
  device's fast precision (bf16 on CPUs with native bf16), guided-filter chroma at low resolution and
  an 8-bit YCbCr merge at full resolution.

Prints the CPU (model name and the flags that matter), the floor (a bare Pillow decode and encode
of the same photos), the naive loop, and the batch runner in fp32 and, where the CPU has native
bf16, in bf16: seconds per photo, the ratio to the floor, and each stage's median time; then the
start-up time of fresh processes (``--help``, ``models``, ``colorize`` of one small photo).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _common
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


def cpu_description() -> str:
    """The CPU's model name and the flags that decide its speed here (bf16, AVX-512, AMX)."""
    import platform

    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name") and ":" in line:
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and ":" in line:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return f"{name} ({', '.join(shown) or 'no AVX2/AVX-512/AMX'}), {os.cpu_count()} cores"


def stage_times(colorizer, photos: list[Path], out: Path) -> dict[str, float]:
    """Median milliseconds of each stage of one photo, run one after another (no overlap)."""
    from engine.batch.settings import ColorizeSettings
    from engine.imaging import read_photo, write_photo
    from engine.models.chroma_merge import merge_chroma

    settings = ColorizeSettings()
    times: dict[str, list[float]] = {k: [] for k in ("decode", "shrink", "model", "colour decode", "merge", "encode")}
    for i, path in enumerate(photos):
        tick = time.perf_counter()
        photo = read_photo(path)
        times["decode"].append(time.perf_counter() - tick)
        tick = time.perf_counter()
        prepared = colorizer.prepare(photo.luma, settings)
        times["shrink"].append(time.perf_counter() - tick)
        tick = time.perf_counter()
        raw = colorizer.forward(prepared)
        times["model"].append(time.perf_counter() - tick)
        tick = time.perf_counter()
        _, temperature = colorizer.resolve(settings)
        field = colorizer.decode(
            raw, prepared, temperature, colorizer.card.prior_correction, colorizer.card.chroma_scale
        )
        times["colour decode"].append(time.perf_counter() - tick)
        tick = time.perf_counter()
        rgb = merge_chroma(photo.luma, field)
        times["merge"].append(time.perf_counter() - tick)
        tick = time.perf_counter()
        write_photo(out / f"stage_{i}.jpg", rgb, photo.metadata)
        times["encode"].append(time.perf_counter() - tick)
    return {k: 1000 * statistics.median(v) for k, v in times.items()}


def floor_seconds(photos: list[Path], out: Path) -> float:
    """Seconds per photo of the bare minimum: Pillow decodes the gray JPEG and encodes an RGB JPEG of
    the same size (quality 95, 4:2:0), nothing else."""
    start = time.perf_counter()
    for i, path in enumerate(photos):
        with Image.open(path) as image:
            rgb = image.convert("RGB")
        rgb.save(out / f"floor_{i}.jpg", quality=95, subsampling=2)
    return (time.perf_counter() - start) / len(photos)


def batch_seconds(colorizer, folder: Path, out: Path, count: int) -> float:
    from engine.batch.plan import BatchOptions, plan_batch
    from engine.batch.run import BatchFinished, run_batch

    colorizer.colorize(np.zeros((512, 512), np.uint8))  # warm-up
    options = BatchOptions(output_dir=out, write_report=False)
    start = time.perf_counter()
    for event in run_batch(plan_batch([folder], options), colorizer, options):
        if isinstance(event, BatchFinished):
            assert event.summary.done == count, event.summary
    return (time.perf_counter() - start) / count


def startup_seconds(tmp: Path) -> dict[str, float]:
    """Wall seconds of fresh processes: --help, models, and colorize of one small photo."""
    import subprocess

    small = tmp / "small"
    small.mkdir()
    Image.fromarray((np.random.default_rng(1).random((96, 128)) * 255).astype(np.uint8)).save(small / "one.png")
    commands = {
        "main.py --help": ["--help"],
        "main.py models": ["models"],
        "main.py colorize (one small photo)": ["colorize", str(small), "-o", str(tmp / "small-out")],
    }
    results = {}
    for label, args in commands.items():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, str(_common.ROOT / "main.py"), *args],
                capture_output=True,
                check=True,
                cwd=_common.ROOT,
            )
            best = min(best, time.perf_counter() - start)
        results[label] = best
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, help="colour photos to make the test photos from")
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--model", help="model name or path (default: the shipped model)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive loop (slow)")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up timings")
    args = parser.parse_args()

    from engine.device import cpu_has_fast_bf16, select_device
    from engine.models.colorizer import Colorizer
    from main import _tune_allocator

    _tune_allocator()
    module, card = _common.model_or_random(args.model)
    print(f"CPU: {cpu_description()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    precisions = ["fp32"] + (["bf16"] if cpu_has_fast_bf16() else [])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        photos = make_photos(tmp / "in", args.count, args.megapixels, args.photos)
        size = Image.open(photos[0]).size
        print(
            f"{len(photos)} gray JPEGs of {size[0]}x{size[1]} ({size[0] * size[1] / 1e6:.1f} MP), model {card.name},"
            f" render size {card.render_size}"
        )
        (tmp / "floor").mkdir()
        floor = floor_seconds(photos, tmp / "floor")
        print(f"floor (Pillow decode + RGB JPEG encode, nothing else): {floor:.3f} s per photo")
        if not args.no_naive:
            (tmp / "naive").mkdir()
            naive_module = module.float().eval()
            naive_colorize(photos[0], tmp / "naive" / "warmup.jpg", naive_module, card.render_size, card.temperature)
            start = time.perf_counter()
            for path in photos:
                naive_colorize(path, tmp / "naive" / path.name, naive_module, card.render_size, card.temperature)
            naive = (time.perf_counter() - start) / len(photos)
            print(f"naive loop (eager fp32, float Lab merge): {naive:.3f} s per photo")
        for precision in precisions:
            colorizer = Colorizer(module, card, select_device("cpu", precision))
            (tmp / f"stages-{precision}").mkdir()
            stages = stage_times(colorizer, photos, tmp / f"stages-{precision}")
            per_photo = batch_seconds(colorizer, tmp / "in", tmp / f"engine-{precision}", len(photos))
            print(
                f"engine batch runner, {colorizer.device.description}: {per_photo:.3f} s per photo,"
                f" {1 / per_photo:.2f} images/s, {per_photo / floor:.1f}x the floor"
            )
            print(
                "  stages one after another (ms, median): "
                + ", ".join(f"{name} {ms:.0f}" for name, ms in stages.items())
                + f"; sum {sum(stages.values()):.0f} (the runner overlaps decode/encode with the model)"
            )
        if not args.no_startup:
            for label, seconds in startup_seconds(tmp).items():
                print(f"start-up: {label}: {seconds:.2f} s (best of 3, fresh process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
