"""Every bad input gets a clear one-line error, nothing is lost, the batch goes on.

Odd file-system entries among the inputs and in the models folder, hostile model cards, odd
output folders, interrupts, and messages that must stay on one line. Each test builds what it
describes in a temporary folder.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import save_file

import main
from engine.batch import plan as batch_plan
from engine.models import registry as model_registry
from engine.models.card import CARD_KEY
from tests.helpers import install_model, tiny_card, tiny_module, write_gray_photo

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(home, tmp_path):
    """The shared ``home`` (tests/conftest.py: REVIVE_HOME with a tiny user model), and a tiny
    'revive-base' in its shipped folder."""
    shipped = model_registry.shipped_models_dir()
    install_model(tmp_path / "shipped-home", "revive-base", render_size=64)
    for path in (tmp_path / "shipped-home" / "models").iterdir():
        path.rename(shipped / path.name)
    return home


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    write_gray_photo(folder / "a.jpg", 40, 30)
    write_gray_photo(folder / "b.png", 24, 32)
    return folder


def _revive_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("revive:")]


class _Blocked(Exception):
    pass


def _within(seconds: int, function, *args):
    """Run ``function(*args)`` here (signal handlers need the main thread), but fail instead of
    hanging the suite if it blocks for ``seconds`` (an alarm interrupts a blocking open)."""

    def blocked(signum, frame):
        raise _Blocked(f"{function.__name__} blocked for over {seconds} s")

    previous = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(seconds)
    try:
        return function(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------------------- input walking


def test_a_symlink_loop_in_an_input_folder_fails_alone(home, photos, tmp_path, capsys):
    os.symlink(photos / "loop2.jpg", photos / "loop1.jpg")
    os.symlink(photos / "loop1.jpg", photos / "loop2.jpg")
    os.symlink(tmp_path / "nowhere.jpg", photos / "dangling.jpg")
    os.symlink(photos, photos / "again")  # a folder link back up: not followed
    code = main.main(["colorize", str(photos), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "loop1.jpg: a symbolic link that loops or points nowhere" in err
    assert "dangling.jpg" in err
    assert sorted(p.name for p in (tmp_path / "out").glob("*.*") if not p.name.startswith(("revive-report", "."))) == [
        "a.jpg",
        "b.png",
    ]


def test_a_missing_input_among_valid_ones_is_reported_and_the_rest_goes_on(home, photos, tmp_path, capsys):
    code = main.main(["colorize", str(tmp_path / "absent"), str(photos), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "absent: no such file or folder" in err
    assert (tmp_path / "out" / "a.jpg").exists() and (tmp_path / "out" / "b.png").exists()
    report = json.loads((tmp_path / "out" / "revive-report.json").read_text())
    assert report["counts"]["failed"] == 1


def test_a_named_pipe_among_the_inputs_does_not_hang(home, photos, tmp_path, capsys):
    os.mkfifo(photos / "pipe.jpg")
    code = _within(30, main.main, ["colorize", str(photos), "-o", str(tmp_path / "out")])
    assert code == 1
    assert "pipe.jpg: a named pipe" in capsys.readouterr().err


def test_a_file_given_as_the_output_folder_is_refused_up_front(home, photos, tmp_path, capsys):
    target = tmp_path / "not-a-folder.jpg"
    target.write_bytes(b"a file")
    assert main.main(["colorize", str(photos), "-o", str(target)]) == 2
    [line] = _revive_lines(capsys.readouterr().err)
    assert "is a file, not a folder" in line
    assert target.read_bytes() == b"a file"


def test_an_output_folder_that_cannot_be_written_is_refused_before_any_photo(
    home, photos, tmp_path, capsys, monkeypatch
):
    def refuse(folder):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(batch_plan, "_probe_write", refuse)
    assert main.main(["colorize", str(photos), "-o", str(tmp_path / "out")]) == 2
    [line] = _revive_lines(capsys.readouterr().err)
    assert "cannot write in the output folder" in line and "Permission denied" in line
    assert not list((tmp_path / "out").glob("*.jpg"))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write in read-only folders")
def test_a_read_only_output_folder_is_refused_up_front(home, photos, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main.main(["colorize", str(photos), "-o", str(out)]) == 2
    finally:
        out.chmod(0o755)
    assert "cannot write in the output folder" in capsys.readouterr().err


# ------------------------------------------------------------------------------- models folder


@pytest.mark.parametrize("kind", ["dangling", "loop", "pipe", "empty", "folder"])
def test_odd_entries_in_the_models_folder_are_listed_not_fatal(home, photos, tmp_path, capsys, kind):
    models = home / "models"
    odd = models / f"odd-{kind}.safetensors"
    if kind == "dangling":
        os.symlink(tmp_path / "gone.safetensors", odd)
    elif kind == "loop":
        os.symlink(models / "loop-b.safetensors", odd)
        os.symlink(odd, models / "loop-b.safetensors")
    elif kind == "pipe":
        os.mkfifo(odd)
    elif kind == "empty":
        odd.write_bytes(b"")
    else:
        odd.mkdir()
    assert _within(30, main.main, ["models"]) == 0
    out = capsys.readouterr().out
    assert f"odd-{kind}" in out and "damaged" in out and "tiny  [user]" in out
    code = _within(60, main.main, ["colorize", str(photos), "-o", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("damage", ["zero bytes", "truncated", "garbage"])
def test_a_damaged_user_revive_base_does_not_hide_the_shipped_one(home, photos, tmp_path, capsys, damage):
    shipped = model_registry.shipped_models_dir() / "revive-base.safetensors"
    mine = home / "models" / "revive-base.safetensors"
    whole = shipped.read_bytes()
    mine.write_bytes({"zero bytes": b"", "truncated": whole[: len(whole) // 2], "garbage": os.urandom(4000)}[damage])
    assert main.main(["colorize", str(photos), "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "no model is installed" not in err
    assert f"your model 'revive-base' at {mine} is damaged" in err
    assert f"Model revive-base ({shipped})" in err


def test_models_calls_a_truncated_file_or_nan_weights_damaged(home, capsys):
    good = (home / "models" / "tiny.safetensors").read_bytes()
    (home / "models" / "cut.safetensors").write_bytes(good[: len(good) - 100])
    module = tiny_module()
    state = {k: v.contiguous() for k, v in module.state_dict().items()}
    state["head.bias"] = state["head.bias"].clone()
    state["head.bias"][0] = float("nan")
    save_file(state, str(home / "models" / "nan.safetensors"), metadata={CARD_KEY: tiny_card("nan").to_json()})
    assert main.main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed["tiny"]["healthy"]
    assert not listed["cut"]["healthy"] and "truncated" in listed["cut"]["problem"]
    assert not listed["nan"]["healthy"] and "NaN" in listed["nan"]["problem"]


# ------------------------------------------------------------------------------- model cards


def _model_with_card(path: Path, **card_fields) -> Path:
    card = json.loads(tiny_card("hostile").to_json())
    card.update(card_fields)
    state = {k: v.contiguous() for k, v in tiny_module().state_dict().items()}
    save_file(state, str(path), metadata={CARD_KEY: json.dumps(card)})
    return path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"arguments": {"widths": [100000, 100000, 100000, 100000], "blocks": 4}}, "widths"),
        ({"arguments": {"widths": [1024, 1024, 1024, 1024], "blocks": 32}}, "M parameters"),
        ({"arguments": {"widths": [8, 8, 16, 16], "blocks": 1, "evil": True}}, "unknown argument"),
        ({"arguments": {"widths": "wide", "blocks": 1}}, "widths"),
        ({"render_size": -5}, "render_size"),
        ({"render_size": True}, "render_size"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"chroma_scale": 1e9}, "chroma_scale"),
        ({"prior_correction": [1]}, "prior_correction"),
        ({"name": 7}, "name"),
        ({"training": "lots"}, "training"),
        ({"color_space": "rgb"}, "color_space"),
    ],
)
def test_hostile_model_cards_exit_2_with_one_line_before_building(home, photos, tmp_path, capsys, fields, message):
    path = _model_with_card(tmp_path / "hostile.safetensors", **fields)
    started = time.monotonic()
    assert main.main(["colorize", str(photos), "-o", str(tmp_path / "out"), "--model", str(path)]) == 2
    assert time.monotonic() - started < 20
    [line] = _revive_lines(capsys.readouterr().err)
    assert message in line


def test_a_header_bigger_than_the_file_is_damaged_not_read(tmp_path, home, photos, capsys):
    path = tmp_path / "liar.safetensors"
    header = json.dumps(
        {
            "w": {"dtype": "F32", "shape": [10**9], "data_offsets": [0, 4 * 10**9]},
            "__metadata__": {CARD_KEY: tiny_card("liar").to_json()},
        }
    ).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 64)
    assert main.main(["colorize", str(photos), "-o", str(tmp_path / "out"), "--model", str(path)]) == 2
    assert "truncated" in capsys.readouterr().err


# ------------------------------------------------------------------------------- messages


def test_a_file_name_with_a_newline_gives_a_one_line_error(home, photos, tmp_path, capsys):
    (photos / "bad\nname.jpg").write_bytes(b"not a photo at all")
    assert main.main(["colorize", str(photos), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    failed = [line for line in err.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and "bad\\nname.jpg" in failed[0]
    assert not any(line.startswith("name.jpg") for line in err.splitlines())


def test_files_of_other_types_are_counted_in_one_line(home, photos, tmp_path, capsys):
    for name in ("x.gif", "y.gif", "z.tga", "notes.txt"):
        (photos / name).write_bytes(b"other")
    assert main.main(["colorize", str(photos), "-o", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "Skipped 4 files of other types (.gif 2, " in err


def test_inputs_differing_only_by_extension_keep_it_visible(home, tmp_path):
    folder = tmp_path / "in"
    write_gray_photo(folder / "hopper.bmp")
    write_gray_photo(folder / "hopper.png")
    plan = batch_plan.plan_batch([folder], batch_plan.BatchOptions(tmp_path / "out"))
    assert sorted(job.output.name for job in plan.jobs) == ["hopper-bmp.png", "hopper.png"]


# ------------------------------------------------------------------------------- interrupts


def _start(args: list[str], home: Path, shipped: Path) -> subprocess.Popen:
    env = dict(os.environ, REVIVE_HOME=str(home), PYTHONUNBUFFERED="1")
    code = (
        "import sys; from engine.models import registry as model_registry; from pathlib import Path;"
        f"model_registry.shipped_models_dir = lambda: Path({str(shipped)!r});"
        "import main; sys.exit(main.main(sys.argv[1:]))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(process: subprocess.Popen, text: str, seconds: float = 60) -> str:
    seen = ""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        if text in line:
            return seen
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"never saw {text!r}; stderr so far:\n{seen}")


@pytest.fixture
def many_photos(tmp_path):
    folder = tmp_path / "many"
    for i in range(120):
        write_gray_photo(folder / f"p{i:03d}.png", 400, 300)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_stop_cleanly_with_a_report(home, many_photos, tmp_path, sig):
    out = tmp_path / "out"
    process = _start(["colorize", str(many_photos), "-o", str(out)], home, model_registry.shipped_models_dir())
    _wait_for(process, "Model ")
    _wait_for(process, "0/120 (")  # the first progress line: the batch runs, Ctrl+C handled as a stop
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "Cancelled: finished photos are kept" in err
    # a kill or a logout is not told to press Ctrl+C
    assert ("press Ctrl+C again" in err) == (sig == signal.SIGINT), err
    report = json.loads((out / "revive-report.json").read_text())
    assert report["cancelled"] is True


@pytest.mark.slow
def test_a_second_ctrl_c_quits_at_once(home, many_photos, tmp_path):
    process = _start(
        ["colorize", str(many_photos), "-o", str(tmp_path / "out")], home, model_registry.shipped_models_dir()
    )
    _wait_for(process, "Model ")
    _wait_for(process, "0/120 (")  # the first progress line: the batch runs, Ctrl+C handled as a stop
    process.send_signal(signal.SIGINT)
    _wait_for(process, "press Ctrl+C again")
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130 and time.monotonic() - started < 5
    assert "stopped at once" in err and "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_while_starting_up_is_one_line(home, photos, tmp_path):
    process = _start(["colorize", str(photos), "-o", str(tmp_path / "out")], home, model_registry.shipped_models_dir())
    _wait_for(process, "Colorizing")  # the model (and torch) are loading now
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in err


# ------------------------------------------------------------------------------- train-base


@pytest.fixture
def colour_photos(tmp_path):
    from PIL import Image

    from tests.helpers import colour_shapes

    folder = tmp_path / "colour"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(colour_shapes(48, 48, seed=i)).save(folder / f"src_{i}.png")
    return folder


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "../x", "a/b", "", "tab\tname"])
def test_train_base_refuses_unfit_names_before_anything(home, colour_photos, capsys, name):
    code = main.main(["train-base", "--photos", str(colour_photos), "--out", name, "--steps", "1"])
    assert code == 2
    [line] = _revive_lines(capsys.readouterr().err)
    assert "name" in line
    assert not (home / "runs").exists()


def test_train_base_refuses_a_folder_of_gray_photos(home, tmp_path, capsys):
    gray = tmp_path / "gray"
    for i in range(4):
        write_gray_photo(gray / f"g_{i}.png", 48, 48)
    assert main.main(["train-base", "--photos", str(gray), "--out", "useless", "--steps", "1"]) == 2
    [line] = _revive_lines(capsys.readouterr().err)
    assert "black-and-white" in line
    assert not (home / "models" / "useless.safetensors").exists()


def test_train_base_under_a_shipped_name_needs_force(home, colour_photos, capsys):
    assert main.main(["train-base", "--photos", str(colour_photos), "--out", "revive-base", "--steps", "1"]) == 2
    [line] = _revive_lines(capsys.readouterr().err)
    assert "shipped model" in line and "--force" in line


@pytest.mark.parametrize("content", [b"random bytes" * 10, b"", b"\x80\x04\x95evil pickle"])
def test_train_base_resume_from_a_damaged_state_is_one_line(home, colour_photos, capsys, content):
    run = home / "runs" / "base-again"
    run.mkdir(parents=True)
    (run / "state.pt").write_bytes(content)
    code = main.main(["train-base", "--photos", str(colour_photos), "--out", "again", "--steps", "1", "--resume"])
    assert code == 2
    err = capsys.readouterr().err
    [line] = _revive_lines(err)
    assert "damaged" in line and "without --resume" in line
    assert "weights_only" not in err and "Traceback" not in err


def test_python_warnings_go_to_the_log_not_the_terminal(home, photos, tmp_path):
    """A library's warnings (Pillow's, say) must not break the progress line: log file only."""
    env = dict(os.environ, REVIVE_HOME=str(home))
    code = (
        "import sys, warnings; from pathlib import Path; from engine.models import registry as model_registry; from engine import imaging;"
        f"model_registry.shipped_models_dir = lambda: Path({str(model_registry.shipped_models_dir())!r});"
        "real = imaging.read_photo\n"
        "def noisy(path, *a, **k):\n"
        "    warnings.warn('something odd in ' + Path(path).name, UserWarning)\n"
        "    return real(path, *a, **k)\n"
        "imaging.read_photo = noisy\n"
        "import main; sys.exit(main.main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "colorize", str(photos), "-o", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "something odd" not in result.stderr
    log_text = "".join(p.read_text() for p in (home / "logs").glob("revive.log*"))
    assert "something odd in a.jpg" in log_text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--widths", "8,8,16"], "widths must be 4 channel counts"),
        (["--widths", "8,8,16,2000"], "widths must be 4 channel counts from 4 to 1024"),
        (["--widths", "eight"], "--widths takes four whole numbers"),
        (["--blocks", "-1"], "blocks must be from 0 to 16"),
        (["--widths", "8,8,16,16", "--from", "revive-base"], "do not go with --from"),
    ],
)
def test_train_base_refuses_an_unfit_architecture_in_one_line(home, colour_photos, capsys, extra, message):
    code = main.main(["train-base", "--photos", str(colour_photos), "--out", "shape", "--steps", "1", *extra])
    assert code == 2
    [line] = _revive_lines(capsys.readouterr().err)
    assert message in line
    assert not (home / "runs").exists()


def test_train_base_builds_the_architecture_it_is_given(home, colour_photos):
    from engine.models.files import load_model

    args = ["--out", "narrow", "--steps", "1", "--size", "32", "--batch-size", "2", "--device", "cpu"]
    assert (
        main.main(["train-base", "--photos", str(colour_photos), *args, "--widths", "8,8,16,16", "--blocks", "1"]) == 0
    )
    module, card = load_model(home / "models" / "narrow.safetensors")
    assert card.arguments["widths"] == [8, 8, 16, 16] and card.arguments["blocks"] == 1
    assert module.widths == (8, 8, 16, 16) and module.blocks == 1


def test_train_base_mirror_tries_the_mirror_average_when_it_chooses_the_decoding(home, colour_photos):
    from engine.models.files import load_model

    args = ["--out", "mirrored", "--steps", "1", "--size", "32", "--batch-size", "2", "--device", "cpu"]
    narrow = ["--widths", "8,8,16,16", "--blocks", "1"]
    assert main.main(["train-base", "--photos", str(colour_photos), *args, *narrow, "--mirror"]) == 0
    _, card = load_model(home / "models" / "mirrored.safetensors")
    swept = card.metrics["decoding_sweep"]
    assert any(label.endswith(" flip") for label in swept) and any(not label.endswith(" flip") for label in swept)
    assert isinstance(card.flip_average, bool)
