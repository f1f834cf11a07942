"""The ``models`` command: list installed models (shipped and the user's)."""

from __future__ import annotations

import argparse
import json

from engine.model_registry import list_models
from engine.paths import shipped_models_dir, user_models_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _size(num_bytes: int) -> str:
    return f"{num_bytes / 1e6:.1f} MB"


def run(args: argparse.Namespace) -> int:
    models = list_models()
    if args.json:
        print(json.dumps([
            {
                "name": m.name, "source": m.source, "path": str(m.path), "size_bytes": m.size_bytes,
                "architecture": m.card.architecture if m.card else None,
                "trained_on": m.card.trained_on if m.card else None,
                "problem": m.problem,
            }
            for m in models
        ], indent=2))
        return 0
    if not models:
        print("No models installed.")
    for m in models:
        if m.card is None:
            print(f"{m.name}  [{m.source}, damaged: {m.problem}]\n    {m.path}")
            continue
        arch = m.card.architecture + (f" {m.card.arguments}" if m.card.arguments else "")
        print(f"{m.name}  [{m.source}]  {arch}, {_size(m.size_bytes)}, render size {m.card.render_size}")
        if m.card.trained_on:
            print(f"    trained on: {m.card.trained_on}")
        if m.card.base_model:
            print(f"    fine-tuned from: {m.card.base_model}")
        print(f"    {m.path}")
    print(f"\nShipped models: {shipped_models_dir()}\nYour models:    {user_models_dir()} (set REVIVE_HOME to move it)")
    return 0
