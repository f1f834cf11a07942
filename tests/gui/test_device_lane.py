"""The device lane: one job on the device at a time (colorizing, training, the time estimate), the
others waiting in turn, visibly; waits that end at once on cancel or quit."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtCore import QSettings

from engine.cancel import CancelToken
from gui.models.photo_session import PhotoStatus
from gui.training_wizard.training_run import TrainingRun
from gui.training_wizard.training_worker import NOT_STARTED
from gui.workers.background_tasks import BackgroundTasks
from gui.workers.device_lane import COLORIZING, ESTIMATING, TRAINING, DeviceLane
from training.events import TrainingFinished


class Holder:
    """A job on a thread of its own that takes the lane and keeps it until ``let_go``."""

    def __init__(self, lane: DeviceLane, job: str, log: list[str] | None = None) -> None:
        self.lane, self.job, self.log = lane, job, log if log is not None else []
        self.granted = threading.Event()
        self._go = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"test-{job}")
        self.thread.start()

    def _run(self) -> None:
        with self.lane.hold(self.job) as granted:
            if granted:
                self.log.append(f"{self.job} started")
                self.granted.set()
                self._go.wait(30)
                self.log.append(f"{self.job} ended")

    def let_go(self) -> None:
        self._go.set()
        self.thread.join(30)


def test_the_lane_runs_one_job_at_a_time_in_arrival_order(qtbot):
    lane, log = DeviceLane(), []
    first = Holder(lane, TRAINING, log)
    assert first.granted.wait(10)
    second = Holder(lane, COLORIZING, log)
    qtbot.waitUntil(lambda: lane.state().waiting == (COLORIZING,))
    assert lane.state().holder == TRAINING and log == [f"{TRAINING} started"]  # the second waits
    first.let_go()
    assert second.granted.wait(10)
    assert log == [f"{TRAINING} started", f"{TRAINING} ended", f"{COLORIZING} started"]
    second.let_go()
    assert lane.state().holder is None and lane.state().waiting == ()


def test_a_waiting_job_gives_up_when_cancelled_or_when_the_app_quits(qtbot):
    lane = DeviceLane()
    holder = Holder(lane, TRAINING)
    assert holder.granted.wait(10)
    token, answers = CancelToken(), []
    waiter = threading.Thread(target=lambda: answers.append(lane.acquire(ESTIMATING, give_up=lambda: token.cancelled)))
    waiter.start()
    qtbot.waitUntil(lambda: lane.state().waiting == (ESTIMATING,))
    token.cancel()
    waiter.join(10)
    assert answers == [False] and lane.state().waiting == ()
    quitter = threading.Thread(target=lambda: answers.append(lane.acquire(COLORIZING)))
    quitter.start()
    qtbot.waitUntil(lambda: lane.state().waiting == (COLORIZING,))
    lane.close()
    quitter.join(10)
    assert answers == [False, False]
    holder.let_go()
    assert not lane.acquire(COLORIZING)  # closed: nothing new is granted


def test_the_holders_thread_may_take_the_lane_again():
    lane = DeviceLane()
    with lane.hold(COLORIZING) as outer:
        with lane.hold(COLORIZING) as inner:  # the queue run loads its model, the preview renders
            assert outer and inner
        assert lane.state().holder == COLORIZING
    assert lane.state().holder is None


def test_colorizing_waits_while_training_holds_the_device_then_runs(qtbot, make_window, photos):
    window = make_window()
    controller = window.controller
    messages: list[str] = []
    controller.status_message.connect(messages.append)
    training = Holder(controller.lane, TRAINING)
    assert training.granted.wait(10)
    try:
        controller.open_paths(photos[:2])
        # The photos are read and looked at on helper threads first: slow on a loaded 2-core CPU.
        qtbot.waitUntil(
            lambda: any("Waiting for the device (busy training a model)" in m for m in messages), timeout=30_000
        )
        qtbot.waitUntil(
            lambda: all(
                (e := controller.session.get(p)) is not None and "waiting for the device" in e.message
                for p in photos[:2]
            ),
            timeout=30_000,
        )
        assert all(controller.session.get(p).status == PhotoStatus.QUEUED for p in photos[:2])
    finally:
        training.let_go()
    qtbot.waitUntil(
        lambda: all(controller.session.get(p).status == PhotoStatus.DONE for p in photos[:2]), timeout=60_000
    )
    assert controller.session.get(photos[0]).message.endswith(" s")  # the row no longer says it waits


def test_a_training_run_waits_for_the_device_and_stop_ends_the_wait(qtbot):
    lane = DeviceLane()
    colorizing = Holder(lane, COLORIZING)
    assert colorizing.granted.wait(10)
    trained: list[str] = []

    def train(config, cancel):
        trained.append("trained")
        yield TrainingFinished(1, None)

    run = TrainingRun(SimpleNamespace(), train=train, lane=lane)
    failures: list[str] = []
    run.worker.run_failed.connect(failures.append)
    try:
        run.start()
        qtbot.waitUntil(lambda: lane.state().waiting == (TRAINING,))
        with qtbot.waitSignal(run.stopped, timeout=10_000):
            run.cancel()
    finally:
        colorizing.let_go()
    assert trained == [] and failures == [NOT_STARTED]

    finished: list[object] = []
    second = TrainingRun(SimpleNamespace(), train=train, lane=lane)
    second.worker.run_finished.connect(finished.append)
    with qtbot.waitSignal(second.stopped, timeout=10_000):
        second.start()
    assert trained == ["trained"] and len(finished) == 1 and lane.state().holder is None


def test_next_waits_for_the_estimate_on_the_device(qtbot, tmp_path, monkeypatch, revive_home):
    from gui.training_wizard.options_page import OptionsPage

    release = threading.Event()
    monkeypatch.setattr("gui.training_wizard.options_page.estimate_seconds", lambda config: release.wait(30) and 60.0)
    monkeypatch.setattr("gui.training_wizard.options_page.ESTIMATE_DELAY_MS", 0)
    lane = DeviceLane()
    tasks = BackgroundTasks()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    page = OptionsPage(tasks, settings, lambda: ("tiny", Path(tmp_path), Path(tmp_path)), lane=lane)
    qtbot.addWidget(page)
    page.show()
    try:
        page.set_preset("tiny")
        page._timer.setInterval(0)
        page.steps.setValue(page.steps.value() + 1)  # an option changed: a new estimate
        qtbot.waitUntil(lambda: lane.state().holder == ESTIMATING)
        assert not page.isComplete() and not page.validatePage()  # Next waits
    finally:
        release.set()
    qtbot.waitUntil(page.isComplete)
    assert "Training should take" in page.estimate_label.text()
    assert tasks.shutdown()
