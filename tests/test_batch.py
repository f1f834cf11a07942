"""Batch planning (engine.batch.plan) and running (engine.batch.run) on folders of tiny photos."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from engine.batch.plan import REPORT_NAME, BatchOptions, plan_batch
from engine.batch.run import BatchFinished, BatchStarted, JobDone, JobFailed, JobSkipped, JobStarted, run_batch
from engine.cancel import CancelToken
from engine.errors import ReviveError
from tests.helpers import cpu_colorizer, write_gray_photo


@pytest.fixture(scope="module")
def colorizer():
    return cpu_colorizer(render_size=64)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _events(plan, colorizer, options, cancel=None):
    events = list(run_batch(plan, colorizer, options, cancel))
    assert isinstance(events[0], BatchStarted)
    assert isinstance(events[-1], BatchFinished)
    return events


def _of(events, kind):
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture
def album(tmp_path):
    """photos/ with a sub-folder, an odd size, a PNG and a file that is not a photo."""
    root = tmp_path / "photos"
    write_gray_photo(root / "beach.jpg", 40, 30)
    write_gray_photo(root / "portrait.png", 24, 36)
    write_gray_photo(root / "1950s" / "wedding.jpg", 37, 29)
    write_gray_photo(root / "1950s" / "deep" / "house.tif", 33, 21)
    (root / "notes.txt").write_text("not a photo")
    (root / ".hidden.jpg").write_bytes(b"hidden")
    return root


# ------------------------------------------------------------------------------ planning


def test_plan_mirrors_the_folder_structure_and_keeps_the_names(album, tmp_path):
    out = tmp_path / "out"
    plan = plan_batch([album], BatchOptions(out))
    outputs = sorted(job.output.relative_to(out).as_posix() for job in plan.jobs)
    assert outputs == ["1950s/deep/house.tif", "1950s/wedding.jpg", "beach.jpg", "portrait.png"]
    for job in plan.jobs:
        assert job.output.stem == job.source.stem
    assert [job.index for job in plan.jobs] == list(range(4))


def test_plan_without_recursion_stays_at_the_top(album, tmp_path):
    plan = plan_batch([album], BatchOptions(tmp_path / "out", recursive=False))
    assert sorted(job.source.name for job in plan.jobs) == ["beach.jpg", "portrait.png"]


def test_format_png_changes_every_suffix(album, tmp_path):
    plan = plan_batch([album], BatchOptions(tmp_path / "out", format="png"))
    assert {job.output.suffix for job in plan.jobs} == {".png"}
    assert sorted(job.output.stem for job in plan.jobs) == ["beach", "house", "portrait", "wedding"]


def test_a_bmp_is_written_as_png_with_format_same(tmp_path):
    write_gray_photo(tmp_path / "in" / "old.bmp")
    [job] = plan_batch([tmp_path / "in"], BatchOptions(tmp_path / "out")).jobs
    assert job.output.name == "old.png"


def test_names_that_would_collide_get_distinct_outputs(tmp_path):
    folder = tmp_path / "in"
    write_gray_photo(folder / "a.jpg")
    write_gray_photo(folder / "a.png")
    plan = plan_batch([folder], BatchOptions(tmp_path / "out", format="png"))
    outputs = [job.output.name for job in plan.jobs]
    assert len(set(outputs)) == 2 and "a.png" in outputs
    # names that differ only by extension keep it visible
    assert len(plan.notes) == 1 and "a-jpg.png" in plan.notes[0]
    # with their own types there is nothing to rename
    plan = plan_batch([folder], BatchOptions(tmp_path / "out"))
    assert sorted(job.output.name for job in plan.jobs) == ["a.jpg", "a.png"]
    assert plan.notes == ()


def test_files_from_different_folders_with_the_same_name_do_not_collide(tmp_path):
    first = write_gray_photo(tmp_path / "x" / "scan.jpg")
    second = write_gray_photo(tmp_path / "y" / "scan.jpg")
    plan = plan_batch([first, second], BatchOptions(tmp_path / "out"))
    assert len({job.output for job in plan.jobs}) == 2


def test_a_file_named_twice_is_done_once(album, tmp_path):
    plan = plan_batch([album / "beach.jpg", album], BatchOptions(tmp_path / "out"))
    assert sum(job.source.name == "beach.jpg" for job in plan.jobs) == 1


def test_the_output_folder_cannot_be_the_input_folder(album):
    with pytest.raises(ReviveError, match="also an input folder"):
        plan_batch([album], BatchOptions(album))


def test_a_missing_input_is_a_problem_of_the_plan_and_the_rest_goes_on(album, tmp_path):
    plan = plan_batch([tmp_path / "absent", album], BatchOptions(tmp_path / "out"))
    assert len(plan.jobs) == 4
    assert plan.problems == ((tmp_path / "absent", "no such file or folder"),)


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"format": "gif"}, "format must be one of"), ({"quality": 0}, "quality")]
)
def test_bad_options_say_what_is_allowed(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchOptions(tmp_path, **kwargs)


# ------------------------------------------------------------------------------ running


def test_every_photo_is_written_at_its_size_and_the_originals_are_untouched(album, tmp_path, colorizer):
    before = {p: _digest(p) for p in album.rglob("*") if p.is_file()}
    options = BatchOptions(tmp_path / "out")
    plan = plan_batch([album], options)
    events = _events(plan, colorizer, options)
    assert len(_of(events, JobDone)) == 4 and not _of(events, JobFailed)
    assert len(_of(events, JobStarted)) == 4
    for job in plan.jobs:
        with Image.open(job.source) as source, Image.open(job.output) as output:
            assert output.size == source.size
            assert output.mode == "RGB"
    assert {p: _digest(p) for p in album.rglob("*") if p.is_file()} == before
    summary = events[-1].summary
    assert (summary.total, summary.done, summary.skipped, summary.failed, summary.cancelled) == (4, 4, 0, (), False)
    assert not list((tmp_path / "out").rglob("*.part"))


def test_a_bad_file_fails_alone_and_the_batch_goes_on(album, tmp_path, colorizer):
    whole = (album / "beach.jpg").read_bytes()
    (album / "cut.jpg").write_bytes(whole[: len(whole) // 3])
    (album / "letter.jpg").write_text("Dear Sir, this is not a photo.")
    options = BatchOptions(tmp_path / "out")
    plan = plan_batch([album], options)
    events = _events(plan, colorizer, options)
    failed = {e.job.source.name: e.message for e in _of(events, JobFailed)}
    assert set(failed) == {"cut.jpg", "letter.jpg"}
    assert all("Traceback" not in m and m for m in failed.values())
    assert len(_of(events, JobDone)) == 4
    for job in plan.jobs:
        assert job.output.exists() == (job.source.name not in failed)
    assert {Path(p).name for p, _ in events[-1].summary.failed} == {"cut.jpg", "letter.jpg"}


def test_skip_existing_leaves_finished_outputs_alone(album, tmp_path, colorizer):
    options = BatchOptions(tmp_path / "out")
    plan = plan_batch([album], options)
    _events(plan, colorizer, options)
    redo = next(job for job in plan.jobs if job.source.name == "beach.jpg")
    redo.output.unlink()
    stamps = {job.output: job.output.stat().st_mtime_ns for job in plan.jobs if job.output.exists()}

    resume = BatchOptions(tmp_path / "out", skip_existing=True)
    events = _events(plan_batch([album], resume), colorizer, resume)
    assert events[0].total == 4 and events[0].to_do == 1
    assert len(_of(events, JobSkipped)) == 3
    assert [e.job.source.name for e in _of(events, JobDone)] == ["beach.jpg"]
    assert redo.output.exists()
    assert {path: path.stat().st_mtime_ns for path in stamps} == stamps
    assert events[-1].summary.skipped == 3 and events[-1].summary.done == 1


def test_without_skip_existing_revive_outputs_are_replaced_but_nothing_else(album, tmp_path, colorizer):
    options = BatchOptions(tmp_path / "out")
    plan = plan_batch([album], options)
    _events(plan, colorizer, options)
    ours, theirs = plan.jobs[0].output, plan.jobs[1].output
    theirs.write_bytes(b"somebody else's file")  # replaced by hand: no longer Revive's
    again = plan_batch([album], options)
    by_source = {job.source: job for job in again.jobs}
    assert by_source[plan.jobs[0].source].output == ours and by_source[plan.jobs[0].source].existing
    moved = by_source[plan.jobs[1].source].output
    assert moved != theirs and moved.stem == theirs.stem + "-2"
    _events(again, colorizer, options)
    assert theirs.read_bytes() == b"somebody else's file"
    with Image.open(ours) as image, Image.open(moved) as other:
        image.load()
        other.load()


def test_cancel_stops_between_photos_and_leaves_only_complete_files(tmp_path, colorizer):
    folder = tmp_path / "in"
    for i in range(8):
        write_gray_photo(folder / f"photo{i}.png", 48, 36)
    options = BatchOptions(tmp_path / "out")
    plan = plan_batch([folder], options)
    cancel = CancelToken()
    events = []
    for event in run_batch(plan, colorizer, options, cancel):
        events.append(event)
        if isinstance(event, JobDone):
            cancel.cancel()
    summary = events[-1].summary
    assert summary.cancelled
    assert 1 <= summary.done < 8
    written = [job.output for job in plan.jobs if job.output.exists()]
    assert len(written) == summary.done
    for path in written:
        with Image.open(path) as image:
            image.load()
            assert image.size == (48, 36)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]
    report = json.loads((tmp_path / "out" / REPORT_NAME).read_text(encoding="utf-8"))
    assert report["cancelled"] is True


def test_the_report_lists_every_file_with_its_status(album, tmp_path, colorizer):
    (album / "letter.jpg").write_text("not a photo")
    options = BatchOptions(tmp_path / "out", format="png")
    plan = plan_batch([album], options)
    events = _events(plan, colorizer, options)
    report_path = events[-1].summary.report_path
    assert report_path == tmp_path / "out" / REPORT_NAME
    report = json.loads(report_path.read_text(encoding="utf-8"))
    statuses = {Path(entry["source"]).name: entry["status"] for entry in report["files"]}
    assert statuses == {
        "beach.jpg": "done",
        "portrait.png": "done",
        "wedding.jpg": "done",
        "house.tif": "done",
        "letter.jpg": "failed",
    }
    failed = next(e for e in report["files"] if e["status"] == "failed")
    assert failed["detail"]
    assert report["counts"] == {"done": 4, "skipped": 0, "failed": 1}
    assert report["model"] == "tiny" and report["settings"]["format"] == "png"
    assert report["settings"]["render_size"] == 64


def test_no_report_when_asked_for_none(album, tmp_path, colorizer):
    options = BatchOptions(tmp_path / "out", write_report=False)
    events = _events(plan_batch([album], options), colorizer, options)
    assert events[-1].summary.report_path is None
    assert not (tmp_path / "out" / REPORT_NAME).exists()


def test_an_exif_rotated_photo_comes_out_upright(tmp_path, colorizer):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    source = write_gray_photo(tmp_path / "in" / "sideways.jpg", 40, 30, exif=exif)
    options = BatchOptions(tmp_path / "out")
    plan = plan_batch([source], options)
    events = _events(plan, colorizer, options)
    assert len(_of(events, JobDone)) == 1
    with Image.open(plan.jobs[0].output) as output:
        assert output.size == (30, 40)
        assert output.getexif().get(0x0112, 1) == 1  # shown upright, no second rotation


def test_an_empty_plan_finishes_at_once(tmp_path, colorizer):
    (tmp_path / "empty").mkdir()
    options = BatchOptions(tmp_path / "out")
    plan = plan_batch([tmp_path / "empty"], options)
    events = _events(plan, colorizer, options)
    assert events[-1].summary.total == 0 and events[-1].summary.done == 0
