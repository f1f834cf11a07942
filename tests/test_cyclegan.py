"""CycleGAN fine-tuning: the loop, resume and cancel, export, presets and the loss parts. Tiny and fast."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine.cancel import CancelToken
from engine.device import select_device
from engine.errors import ReviveError
from engine.models.architectures.resnet_generator import ResnetGenerator
from engine.models.architectures.unet_colorizer import UNetColorizer
from engine.models.card import read_card
from engine.models.colorizer import Colorizer
from engine.models.files import ModelCard, load_model, save_model
from engine.models.registry import model_name_problem, user_model_path
from engine.paths import runs_dir
from engine.version import app_version
from training.cyclegan.config import CycleGANConfig, crop_warning, load_run_config
from training.cyclegan.data import make_batch
from training.cyclegan.events import PreviewReady
from training.cyclegan.export import export_cyclegan
from training.cyclegan.parts import ImagePool, build_discriminator, learning_rate_factor
from training.cyclegan.presets import PRESETS, estimate_seconds, make_config
from training.cyclegan.step import LOSS_NAMES, CycleGANNetworks, RGBGenerator, diversity_penalty
from training.cyclegan.trainer import train_cyclegan
from training.decoding_sweep import Decoding
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted

BASE = "tiny-base"


def write_photos(folder: Path, count: int, kind: str, seed: int = 0, size=(40, 48)) -> list[Path]:
    """``count`` small smooth photos: ``gray`` (mode L), ``sepia`` (RGB tint) or ``colour``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    h, w = size
    paths = []
    for i in range(count):
        y, x = np.mgrid[0:h, 0:w] / max(h, w)
        base = (np.sin(x * rng.uniform(2, 8) + rng.uniform(0, 6)) * np.cos(y * rng.uniform(2, 8)) + 1) / 2
        if kind == "gray":
            image = Image.fromarray((base * 255).astype(np.uint8), "L")
        elif kind == "sepia":
            rgb = np.stack((base, base * 0.85, base * 0.65), axis=2)
            image = Image.fromarray((rgb * 255).astype(np.uint8))
        else:
            phases = rng.uniform(0, 6, 3)
            rgb = np.stack([(np.sin(x * 5 + p) * np.cos(y * 3 - p) + 1) / 2 for p in phases], axis=2)
            image = Image.fromarray((rgb * 255).astype(np.uint8))
        path = folder / f"{kind}_{seed}_{i:02d}.png"
        image.save(path)
        paths.append(path)
    return paths


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """REVIVE_HOME in tmp_path with a tiny random base model installed as ``tiny-base``."""
    monkeypatch.setenv("REVIVE_HOME", str(tmp_path / "home"))
    torch.manual_seed(0)
    module = UNetColorizer(widths=(8, 8, 16, 16), blocks=1).eval()
    card = ModelCard(
        name=BASE,
        architecture="unet_colorizer",
        arguments={"widths": [8, 8, 16, 16], "blocks": 1},
        render_size=64,
        lightness_rolloff=0.7,
    )
    save_model(user_model_path(BASE), module, card)
    return tmp_path


@pytest.fixture
def folders(home) -> tuple[Path, Path]:
    old, colour = home / "old", home / "colour"
    write_photos(old, 6, "gray", seed=1)
    write_photos(old, 4, "sepia", seed=2)
    write_photos(colour, 10, "colour", seed=3)
    return old, colour


def tiny_config(folders, **changes) -> CycleGANConfig:
    values = {"name": "tuned", "base": BASE, "device": "cpu", "precision": "fp32", **changes}
    return make_config("tiny", folders[0], folders[1], **values)


def fake_summary(ciede: float, cast_b: float = 0.0) -> dict[str, float]:
    """An ``engine.metrics.summarize``-shaped dict with the given mean CIEDE2000 and b* cast."""
    return {
        "psnr": 30.0 - ciede,
        "ciede2000": ciede,
        "mean_a_error": 0.0,
        "mean_b_error": cast_b,
        "better_than_gray": 0.5,
        "auc": 0.9,
        "colourfulness": 20.0,
        "almost_gray": 0.0,
        "gray_psnr": 22.0,
        "gray_ciede2000": 12.0,
        "gray_auc": 0.88,
        "gray_mean_a_error": 0.0,
        "gray_mean_b_error": 0.0,
        "original_colourfulness": 30.0,
        "colourfulness_ratio": 0.67,
        "photos": 3.0,
    }


