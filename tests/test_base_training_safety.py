"""train-base never loses a user's model, never ends in a traceback, and resumes only the run it saved.

Runs are tiny (32 px crops, widths 4,4,4,4, no residual blocks, batches of 2, a few steps) on
generated colour photos, with a one-decoding sweep at export, so each takes about a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

import main
from engine import device as device_module
from engine.cancel import CancelToken
from engine.errors import OutOfMemory, ReviveError
from engine.models.registry import user_model_path
from engine.paths import runs_dir
from tests.helpers import colour_shapes
from training.base.config import BaseTrainingConfig
from training.base.installing import INSTALLED_FILE
from training.base.run_options import OPTIONS_FILE
from training.base.trainer import STAGED_MODEL_FILE, train_base
from training.events import StepDone, TrainingFinished

TINY = ["--widths", "4,4,4,4", "--blocks", "0", "--size", "32", "--batch-size", "2", "--device", "cpu"]


@pytest.fixture
def photos(home, tmp_path, monkeypatch) -> Path:
    """Colour photos to train on (REVIVE_HOME is ``home``), fp32 on the CPU."""
    monkeypatch.setattr(device_module, "cpu_has_fast_bf16", lambda: False)
    folder = tmp_path / "colour"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(colour_shapes(48, 48, seed=i)).save(folder / f"src_{i}.png")
    return folder


def _config(photos: Path, name: str, **changes) -> BaseTrainingConfig:
    settings = dict(
        photos=photos,
        name=name,
        steps=3,
        size=32,
        batch_size=2,
        widths=(4, 4, 4, 4),
        blocks=0,
        device="cpu",
        checkpoint_every=2,
        validate_every=2,
        validation_images=2,
        tune_images=2,
        snapshot_images=2,
        render_sizes=(64,),
        temperatures=(0.38,),
        prior_corrections=(0.0,),
        chroma_scales=(1.0,),
        confidence_gammas=(0.0,),
    )
    settings.update(changes)
    return BaseTrainingConfig(**settings)


def _run(config: BaseTrainingConfig, cancel: CancelToken | None = None) -> list[object]:
    return list(train_base(config, cancel))


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("revive:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def _users_model(name: str) -> dict[Path, bytes]:
    """A model the user made under ``name`` (any bytes will do: they must stay as they are)."""
    path = user_model_path(name)
    files = {path: b"the user's own weights", path.with_suffix(".json"): b'{"name": "the user\'s card"}'}
    for file, data in files.items():
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(data)
    return files


# ------------------------------------------------------------------- a user's model is never replaced


@pytest.mark.parametrize("which", ["both", "weights", "card"])
def test_a_new_run_refuses_a_name_the_user_already_has_before_training(photos, which):
    files = _users_model("mine")
    for path in files:
        if which != "both" and (path.suffix == ".json") == (which == "weights"):
            path.unlink()
    kept = {path: path.read_bytes() for path in files if path.exists()}
    with pytest.raises(ReviveError, match="a model called 'mine' is already installed") as error:
        _run(_config(photos, "mine"))
    assert "choose another --out name, or delete mine.safetensors and mine.json in" in str(error.value)
    assert {path: path.read_bytes() for path in kept} == kept
    assert not (runs_dir() / "base-mine" / "state.pt").exists()


def test_the_command_refuses_in_one_line_even_with_force(photos, capsys):
    files = _users_model("mine")
    code = main.main(["train-base", "--photos", str(photos), "--out", "mine", "--steps", "2", *TINY, "--force"])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "a model called 'mine' is already installed" in line
    assert all(path.read_bytes() == data for path, data in files.items())


def test_a_resumed_run_installs_again_over_its_own_model(photos):
    first = _run(_config(photos, "own"))[-1]
    assert first.model_path == user_model_path("own")
    installed = first.model_path.read_bytes()
    again = _run(_config(photos, "own", steps=5, resume=True))[-1]
    assert again.model_path == first.model_path and again.step == 5
    assert again.model_path.read_bytes() != installed  # the longer run's weights
    assert json.loads(first.model_path.with_suffix(".json").read_text())["training"]["steps_done"] == 5
    assert not (runs_dir() / "base-own" / STAGED_MODEL_FILE).exists()


def test_a_resumed_run_does_not_replace_a_model_the_user_put_in_place_of_its_own(photos):
    _run(_config(photos, "own"))
    files = _users_model("own")  # the user replaced the run's model with another
    with pytest.raises(ReviveError, match="already installed") as error:
        _run(_config(photos, "own", steps=5, resume=True))
    assert "move own.safetensors and own.json out of" in str(error.value)  # the resumed run keeps its name
    assert all(path.read_bytes() == data for path, data in files.items())


def test_an_unreadable_install_record_owns_nothing(photos):
    _run(_config(photos, "own"))
    (runs_dir() / "base-own" / INSTALLED_FILE).write_text("{not json")
    before = user_model_path("own").read_bytes()
    with pytest.raises(ReviveError, match="already installed"):
        _run(_config(photos, "own", steps=5, resume=True))
    assert user_model_path("own").read_bytes() == before


def test_a_model_that_appears_during_the_run_is_left_alone_and_resume_installs_later(photos, monkeypatch):
    import training.base.trainer as trainer

    real_sweep = trainer.sweep
    files: dict[Path, bytes] = {}

    def sweep_while_the_user_saves_a_model(*args, **kwargs):
        files.update(_users_model("late"))
        return real_sweep(*args, **kwargs)

    monkeypatch.setattr(trainer, "sweep", sweep_while_the_user_saves_a_model)
    with pytest.raises(ReviveError, match="appeared in .* during this run and was left untouched") as error:
        _run(_config(photos, "late"))
    assert "--resume to install it" in str(error.value)
    assert all(path.read_bytes() == data for path, data in files.items())

    monkeypatch.setattr(trainer, "sweep", real_sweep)
    for path in files:  # the user moves their model away, as the line says
        path.rename(path.with_name("kept-" + path.name))
    resumed = _run(_config(photos, "late", resume=True))
    assert not [e for e in resumed if isinstance(e, StepDone)]  # straight to the install
    assert resumed[-1].model_path == user_model_path("late") and resumed[-1].model_path.is_file()


# ------------------------------------------------------------------- absurd options are one line


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"size": 40000}, "size must be a multiple of 16 from 32 to 1024, got 40000"),
        ({"size": 1040}, "size must be a multiple of 16 from 32 to 1024, got 1040"),
        ({"batch_size": 100_000_000}, "batch size must be from 2 to 1024, got 100000000"),
        ({"batch_size": 1}, "batch size must be from 2 to 1024, got 1"),  # the photo-level branch's statistics
        ({"batch_size": 0, "global_fusion": False}, "batch size must be from 1 to 1024, got 0"),
        ({"seed": 10**20}, "seed must be a whole number from 0 to 4294967295, got 100000000000000000000"),
        ({"seed": -1}, "seed must be a whole number from 0 to 4294967295, got -1"),
        ({"steps": 10**9}, "steps must be at most 10000000, got 1000000000"),
    ],
)
def test_absurd_options_are_refused_with_their_range(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        _config(tmp_path, "x", **changes)


def test_the_largest_seed_trains(photos):
    assert _run(_config(photos, "seeded", steps=1, seed=2**32 - 1))[-1].model_path is not None


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--seed", "100000000000000000000", "seed must be a whole number from 0 to 4294967295"),
        ("--batch-size", "100000000", "batch size must be from 2 to 1024"),
        ("--size", "40000", "size must be a multiple of 16 from 32 to 1024"),
    ],
)
def test_the_command_refuses_absurd_options_in_one_line(photos, capsys, option, value, message):
    code = main.main(["train-base", "--photos", str(photos), "--out", "x", "--steps", "1", *TINY, option, value])
    assert code == 2 and message in _one_line_error(capsys.readouterr().err)


def _memory_errors():
    return [
        RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"),
        MemoryError(),
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
    ]


def _running_out_at(monkeypatch, step_wanted: int, error: BaseException) -> None:
    """The step ``step_wanted`` (0-based) of the first run runs out of memory in its loss (once:
    later calls, a resumed run's, go through)."""
    import training.base.trainer as trainer

    real = trainer.colour_class_loss
    calls = iter(range(1_000))

    def loss(*args, **kwargs):
        if next(calls) == step_wanted:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "colour_class_loss", loss)


