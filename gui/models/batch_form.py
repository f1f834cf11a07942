"""What the batch panel asks to run: plain data the controller acts on (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gui.models.restoration_choice import RestorationChoice


@dataclass(frozen=True)
class BatchForm:
    input_dir: Path
    output_dir: Path
    recursive: bool
    format: str
    skip_existing: bool
    restoration: RestorationChoice | None = None  # repair each photo before colour (the Restore tab)
