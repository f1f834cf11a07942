"""The ``train`` command line: checks first, trains, installs; bad input is one line and exit 2."""

from __future__ import annotations

import argparse
import builtins
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import main
import training.cyclegan.trainer as trainer
from engine.cancel import CancelToken
from engine.models.registry import user_model_path
from engine.paths import runs_dir
from tests.test_cyclegan import BASE, folders, home, scripted_scores, tiny_config  # noqa: F401 (fixtures)
from training.cli import train as train_command
from training.cyclegan.config import STATE_FILE
from training.cyclegan.export import load_run_state
from training.cyclegan.trainer import train_cyclegan
from training.events import StepDone


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py train")
    train_command.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_train_command_trains_and_installs(folders, capsys, scripted_scores):
    scripted_scores(10.0, 9.0)
    old, colour = folders
    args = parse(
        "--old",
        str(old),
        "--color",
        str(colour),
        "--out",
        "mine",
        "--base",
        BASE,
        "--preset",
        "tiny",
        "--steps",
        "2",
        "--device",
        "cpu",
    )
    assert train_command.run(args) == 0
    out = capsys.readouterr().out
    assert "old photos: 10" in out and "estimated time" in out and "step 2/2" in out
    assert "main.py colorize --model mine" in out
    assert user_model_path("mine").is_file()
    assert "base (tiny-base)" in out and "fine-tuned, best (step 2)" in out and "gray copy" in out


def test_a_fine_tune_that_is_not_better_is_not_installed_and_the_command_says_so(folders, capsys, scripted_scores):
    scripted_scores(10.0, 10.5, 11.0)
    old, colour = folders
    argv = [
        "--old",
        str(old),
        "--color",
        str(colour),
        "--out",
        "mine",
        "--base",
        BASE,
        "--preset",
        "tiny",
        "--device",
        "cpu",
    ]
    assert train_command.run(parse(*argv)) == 0
    out = capsys.readouterr().out
    table = out[out.index("kept aside") :]
    assert "base (tiny-base)" in table and "10.00" in table and "fine-tuned (step 4)" in table and "11.00" in table
    assert "note: the fine-tuned model is not better than tiny-base" in out and "nothing was installed" in out
    assert "--keep-worse" in out and "model installed" not in out
    assert not user_model_path("mine").exists()

    # --keep-worse installs it anyway (here: resuming the finished run, as the note says).
    assert train_command.run(parse(*argv, "--resume", "--keep-worse")) == 0
    assert "model installed" in capsys.readouterr().out
    assert user_model_path("mine").is_file()


def test_the_resume_line_keeps_keep_worse():
    args = parse("--old", "a", "--color", "b", "--out", "x", "--keep-worse")
    assert train_command._resume_command(args).endswith("--keep-worse --resume")


