"""A fine-tune earns its place: scored against its base on held-out colour photos, the best step kept,
nothing installed when it never beats the base (unless the user insists). Tiny models, tiny photos."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import training.cyclegan.trainer as trainer
from engine.device import select_device
from engine.errors import ReviveError
from engine.imaging import read_preview_rgb
from engine.metrics import colourfulness, gray_copy, score, summarize
from engine.models.architectures.unet_colorizer import UNetColorizer
from engine.models.colorizer import Colorizer
from engine.models.files import ModelCard, load_model, save_model
from engine.models.registry import user_model_path
from tests.test_cyclegan import (  # noqa: F401 (fixtures)
    BASE,
    fake_summary,
    folders,
    home,
    scripted_scores,
    tiny_config,
    write_photos,
)
from training.cyclegan.config import BEST_MODEL_FILE, SCORES_FILE
from training.cyclegan.events import HoldoutScored
from training.cyclegan.export import NotBetter, export_cyclegan
from training.cyclegan.parts import adversarial_factor, build_discriminator
from training.cyclegan.presets import PRESETS, make_config
from training.cyclegan.scores import CAST_TOLERANCE, CIEDE_MARGIN, ScoreBook, beats
from training.cyclegan.step import CycleGANNetworks
from training.cyclegan.trainer import build_networks, train_cyclegan
from training.data.dataset_check import choose_holdout, list_images
from training.data.photo_folder import square
from training.events import StepDone, TrainingFinished


def _close(weights: dict[str, torch.Tensor], other: dict[str, torch.Tensor]) -> bool:
    """Equal up to the fp16 rounding of a saved model file."""
    return all(torch.allclose(weights[k].float(), other[k].float(), atol=2e-3, rtol=2e-3) for k in weights)


def _distance(weights: dict[str, torch.Tensor], other: dict[str, torch.Tensor]) -> float:
    return sum(float((weights[k].float() - other[k].float()).abs().sum()) for k in weights)


def _installed_weights(path) -> dict[str, torch.Tensor]:
    return load_model(path)[0].state_dict()


def test_a_run_that_gets_better_then_worse_installs_the_best_step(folders, scripted_scores):
    weights = scripted_scores(10.0, 9.0, 11.0)  # base, step 2 (better), step 4 (worse)
    events = list(train_cyclegan(tiny_config(folders, learning_rate=5e-3)))  # steps far apart in weight space
    scored = [e for e in events if isinstance(e, HoldoutScored)]
    assert [(e.step, e.better, e.best_step) for e in scored] == [(0, False, None), (2, True, 2), (4, False, 2)]
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and finished.model_path == user_model_path("tuned")
    assert finished.metrics["held_out_scores"]["best_step"] == 2 and finished.metrics["held_out_scores"]["installed"]

    installed = _installed_weights(finished.model_path)
    at_step_2, at_step_4 = weights[1], weights[2]
    assert _close(installed, at_step_2) and _distance(installed, at_step_2) < 0.2 * _distance(installed, at_step_4)
    card = load_model(finished.model_path)[1]
    assert card.training["steps_done"] == 2
    held = card.metrics["held_out_scores"]
    assert held["beats_base"] and held["measured_step"] == 2 and held["fine_tuned"]["ciede2000"] == 9.0
    run_dir = events[0].run_dir
    assert (run_dir / BEST_MODEL_FILE).is_file()
    assert json.loads((run_dir / SCORES_FILE).read_text())["best_step"] == 2


def test_a_run_that_only_gets_worse_installs_nothing_unless_the_user_insists(folders, scripted_scores):
    weights = scripted_scores(10.0, 10.5, 11.0)
    events = list(train_cyclegan(tiny_config(folders)))
    finished = events[-1]
    assert finished.model_path is None and not finished.metrics["held_out_scores"]["installed"]
    assert finished.metrics["held_out_scores"]["best_step"] is None
    assert not user_model_path("tuned").exists()
    run_dir = events[0].run_dir
    assert not (run_dir / BEST_MODEL_FILE).exists()
    with pytest.raises(NotBetter, match="does not beat tiny-base"):
        export_cyclegan(run_dir, "tuned")
    assert not user_model_path("tuned").exists()

    path = export_cyclegan(run_dir, "tuned", keep_worse=True)  # the user insists: the run's last G
    module, card = load_model(path)
    assert _close(module.state_dict(), weights[2]) and card.training["steps_done"] == 4
    assert "does not beat" in card.description and card.metrics["held_out_scores"]["beats_base"] is False


def test_keep_worse_in_the_config_installs_a_worse_run(folders, scripted_scores):
    scripted_scores(10.0, 12.0)
    finished = list(train_cyclegan(tiny_config(folders, keep_worse=True)))[-1]
    assert finished.model_path == user_model_path("tuned")
    assert load_model(finished.model_path)[1].metrics["held_out_scores"]["beats_base"] is False


def test_a_lower_ciede2000_with_a_stronger_cast_or_by_a_hair_does_not_count_as_better():
    base = fake_summary(10.0, cast_b=-1.0)
    assert beats(fake_summary(9.0, cast_b=-1.0 - CAST_TOLERANCE / 2), base)
    assert not beats(fake_summary(9.0, cast_b=-1.0 - 2 * CAST_TOLERANCE), base)  # bluer: not better
    assert not beats(fake_summary(10.0), base)
    assert not beats(fake_summary(10.0 - CIEDE_MARGIN / 2), base)  # a tie on a few photos is no gain
    assert beats(fake_summary(10.0 - CIEDE_MARGIN), base)


def test_the_best_step_survives_a_resume(folders, scripted_scores):
    scripted_scores(10.0, 9.0, 11.0)
    config = tiny_config(folders, steps=4, checkpoint_every=100)
    cancel = trainer.CancelToken()
    for event in train_cyclegan(config, cancel):
        if isinstance(event, HoldoutScored) and event.step == 2:
            cancel.cancel()
    resumed = list(train_cyclegan(tiny_config(folders, steps=4, checkpoint_every=100, resume=True)))
    replayed = [e for e in resumed if isinstance(e, HoldoutScored)]
    assert [e.step for e in replayed] == [0, 2, 4] and replayed[-1].best_step == 2
    assert load_model(resumed[-1].model_path)[1].training["steps_done"] == 2


def test_scores_are_measured_on_colour_photos_never_trained_on(folders, monkeypatch):
    seen = {}
    real = trainer.load_domain

    def recording(folder, config, role, *args, **kwargs):
        data = real(folder, config, role, *args, **kwargs)
        seen[role] = data
        return data

    monkeypatch.setattr(trainer, "load_domain", recording)
    config = tiny_config(folders, keep_worse=True)
    events = list(train_cyclegan(config))
    colour = seen["colour"]
    held = set(colour.held_out)
    assert len(held) == config.score_count and held.isdisjoint(colour.train_paths)
    assert colour.held_out == choose_holdout(list_images(folders[1]), config.score_count)  # stable, by name hash
    # Not one of the held-out photos is in the training cache the batches are cut from.
    for path in held:
        cached = square(path, config.cache_size)
        assert not any(np.array_equal(cached, image) for image in colour.cache)
    assert colour.count == len(colour.train_paths) == len(list_images(folders[1])) - len(held)
    book = json.loads((events[0].run_dir / SCORES_FILE).read_text())
    assert book["photos"] == [p.name for p in colour.held_out]
    assert json.loads((events[0].run_dir / "dataset.json").read_text())["color_holdout"] == book["photos"]


def test_the_scores_are_those_of_the_installed_model_as_it_colours(folders):
    """Measured independently through the engine (load the installed file, colorize the gray copies,
    score): the same numbers as the run recorded for the step it installed."""
    config = tiny_config(folders, keep_worse=True)
    finished = list(train_cyclegan(config))[-1]
    module, card = load_model(finished.model_path)
    colorizer = Colorizer(module, card, select_device("cpu", "fp32"))
    names = load_model(finished.model_path)[1].training["held_out"]["color"]
    rows, gray_rows, fullness = [], [], []
    for name in names:
        original = read_preview_rgb(folders[1] / name, config.score_side)
        gray = gray_copy(original)
        rows.append(score(colorizer.colorize(gray[..., 0]), original))
        gray_rows.append(score(gray, original))
        fullness.append(colourfulness(original))
    independent = summarize(rows, gray_rows, fullness)
    recorded = card.metrics["held_out_scores"]["fine_tuned"]
    assert independent["ciede2000"] == pytest.approx(recorded["ciede2000"], abs=0.05)
    assert independent["mean_b_error"] == pytest.approx(recorded["mean_b_error"], abs=0.1)
    assert independent["gray_ciede2000"] == pytest.approx(recorded["gray_ciede2000"], abs=1e-6)


def test_a_base_with_hint_channels_and_a_global_branch_fine_tunes(home, folders):
    """revive-base v2's architecture: G is built from its card; hint channels are fed zeros."""
    arguments = {"widths": [8, 8, 16, 16], "blocks": 1, "hints": True, "global_fusion": True}
    torch.manual_seed(1)
    save_model(
        user_model_path("tiny-v2"),
        UNetColorizer(**arguments).eval(),
        ModelCard(name="tiny-v2", architecture="unet_colorizer", arguments=arguments, render_size=64),
    )
    events = list(train_cyclegan(tiny_config(folders, base="tiny-v2", name="tuned-v2", keep_worse=True)))
    steps = [e for e in events if isinstance(e, StepDone)]
    assert steps and all(np.isfinite(list(e.losses.values())).all() and e.losses["paired"] > 0 for e in steps)
    module, card = load_model(events[-1].model_path)
    assert card.arguments == arguments and card.base_model == "tiny-v2"
    rgb = Colorizer(module, card, select_device("cpu", "fp32")).colorize(np.full((40, 56), 120, np.uint8))
    assert rgb.shape == (40, 56, 3)


