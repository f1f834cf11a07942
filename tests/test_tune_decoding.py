"""benchmarks/tune_decoding.py --split: the photos of a training folder train-base trains on, or its held-out share."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.helpers import colour_shapes, tune_decoding_setup
from training.data.photo_folder import is_holdout


def _training_folder(folder, trained: int, held_out: int) -> None:
    """Photos named so that ``held_out`` of them fall in train-base's held-out share."""
    counts = {True: held_out, False: trained}
    i = 0
    while any(counts.values()):
        path = folder / f"shot_{i}.png"
        if counts[is_holdout(path)]:
            counts[is_holdout(path)] -= 1
            Image.fromarray(colour_shapes(48, 32, seed=i)).save(path)
        i += 1


@pytest.mark.parametrize(("split", "count"), [("all", 3 + 5 + 2), ("trained", 3 + 5), ("held-out", 2)])
def test_split_scores_only_that_share_of_the_folder(tmp_path, home, capsys, split, count):
    tune, photos, args = tune_decoding_setup(tmp_path, home)  # its three photos are not held out
    assert not any(is_holdout(p) for p in photos.iterdir())
    _training_folder(photos, trained=5, held_out=2)
    assert tune.main([str(photos), *args, "--split", split]) == 0
    assert f"{count} photos from {photos}" in capsys.readouterr().err


def test_split_does_not_go_with_write(tmp_path, home, capsys):
    tune, photos, args = tune_decoding_setup(tmp_path, home)
    with pytest.raises(SystemExit) as stopped:
        tune.main([str(photos), *args, "--split", "trained", "--write", str(tmp_path / "out.safetensors")])
    assert stopped.value.code == 2
    assert "photos never trained on" in capsys.readouterr().err
    assert not (tmp_path / "out.safetensors").exists()