@pytest.fixture
def scripted_scores(monkeypatch):
    """``script(base, step scores...)``: the held-out scoring returns these mean CIEDE2000 values in
    turn (the base first, then each scored step), and records G's weights at each call."""

    def script(*values: float) -> list[dict[str, torch.Tensor]]:
        weights: list[dict[str, torch.Tensor]] = []

        def scored(module, card, photos, device):
            weights.append({k: v.detach().clone() for k, v in module.state_dict().items()})
            return fake_summary(values[min(len(weights), len(values)) - 1])

        monkeypatch.setattr("training.cyclegan.scores.score_model", scored)
        return weights

    return script


def test_config_errors_say_what_to_fix(tmp_path):
    with pytest.raises(ValueError, match="steps must be at least 1, got 0"):
        CycleGANConfig(tmp_path, tmp_path, steps=0)
    with pytest.raises(ValueError, match="size must be a multiple of 16"):
        CycleGANConfig(tmp_path, tmp_path, size=50)
    with pytest.raises(ValueError, match="norm must be one of"):
        CycleGANConfig(tmp_path, tmp_path, norm="layer")
    with pytest.raises(ValueError, match="preset must be one of"):
        make_config("huge", tmp_path, tmp_path)


def test_presets_cover_cpu_tests_and_gpu(tmp_path):
    assert {"tiny", "quick-cpu", "gpu-standard"} <= set(PRESETS)
    standard = make_config("gpu-standard", tmp_path, tmp_path)
    assert standard.size == 256 and standard.f_blocks == 9 and standard.steps >= 5000
    quick = make_config("quick-cpu", tmp_path, tmp_path, steps=120)
    assert quick.steps == 120 and quick.size == 128 and quick.preset == "quick-cpu"  # the base's crop


def test_small_crops_are_warned_about_but_the_presets_and_tests_are_not(tmp_path):
    for preset in ("quick-cpu", "gpu-fast", "gpu-standard", "tiny"):
        assert crop_warning(make_config(preset, tmp_path, tmp_path)) is None
    warning = crop_warning(make_config("quick-cpu", tmp_path, tmp_path, size=64))
    assert warning is not None and "64 px" in warning and "\n" not in warning


def test_training_runs_both_cycles_previews_and_exports_a_usable_model(folders, scripted_scores):
    scripted_scores(10.0, 9.5, 9.0)  # better at every scored step: the last one is the best
    events = list(train_cyclegan(tiny_config(folders)))
    assert isinstance(events[0], TrainingStarted) and events[0].start_step == 0
    previews = [e for e in events if isinstance(e, PreviewReady)]
    assert previews[0].step == 0 and previews[0].base and previews[-1].step == 4
    name, before, after = previews[0].images[0]
    assert before.dtype == after.dtype == np.uint8 and before.shape == after.shape and before.shape[2] == 3
    steps = [e for e in events if isinstance(e, StepDone)]
    assert [e.step for e in steps] == [1, 2, 3, 4]
    for event in steps:
        assert set(event.losses) == set(LOSS_NAMES)
        assert all(math.isfinite(v) for v in event.losses.values()), event.losses
        assert event.losses["cycle_A"] > 0 and event.losses["cycle_B"] > 0 and event.losses["paired"] > 0
    assert any(isinstance(e, CheckpointSaved) for e in events)
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and not finished.cancelled and finished.step == 4
    assert finished.model_path == user_model_path("tuned")

    module, card = load_model(finished.model_path)
    assert card.base_model == BASE and card.training["steps_done"] == 4 and card.training["preset"] == "tiny"
    assert card.training["revive_version"] == app_version()
    assert "CycleGAN" in card.description and "old" in card.trained_on
    assert Decoding.of_card(card) == Decoding.of_card(load_model(user_model_path(BASE))[1])  # the base's own
    luma = (np.arange(50 * 70) % 256).astype(np.uint8).reshape(50, 70)
    rgb = Colorizer(module, card, select_device("cpu", "fp32")).colorize(luma)
    assert rgb.shape == (50, 70, 3) and rgb.dtype == np.uint8
    run_dir = events[0].run_dir
    assert load_run_config(run_dir).name == "tuned"
    assert (run_dir / "previews" / "step_000000.png").is_file()


