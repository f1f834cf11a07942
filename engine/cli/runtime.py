"""What every long command-line command needs: interrupts that work, and text that stays on one line.

Interrupts: the first Ctrl+C (or SIGTERM, e.g. from ``kill`` or a service manager) asks for a clean
stop through the command's cancel token; a second one exits at once with status 130. The work runs
on a worker thread and the main thread only waits on a queue, so Python's signal handlers run at
once even while the model is busy in a long native call (a big render took 25 s to notice a
second Ctrl+C when the main thread did the work itself).
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TypeVar

from engine.cancel import CancelToken
from engine.errors import printable

T = TypeVar("T")

_DONE = object()


def say(message: object) -> None:
    """One line on stderr, made printable."""
    print(printable(message), file=sys.stderr, flush=True)


@contextmanager
def interrupts(cancel: CancelToken, stopping_message: str):
    """Inside the block, Ctrl+C and SIGTERM cancel ``cancel`` (printing ``stopping_message``); a
    second one exits the process at once with status 130."""
    presses = 0

    def handle(signum, frame) -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            cancel.cancel()
            print(file=sys.stderr)
            # A SIGTERM comes from a logout or `kill`, where "press Ctrl+C" means nothing.
            again = "press Ctrl+C again" if signum == signal.SIGINT else "a second signal ends it"
            say(f"revive: {stopping_message} ({again} to quit at once)")
        else:
            say("revive: stopped at once")
            sys.stderr.flush()
            os._exit(130)

    previous = {sig: signal.signal(sig, handle) for sig in _signals()}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signals() -> tuple[int, ...]:
    found = [signal.SIGINT]
    if hasattr(signal, "SIGTERM"):
        found.append(signal.SIGTERM)
    return tuple(found)


def events_from_thread(produce: Callable[[], Iterable[T]], name: str = "revive-work") -> Iterator[T]:
    """Run the generator ``produce()`` on a worker thread and yield its items here. The caller's
    thread only waits on a queue (with a timeout), so signal handlers are never delayed. An
    exception of the worker is raised here, in the caller's thread."""
    items: queue.Queue = queue.Queue(maxsize=256)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            for item in produce():
                items.put(item)
        except BaseException as error:  # noqa: BLE001 - handed to the caller's thread, re-raised there
            failure.append(error)
        finally:
            items.put(_DONE)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = items.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _DONE:
                break
            yield item
    finally:
        # Also when the caller stops early (it got the last event it needed and returned): let the
        # worker finish its own clean-up before the interpreter exits, so no thread is cut off in
        # the middle of native code ("terminate called without an active exception").
        deadline = time.monotonic() + 10.0  # a worker with work left is not waited for long
        while thread.is_alive() and time.monotonic() < deadline:
            try:
                items.get(timeout=0.2)
            except queue.Empty:
                pass
            thread.join(timeout=0.05)
    if failure:
        raise failure[0]


def in_background(function: Callable[..., T], *args) -> Future:
    """``function(*args)`` on a daemon thread; a Future of its result. Unlike a thread pool's
    worker, it never holds up the process's exit when the command ends early."""
    future: Future = Future()

    def work() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(function(*args))
        except BaseException as error:  # noqa: BLE001 - delivered through the future
            future.set_exception(error)

    threading.Thread(target=work, name="revive-background", daemon=True).start()
    return future


@contextmanager
def native_stderr_to_log(logger_name: str = "native"):
    """Inside the block, what C libraries write straight to file descriptor 2 (libtiff's and
    libjpeg's warnings: hundreds of lines on a mixed folder) goes to the log, one record per line,
    instead of through the progress line. Python's own stderr (and the console log handler) keep
    writing to the terminal. A no-op where file descriptors cannot be juggled."""
    import io
    import logging

    if sys.stderr is not sys.__stderr__ or sys.stderr is None:
        # already redirected (a test's capture, an embedding app), or no stderr at all (pythonw)
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        read_end, write_end = os.pipe()
    except (OSError, AttributeError, ValueError):
        yield
        return
    logger = logging.getLogger(logger_name)
    terminal = io.TextIOWrapper(
        os.fdopen(os.dup(saved), "wb", buffering=0),
        write_through=True,
        encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
        errors="backslashreplace",
    )
    previous_stream = sys.stderr
    handlers = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is previous_stream
    ]

    def pump() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            for raw in pipe:
                line = raw.decode("utf-8", errors="replace").rstrip()
                if line:
                    logger.info("%s", printable(line))

    reader = threading.Thread(target=pump, name="revive-native-stderr", daemon=True)
    reader.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = terminal
    for handler in handlers:
        handler.setStream(terminal)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the reader sees its end
        os.close(saved)
        reader.join(timeout=2.0)
        sys.stderr = previous_stream
        for handler in handlers:
            handler.setStream(previous_stream)
        terminal.close()


def exit_on_sigterm() -> None:
    """Until a command installs its own handling, SIGTERM acts as Ctrl+C (KeyboardInterrupt), so
    it too ends with one line and status 130 instead of a silent 143."""
    if hasattr(signal, "SIGTERM"):

        def raise_interrupt(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, raise_interrupt)
