"""scripts/pack_photos.py: the trainer's own centre squares as JPEGs under the same names, the first
photos in name-hash order up to the budget, the source folder untouched, a second run keeping what
is there, a damaged photo skipped, and a pack inside the photo folder refused in one line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers import colour_shapes, load_script
from training.data.photo_folder import name_digest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "pack_photos.py"


def _script():
    return load_script(SCRIPT)


def _photos(folder: Path, count: int) -> dict[str, str]:
    folder.mkdir()
    for i in range(count):
        Image.fromarray(colour_shapes(120 + 8 * i, 90, seed=i)).save(folder / f"src{i % 2}_{i:03d}.png")
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_the_pack_holds_the_trainers_squares_under_the_same_names(tmp_path, capsys):
    photos, pack = tmp_path / "photos", tmp_path / "pack"
    before = _photos(photos, 6)
    (photos / "src0_999.png").write_bytes(b"\x89PNG\r\n\x1a\n damaged")

    assert _script().main([str(photos), str(pack), "--side", "48", "--quality", "90"]) == 0

    assert "6 photos" in capsys.readouterr().out
    assert sorted(p.name for p in pack.iterdir()) == sorted(Path(n).stem + ".jpg" for n in before)
    with Image.open(pack / "src1_003.jpg") as image:
        assert image.size == (48, 48) and image.format == "JPEG"
        packed = np.asarray(image.convert("RGB"), dtype=float)
    from training.data.photo_folder import square

    assert np.abs(packed - square(photos / "src1_003.png", 48)).mean() < 4  # the same square, JPEG aside
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos.iterdir() if p.stat().st_size > 40} == (
        before
    )


def test_a_budget_keeps_the_first_photos_in_hash_order_and_a_rerun_keeps_them(tmp_path, capsys):
    photos, pack = tmp_path / "photos", tmp_path / "pack"
    names = sorted(_photos(photos, 8), key=lambda n: name_digest(Path(n)))
    script = _script()
    assert script.main([str(photos), str(tmp_path / "full"), "--side", "64"]) == 0
    sizes = [(tmp_path / "full" / (Path(n).stem + ".jpg")).stat().st_size for n in names]
    budget = (sum(sizes[:3]) + 0.5) / (1 << 20)  # room for exactly the first three
    capsys.readouterr()

    assert script.main([str(photos), str(pack), "--side", "64", "--budget-mib", repr(budget)]) == 0
    assert sorted(p.name for p in pack.iterdir()) == sorted(Path(n).stem + ".jpg" for n in names[:3])
    assert "5 left out" in capsys.readouterr().out

    stamp = {p.name: p.stat().st_mtime_ns for p in pack.iterdir()}
    assert script.main([str(photos), str(pack), "--side", "64"]) == 0
    assert len(list(pack.iterdir())) == 8
    assert all((pack / name).stat().st_mtime_ns == mtime for name, mtime in stamp.items())  # not rewritten


def test_a_pack_inside_the_photo_folder_is_refused_in_one_line(tmp_path, capsys):
    photos = tmp_path / "photos"
    _photos(photos, 2)
    assert _script().main([str(photos), str(photos / "pack")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "must not be inside the photo folder" in err[0]
    assert not (photos / "pack").exists()
