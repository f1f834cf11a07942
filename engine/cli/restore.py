"""The ``restore`` command: repair photos before colour, writing the restored gray photos.

``main.py restore INPUT... -o DIR [--stages scratches,grain,fading] [--strength S|stage=S,...]``
finds and fills scratches, dust and folds, reduces grain and corrects fading on each photo's
luminance and writes it gray (no colour), with the planning, naming and never-overwrite rules of
``colorize`` (``engine.batch.plan``, ``engine.batch.ledger``; see ``engine.restoration.batch``).

Exit status: 0 all restored, 1 some files failed or some inputs could not be used, 2 usage or
configuration error (one line on stderr), 130 cancelled with Ctrl+C or SIGTERM (finished photos
are kept; rerun with ``--skip-existing`` to resume).

Only torch-free modules are imported at the top: ``--help`` answers at once; torch is imported in
``run`` and only when the scratch stage needs its detector.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.batch.folder_scan import describe_other_types
from engine.batch.settings import DEFAULT_QUALITY, FORMATS, BatchOptions
from engine.cancel import CancelToken
from engine.cli.progress import ProgressLine
from engine.cli.runtime import events_from_thread, interrupts, native_stderr_to_log, say
from engine.durations import format_duration
from engine.errors import ReviveError
from engine.restoration.stages import (
    FILL_METHODS,
    STAGE_ORDER,
    RestorationOptions,
    ScratchOptions,
    parse_stages,
    parse_strengths,
)

DEFAULT_STAGES = ",".join(STAGE_ORDER)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", type=Path, metavar="INPUT", help="photo files or folders (walked recursively)"
    )
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="DIR", help="output folder (created if needed)"
    )
    parser.add_argument(
        "--stages",
        default=DEFAULT_STAGES,
        metavar="LIST",
        help=f"what to repair, comma-separated: {', '.join(STAGE_ORDER)} or all (default: all);"
        " they always run in that order",
    )
    parser.add_argument(
        "--strength",
        metavar="S|STAGE=S,...",
        help="strength 0-1 for every stage (0.7) or per stage (fading=0.9,grain=0.3); for"
        " scratches it is the detector's sensitivity (default: each stage's own)",
    )
    parser.add_argument("--fill", choices=FILL_METHODS, default="telea", help="how damage is filled (default telea)")
    parser.add_argument(
        "--detect-size",
        type=int,
        default=ScratchOptions().detect_size,
        metavar="N",
        help="short side of the copy the damage detector looks at (default %(default)s)",
    )
    parser.add_argument(
        "--detector", type=Path, metavar="FILE", help="a damage detector file (default: the shipped one)"
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="same", help="output file type (default: same as the input)"
    )
    parser.add_argument("--skip-existing", action="store_true", help="skip photos whose output exists (resume a run)")
    parser.add_argument(
        "--quality", type=int, default=DEFAULT_QUALITY, help=f"JPEG/WebP quality (default {DEFAULT_QUALITY})"
    )
    parser.add_argument("--no-recursive", dest="recursive", action="store_false", help="do not walk into sub-folders")


def restoration_options(args: argparse.Namespace) -> tuple[tuple[str, ...], RestorationOptions]:
    """(stages, options) from the command line; ValueError in one line."""
    stages = parse_stages(args.stages)
    options = RestorationOptions(scratches=ScratchOptions(method=args.fill, detect_size=args.detect_size))
    if args.strength is not None:
        options = options.with_strengths(parse_strengths(args.strength, stages))
    return stages, options


def add_restore_option(parser: argparse.ArgumentParser) -> None:
    """``--restore LIST`` and ``--restore-strength`` for the colorize command: repair before colour."""
    parser.add_argument(
        "--restore",
        metavar="LIST",
        help=f"repair each photo before colouring it: {', '.join(STAGE_ORDER)} or all, comma-separated",
    )
    parser.add_argument(
        "--restore-strength",
        metavar="S|STAGE=S,...",
        help="strength 0-1 of the repair, for every stage or per stage (default: each stage's own)",
    )


def restore_request(args: argparse.Namespace) -> tuple[tuple[str, ...], RestorationOptions] | None:
    """(stages, options) from ``--restore`` / ``--restore-strength``, or None when no repair was
    asked for; ValueError in one line (the caller says it and exits with status 2)."""
    if getattr(args, "restore", None) is None:
        if getattr(args, "restore_strength", None) is not None:
            raise ValueError("--restore-strength needs --restore")
        return None
    stages = parse_stages(args.restore)
    options = RestorationOptions()
    if args.restore_strength is not None:
        options = options.with_strengths(parse_strengths(args.restore_strength, stages))
    return stages, options


def run(args: argparse.Namespace) -> int:
    from engine.batch.plan import plan_batch, prepare_output_folder

    try:
        stages, options = restoration_options(args)
        batch = BatchOptions(
            output_dir=args.output,
            format=args.format,
            skip_existing=args.skip_existing,
            recursive=args.recursive,
            quality=args.quality,
            output_kind="restored",
        )
    except ValueError as error:
        say(f"revive: {error}")
        return 2
    try:
        plan = plan_batch(args.inputs, batch)
        if not plan.jobs:
            for path, message in plan.problems:
                say(f"revive: {path}: {message}")
            if not plan.problems:
                say("revive: no photos found in the given inputs")
            return 2
    except ReviveError as error:
        say(f"revive: {error}")
        return 2
    say(f"Restoring {len(plan.jobs)} photo(s) into {batch.output_dir} ({', '.join(stages)})")
    for note in plan.notes[:8]:
        say(f"note: {note}")
    for path, message in plan.problems:
        say(f"cannot use: {path}: {message}")
    try:
        restorer = _restorer(stages, args.detector)
        prepare_output_folder(batch.output_dir)  # after the detector: a usage error leaves no folder
    except (ReviveError, ValueError) as error:
        say(f"revive: {error}")
        return 2
    return _run_plan(plan, stages, options, restorer, batch)


def _restorer(stages: tuple[str, ...], detector: Path | None):
    from engine.restoration.pipeline import Restorer

    restorer = Restorer(detector_path=detector)
    if "scratches" in stages:
        restorer.detector  # noqa: B018 - load now: a missing or damaged detector is a usage error (exit 2)
    return restorer


def _run_plan(plan, stages, options, restorer, batch: BatchOptions) -> int:
    from engine.restoration.batch import (
        PhotoFailed,
        PhotoRestored,
        PhotoSkipped,
        PhotoStarted,
        RestoreFinished,
        restore_batch,
    )

    cancel = CancelToken()
    progress = ProgressLine(len(plan.jobs))
    finished_count = 0
    summary = None

    def events():
        return restore_batch(
            plan, stages, options, restorer, quality=batch.quality, skip_existing=batch.skip_existing, cancel=cancel
        )

    with interrupts(cancel, "stopping within the photo in progress; finished photos are kept"), native_stderr_to_log():
        try:
            for event in events_from_thread(events, "revive-restore"):
                if isinstance(event, PhotoStarted):
                    progress.update(finished_count, event.job.source.name)
                elif isinstance(event, (PhotoRestored, PhotoSkipped, PhotoFailed)):
                    finished_count += 1
                    if isinstance(event, PhotoFailed):
                        progress.close()
                        say(f"failed: {event.job.source}: {event.message}")
                    progress.update(finished_count, event.job.source.name, force=finished_count == len(plan.jobs))
                elif isinstance(event, RestoreFinished):
                    summary = event
        finally:
            progress.close()
    assert summary is not None
    failed = list(plan.problems) + list(summary.failed)  # counted as colorize counts them
    say(
        f"Done {summary.done}, skipped {summary.skipped}, failed {len(failed)} in "
        f"{format_duration(summary.seconds)}" + (" - cancelled" if summary.cancelled else "")
    )
    for source, message in failed:
        say(f"  {source}: {message}")
    other = describe_other_types(plan.other_types)
    if other:
        say(f"Skipped {other}.")
    if summary.report_path:
        say(f"Report: {summary.report_path}")
    if summary.cancelled:
        say("Cancelled: finished photos are kept; run again with --skip-existing to resume.")
        return 130
    return 1 if failed else 0
