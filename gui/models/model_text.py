"""What the app says about a model, in words for people (no Qt, no torch).

A model card's description may speak in colour-science terms ("a*b* classes from L*"); the app
shows people what the model is and what it learned from, and keeps the card's own words for the
tooltip.
"""

from __future__ import annotations

import re

_JARGON = ("a*b*", "L*", "Zhang", "logit", "classes")
_COUNT = re.compile(r"(\d[\d,]*)\s+(?:colour |color |old |gray |grey )?photos")


def photo_count(trained_on: str) -> int | None:
    """The number of photos a card's ``trained_on`` names ('7824 colour photos from …' -> 7824)."""
    match = _COUNT.search(trained_on or "")
    return int(match.group(1).replace(",", "")) if match else None


def people_description(name: str, description: str, trained_on: str = "") -> str:
    """'Revive's own colorizer: it predicts … Trained on 7,824 photos.'"""
    text = (description or "").strip()
    if not text or any(term in text for term in _JARGON):
        text = "Revive's own colorizer." if name.startswith("revive") else "A colorization model."
    if not text.endswith("."):
        text += "."
    count = photo_count(trained_on)
    if count:
        text += f" Trained on {count:,} photos."
    return text
