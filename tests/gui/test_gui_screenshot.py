"""scripts/screenshot.py: the README screenshot, taken offscreen with a tiny model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from PIL import Image
from PySide6.QtWidgets import QApplication

from tests.gui.conftest import TINY, write_photo_file

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshot.py"


def test_screenshot_script_saves_the_window_with_the_result(qtbot, revive_home, tmp_path):
    spec = importlib.util.spec_from_file_location("screenshot_script", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    photo = write_photo_file(tmp_path / "old.jpg", (320, 240))
    out = tmp_path / "docs" / "screenshot.png"
    try:
        assert script.main(["--photo", str(photo), "--out", str(out), "--model", TINY, "--size", "1200x800"]) == 0
    finally:
        QApplication.instance().setStyleSheet("")
    with Image.open(out) as image:
        assert image.size == (1200, 800)
    assert not (revive_home / "settings.ini").exists()  # the user's settings are left alone
    assert script.main(["--photo", str(tmp_path / "missing.jpg"), "--out", str(out)]) == 1
