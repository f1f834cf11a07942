"""The ``models`` command: list installed models (shipped and the user's), each checked.

A model is called healthy only when its header matches the file's size and every weight is a
finite number (``engine.model_card.verify_weights``); a damaged one is listed with its problem.
Torch is never imported.
"""

from __future__ import annotations

import argparse
import json

from engine.cli_runtime import printable
from engine.errors import ModelFileError
from engine.model_card import verify_weights
from engine.model_registry import InstalledModel, list_models
from engine.paths import shipped_models_dir, user_models_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _size(num_bytes: int) -> str:
    return f"{num_bytes / 1e6:.1f} MB"


def _problem(model: InstalledModel) -> str | None:
    if model.card is None:
        return model.problem
    try:
        verify_weights(model.path)
    except ModelFileError as error:
        return str(error)
    return None


def run(args: argparse.Namespace) -> int:
    models = [(m, _problem(m)) for m in list_models()]
    if args.json:
        print(json.dumps([
            {
                "name": m.name, "source": m.source, "path": str(m.path), "size_bytes": m.size_bytes,
                "architecture": m.card.architecture if m.card else None,
                "trained_on": m.card.trained_on if m.card else None,
                "takes_hints": m.card.takes_hints if m.card else None,
                "healthy": problem is None,
                "problem": problem,
            }
            for m, problem in models
        ], indent=2))
        return 0
    if not models:
        print("No models installed.")
    for m, problem in models:
        if problem is not None:
            print(printable(f"{m.name}  [{m.source}, damaged: {problem}]"))
            print(printable(f"    {m.path}"))
            continue
        assert m.card is not None
        arch = m.card.architecture + (f" {m.card.arguments}" if m.card.arguments else "")
        hints = ", takes colour hints" if m.card.takes_hints else ""
        print(printable(f"{m.name}  [{m.source}]  {arch}, {_size(m.size_bytes)}, render size {m.card.render_size}{hints}"))
        if m.card.description:
            print(printable(f"    {m.card.description}"))
        if m.card.trained_on:
            print(printable(f"    trained on: {m.card.trained_on}"))
        if m.card.base_model:
            print(printable(f"    fine-tuned from: {m.card.base_model}"))
        print(printable(f"    {m.path}"))
    print(f"\nShipped models: {shipped_models_dir()}\nYour models:    {user_models_dir()} (set REVIVE_HOME to move it)")
    return 0
