"""Batches in the app finished with added models (the Batch tab's Upscale and Faces choices, as
``colorize --upscale/--faces``): the choices list the added upscalers and face models and follow
adding and removing; a batch with an upscaler writes enlarged results and says so in its report;
a model removed behind the app's back fails the batch in one line; a Ray cluster batch takes them
to its workers (engine.cluster, tested there end to end)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from engine.batch.plan import REPORT_NAME
from engine.external import store
from gui.models.batch_form import ClusterChoice
from tests.gui.conftest import write_photo_file

BATCH_TIMEOUT_MS = 60_000  # spandrel's first import (torchvision) takes seconds on a busy 2-core CPU


pytestmark = pytest.mark.usefixtures("no_shipped_models")


def _names(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def _window_with_x2_chosen(make_window, tmp_path):
    """The window, its batch form set to a one-photo album and the upscaler x2 chosen."""
    write_photo_file(tmp_path / "album" / "img.jpg")
    window = make_window()
    panel = window.batch_panel
    panel.set_form(input_dir=tmp_path / "album", output_dir=tmp_path / "out", recursive=True, format="png")
    panel.upscale.setCurrentIndex(panel.upscale.findData("x2"))
    return window


def test_the_choices_list_the_added_finishing_models_only(revive_home, added_upscaler):
    from gui.models.added_models import finishing_choices

    (store.external_models_dir() / "broken.card.json").write_text("{")  # a damaged card is never offered
    assert finishing_choices() == (["x2"], [])


def test_a_batch_with_an_upscaler_writes_enlarged_results(qtbot, make_window, tmp_path, added_upscaler):
    album = [write_photo_file(tmp_path / "album" / f"img{i}.jpg", (96, 64), seed=i) for i in range(2)]
    window = make_window()
    panel = window.batch_panel
    assert _names(panel.upscale) == ["None", "x2"] and panel.upscale.isEnabled()
    assert _names(panel.faces) == ["None"] and not panel.faces.isEnabled()  # none added: says so in its tooltip
    assert "Tools > Add Model" in panel.faces.toolTip()

    window.side_tabs.setCurrentWidget(panel)
    panel.set_form(input_dir=tmp_path / "album", output_dir=tmp_path / "out", recursive=True, format="png")
    panel.upscale.setCurrentIndex(panel.upscale.findData("x2"))
    assert panel.form().upscale == "x2" and panel.form().faces is None
    with qtbot.waitSignal(window.controller.batch_finished, timeout=BATCH_TIMEOUT_MS) as finished:
        panel.start_button.click()

    summary = finished.args[0].summary
    assert (summary.done, summary.failed) == (2, ())
    for source in album:
        with Image.open(tmp_path / "out" / f"{source.stem}.png") as image:
            assert image.size == (192, 128)
    report = json.loads((tmp_path / "out" / REPORT_NAME).read_text())
    assert "upscaled x2 by x2" in json.dumps(report)


def test_the_choices_follow_adding_and_removing(qtbot, make_window, added_upscaler):
    window = make_window()
    panel = window.batch_panel
    panel.upscale.setCurrentIndex(panel.upscale.findData("x2"))
    assert window.controller.remove_added_model("x2") == ""
    assert _names(panel.upscale) == ["None"] and panel.upscale.currentData() is None
    assert not panel.upscale.isEnabled()


def test_a_model_removed_behind_the_apps_back_fails_the_batch_in_one_line(qtbot, make_window, tmp_path, added_upscaler):
    window = _window_with_x2_chosen(make_window, tmp_path)
    panel = window.batch_panel
    store.remove("x2")  # another Revive process, say
    with qtbot.waitSignal(window.controller.batch_failed, timeout=BATCH_TIMEOUT_MS) as failed:
        panel.start_button.click()
    message = failed.args[0]
    assert "x2" in message and "\n" not in message and "Traceback" not in message
    assert not list(tmp_path.glob("out/*.png"))


def test_a_ray_cluster_batch_takes_them_to_its_workers(qtbot, make_window, tmp_path, added_upscaler):
    from tests.gui.test_batch_cluster import recorded_requests

    window = _window_with_x2_chosen(make_window, tmp_path)
    panel = window.batch_panel
    panel.set_cluster(True, "local", 1)
    if panel.cluster_choice() is None or panel.cluster_choice().problem() is not None:
        pytest.skip("Ray is not installed here")
    assert panel.upscale.isEnabled() and panel.finishing_choice() == ("x2", None)
    requests = recorded_requests(window)
    panel.start_button.click()
    [request] = requests
    assert (request.cluster, request.upscale, request.faces) == (ClusterChoice("local", 1), "x2", None)


def test_the_choice_is_remembered_for_the_next_start(qtbot, make_window, tmp_path, added_upscaler):
    window = _window_with_x2_chosen(make_window, tmp_path)
    panel = window.batch_panel
    with qtbot.waitSignal(window.controller.batch_finished, timeout=BATCH_TIMEOUT_MS):
        panel.start_button.click()
    window.close()

    again = make_window()
    assert again.batch_panel.upscale.currentData() == "x2" and again.batch_panel.faces.currentData() is None
    again.controller.settings.set_batch_finishing("gone", None)  # removed since: nothing is chosen
    again.batch_panel.choose_finishing(*again.controller.settings.batch_finishing())
    assert again.batch_panel.upscale.currentData() is None
