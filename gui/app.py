"""Starting the desktop app: QApplication, the qasync event loop, style, error hook, main window."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QStyle

from engine.hints.store import HintStore
from engine.paths import resources_dir
from gui.app_settings import AppSettings
from gui.controller import Controller
from gui.main_window import MainWindow
from gui.platform_check import missing_system_library
from gui.widgets.dialogs import show_nonblocking
from gui.workers.quitting import abandoned

log = logging.getLogger(__name__)

APP_NAME = "Revive"
STYLE_SHEET = "revive.qss"


def load_style(app: QApplication) -> None:
    """Fusion plus Revive's dark style sheet (resources/styles/revive.qss, icons from resources/icons)."""
    app.setStyle("Fusion")
    path = resources_dir() / "styles" / STYLE_SHEET
    try:
        sheet = path.read_text(encoding="utf-8")
        app.setStyleSheet(sheet.replace("@ICONS@", (resources_dir() / "icons").as_posix()))
    except OSError as error:
        log.warning("no style sheet (%s): using the platform look", error)


def install_excepthook() -> None:
    """Uncaught exceptions are logged with their traceback and shown in a dialog; the app goes on."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, error, trace)
            return
        log.error("uncaught exception", exc_info=(kind, error, trace))
        app = QApplication.instance()
        if app is None or threading.current_thread() is not threading.main_thread():
            return  # dialogs only on the GUI thread (the main one); the log has it either way
        show_nonblocking(
            None,
            QMessageBox.Icon.Critical,
            "Something went wrong",
            f"Revive hit an unexpected problem and stopped that action:\n\n{error}",
            details="".join(traceback.format_exception(kind, error, trace)),
        )

    sys.excepthook = hook


def create_main_window(
    model: str | None = None,
    device: str | None = None,
    settings: AppSettings | None = None,
    start: bool = True,
    hint_store: HintStore | None = None,
) -> MainWindow:
    """The window with its controller, inference thread started (unless ``start`` is False: then
    call ``window.controller.start()``). Needs a QApplication.

    ``model``/``device`` override the saved choice for this run; ``settings`` defaults to the user's
    file, ``hint_store`` (each photo's saved hints) to the user's.
    """
    controller = Controller(settings or AppSettings(), model=model, device=device, hint_store=hint_store)
    window = MainWindow(controller)
    controller.setParent(window)
    if start:
        controller.start()
    return window


def show_main_window(
    app: QApplication, model: str | None = None, device: str | None = None, settings: AppSettings | None = None
) -> MainWindow:
    """Build and show the window; its inference thread (which imports torch and loads the model)
    starts once the event loop has drawn it (a 0 ms timer fires after the window system's pending
    events). Started before the first paint, the import holds the GIL: 0.45 s from show() to the
    first paint instead of 0.13 s, on the loaded 2-core machine."""
    window = create_main_window(model, device, settings, start=False)
    window.show()
    QTimer.singleShot(0, window.controller.start)
    return window


def close_on_signals(window: MainWindow) -> QTimer:
    """Ctrl+C in the terminal and SIGTERM (a logout, ``kill``) close the window as its close button
    does, minus the "photos are waiting" question: settings, saved hints and the worker threads are
    wound down, and the app exits 0. (The command line's handler raises KeyboardInterrupt, which
    inside Qt's event loop would only print a traceback from some event handler and keep running.)
    Python runs a signal handler only between bytecodes, so the returned timer wakes the interpreter
    while Qt waits for events; keep it referenced."""

    def close(signum, frame) -> None:
        log.info("signal %d: closing the window", signum)
        window.close_without_asking()

    for number in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)):
        if number is not None:
            signal.signal(number, close)
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)
    return wake


def run_app(argv: list[str]) -> int:
    """Run the desktop app until its window closes; returns the exit code (2: the system lacks a
    library Qt needs, said in one line). The window is shown before torch is imported: the model
    loads on the inference thread while the window is already up."""
    if QApplication.instance() is None:
        problem = missing_system_library(os.environ)
        if problem is not None:
            print(problem, file=sys.stderr)
            return 2
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    icon = resources_dir() / "icons" / "revive.svg"
    app.setWindowIcon(
        QIcon(str(icon)) if icon.exists() else app.style().standardIcon(QStyle.StandardPixmap.SP_DesktopIcon)
    )
    load_style(app)
    install_excepthook()

    import qasync  # the asyncio loop runs inside Qt's, so coroutines can await background work

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        _window = show_main_window(app)  # kept referenced while the loop runs
        _wake = close_on_signals(_window)
        log.info("window shown")
        with loop:
            code = loop.run_forever()  # Qt's exec(); quits when the last window closes
    finally:
        asyncio.set_event_loop(None)
    if abandoned():  # a thread stuck in native code: Python's clean-up would hang or abort on it
        log.error("quitting at once; still running: %s", ", ".join(abandoned()))
        logging.shutdown()
        os._exit(int(code or 0))
    return int(code or 0)
