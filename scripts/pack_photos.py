"""Pack a training folder small enough to travel to a lent GPU machine (the device tool carries at
most 64 MiB with the repository, about 21 MiB of which is the repository itself).

    uv run scripts/pack_photos.py ../shared/data/photos .pack/photos [--side 160] [--quality 80]
        [--budget-mib 40]

Each photo becomes the centre square the base trainer would cut from it anyway
(``training.data.photo_folder.square``: ``--side`` 160 is its cache for 128-pixel crops), saved as a
JPEG under the same file name, so the trainer's hold-out split (a hash of the name) and its source
balancing (the name's prefix) are unchanged. Photos are taken in the order of that same name hash
(a fixed, source-blind shuffle) until the next one would not fit the budget, so a smaller budget
keeps a smaller random share of every source. Never writes into the source folder; files already in the pack are kept and
counted (a stopped pack resumes); unreadable photos are skipped with a warning. The pack folder
must be git-ignored (``.pack/`` is): it is data, not project files.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

MIB = 1024 * 1024


def pack(source: Path, target: Path, side: int, quality: int, budget_bytes: int) -> tuple[int, int, int]:
    """Write the pack; returns (photos packed, photos left out for the budget, bytes used)."""
    from engine.atomic_files import ensure_folder, write_bytes_atomically
    from training.data.photo_folder import list_photos, name_digest, square

    source, target = source.resolve(), target.resolve()
    if target == source or source in target.parents:
        raise ValueError(f"the pack {target} must not be inside the photo folder {source}")
    paths = sorted(list_photos(source), key=name_digest)
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise ValueError(f"{source} holds photos with the same file name in different folders; the pack is flat")
    ensure_folder(target)
    used, packed, left_out = 0, 0, 0
    for path in paths:
        destination = target / (path.stem + ".jpg")
        if destination.exists():
            size = destination.stat().st_size
        else:
            pixels = square(path, side)
            if pixels is None:
                continue
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, optimize=True)
            size = buffer.tell()
            if used + size > budget_bytes:  # the pack is the first photos in hash order: stop here
                left_out = len(paths) - packed
                break
            write_bytes_atomically(destination, buffer.getvalue())
        used += size
        packed += 1
    return packed, left_out, used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", type=Path, help="folder of colour photos to train on")
    parser.add_argument("pack", type=Path, help="folder to write the pack to (git-ignored, e.g. .pack/photos)")
    parser.add_argument("--side", type=int, default=160, help="side of the centre squares, pixels (default 160)")
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality (default 80)")
    parser.add_argument("--budget-mib", type=float, default=40.0, help="the pack's size limit in MiB (default 40)")
    args = parser.parse_args(argv)
    from engine.errors import ReviveError

    if not 16 <= args.side <= 1024 or not 1 <= args.quality <= 95 or args.budget_mib <= 0:
        print("pack_photos: --side 16 to 1024, --quality 1 to 95 and a positive --budget-mib", file=sys.stderr)
        return 2
    try:
        packed, left_out, used = pack(args.photos, args.pack, args.side, args.quality, int(args.budget_mib * MIB))
    except (ReviveError, ValueError, OSError) as error:
        print(f"pack_photos: {error}", file=sys.stderr)
        return 2
    note = f"; {left_out} left out to stay under {args.budget_mib:g} MiB" if left_out else ""
    print(
        f"{packed} photos in {args.pack} ({used / MIB:.1f} MiB, {args.side} px squares, quality {args.quality}){note}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