@pytest.mark.parametrize("error", _memory_errors(), ids=["cpu-allocator", "MemoryError", "cuda"])
def test_running_out_of_memory_mid_run_saves_the_run_and_says_what_to_lower(photos, monkeypatch, error):
    _running_out_at(monkeypatch, 3, error)
    with pytest.raises(OutOfMemory) as raised:
        _run(_config(photos, "big", steps=6, checkpoint_every=100, validate_every=100))
    message = str(raised.value)
    assert message.startswith("out of memory on CPU") and "at step 3" in message
    assert "the run is saved at step 3" in message and "--batch-size (now 2)" in message
    run = runs_dir() / "base-big"
    assert int(torch.load(run / "state.pt", weights_only=True)["step"]) == 3

    resumed = _run(_config(photos, "big", steps=6, checkpoint_every=100, validate_every=100, resume=True))
    assert [e.step for e in resumed if isinstance(e, StepDone)] == [4, 5, 6]
    assert resumed[-1].model_path is not None


def test_running_out_of_memory_at_the_first_step_leaves_nothing_to_resume(photos, monkeypatch, capsys):
    _running_out_at(monkeypatch, 0, MemoryError())
    code = main.main(["train-base", "--photos", str(photos), "--out", "big", "--steps", "2", *TINY])
    line = _one_line_error(capsys.readouterr().err)
    assert (
        code == 2
        and line.startswith("revive: out of memory on CPU")
        and line.endswith("at step 0: try a smaller --batch-size (now 2) or --size (now 32), narrower --widths")
    )
    assert not (runs_dir() / "base-big" / "state.pt").exists()
    assert _run(_config(photos, "big", steps=1))[-1].model_path is not None  # the same command starts again


