"""What the batch panel asks to run: plain data the controller acts on (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BatchForm:
    input_dir: Path
    output_dir: Path
    recursive: bool
    format: str
    skip_existing: bool
