"""Checking an architecture's keyword arguments before anything is built.

Arguments come from model cards, i.e. from files: a 12 KB file whose card asked for huge layer
widths once made Revive try to allocate 38 GB. Each architecture declares the type and range of
every argument; ``check_arguments`` refuses anything else, and ``parameter_count`` builds the
module on PyTorch's ``meta`` device (shapes only, no memory) to hold it to a parameter budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

Rule = Callable[[Any], str | None]  # a value -> what is wrong with it, or None

MAX_PARAMETERS = 150_000_000  # 600 MB in fp32: far above any colorizer a desktop should load


def whole(low: int, high: int) -> Rule:
    def rule(value: Any) -> str | None:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}, got {value!r}"
        return None

    return rule


def flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


def one_of(*choices: str) -> Rule:
    def rule(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}, got {str(value)[:40]!r}"

    return rule


def whole_list(length: int, low: int, high: int) -> Rule:
    item = whole(low, high)

    def rule(value: Any) -> str | None:
        if not isinstance(value, (list, tuple)) or len(value) != length:
            return f"must be a list of {length} whole numbers, got {str(value)[:60]}"
        for entry in value:
            problem = item(entry)
            if problem:
                return problem
        return None

    return rule


def check_arguments(name: str, rules: dict[str, Rule], kwargs: Any) -> None:
    """ValueError naming the argument when ``kwargs`` does not follow ``rules``."""
    if not isinstance(kwargs, dict):
        raise ValueError(f"arguments of {name!r} must be an object")
    unknown = sorted(set(kwargs) - set(rules))
    if unknown:
        raise ValueError(f"unknown argument {str(unknown[0])[:40]!r} for architecture {name!r}")
    for key, value in kwargs.items():
        problem = rules[key](value)
        if problem:
            raise ValueError(f"argument {key} of {name!r} {problem}")


def parameter_count(factory: Callable[..., nn.Module], kwargs: dict[str, Any]) -> int:
    """Parameters of ``factory(**kwargs)``, counted on the meta device (no memory allocated)."""
    from engine.models.ab_bins import ab_bin_centers

    ab_bin_centers()  # computed (and cached) on the CPU first: it is real data, not a shape
    with torch.device("meta"):
        module = factory(**kwargs)
    return sum(p.numel() for p in module.parameters())