def test_a_memory_error_while_making_a_batch_is_one_line(photos, monkeypatch):
    import training.base.trainer as trainer

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(trainer, "make_batch", no_memory)
    with pytest.raises(OutOfMemory, match="out of memory on CPU.* at step 0: try a smaller --batch-size"):
        _run(_config(photos, "big"))


# ------------------------------------------------------------------- a damaged saved state is one line


def _damage_exp_avg(state):
    state["optimizer"]["state"][0]["exp_avg"] = torch.zeros(7)


def _damage(key, value):
    def damage(state):
        state["optimizer"]["param_groups"][0][key] = value

    return damage


def _drop_moment(state):
    del state["optimizer"]["state"][0]["exp_avg_sq"]


def _not_a_dict(state):
    state["optimizer"]["state"] = 5


@pytest.mark.parametrize(
    "damage",
    [
        _damage_exp_avg,
        _damage("betas", "oops"),
        _damage("betas", (0.9, 1.5)),
        _damage("weight_decay", float("nan")),
        _damage("weight_decay", -1.0),
        _damage("eps", 0.0),
        _damage("lr", "fast"),
        _damage("amsgrad", True),
        _drop_moment,
        _not_a_dict,
    ],
    ids=[
        "exp_avg-shape",
        "betas-text",
        "betas-range",
        "weight_decay-nan",
        "weight_decay-negative",
        "eps-zero",
        "lr-text",
        "amsgrad",
        "missing-moment",
        "state-not-a-dict",
    ],
)
def test_a_damaged_optimizer_state_is_one_line_on_resume(photos, damage):
    _run(_config(photos, "hurt", steps=2))
    path = runs_dir() / "base-hurt" / "state.pt"
    state = torch.load(path, weights_only=True)
    damage(state)
    torch.save(state, path)
    with pytest.raises(ReviveError, match=r"the saved run in .*base-hurt is damaged; start again without --resume"):
        _run(_config(photos, "hurt", steps=4, resume=True))


