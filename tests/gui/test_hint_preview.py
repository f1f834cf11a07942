"""The hint preview worker: a red hint paints red at its spot and nowhere else, only the decoding runs
for adjustments, bursts of edits are coalesced, suggestions come for a spot, and nothing blocks."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.batch.settings import ColorizeSettings
from engine.hints.schema import ColourAdjust, HintPoint, PhotoHints, colour_ab
from engine.metrics import ciede2000, to_lab
from gui.hints.preview import HintPreview
from tests.helpers import constant_colour_module, cpu_colorizer

RED = "#b02020"
GRAY = np.full((120, 160, 3), 128, np.uint8)  # the display copy of a plain gray photo


@pytest.fixture
def preview():
    preview = HintPreview()
    yield preview
    preview.shutdown()


def _colorizer():
    return cpu_colorizer(constant_colour_module(10.0, 40.0, hints=True), render_size=64)


def _frame(qtbot, preview, action):
    with qtbot.waitSignal(preview.frame_ready, timeout=20_000) as blocker:
        action()
    return blocker.args[0]


def _lab_at(rgb: np.ndarray, row: int, col: int) -> np.ndarray:
    return to_lab(np.ascontiguousarray(rgb[row - 2 : row + 3, col - 2 : col + 3])).reshape(-1, 3).mean(axis=0)


def test_a_red_hint_turns_its_spot_red_and_leaves_far_regions_as_they_were(qtbot, preview):
    preview.set_colorizer(_colorizer())
    plain = _frame(qtbot, preview, lambda: preview.show_photo(GRAY.copy()))
    assert plain.rgb.shape == (120, 160, 3) and plain.rgb.dtype == np.uint8 and plain.ran_network
    hints = PhotoHints(points=(HintPoint(0.25, 0.5, RED, 0.06),))
    hinted = _frame(qtbot, preview, lambda: preview.set_hints(hints))
    assert hinted.hints == hints and hinted.ran_network
    expected = np.array([_lab_at(plain.rgb, 60, 40)[0], *colour_ab(RED)])
    assert float(ciede2000(_lab_at(hinted.rgb, 60, 40), expected)) < 6.0
    far = (slice(0, 120), slice(110, 160))
    assert (
        float(
            np.mean(
                ciede2000(to_lab(np.ascontiguousarray(hinted.rgb[far])), to_lab(np.ascontiguousarray(plain.rgb[far])))
            )
        )
        < 1.0
    )


def test_adjustments_and_saturation_only_decode_again(qtbot, preview):
    preview.set_colorizer(_colorizer())
    hints = PhotoHints(points=(HintPoint(0.25, 0.5, RED, 0.06),))
    first = _frame(qtbot, preview, lambda: preview.show_photo(GRAY.copy(), hints))
    runs = preview.forward_runs()
    warm = PhotoHints(hints.points, adjust=ColourAdjust(warmth=1.0))
    warmer = _frame(qtbot, preview, lambda: preview.set_hints(warm))
    assert not warmer.ran_network and preview.forward_runs() == runs
    yellow_blue = [to_lab(np.ascontiguousarray(frame.rgb))[..., 2].mean() for frame in (first, warmer)]
    assert yellow_blue[1] > yellow_blue[0] + 5
    gray = _frame(qtbot, preview, lambda: preview.set_settings(ColorizeSettings(saturation=0.0)))
    assert not gray.ran_network and np.ptp(gray.rgb[100:, 120:].astype(int), axis=2).max() <= 2


class HeldColorizer:
    """A tiny colorizer whose first network run waits until released: a slow CPU, made deterministic."""

    def __init__(self):
        self.colorizer = _colorizer()
        self.started, self.release = threading.Event(), threading.Event()
        self.calls = []
        original = self.colorizer.forward

        def forward(prepared, hints=None, **options):
            self.calls.append(hints)
            if len(self.calls) == 1:
                self.started.set()
                self.release.wait(10)
            return original(prepared, hints, **options)

        self.colorizer.forward = forward


def test_a_burst_of_edits_while_the_network_runs_costs_one_more_run(qtbot, preview):
    held = HeldColorizer()
    preview.set_colorizer(held.colorizer)
    preview.show_photo(GRAY.copy())
    assert held.started.wait(10)
    last = None
    for step in range(20):  # a point dragged across the photo
        last = PhotoHints(points=(HintPoint(0.1 + step * 0.04, 0.5, RED, 0.05),))
        preview.set_hints(last)
    frames = []
    preview.frame_ready.connect(frames.append)
    held.release.set()
    qtbot.waitUntil(lambda: bool(frames) and frames[-1].hints == last, timeout=20_000)
    assert len(held.calls) == 2 and preview.forward_runs() == 2
    assert held.calls[1] is not None and float(held.calls[1][2].sum()) > 0  # the newest point's mask went in


def test_the_model_suggests_colours_for_a_spot(qtbot, preview):
    preview.set_colorizer(_colorizer())
    _frame(qtbot, preview, lambda: preview.show_photo(GRAY.copy()))
    with qtbot.waitSignal(preview.suggestions_ready, timeout=20_000) as blocker:
        preview.request_suggestions(0.5, 0.5)
    suggestions = blocker.args[0]
    assert (suggestions.x, suggestions.y) == (0.5, 0.5) and suggestions.token == preview.token()
    assert 1 <= len(suggestions.colours) <= 6
    a, b = colour_ab(suggestions.colours[0])
    assert abs(a - 10) < 6 and abs(b - 40) < 8  # the colour this model always predicts comes first


def test_frames_of_a_photo_no_longer_on_show_are_dropped(qtbot, preview):
    held = HeldColorizer()
    preview.set_colorizer(held.colorizer)
    rendered, shown = [], []
    preview.worker.frame_ready.connect(rendered.append, Qt.ConnectionType.DirectConnection)
    preview.frame_ready.connect(shown.append)
    preview.show_photo(GRAY.copy())
    assert held.started.wait(10)
    second = preview.show_photo(np.full((60, 80), 90, np.uint8))  # the user moved on meanwhile
    held.release.set()
    # Both lists: the queued frame can reach ``shown`` before the worker thread appends it to
    # ``rendered`` (the preview's own connection is the first one the worker's signal serves).
    qtbot.waitUntil(lambda: len(shown) == 1 and len(rendered) == 2, timeout=20_000)
    assert [frame.token for frame in rendered] == [second - 1, second]
    assert shown[0].token == second and shown[0].rgb.shape == (60, 80, 3)


def test_a_large_display_copy_is_previewed_at_a_view_size(qtbot, preview):
    preview.set_colorizer(_colorizer())
    frame = _frame(qtbot, preview, lambda: preview.show_photo(np.full((1500, 2000, 3), 100, np.uint8)))
    assert max(frame.rgb.shape[:2]) == 1280
