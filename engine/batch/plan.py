"""Planning a batch: expand inputs, filter image types, name outputs, keep clear of originals.

Pure and fast (no image is decoded), so it is tested without a model and the GUI can show the plan
before anything runs. Folders are walked recursively and their structure mirrored under the
output folder; a file input lands at the output folder's top. Output names keep the input's stem.

The rule that protects originals: an output path may be used only when nothing is there, or when
what is there is a file Revive wrote from the same photo (the output folder's ledger proves it,
``engine.batch.ledger``). Anything else in the way (any input photo, anything the user put there,
another job's output) moves the output to the next free name: ``name-2``, ``name-3``... Names
that differ only by extension (``hopper.bmp``, ``hopper.png``) keep the extension visible
(``hopper-bmp.png``). Inputs that cannot be used (missing, looping links, pipes) are problems of
the plan: reported, and the rest goes on.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.batch.folder_scan import file_problem, scan_folder, walk_images
from engine.batch.ledger import OutputLedger, real_path
from engine.batch.settings import BatchOptions
from engine.errors import ReviveError
from engine.hints.schema import HintError, PhotoHints
from engine.imaging import FORMATS, IMAGE_SUFFIXES, format_of, output_suffix

REPORT_NAME = "revive-report.json"


@dataclass(frozen=True)
class Job:
    index: int
    source: Path
    output: Path
    existing: bool = False  # the output exists and is Revive's own, made from this source
    hints: PhotoHints | None = None  # what the user said about this photo's colours (engine.hints.schema)


@dataclass(frozen=True)
class BatchPlan:
    jobs: tuple[Job, ...]
    output_dir: Path
    notes: tuple[str, ...] = ()  # renamed outputs and other things worth telling the user
    problems: tuple[tuple[Path, str], ...] = ()  # inputs that cannot be used, with the reason
    other_types: Counter = field(default_factory=Counter)  # files skipped for their type, by suffix
    revive_outputs: int = 0  # files under the inputs skipped because Revive wrote them


def output_suffix_for(source: Path, format: str) -> str:
    """The output suffix for ``source`` by its name alone (planning opens no file): 'same' keeps the
    source's type where it can hold a result (BMP becomes PNG); see ``engine.imaging.output_suffix``."""
    return output_suffix(format_of(source), format, bit_depth=8, has_alpha=False)


def _check_output_folder(output_dir: Path) -> None:
    if output_dir.exists() and not output_dir.is_dir():
        raise ReviveError(f"the output {output_dir} is a file, not a folder: choose a folder")


