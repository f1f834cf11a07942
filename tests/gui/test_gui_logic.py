"""The GUI's plain logic, without Qt: tuning, batch progress, export names, opening paths, zoom maths."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.batch.plan import Job
from engine.batch.progress import BatchProgress
from engine.batch.run import BatchFinished, BatchStarted, BatchSummary, JobDone, JobFailed, JobStarted
from gui.models.export_naming import default_export_name, default_export_path, export_problem
from gui.models.photo_session import PhotoSession, PhotoStatus, expand_paths
from gui.models.result_cache import ResultCache
from gui.models.tuning import Tuning, describe_eta, temperature_for_boldness
from gui.models.view_transform import ViewTransform
from tests.gui.conftest import write_photo_file


def test_boldness_maps_to_temperature_around_the_models_own():
    assert temperature_for_boldness(50, 0.38) is None
    assert temperature_for_boldness(100, 0.38) == pytest.approx(0.38 / 4)
    assert temperature_for_boldness(0, 0.38) == pytest.approx(0.38 * 4)
    assert temperature_for_boldness(0, 1.9) == 2.0  # clipped to what the engine accepts
    with pytest.raises(ValueError, match="boldness"):
        temperature_for_boldness(101, 0.38)


def test_tuning_builds_valid_engine_settings():
    settings = Tuning("m", render_size=0, saturation_percent=150, boldness=50).settings(0.38)
    assert settings.render_size is None and settings.saturation == 1.5 and settings.temperature is None
    assert Tuning("m", render_size=9999).settings(0.38).render_size == 2048


def test_batch_progress_counts_and_estimates_time_left():
    jobs = [Job(i, Path(f"/in/{i}.jpg"), Path(f"/out/{i}.jpg")) for i in range(4)]
    progress = BatchProgress()
    progress.apply(BatchStarted(total=4, to_do=4), now=0.0)
    assert progress.eta_seconds() is None
    progress.apply(JobStarted(jobs[0]), now=1.0)
    progress.apply(JobDone(jobs[0], 2.0), now=3.0)
    progress.apply(JobStarted(jobs[1]), now=3.0)
    progress.apply(JobFailed(jobs[1], "broken"), now=5.0)
    assert progress.finished_count == 2 and progress.failed == [(jobs[1].source, "broken")]
    assert progress.eta_seconds() == pytest.approx(4.0)  # 2 s a photo, 2 photos left
    assert progress.fraction() == 0.5
    summary = BatchSummary(4, 1, 0, ((jobs[1].source, "broken"),), True, 5.0)
    progress.apply(BatchFinished(summary), now=5.0)
    assert not progress.running and progress.summary is summary


def test_eta_is_described_in_words():
    assert describe_eta(None) == ""
    assert describe_eta(20) == "less than a minute left"
    assert describe_eta(600) == "about 10 min left"


def test_export_names_and_refuses_the_original(tmp_path):
    source = tmp_path / "grandma.jpeg"
    assert default_export_name(source, "same") == "grandma_colorized.jpg"
    assert default_export_name(source, "tiff") == "grandma_colorized.tif"
    assert default_export_path(source, "png", None) == tmp_path / "grandma_colorized.png"
    assert "never overwrites" in export_problem(source, source)
    assert "PNG, JPEG" in export_problem(source, tmp_path / "out.gif")
    assert export_problem(source, tmp_path / "out.png") is None


def test_opening_expands_folders_and_skips_non_images(tmp_path):
    a = write_photo_file(tmp_path / "album" / "a.jpg")
    b = write_photo_file(tmp_path / "album" / "sub" / "b.png")
    (tmp_path / "album" / "notes.txt").write_text("hello")
    note = tmp_path / "readme.txt"
    note.write_text("x")
    found, skipped, *_ = expand_paths([tmp_path / "album", note, a])
    assert found == [a, b] and skipped == 2  # readme.txt dropped, notes.txt met in the folder
    assert expand_paths([tmp_path / "album"], recursive=False)[0] == [a]


def test_a_dropped_pipe_says_what_it_is(tmp_path):
    import os

    os.mkfifo(tmp_path / "scan.png")  # named like a photo: "not an image type" would be wrong
    found = expand_paths([tmp_path / "scan.png"])
    assert found.photos == [] and found.skipped == 1
    assert found.reasons == ["a named pipe, not a photo file"]


def test_session_keeps_one_entry_per_photo(tmp_path):
    session = PhotoSession()
    assert len(session.add([tmp_path / "a.jpg", tmp_path / "b.jpg"])) == 2
    assert session.add([tmp_path / "a.jpg"]) == []
    session.get(tmp_path / "a.jpg").status = PhotoStatus.DONE
    assert session.counts()[PhotoStatus.DONE] == 1


def test_a_folder_dropped_again_by_a_linked_name_adds_nothing(tmp_path):
    a = write_photo_file(tmp_path / "album" / "a.jpg")
    (tmp_path / "album" / "loop").symlink_to(tmp_path / "album", target_is_directory=True)
    (tmp_path / "link").symlink_to(tmp_path / "album", target_is_directory=True)
    session = PhotoSession()
    first = expand_paths([tmp_path / "album"])
    assert first.photos == [a]
    assert len(session.add(first.photos, first.reals)) == 1
    again = expand_paths([tmp_path / "link", tmp_path / "album" / "loop" / "a.jpg"])
    assert again.photos == [tmp_path / "link" / "a.jpg"]  # one file, reached by two names, listed once
    assert session.knows(again.photos[0], again.reals[0])
    assert session.add(again.photos, again.reals) == []
    session.remove([a])
    assert len(session.add(again.photos, again.reals)) == 1  # once removed, it may come back


def test_result_cache_drops_the_oldest_over_budget_but_keeps_the_one_on_show(tmp_path):
    cache = ResultCache(tmp_path / "cache", budget_bytes=250)
    assert cache.path_for(tmp_path / "a.jpg") != cache.path_for(tmp_path / "x" / "a.jpg")
    sources = [tmp_path / f"{name}.jpg" for name in "abcd"]
    files = []
    for source in sources:
        path = cache.path_for(source)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100)
        files.append(path)
    assert cache.add(sources[0], files[0]) == []
    assert cache.add(sources[1], files[1], keep=sources[0]) == []
    assert cache.add(sources[2], files[2], keep=sources[0]) == [sources[1]]  # 300 > 250: b goes, a is on show
    assert not files[1].exists() and files[0].exists()
    assert cache.add(sources[3], files[3], keep=None) == [sources[0]]
    cache.discard_all()
    assert not any(path.exists() for path in files)


def test_zoom_keeps_the_point_under_the_cursor():
    view = ViewTransform(image_size=(4000, 3000))
    view.fit((800, 600))
    assert view.zoom == pytest.approx(0.2)
    anchor = (200.0, -100.0)  # offset from the viewport's centre
    before = _photo_point(view, anchor)
    view.set_zoom(1.0, (800, 600), anchor)
    assert _photo_point(view, anchor) == pytest.approx(before)
    view.pan_by(10_000, 0, (800, 600))  # cannot drag the photo off the view
    x, _, width, _ = view.image_rect((0, 0, 800, 600))
    assert x == pytest.approx(0) and width == pytest.approx(4000)


def _photo_point(view: ViewTransform, anchor):
    x, y, _, _ = view.image_rect((0, 0, 800, 600))
    return ((400 + anchor[0] - x) / view.zoom, (300 + anchor[1] - y) / view.zoom)
