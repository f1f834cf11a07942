"""The ``colorize`` command: plan, run with a progress bar, print a summary.

Exit status: 0 all succeeded, 1 some files failed (the rest are written), 2 usage or configuration
error (one line on stderr), 130 cancelled with Ctrl-C (finished files are kept; rerun with
``--skip-existing`` to resume).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from engine.batch_plan import FORMATS, BatchOptions, plan_batch
from engine.batch_progress import BatchProgress
from engine.batch_run import BatchFinished, JobFailed, run_batch
from engine.cancel import CancelToken
from engine.colorizer import MAX_RENDER_SIZE, MIN_RENDER_SIZE, Colorizer, ColorizeSettings
from engine.device import DEVICE_CHOICES
from engine.errors import ReviveError
from engine.terminal_progress import ProgressLine, format_duration


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="photo files or folders (walked recursively)")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="DIR", help="output folder (created if needed)")
    parser.add_argument("--model", metavar="NAME|PATH", help="installed model name or .safetensors path (default: the shipped model)")
    parser.add_argument("--render-size", type=int, metavar="N",
                        help=f"short side at which colour is predicted, {MIN_RENDER_SIZE}-{MAX_RENDER_SIZE} (default: the model's)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where the model runs (default: auto)")
    parser.add_argument("--format", choices=FORMATS, default="same", help="output file type (default: same as the input)")
    parser.add_argument("--skip-existing", action="store_true", help="skip photos whose output exists (resume a run)")
    parser.add_argument("--saturation", type=float, default=1.0, help="colour strength, 0-3 (default 1)")
    parser.add_argument("--temperature", type=float, help="colour boldness: lower is bolder (default: the model's)")
    parser.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality (default 95)")
    parser.add_argument("--no-recursive", dest="recursive", action="store_false", help="do not walk into sub-folders")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    try:
        settings = ColorizeSettings(args.render_size, args.saturation, args.temperature)
        options = BatchOptions(
            output_dir=args.output, format=args.format, skip_existing=args.skip_existing,
            recursive=args.recursive, quality=args.quality, settings=settings,
        )
        plan = plan_batch(args.inputs, options)
        if not plan.jobs:
            print("revive: no photos found in the given inputs", file=sys.stderr)
            return 2
        colorizer = Colorizer.load(args.model, args.device, args.precision)
    except (ReviveError, ValueError) as error:
        print(f"revive: {error}", file=sys.stderr)
        return 2

    print(f"Colorizing {len(plan.jobs)} photo(s) with {colorizer.card.name} on {colorizer.device.description}",
          file=sys.stderr)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)

    cancel = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.cancel())
    progress = ProgressLine(len(plan.jobs))
    tally = BatchProgress()
    try:
        for event in run_batch(plan, colorizer, options, cancel):
            tally.apply(event, time.monotonic())
            if isinstance(event, JobFailed):
                progress.close()
                print(f"failed: {event.job.source}: {event.message}", file=sys.stderr)
            if isinstance(event, BatchFinished):
                continue
            finished = tally.skipped + tally.finished_count
            current = tally.current.name if tally.current else ""
            progress.update(finished, current, eta_seconds=tally.eta_seconds(), force=finished == len(plan.jobs))
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.close()
    summary = tally.summary
    assert summary is not None
    failed = len(summary.failed)
    print(
        f"Done {summary.done}, skipped {summary.skipped}, failed {failed} in {format_duration(summary.seconds)}"
        f" ({summary.images_per_second:.2f} images/s)" + (" - cancelled" if summary.cancelled else ""),
        file=sys.stderr,
    )
    for source, message in summary.failed:
        print(f"  {source}: {message}", file=sys.stderr)
    if summary.report_path:
        print(f"Report: {summary.report_path}", file=sys.stderr)
    if summary.cancelled:
        print("Cancelled: finished photos are kept; run again with --skip-existing to resume.", file=sys.stderr)
        return 130
    return 1 if failed else 0