def test_g_learns_slower_than_f_and_the_adversarial_terms_ramp_in(home, folders):
    config = tiny_config(folders, learning_rate=2e-4, g_learning_rate=2e-5, adversarial_warmup=10)
    module, card, _ = trainer.load_base(BASE)
    networks = build_networks(config, torch.device("cpu"), module, card)
    networks.g.class_weights = torch.ones(len(module.bin_centers))
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    networks.step(real, real.flip(-1), config, 0.5, torch.float32, adversarial_factor(0, config.adversarial_warmup))
    g_group, f_group = networks.opt_g.param_groups
    assert g_group["lr"] == pytest.approx(1e-5) and f_group["lr"] == pytest.approx(1e-4)
    assert networks.opt_d.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert [adversarial_factor(s, 10) for s in (0, 5, 10, 50)] == [0.0, 0.5, 1.0, 1.0]
    assert adversarial_factor(0, 0) == 1.0
    quick = make_config("quick-cpu", folders[0], folders[1])
    assert quick.g_lr < quick.learning_rate and quick.adversarial_warmup > 0
    assert quick.paired_weight > quick.adversarial_weight and quick.cycle_weight == 10 and quick.identity_weight == 0.5
    assert all(p.values.get("score_count", 8) >= 3 for p in PRESETS.values())


