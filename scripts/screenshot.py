"""Take the README screenshot: the app, offscreen, showing one photo before/after at the middle.

    uv run scripts/screenshot.py --photo ../shared/data/old/some.jpg --out docs/screenshot.png [--model NAME]

Uses the installed models (REVIVE_HOME and the shipped ones) and a throw-away settings file, so the
user's own settings are left alone. Exits 1 (with the reason) when the photo cannot be colorized.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from gui.app import create_main_window, load_style
from gui.app_settings import AppSettings
from gui.models.photo_session import PhotoStatus


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, required=True, help="the photo to show")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"), help="where to save the PNG")
    parser.add_argument("--model", help="model name or path (default: the default model)")
    parser.add_argument("--size", default="1440x900", help="window size, WIDTHxHEIGHT (default 1440x900)")
    parser.add_argument("--split", type=float, default=0.5, help="divider position, 0..1 (default 0.5)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the result")
    return parser.parse_args(argv)


def wait_for_result(app: QApplication, window, photo: Path, timeout_s: float) -> str | None:
    """Run the event loop until the photo is colorized and on show; returns an error message or None."""
    loop = QEventLoop()
    outcome: dict[str, str | None] = {}

    def check() -> None:
        entry = window.controller.session.get(photo)
        if entry is not None and entry.status == PhotoStatus.FAILED:
            outcome["error"] = entry.message
        elif entry is not None and entry.status == PhotoStatus.DONE and window.compare_view.has_result():
            outcome["error"] = None
        else:
            return
        loop.quit()

    poll = QTimer()
    poll.timeout.connect(check)
    poll.start(50)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    poll.stop()
    if "error" not in outcome:
        return f"no result after {timeout_s:.0f} s"
    return outcome["error"]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    photo = args.photo.expanduser().resolve()
    if not photo.is_file():
        print(f"screenshot: {photo}: no such photo", file=sys.stderr)
        return 1
    width, height = (int(v) for v in args.size.lower().split("x"))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    load_style(app)
    with tempfile.TemporaryDirectory(prefix="revive-screenshot-") as scratch:
        window = create_main_window(model=args.model, settings=AppSettings(Path(scratch) / "settings.ini"))
        window.resize(width, height)
        window.show()
        window.open_paths([photo])
        error = wait_for_result(app, window, photo, args.timeout)
        if error is None:
            window.compare_view.set_split_position(args.split)
            window.compare_view.zoom_fit()
            window.statusBar().clearMessage()
            for _ in range(5):
                app.processEvents()
            args.out.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(args.out), "PNG"):
                error = f"could not write {args.out}"
        window.close()
    if error is not None:
        print(f"screenshot: {error}", file=sys.stderr)
        return 1
    print(f"screenshot: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
