"""train-detector never destroys a file it did not write, and its options stay inside the data folder.

Tiny runs: 2 steps on 32 px crops of a few generated photos (seconds on a CPU).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import main
from engine.errors import ReviveError
from engine.paths import runs_dir
from tests.test_cyclegan import write_photos
from training.events import TrainingStarted
from training.restoration.detector_config import DetectorTrainingConfig
from training.restoration.detector_trainer import train_detector

USER_BYTES = b"a user's own model, not a detector"
USER_CARD = b'{"mine": true}\n'


@pytest.fixture
def photos(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("REVIVE_HOME", str(tmp_path / "home"))
    folder = tmp_path / "photos"
    write_photos(folder, 16, "colour", seed=5, size=(96, 112))
    return folder


def tiny(photos: Path, out: Path, **changes) -> DetectorTrainingConfig:
    values = {
        "steps": 2,
        "batch_size": 2,
        "size": 32,
        "cache_size": 64,
        "max_photos": 8,
        "validation_images": 4,
        "validation_size": 64,
        "run_dir": out.parent / "run",
        **changes,
    }
    return DetectorTrainingConfig(photos=photos, out=out, **values)


def run_to_end(config: DetectorTrainingConfig) -> list[object]:
    return list(train_detector(config))


def users_files(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "album.safetensors").write_bytes(USER_BYTES)
    (folder / "album.json").write_bytes(USER_CARD)
    return folder / "album.safetensors"


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("revive: "), captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def command(photos: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train-detector",
        "--photos",
        str(photos),
        "--steps",
        "2",
        "--size",
        "32",
        "--batch-size",
        "2",
        "--max-photos",
        "8",
        "--out",
        str(out),
        *extra,
    ]


def test_a_users_file_at_out_is_refused_before_training_and_stays_byte_identical(photos, tmp_path, capsys):
    out = users_files(tmp_path / "models")
    assert main.main(command(photos, out, "--run-dir", str(tmp_path / "run"))) == 2
    line = one_error_line(capsys)
    assert "album.safetensors and" in line and "album.json already exist" in line
    assert "this run did not write them" in line and "--force" in line
    assert out.read_bytes() == USER_BYTES and out.with_suffix(".json").read_bytes() == USER_CARD
    assert not (tmp_path / "run" / "state.pt").exists()  # nothing was trained


def test_a_card_alone_at_out_is_protected_too(photos, tmp_path):
    out = tmp_path / "models" / "album.safetensors"
    out.parent.mkdir()
    out.with_suffix(".json").write_bytes(USER_CARD)
    with pytest.raises(ReviveError, match=r"album\.json already exists and this run did not write it"):
        run_to_end(tiny(photos, out))
    assert out.with_suffix(".json").read_bytes() == USER_CARD and not out.exists()


def test_a_file_that_appears_during_the_run_is_left_untouched(photos, tmp_path):
    out = tmp_path / "models" / "album.safetensors"
    events = train_detector(tiny(photos, out))
    for event in events:
        if isinstance(event, TrainingStarted):
            users_files(out.parent)  # the user saves something there while the run trains
            break
    with pytest.raises(ReviveError, match="this run did not write them.*add --resume to install it"):
        list(events)
    assert out.read_bytes() == USER_BYTES and out.with_suffix(".json").read_bytes() == USER_CARD
    assert (tmp_path / "models" / "run" / "state.pt").is_file()  # the trained run is kept


def test_a_rerun_replaces_its_own_detector_but_not_an_edited_one(photos, tmp_path):
    out = tmp_path / "models" / "album.safetensors"
    config = tiny(photos, out)
    run_to_end(config)
    first = out.read_bytes()
    resumed = dataclasses.replace(config, resume=True)
    run_to_end(resumed)  # the same run installs again over its own file
    assert out.is_file() and out.read_bytes()[:8] == first[:8]
    out.write_bytes(USER_BYTES)  # the file is no longer the one the run wrote
    with pytest.raises(ReviveError, match="album.safetensors already exists and this run did not write it"):
        run_to_end(resumed)
    assert out.read_bytes() == USER_BYTES
    run_to_end(dataclasses.replace(resumed, force=True))  # --force: the user asked to replace it
    assert out.read_bytes() != USER_BYTES


def test_force_replaces_through_the_command(photos, tmp_path):
    out = users_files(tmp_path / "models")
    assert main.main(command(photos, out, "--run-dir", str(tmp_path / "run"), "--force")) == 0
    assert out.read_bytes() != USER_BYTES and b"revive-detector/1" in out.read_bytes()[:4096]


def test_help_documents_force(capsys):
    with pytest.raises(SystemExit):
        main.main(["train-detector", "--help"])
    assert "--force" in capsys.readouterr().out


def test_a_name_with_a_path_in_it_is_refused(photos, tmp_path, capsys):
    escaped = tmp_path.parent / "escaped"  # where runs/detector-x/../../../../escaped would have led
    out = tmp_path / "models" / "d.safetensors"
    assert main.main(command(photos, out, "--name", "x/../../../../escaped")) == 2
    assert "must be a plain name" in one_error_line(capsys)
    assert not escaped.exists() and not runs_dir().exists()
    with pytest.raises(ValueError, match="plain name"):
        tiny(photos, out, name="a/b", run_dir=None)


def test_a_crop_larger_than_the_cache_names_the_real_bounds(photos, tmp_path, capsys):
    assert main.main(command(photos, tmp_path / "d.safetensors", "--size", "256")) == 2  # the last --size counts
    assert one_error_line(capsys) == "revive: --size must be from 32 to 144 (a multiple of 4), got 256"


def test_an_earlier_run_in_the_default_folder_names_the_way_out(photos, tmp_path, capsys):
    folder = runs_dir() / "detector-revive-damage-detector"
    folder.mkdir(parents=True)
    (folder / "state.pt").write_bytes(b"an earlier run")
    assert main.main(command(photos, tmp_path / "new.safetensors")) == 2
    line = one_error_line(capsys)
    assert "--resume" in line and "--run-dir" in line
