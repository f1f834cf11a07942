"""Nothing slow on the GUI thread, nothing lost off it: background failures reach the log and the user,
quitting gives up on a stuck worker in bounded time, the model list is not scanned per keystroke,
and the folder loaders stop as soon as their cancel token is set."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt, QThread

from engine.cancel import CancelToken
from engine.errors import Cancelled, ReviveError
from engine.models.registry import list_models as real_list_models
from gui.models.photo_session import PhotoStatus
from gui.workers import quitting
from gui.workers.background_tasks import BackgroundTasks


def _broken(_value):
    raise RuntimeError("the disk went away")


def test_a_failing_task_without_its_own_handler_is_logged_and_reported(qtbot, caplog):
    tasks = BackgroundTasks()
    with caplog.at_level(logging.WARNING), qtbot.waitSignal(tasks.task_failed, timeout=10_000) as failed:
        tasks.submit(_broken, 1, on_done=lambda _result: pytest.fail("it failed"))
    assert "the disk went away" in failed.args[0]
    assert any("_broken" in record.getMessage() for record in caplog.records)  # with its traceback
    with qtbot.waitSignal(tasks.task_failed, timeout=10_000) as failed:
        tasks.submit(lambda: (_ for _ in ()).throw(ReviveError("photo.jpg is not an image")), on_done=print)
    assert failed.args[0] == "photo.jpg is not an image"
    assert tasks.shutdown()


def test_a_failed_thumbnail_marks_its_row_and_a_failed_task_reaches_the_status_bar(
    qtbot, make_window, photos, tmp_path
):
    window = make_window()
    controller = window.controller
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    controller.open_paths([broken])
    qtbot.waitUntil(lambda: (e := controller.session.get(broken)) is not None and e.status == PhotoStatus.FAILED)
    assert controller.session.get(broken).message  # says why
    messages: list[str] = []
    controller.status_message.connect(messages.append)
    controller.tasks.submit(_broken, 1, on_done=print)
    qtbot.waitUntil(lambda: any("A background task failed" in m and "disk went away" in m for m in messages))


class StuckThread(QThread):
    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def run(self) -> None:
        self.release.wait(30)  # as a driver call that does not return


def test_quitting_gives_up_on_a_stuck_thread_within_the_timeout(monkeypatch):
    monkeypatch.setattr(quitting, "_abandoned", [])
    release = threading.Event()
    thread = StuckThread(release)
    thread.start()
    try:
        started = time.monotonic()
        assert not quitting.wait_or_abandon(thread, 300, "the stuck worker")
        assert time.monotonic() - started < 5
        assert quitting.abandoned() == ["the stuck worker"]
    finally:
        release.set()
        thread.wait(10_000)


def test_the_pool_shutdown_gives_up_on_a_stuck_task_within_the_timeout(monkeypatch):
    monkeypatch.setattr(quitting, "_abandoned", [])
    release = threading.Event()
    tasks = BackgroundTasks()
    tasks.submit(release.wait, 30, on_done=print)
    try:
        started = time.monotonic()
        assert not tasks.shutdown(300)
        assert time.monotonic() - started < 5 and quitting.abandoned() == ["a background task"]
    finally:
        release.set()
        tasks.wait(10_000)


def test_the_app_quits_within_the_timeout_while_its_inference_thread_is_stuck(qtbot, make_window, monkeypatch):
    monkeypatch.setattr(quitting, "_abandoned", [])
    monkeypatch.setattr("gui.controller.QUIT_WAIT_MS", 300)
    window = make_window()
    controller = window.controller
    qtbot.waitUntil(lambda: controller.model_info() is not None, timeout=60_000)
    release, entered = threading.Event(), threading.Event()

    def stuck(self) -> None:  # a job stuck in native code on the inference thread
        entered.set()
        release.wait(30)

    monkeypatch.setattr(type(controller.worker), "serve_retune", stuck)
    controller._retune_requested.connect(controller.worker.serve_retune, Qt.ConnectionType.QueuedConnection)
    controller._retune_requested.emit()
    assert entered.wait(10)
    try:
        started = time.monotonic()
        controller.shutdown()
        assert time.monotonic() - started < 5
        assert quitting.abandoned() == ["the inference thread"]
    finally:
        release.set()
        controller.thread.wait(10_000)


def test_the_finish_page_lists_the_models_once_not_per_keystroke(qtbot, revive_home, monkeypatch):
    from gui.training_wizard.finish_page import FinishPage, TrainingOutcome

    calls: list[int] = []
    monkeypatch.setattr("gui.training_wizard.finish_page.list_models", lambda: calls.append(1) or real_list_models())
    tasks = BackgroundTasks()
    page = FinishPage(lambda: TrainingOutcome(None, "tiny", None, None, None, None), lambda *_: None, tasks)
    qtbot.addWidget(page)
    page.initializePage()
    assert len(calls) == 1
    page.name.clear()
    qtbot.keyClicks(page.name, "tiny")
    assert len(calls) == 1  # four keystrokes, no scan
    assert "is installed" in page.name_problem.text()  # the warning still knows the installed models
    qtbot.keyClicks(page.name, "-mine")
    assert len(calls) == 1 and page.name_problem.text() == ""
    assert tasks.shutdown()


# -- the loaders take the cancel token ---------------------------------------------------------------------


def _folder(path: Path, count: int) -> Path:
    path.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(path / f"p{i:02d}.png")
    return path


def test_the_dataset_check_reads_nothing_once_cancelled(tmp_path, monkeypatch):
    from training.data import dataset_check

    old, colour = _folder(tmp_path / "old", 12), _folder(tmp_path / "colour", 12)
    read: list[Path] = []
    original = dataset_check._inspect
    monkeypatch.setattr(dataset_check, "_inspect", lambda path: read.append(path) or original(path))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        dataset_check.check_dataset(old, colour, cancel=token)
    assert read == []
    assert dataset_check.check_dataset(old, colour).old.count == 12  # without a token: all of them


def test_a_loader_stops_soon_after_its_token_is_set(tmp_path):
    from training.data.photo_folder import map_files

    paths = sorted(_folder(tmp_path / "photos", 30).iterdir())
    token, read = CancelToken(), []

    def load(path: Path):
        read.append(path)
        if len(read) == 3:
            token.cancel()  # Stop pressed while the third photo is read
        return path

    with pytest.raises(Cancelled):
        map_files(load, paths, workers=2, cancel=token)
    assert 3 <= len(read) <= 5 < len(paths)  # the files in progress finish; the rest are never read


def test_the_training_folders_load_nothing_once_cancelled(tmp_path):
    from training.cyclegan.config import make_config
    from training.cyclegan.data import load_domain
    from training.data.photo_folder import load_square_cache

    folder = _folder(tmp_path / "old", 12)
    token = CancelToken()
    token.cancel()
    config = make_config("tiny", folder, folder)
    with pytest.raises(Cancelled):
        load_domain(folder, config, "old", cancel=token)
    with pytest.raises(Cancelled):
        load_square_cache(sorted(folder.iterdir()), 16, cancel=token)
    assert load_domain(folder, config, "old").count > 0
