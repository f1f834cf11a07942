"""Training a base colorizer (training.base.trainer): it learns, resumes exactly, installs a usable model.

Runs are tiny (32 px crops, a network of a few thousand weights, a dozen steps) on generated photos
whose colour follows their brightness (dark blue and bright yellow stripes), so a few steps are
enough for the loss to fall whatever the random crop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from engine import device as device_module
from engine.cancel import CancelToken
from engine.device import select_device
from engine.errors import Cancelled, ReviveError
from engine.models.architectures.resnet_generator import ResnetGenerator
from engine.models.colorizer import Colorizer
from engine.models.files import ModelCard, load_model, save_model
from engine.models.registry import user_model_path
from engine.paths import runs_dir
from tests.helpers import gradient_luma, install_model, tiny_module
from training.base.config import BaseTrainingConfig
from training.base.trainer import train_base
from training.data import photo_folder
from training.events import CheckpointSaved, StepDone, TrainingFinished, TrainingStarted, ValidationDone

STEPS = 10
DARK_BLUE = (30, 40, 160)
BRIGHT_YELLOW = (240, 220, 60)


def _stripes(shift: int) -> np.ndarray:
    image = np.empty((48, 48, 3), np.uint8)
    x = (np.arange(48) + shift) // 4 % 2
    image[:, x == 0] = DARK_BLUE
    image[:, x == 1] = BRIGHT_YELLOW
    return image


def _config(photos: Path, name: str, **changes) -> BaseTrainingConfig:
    settings = dict(
        photos=photos,
        name=name,
        steps=STEPS,
        size=32,
        batch_size=4,
        learning_rate=0.6,
        widths=(8, 8, 16, 16),
        blocks=1,
        device="cpu",
        checkpoint_every=3,
        validation_images=4,
        temperatures=(0.38, 1.0),
        seed=0,
    )
    settings.update(changes)
    return BaseTrainingConfig(**settings)


def _run(config: BaseTrainingConfig, cancel_after: int | None = None) -> list[object]:
    """All events of a run; the network's initial weights are seeded, so runs can be compared."""
    cancel = CancelToken()
    torch.manual_seed(1234)
    events = []
    for event in train_base(config, cancel):
        events.append(event)
        if cancel_after is not None and isinstance(event, StepDone) and event.step == cancel_after:
            cancel.cancel()
    return events


def _losses(events) -> dict[int, float]:
    return {e.step: e.losses["colour_classes"] for e in events if isinstance(e, StepDone)}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """REVIVE_HOME, a folder of colour photos, fp32 on the CPU (deterministic on every CPU)."""
    root = tmp_path_factory.mktemp("training")
    photos = root / "photos"
    photos.mkdir()
    for i in range(2):
        Image.fromarray(_stripes(shift=i)).save(photos / f"stripes{i}.png")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REVIVE_HOME", str(root / "home"))
        patch.setattr(device_module, "cpu_has_fast_bf16", lambda: False)
        yield root, photos


@pytest.fixture(scope="module")
def finished_run(workspace):
    root, photos = workspace
    config = _config(photos, "stripes")
    return config, _run(config)


def test_training_lowers_the_loss(finished_run):
    _, events = finished_run
    losses = list(_losses(events).values())
    assert len(losses) == STEPS
    assert all(np.isfinite(losses))
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < 0.85 * first, losses


def test_a_run_reports_its_progress(finished_run, workspace):
    root, _ = workspace
    _, events = finished_run
    started = events[0]
    assert isinstance(started, TrainingStarted)
    assert (started.start_step, started.total_steps) == (0, STEPS)
    assert started.train_images == 1 and started.validation_images == 1
    assert started.run_dir == root / "home" / "runs" / "base-stripes"
    assert [e.step for e in events if isinstance(e, StepDone)] == list(range(1, STEPS + 1))
    assert [e.step for e in events if isinstance(e, CheckpointSaved)] == [3, 6, 9, 10]
    [validation] = [e for e in events if isinstance(e, ValidationDone)]
    assert validation.step == STEPS and "psnr" in validation.metrics
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and not finished.cancelled
    assert finished.step == STEPS
    assert finished.model_path == root / "home" / "models" / "stripes.safetensors"


