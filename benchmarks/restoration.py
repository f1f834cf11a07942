"""Restoration benchmark: damage masks, repaired photos, grain, fading and speed, measured.

    uv run python benchmarks/restoration.py DIR [--images 96] [--json OUT.json]

On the test half of the held-out photos of DIR (``training.data.photo_folder.is_holdout``: never
trained on; ``training.restoration.detector_data.tuning_split``: not the half the detector's
threshold rule was chosen on), gray:

- scratches: a damaged copy with a known mask (``engine.restoration.damage``, fixed seed). Mask IoU
  (summed over the set), precision, recall and the PSNR of the repaired photo against the clean one
  for: no restoration; OpenCV inpainting with a morphological threshold mask (black-hat + top-hat,
  threshold swept, the best shown: tuned on the test set, in the baseline's favour); Revive's
  detector with Telea and Navier-Stokes filling; and the true mask (the fill's upper bound). On the
  clean photos: the share left byte-identical by the scratch stage.
- grain: film grain (two strengths) and JPEG artefacts; PSNR for no restoration and the grain
  stage at several strengths (which calibrates ``GrainOptions.h_per_sigma``), uint8 and uint16.
- fading: a faded print (blacks at 25 %, whites at 80 %); 1st/99th percentiles and PSNR before and
  after, levels alone and with CLAHE.
- speed: seconds per 12-megapixel photo for each stage (one thread, like the other benchmarks).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import _common  # noqa: F401 - puts the repository on sys.path
import cv2
import numpy as np
from PIL import Image, ImageOps

from engine.restoration.damage import add_grain, damage_photo, fade_print, jpeg_roundtrip
from engine.restoration.denoise import denoise, estimate_noise
from engine.restoration.fill import fill
from engine.restoration.levels import correct_fading
from engine.restoration.pipeline import Restorer
from engine.restoration.stages import FadingOptions, GrainOptions, RestorationOptions, ScratchOptions
from training.data.photo_folder import is_holdout, list_photos
from training.restoration.detector_data import spread, tuning_split


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two arrays of the same dtype (uint8 or uint16), against their full range."""
    top = 255.0 if a.dtype == np.uint8 else 65535.0
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(top * top / mse)


def mean_psnr(outputs: list[np.ndarray], references: list[np.ndarray]) -> float:
    return float(np.mean([psnr(o, r) for o, r in zip(outputs, references, strict=True)]))


def load_gray(paths: list[Path], size: int) -> list[np.ndarray]:
    """Photos as uint8 luma, short side at most ``size`` (Pillow's 'L', as engine.imaging)."""
    out = []
    for path in paths:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened).convert("L")
        image.thumbnail((size * 4, size) if image.height < image.width else (size, size * 4))
        out.append(np.asarray(image).copy())
    return out


def to8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 255), 0, 255).astype(np.uint8)


