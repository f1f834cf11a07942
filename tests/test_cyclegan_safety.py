"""train (CycleGAN) keeps NaN out of its files and never replaces a model it did not install."""

from __future__ import annotations

import pytest
import torch

import engine.device
import main
from engine.errors import ReviveError
from engine.models.files import load_model
from engine.models.registry import user_model_path
from engine.paths import runs_dir
from tests.test_cyclegan import BASE, folders, home, tiny_config, write_photos  # noqa: F401 (fixtures)
from tests.test_cyclegan_command import one_error_line, train_args
from training.cyclegan.config import LATEST_MODEL_FILE, STATE_FILE
from training.cyclegan.export import export_cyclegan, load_run_state
from training.cyclegan.parts import MIN_BF16_CPU_CROP, training_precision
from training.cyclegan.scores import save_generator
from training.cyclegan.step import CycleGANNetworks
from training.cyclegan.trainer import build_networks, load_base, save_checkpoint, train_cyclegan
from training.events import TrainingStarted

USER_BYTES = b"the user's own model"


# -- NaN -----------------------------------------------------------------------------------------


def test_the_testers_tiny_run_leaves_finite_weights_and_installs(home, tmp_path, capsys):
    """The reported run: the shipped base, the tiny preset's 32 px crops, precision auto on the CPU
    (bf16 there on a CPU with bf16 instructions, which put NaN into G's global branch)."""
    old, colour = tmp_path / "old", tmp_path / "colour"
    write_photos(old, 10, "gray", seed=1, size=(80, 96))
    write_photos(colour, 12, "colour", seed=3, size=(80, 96))
    argv = ["train", "--old", str(old), "--color", str(colour), "--out", "t3", "--preset", "tiny"]
    assert main.main([*argv, "--steps", "2", "--device", "cpu", "--keep-worse"]) == 0, capsys.readouterr().err
    installed, _ = load_model(user_model_path("t3"))  # load_model refuses NaN or infinite weights
    assert all(torch.isfinite(t).all() for t in installed.state_dict().values() if t.is_floating_point())
    load_run_state(runs_dir() / "t3" / STATE_FILE)  # resumable: its weights are checked finite too


def test_auto_precision_trains_small_crops_on_the_cpu_in_fp32(monkeypatch):
    monkeypatch.setattr(engine.device, "cpu_has_fast_bf16", lambda: True)
    assert training_precision("cpu", "auto", 32).dtype == torch.float32
    assert training_precision("cpu", "auto", MIN_BF16_CPU_CROP).dtype == torch.bfloat16
    assert training_precision("cpu", "bf16", 32).dtype == torch.bfloat16  # asked for: kept (the guard watches)


def _networks(folders, **changes) -> CycleGANNetworks:
    config = tiny_config(folders, **changes)
    module, card, _ = load_base(BASE)
    return build_networks(config, torch.device("cpu"), module, card)


def _batch(seed: int) -> torch.Tensor:
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_an_injected_non_finite_gradient_skips_the_update_and_keeps_the_weights(folders):
    config = tiny_config(folders)
    networks = _networks(folders)
    networks.train()
    g_before = {k: v.clone() for k, v in networks.g.module.state_dict().items()}
    f_before = {k: v.clone() for k, v in networks.f.state_dict().items()}
    d_before = {k: v.clone() for k, v in networks.d_b.state_dict().items()}
    poisoned = next(networks.g.module.parameters())
    handle = poisoned.register_hook(lambda grad: torch.full_like(grad, float("nan")))
    losses = networks.step(_batch(1), _batch(2), config, 1.0, torch.float32)
    handle.remove()
    assert networks.skipped == ("G",) and all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    for name, tensor in networks.g.module.state_dict().items():
        assert torch.equal(tensor, g_before[name]), name  # G (and F, same update) untouched
    assert all(torch.equal(t, f_before[k]) for k, t in networks.f.state_dict().items())
    assert not networks.opt_g.state  # no Adam moment took the NaN in
    d_after = networks.d_b.state_dict()
    assert any(not torch.equal(d_after[k], d_before[k]) for k in d_before)  # D's own update still ran
    assert all(torch.isfinite(t).all() for t in d_after.values() if t.is_floating_point())
    networks.step(_batch(3), _batch(4), config, 1.0, torch.float32)
    assert networks.skipped == ()  # the next clean step trains again


