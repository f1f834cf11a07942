"""Colorization quality on colour photos, measured the way a user runs the model.

    uv run benchmarks/quality.py PHOTO_DIR [--model NAME] [--holdout] [--limit N] [--render-size N]
        [--temperature T] [--saturation S] [--device D] [--gray-only] [--sheet PATH] [--no-by-source]
        [--json]

Each photo is turned into a gray copy (Pillow's 'L' conversion, saved as PNG: lossless) in a
temporary folder; the gray copies are colorized by the engine's batch runner exactly as
``main.py colorize --format png`` does (``plan_batch`` + ``run_batch``); each output, and each gray
copy, is scored against its original (``engine.metrics.score``) and aggregated with
``engine.metrics.summarize``.

Printed, for the whole folder (model row and gray-copy row) and per source tag (the file name's
prefix before the first '_': ``azure_00001.jpg`` -> ``azure``): mean PSNR (dB, RGB), mean
CIEDE2000 (lower is better), the share of photos where the model beats its gray copy on CIEDE2000,
the signed mean a* and b* errors (the colour cast; a blue cast shows as a negative b*), the AuC of
the per-pixel a*b* error CDF over 0-150, the outputs' colourfulness as a share of the originals'
and the share of outputs left almost gray; then which of ``training.decoding_sweep.BAR``'s floors
the model clears, and the wall time and photos/s of the colorize step.

``--json`` prints everything (per photo too) as JSON on stdout and the table on stderr, so one run
gives both: ``... --json > q.json 2> q.txt``. ``--sheet PATH`` writes a contact sheet (PNG) of the
8 photos where the model does worst against its gray copy and the 4 where it does best.
``--holdout`` scores only the photos the training run held out (the same file-name-hash split).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from _sheet import draw_sheet, tile
from PIL import Image

NO_TAG = "(untagged)"  # a file name without '_'
SHEET_HEIGHT = 160  # thumbnail height on the contact sheet, pixels
SHEET_WORST, SHEET_BEST = 8, 4
_GAP = 6  # pixels between the sheet's tiles


def source_tag(path: Path) -> str:
    """The source a photo comes from, by the file-name convention ``<source>_<number>.jpg``."""
    name = Path(path).name
    return name.split("_", 1)[0] if "_" in name else NO_TAG


@dataclass(frozen=True)
class PhotoScore:
    """One photo's scores (``engine.metrics.score`` dicts) and the files the contact sheet shows."""

    original: Path
    gray_file: Path | None  # the gray copy the model was given (None with --gray-only)
    output: Path | None  # the model's output (None with --gray-only)
    model: dict[str, float] | None
    gray: dict[str, float]
    original_colourfulness: float

    @property
    def tag(self) -> str:
        return source_tag(self.original)

    @property
    def margin(self) -> float:
        """Model CIEDE2000 minus gray-copy CIEDE2000: above 0, colour made the photo worse."""
        return self.model["ciede2000"] - self.gray["ciede2000"]


def read_original(path: Path) -> np.ndarray | None:
    """An upright sRGB ``(H, W, 3)`` uint8 colour photo at full size; None (with a warning on
    stderr) when it cannot be read."""
    from engine.errors import UnsupportedImage
    from engine.imaging import read_preview_rgb

    try:
        return read_preview_rgb(path, 1 << 20)
    except UnsupportedImage as error:
        print(f"quality: skipping {path}: {error}", file=sys.stderr)
        return None


