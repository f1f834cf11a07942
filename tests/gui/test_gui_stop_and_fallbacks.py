"""Stop Colorizing mid-run, a failed model switch that keeps the model in use, and settings read
back from a damaged settings file."""

from __future__ import annotations

import threading

import pytest
from PIL import Image

from gui.models.photo_session import ColourChoice, PhotoStatus
from tests.gui.conftest import TINY, write_photo_file
from tests.gui.test_gui_window import drop, wait_all_finished
from tests.helpers import colour_shapes


def hold_first_photo(monkeypatch) -> tuple[threading.Event, threading.Event, list]:
    """Make the network's first run wait for a gate: (started, gate, calls)."""
    from engine.models.colorizer import Colorizer

    started, gate, calls = threading.Event(), threading.Event(), []
    original = Colorizer.forward

    def held(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            started.set()
            gate.wait(30)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Colorizer, "forward", held)
    return started, gate, calls


@pytest.mark.parametrize("kind", ["gray", "colour, colorize remembered"])
def test_stop_right_after_a_drop_stops_the_photos_still_being_looked_at(
    qtbot, make_window, tmp_path, monkeypatch, kind
):
    import gui.controller as controller_module

    if kind == "gray":
        photos = [write_photo_file(tmp_path / "photos" / f"p{i}.png", seed=i) for i in range(4)]
    else:  # a colour photo the user said to colorize: its look queues it without asking
        photos = [tmp_path / "photos" / f"c{i}.png" for i in range(4)]
        photos[0].parent.mkdir(parents=True)
        for i, path in enumerate(photos):
            Image.fromarray(colour_shapes(96, 64, seed=i)).save(path)

    started, gate, calls = hold_first_photo(monkeypatch)
    gate.set()
    looking, real_inspect = threading.Event(), controller_module.inspect_photo

    def slow_inspect(*args, **kwargs):  # each photo is looked at on a helper thread, then queued
        looking.wait(30)
        return real_inspect(*args, **kwargs)

    monkeypatch.setattr(controller_module, "inspect_photo", slow_inspect)
    window = make_window()
    if kind != "gray":
        for path in photos:
            window.controller.settings.set_colour_choice(path, ColourChoice.RECOLOR.value)
    session = window.controller.session
    drop(window, photos)
    qtbot.waitUntil(lambda: all(session.get(p) is not None for p in photos), timeout=10_000)
    assert all(session.get(p).status == PhotoStatus.NEW for p in photos)
    window.stop_action.trigger()
    looking.set()
    qtbot.wait(500)  # their looks come back: none may be queued after Stop
    assert not calls, "photos were colorized after Stop"
    assert all(session.get(p).status == PhotoStatus.CANCELLED for p in photos)
    assert window.controller.redo(photos[0])  # not lost: colorized when asked
    qtbot.waitUntil(lambda: session.get(photos[0]).status == PhotoStatus.DONE, timeout=30_000)


def test_stop_colorizing_drops_the_waiting_photos_at_once(qtbot, make_window, tmp_path, monkeypatch):
    photos = [write_photo_file(tmp_path / "photos" / f"p{i}.png", seed=i) for i in range(5)]
    started, gate, calls = hold_first_photo(monkeypatch)
    window = make_window()
    try:
        drop(window, photos)
        qtbot.waitUntil(started.is_set, timeout=30_000)
        session = window.controller.session
        qtbot.waitUntil(lambda: any(session.get(p).status == PhotoStatus.WORKING for p in photos), timeout=10_000)
        window.stop_action.trigger()
        waiting = [p for p in photos if session.get(p).status != PhotoStatus.WORKING]
        assert len(waiting) == 4
        # At once, before the photo in progress is through: the queue is dropped. The worker may
        # already hold the next photo (read ahead while the first is on the network); that one is
        # reported cancelled by the worker, so it may show Queued until the photo in progress ends.
        # (Measured: two rows read ahead, two cancelled at once.)
        statuses = [session.get(p).status for p in waiting]
        assert PhotoStatus.CANCELLED in statuses, statuses
        assert set(statuses) <= {PhotoStatus.CANCELLED, PhotoStatus.QUEUED}, statuses
    finally:
        gate.set()
    qtbot.waitUntil(lambda: window.controller.waiting_count() == 0, timeout=30_000)
    qtbot.wait(200)  # a photo wrongly left queued would start now
    assert len(calls) == 1, "photos were colorized after Stop"
    assert all(session.get(p).status == PhotoStatus.CANCELLED for p in waiting)
    assert all(window.photo_list.status_text(p).startswith("Cancelled") for p in waiting)
    # They are not lost: one can be colorized again (the network no longer waits after its first run).
    assert window.controller.redo(waiting[0])
    qtbot.waitUntil(lambda: session.get(waiting[0]).status == PhotoStatus.DONE, timeout=30_000)


def test_a_model_that_fails_to_load_keeps_the_one_in_use(qtbot, make_window, photos, tmp_path):
    window = make_window()
    drop(window, [photos[0]])
    wait_all_finished(qtbot, window, 1)
    assert window.controller.model_info().name == TINY
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    problems = []
    window.controller.model_problem.connect(problems.append)
    window.controller.choose_model(str(broken))
    qtbot.waitUntil(lambda: bool(problems), timeout=30_000)
    assert "broken.safetensors" in problems[0] and "Traceback" not in problems[0]
    assert window.controller.model_info().name == TINY  # the loaded model is still the old one
    drop(window, [photos[1]])  # and it still colorizes
    wait_all_finished(qtbot, window, 2)
    assert window.controller.session.get(photos[1]).status == PhotoStatus.DONE


def test_garbage_in_the_settings_file_reads_back_as_the_defaults(tmp_path):
    from gui.app_settings import AppSettings

    path = tmp_path / "settings.ini"
    path.write_text(
        "[gui]\n"
        "device=quantum\n"
        "auto_colorize=maybe\n"
        "recent=@Invalid()\n"
        "[gui/models/tuning]\n"
        "render_size=99999\n"
        "saturation=-5\n"
        "boldness=lots\n"
        "[gui/export]\n"
        "format=gif\n"
        "[gui/batch]\n"
        "format=42\n"
        "[gui/session]\n"
        "photos={broken json\n"
        "colour_choices=[1, 2]\n",
        encoding="utf-8",
    )
    settings = AppSettings(path)
    assert settings.device() == "auto"
    assert settings.render_size() == 0
    assert settings.saturation_percent() == 100
    assert settings.boldness() == 50
    assert settings.export_format() == "same" and settings.batch_format() == "same"
    assert settings.session_photos() == [] and settings.colour_choices() == {}
    assert settings.recent() == []
    assert settings.auto_colorize() is False  # not a yes: off, never an exception
    # Good values written over the garbage read back as written.
    settings.set_render_size(256)
    settings.set_boldness(70)
    settings.sync()
    again = AppSettings(path)
    assert again.render_size() == 256 and again.boldness() == 70
