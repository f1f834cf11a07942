"""Exports of the review finished by added models (the Adjust tab's Upscale and Faces, as
``colorize --upscale/--faces`` finish a batch): the single export and the folder export write
enlarged results with the print size kept, on the inference thread with progress; a cancel stops
before anything (more) is written; a stranger's file is refused before any upscaling; the rows
show only while such a model is added, and the choice is remembered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.batch.ledger import OutputLedger
from engine.cancel import CancelToken
from engine.errors import Cancelled
from gui.models.jobs import EXPORT_UPSCALING, ExportProgress, ExportRequest
from gui.workers.device_lane import TRAINING
from gui.workers.display_images import export_result, save_cached
from gui.workers.list_export import export_to_folder
from tests.gui.conftest import write_photo_file
from tests.gui.test_gui_window import drop, wait_all_finished

EXPORT_TIMEOUT_MS = 60_000  # spandrel's first import (torchvision) takes seconds on a busy 2-core CPU

pytestmark = pytest.mark.usefixtures("no_shipped_models")


def _reviewed(tmp_path, name: str, size=(96, 64), seed: int = 0):
    """A photo (72 dpi) and a cached 'result' of its size (a colour gradient), as the review keeps them."""
    source = tmp_path / "photos" / name
    source.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (height, width), dtype=np.uint8), "L").save(source, dpi=(72, 72))
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[..., 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    rgb[..., 2] = 128
    return source, save_cached(tmp_path / "cache" / f"{source.stem}.npy", rgb)


def _x2_finish(revive_home, added_upscaler, cancel: CancelToken | None = None):
    from engine.external.finishing import Finishing

    finishing = Finishing.load(added_upscaler, None, "cpu")
    return lambda rgb, alpha, metadata: finishing.apply(rgb, alpha, metadata, cancel)


def test_an_export_finished_by_an_upscaler_is_enlarged_and_keeps_its_print_size(tmp_path, revive_home, added_upscaler):
    source, cached = _reviewed(tmp_path, "grandma.jpg")
    target = tmp_path / "out" / "grandma.png"
    export_result(source, cached, target, finish=_x2_finish(revive_home, added_upscaler))
    with Image.open(target) as image:
        assert image.size == (192, 128)
        assert tuple(round(v) for v in image.info["dpi"]) == (144, 144)  # the same inches on paper
    assert OutputLedger.load(target.parent).owns(target, source)


def test_a_strangers_file_is_refused_before_any_upscaling(tmp_path, revive_home, added_upscaler):
    from engine.errors import OutputError

    source, cached = _reviewed(tmp_path, "grandma.jpg")
    stranger = tmp_path / "out" / "grandma.png"
    stranger.parent.mkdir()
    stranger.write_bytes(b"a scan the family made")
    finished = []
    with pytest.raises(OutputError, match="did not write it"):
        export_result(source, cached, stranger, finish=lambda *args: finished.append(args))
    assert not finished and stranger.read_bytes() == b"a scan the family made"


def test_a_cancelled_folder_export_keeps_what_it_wrote_and_says_so(tmp_path, revive_home, added_upscaler):
    results = [_reviewed(tmp_path, f"img{i}.jpg", seed=i) for i in range(3)]
    cancel = CancelToken()
    finish = _x2_finish(revive_home, added_upscaler, cancel)
    started = []

    def on_start(index, source):
        started.append(source)
        if index == 1:
            cancel.cancel()  # the Cancel button while the second photo is being upscaled

    done = export_to_folder(results, tmp_path / "out", "png", finish=finish, started=on_start)
    assert done.cancelled and [p.name for p in done.written] == ["img0.png"]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.png")) == ["img0.png"]
    assert "cancelled" in done.summary() and len(started) == 2


def test_the_request_and_its_progress_say_what_they_are():
    cancel = CancelToken()
    tmp = Path("/p/a.jpg")
    pair = ((tmp, tmp.with_suffix(".npy")),)
    with pytest.raises(ValueError, match="file or into a folder"):
        ExportRequest(pair, cancel, upscale="x2")
    with pytest.raises(ValueError, match="upscaler or a face model"):
        ExportRequest(pair, cancel, target=tmp.with_name("b.png"))
    with pytest.raises(ValueError, match="one photo"):
        ExportRequest(pair * 2, cancel, target=tmp.with_name("b.png"), upscale="x2")
    progress = ExportProgress(tmp, 1, 4, EXPORT_UPSCALING, 3, 12)
    assert progress.text() == "Exporting a.jpg (2 of 4): upscaling 25 %"
    assert progress.percent == round(100 * 1.25 / 4)


def _window_with_export_x2(make_window, qtbot, photo):
    window = make_window()
    panel = window.settings_panel
    combo = panel.export_finishing.upscale
    assert combo.isVisibleTo(panel) and [combo.itemText(i) for i in range(combo.count())] == ["None", "x2"]
    combo.setCurrentIndex(combo.findData("x2"))
    combo.activated.emit(combo.currentIndex())  # as a click does
    assert window.controller.export_finishing() == ("x2", None)
    drop(window, [photo])
    wait_all_finished(qtbot, window, 1)
    return window


def test_the_window_exports_an_upscaled_photo_with_progress(qtbot, make_window, tmp_path, added_upscaler):
    photo = write_photo_file(tmp_path / "album" / "img.jpg", (96, 64))
    window = _window_with_export_x2(make_window, qtbot, photo)
    shown = []
    window.controller.export_progressed.connect(lambda progress: shown.append(window.export_progress.isVisible()))
    target = tmp_path / "out" / "img_colorized.png"
    with qtbot.waitSignal(window.controller.export_finished, timeout=EXPORT_TIMEOUT_MS):
        window.export_current(target)
        assert window.export_progress.isVisible()  # at once: it may wait for the device, models load
    with Image.open(target) as image:
        assert image.size == (192, 128)
    assert shown and all(shown) and not window.export_progress.isVisible()
    assert window.controller.exports_running() == 0

    out = tmp_path / "folder"
    with qtbot.waitSignal(window.controller.folder_export_finished, timeout=EXPORT_TIMEOUT_MS) as finished:
        window._export_to_folder([photo], out)
    assert [p.name for p in finished.args[0].written] == ["img.jpg"]
    with Image.open(out / "img.jpg") as image:
        assert image.size == (192, 128)
    window.close()
    again = make_window()
    assert again.settings_panel.chosen_export_finishing() == ("x2", None)  # remembered


def test_an_export_cancelled_while_it_waits_for_the_device_writes_nothing(qtbot, make_window, tmp_path, added_upscaler):
    photo = write_photo_file(tmp_path / "album" / "img.jpg", (96, 64))
    window = _window_with_export_x2(make_window, qtbot, photo)
    lane = window.controller.lane
    assert lane.acquire(TRAINING)  # a training run holds the device
    try:
        target = tmp_path / "out" / "img.png"
        window.export_current(target)
        assert window.export_progress.isVisible()
        label = window.export_progress.label
        qtbot.waitUntil(lambda: "Waiting for the device (busy training a model)" in label.text(), timeout=10_000)
        with qtbot.waitSignal(window.controller.export_cancelled, timeout=EXPORT_TIMEOUT_MS) as cancelled:
            window.export_progress.cancel_button.click()
    finally:
        lane.release()
    assert "img.png was not written" in cancelled.args[0]
    assert not target.exists() and not window.export_progress.isVisible()


def test_without_such_models_the_rows_are_hidden_and_exports_are_plain(qtbot, make_window, tmp_path, photos):
    window = make_window()
    panel = window.settings_panel
    assert not panel.export_finishing.upscale.isVisibleTo(panel)
    assert not window.controller.finishes_exports()
    drop(window, [photos[0]])
    wait_all_finished(qtbot, window, 1)
    target = tmp_path / "out" / "plain.png"
    with qtbot.waitSignal(window.controller.export_finished, timeout=10_000):
        window.export_current(target)
    assert not window.export_progress.isVisible()
    with Image.open(target) as image, Image.open(photos[0]) as original:
        assert image.size == original.size


def test_a_cancel_mid_photo_raises_cancelled(tmp_path, revive_home, added_upscaler):
    source, cached = _reviewed(tmp_path, "grandma.jpg")
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        export_result(source, cached, tmp_path / "out.png", finish=_x2_finish(revive_home, added_upscaler, cancel))
    assert not (tmp_path / "out.png").exists()


def test_an_upscaler_removed_behind_the_apps_back_fails_the_export_in_one_line(
    qtbot, make_window, tmp_path, added_upscaler
):
    from engine.external import store

    photo = write_photo_file(tmp_path / "album" / "img.jpg", (96, 64))
    window = _window_with_export_x2(make_window, qtbot, photo)
    store.remove("x2")  # another Revive process, say
    target = tmp_path / "out" / "img.png"
    with qtbot.waitSignal(window.controller.export_failed, timeout=EXPORT_TIMEOUT_MS) as failed:
        window.export_current(target)
    message = failed.args[0]
    assert "x2" in message and "\n" not in message and "Traceback" not in message
    assert not target.exists() and not window.export_progress.isVisible()


def test_an_export_behind_a_folder_batch_says_it_waits_and_cancels_at_once(
    qtbot, make_window, tmp_path, added_upscaler
):
    from gui.models.batch_form import BatchForm

    photo = write_photo_file(tmp_path / "album" / "img.jpg", (96, 64))
    window = _window_with_export_x2(make_window, qtbot, photo)
    controller, lane = window.controller, window.controller.lane
    cancelled = []
    controller.export_cancelled.connect(cancelled.append)
    assert lane.acquire(TRAINING)  # the batch waits for the device on the inference thread, holding it
    try:
        assert controller.start_batch(BatchForm(tmp_path / "album", tmp_path / "batch", False, "png", False))
        target = tmp_path / "out" / "img.png"
        window.export_current(target)
        label = window.export_progress.label
        assert "Waiting for the folder batch" in label.text()
        window.export_progress.cancel_button.click()
        assert cancelled == ["Export cancelled: img.png was not written"]  # at once, not after the batch
        assert not window.export_progress.isVisible() and controller.exports_running() == 0
    finally:
        lane.release()
    qtbot.waitUntil(lambda: not controller.batch_running(), timeout=EXPORT_TIMEOUT_MS)
    qtbot.wait(300)  # the worker then meets the cancelled export: it reports it to no one again
    assert len(cancelled) == 1 and not target.exists()


def test_the_list_serves_a_waiting_export_between_two_photos(tmp_path, revive_home, added_upscaler):
    from gui.workers.inference_worker import InferenceWorker

    source, cached = _reviewed(tmp_path, "grandma.jpg")
    worker = InferenceWorker()
    done = []
    worker.export_done.connect(lambda request, path: done.append(path))
    target = tmp_path / "out" / "grandma.png"
    worker.post_export(ExportRequest(((source, cached),), CancelToken(), target=target, upscale="x2"))
    worker._between_photos()  # what a long run of dropped photos does after each one
    assert done == [target]
    with Image.open(target) as image:
        assert image.size == (192, 128)