def make_gray_copies(paths: list[Path], root: Path, folder: Path) -> list[tuple[Path, Path]]:
    """Save each photo's gray copy (``engine.metrics.gray_copy``, one 'L' plane) as PNG under
    ``folder``, mirroring the layout under ``root``. Returns (original, gray copy) pairs."""
    from engine.metrics import gray_copy

    pairs, taken = [], set()
    for index, path in enumerate(paths):
        original = read_original(path)
        if original is None:
            continue
        relative = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
        target = folder / relative.with_suffix(".png")
        if target in taken:  # a.jpg and a.png: the second gets its own name
            target = target.with_name(f"{relative.stem}-{index}.png")
        taken.add(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(gray_copy(original)[..., 0]).save(target, format="PNG")
        pairs.append((path, target))
    return pairs


def colorize_folder(folder: Path, output_dir: Path, colorizer, settings):
    """Colorize every photo under ``folder`` into ``output_dir`` as ``main.py colorize --format png``
    does. Returns ({gray copy: output}, [(file, message) that failed], BatchSummary)."""
    from engine.batch.plan import BatchOptions, plan_batch, prepare_output_folder
    from engine.batch.run import BatchFinished, JobDone, JobFailed, run_batch

    options = BatchOptions(output_dir=output_dir, format="png", settings=settings)
    plan = plan_batch([folder], options)
    prepare_output_folder(output_dir)
    outputs, failed, summary = {}, list(plan.problems), None
    for event in run_batch(plan, colorizer, options):
        if isinstance(event, JobDone):
            outputs[event.job.source.resolve()] = event.job.output
        elif isinstance(event, JobFailed):
            failed.append((event.job.source, event.message))
        elif isinstance(event, BatchFinished):
            summary = event.summary
    return outputs, failed, summary


def score_photos(pairs: list[tuple[Path, Path | None]], outputs: dict[Path, Path] | None) -> list[PhotoScore]:
    """Score each output (when ``outputs`` is given; photos without one are left out) and each gray
    copy against the original."""
    from engine.metrics import colourfulness, gray_copy, score

    scores = []
    for path, gray_file in pairs:
        output = outputs.get(gray_file.resolve()) if outputs is not None else None
        if outputs is not None and output is None:
            continue  # failed: reported with the failures
        original = read_original(path)
        if original is None:
            continue
        model = None
        if output is not None:
            with Image.open(output) as image:
                model = score(np.asarray(image.convert("RGB")), original)
        scores.append(
            PhotoScore(path, gray_file, output, model, score(gray_copy(original), original), colourfulness(original))
        )
    return scores


def figures(scores: list[PhotoScore]) -> dict[str, dict[str, float]]:
    """``{"model": summary, "gray": summary}`` (``engine.metrics.summarize``) of these photos; the
    gray copy's own row is its summary against itself, so its ``better_than_gray`` is 0."""
    from engine.metrics import summarize

    gray = [s.gray for s in scores]
    originals = [s.original_colourfulness for s in scores]
    result = {"gray": summarize(gray, gray, originals)}
    if scores[0].model is not None:
        result = {"model": summarize([s.model for s in scores], gray, originals), **result}
    return result


def by_source(scores: list[PhotoScore]) -> dict[str, dict[str, dict[str, float]]]:
    """``figures`` per source tag, the most photos first."""
    groups: dict[str, list[PhotoScore]] = {}
    for s in scores:
        groups.setdefault(s.tag, []).append(s)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return {tag: figures(group) for tag, group in ordered}


# ------------------------------------------------------------------------------- contact sheet


def sheet_photos(scores: list[PhotoScore]) -> tuple[list[PhotoScore], list[PhotoScore]]:
    """(worst, best): the photos where the model's CIEDE2000 is furthest above its gray copy's,
    and, among the others, furthest below."""
    ranked = sorted(scores, key=lambda s: s.margin, reverse=True)
    worst = ranked[:SHEET_WORST]
    best = ranked[SHEET_WORST:][::-1][:SHEET_BEST]
    return worst, best


def contact_sheet(scores: list[PhotoScore]) -> bytes:
    """A PNG: one row "gray | Revive | original" per photo of ``sheet_photos``, captioned with the
    file name and both CIEDE2000 values."""
    sections = [("worst", "Revive furthest above its gray copy"), ("best", "Revive furthest below its gray copy")]
    rows: list[tuple[str, list[Image.Image] | None]] = []
    for (title, meaning), group in zip(sections, sheet_photos(scores)):
        if not group:
            continue
        rows.append((f"{title} {len(group)}: {meaning} on CIEDE2000 (lower is better). gray | Revive | original", None))
        for s in group:
            with Image.open(s.gray_file) as gray, Image.open(s.output) as output:
                original = Image.fromarray(read_original(s.original))
                tiles = [tile(gray, SHEET_HEIGHT), tile(output, SHEET_HEIGHT), tile(original, SHEET_HEIGHT)]
            caption = (
                f"{s.original.name}   CIEDE2000 Revive {s.model['ciede2000']:.2f}, "
                f"gray {s.gray['ciede2000']:.2f} ({s.margin:+.2f})"
            )
            rows.append((caption, tiles))
    sheet = draw_sheet(rows, SHEET_HEIGHT, _GAP)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------- the table

_HEAD = (
    f"{'':<16}{'PSNR dB':>8}{'CIEDE2000':>10}{'better':>8}{'a* cast':>9}{'b* cast':>9}{'AuC':>7}"
    f"{'colour':>8}{'gray':>6}"
)


def _row(label: str, r: dict[str, float]) -> str:
    return (
        f"{label:<16.16}{r['psnr']:>8.2f}{r['ciede2000']:>10.2f}{r['better_than_gray']:>8.0%}"
        f"{r['mean_a_error']:>+9.2f}{r['mean_b_error']:>+9.2f}{r['auc']:>7.3f}"
        f"{r['colourfulness_ratio']:>8.0%}{r['almost_gray']:>6.0%}"
    )


def _bars_line(summary: dict[str, float]) -> str:
    from training.decoding_sweep import BAR, bars_met

    met = bars_met(summary)
    values = {
        "psnr_gain": f"{summary['psnr'] - summary['gray_psnr']:+.2f} dB, needs +{BAR['psnr_gain']:g}",
        "ciede_gain": f"{summary['gray_ciede2000'] - summary['ciede2000']:+.2f}, needs +{BAR['ciede_gain']:g}",
        "better_than_gray": f"{summary['better_than_gray']:.0%}, needs {BAR['better_than_gray']:.0%}",
        "colourfulness_ratio": f"{summary['colourfulness_ratio']:.0%}, needs {BAR['colourfulness_ratio']:.0%}",
        "almost_gray": f"{summary['almost_gray']:.0%}, needs <= {BAR['almost_gray']:.0%}",
        "cast": f"{max(abs(summary['mean_a_error']), abs(summary['mean_b_error'])):.2f}, needs <= {BAR['cast']:g}",
    }
    parts = [f"{name} {'yes' if ok else 'NO'} ({values[name]})" for name, ok in met.items()]
    return f"bar (training.decoding_sweep.BAR): clears {sum(met.values())} of {len(met)}: " + "; ".join(parts)


def format_table(result: dict) -> str:
    """The human-readable report of ``main``'s result dict."""
    run = result["run"]
    lines = [
        f"{result['photos']} photos from {run['folder']}{' (held-out split)' if run['holdout'] else ''}, "
        f"model {run['model']}"
        + (
            f" ({run['model_path']}) on {run['device']}, render size "
            f"{run['render_size']}, T {run['temperature']:g}, saturation "
            f"{run['saturation']:g}"
            if "model" in result
            else ""
        )
    ]
    timing = result.get("timing")
    if timing:
        from engine.durations import format_duration

        lines.append(
            f"colorize step: {timing['photos']} photos in {format_duration(timing['seconds'])} "
            f"({timing['seconds']:.1f} s, {timing['photos_per_second']:.2f} photos/s)"
        )
    for path, message in result.get("failed", []):
        lines.append(f"failed: {path}: {message}")
    lines += [
        "",
        "better: share of photos beating their gray copy on CIEDE2000; cast: signed mean output "
        "minus original, Lab; AuC: a*b* error CDF over 0-150; colour: colourfulness vs the originals'; "
        "gray: share left almost gray",
        "",
        _HEAD,
    ]
    if "model" in result:
        lines.append(_row(run["model"], result["model"]))
    lines.append(_row("gray copy", result["gray"]))
    if result.get("by_source"):
        lines += [
            "",
            "by source (n photos; model, then gray copy where two values)",
            f"{'source':<12}{'n':>5}{'PSNR dB':>14}{'CIEDE2000':>14}{'better':>8}{'a* cast':>9}{'b* cast':>9}"
            f"{'AuC':>7}{'colour':>8}{'gray':>6}",
        ]
        for tag, rows in result["by_source"].items():
            g, m = rows["gray"], rows.get("model", rows["gray"])
            lines.append(
                f"{tag:<12.12}{int(g['photos']):>5}{m['psnr']:>8.2f}/{g['psnr']:<5.2f}"
                f"{m['ciede2000']:>8.2f}/{g['ciede2000']:<5.2f}{m['better_than_gray']:>8.0%}"
                f"{m['mean_a_error']:>+9.2f}{m['mean_b_error']:>+9.2f}{m['auc']:>7.3f}"
                f"{m['colourfulness_ratio']:>8.0%}{m['almost_gray']:>6.0%}"
            )
    if "model" in result:
        lines += ["", _bars_line(result["model"])]
    if result.get("sheet"):
        lines.append(f"contact sheet: {result['sheet']}")
    return "\n".join(lines)


def _per_photo(s: PhotoScore) -> dict:
    row = {"file": str(s.original), "tag": s.tag, "gray": s.gray, "original_colourfulness": s.original_colourfulness}
    if s.model is not None:
        row["model"] = s.model
    return row


def measure(args: argparse.Namespace, paths: list[Path], colorizer, settings) -> dict:
    """Gray copies -> batch colorize -> scores -> the result dict ``format_table`` prints."""
    from engine.atomic_files import write_bytes_atomically
    from engine.errors import ReviveError
    from training.decoding_sweep import bars_met

    run = {"folder": str(args.photos), "holdout": args.holdout, "model": colorizer.card.name if colorizer else "-"}
    result: dict = {"run": run}
    with tempfile.TemporaryDirectory(prefix="revive-quality-") as temp:
        pairs = make_gray_copies(paths, Path(args.photos), Path(temp) / "gray")
        if not pairs:
            raise ReviveError(f"no readable photos in {args.photos}")
        outputs = None
        if colorizer is not None:
            render_size, temperature = colorizer.resolve(settings)
            run.update(
                model_path=str(colorizer.path),
                device=colorizer.device.description,
                render_size=render_size,
                temperature=temperature,
                saturation=settings.saturation,
            )
            outputs, failed, summary = colorize_folder(Path(temp) / "gray", Path(temp) / "out", colorizer, settings)
            result["timing"] = {
                "photos": summary.done,
                "seconds": summary.seconds,
                "photos_per_second": summary.images_per_second,
            }
            result["failed"] = [(str(path), message) for path, message in failed]
        scores = score_photos(pairs, outputs)
        if not scores:
            first = f": first {result['failed'][0][0]}: {result['failed'][0][1]}" if result.get("failed") else ""
            raise ReviveError(
                f"no photo was colorized, nothing to score ({len(result.get('failed', []))} failed{first})"
            )
        result.update(photos=len(scores), **figures(scores))
        if args.by_source:
            result["by_source"] = by_source(scores)
        if colorizer is not None:
            result["bars_met"] = bars_met(result["model"])
            worst, best = sheet_photos(scores)
            result["worst"] = [_per_photo(s) for s in worst]
            result["best"] = [_per_photo(s) for s in best]
            if args.sheet:
                result["sheet"] = str(write_bytes_atomically(args.sheet, contact_sheet(scores)))
        result["per_photo"] = [_per_photo(s) for s in scores]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path, help="folder of colour photos")
    parser.add_argument("--model", help="model name or path (default: the shipped model)")
    parser.add_argument("--holdout", action="store_true", help="only the training run's held-out photos")
    parser.add_argument("--limit", type=int, default=0, help="score at most N photos (0: all)")
    parser.add_argument("--render-size", type=int)
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--saturation", type=float, default=1.0, help="colour strength, 0-3 (default 1)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--gray-only", action="store_true", help="score only the gray baseline (no model)")
    parser.add_argument(
        "--sheet", type=Path, metavar="PATH", help="write a contact sheet PNG of the worst and best photos"
    )
    parser.add_argument(
        "--by-source",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one row per source tag (file-name prefix before the first '_'; default on)",
    )
    parser.add_argument("--json", action="store_true", help="print everything as JSON (the table goes to stderr)")
    args = parser.parse_args(argv)

    from engine.batch.settings import ColorizeSettings
    from engine.errors import ReviveError
    from training.data.photo_folder import is_holdout, list_photos

    try:
        if args.gray_only and args.sheet:
            raise ReviveError("--sheet shows the model's outputs: leave out --gray-only")
        settings = ColorizeSettings(
            render_size=args.render_size, saturation=args.saturation, temperature=args.temperature
        )
        paths = list_photos(args.photos)
        if args.holdout:
            paths = [p for p in paths if is_holdout(p)]
        if args.limit:
            paths = paths[: args.limit]
        if not paths:
            raise ReviveError(f"no photos to score in {args.photos}")
        colorizer = None
        if not args.gray_only:
            from engine.models.colorizer import Colorizer

            colorizer = Colorizer.load(args.model, args.device)
            for warning in colorizer.warnings:
                print(f"quality: warning: {warning}", file=sys.stderr)
        result = measure(args, paths, colorizer, settings)
    except (ReviveError, ValueError) as error:
        print(f"quality: {error}", file=sys.stderr)
        return 2

    table = format_table(result)
    if args.json:
        print(json.dumps(result, indent=2))
        print(table, file=sys.stderr)
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
