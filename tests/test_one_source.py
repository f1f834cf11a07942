"""One source of truth: the colorize defaults and ranges, the image lister, the guarded reader for
training, the tint rule, the hold-out hash and the out-of-memory translation each live once."""

from __future__ import annotations

import argparse
import inspect
import re
from pathlib import Path

from engine.batch import settings
from engine.batch.settings import DEFAULT_QUALITY, DEFAULT_SATURATION, DEFAULT_TEMPERATURE, BatchOptions

REPO = Path(__file__).resolve().parent.parent


def test_the_default_temperature_is_written_once():
    """No module but engine/batch/settings.py spells the temperature default out (as a value:
    a docstring may still cite the paper's number)."""
    pattern = re.compile(r"[=(,]\s*0\.38(?!\d)")
    copies = []
    for package in ("engine", "training", "gui"):
        for path in (REPO / package).rglob("*.py"):
            if path == REPO / "engine" / "batch" / "settings.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if pattern.search(code) and "BOX_EYES" not in code:  # face-box proportions, not a temperature
                    copies.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not copies, "\n".join(copies)


def test_defaults_everywhere_come_from_the_settings_module():
    from engine.models.architectures.unet_colorizer import UNetColorizer
    from engine.models.card import ModelCard
    from training.decoding_sweep import Decoding

    assert ModelCard("m", "unet_colorizer", {}).temperature == DEFAULT_TEMPERATURE
    assert inspect.signature(UNetColorizer.predict_ab).parameters["temperature"].default == DEFAULT_TEMPERATURE
    assert Decoding().temperature == DEFAULT_TEMPERATURE
    assert settings.ColorizeSettings().saturation == DEFAULT_SATURATION
    assert BatchOptions(Path("out")).quality == DEFAULT_QUALITY


def test_the_command_line_defaults_are_the_settings_defaults():
    from engine.cli import colorize, restore

    parser = argparse.ArgumentParser()
    colorize.add_arguments(parser)
    args = parser.parse_args(["in.jpg", "-o", "out"])
    assert args.saturation == DEFAULT_SATURATION and args.quality == DEFAULT_QUALITY
    low, high = settings.SATURATION_RANGE
    assert f"{low:g}-{high:g}" in parser.format_help()
    parser = argparse.ArgumentParser()
    restore.add_arguments(parser)
    assert parser.parse_args(["in.jpg", "-o", "out"]).quality == DEFAULT_QUALITY


def test_the_tuning_panel_clamps_to_the_settings_range():
    from gui.models.tuning import temperature_for_boldness

    low, high = settings.TEMPERATURE_RANGE
    assert temperature_for_boldness(0, high) == high
    assert temperature_for_boldness(100, low) == low