def test_cancel_stops_within_a_step_and_resume_continues(folders, scripted_scores):
    scripted_scores(10.0, 11.0)  # never better: what is installed below is the run's last G
    config = tiny_config(folders, name=None, steps=4, checkpoint_every=100)
    cancel = CancelToken()
    events = []
    for event in train_cyclegan(config, cancel):
        events.append(event)
        if isinstance(event, StepDone) and event.step == 2:
            cancel.cancel()
    assert max(e.step for e in events if isinstance(e, StepDone)) == 2
    assert isinstance(events[-1], TrainingFinished) and events[-1].cancelled and events[-1].step == 2
    state_path = config.resolved_run_dir() / "state.pt"
    state = torch.load(state_path, weights_only=True)
    assert int(state["step"]) == 2 and state["opt_G"]["state"]

    with pytest.raises(ReviveError, match="already exists"):
        next(iter(train_cyclegan(config)))
    resumed = list(train_cyclegan(CycleGANConfig(**{**config.__dict__, "resume": True})))
    assert resumed[0].start_step == 2
    assert [e.step for e in resumed if isinstance(e, StepDone)] == [3, 4]
    assert resumed[-1].step == 4 and not resumed[-1].cancelled and resumed[-1].model_path is None
    # Export afterwards, from the run folder, works like the automatic one.
    path = export_cyclegan(config.resolved_run_dir(), "later", keep_worse=True)
    assert load_model(path)[1].training["steps_done"] == 4


def test_each_checkpoint_saves_g_alone_so_export_needs_no_training_state(folders):
    config = tiny_config(folders, name=None, steps=3, checkpoint_every=2)
    list(train_cyclegan(config))
    run_dir = config.resolved_run_dir()
    assert read_card(run_dir / "latest.safetensors").training["step"] == 3  # the last checkpoint
    state_bytes = (run_dir / "state.pt").read_bytes()
    (run_dir / "state.pt").write_bytes(b"not needed")  # export must not read it
    from_latest = load_model(export_cyclegan(run_dir, "from-latest", keep_worse=True))
    (run_dir / "state.pt").write_bytes(state_bytes)
    (run_dir / "latest.safetensors").unlink()  # a run saved before G had its own file
    from_state = load_model(export_cyclegan(run_dir, "from-state", keep_worse=True))
    assert from_latest[1].training["steps_done"] == from_state[1].training["steps_done"] == 3
    weights = from_state[0].state_dict()
    assert all(torch.equal(v, weights[k]) for k, v in from_latest[0].state_dict().items())


def test_batches_are_a_function_of_the_step(folders):
    config = tiny_config(folders)
    cache = torch.randint(0, 256, (5, config.cache_size, config.cache_size, 3), dtype=torch.uint8)
    first = make_batch(cache, config, 7, salt=0)
    assert torch.equal(first, make_batch(cache, config, 7, salt=0))
    assert not torch.equal(first, make_batch(cache, config, 8, salt=0))
    assert first.shape == (2, 3, 32, 32) and first.min() >= -1 and first.max() <= 1


def test_estimate_is_positive_and_grows_with_steps(folders):
    short = estimate_seconds(tiny_config(folders, steps=10))
    assert 0 < short < 60
    assert estimate_seconds(tiny_config(folders, steps=1000)) > short


def test_plain_rgb_cyclegan_step_both_directions():
    """The paper's setting (the Monet example): RGB -> RGB generators both ways."""
    torch.manual_seed(0)
    config = CycleGANConfig(
        Path("a"), Path("b"), f_filters=4, f_blocks=1, d_filters=4, d_layers=2, batch_size=2, size=32
    )
    g = RGBGenerator(ResnetGenerator(3, 3, filters=4, n_blocks=1))
    f = ResnetGenerator(3, 3, filters=4, n_blocks=1)
    d_a, d_b = build_discriminator(config), build_discriminator(config)
    networks = CycleGANNetworks.create(g, f, d_a, d_b, config, torch.device("cpu"))
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    losses = networks.step(real, real.flip(-1), config, 1.0, torch.float32)
    assert all(math.isfinite(v) for v in losses.values()) and losses["paired"] == 0 and losses["identity"] > 0