def test_a_run_whose_gradients_stay_non_finite_stops_with_its_last_good_checkpoint(folders, monkeypatch):
    original = CycleGANNetworks.step

    def poisoned(self, *args, **kwargs):
        handles = [p.register_hook(lambda g: torch.full_like(g, float("inf"))) for p in self.g.module.parameters()]
        try:
            return original(self, *args, **kwargs)
        finally:
            for handle in handles:
                handle.remove()

    monkeypatch.setattr(CycleGANNetworks, "step", poisoned)
    config = tiny_config(folders, steps=6, checkpoint_every=2)
    with pytest.raises(ReviveError, match="3 steps in a row with non-finite gradients"):
        list(train_cyclegan(config))
    state = load_run_state(config.resolved_run_dir() / STATE_FILE)  # checked: finite, resumable
    assert int(state["step"]) == 2
    assert not user_model_path("tuned").exists()


def test_non_finite_weights_are_never_checkpointed_or_saved(folders):
    config = tiny_config(folders)
    module, card, _ = load_base(BASE)
    networks = build_networks(config, torch.device("cpu"), module, card)
    run_dir = config.resolved_run_dir()
    run_dir.mkdir(parents=True)
    save_checkpoint(run_dir, networks, card, 1)
    good_state = (run_dir / STATE_FILE).read_bytes()
    good_latest = (run_dir / LATEST_MODEL_FILE).read_bytes()
    with torch.no_grad():
        next(networks.g.module.parameters())[0].fill_(float("nan"))
    with pytest.raises(
        ReviveError, match=r"at step 2 the weights \(G\..*\) are no longer finite.*last good checkpoint"
    ):
        save_checkpoint(run_dir, networks, card, 2)
    assert (run_dir / STATE_FILE).read_bytes() == good_state
    assert (run_dir / LATEST_MODEL_FILE).read_bytes() == good_latest
    with pytest.raises(ReviveError, match="no longer finite numbers, so they were not saved"):
        save_generator(run_dir / "best.safetensors", networks.g.module, card, 2, "best step")
    assert not (run_dir / "best.safetensors").exists()


# -- never replace a model the run did not install -------------------------------------------------


def _users_model(name: str) -> None:
    path = user_model_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(USER_BYTES)


def test_a_users_model_of_that_name_is_refused_before_training_even_with_force(folders, capsys):
    _users_model("mine")
    for extra in ((), ("--force",)):  # --force lets a name hide a shipped model, never lose a user's
        assert main.main(train_args(*folders, "mine", "--keep-worse", *extra)) == 2
        line = one_error_line(capsys)
        assert "'mine' is already installed" in line and "this run did not make it" in line
        assert "choose another --out name" in line
        assert user_model_path("mine").read_bytes() == USER_BYTES
        assert not (runs_dir() / "mine").exists()  # nothing was read or trained


def test_a_resumed_run_replaces_only_its_own_install(folders, capsys):
    assert main.main(train_args(*folders, "mine", "--keep-worse", "--steps", "2")) == 0
    first = user_model_path("mine").read_bytes()
    capsys.readouterr()
    # The same run again (--resume): it may replace the model it installed itself.
    assert main.main(train_args(*folders, "mine", "--keep-worse", "--steps", "2", "--resume")) == 0
    assert load_model(user_model_path("mine")) and user_model_path("mine").read_bytes()[:8] == first[:8]
    capsys.readouterr()
    user_model_path("mine").write_bytes(USER_BYTES)  # now it is not the run's any more
    assert main.main(train_args(*folders, "mine", "--keep-worse", "--steps", "2", "--resume")) == 2
    assert "this run did not make it" in one_error_line(capsys)
    assert user_model_path("mine").read_bytes() == USER_BYTES


def test_a_model_installed_during_the_run_is_left_untouched(folders):
    events = train_cyclegan(tiny_config(folders, name="mine", keep_worse=True, steps=2))
    for event in events:
        if isinstance(event, TrainingStarted):
            _users_model("mine")  # installed by hand (or another run) while this one trains
            break
    with pytest.raises(ReviveError, match="'mine' appeared in .* during this run and was left untouched"):
        list(events)
    assert user_model_path("mine").read_bytes() == USER_BYTES


def test_the_wizards_export_still_replaces_after_its_own_warning(folders):
    config = tiny_config(folders, name=None, keep_worse=True, steps=2)
    list(train_cyclegan(config))
    _users_model("mine")  # the wizard told the user "Finish replaces it"
    export_cyclegan(config.resolved_run_dir(), "mine", keep_worse=True)
    load_model(user_model_path("mine"))
