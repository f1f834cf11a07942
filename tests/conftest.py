"""Fixtures every test module shares: torch on one thread, and a private REVIVE_HOME with the tiny
model. The GUI's own (offscreen Qt, the real window, a guard against threads left running) are in
tests/gui/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.models import registry as model_registry
from tests.helpers import install_model, torch_threads


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Torch's CPU ops on one thread for each module's tests, then the previous count again. At
    these sizes a second thread is pure overhead: on a busy 2-core machine two threads waiting on
    each other made a 10-step training run take a minute instead of a second."""
    with torch_threads(1):
        yield


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """REVIVE_HOME (``tmp_path / "home"``) with the tiny model installed as user model ``tiny``;
    no shipped models (an empty ``tmp_path / "shipped"``)."""
    home = tmp_path / "home"
    install_model(home, "tiny", render_size=64)
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    monkeypatch.setenv("REVIVE_HOME", str(home))
    monkeypatch.setattr(model_registry, "shipped_models_dir", lambda: shipped)
    return home