def test_a_damaged_scores_file_is_one_revive_error(folders, scripted_scores):
    scripted_scores(10.0, 9.0)
    events = list(train_cyclegan(tiny_config(folders, name=None)))
    run_dir = events[0].run_dir
    (run_dir / SCORES_FILE).write_text('{"photos": "x", "base": {}}')
    with pytest.raises(ReviveError, match="damaged scores") as caught:
        export_cyclegan(run_dir, "out")
    assert "\n" not in str(caught.value)


def test_a_score_book_round_trips_and_keeps_the_best_that_beats_the_base():
    book = ScoreBook(("a.jpg", "b.jpg"), fake_summary(10.0))
    assert not book.record(0, fake_summary(10.0))
    assert book.record(50, fake_summary(9.5)) and not book.record(100, fake_summary(9.7))
    assert book.record(150, fake_summary(9.2)) and book.best_step == 150
    again = ScoreBook.from_json(book.to_json())
    assert again == book and again.best["ciede2000"] == 9.2
    with pytest.raises(ValueError):
        ScoreBook.from_json(json.dumps({"photos": [], "base": fake_summary(1.0), "history": [], "best_step": 7}))


def test_the_colour_folder_gray_photos_are_not_trained_on(home, tmp_path):
    old, colour = home / "old2", home / "colour2"
    write_photos(old, 10, "gray", seed=4)
    write_photos(colour, 10, "colour", seed=5)
    write_photos(colour, 3, "gray", seed=6)
    config = tiny_config((old, colour), name=None, keep_worse=True)
    data = trainer.load_domain(colour, config, "colour", holdout=config.score_count, colour_only=True)
    assert not [p for p in data.train_paths if p.name.startswith("gray")]
    assert data.count == len(data.train_paths)


def test_plain_rgb_networks_still_use_one_learning_rate_per_group():
    """The Monet example: the same two groups (G, F) at the config's rates."""
    from pathlib import Path

    from engine.models.architectures.resnet_generator import ResnetGenerator
    from training.cyclegan.config import CycleGANConfig
    from training.cyclegan.step import RGBGenerator

    config = CycleGANConfig(Path("a"), Path("b"), f_filters=4, f_blocks=1, d_filters=4, d_layers=2, size=32)
    networks = CycleGANNetworks.create(
        RGBGenerator(ResnetGenerator(3, 3, filters=4, n_blocks=1)),
        ResnetGenerator(3, 3, filters=4, n_blocks=1),
        build_discriminator(config),
        build_discriminator(config),
        config,
        torch.device("cpu"),
    )
    assert [g["initial_lr"] for g in networks.opt_g.param_groups] == [2e-4, 2e-4]
