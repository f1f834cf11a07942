"""The ``colorize`` command: plan, run with a progress bar, print a summary.

Exit status: 0 all succeeded, 1 some files failed or some inputs could not be used (the rest are
written), 2 usage or configuration error (one line on stderr), 130 cancelled with Ctrl+C or
SIGTERM (finished files are kept; rerun with ``--skip-existing`` to resume).

Only torch-free modules are imported at the top: ``--help`` and planning never wait for torch, and
the plan is printed while the model loads.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.batch.folder_scan import describe_other_types
from engine.batch.plan import BatchPlan, plan_batch, prepare_output_folder, with_hints
from engine.batch.settings import (
    DEFAULT_QUALITY,
    DEFAULT_SATURATION,
    DEVICE_CHOICES,
    FORMATS,
    MAX_RENDER_SIZE,
    MIN_RENDER_SIZE,
    SATURATION_RANGE,
    BatchOptions,
    ColorizeSettings,
)
from engine.cancel import CancelToken
from engine.cli.progress import ProgressLine
from engine.cli.restore import add_restore_option, restore_request
from engine.cli.runtime import events_from_thread, in_background, interrupts, native_stderr_to_log, say
from engine.cluster.command import add_cluster_arguments, cluster_events, cluster_problem, model_lines
from engine.durations import format_duration
from engine.errors import ReviveError
from engine.hints.schema import read_hint_file
from engine.hints.store import HintStore

log = logging.getLogger(__name__)

NOTES_SHOWN = 8  # notes beyond this are counted, not listed (a big archive may have thousands)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", type=Path, metavar="INPUT", help="photo files or folders (walked recursively)"
    )
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="DIR", help="output folder (created if needed)"
    )
    parser.add_argument(
        "--model", metavar="NAME|PATH", help="installed model name or .safetensors path (default: the shipped model)"
    )
    parser.add_argument(
        "--render-size",
        type=int,
        metavar="N",
        help=f"short side at which colour is predicted, {MIN_RENDER_SIZE}-{MAX_RENDER_SIZE} (default: the model's)",
    )
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where the model runs (default: auto)")
    parser.add_argument(
        "--format", choices=FORMATS, default="same", help="output file type (default: same as the input)"
    )
    parser.add_argument("--skip-existing", action="store_true", help="skip photos whose output exists (resume a run)")
    parser.add_argument(
        "--saturation",
        type=float,
        default=DEFAULT_SATURATION,
        help=f"colour strength, {SATURATION_RANGE[0]:g}-{SATURATION_RANGE[1]:g} (default {DEFAULT_SATURATION:g})",
    )
    parser.add_argument("--temperature", type=float, help="colour boldness: lower is bolder (default: the model's)")
    parser.add_argument(
        "--quality", type=int, default=DEFAULT_QUALITY, help=f"JPEG/WebP quality (default {DEFAULT_QUALITY})"
    )
    parser.add_argument("--no-recursive", dest="recursive", action="store_false", help="do not walk into sub-folders")
    hints = parser.add_mutually_exclusive_group()
    hints.add_argument(
        "--hints",
        type=Path,
        metavar="FILE",
        help="colour hints for a single photo (JSON: points, strokes, adjust; see the README)",
    )
    hints.add_argument(
        "--hints-dir",
        type=Path,
        metavar="DIR",
        help="colour hints for a batch: DIR/<photo stem>.json for each photo that has some",
    )
    hints.add_argument(
        "--saved-hints", action="store_true", help="use the hints saved in the app for each photo (by its content)"
    )
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto", help=argparse.SUPPRESS)
    parser.add_argument(
        "--upscale", metavar="NAME|PATH", help="enlarge the result with an added upscaling model (see models --add)"
    )
    parser.add_argument(
        "--faces",
        metavar="NAME|PATH",
        help="restore faces with an added face model (GFPGAN, CodeFormer; see models --add)",
    )
    add_restore_option(parser)
    add_cluster_arguments(parser)


def _load_colorizer(model, device, precision):
    # torch: imported while the plan is printed. Revive's models and added ones (DDColor) alike.
    from engine.external.external_colorizer import load_colorizer

    return load_colorizer(model, device, precision)


def _load_finishing(upscale, faces, device, precision):
    from engine.external.finishing import Finishing

    return Finishing.load(upscale, faces, device, precision)


def _attach_hints(plan: BatchPlan, args: argparse.Namespace) -> BatchPlan:
    """The plan with each photo's hints (--hints, --hints-dir or --saved-hints); ReviveError for
    a --hints file that cannot be used (a single photo's hints are the point of the command)."""
    if args.hints is not None:
        if len(plan.jobs) != 1:
            raise ReviveError(
                f"--hints is for one photo, and the inputs hold {len(plan.jobs)}: use --hints-dir for a batch"
            )
        hints = read_hint_file(args.hints)
        return with_hints(plan, lambda job: hints)
    if args.hints_dir is not None:
        if not args.hints_dir.is_dir():
            raise ReviveError(f"the hints folder {args.hints_dir} does not exist")
        folder = args.hints_dir

        def from_folder(job):
            path = folder / f"{job.source.stem}.json"
            return read_hint_file(path) if path.is_file() else None

        return with_hints(plan, from_folder)
    if args.saved_hints:
        store = HintStore()
        return with_hints(plan, lambda job: store.hints_for(job.source))
    return plan


def _print_plan(plan: BatchPlan) -> None:
    for note in plan.notes[:NOTES_SHOWN]:
        say(f"note: {note}")
    if len(plan.notes) > NOTES_SHOWN:
        say(f"note: ... and {len(plan.notes) - NOTES_SHOWN} more renamed outputs (the report lists them all)")
    for path, message in plan.problems:
        say(f"cannot use: {path}: {message}")
    if plan.revive_outputs:
        say(
            f"note: {plan.revive_outputs} file(s) under the inputs are Revive's own earlier results; not colorized again"
        )
    other = describe_other_types(plan.other_types)
    if other:
        say(f"note: skipped {other}")


def run(args: argparse.Namespace) -> int:
    try:
        settings = ColorizeSettings(args.render_size, args.saturation, args.temperature)
        options = BatchOptions(
            output_dir=args.output,
            format=args.format,
            skip_existing=args.skip_existing,
            recursive=args.recursive,
            quality=args.quality,
            settings=settings,
        )
        restore = restore_request(args)
    except ValueError as error:
        say(f"revive: {error}")
        return 2
    problem = cluster_problem(args)
    if problem:
        say(f"revive: {problem}")
        return 2
    # The model loads (torch import included, seconds) while the inputs are planned and listed;
    # on a cluster, its workers load it instead.
    loading = None if args.cluster else in_background(_load_colorizer, args.model, args.device, args.precision)
    finishing_loading = None
    if (args.upscale or args.faces) and not args.cluster:  # on a cluster, its workers load them too
        finishing_loading = in_background(_load_finishing, args.upscale, args.faces, args.device, args.precision)
    try:
        plan = plan_batch(args.inputs, options)
        if not plan.jobs:
            for path, message in plan.problems:
                say(f"revive: {path}: {message}")
            if not plan.problems:
                say("revive: no photos found in the given inputs")
            return 2
        plan = _attach_hints(plan, args)
    except ReviveError as error:
        say(f"revive: {error}")
        return 2
    say(f"Colorizing {len(plan.jobs)} photo(s) into {options.output_dir}")
    _print_plan(plan)
    if args.cluster:
        try:  # the workers prove they can write in the output folder, and create it if need be
            lines = model_lines(args)
        except ReviveError as error:
            say(f"revive: {error}")
            return 2
        for line in lines:
            say(line)
        if restore is not None:
            say(f"Repairing first: {', '.join(restore[0])}")
        return _run_plan(plan, options, cluster_events(plan, options, args, restore))
    assert loading is not None  # started above unless --cluster
    try:
        colorizer = loading.result()
        if any(job.hints is not None and job.hints.has_marks for job in plan.jobs) and not colorizer.takes_hints:
            raise ReviveError(
                f"the model {colorizer.card.name} takes no colour hints; choose one that does"
                " (main.py models shows which)"
            )
        finishing = finishing_loading.result() if finishing_loading is not None else None
        repair = _repair(restore)
        prepare_output_folder(options.output_dir)  # after the model: a usage error leaves no folder
    except (ReviveError, ValueError) as error:
        say(f"revive: {error}")
        return 2
    for warning in getattr(colorizer, "warnings", ()):
        say(f"warning: {warning}")
    say(f"Model {colorizer.card.name} ({colorizer.path}) on {colorizer.device.description}")
    if finishing is not None:
        say(f"Finishing: {finishing.description}")
    if repair is not None:
        say(f"Repairing first: {', '.join(repair.stages)}")
    from engine.batch.run import run_batch

    return _run_plan(plan, options, lambda cancel: run_batch(plan, colorizer, options, cancel, finishing, repair))


def _repair(restore):
    """The batch's Repair for ``--restore`` (None without it); the damage detector is loaded now,
    so a missing or damaged one is a usage error before any photo."""
    if restore is None:
        return None
    from engine.batch.steps import Repair
    from engine.restoration.pipeline import Restorer

    stages, restoration_options = restore
    restorer = Restorer()
    if "scratches" in stages:
        restorer.detector  # noqa: B018 - loads it (ModelFileError in one line if it cannot be)
    return Repair(stages, restoration_options, restorer)


def _run_plan(plan: BatchPlan, options: BatchOptions, start: Callable[[CancelToken], Iterator[object]]) -> int:
    """Run the batch whose events ``start(cancel)`` yields (engine.batch.run's, on this machine or
    a cluster) with a progress line, then print the summary; the exit status."""
    from engine.batch.progress import BatchProgress
    from engine.batch.run import BatchFinished, InputProblem, JobFailed

    cancel = CancelToken()
    progress = ProgressLine(len(plan.jobs))
    tally = BatchProgress()

    def events() -> Iterator[object]:
        return start(cancel)

    with interrupts(cancel, "stopping after the photos in progress; finished photos are kept"), native_stderr_to_log():
        try:
            for event in events_from_thread(events, "revive-batch"):
                tally.apply(event, time.monotonic())
                if isinstance(event, JobFailed):
                    progress.close()
                    say(f"failed: {event.job.source}: {event.message}")
                if isinstance(event, (BatchFinished, InputProblem)):
                    continue
                finished = tally.skipped + tally.finished_count
                current = tally.current.name if tally.current else ""
                progress.update(finished, current, eta_seconds=tally.eta_seconds(), force=finished == len(plan.jobs))
        except ReviveError as error:  # a cluster that cannot be used, or lost on the way (finished files are kept)
            progress.close()
            say(f"revive: {error}")
            return 2
        finally:
            progress.close()
    summary = tally.summary
    assert summary is not None
    failed = len(summary.failed)
    say(
        f"Done {summary.done}, skipped {summary.skipped}, failed {failed} in {format_duration(summary.seconds)}"
        f" ({summary.images_per_second:.2f} images/s)" + (" - cancelled" if summary.cancelled else "")
    )
    for source, message in summary.failed:
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
