"""Take the hint tool's screenshots: the app, offscreen, on one photo before and after the hints of a
file are applied in hint mode (marks visible), and the training wizard's first page.

    uv run scripts/hint_demo.py --photo ../shared/data/old/some.jpg --hints some.json \\
        --model revive-base --out-dir docs/

writes DIR/hints-before.png, DIR/hints-after.png and DIR/wizard.png. The hint file is the format
of ``engine.hints.schema`` (what ``main.py colorize --hints`` reads). Uses the installed models
(REVIVE_HOME and the shipped ones) with throw-away settings and saved hints, so the user's own are
left alone. Exits 1 (with the reason) when the hints or the photo cannot be used.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QWidget
from screenshot import wait_for_result

from engine.hints.schema import HintError, PhotoHints, read_hint_file
from engine.hints.store import HintStore
from gui.app import create_main_window, load_style
from gui.app_settings import AppSettings
from gui.widgets.dialogs import training_available

NAMES = ("hints-before.png", "hints-after.png", "wizard.png")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo", type=Path, required=True, help="the photo to show")
    parser.add_argument(
        "--hints", type=Path, required=True, help="a hint file (JSON, engine.hints.schema) for the photo"
    )
    parser.add_argument("--model", help="model name or path (default: the default model)")
    parser.add_argument("--out-dir", type=Path, default=Path("docs"), help="where to save the PNGs (default docs)")
    parser.add_argument("--size", default="1440x900", help="window size, WIDTHxHEIGHT (default 1440x900)")
    parser.add_argument("--split", type=float, default=0.2, help="divider position, 0..1 (default 0.2: mostly after)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for each step")
    return parser.parse_args(argv)


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Run the event loop until ``condition()`` holds (True) or ``timeout_s`` passes (False)."""
    if condition():
        return True
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: condition() and loop.quit())
    poll.start(50)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    poll.stop()
    return condition()


def save(app: QApplication, widget: QWidget, path: Path) -> str | None:
    for _ in range(5):  # let the last repaints land
        app.processEvents()
    return None if widget.grab().save(str(path), "PNG") else f"could not write {path}"


def take_screenshots(app: QApplication, window, photo: Path, hints: PhotoHints, args) -> str | None:
    """The three screenshots; an error message, or None."""
    window.open_paths([photo])
    error = wait_for_result(app, window, photo, args.timeout)
    if error is not None:
        return error
    view = window.compare_view
    view.set_split_position(args.split)
    view.zoom_fit()
    window.statusBar().clearMessage()
    if (error := save(app, window, args.out_dir / NAMES[0])) is not None:
        return error

    tool = window.hints
    tool.set_on(True)
    if not wait_until(lambda: tool.session.photo() == photo and tool.editor.enabled, args.timeout):
        return "hint mode did not start on the photo"
    if not tool.overlay.isVisible():
        print(
            f"hint_demo: the model {window.controller.model_info().name} takes no colour marks: "
            "only the whole-photo adjustments are shown",
            file=sys.stderr,
        )
    shown = []
    window.controller.hint_preview.frame_ready.connect(lambda frame: shown.append(frame.hints))
    tool.editor.replace_all(hints)
    if not wait_until(lambda: tool.editor.hints in shown, args.timeout):
        return "the preview with the hints did not come"
    window.statusBar().clearMessage()
    if (error := save(app, window, args.out_dir / NAMES[1])) is not None:
        return error

    if not training_available():
        return "the training wizard is not part of this build"
    from gui.training_wizard.wizard import open_training_wizard

    wizard = open_training_wizard(window, window.controller)
    try:
        error = save(app, wizard, args.out_dir / NAMES[2])
    finally:
        wizard.shutdown()
        wizard.close()
    return error


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    photo = args.photo.expanduser().resolve()
    if not photo.is_file():
        print(f"hint_demo: {photo}: no such photo", file=sys.stderr)
        return 1
    try:
        hints = read_hint_file(args.hints)
    except HintError as error:
        print(f"hint_demo: {error}", file=sys.stderr)
        return 1
    width, height = (int(v) for v in args.size.lower().split("x"))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    load_style(app)
    with tempfile.TemporaryDirectory(prefix="revive-hint-demo-") as scratch:
        window = create_main_window(
            model=args.model,
            settings=AppSettings(Path(scratch) / "settings.ini"),
            hint_store=HintStore(Path(scratch) / "hints"),
        )
        window.resize(width, height)
        window.show()
        try:
            error = take_screenshots(app, window, photo, hints, args)
        finally:
            window.close()
    if error is not None:
        print(f"hint_demo: {error}", file=sys.stderr)
        return 1
    print(f"hint_demo: wrote {', '.join(str(args.out_dir / name) for name in NAMES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
