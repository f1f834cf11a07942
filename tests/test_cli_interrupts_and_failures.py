"""The command line when things go wrong mid-batch: a writer failing for one photo, Ctrl+C during a
batch (exit 130, nothing half-written), and the train subcommand's help in a real process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

import engine.imaging
import main
from engine.errors import OutputError
from engine.models import registry as model_registry
from engine.version import app_version
from tests.helpers import write_gray_photo
from tests.test_hostile_inputs import _start, _wait_for

ROOT = Path(__file__).resolve().parent.parent


def test_a_writer_failure_for_one_photo_fails_that_photo_only(home, tmp_path, monkeypatch, capsys):
    photos = tmp_path / "photos"
    for name in ("a.png", "b.png", "c.png"):
        write_gray_photo(photos / name, 40, 30)
    real_write = engine.imaging.write_photo

    def failing_for_b(path, *args, **kwargs):
        if Path(path).name == "b.png":
            raise OutputError(f"cannot write {Path(path).name}: disk full (simulated)")
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(engine.imaging, "write_photo", failing_for_b)
    out = tmp_path / "out"
    code = main.main(["colorize", str(photos), "-o", str(out), "--model", "tiny", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Done 2, skipped 0, failed 1" in err and "disk full (simulated)" in err and "Traceback" not in err
    assert (out / "a.png").exists() and (out / "c.png").exists() and not (out / "b.png").exists()
    report = json.loads((out / "revive-report.json").read_text())
    by_name = {Path(entry["source"]).name: entry for entry in report["files"]}
    assert by_name["b.png"]["status"] == "failed" and "disk full (simulated)" in json.dumps(by_name["b.png"])
    assert by_name["a.png"]["status"] == by_name["c.png"]["status"] == "done"
    assert report["counts"] == {"done": 2, "skipped": 0, "failed": 1}
    assert report["revive_version"] == app_version()
    assert not list(out.glob(".*.part"))


@pytest.mark.slow
def test_ctrl_c_during_a_batch_exits_130_and_leaves_no_partial_output(home, tmp_path):
    photos = tmp_path / "many"
    for i in range(150):
        write_gray_photo(photos / f"p{i:03d}.png", 400, 300)
    out = tmp_path / "out"
    process = _start(["colorize", str(photos), "-o", str(out)], home, model_registry.shipped_models_dir())
    try:
        _wait_for(process, "Model ")
        deadline = time.monotonic() + 60
        while not list(out.glob("p*.png")) and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    written = sorted(out.glob("p*.png"))
    assert 0 < len(written) < 150, "the interrupt came too late to test anything"
    assert not list(out.rglob("*.part")), "a half-written temporary file was left behind"
    for path in written:  # every file there is a whole photo
        with Image.open(path) as image:
            image.load()
            assert image.size == (400, 300)
    report = json.loads((out / "revive-report.json").read_text())
    assert report["cancelled"] is True
    done = {Path(entry["output"]).name for entry in report["files"] if entry["status"] == "done"}
    assert {p.name for p in written} == done


def test_train_help_in_a_real_process_lists_its_options():
    result = subprocess.run(
        [sys.executable, "main.py", "train", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    for option in ("--old", "--color", "--out", "--resume", "--force"):
        assert option in result.stdout
    assert "Traceback" not in result.stderr
