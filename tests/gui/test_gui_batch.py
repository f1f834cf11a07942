"""Batches from the window: to the end, cancelled midway and resumed, bad folders, quitting mid-batch."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

from PIL import Image
from PySide6.QtGui import QDesktopServices

from engine.batch.plan import REPORT_NAME
from tests.gui.conftest import write_photo_file


def make_album(folder: Path, count: int, size=(96, 64)) -> list[Path]:
    return [
        write_photo_file(folder / ("sub" if i % 3 == 0 else "") / f"img{i:03d}.jpg", size, seed=i) for i in range(count)
    ]


def start(window, source: Path, output: Path, skip_existing: bool = False, format: str = "png") -> None:
    window.side_tabs.setCurrentWidget(window.batch_panel)
    window.batch_panel.set_form(
        input_dir=source, output_dir=output, recursive=True, format=format, skip_existing=skip_existing
    )
    assert window.batch_panel.start_button.isEnabled()
    window.batch_panel.start_button.click()


def test_batch_runs_to_the_end_and_opens_the_output(qtbot, make_window, tmp_path, monkeypatch):
    album = make_album(tmp_path / "album", 5)
    output = tmp_path / "out"
    window = make_window()
    with qtbot.waitSignal(window.controller.batch_finished, timeout=30_000) as finished:
        start(window, tmp_path / "album", output)
    summary = finished.args[0].summary
    assert (summary.total, summary.done, summary.failed, summary.cancelled) == (5, 5, (), False)
    for source in album:
        result = output / source.relative_to(tmp_path / "album").with_suffix(".png")
        with Image.open(result) as image:
            assert image.mode == "RGB" and image.size == (96, 64)
    assert (output / REPORT_NAME).exists()
    panel = window.batch_panel
    assert panel.count_label.text().startswith("Finished: 5 colorized")
    assert panel.progress_bar.value() == panel.progress_bar.maximum() == 5

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    assert panel.open_button.isEnabled()
    panel.open_button.click()
    assert opened == [str(output)]


def test_cancel_midway_keeps_finished_outputs_and_resumes(qtbot, make_window, tmp_path):
    count = 24
    make_album(tmp_path / "album", count, size=(480, 360))
    output = tmp_path / "out"
    window = make_window()
    controller = window.controller
    start(window, tmp_path / "album", output)
    qtbot.waitUntil(
        lambda: controller.batch_progress() is not None and controller.batch_progress().done >= 1, timeout=30_000
    )
    asked = time.monotonic()
    with qtbot.waitSignal(controller.batch_finished, timeout=10_000) as finished:
        window.batch_panel.cancel_button.click()
    assert time.monotonic() - asked < 5.0  # stops within a moment
    summary = finished.args[0].summary
    assert summary.cancelled and 1 <= summary.done < count
    written = sorted(output.rglob("*.png"))
    assert len(written) == summary.done
    for path in written:
        with Image.open(path) as image:
            image.load()  # complete files only
            assert image.size == (480, 360)
    assert not list(output.rglob("*.part"))
    report = json.loads((output / REPORT_NAME).read_text())
    assert report["cancelled"] is True
    assert window.batch_panel.count_label.text().startswith("Cancelled")

    with qtbot.waitSignal(controller.batch_finished, timeout=60_000) as resumed:
        start(window, tmp_path / "album", output, skip_existing=True)
    again = resumed.args[0].summary
    assert not again.cancelled and again.skipped == summary.done and again.done == count - summary.done
    assert len(list(output.rglob("*.png"))) == count


def test_output_folder_equal_to_input_is_refused_plainly(qtbot, make_window, tmp_path):
    make_album(tmp_path / "album", 2)
    window = make_window()
    with qtbot.waitSignal(window.controller.batch_failed, timeout=10_000) as failed:
        start(window, tmp_path / "album", tmp_path / "album")
    assert "also an input folder" in failed.args[0]
    assert window.batch_panel.count_label.text() == "The batch could not start"
    assert window.batch_panel.start_button.isEnabled()


def test_inputs_that_cannot_be_used_are_listed_with_their_reason(qtbot, make_window, tmp_path):
    make_album(tmp_path / "album", 1)
    os.mkfifo(tmp_path / "album" / "pipe.png")  # counted as failed by the summary: it must be shown
    (tmp_path / "album" / "broken.jpg").write_bytes(b"not a photo")
    window = make_window()
    with qtbot.waitSignal(window.controller.batch_finished, timeout=30_000):
        start(window, tmp_path / "album", tmp_path / "out")
    panel = window.batch_panel
    assert panel.count_label.text().startswith("Finished: 1 colorized, 2 failed")
    rows = sorted(panel.failures.item(i).text() for i in range(panel.failures.count()))
    assert len(rows) == 2 and rows[0].startswith("broken.jpg: ") and rows[1].startswith("pipe.png: ")
    assert "pipe" in rows[1].split(": ", 1)[1]


def test_closing_during_a_batch_stops_it_and_the_thread(qtbot, make_window, tmp_path):
    make_album(tmp_path / "album", 30, size=(640, 480))
    window = make_window()
    start(window, tmp_path / "album", tmp_path / "out")
    qtbot.waitUntil(
        lambda: (window.controller.batch_progress() or SimpleNamespace(current=None)).current is not None,
        timeout=30_000,
    )
    began = time.monotonic()
    window.close()
    assert time.monotonic() - began < 5.0
    assert not window.controller.thread.isRunning()
    for path in (tmp_path / "out").rglob("*.png"):
        with Image.open(path) as image:
            image.load()
