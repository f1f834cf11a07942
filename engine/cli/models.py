"""The ``models`` command: list installed models (shipped, the user's, external), each checked;
add an external model (``--add``), remove one (``--remove``).

A Revive model is called healthy only when it passes every check loading makes
(``engine.models.files.check_model_file``: the card, the architecture and its arguments, the
header's tensor names, shapes and dtypes against the architecture, every weight finite), so what
is listed healthy is what ``colorize --model`` runs; an external one when its file is still the one
Revive examined (size and SHA-256). A damaged one is listed with its problem. Listing imports torch
only to build each Revive model's architecture on the meta device (shapes only, no memory) and
reads no weights into torch; ``--add`` imports spandrel to identify the file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.cli.runtime import printable, say
from engine.errors import ModelFileError, ReviveError
from engine.external import store
from engine.models.registry import InstalledModel, is_shipped_name, list_models
from engine.paths import shipped_models_dir, user_models_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument(
        "--add",
        type=Path,
        metavar="PATH",
        help="add a model file from another project (.pth, .pt, .ckpt, .safetensors: DDColor, "
        "GFPGAN, CodeFormer, LaMa, Real-ESRGAN and other upscalers)",
    )
    parser.add_argument("--name", metavar="NAME", help="with --add: the name to give it (default: the file's name)")
    parser.add_argument(
        "--source",
        default="",
        metavar="TEXT",
        help="with --add: where it came from (project, page, licence), kept on its card",
    )
    parser.add_argument("--remove", metavar="NAME", help="remove a model that was added with --add")


def _size(num_bytes: int) -> str:
    return f"{num_bytes / 1e6:.1f} MB"


def _problem(model: InstalledModel) -> str | None:
    if model.card is None:
        return model.problem
    from engine.models.files import check_model_file  # torch: only when there is a model to check

    try:
        check_model_file(model.path)
    except ModelFileError as error:
        return str(error)
    return None


def _external_problem(model: store.ExternalModel) -> str | None:
    try:
        store.check_stored_file(model)
    except ModelFileError as error:
        return str(error)
    return None


def _add(args: argparse.Namespace) -> int:
    from engine.external.adding import add_model  # torch and spandrel: only when adding

    try:
        added = add_model(args.add, args.name, args.source)
    except (ReviveError, ValueError) as error:
        say(f"revive: {error}")
        return 2
    card = added.card
    assert card is not None
    print(printable(f"Added {card.name}: {_external_summary(card)}, {_size(card.size_bytes)}"))
    print(printable(f"    {added.path}"))
    return 0


def _remove(name: str) -> int:
    try:
        removed = store.remove(name)
    except ReviveError as error:
        say(f"revive: {_not_removable(name) or error}")
        return 2
    print(printable(f"Removed {removed.name} ({removed.path})"))
    return 0


def _not_removable(name: str) -> str | None:
    """Why ``--remove`` does not remove the Revive model ``name`` (shipped or trained by the user),
    and what to do instead; None when no Revive model has that name."""
    user = [m for m in list_models() if m.name == name and m.source == "user"]
    shipped = is_shipped_name(name)
    if user:
        after = "; the shipped model of that name is used again then" if shipped else ""
        return (
            f"{name!r} is one of your own Revive models, not an added one; "
            f"delete its file {user[0].path} to remove it{after}"
        )
    if shipped:
        return f"{name!r} ships with Revive and cannot be removed (only models added with --add can)"
    return None


def _external_summary(card) -> str:
    scale = f" x{card.scale}" if card.scale != 1 else ""
    return f"{card.architecture}, {card.task}{scale}"


def _external_json(m: store.ExternalModel, problem: str | None) -> dict:
    card = m.card
    return {
        "name": m.name,
        "source": "external",
        "path": str(m.path),
        "size_bytes": m.size_bytes,
        "architecture": card.architecture if card else None,
        "task": card.task if card else None,
        "scale": card.scale if card else None,
        "input_channels": card.input_channels if card else None,
        "size_requirements": card.size_requirements if card else None,
        "origin": card.source if card else None,
        "original_name": card.original_name if card else None,
        "sha256": card.sha256 if card else None,
        "takes_hints": False if card else None,
        "healthy": problem is None,
        "problem": problem,
    }


def _print_external(models: list[tuple[store.ExternalModel, str | None]]) -> None:
    for m, problem in models:
        if problem is not None:
            print(printable(f"{m.name}  [external, damaged: {problem}]"))
            print(printable(f"    {m.card_path}"))
            continue
        card = m.card
        assert card is not None
        print(printable(f"{m.name}  [external]  {_external_summary(card)}, {_size(m.size_bytes)}"))
        origin = f"{card.source} " if card.source else ""
        print(printable(f"    from: {origin}(file {card.original_name}, sha256 {card.sha256[:16]}...)"))
        print(printable(f"    {m.path}"))


def run(args: argparse.Namespace) -> int:
    if args.add is not None and args.remove is not None:
        say("revive: use --add or --remove, not both")
        return 2
    if args.add is None and (args.name is not None or args.source):
        say("revive: --name and --source go with --add PATH")
        return 2
    if args.add is not None:
        return _add(args)
    if args.remove is not None:
        return _remove(args.remove)
    models = [(m, _problem(m)) for m in list_models()]
    external = [(m, _external_problem(m)) for m in store.list_external()]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": m.name,
                        "source": m.source,
                        "path": str(m.path),
                        "size_bytes": m.size_bytes,
                        "architecture": m.card.architecture if m.card else None,
                        "task": "colorization",
                        "trained_on": m.card.trained_on if m.card else None,
                        "takes_hints": m.card.takes_hints if m.card else None,
                        "healthy": problem is None,
                        "problem": problem,
                    }
                    for m, problem in models
                ]
                + [_external_json(m, problem) for m, problem in external],
                indent=2,
            )
        )
        return 0
    if not models and not external:
        print("No models installed.")
    for m, problem in models:
        if problem is not None:
            print(printable(f"{m.name}  [{m.source}, damaged: {problem}]"))
            print(printable(f"    {m.path}"))
            continue
        assert m.card is not None
        arch = m.card.architecture + (f" {m.card.arguments}" if m.card.arguments else "")
        hints = ", takes colour hints" if m.card.takes_hints else ""
        print(
            printable(f"{m.name}  [{m.source}]  {arch}, {_size(m.size_bytes)}, render size {m.card.render_size}{hints}")
        )
        if m.card.description:
            print(printable(f"    {m.card.description}"))
        if m.card.trained_on:
            print(printable(f"    trained on: {m.card.trained_on}"))
        if m.card.base_model:
            print(printable(f"    fine-tuned from: {m.card.base_model}"))
        print(printable(f"    {m.path}"))
    _print_external(external)
    print(f"\nShipped models: {shipped_models_dir()}\nYour models:    {user_models_dir()} (set REVIVE_HOME to move it)")
    if external:
        print(f"Added models:   {store.external_models_dir()}")
    return 0
