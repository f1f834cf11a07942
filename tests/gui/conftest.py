"""Fixtures for the GUI tests: offscreen Qt, a private REVIVE_HOME with a tiny model, generated photos,
the real main window, and a guard that fails any test leaving a thread running."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QThread

from engine.models.architectures.unet_colorizer import UNetColorizer
from engine.models.files import ModelCard, save_model

TINY = "tiny"


@pytest.fixture(autouse=True)
def no_thread_left_running(monkeypatch):
    """Fail a test that leaves a QThread (or a Python thread) running once it is over."""
    started: list[QThread] = []
    original_start = QThread.start

    def recording_start(self, *args):
        started.append(self)
        return original_start(self, *args)

    monkeypatch.setattr(QThread, "start", recording_start)
    python_threads = set(threading.enumerate())
    yield
    running = []
    for thread in started:
        try:
            if thread.isRunning():
                running.append(thread)
        except RuntimeError:  # the C++ object is gone, so the thread is finished
            pass
    for thread in running:  # stop them so the next tests are not disturbed, then fail
        thread.quit()
        thread.wait(5000)
    assert not running, f"{len(running)} QThread(s) left running"
    leftover = [t for t in threading.enumerate() if t not in python_threads and t.is_alive() and not t.daemon]
    assert not leftover, f"Python threads left running: {leftover}"


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    path = folder / f"{TINY}.safetensors"
    import torch

    torch.manual_seed(0)
    save_model(
        path,
        UNetColorizer(widths=(8, 8, 16, 16), blocks=1),
        ModelCard(
            name=TINY,
            architecture="unet_colorizer",
            arguments={"widths": [8, 8, 16, 16], "blocks": 1},
            render_size=64,
            description="A tiny random model for tests",
        ),
    )
    return path


@pytest.fixture
def revive_home(tmp_path, monkeypatch, tiny_model_file) -> Path:
    """A private REVIVE_HOME holding the tiny model as a user model."""
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    shutil.copy(tiny_model_file, home / "models" / tiny_model_file.name)
    monkeypatch.setenv("REVIVE_HOME", str(home))
    return home


@pytest.fixture
def no_shipped_models(monkeypatch, tmp_path):
    """Only the tiny model is installed: the default after a removal is predictable (and small).
    For the modules that add models: ``pytestmark = pytest.mark.usefixtures("no_shipped_models")``."""
    from engine.models import registry as model_registry

    shipped = tmp_path / "shipped"
    shipped.mkdir()
    monkeypatch.setattr(model_registry, "shipped_models_dir", lambda: shipped)


@pytest.fixture
def added_upscaler(tmp_path, revive_home):
    """A tiny 2x ESRGAN added as 'x2' (random weights: only the size of its output matters)."""
    from engine.external.adding import add_model
    from tests.spandrel_models import tiny_upscaler_file

    add_model(
        tiny_upscaler_file(tmp_path / "files" / "RealESRGAN_tiny_x2.pth"), "x2", "built by the test (random weights)"
    )
    return "x2"


def write_photo_file(path: Path, size: tuple[int, int] = (96, 64), seed: int = 0) -> Path:
    """A small gray JPEG/PNG (by suffix) with a gradient and some noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    x = np.linspace(0, 255, width)[None, :]
    y = np.linspace(0, 128, height)[:, None]
    gray = np.clip(0.6 * x + 0.4 * y + rng.normal(0, 12, (height, width)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gray, "L").save(path)
    return path


@pytest.fixture
def photos(tmp_path) -> list[Path]:
    folder = tmp_path / "photos"
    return [write_photo_file(folder / f"photo{i}.jpg", seed=i) for i in range(3)]


@pytest.fixture
def make_window(qtbot, revive_home):
    """Build the real main window (tiny model); every window made is closed after the test."""
    from gui.app import create_main_window

    windows = []

    def make(model: str | None = TINY):
        window = create_main_window(model=model, device="cpu")
        window.quit_questions = []
        window.confirm_quit = lambda waiting: window.quit_questions.append(waiting) or True
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert window.controller.tasks.active() == 0
        assert not window.controller.thread.isRunning()