def prepare_output_folder(output_dir: Path) -> None:
    """Create the output folder and prove that files can be written in it, before any photo is
    colorized: a read-only folder is refused up front (ReviveError), not once per photo."""
    output_dir = Path(output_dir).expanduser()
    _check_output_folder(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReviveError(f"cannot create the output folder {output_dir} ({error.strerror or error})") from None
    try:
        _probe_write(output_dir)
    except OSError as error:
        raise ReviveError(
            f"cannot write in the output folder {output_dir} ({error.strerror or error}): choose another folder"
        ) from None


def _probe_write(folder: Path) -> None:
    """Create and remove a hidden file in ``folder`` (OSError when that is impossible). A real
    write, not os.access: permissions, read-only mounts and network shares all answer it."""
    probe = folder / f".revive-probe-{secrets.token_hex(6)}"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    os.unlink(probe)


def plan_batch(inputs: Sequence[Path], options: BatchOptions) -> BatchPlan:
    """Expand ``inputs`` (files and folders) into jobs (see the module docstring). ReviveError when
    the output is a file, or is itself an input folder (every output would land beside its own
    original under a ``-2`` name)."""
    output_dir = Path(options.output_dir).expanduser()
    _check_output_folder(output_dir)
    output_real = real_path(output_dir)
    ledger = OutputLedger.load(output_dir)
    sources: list[tuple[Path, Path]] = []  # (source, path relative to the output folder, without suffix)
    problems: list[tuple[Path, str]] = []
    other_types: Counter = Counter()
    revive_outputs = 0
    for raw in inputs:
        item = Path(raw).expanduser()
        problem = file_problem(item)
        if problem == "is a folder":
            if real_path(item) == output_real:
                raise ReviveError(
                    f"the output folder {output_dir} is also an input folder: choose another output folder"
                )
            scan = scan_folder(item, options.recursive, skip=ledger)
            sources.extend((path, path.relative_to(item).with_suffix("")) for path in scan.images)
            problems.extend(scan.problems)
            other_types.update(scan.other_types)
            revive_outputs += scan.revive_outputs
        elif problem is None:
            sources.append((item, Path(item.stem)))
        else:
            problems.append((item, problem))

    unique: list[tuple[Path, Path]] = []
    seen: set[str] = set()
    links: dict[Path, Path | None] = {}  # per output subfolder: an archive has few, photos many
    for source, relative in sources:
        key = real_path(source)
        if key in seen:  # the same file named twice (e.g. a file and its folder)
            continue
        seen.add(key)
        if relative.parent not in links:
            links[relative.parent] = _link_on_the_way(output_dir, output_real, relative.parent)
        link = links[relative.parent]
        if link is not None:
            problems.append(
                (source, f"its output folder {link} is a link out of the output folder; Revive writes only inside it")
            )
        else:
            unique.append((source, relative))
    jobs, notes = _name_outputs(unique, output_dir, options.format, ledger, options.output_kind)
    return BatchPlan(tuple(jobs), output_dir, tuple(notes), tuple(problems), other_types, revive_outputs)


def _link_on_the_way(output_dir: Path, output_real: str, subfolder: Path) -> Path | None:
    """The first folder of ``output_dir / subfolder`` that resolves outside the output folder
    (a symlink under it, e.g. to the input folder: outputs would land among the originals and
    be taken for new photos on the next run), or None when every one stays inside."""
    folder = output_dir
    for part in subfolder.parts:
        folder = folder / part
        if not real_path(folder).startswith(os.path.join(output_real, "")):
            return folder
    return None


def _name_outputs(
    sources: list[tuple[Path, Path]], output_dir: Path, format: str, ledger: OutputLedger, kind: str
) -> tuple[list[Job], list[str]]:
    originals = {real_path(source) for source, _ in sources}
    wanted: dict[Path, list[Path]] = defaultdict(list)  # first-choice output -> sources wanting it
    for source, relative in sources:
        wanted[output_dir / relative.parent / f"{relative.name}{output_suffix_for(source, format)}"].append(source)

    taken: set[str] = set()
    jobs: list[Job] = []
    notes: list[str] = []
    for source, relative in sources:
        suffix = output_suffix_for(source, format)
        first = output_dir / relative.parent / f"{relative.name}{suffix}"
        rivals = wanted[first]
        source_ext = source.suffix.lower().lstrip(".")
        ext_name = (
            len(rivals) > 1 and len({s.suffix.lower() for s in rivals}) > 1 and f".{source_ext}" != suffix.lower()
        )
        chosen, existing, reason = None, False, ""
        for candidate in _candidate_names(
            first, f"{relative.name}-{source_ext}" if ext_name else relative.name, suffix
        ):
            key = real_path(candidate)
            if key in taken:
                reason = reason or "another photo of the batch has the same name"
            elif key in originals:
                reason = reason or f"{candidate.name} there is one of the photos being colorized"
            elif os.path.lexists(candidate):
                if ledger.lists(candidate) and ledger.owns(candidate, source, kind):
                    chosen, existing = candidate, True
                    break
                if ledger.lists(candidate) and ledger.owns(candidate, source):
                    reason = reason or f"Revive's {candidate.name} there is another kind of result"
                else:
                    reason = reason or f"a file {candidate.name} that Revive did not write is already there"
            else:
                chosen = candidate
                break
        assert chosen is not None
        taken.add(real_path(chosen))
        if chosen != first:
            notes.append(f"{source.name} is written as {chosen.name} ({reason or 'another photo has the same name'})")
        jobs.append(Job(len(jobs), source, chosen, existing))
    return jobs, notes


def with_hints(plan: BatchPlan, hints_for: Callable[[Job], PhotoHints | None]) -> BatchPlan:
    """``plan`` with each job's hints from ``hints_for(job)``; a job whose hints cannot be read
    (HintError, naming the file and field) becomes a problem of the plan instead of being
    colorized without them."""
    jobs: list[Job] = []
    problems = list(plan.problems)
    for job in plan.jobs:
        try:
            hints = hints_for(job)
        except HintError as error:
            problems.append((job.source, str(error)))
            continue
        jobs.append(replace(job, index=len(jobs), hints=hints))
    return replace(plan, jobs=tuple(jobs), problems=tuple(problems))


def _candidate_names(first: Path, stem: str, suffix: str) -> Iterator[Path]:
    """``stem + suffix``, then ``stem-2``, ``stem-3``... in ``first``'s folder."""
    yield first.with_name(f"{stem}{suffix}")
    for number in itertools.count(2):
        yield first.with_name(f"{stem}-{number}{suffix}")


__all__ = [
    "BatchOptions",
    "BatchPlan",
    "Job",
    "plan_batch",
    "prepare_output_folder",
    "walk_images",
    "with_hints",
    "FORMATS",
    "IMAGE_SUFFIXES",
    "REPORT_NAME",
]
