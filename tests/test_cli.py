"""The command line (main.py): exit codes, one-line errors, summaries. In-process, plus one real run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import main
from engine import device as device_module
from engine.models import registry as model_registry
from tests.helpers import install_model, write_gray_photo

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    write_gray_photo(folder / "a.jpg", 40, 30)
    write_gray_photo(folder / "sub" / "b.png", 24, 32)
    return folder


def _one_line_error(stderr: str) -> str:
    """The one error line (informational lines such as the plan may come before it)."""
    lines = [line for line in stderr.splitlines() if line.startswith("revive:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_colorize_a_folder_exits_0_and_prints_a_summary(home, photos, tmp_path, capsys):
    out = tmp_path / "out"
    code = main.main(["colorize", str(photos), "-o", str(out), "--model", "tiny", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Done 2, skipped 0, failed 0" in err
    assert "Traceback" not in err
    with Image.open(out / "a.jpg") as a, Image.open(out / "sub" / "b.png") as b:
        assert a.size == (40, 30) and b.size == (24, 32)


def test_the_default_model_is_used_when_none_is_named(home, photos, tmp_path, capsys):
    code = main.main(["colorize", str(photos), "-o", str(tmp_path / "out"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Model tiny" in err


def test_a_failed_file_exits_1_and_the_others_are_written(home, photos, tmp_path, capsys):
    (photos / "letter.jpg").write_text("not a photo")
    out = tmp_path / "out"
    code = main.main(["colorize", str(photos), "-o", str(out), "--model", "tiny", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Done 2, skipped 0, failed 1" in err
    assert "letter.jpg" in err and "Traceback" not in err
    assert (out / "a.jpg").exists() and (out / "sub" / "b.png").exists()
    assert not (out / "letter.jpg").exists()


def test_skip_existing_reports_the_skipped_photos(home, photos, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["colorize", str(photos), "-o", str(out), "--model", "tiny", "--device", "cpu"]
    assert main.main(args) == 0
    capsys.readouterr()
    assert main.main(args + ["--skip-existing", "--format", "png"]) == 0
    err = capsys.readouterr().err
    assert "Done 1, skipped 1, failed 0" in err  # a.jpg -> a.png is new, sub/b.png exists


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--render-size", "10"], "render size must be between 64 and 2048, got 10"),
        (["--model", "nonesuch"], "no model called 'nonesuch' is installed (installed: tiny)"),
        (["--saturation", "9"], "saturation must be between 0 and 3"),
        (["--model", "/no/such/model.safetensors"], "does not exist"),
    ],
)
def test_usage_errors_exit_2_with_one_line(home, photos, tmp_path, capsys, extra, expected):
    code = main.main(["colorize", str(photos), "-o", str(tmp_path / "out"), "--device", "cpu", *extra])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2
    assert line.startswith("revive: ") and expected in line
    assert not (tmp_path / "out").exists()


def test_a_missing_input_folder_exits_2_with_one_line(home, tmp_path, capsys):
    code = main.main(["colorize", str(tmp_path / "absent"), "-o", str(tmp_path / "out")])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "absent" in line and "no such file or folder" in line


def test_a_folder_without_photos_exits_2(home, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main.main(["colorize", str(tmp_path / "empty"), "-o", str(tmp_path / "out")])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "no photos" in line


def test_a_damaged_model_file_exits_2_with_one_line(home, photos, tmp_path, capsys):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x80\x04 a pickle, not a model")
    code = main.main(["colorize", str(photos), "-o", str(tmp_path / "out"), "--model", str(broken)])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "safetensors" in line


def test_colorize_with_no_model_installed_says_so(tmp_path, monkeypatch, photos, capsys):
    empty = tmp_path / "nothing"
    empty.mkdir()
    monkeypatch.setenv("REVIVE_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setattr(model_registry, "shipped_models_dir", lambda: empty)
    code = main.main(["colorize", str(photos), "-o", str(tmp_path / "out")])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2
    assert "no colorization model is installed" in line and "train-base" in line


def test_argparse_usage_errors_exit_2(home, photos, capsys):
    with pytest.raises(SystemExit) as caught:
        main.main(["colorize", str(photos)])  # no -o
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "-o/--output" in err and "Traceback" not in err


def test_models_lists_the_installed_models(home, capsys):
    (home / "models" / "broken.safetensors").write_bytes(b"garbage")
    assert main.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny  [user]  unet_colorizer" in out
    assert "broken  [user, damaged:" in out
    assert str(home / "models") in out


def test_models_json_is_machine_readable(home, capsys):
    import json

    assert main.main(["models", "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["name"] == "tiny" and entry["source"] == "user" and entry["problem"] is None


def test_models_with_none_installed(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "nothing"
    empty.mkdir()
    monkeypatch.setenv("REVIVE_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setattr(model_registry, "shipped_models_dir", lambda: empty)
    assert main.main(["models"]) == 0
    assert "No models installed." in capsys.readouterr().out


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as caught:
        main.main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for command in ("colorize", "models", "train-base"):
        assert command in out


def test_colorize_help_names_the_options(capsys):
    with pytest.raises(SystemExit) as caught:
        main.main(["colorize", "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    for option in ("--output", "--model", "--render-size", "--skip-existing", "--format"):
        assert option in out


def test_train_base_with_a_missing_photo_folder_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REVIVE_HOME", str(tmp_path / "home"))
    code = main.main(["train-base", "--photos", str(tmp_path / "missing"), "--out", "x", "--device", "cpu"])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "missing" in line and "does not exist" in line


def test_train_base_with_bad_settings_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REVIVE_HOME", str(tmp_path / "home"))
    (tmp_path / "photos").mkdir()
    code = main.main(["train-base", "--photos", str(tmp_path / "photos"), "--out", "x", "--steps", "0"])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "steps must be at least 1, got 0" in line
    code = main.main(["train-base", "--photos", str(tmp_path / "photos"), "--out", "x", "--augment-strength", "3"])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "augmentation strength must be from 0 to 2, got 3.0" in line
    code = main.main(["train-base", "--photos", str(tmp_path / "photos"), "--out", "x", "--decoded-weight", "-1"])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "decoded-colour weight must be a number of at least 0, got -1.0" in line


def _colour_photos(folder: Path, count: int, start: int = 0) -> Path:
    folder.mkdir()
    for i in range(start, start + count):
        image = np.zeros((48, 48, 3), np.uint8)
        image[:, (np.arange(48) + i) // 4 % 2 == 0] = (30, 40, 160)
        image[:, (np.arange(48) + i) // 4 % 2 == 1] = (240, 220, 60)
        Image.fromarray(image).save(folder / f"stripes_{i}.png")
    return folder


def test_train_base_says_which_snapshot_it_kept_and_keep_last_does_not_choose(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REVIVE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda: False)
    photos, tune = _colour_photos(tmp_path / "photos", 6), _colour_photos(tmp_path / "tune", 2, start=10)
    tiny = ["--steps", "4", "--size", "32", "--batch-size", "2", "--widths", "8,8,16,16", "--blocks", "1"]
    common = ["train-base", "--photos", str(photos), "--tune", str(tune), "--device", "cpu", *tiny]
    assert main.main([*common, "--out", "kept"]) == 0
    out = capsys.readouterr().err
    assert "Kept the averaged weights of step 4 (the last of 1 snapshot scored on 2 photos of" in out
    assert "Installed model kept" in out
    assert main.main([*common, "--out", "last", "--keep-last"]) == 0
    out = capsys.readouterr().err
    assert "Kept the averaged weights" not in out and "Installed model last" in out


def test_a_real_process_colorizes_and_exits_1_on_one_bad_file(tmp_path, photos):
    """The script as a user runs it: a separate process, REVIVE_HOME from the environment."""
    home = tmp_path / "home"
    install_model(home, "tiny", render_size=64)
    (photos / "letter.jpg").write_text("not a photo")
    out = tmp_path / "out"
    env = {**os.environ, "REVIVE_HOME": str(home), "OMP_NUM_THREADS": "1"}  # tiny work: one thread
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "main.py"),
            "colorize",
            str(photos),
            "-o",
            str(out),
            "--model",
            "tiny",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Done 2, skipped 0, failed 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert (out / "a.jpg").exists() and (out / "sub" / "b.png").exists()
    assert (out / "revive-report.json").exists()