def test_a_damaged_state_from_the_command_is_one_line(photos, capsys):
    args = ["train-base", "--photos", str(photos), "--out", "hurt", "--steps", "2", *TINY]
    assert main.main(args) == 0
    path = runs_dir() / "base-hurt" / "state.pt"
    state = torch.load(path, weights_only=True)
    state["optimizer"]["param_groups"][0]["betas"] = "oops"
    torch.save(state, path)
    capsys.readouterr()
    assert main.main([*args, "--steps", "3", "--resume"]) == 2
    assert "is damaged; start again without --resume" in _one_line_error(capsys.readouterr().err)


# ------------------------------------------------------------------- resume keeps the run's options


def test_resume_with_other_training_options_names_each_and_the_runs_value(photos):
    _run(_config(photos, "same", steps=2))
    changed = dict(size=48, batch_size=3, seed=7, learning_rate=0.5, widths=(4, 4, 4, 8))
    with pytest.raises(ReviveError) as error:
        _run(_config(photos, "same", steps=4, resume=True, **changed))
    message = str(error.value)
    assert message.startswith("--resume continues the run in") and "\n" not in message
    for expected in (
        "--size 48 (the run's: 32)",
        "--batch-size 3 (the run's: 2)",
        "--seed 7 (the run's: 0)",
        "--learning-rate 0.5 (the run's: 0.001)",
        "--widths 4,4,4,8 (the run's: 4,4,4,4)",
    ):
        assert expected in message
    assert "another --out name" in message


def test_resume_may_train_longer_elsewhere_and_choose_otherwise(photos, tmp_path, monkeypatch):
    _run(_config(photos, "same", steps=2))
    # More steps, another device setting, checkpoints, snapshot choice, and the photo folder by
    # another spelling of the same path: none changes a training step.
    monkeypatch.chdir(photos.parent)
    finished = _run(
        _config(Path(photos.name), "same", steps=4, resume=True, device="auto", checkpoint_every=1, keep_best=False)
    )[-1]
    assert isinstance(finished, TrainingFinished) and finished.step == 4 and finished.model_path is not None


def test_a_run_saved_without_its_options_resumes_and_records_them(photos):
    _run(_config(photos, "older", steps=2))
    (runs_dir() / "base-older" / OPTIONS_FILE).unlink()  # as saved by an earlier version
    assert _run(_config(photos, "older", steps=3, resume=True))[-1].step == 3
    assert json.loads((runs_dir() / "base-older" / OPTIONS_FILE).read_text())["size"] == 32
    with pytest.raises(ReviveError, match=r"--size 48 \(the run's: 32\)"):
        _run(_config(photos, "older", steps=4, size=48, resume=True))


def test_unreadable_saved_options_are_a_damaged_run(photos):
    _run(_config(photos, "older", steps=2))
    (runs_dir() / "base-older" / OPTIONS_FILE).write_text("[1, 2")
    with pytest.raises(ReviveError, match="is damaged; start again without --resume"):
        _run(_config(photos, "older", steps=3, resume=True))


def test_resume_with_other_options_from_the_command_is_one_line(photos, capsys):
    args = ["train-base", "--photos", str(photos), "--out", "same", "--steps", "2", *TINY]
    assert main.main(args) == 0
    capsys.readouterr()
    assert main.main([*args, "--steps", "3", "--resume", "--batch-size", "4"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "--batch-size 4 (the run's: 2)" in line