def test_the_installed_model_loads_and_colorizes(finished_run):
    config, events = finished_run
    module, card = load_model(events[-1].model_path)
    assert card.name == "stripes" and card.architecture == "unet_colorizer"
    assert card.arguments == {"widths": [8, 8, 16, 16], "blocks": 1, "hints": True, "global_fusion": True}
    assert card.temperature in config.temperatures
    assert card.training["steps_done"] == STEPS
    assert "1 colour photos" in card.trained_on
    colorizer = Colorizer(module, card, select_device("cpu", "fp32"), events[-1].model_path)
    rgb = colorizer.colorize(gradient_luma(45, 30))
    assert rgb.shape == (30, 45, 3) and rgb.dtype == np.uint8
    # and by name, as a user would
    assert Colorizer.load("stripes", device="cpu").path == events[-1].model_path


def test_starting_over_an_existing_run_without_resume_is_refused(finished_run):
    config, _ = finished_run
    with pytest.raises(ReviveError, match="--resume"):
        list(train_base(config))


def test_resume_continues_from_the_saved_step(finished_run):
    config, _ = finished_run
    events = _run(_config(config.photos, "stripes", steps=STEPS + 2, resume=True))
    started = events[0]
    assert isinstance(started, TrainingStarted)
    assert (started.start_step, started.total_steps) == (STEPS, STEPS + 2)
    assert list(_losses(events)) == [STEPS + 1, STEPS + 2]
    assert events[-1].step == STEPS + 2 and events[-1].model_path is not None


def test_cancel_saves_the_state_and_resuming_gives_the_same_training(finished_run):
    config, straight = finished_run
    stopped_at = 6
    first = _run(_config(config.photos, "interrupted"), cancel_after=stopped_at)
    assert first[-1] == TrainingFinished(stopped_at, None, cancelled=True)
    assert [e.step for e in first if isinstance(e, CheckpointSaved)][-1] == stopped_at
    assert list(_losses(first)) == list(range(1, stopped_at + 1))

    second = _run(_config(config.photos, "interrupted", resume=True))
    assert second[0].start_step == stopped_at
    assert second[-1].step == STEPS and not second[-1].cancelled
    resumed = _losses(second)
    assert list(resumed) == list(range(stopped_at + 1, STEPS + 1))
    # the same batches, weights and optimiser state as the uninterrupted run
    expected = _losses(straight)
    for step, loss in resumed.items():
        assert loss == pytest.approx(expected[step], rel=1e-3), step


def test_stop_while_the_decoding_is_chosen_saves_the_run_and_resume_only_chooses_it(finished_run, monkeypatch):
    import training.base.trainer as trainer

    config, _ = finished_run
    cancel = CancelToken()
    real_sweep = trainer.sweep

    def stopped_sweep(*args, **kwargs):  # Ctrl+C after the last step, while the decodings are scored
        cancel.cancel()
        return real_sweep(*args, **kwargs)

    monkeypatch.setattr(trainer, "sweep", stopped_sweep)
    torch.manual_seed(1234)
    events = list(train_base(_config(config.photos, "late-stop"), cancel))
    assert events[-1] == TrainingFinished(STEPS, None, cancelled=True)  # not "nothing was trained"
    assert not user_model_path("late-stop").exists()

    monkeypatch.setattr(trainer, "sweep", real_sweep)
    resumed = _run(_config(config.photos, "late-stop", resume=True))
    assert not _losses(resumed)  # no step trained again: straight to the decoding
    assert resumed[-1].step == STEPS and not resumed[-1].cancelled and resumed[-1].model_path.is_file()


def test_stop_while_the_photos_are_read_ends_at_once_without_a_run(workspace, monkeypatch):
    root, photos = workspace
    cancel = CancelToken()
    cancel.cancel()  # Ctrl+C before the first photo is read
    read: list[Path] = []
    monkeypatch.setattr(photo_folder, "square", lambda path, size: read.append(path))
    with pytest.raises(Cancelled):
        list(train_base(_config(photos, "stopped"), cancel))
    assert read == [] and not (runs_dir() / "base-stopped" / "state.pt").exists()