def morphological_mask(luma: np.ndarray, threshold: int, size: int = 7) -> np.ndarray:
    """The classic baseline: thin bright and dark details by top-hat and black-hat, thresholded."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    tophat = cv2.morphologyEx(luma, cv2.MORPH_TOPHAT, kernel)
    blackhat = cv2.morphologyEx(luma, cv2.MORPH_BLACKHAT, kernel)
    return np.maximum(tophat, blackhat) > threshold


def mask_scores(found: list[np.ndarray], truth: list[np.ndarray]) -> dict[str, float]:
    inter = sum(int((f & t).sum()) for f, t in zip(found, truth, strict=True))
    union = sum(int((f | t).sum()) for f, t in zip(found, truth, strict=True))
    found_total = sum(int(f.sum()) for f in found)
    truth_total = sum(int(t.sum()) for t in truth)
    return {
        "iou": inter / max(1, union),
        "precision": inter / max(1, found_total),
        "recall": inter / max(1, truth_total),
    }


def scratches(cleans: list[np.ndarray], restorer: Restorer, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    damaged, truths = [], []
    for clean in cleans:
        pair = damage_photo(clean.astype(np.float32) / 255.0, rng)
        damaged.append(to8(pair.damaged))
        truths.append(pair.mask)
    rows: dict[str, dict] = {}
    rows["no restoration"] = {"psnr": mean_psnr(damaged, cleans)}
    best = None
    for threshold in (12, 20, 30, 45):
        masks = [morphological_mask(d, threshold) for d in damaged]
        repaired = [fill(d, m, "telea", 3) for d, m in zip(damaged, masks, strict=True)]
        row = {**mask_scores(masks, truths), "psnr": mean_psnr(repaired, cleans), "threshold": threshold}
        if best is None or row["psnr"] > best["psnr"]:
            best = row
    rows["black-hat/top-hat mask + Telea (best threshold)"] = best
    options = RestorationOptions()
    tick = time.perf_counter()
    masks = [restorer.detect(d, options) for d in damaged]
    detect_seconds = (time.perf_counter() - tick) / len(damaged)
    for method, radius in (("telea", 3), ("telea", 5), ("ns", 3)):
        repaired = [fill(d, m, method, radius) for d, m in zip(damaged, masks, strict=True)]
        rows[f"Revive detector + {method} r{radius}"] = {
            **mask_scores(masks, truths),
            "psnr": mean_psnr(repaired, cleans),
        }
    for method in ("telea", "ns"):
        repaired = [fill(d, t, method, 3) for d, t in zip(damaged, truths, strict=True)]
        rows[f"true mask + {method} r3 (upper bound)"] = {"psnr": mean_psnr(repaired, cleans)}
    for strength in (0.3, 0.7):
        sensitive = RestorationOptions(scratches=ScratchOptions(strength=strength))
        found = [restorer.detect(d, sensitive) for d in damaged]
        repaired = [fill(d, m, "telea", 3) for d, m in zip(damaged, found, strict=True)]
        rows[f"Revive detector strength {strength} + telea r3"] = {
            **mask_scores(found, truths),
            "psnr": mean_psnr(repaired, cleans),
        }
    identical = flagged_pixels = 0
    for clean in cleans:
        result = restorer.restore(clean, ("scratches",), options)
        identical += bool(np.array_equal(result.luma, clean))
        flagged_pixels += int(result.mask.sum())
    by_strength = {}
    for strength in (0.3, 0.4, 0.7):
        sensitive = RestorationOptions(scratches=ScratchOptions(strength=strength))
        by_strength[str(strength)] = sum(not restorer.detect(c, sensitive).any() for c in cleans) / len(cleans)
    return {
        "rows": rows,
        "clean_photos_unchanged": identical / len(cleans),
        "clean_photos_unchanged_by_strength": by_strength,
        "clean_pixels_flagged": flagged_pixels / sum(c.size for c in cleans),
        "detect_seconds_per_photo": detect_seconds,
        "photos": len(cleans),
    }


def grain(cleans: list[np.ndarray], seed: int) -> dict:
    rng = np.random.default_rng(seed + 1)
    cases = {
        "grain sigma 0.02": lambda c: add_grain(c, rng, 0.02, 0.7),
        "grain sigma 0.04": lambda c: add_grain(c, rng, 0.04, 0.7),
        "JPEG q30": lambda c: jpeg_roundtrip(c, 30),
        "clean": lambda c: c,
    }
    out = {}
    for name, make in cases.items():
        noisy = [to8(make(c.astype(np.float32) / 255.0)) for c in cleans]
        row = {
            "no restoration": mean_psnr(noisy, cleans),
            "measured sigma (8-bit levels)": float(np.mean([estimate_noise(n) for n in noisy])),
        }
        for strength in (0.25, 0.5, 0.75, 1.0):
            row[f"NLM strength {strength}"] = mean_psnr(
                [denoise(n, GrainOptions(strength=strength)) for n in noisy], cleans
            )
        fast = GrainOptions(template=5, search=13)
        row["NLM strength 0.5, 5/13 windows"] = mean_psnr([denoise(n, fast) for n in noisy], cleans)
        bilateral = [cv2.bilateralFilter(n, 5, 2.0 * max(1.0, estimate_noise(n)), 3) for n in noisy]
        row["bilateral d5 (baseline)"] = mean_psnr(bilateral, cleans)
        sixteen = [
            psnr(denoise(n.astype(np.uint16) * 257, GrainOptions()), c.astype(np.uint16) * 257)
            for n, c in zip(noisy[:24], cleans[:24], strict=True)
        ]
        row["NLM strength 0.5, uint16 (24 photos)"] = float(np.mean(sixteen))
        out[name] = row
    return out


def fading(cleans: list[np.ndarray]) -> dict:
    faded = [to8(fade_print(c.astype(np.float32) / 255.0, 0.25, 0.8, 1.2)) for c in cleans]

    def spread(images):
        return (
            float(np.mean([np.percentile(i, 1) for i in images])),
            float(np.mean([np.percentile(i, 99) for i in images])),
        )

    rows = {"clean": {"p1_p99": spread(cleans)}, "faded": {"p1_p99": spread(faded), "psnr": mean_psnr(faded, cleans)}}
    for name, options in (
        ("levels + gamma, strength 1", FadingOptions(strength=1.0, clahe_clip=0.0)),
        ("levels + gamma + CLAHE 1.5, strength 1", FadingOptions(strength=1.0)),
        ("default (strength 0.7)", FadingOptions()),
    ):
        fixed = [correct_fading(f, options) for f in faded]
        rows[name] = {"p1_p99": spread(fixed), "psnr": mean_psnr(fixed, cleans)}
    return rows


def speed(clean: np.ndarray, restorer: Restorer, seed: int) -> dict:
    """Seconds for each stage on a 12-megapixel (4000 x 3000) photo made from ``clean``: damaged at
    the detector's working size (1365 x 1024), then enlarged like a scan, then grain at full size."""
    rng = np.random.default_rng(seed + 2)
    print_size = cv2.resize(clean, (1365, 1024), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
    pair = damage_photo(print_size, rng)
    big = cv2.resize(pair.damaged, (4000, 3000), interpolation=cv2.INTER_CUBIC)
    damaged = to8(add_grain(np.clip(big, 0, 1).astype(np.float32), rng, 0.02, 1.0))
    true_mask = cv2.resize(pair.mask.astype(np.uint8), (4000, 3000), interpolation=cv2.INTER_NEAREST) > 0
    options = RestorationOptions()
    times = {}
    tick = time.perf_counter()
    mask = restorer.detect(damaged, options)
    times["scratches: detect"] = time.perf_counter() - tick
    for method in ("telea", "ns"):  # the known mask: the detector's may be empty on this photo
        tick = time.perf_counter()
        fill(damaged, true_mask, method, 3)
        times[f"scratches: fill ({method} r3, {true_mask.mean():.1%} of the photo)"] = time.perf_counter() - tick
    times["scratches: share the detector found"] = float(mask.mean())
    tick = time.perf_counter()
    denoise(damaged, options.grain)
    times["grain (NLM 7/21)"] = time.perf_counter() - tick
    tick = time.perf_counter()
    denoise(damaged, GrainOptions(template=5, search=13))
    times["grain (NLM 5/13)"] = time.perf_counter() - tick
    tick = time.perf_counter()
    correct_fading(damaged, options.fading)
    times["fading"] = time.perf_counter() - tick
    tick = time.perf_counter()
    restorer.restore(damaged, ("scratches", "grain", "fading"), options)
    times["all three stages"] = time.perf_counter() - tick
    tick = time.perf_counter()
    restorer.restore(damaged.astype(np.uint16) * 257, ("scratches", "grain", "fading"), options)
    times["all three stages, uint16"] = time.perf_counter() - tick
    return times


def samples(paths: list[Path], out: Path, restorer: Restorer) -> list[dict]:
    """The full pipeline on real old photos: before, after, the mask, and the three side by side."""
    from engine.imaging import read_photo
    from engine.restoration.mask_edit import mask_overlay

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in paths:
        luma = read_photo(path).luma
        luma = luma if luma.dtype == np.uint8 else np.round(luma / 257.0).astype(np.uint8)
        tick = time.perf_counter()
        result = restorer.restore(luma, ("scratches", "grain", "fading"))
        seconds = time.perf_counter() - tick
        overlay = mask_overlay(result.mask)
        alpha = overlay[..., 3:4].astype(np.float32) / 255.0
        shown = (np.repeat(luma[..., None], 3, 2) * (1 - alpha) + overlay[..., :3] * alpha).astype(np.uint8)
        Image.fromarray(luma).save(out / f"{path.stem}-before.png")
        Image.fromarray(result.luma).save(out / f"{path.stem}-after.png")
        Image.fromarray(shown).save(out / f"{path.stem}-mask.png")
        strip = np.hstack([np.repeat(luma[..., None], 3, 2), shown, np.repeat(result.luma[..., None], 3, 2)])
        Image.fromarray(strip).save(out / f"{path.stem}-compare.png")
        rows.append(
            {
                "photo": path.name,
                "size": list(luma.shape[::-1]),
                "mask_share": float(result.mask.mean()),
                "seconds": seconds,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="folder of photos (its held-out split is used)")
    parser.add_argument("--images", type=int, default=96, help="held-out photos to use (default 96)")
    parser.add_argument("--size", type=int, default=256, help="short side of the test photos (default 256)")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--detector", type=Path, help="detector file (default: the shipped one)")
    parser.add_argument("--no-speed", dest="speed", action="store_false", help="skip the 12-MP timings")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument(
        "--samples",
        type=Path,
        metavar="OUT",
        help="also restore the --old photos and save before/after/mask PNGs in OUT",
    )
    parser.add_argument(
        "--old", type=Path, nargs="*", default=[], metavar="PHOTO", help="real old photos for --samples"
    )
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    held_out = [p for p in list_photos(args.photos) if is_holdout(p)]
    _, test = tuning_split(held_out)
    cleans = load_gray(spread(test, args.images), args.size)
    restorer = Restorer(detector_path=args.detector)
    results = {
        "photos": str(args.photos),
        "held_out_photos": len(cleans),
        "detector": str(restorer.detector.path),
        "threads": 1,
    }
    results["scratches"] = scratches(cleans, restorer, args.seed)
    results["grain"] = grain(cleans, args.seed)
    results["fading"] = fading(cleans)
    if args.samples:
        results["samples"] = samples(args.old, args.samples, restorer)
    if args.speed:
        results["seconds_per_12MP_photo"] = speed(cleans[0], restorer, args.seed)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