def test_diversity_penalty_fires_only_when_every_photo_gets_the_same_colour():
    same = torch.full((4, 2, 8, 8), 20.0)
    varied = torch.stack([torch.full((2, 8, 8), float(v)) for v in (-30, -10, 10, 30)])
    assert diversity_penalty(same, 4.0) > 0.9
    assert diversity_penalty(varied, 4.0) == 0
    assert diversity_penalty(same[:1], 4.0) == 0


def test_image_pool_and_learning_rate_schedule():
    pool = ImagePool(3, seed=0)
    for i in range(10):
        out = pool.query(torch.full((2, 1, 1, 1), float(i)))
        assert out.shape == (2, 1, 1, 1)
    assert len(pool) == 3
    assert torch.equal(ImagePool(0).query(torch.ones(2, 1)), torch.ones(2, 1))
    assert learning_rate_factor(0, 100, 50) == 1.0 and learning_rate_factor(49, 100, 50) == 1.0
    assert learning_rate_factor(75, 100, 50) == pytest.approx(0.5) and learning_rate_factor(100, 100, 50) == 0.0


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "../x", "a/b", "", "bell\x07"])
def test_config_refuses_names_unfit_for_a_model_or_a_run_folder(name, tmp_path):
    with pytest.raises(ValueError) as caught:
        CycleGANConfig(tmp_path, tmp_path, name=name)
    assert str(caught.value) == model_name_problem(name)


def test_torch_free_config_agrees_with_the_torch_modules():
    """The config module repeats a few choices so it can stay torch-free; they must not drift."""
    from engine.models.architectures import layers
    from training.cyclegan import config as cyclegan_config
    from training.cyclegan import presets

    assert cyclegan_config.NORMS == layers.NORMS and cyclegan_config.ACTIVATIONS == layers.ACTIVATIONS
    assert presets.DEFAULT_PRESET == cyclegan_config.DEFAULT_PRESET
    assert [(p.name, p.title, p.description, dict(p.values)) for p in presets.PRESETS.values()] == [
        (p.name, p.title, p.description, dict(p.values)) for p in cyclegan_config.PRESETS.values()
    ]


def test_a_saved_config_with_a_bad_value_is_a_revive_error():
    with pytest.raises(ReviveError, match="bad value"):
        CycleGANConfig.from_json('{"old": "a", "color": "b", "steps": "many"}')
    with pytest.raises(ReviveError, match="bad value"):
        CycleGANConfig.from_json('{"old": "a", "color": "b", "name": "../up"}')


def test_training_under_a_shipped_models_name_needs_force(folders):
    with pytest.raises(ReviveError, match="shipped model"):
        next(iter(train_cyclegan(tiny_config(folders, name="revive-base"))))
    assert not (runs_dir() / "revive-base").exists()


def _fake_run(run_dir: Path, state: bytes | None = None, dataset: str | None = None) -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(CycleGANConfig(run_dir, run_dir).to_json())
    card = ModelCard(name=BASE, architecture="unet_colorizer", arguments={"widths": [8, 8, 16, 16], "blocks": 1})
    (run_dir / "base_card.json").write_text(card.to_json())
    (run_dir / "dataset.json").write_text(
        dataset
        or json.dumps({"base_path": "b", "old_folder": "o", "color_folder": "c", "old_images": 1, "color_images": 1})
    )
    (run_dir / "state.pt").write_bytes(state if state is not None else b"\x80\x04not a state")
    return run_dir


class _RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_exporting_a_damaged_or_hostile_run_is_one_revive_error(tmp_path, capsys):
    hostile = tmp_path / "hostile.pt"
    torch.save({"G": _RunsCode(), "step": torch.tensor(1)}, hostile)
    for index, state in enumerate((b"", b"random \x00\xff bytes", hostile.read_bytes())):
        with pytest.raises(ReviveError, match="damaged") as caught:
            export_cyclegan(_fake_run(tmp_path / f"run{index}", state=state), "out", keep_worse=True)
        assert "weights_only" not in str(caught.value) and "\n" not in str(caught.value)
    assert "must never run" not in capsys.readouterr().out
    with pytest.raises(ReviveError, match="damaged"):
        export_cyclegan(_fake_run(tmp_path / "bad-dataset", dataset='{"base_path": 3}'), "out", keep_worse=True)
    with pytest.raises(ReviveError, match="not a JSON object"):
        export_cyclegan(_fake_run(tmp_path / "list-dataset", dataset="[1, 2]"), "out", keep_worse=True)
