"""Issue 11's plain logic, without a window: the review queue and pipeline, exports into a folder,
texts the app shows, window geometry, the version, the X11 library check, training runs on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.batch.ledger import OutputLedger
from engine.batch.settings import ColorizeSettings
from engine.cancel import CancelToken
from engine.errors import OutputError, ReviveError
from engine.version import app_version
from gui.controller import describe_added
from gui.models.jobs import PhotoJob
from gui.models.model_text import people_description, photo_count
from gui.models.review_queue import ReviewQueue
from gui.models.tuning import SATURATION_MAX, Tuning, describe_boldness
from gui.models.window_geometry import clamp_to_screen
from gui.platform_check import XCB_CURSOR_MESSAGE, missing_system_library, uses_xcb
from gui.training_wizard.runs import delete_run, describe_size, list_runs
from gui.widgets.photo_list import reason_without_name, short_name
from gui.workers.display_images import DetailSource, export_conflict, export_result, photo_size, save_cached
from gui.workers.list_export import export_to_folder
from tests.gui.conftest import write_photo_file

ROOT = Path(__file__).resolve().parents[2]


def job(source: Path, cache: Path, token: CancelToken | None = None) -> PhotoJob:
    return PhotoJob(source, ColorizeSettings(), cache, token or CancelToken(), Tuning("tiny"))


# -- finding 2: the window's modules import without torch -------------------------------------------------------------
def test_the_window_modules_import_without_torch():
    code = (
        "import sys; import gui.app, gui.main_window, gui.controller, gui.workers.inference_worker, gui.widgets.settings_panel; "
        "print('torch' in sys.modules)"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# -- finding 3: the queue and the overlapped pipeline -----------------------------------------------------------------
def test_the_queue_puts_the_photo_on_show_first_and_says_who_starts_the_worker(tmp_path):
    a, b, c = (tmp_path / f"{n}.jpg" for n in "abc")
    queue = ReviewQueue()
    assert queue.push([job(a, tmp_path / "a.npy"), job(b, tmp_path / "b.npy")]) is True  # nobody takes: start
    assert queue.push([job(c, tmp_path / "c.npy")]) is False  # the worker is on it
    queue.set_current(c)
    assert queue.waiting() == [c, a, b]
    assert queue.take().source == c
    assert queue.remove([b]) == [b]
    assert queue.take().source == a
    assert queue.take() is None  # the taker is done...
    assert queue.push([job(b, tmp_path / "b.npy")]) is True  # ...so the next push starts it again


def test_the_review_pipeline_fills_the_cache_and_keeps_the_raw_output_of_the_photo_on_show(tmp_path):
    from gui.workers.review_pipeline import RawKept, ReviewCancelled, ReviewDone, ReviewStarted, retune, run_review
    from tests.helpers import cpu_colorizer, torch_threads

    photos = [write_photo_file(tmp_path / f"p{i}.jpg", (120, 80), seed=i) for i in range(3)]
    cancelled = CancelToken()
    cancelled.cancel()
    queue = ReviewQueue()
    queue.push(
        [
            job(photos[0], tmp_path / "0.npy"),
            job(photos[1], tmp_path / "1.npy"),
            job(photos[2], tmp_path / "2.npy", cancelled),
        ]
    )
    queue.set_current(photos[1])
    betweens = []
    with torch_threads(1):
        colorizer = cpu_colorizer()
        events = list(run_review(queue, colorizer, lambda source: source == photos[1], lambda: betweens.append(1)))
        done = [e.result for e in events if isinstance(e, ReviewDone)]
        assert [e.source for e in events if isinstance(e, ReviewStarted)] == [photos[1], photos[0]]
        assert [e.source for e in events if isinstance(e, ReviewCancelled)] == [photos[2]]
        assert {r.source for r in done} == {photos[0], photos[1]} and len(betweens) == 2
        for result in done:
            assert result.full_size == (120, 80) and result.after.shape == (80, 120, 3)
            assert np.load(result.cache_path).shape == (80, 120, 3)
        kept = [e.tuned for e in events if isinstance(e, RawKept)]
        assert [t.job.source for t in kept] == [photos[1]]
        gray = PhotoJob(
            photos[1],
            ColorizeSettings(saturation=0.0),
            tmp_path / "1.npy",
            CancelToken(),
            Tuning("tiny", saturation_percent=0),
        )
        quick, full = retune(kept[0], gray, colorizer)
        rgb = quick.after.astype(int)
        assert quick.retuned and np.abs(rgb[..., 0] - rgb[..., 2]).max() <= 2  # decoded again: gray
        full()
        saved = np.load(tmp_path / "1.npy").astype(int)
        assert np.abs(saved[..., 0] - saved[..., 2]).max() <= 2
    assert queue.take() is None


# -- findings 1 and 4: exports never replace a stranger's file --------------------------------------------------------
def test_an_export_replaces_only_its_own_earlier_export(tmp_path):
    source = write_photo_file(tmp_path / "in" / "photo.jpg")
    cache = save_cached(tmp_path / "cache" / "photo.npy", np.full((64, 96, 3), 120, np.uint8))
    target = tmp_path / "out" / "photo_colorized.png"
    assert export_conflict(target) is None
    export_result(source, cache, target)
    assert OutputLedger.load(target.parent).owns(target, source)
    assert export_conflict(target) == "revive"
    export_result(source, cache, target)  # its own earlier export: replaced
    stranger = tmp_path / "out" / "mine.png"
    stranger.write_bytes(b"the user's own file")
    assert export_conflict(stranger) == "other"
    with pytest.raises(OutputError, match="Revive did not write it"):
        export_result(source, cache, stranger)
    assert stranger.read_bytes() == b"the user's own file"


def test_exporting_a_selection_names_outputs_as_a_batch_does(tmp_path):
    first = write_photo_file(tmp_path / "a" / "photo.jpg", seed=1)
    second = write_photo_file(tmp_path / "b" / "photo.jpg", seed=2)
    results = [
        (p, save_cached(tmp_path / "cache" / f"{i}.npy", np.full((64, 96, 3), 90 + i, np.uint8)))
        for i, p in enumerate((first, second))
    ]
    out = tmp_path / "out"
    out.mkdir()
    (out / "photo.png").write_bytes(b"not Revive's")
    done = export_to_folder(results, out, "png")
    assert sorted(p.name for p in done.written) == ["photo-2.png", "photo-3.png"]
    assert (out / "photo.png").read_bytes() == b"not Revive's" and done.notes and not done.failed
    again = export_to_folder(results, out, "png")  # Revive's own outputs of the same photos: replaced in place
    assert sorted(p.name for p in again.written) == ["photo-2.png", "photo-3.png"]
    assert "Exported 2 photos" in done.summary()


# -- finding 5: the original's size and its full-resolution pixels ----------------------------------------------------
def test_photo_size_and_full_resolution_regions(tmp_path):
    source = write_photo_file(tmp_path / "big.png", (300, 200))
    assert photo_size(source) == (300, 200)
    cache = save_cached(tmp_path / "r.npy", np.full((200, 300, 3), 7, np.uint8))
    rect, before, after = DetailSource().region(source, cache, (250, 150, 100, 100))
    assert rect == (250, 150, 50, 50) and before.shape == after.shape == (50, 50, 3)
    assert int(after.max()) == 7


# -- finding 6 and 10: texts ------------------------------------------------------------------------------------------
def test_texts_people_read():
    assert describe_boldness(50) == "model's own" and describe_boldness(70) == "bolder +20"
    assert describe_boldness(30) == "calmer −20"
    assert SATURATION_MAX == 200 and Tuning("m", saturation_percent=500).settings(0.38).saturation == 2.0
    assert Tuning("m", 256, 80, 50).same_model_run(Tuning("m", 256, 120, 70))
    assert not Tuning("m", 256).same_model_run(Tuning("m", 384))
    assert photo_count("7824 colour photos from photos/ (held-out split)") == 7824
    text = people_description(
        "revive-base",
        "Revive base colorizer: predicts a*b* colour classes from L*.",
        "16000 colour photos from photos/",
    )
    assert "a*b*" not in text and "Trained on 16,000 photos" in text
    own = "Revive's own colorizer: it predicts colours"
    assert people_description("x", own) == own + "."
    assert describe_added(4, 1) == "Added 4 photos; 1 other file skipped (not a photo)"
    assert describe_added(1, 0, 2) == "Added 1 photo; 2 already in the list"
    assert reason_without_name("a.jpg", "a.jpg: not an image") == "not an image"
    assert short_name("x" * 60 + ".jpg").endswith(".jpg") and len(short_name("x" * 60 + ".jpg")) == 34


# -- finding 11: geometry and version ---------------------------------------------------------------------------------
def test_a_restored_window_is_kept_on_its_screen():
    # saved at 1400x950 on a 1600x1000 screen, restored at 1.5x scaling (1067x667 logical pixels)
    assert clamp_to_screen((300, 40, 1400, 950), (0, 0, 1067, 667), (780, 520)) == (0, 0, 1067, 667)
    assert clamp_to_screen((900, 500, 400, 300), (0, 0, 1067, 667)) == (667, 367, 400, 300)
    assert clamp_to_screen((10, 10, 400, 300), (0, 0, 1067, 667)) == (10, 10, 400, 300)


def test_the_version_comes_from_the_project(tmp_path):
    import tomllib

    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert app_version() == expected
    broken = tmp_path / "pyproject.toml"
    broken.write_text("[project]\nname = 'x'\n")
    assert app_version(broken) in ("unknown", expected)


# -- finding 12: the X11 cursor library -------------------------------------------------------------------------------
def test_a_missing_xcb_cursor_library_is_named_in_one_line():
    x11 = {"DISPLAY": ":0"}
    assert uses_xcb(x11, "linux") and not uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, "linux")
    assert not uses_xcb(x11, "darwin")
    assert missing_system_library(x11, "linux", lambda name: None) == XCB_CURSOR_MESSAGE
    assert missing_system_library(x11, "linux", lambda name: "libxcb-cursor.so.0") is None
    assert "libxcb-cursor0" in XCB_CURSOR_MESSAGE and "xcb-util-cursor" in XCB_CURSOR_MESSAGE
    assert "\n" not in XCB_CURSOR_MESSAGE


def test_run_app_exits_2_when_the_library_is_missing(monkeypatch, capsys):
    from gui import app

    monkeypatch.setattr(app.QApplication, "instance", staticmethod(lambda: None))
    monkeypatch.setattr(app, "missing_system_library", lambda environ: XCB_CURSOR_MESSAGE)
    assert app.run_app(["revive"]) == 2
    assert capsys.readouterr().err.strip() == XCB_CURSOR_MESSAGE


# -- finding 9: training runs on disk ---------------------------------------------------------------------------------
def make_run(runs: Path, name: str, step: int, steps: int = 300, state_bytes: int = 2048) -> Path:
    from training.cyclegan.config import CycleGANConfig

    run = runs / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(CycleGANConfig(Path("old"), Path("colour"), steps=steps).to_json())
    (run / "metrics.json").write_text(json.dumps({"step": step}))
    (run / "state.pt").write_bytes(b"\0" * state_bytes)
    return run


def test_runs_are_listed_with_size_and_progress_and_deleted_only_inside_the_runs_folder(tmp_path):
    runs = tmp_path / "runs"
    stopped = make_run(runs, "tiny-old", 120)
    make_run(runs, "tiny-old-2", 300)
    (runs / "not-a-run").mkdir()
    infos = {info.name: info for info in list_runs(runs)}
    assert set(infos) == {"tiny-old", "tiny-old-2"}
    assert infos["tiny-old"].resumable and infos["tiny-old"].progress_text() == "stopped at step 120 of 300"
    assert not infos["tiny-old-2"].resumable and infos["tiny-old-2"].progress_text() == "finished (300 steps)"
    assert infos["tiny-old"].size_bytes >= 2048 and describe_size(100 * 1024**2) == "100 MB"
    with pytest.raises(ReviveError):
        delete_run(runs / "not-a-run", runs)
    with pytest.raises(ReviveError):
        delete_run(stopped, tmp_path)
    delete_run(stopped, runs)
    assert not stopped.exists() and [i.name for i in list_runs(runs)] == ["tiny-old-2"]
