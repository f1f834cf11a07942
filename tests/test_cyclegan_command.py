"""The ``train`` command line: checks first, trains, installs; bad input is one line and exit 2."""

from __future__ import annotations

import argparse

from engine.model_registry import user_model_path
from tests.test_cyclegan import BASE, folders, home, one_thread  # noqa: F401 (fixtures)
from training import train_command


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="main.py train")
    train_command.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_train_command_trains_and_installs(folders, capsys):
    old, colour = folders
    args = parse("--old", str(old), "--color", str(colour), "--out", "mine", "--base", BASE, "--preset", "tiny",
                 "--steps", "2", "--device", "cpu")
    assert train_command.run(args) == 0
    out = capsys.readouterr().out
    assert "old photos: 10" in out and "estimated time" in out and "step 2/2" in out
    assert "main.py colorize --model mine" in out
    assert user_model_path("mine").is_file()


def test_missing_folder_exits_2_with_one_line(folders, capsys, tmp_path):
    args = parse("--old", str(tmp_path / "missing"), "--color", str(folders[1]), "--out", "x", "--preset", "tiny")
    assert train_command.run(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing does not exist" in err and "Traceback" not in err


def test_bad_option_exits_2(folders, capsys):
    args = parse("--old", str(folders[0]), "--color", str(folders[1]), "--out", "x", "--size", "50")
    assert train_command.run(args) == 2
    assert "size must be a multiple of 16" in capsys.readouterr().err
