"""Start-up: how long until the window is on screen, and until the first photo is colorized.

    uv run benchmarks/startup.py [--megapixels 12] [--model NAME] [--runs 1]

Each run starts the app in a fresh Python process (offscreen Qt, a throw-away user data folder, so
the shipped model and default settings are used), adds one generated gray photo as soon as the
window is shown, and reports two times measured from the moment the process was started:

- window shown: the first turn of the event loop after ``show()`` (the window is painted);
- first result: that photo colorized and on show (this includes importing torch and loading the
  model, which happen in the background while the window is already up).

The parent process measures from just before it spawns the child, so Python's own start-up counts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)

HERE = Path(__file__).resolve()


def make_photo(folder: Path, megapixels: float) -> Path:
    """A gray JPEG of about ``megapixels`` (4:3) with a gradient and noise."""
    import numpy as np
    from PIL import Image

    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    rng = np.random.default_rng(0)
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 120, height, dtype=np.float32)[:, None]
    gray = np.clip(0.6 * x + 0.4 * y + rng.normal(0, 10, (height, width)).astype(np.float32), 0, 255)
    path = folder / "startup.jpg"
    Image.fromarray(gray.astype(np.uint8), "L").save(path, quality=90)
    return path


def child(photo: Path, model: str | None, timeout_s: float) -> int:
    """Runs in the fresh process: the window as ``gui.app.run_app`` shows it, with two time stamps."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui.app import load_style, show_main_window
    from gui.models.photo_session import PhotoStatus

    app = QApplication([sys.argv[0]])
    load_style(app)
    window = show_main_window(app, model=model)
    window.confirm_quit = lambda waiting: True
    outcome = {"code": 1}

    def on_shown() -> None:
        print(f"shown {time.time():.6f}", flush=True)
        window.open_paths([photo])

    def check() -> None:
        entry = window.controller.session.get(photo)
        if entry is None:
            return
        if entry.status == PhotoStatus.FAILED:
            print(f"failed {entry.message}", flush=True)
        elif entry.status == PhotoStatus.DONE and window.compare_view.has_result():
            print(f"result {time.time():.6f}", flush=True)
            outcome["code"] = 0
        else:
            return
        poll.stop()
        window.close()

    poll = QTimer()
    poll.timeout.connect(check)
    poll.start(20)
    QTimer.singleShot(0, on_shown)
    QTimer.singleShot(int(timeout_s * 1000), window.close)
    app.exec()
    return outcome["code"]


def one_run(photo: Path, model: str | None, home: Path, timeout_s: float) -> tuple[float, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", REVIVE_HOME=str(home))
    command = [sys.executable, str(HERE), "--child", str(photo), "--timeout", str(timeout_s)]
    if model:
        command += ["--model", model]
    started = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s + 60, check=False)
    stamps = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    if "failed" in stamps or "result" not in stamps or "shown" not in stamps:
        raise SystemExit(f"startup: the run did not finish: {stamps.get('failed') or done.stderr.strip()[-500:]}")
    return float(stamps["shown"]) - started, float(stamps["result"]) - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megapixels", type=float, default=12.0, help="size of the generated photo (default 12)")
    parser.add_argument("--model", help="model name or path (default: the shipped default model)")
    parser.add_argument("--runs", type=int, default=1, help="fresh processes to time (the median is printed)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the result")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        return child(args.child, args.model, args.timeout)
    with tempfile.TemporaryDirectory(prefix="revive-startup-") as scratch:
        photo = make_photo(Path(scratch), args.megapixels)
        times = [one_run(photo, args.model, Path(scratch) / f"home{i}", args.timeout) for i in range(args.runs)]
    shown = statistics.median(t[0] for t in times)
    result = statistics.median(t[1] for t in times)
    print(f"window shown: {shown:.2f} s after start")
    print(
        f"first result: {result:.2f} s after start ({args.megapixels:g}-MP photo, "
        f"{args.model or 'the shipped model'}, median of {len(times)} run{'s' if len(times) != 1 else ''})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