def test_missing_folder_exits_2_with_one_line(folders, capsys, tmp_path):
    args = parse("--old", str(tmp_path / "missing"), "--color", str(folders[1]), "--out", "x", "--preset", "tiny")
    assert train_command.run(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing does not exist" in err and "Traceback" not in err


def test_bad_option_exits_2(folders, capsys):
    args = parse("--old", str(folders[0]), "--color", str(folders[1]), "--out", "x", "--size", "50")
    assert train_command.run(args) == 2
    assert "size must be a multiple of 16" in capsys.readouterr().err


# -- hostile input: names, shipped names, saved runs -------------------------------------------------


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("revive:"), captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def train_args(old, colour, name: str, *extra: str) -> list[str]:
    return [
        "train",
        "--old",
        str(old),
        "--color",
        str(colour),
        "--out",
        name,
        "--base",
        BASE,
        "--preset",
        "tiny",
        "--device",
        "cpu",
        *extra,
    ]


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "../x", "a/b", "", "  ", "bell\x07", "new\nline", "tab\tx"])
def test_unfit_names_are_refused_before_anything_happens(name, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("REVIVE_HOME", str(home))
    # Folders that do not exist: had anything looked at them first, the message would be about them.
    args = parse("--old", str(tmp_path / "no-old"), "--color", str(tmp_path / "no-colour"), "--out", name)
    assert train_command.run(args) == 2
    line = one_error_line(capsys)
    assert "name" in line and "does not exist" not in line
    assert not runs_dir().exists() and not home.exists()


def test_an_unfit_name_through_main_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REVIVE_HOME", str(tmp_path / "home"))
    assert main.main(train_args(tmp_path / "a", tmp_path / "b", "../escape")) == 2
    one_error_line(capsys)
    assert not runs_dir().exists() and not (tmp_path / "escape").exists()


def test_the_run_folder_is_a_sub_folder_of_the_runs_folder(folders):
    config = tiny_config(folders, name="mine")
    assert config.resolved_run_dir().parent == runs_dir()
    assert config.resolved_run_dir().name == "mine"


def test_a_shipped_models_name_needs_force(folders, tmp_path, capsys):
    old, colour = folders
    assert main.main(train_args(old, colour, "revive-base")) == 2
    line = one_error_line(capsys)
    assert "shipped model" in line and "--force" in line
    assert not (runs_dir() / "revive-base").exists()
    # With --force the name passes; the next check (a missing folder here) is what stops it.
    assert main.main(train_args(tmp_path / "missing", colour, "revive-base", "--force")) == 2
    assert "does not exist" in one_error_line(capsys)


def test_help_documents_force(capsys):
    with pytest.raises(SystemExit):
        main.main(["train", "--help"])
    assert "--force" in capsys.readouterr().out


def test_resume_without_a_saved_run_says_so_in_one_line(folders, capsys):
    assert main.main(train_args(*folders, "never-ran", "--resume")) == 2
    line = one_error_line(capsys)
    assert "no saved run to resume" in line and "never-ran" in line
    assert not (runs_dir() / "never-ran").exists()


class _Hostile:
    """Unpickling this (unsafely) would create ``marker``: it must never happen."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (builtins.open, (str(self.marker), "w"))


def _write_state(path: Path, kind: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "random bytes":
        path.write_bytes(torch.randint(0, 256, (4096,), dtype=torch.uint8).numpy().tobytes())
    elif kind == "truncated":
        torch.save({"G": {"w": torch.zeros(4096)}, "step": torch.tensor(1)}, path)
        path.write_bytes(path.read_bytes()[:3000])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "code":
        torch.save({"G": _Hostile(path.parent / "pwned"), "step": torch.tensor(1)}, path)
    elif kind == "foreign":
        torch.save({"step": torch.tensor(3), "weights": [1, 2, 3]}, path)
    elif kind == "folder":
        path.mkdir()


@pytest.mark.parametrize("kind", ["random bytes", "truncated", "empty", "code", "foreign", "folder"])
def test_resume_from_a_damaged_or_hostile_state_is_one_line(kind, folders, capsys):
    run_dir = runs_dir() / "broken"
    _write_state(run_dir / STATE_FILE, kind)
    assert main.main(train_args(*folders, "broken", "--resume")) == 2
    line = one_error_line(capsys)
    assert "damaged" in line and "without --resume" in line and str(run_dir) in line
    assert "weights_only" not in line and "unsafe" not in line.lower()
    assert not (run_dir / "pwned").exists()


def _cancelled_run(folders, name: str) -> Path:
    config = tiny_config(folders, name=name, steps=4, checkpoint_every=100)
    cancel = CancelToken()
    for event in train_cyclegan(config, cancel):
        if isinstance(event, StepDone):
            cancel.cancel()
    return config.resolved_run_dir() / STATE_FILE


def _tamper_step(state):
    state["step"] = torch.tensor(-3)


def _tamper_weights(state):
    next(iter(state["F"].values())).fill_(float("nan"))


def _tamper_moments(state):
    moments = next(iter(state["opt_G"]["state"].values()))
    moments["exp_avg"] = torch.zeros(7)


def _tamper_class_weights(state):
    state["class_weights"] = torch.ones(3)


@pytest.mark.parametrize("tamper", [_tamper_step, _tamper_weights, _tamper_moments, _tamper_class_weights])
def test_resume_checks_the_saved_fields(tamper, folders, capsys):
    state_path = _cancelled_run(folders, "tampered")
    state = torch.load(state_path, weights_only=True)
    tamper(state)
    torch.save(state, state_path)
    capsys.readouterr()
    assert main.main(train_args(*folders, "tampered", "--resume")) == 2
    line = one_error_line(capsys)
    assert "damaged" in line and "tampered" in line


def test_the_command_module_does_not_import_torch():
    code = "import sys, main, training.cli.train; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"


def test_first_ctrl_c_saves_a_resumable_run(folders, monkeypatch, capsys):
    """Ctrl+C reaches the main thread while training runs on a worker: the run stops after the
    step in progress and its state is saved for --resume (resuming itself: test_cyclegan)."""
    real = trainer.train_cyclegan

    def interrupted_once(config, cancel):
        for event in real(config, cancel):
            yield event
            if isinstance(event, StepDone) and event.step == 1:
                signal.raise_signal(signal.SIGINT)
                assert _wait_for(cancel)  # the main thread's handler, not this thread, sets it

    monkeypatch.setattr(trainer, "train_cyclegan", interrupted_once)
    assert main.main(train_args(*folders, "stopped")) == 130
    captured = capsys.readouterr()
    assert "saving the run" in captured.err and "Resume with:" in captured.out and "--resume" in captured.out
    assert int(load_run_state(runs_dir() / "stopped" / STATE_FILE)["step"]) == 1
    assert not user_model_path("stopped").exists()


def _wait_for(cancel, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not cancel.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    return cancel.cancelled
