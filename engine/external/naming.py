"""The name an external model gets, and why a name cannot be used: torch-free.

``adding`` (torch and spandrel) checks names with these before it reads a file; the app checks the
name as the user types it, on the GUI thread, without importing torch.
"""

from __future__ import annotations

from pathlib import Path

from engine.external import store
from engine.models.registry import list_models, model_name_problem

MAX_SOURCE_LENGTH = 1000  # characters of where a model came from that its card keeps


def default_name(path: Path) -> str:
    """The name a file gets without ``--name``: its stem (``RealESRGAN_x4plus.pth`` -> ``RealESRGAN_x4plus``)."""
    return Path(path).stem


def name_problem(name: str, advice: bool = True) -> str | None:
    """Why ``name`` cannot be a new external model's name (None when it can). ``advice`` adds what
    to do on the command line (``--name``, ``models --remove``); the app gives its own."""
    problem = model_name_problem(name)
    if problem:
        return problem
    if any(m.name == name for m in list_models()):
        return f"a Revive model called {name!r} is installed" + ("; choose another --name" if advice else "")
    if store.find_external(name) is not None:
        then = f" (main.py models --remove {name} first)" if advice else ""
        return f"an external model called {name!r} was already added{then}"
    return None