def test_a_missing_photo_folder_is_a_revive_error(workspace):
    root, _ = workspace
    with pytest.raises(ReviveError, match="does not exist"):
        list(train_base(_config(root / "missing", "nothing")))


def test_a_folder_of_unreadable_photos_is_a_revive_error(workspace):
    root, _ = workspace
    junk = root / "junk"
    junk.mkdir()
    (junk / "a.jpg").write_text("not a photo")
    (junk / "b.png").write_text("not a photo either")
    with pytest.raises(ReviveError, match="no readable photos"):
        list(train_base(_config(junk, "junk")))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps": 0}, "steps must be at least 1, got 0"),
        ({"size": 40}, "size must be a multiple of 16"),
        ({"batch_size": 0}, "batch size must be from 2 to 1024, got 0"),
        ({"learning_rate": 1.5}, "learning rate must be between 0 and 1"),
        ({"name": ""}, "needs a name"),
        ({"augment_strength": 2.5}, "augmentation strength must be from 0 to 2, got 2.5"),
        ({"augment_strength": float("nan")}, "augmentation strength must be from 0 to 2"),
        ({"regression_weight": -1.0}, "regression weight must be a number of at least 0"),
        ({"regression_weight": float("inf")}, "regression weight must be a number of at least 0"),
        ({"snapshot_images": 0}, "snapshot images must be from 1 to 10000, got 0"),
        ({"decoded_weight": -0.5}, "decoded-colour weight must be a number of at least 0"),
        ({"decoded_weight": float("nan")}, "decoded-colour weight must be a number of at least 0"),
        ({"decoded_colour_floor": 1.5}, "decoded colour floor must be from 0 to 1, got 1.5"),
    ],
)
def test_bad_settings_say_what_is_wrong(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        _config(tmp_path, **{"name": "x", **changes})


def test_continuing_a_model_keeps_its_architecture_weights_prior_and_decoding_neighbourhood(finished_run, workspace):
    root, photos = workspace
    _, events = finished_run
    start_module, start_card = load_model(events[-1].model_path)  # "stripes", trained above
    # Options that disagree with the start model: its architecture wins; a learning rate so small
    # that the continued weights must be the start model's, not a fresh random network's.
    config = _config(photos, "stripes-more", steps=3, learning_rate=1e-12, widths=(8, 8, 8, 8), init_from="stripes")
    finished = _run(config)[-1]

    module, card = load_model(finished.model_path)
    assert card.arguments == start_card.arguments and card.training["init_from"] == "stripes"
    continued = dict(module.named_parameters())  # (BatchNorm's running statistics do move: train mode)
    for name, tensor in start_module.named_parameters():
        assert torch.allclose(continued[name], tensor, atol=1e-6), name
    assert torch.allclose(module.log_class_weights, start_module.log_class_weights, atol=1e-5)  # its colour prior
    tried = finished.metrics["decoding_sweep"]
    scales = {1.0, 1.1, 1.2, start_card.chroma_scale}
    assert len(tried) == 2 * 2 * len(scales)  # T and T+0.1, its prior and 1, chroma 1 to 1.2 and its own
    assert all(f"R={start_card.render_size} " in label for label in tried)


def test_continuing_a_missing_or_foreign_model_is_one_revive_error(workspace, tmp_path):
    root, photos = workspace
    with pytest.raises(ReviveError, match="nope"):
        _run(_config(photos, "from-nowhere", init_from="nope"))
    foreign = tmp_path / "rgb.safetensors"  # a colorizer of another kind (RGB -> RGB): not continuable
    arguments = {"in_channels": 1, "out_channels": 2, "filters": 4, "n_blocks": 1}
    save_model(
        foreign,
        ResnetGenerator(**arguments),
        ModelCard(name="rgb", architecture="resnet_generator", arguments=arguments),
    )
    with pytest.raises(ReviveError, match="not a Revive colorizer"):
        _run(_config(photos, "from-foreign", init_from=str(foreign)))


def test_the_decoded_colour_term_trains_with_the_continued_models_decoding(finished_run, workspace, monkeypatch):
    import training.base.trainer as trainer

    root, photos = workspace
    calls = []

    def spy(*args):
        calls.append(args[5:])  # temperature, prior correction, chroma scale, roll-off, colour floor
        return trainer_loss(*args)

    trainer_loss = trainer.decoded_error_loss
    monkeypatch.setattr(trainer, "decoded_error_loss", spy)
    config = _config(photos, "stripes-decoded", steps=4, learning_rate=0.05, init_from="stripes", decoded_weight=1.0)
    events = _run(config)
    start = load_model(finished_run[1][-1].model_path)[1]
    assert calls and set(calls) == {(start.temperature, start.prior_correction, start.chroma_scale, 0.0, 0.5)}
    terms = [e.losses["decoded_vs_gray"] for e in events if isinstance(e, StepDone)]
    assert len(terms) == 4 and all(np.isfinite(terms)) and all(t > 0 for t in terms)
    _, card = load_model(events[-1].model_path)
    assert card.training["decoded_weight"] == 1.0 and "decoded colour" in card.training["loss"]
    # Off by default: the recipe of the shipped model is unchanged.
    assert all("decoded_vs_gray" not in e.losses for e in finished_run[1] if isinstance(e, StepDone))


def _loss_with_nan_gradients(nan_calls: set[int]):
    """The real colour-class loss, plus on the listed calls a term whose value is 0 but whose
    gradient is NaN everywhere (sqrt's slope at 0 times 0): a finite loss with non-finite gradients."""
    from training.colour_classes import colour_class_loss

    calls = iter(range(1_000_000))

    def loss(logits, *args):
        value = colour_class_loss(logits, *args)
        if next(calls) in nan_calls:
            value = value + torch.sqrt(logits.float().sum() * 0.0) * 0.0
        return value

    return loss


def test_a_step_with_non_finite_gradients_is_left_out_and_the_model_stays_finite(workspace, monkeypatch, caplog):
    import training.base.trainer as trainer

    _, photos = workspace
    monkeypatch.setattr(trainer, "colour_class_loss", _loss_with_nan_gradients({0, 4}))
    events = _run(_config(photos, "one-bad-step"))
    finished = events[-1]
    assert isinstance(finished, TrainingFinished) and not finished.cancelled and finished.step == STEPS
    module, _ = load_model(finished.model_path)  # refuses NaN or infinite weights
    assert all(torch.isfinite(p).all() for p in module.state_dict().values())
    assert "step 0 left out" in caplog.text and "step 4 left out" in caplog.text


def test_steps_in_a_row_with_non_finite_gradients_stop_the_run_in_one_line(workspace, monkeypatch):
    import training.base.trainer as trainer

    root, photos = workspace
    monkeypatch.setattr(trainer, "colour_class_loss", _loss_with_nan_gradients(set(range(100))))
    with pytest.raises(ReviveError, match=r"diverged at step 2 \(3 steps in a row with non-finite gradients\)"):
        _run(_config(photos, "all-bad-steps"))
    assert not (root / "home" / "models" / "all-bad-steps.safetensors").exists()


def test_batches_made_several_ahead_give_the_same_training(finished_run, workspace, monkeypatch):
    """On a GPU several batches are made at once (``prefetch_depth``): the run is the same."""
    import training.base.trainer as trainer

    assert trainer.prefetch_depth(torch.device("cpu")) == 1  # its cores train: one batch ahead
    assert trainer.prefetch_depth(torch.device("cuda")) == trainer.PREFETCH_ON_ACCELERATORS > 1
    _, photos = workspace
    _, events = finished_run
    monkeypatch.setattr(trainer, "prefetch_depth", lambda device: 3)
    ahead = _run(_config(photos, "ahead"))
    assert _losses(ahead) == _losses(events)


def test_the_decodings_swept_for_a_continued_model_add_the_mirror_only_when_asked(tmp_path):
    from training.decoding_sweep import Decoding

    start = Decoding(192, 0.6, 0.85, 1.2, 0.0, True)
    assert _config(tmp_path, "c").decoding_grid(start)[5] == (True,)  # the model's own
    assert _config(tmp_path, "c", flips=(False, True)).decoding_grid(start)[5] == (False, True)
    assert _config(tmp_path, "c", flips=(False, True)).decoding_grid(None)[5] == (False, True)


def test_a_continued_model_keeps_its_rolloff_toward_white(tmp_path, home):
    from training.base.trainer import starting_model
    from training.decoding_sweep import Decoding

    install_model(home, "pale", tiny_module(hints=True), render_size=64, lightness_rolloff=0.7)
    start = starting_model("pale").decoding
    assert start.lightness_rolloff == 0.7
    assert _config(tmp_path, "c").decoding_grid(start)[6] == (0.7,)  # swept around the model's own
    assert _config(tmp_path, "c").decoding_grid(None)[6] == (0.0,)  # a new model starts without
    assert Decoding.of_card(load_model(home / "models" / "pale.safetensors")[1]) == start


def test_every_snapshot_is_scored_on_the_tune_photos_and_the_card_says_which_was_kept(workspace):
    root, photos = workspace
    events = _run(_config(photos, "scored", validate_every=5))
    validations = [e for e in events if isinstance(e, ValidationDone)]
    assert [v.step for v in validations] == [5, 10]
    for validation in validations:  # a real score of the averaged weights, at three chroma scales
        assert validation.tuned["photos"] == 1 and "scale=" in validation.tuned["decoding"]
        assert validation.tuned["summary"]["ciede2000"] > 0
    run = root / "home" / "runs" / "base-scored" / "snapshots"
    for step, validation in zip((5, 10), validations):
        card = load_model(run / f"step-{step:06d}.safetensors")[1]
        assert card.metrics["snapshot_score"] == validation.tuned  # kept for a resumed run
    choice = events[-1].metrics["snapshot_choice"]
    assert choice["last_step"] == STEPS and set(choice["scores"]) == {"5", "10"}
    assert choice["kept_step"] in (5, 10)
    assert load_model(events[-1].model_path)[1].metrics["snapshot_choice"] == choice


def _better_at(step_wanted: int):
    """A snapshot score that clears every floor at ``step_wanted`` and none elsewhere."""
    import training.base.trainer as trainer

    real = trainer._score

    def score(run, model, step):
        result = real(run, model, step)
        if result is not None and step == step_wanted:
            result["summary"] = {**result["summary"], "ciede2000": 0.0, "better_than_gray": 1.0}
        return result

    return score


def test_an_earlier_snapshot_that_scores_better_is_the_one_installed(workspace, monkeypatch):
    import training.base.trainer as trainer

    root, photos = workspace
    monkeypatch.setattr(trainer, "_score", _better_at(5))
    events = _run(_config(photos, "earlier", validate_every=5))
    assert events[-1].metrics["snapshot_choice"]["kept_step"] == 5
    snapshot = load_model(root / "home" / "runs" / "base-earlier" / "snapshots" / "step-000005.safetensors")[0]
    last = load_model(root / "home" / "runs" / "base-earlier" / "snapshots" / "step-000010.safetensors")[0]
    installed = load_model(events[-1].model_path)[0]
    for name, tensor in installed.state_dict().items():
        assert torch.equal(tensor, snapshot.state_dict()[name]), name
    assert any(not torch.equal(t, last.state_dict()[n]) for n, t in installed.state_dict().items())


def test_keep_last_installs_the_last_weights_without_scoring(workspace, monkeypatch):
    import training.base.trainer as trainer

    _, photos = workspace
    monkeypatch.setattr(trainer, "_score", _better_at(5))
    events = _run(_config(photos, "last", validate_every=5, keep_best=False))
    assert all(e.tuned is None for e in events if isinstance(e, ValidationDone))
    assert "snapshot_choice" not in events[-1].metrics
    assert events[-1].model_path.is_file()


def test_a_resumed_run_still_compares_the_snapshots_made_before_it_stopped(workspace, monkeypatch):
    import training.base.trainer as trainer

    root, photos = workspace
    monkeypatch.setattr(trainer, "_score", _better_at(5))
    first = _run(_config(photos, "resumed-choice", validate_every=5), cancel_after=7)
    assert first[-1].cancelled
    monkeypatch.setattr(trainer, "_score", _better_at(-1))  # step 5 is not scored again: its card says
    second = _run(_config(photos, "resumed-choice", validate_every=5, resume=True))
    assert second[-1].metrics["snapshot_choice"]["kept_step"] == 5


def test_a_damaged_or_forged_snapshot_score_is_left_out_of_the_choice(workspace):
    from training.base.snapshot_choice import scored_snapshots, valid_score

    root, photos = workspace
    events = _run(_config(photos, "forged", validate_every=5))
    good = events[-1].metrics["snapshot_choice"]["scores"]["5"]
    assert valid_score(good) == good
    for bad in (
        None,
        "best",
        {**good, "photos": True},
        {**good, "photos": 0},
        {**good, "decoding": 7},
        {**good, "summary": {**good["summary"], "ciede2000": float("nan")}},
        {**good, "summary": {**good["summary"], "better_than_gray": "1"}},
        {**good, "summary": {k: v for k, v in good["summary"].items() if k != "psnr"}},
    ):
        assert valid_score(bad) is None, bad
    folder = root / "home" / "runs" / "base-forged" / "snapshots"
    config = _config(photos, "forged")
    assert set(scored_snapshots(folder, config, STEPS, photos=1)) == {5, 10}
    assert set(scored_snapshots(folder, config, 7, photos=1)) == {5}  # none beyond the run's step
    assert scored_snapshots(folder, config, STEPS, photos=2) == {}  # scored on other photos
    assert scored_snapshots(folder, _config(photos, "forged", tune_photos=photos), STEPS, photos=1) == {}
    (folder / "step-000005.safetensors").write_bytes(b"not a model")
    (folder / "step-00000x.safetensors").write_bytes(b"")
    other = _config(photos, "forged", widths=(8, 8, 16, 32))
    assert set(scored_snapshots(folder, config, STEPS, photos=1)) == {10}
    assert scored_snapshots(folder, other, STEPS, photos=1) == {}  # another architecture


def test_the_scoring_decodings_bracket_the_runs_own_chroma(tmp_path):
    from training.base.snapshot_choice import scoring_decodings
    from training.decoding_sweep import Decoding

    start = Decoding(192, 0.6, 0.85, 1.65, 0.0, True, 0.7)
    decodings = scoring_decodings(_config(tmp_path, "c"), start)
    assert [d.chroma_scale for d in decodings] == [1.402, 1.65, 1.98]
    assert {
        (d.render_size, d.temperature, d.prior_correction, d.flip_average, d.lightness_rolloff) for d in decodings
    } == {(192, 0.6, 0.85, True, 0.7)}
    fresh = scoring_decodings(_config(tmp_path, "c"), None)
    assert [d.chroma_scale for d in fresh] == [0.85, 1.0, 1.2] and fresh[0].render_size == 192


def test_a_run_stopped_before_it_installed_gives_its_best_snapshot_file(workspace, monkeypatch, tmp_path):
    import training.base.trainer as trainer
    from training.base.snapshot_choice import best_snapshot_file

    root, photos = workspace
    monkeypatch.setattr(trainer, "_score", _better_at(5))
    _run(_config(photos, "capped", validate_every=5))
    folder = root / "home" / "runs" / "base-capped" / "snapshots"
    assert best_snapshot_file(folder) == folder / "step-000005.safetensors"
    _run(_config(photos, "unscored", validate_every=5, keep_best=False))
    folder = root / "home" / "runs" / "base-unscored" / "snapshots"
    assert best_snapshot_file(folder) == folder / "step-000010.safetensors"  # none scored: the newest
    assert best_snapshot_file(tmp_path / "nothing") is None
