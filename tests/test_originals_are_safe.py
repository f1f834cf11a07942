"""Nothing is lost: folder layouts where outputs and originals meet, and the ledger that decides.

Each test builds the layout a user could have, runs the real planner and runner (a tiny model),
and checks byte for byte that every file Revive did not write is still there, unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import main
from engine.batch.ledger import LEDGER_NAME, OutputLedger
from engine.batch.plan import BatchOptions, plan_batch
from engine.batch.run import JobDone, JobFailed, JobSkipped, run_batch
from tests.helpers import cpu_colorizer, write_gray_photo


@pytest.fixture(scope="module")
def colorizer():
    return cpu_colorizer(render_size=64)


def _digests(folder: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def _run(inputs, out, colorizer, **options):
    batch = BatchOptions(out, **options)
    plan = plan_batch(inputs, batch)
    events = list(run_batch(plan, colorizer, batch))
    return plan, events


def _of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def _decodes(path: Path) -> bool:
    with Image.open(path) as image:
        image.load()
    return True


@pytest.fixture
def album(tmp_path):
    root = tmp_path / "album"
    write_gray_photo(root / "a.jpg", 40, 30)
    write_gray_photo(root / "c.png", 30, 20)
    return root


# ------------------------------------------------------------------------------------ layouts


def test_output_inside_the_input_that_holds_photos_keeps_them_and_colorizes_them(album, colorizer):
    sub = album / "sub"
    write_gray_photo(sub / "a.jpg", 36, 24)  # an original with the same name as album/a.jpg
    write_gray_photo(sub / "b.jpg", 28, 20)
    before = _digests(album)

    plan, events = _run([album], sub, colorizer)
    assert not _of(events, JobFailed)
    for path, digest in before.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{path} was changed"
    outputs = {job.source.relative_to(album).as_posix(): job.output.relative_to(sub).as_posix() for job in plan.jobs}
    assert outputs == {"a.jpg": "a-2.jpg", "c.png": "c.png", "sub/a.jpg": "sub/a.jpg", "sub/b.jpg": "sub/b.jpg"}
    assert all(_decodes(job.output) for job in plan.jobs)

    # A second run with --skip-existing: Revive's own results are neither inputs nor in the way.
    again, events = _run([album], sub, colorizer, skip_existing=True)
    assert len(again.jobs) == 4 and again.revive_outputs == 4
    assert len(_of(events, JobSkipped)) == 4 and not _of(events, JobDone)
    for path, digest in before.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_output_above_the_input_does_not_replace_the_originals_there(album, colorizer):
    scans = album / "scans"
    write_gray_photo(scans / "a.jpg", 44, 33)
    write_gray_photo(scans / "d.jpg", 20, 20)
    before = _digests(album)

    plan, events = _run([scans], album, colorizer)
    assert len(_of(events, JobDone)) == 2
    for path, digest in before.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{path} was changed"
    names = sorted(job.output.name for job in plan.jobs)
    assert names == ["a-2.jpg", "d.jpg"]
    assert any("did not write" in note for note in plan.notes)


def test_a_link_in_the_output_folder_does_not_lead_outputs_among_the_originals(album, tmp_path, colorizer):
    write_gray_photo(album / "sub" / "b.tif", 30, 20)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to(album / "sub", target_is_directory=True)
    before = _digests(album)
    for _ in range(2):  # and a rerun does not take a stray output for a new photo either
        plan, events = _run([album], out, colorizer)
        assert set(album.rglob("*")) == set(before) | {album / "sub"}  # nothing written there
        for path, digest in before.items():
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        [(source, problem)] = plan.problems
        assert source.name == "b.tif" and "link out of the output folder" in problem
        assert sorted(job.source.name for job in plan.jobs) == ["a.jpg", "c.png"]
    inside = out / "inside"
    inside.mkdir()
    (out / "sub").unlink()
    (out / "sub").symlink_to(inside, target_is_directory=True)  # a link within the output folder is fine
    plan, events = _run([album], out, colorizer)
    assert not plan.problems and (inside / "b.tif").exists()


def test_an_unrelated_file_of_the_same_name_in_the_output_folder_is_kept(album, tmp_path, colorizer):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.jpg").write_bytes(b"my own a.jpg, nothing to do with the album")
    plan, events = _run([album], out, colorizer)
    assert (out / "a.jpg").read_bytes() == b"my own a.jpg, nothing to do with the album"
    assert (out / "a-2.jpg").exists() and _decodes(out / "a-2.jpg")
    # and --skip-existing does not take the stranger for a finished output either
    plan, events = _run([album], out, colorizer, skip_existing=True)
    assert len(_of(events, JobSkipped)) == 2
    assert (out / "a.jpg").read_bytes() == b"my own a.jpg, nothing to do with the album"


def test_the_command_line_keeps_originals_in_both_everyday_layouts(home, tmp_path, capsys):
    album = tmp_path / "album"
    write_gray_photo(album / "a.jpg")
    write_gray_photo(album / "sub" / "a.jpg", 30, 30)
    write_gray_photo(album / "scans" / "a.jpg", 20, 30)
    before = _digests(album)
    assert main.main(["colorize", str(album), "-o", str(album / "sub")]) == 0
    assert main.main(["colorize", str(album / "scans"), "-o", str(album)]) == 0
    assert main.main(["colorize", str(album), "-o", str(album / "sub"), "--skip-existing"]) == 0
    for path, digest in before.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{path} was changed"


# ------------------------------------------------------------------------------------ resume


def test_skip_existing_does_not_take_an_empty_or_truncated_file_for_a_finished_output(album, tmp_path, colorizer):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.jpg").write_bytes(b"")
    whole = (album / "a.jpg").read_bytes()
    (out / "c.png").write_bytes(whole[: len(whole) // 2])
    plan, events = _run([album], out, colorizer, skip_existing=True)
    assert len(_of(events, JobDone)) == 2 and not _of(events, JobSkipped)
    assert (out / "a.jpg").read_bytes() == b""
    assert _decodes(out / "a-2.jpg") and _decodes(out / "c-2.png")


def test_a_revive_output_replaced_by_hand_is_no_longer_revives(album, tmp_path, colorizer):
    out = tmp_path / "out"
    _run([album], out, colorizer)
    # same size, different bytes, different time: an edit
    size = (out / "a.jpg").stat().st_size
    (out / "a.jpg").write_bytes(b"x" * size)
    os.utime(out / "a.jpg", ns=(1, 1))
    assert not OutputLedger.load(out).owns(out / "a.jpg")
    _run([album], out, colorizer)
    assert (out / "a.jpg").read_bytes() == b"x" * size


def test_an_edit_that_keeps_the_size_anywhere_in_the_file_is_seen(album, tmp_path, colorizer):
    # A retouched patch in the middle of an uncompressed output keeps its size; a hash of the
    # file's ends alone (the ledger's first format) took it for Revive's own and replaced it.
    noise = np.random.default_rng(9).integers(0, 256, (300, 400), dtype=np.uint8)  # compresses badly
    Image.fromarray(noise).save(album / "big.png")
    out = tmp_path / "out"
    _run([album], out, colorizer)
    edited = bytearray((out / "big.png").read_bytes())
    assert len(edited) > 3 * 64 * 1024
    middle = len(edited) // 2
    edited[middle : middle + 16] = b"USER-EDIT-MARKER"
    (out / "big.png").write_bytes(bytes(edited))
    assert not OutputLedger.load(out).owns(out / "big.png")
    plan, events = _run([album], out, colorizer)
    assert (out / "big.png").read_bytes() == bytes(edited)
    assert (out / "big-2.png").exists() and _decodes(out / "big-2.png")


def test_an_earlier_ledgers_entry_proves_only_an_untouched_file(album, tmp_path, colorizer):
    out = tmp_path / "out"
    _run([album], out, colorizer)
    info = (out / "a.jpg").stat()
    old_line = {"path": "a.jpg", "size": info.st_size, "mtime_ns": info.st_mtime_ns, "sha256_ends": "0" * 64}
    (out / LEDGER_NAME).write_text(json.dumps(old_line) + "\n")
    assert OutputLedger.load(out).owns(out / "a.jpg")
    os.utime(out / "a.jpg", ns=(1, 1))  # copied, or edited: the partial hash cannot say which
    assert not OutputLedger.load(out).owns(out / "a.jpg")


def test_a_copied_output_folder_is_still_revives_own(album, tmp_path, colorizer):
    _run([album], tmp_path / "out", colorizer)
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "out", copy, copy_function=shutil.copyfile)  # new modification times
    for path in copy.glob("*.*"):
        os.utime(path, ns=(1, 1))
    plan, events = _run([album], copy, colorizer, skip_existing=True)
    assert len(_of(events, JobSkipped)) == 2


def test_an_output_made_from_another_photo_is_not_skipped(tmp_path, colorizer):
    first = write_gray_photo(tmp_path / "x" / "scan.jpg", 30, 30)
    second = write_gray_photo(tmp_path / "y" / "scan.jpg", 40, 20)
    out = tmp_path / "out"
    _run([first], out, colorizer)
    plan, events = _run([second], out, colorizer, skip_existing=True)
    assert [e.job.output.name for e in _of(events, JobDone)] == ["scan-2.jpg"]
    with Image.open(out / "scan.jpg") as image:
        assert image.size == (30, 30)


def test_temporary_files_of_a_killed_run_are_cleaned_on_resume(album, tmp_path, colorizer):
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / ".a.jpg.0123456789ab.part"
    leftover.write_bytes(b"half a photo")
    stranger = out / ".notes.txt.0123456789ab.part"  # not the name of one of this batch's outputs
    stranger.write_bytes(b"not ours to judge")
    old = time.time() - 60
    os.utime(leftover, (old, old))
    os.utime(stranger, (old, old))
    _run([album], out, colorizer, skip_existing=True)
    assert not leftover.exists()
    assert stranger.read_bytes() == b"not ours to judge"


def test_a_file_that_appears_during_the_batch_is_not_replaced(album, tmp_path, colorizer):
    out = tmp_path / "out"
    options = BatchOptions(out)
    plan = plan_batch([album], options)
    out.mkdir()
    (out / "a.jpg").write_bytes(b"arrived late")
    events = list(run_batch(plan, colorizer, options))
    [failed] = _of(events, JobFailed)
    assert "appeared" in failed.message and failed.job.source.name == "a.jpg"
    assert (out / "a.jpg").read_bytes() == b"arrived late"
    assert not list(out.glob(".*.part"))


# ------------------------------------------------------------------------------------ ledger


def test_a_hostile_ledger_cannot_claim_files_outside_or_unchecked(tmp_path, album, colorizer):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.jpg").write_bytes(b"an original")
    lines = [
        "not json at all",
        json.dumps({"path": "../album/a.jpg", "size": 1, "mtime_ns": 1, "sha256_ends": "0" * 64}),
        json.dumps({"path": str(album / "a.jpg"), "size": 1, "mtime_ns": 1, "sha256_ends": "0" * 64}),
        json.dumps({"path": "a.jpg", "size": "big", "mtime_ns": 1, "sha256_ends": "0" * 64}),
        json.dumps({"path": "a.jpg", "size": 11, "mtime_ns": 5, "sha256_ends": "0" * 64}),  # wrong fingerprint
        json.dumps([1, 2, 3]),
        '{"path": "c.png", "size": 1',  # torn
    ]
    (out / LEDGER_NAME).write_text("\n".join(lines) + "\n")
    ledger = OutputLedger.load(out)
    assert not ledger.owns(out / "a.jpg")
    assert not ledger.lists(album / "a.jpg")
    _run([album], out, colorizer)
    assert (out / "a.jpg").read_bytes() == b"an original"


def test_a_pipe_named_like_the_ledger_does_not_hang_planning(tmp_path, album):
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / LEDGER_NAME)
    plan = plan_batch([album], BatchOptions(out))
    assert len(plan.jobs) == 2


def test_the_report_is_kept_per_run_and_a_strangers_report_is_not_replaced(album, tmp_path, colorizer):
    out = tmp_path / "out"
    out.mkdir()
    (out / "revive-report.json").write_text("my notes, not a Revive report")
    plan, events = _run([album], out, colorizer)
    assert (out / "revive-report.json").read_text() == "my notes, not a Revive report"
    kept = sorted(out.glob("revive-report-*.json"))
    assert len(kept) == 1 and events[-1].summary.report_path == kept[0]
    assert json.loads(kept[0].read_text())["counts"]["done"] == 2
