"""The app closes cleanly on SIGTERM and Ctrl+C (SIGINT): exit 0, no traceback, settings written.

A real process (``main.py`` with no command, offscreen): the signal arrives while Qt's event loop
runs, which is where a KeyboardInterrupt would only print a traceback from an event handler and
leave the app running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)  # polling a file another process writes, with a deadline
    return False


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_the_window_and_the_app_exits_0(tmp_path, number):
    home = tmp_path / "home"
    env = {**os.environ, "REVIVE_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    log = home / "logs" / "revive.log"
    try:
        shown = _wait_for(lambda: log.is_file() and "window shown" in log.read_text(errors="replace"), 120)
        assert shown, "the window never came up"
        process.send_signal(number)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert b"Traceback" not in stderr and b"KeyboardInterrupt" not in stderr
    assert "closing the window" in log.read_text(errors="replace")
    assert (home / "settings.ini").is_file()  # closed as the close button does: the settings are kept
