"""The ``restore`` command and the restore batch: outputs written, originals never overwritten.

``main.py`` does not register the command yet, so the tests build its parser themselves.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.batch.ledger import OutputLedger
from engine.batch.plan import plan_batch
from engine.batch.settings import BatchOptions
from engine.cancel import CancelToken
from engine.cli import restore as restore_command
from engine.imaging import read_photo, write_photo
from engine.restoration.batch import PhotoRestored, RestoreFinished, restore_batch
from engine.restoration.damage import fade_print
from engine.restoration.pipeline import Restorer
from engine.restoration.stages import RestorationOptions
from tests.restoration_images import photo_like


def restore(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="restore")
    restore_command.add_arguments(parser)
    return restore_command.run(parser.parse_args([str(a) for a in argv]))


def faded(seed: int = 0) -> np.ndarray:
    return np.round(fade_print(photo_like(seed=seed).astype(np.float32) / 255, 0.3, 0.7) * 255).astype(np.uint8)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(faded(0)).save(folder / "a.png")
    Image.fromarray(np.stack([faded(1)] * 3, axis=2)).save(folder / "b.jpg", quality=95)
    return folder


def test_restore_writes_gray_restored_photos(photos: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert restore([photos, "-o", out, "--stages", "fading,grain"]) == 0
    a = read_photo(out / "a.png")
    assert a.luma.shape == (192, 256) and not a.tinted
    original = read_photo(photos / "a.png").luma
    assert np.percentile(a.luma, 1) < np.percentile(original, 1) - 20  # its blacks are back
    assert (out / "b.jpg").is_file()


def test_restore_never_overwrites_a_file_it_did_not_write_nor_its_inputs(photos: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    stranger = out / "a.png"
    stranger.write_bytes(b"the user's own file")
    inputs = {p.name: p.read_bytes() for p in photos.iterdir()}
    assert restore([photos, "-o", out, "--stages", "fading"]) == 0
    assert stranger.read_bytes() == b"the user's own file"
    assert (out / "a-2.png").is_file()
    assert {p.name: p.read_bytes() for p in photos.iterdir()} == inputs
    assert restore([photos, "-o", photos, "--stages", "fading"]) == 2  # the output folder is an input


def test_restore_replaces_only_its_own_results_and_resumes(photos: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    assert restore([photos, "-o", out, "--stages", "fading"]) == 0
    assert restore([photos, "-o", out, "--stages", "fading", "--strength", "1"]) == 0
    photos_written = sorted(p.name for p in out.glob("*.*") if p.suffix in (".png", ".jpg"))
    assert photos_written == ["a.png", "b.jpg"]
    assert restore([photos, "-o", out, "--stages", "fading", "--skip-existing"]) == 0
    assert "skipped 2" in capsys.readouterr().err


def test_restore_never_takes_a_colorized_result_of_the_same_photo_for_its_own(photos: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    colour = np.zeros((192, 256, 3), np.uint8)
    colour[..., 0] = 200
    read = read_photo(photos / "a.png")
    write_photo(out / "a.png", colour, read.metadata)
    OutputLedger.load(out).record(out / "a.png", photos / "a.png")  # as the colorize batch does
    before = (out / "a.png").read_bytes()
    assert restore([photos, "-o", out, "--stages", "fading", "--skip-existing"]) == 0
    assert "another kind of result" in capsys.readouterr().err
    assert (out / "a.png").read_bytes() == before
    assert (out / "a-2.png").exists()
    # and colorize does not take the restored photo for a finished colorized one either
    ledger = OutputLedger.load(out)
    assert ledger.owns(out / "a-2.png", photos / "a.png", "restored")
    assert not ledger.owns(out / "a-2.png", photos / "a.png", "colorized")


def test_restore_usage_errors_are_one_line_with_status_2(photos: Path, tmp_path: Path, capsys):
    assert restore([photos, "-o", tmp_path / "out", "--stages", "scratches,sharpen"]) == 2
    err = capsys.readouterr().err
    assert "unknown restoration stage 'sharpen'" in err and err.count("\n") == 1
    assert restore([photos, "-o", tmp_path / "out", "--strength", "grain=3"]) == 2
    assert not (tmp_path / "out").exists()


def test_restore_keeps_16_bits(tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(faded(2).astype(np.uint16) * 257).save(folder / "deep.png")
    assert read_photo(folder / "deep.png").bit_depth == 16
    assert restore([folder, "-o", tmp_path / "out", "--stages", "fading"]) == 0
    written = (tmp_path / "out" / "deep.png").read_bytes()
    assert written[24] == 16  # the PNG header's bit depth: 16 bits per channel, as the source


def test_a_cancelled_restore_writes_nothing_for_the_photo_in_progress(photos: Path, tmp_path: Path):
    out = tmp_path / "out"
    plan = plan_batch([photos], BatchOptions(output_dir=out))
    cancel = CancelToken()
    events = list(
        restore_batch(
            plan,
            ("grain", "fading"),
            RestorationOptions(tile_size=64),
            Restorer(),
            cancel=cancel,
            progress=lambda job, step: cancel.cancel(),
        )
    )
    assert isinstance(events[-1], RestoreFinished) and events[-1].cancelled
    assert not any(isinstance(e, PhotoRestored) for e in events)
    assert not any(p.suffix in (".png", ".jpg") for p in out.glob("*")) if out.exists() else True


def test_colorize_restore_option_gives_stages_and_options_or_none():
    parser = argparse.ArgumentParser()
    restore_command.add_restore_option(parser)
    assert restore_command.restore_request(parser.parse_args([])) is None
    stages, options = restore_command.restore_request(
        parser.parse_args(["--restore", "fading,scratches", "--restore-strength", "fading=0.9"])
    )
    assert stages == ("scratches", "fading") and options.fading.strength == 0.9
    with pytest.raises(ValueError, match="unknown restoration stage 'colour'"):
        restore_command.restore_request(parser.parse_args(["--restore", "colour"]))
    with pytest.raises(ValueError, match="needs --restore"):
        restore_command.restore_request(parser.parse_args(["--restore-strength", "0.5"]))


def test_restore_photo_keeps_what_the_colorizer_needs(photos: Path):
    from engine.restoration.batch import restore_photo

    photo = read_photo(photos / "a.png")
    restored, mask = restore_photo(photo, ("fading",), RestorationOptions(), Restorer())
    assert mask is None and restored.metadata == photo.metadata and restored.bit_depth == photo.bit_depth
    assert restored.luma.shape == photo.luma.shape and not np.array_equal(restored.luma, photo.luma)


def test_colorize_restore_repairs_before_colour_and_says_so_in_the_report(home: Path, tmp_path: Path, capsys):
    import json

    import main

    ramp = np.tile(np.linspace(0, 255, 96), (64, 1))
    faded = (70 + ramp * (180 - 70) / 255).round().astype(np.uint8)  # a print gone gray: 70..180
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(faded).save(folder / "faded.png")
    out = tmp_path / "out"
    code = main.main(["colorize", str(folder), "-o", str(out), "--model", "tiny", "--restore", "fading"])
    assert code == 0, capsys.readouterr().err
    luma = np.asarray(Image.open(out / "faded.png").convert("L"), dtype=np.float64)
    assert np.percentile(luma, 1) < 40 and np.percentile(luma, 99) > 215  # its blacks and whites back
    report = json.loads((out / "revive-report.json").read_text())
    assert report["restore"] == {"stages": ["fading"]}
    assert (
        main.main(["colorize", str(folder), "-o", str(tmp_path / "o2"), "--model", "tiny", "--restore", "polish"]) == 2
    )
    assert "unknown restoration stage 'polish'" in capsys.readouterr().err


def test_restore_reports_every_file_as_colorize_does(photos: Path, tmp_path: Path, capsys):
    (photos / "broken.jpg").write_bytes(b"not a photo")  # fails when read
    (photos / "notes.txt").write_text("a file of another type")
    (photos / "loop.png").symlink_to(photos / "loop.png")  # unusable before anything is read
    out = tmp_path / "out"
    assert restore([photos, "-o", out, "--stages", "fading"]) == 1
    err = capsys.readouterr().err
    assert "cannot use: " in err and "failed 2" in err and "Skipped 1 file of other types (.txt 1)" in err
    assert f"Report: {out / 'revive-report.json'}" in err
    report = json.loads((out / "revive-report.json").read_text())
    assert report["command"] == "restore" and report["stages"] == ["fading"]
    assert report["counts"] == {"done": 2, "skipped": 0, "failed": 2}
    assert {Path(e["source"]).name for e in report["files"] if e["status"] == "failed"} == {"broken.jpg", "loop.png"}
    assert OutputLedger.load(out).owns(out / "revive-report.json")
    assert restore([photos, "-o", out, "--stages", "fading", "--skip-existing"]) == 1  # the report is replaced
    assert json.loads((out / "revive-report.json").read_text())["counts"]["skipped"] == 2
