"""Model files (engine.models.files) and the installed-model registry (engine.models.registry).

A model file is safetensors with a model card in its header; anything damaged, foreign or unsafe
(a pickle) must be refused with a ModelFileError, never loaded, never executed.
"""

from __future__ import annotations

import json
import pickle
import struct

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from engine.errors import ModelFileError, ModelNotFound
from engine.models import files as model_file
from engine.models import registry as model_registry
from engine.models.files import ModelCard, load_model, read_card, save_model
from engine.models.registry import list_models, resolve_model, user_model_path
from tests.helpers import assert_close, install_model, tiny_card, tiny_module


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty REVIVE_HOME and an empty shipped-models folder."""
    home = tmp_path / "home"
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    monkeypatch.setenv("REVIVE_HOME", str(home))
    monkeypatch.setattr(model_registry, "shipped_models_dir", lambda: shipped)
    return home


def _outputs(module: torch.nn.Module) -> torch.Tensor:
    x = torch.linspace(-1, 1, 32 * 48).view(1, 1, 32, 48)
    with torch.inference_mode():
        return module.eval().predict_ab(x, 0.38)


# ------------------------------------------------------------------------------ save and load


def test_round_trip_gives_the_same_outputs(tmp_path):
    module = tiny_module(seed=4)
    path = save_model(tmp_path / "m.safetensors", module, tiny_card("m"), half=False)
    loaded, card = load_model(path)
    assert card == tiny_card("m")
    assert not loaded.training
    assert_close(_outputs(loaded), _outputs(module), atol=1e-6)


def test_half_precision_file_is_smaller_and_gives_nearly_the_same_colours(tmp_path):
    module = tiny_module(seed=5)
    full = save_model(tmp_path / "full.safetensors", module, tiny_card("full"), half=False)
    half = save_model(tmp_path / "half.safetensors", module, tiny_card("half"), half=True)
    assert half.stat().st_size < full.stat().st_size
    loaded, _ = load_model(half)
    # fp16 weights: colours within a fraction of a Lab unit
    assert (_outputs(loaded) - _outputs(module)).abs().max() < 0.5


def test_save_writes_a_readable_card_copy_and_leaves_no_temporary_files(tmp_path):
    card = tiny_card("m", description="test model", metrics={"psnr": 24.5})
    path = save_model(tmp_path / "models" / "m.safetensors", tiny_module(), card)
    sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["name"] == "m" and sidecar["metrics"] == {"psnr": 24.5}
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.json", "m.safetensors"]


def test_save_refuses_another_suffix(tmp_path):
    with pytest.raises(ValueError, match=".safetensors"):
        save_model(tmp_path / "m.pt", tiny_module(), tiny_card())


def test_card_is_read_without_loading_the_weights(tmp_path, monkeypatch):
    card = tiny_card("m", description="reads fast", render_size=320, temperature=0.3)
    path = save_model(tmp_path / "m.safetensors", tiny_module(), card)

    def no_weights(*args, **kwargs):
        raise AssertionError("read_card must not load the weights")

    monkeypatch.setattr(model_file, "load_file", no_weights)
    assert read_card(path) == card


# ------------------------------------------------------------------------------ refused files


def test_a_pickled_torch_checkpoint_is_refused_and_the_message_says_safetensors(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    torch.save(tiny_module().state_dict(), path)
    for loader in (read_card, load_model):
        with pytest.raises(ModelFileError, match="safetensors"):
            loader(path)
    pt = tmp_path / "checkpoint.pt"
    torch.save(tiny_module().state_dict(), pt)
    with pytest.raises(ModelFileError, match="pickled PyTorch checkpoint"):
        load_model(pt)


class _Booby:
    """Unpickling this creates a file: the proof that a loader ran code from a model file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_a_malicious_pickle_is_refused_without_running_it(tmp_path, home, protocol):
    marker = tmp_path / "pwned"
    # sanity: unpickling really has the side effect
    pickle.loads(pickle.dumps(_Booby(tmp_path / "sanity"), protocol=protocol)).close()
    assert (tmp_path / "sanity").exists()

    path = home / "models" / "evil.safetensors"
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps(_Booby(marker), protocol=protocol))
    with pytest.raises(ModelFileError):
        load_model(path)
    with pytest.raises(ModelFileError):
        read_card(path)
    [listed] = list_models()
    assert listed.card is None and listed.problem
    assert not marker.exists()


def test_a_truncated_file_is_refused(tmp_path):
    path = save_model(tmp_path / "m.safetensors", tiny_module(), tiny_card("m"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # header intact, weights cut
    with pytest.raises(ModelFileError, match="m.safetensors"):
        load_model(path)
    path.write_bytes(data[:100])  # header cut
    with pytest.raises(ModelFileError):
        load_model(path)
    path.write_bytes(data[:5])  # not even the header's size
    with pytest.raises(ModelFileError, match="too short"):
        load_model(path)


def test_random_bytes_and_an_empty_file_are_refused(tmp_path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ModelFileError):
        load_model(path)
    # random bytes whose first 8 bytes happen to be a plausible header size
    path.write_bytes(struct.pack("<Q", 64) + bytes(range(64)) + b"\x00" * 100)
    with pytest.raises(ModelFileError):
        load_model(path)
    path.write_bytes(b"")
    with pytest.raises(ModelFileError):
        load_model(path)


def test_a_missing_file_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "absent.safetensors")


def test_a_safetensors_file_without_a_revive_card_is_refused(tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file({k: v.contiguous() for k, v in tiny_module().state_dict().items()}, str(path))
    with pytest.raises(ModelFileError, match="model card"):
        load_model(path)


@pytest.mark.parametrize(
    ("card_text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (
            json.dumps({"format": "other/9", "name": "x", "architecture": "unet_colorizer", "arguments": {}}),
            "unsupported model format",
        ),
        (json.dumps({"format": model_file.FORMAT, "name": "x"}), "lacks architecture, arguments"),
        (
            json.dumps({"format": model_file.FORMAT, "name": "x", "architecture": "unet_colorizer", "arguments": [8]}),
            "arguments must be an object",
        ),
    ],
)
def test_a_bad_model_card_is_refused_with_a_reason(tmp_path, card_text, message):
    path = tmp_path / "bad.safetensors"
    save_file(
        {k: v.contiguous() for k, v in tiny_module().state_dict().items()},
        str(path),
        metadata={model_file.CARD_KEY: card_text},
    )
    with pytest.raises(ModelFileError, match=message):
        read_card(path)


def test_weights_of_the_wrong_shape_are_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    # the card promises a wider network than the weights hold
    save_model(path, tiny_module(), ModelCard("m", "unet_colorizer", {"widths": [8, 8, 16, 32], "blocks": 1}))
    with pytest.raises(ModelFileError, match="do not match"):
        load_model(path)


def test_missing_weights_are_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    save_model(path, tiny_module(), ModelCard("m", "unet_colorizer", {"widths": [8, 8, 16, 16], "blocks": 2}))
    with pytest.raises(ModelFileError, match="do not match"):
        load_model(path)


def test_a_model_file_from_before_the_decoding_prior_still_loads(tmp_path):
    """Files written before UNetColorizer had its ``log_class_weights`` buffer (every model trained
    until then, shipped ones included) must keep working: the buffer's default (zeros) means
    'no prior correction', exactly how those models were decoded."""
    module = tiny_module()
    if "log_class_weights" not in module.state_dict():
        pytest.skip("this architecture has no log_class_weights buffer")
    state = {k: v.contiguous() for k, v in module.state_dict().items() if k != "log_class_weights"}
    path = tmp_path / "older.safetensors"
    save_file(state, str(path), metadata={model_file.CARD_KEY: tiny_card("older").to_json()})
    loaded, _ = load_model(path)
    assert_close(_outputs(loaded), _outputs(module), atol=1e-5)


def test_nan_weights_are_refused(tmp_path):
    module = tiny_module()
    with torch.no_grad():
        module.up2[0].weight[0, 0, 0, 0] = float("nan")
    path = save_model(tmp_path / "m.safetensors", module, tiny_card("m"))
    with pytest.raises(ModelFileError, match="NaN"):
        load_model(path)


@pytest.mark.parametrize("architecture", ["no_such_net", "patch_discriminator"])
def test_an_architecture_that_is_not_a_colorizer_is_refused(tmp_path, architecture):
    path = save_model(tmp_path / "m.safetensors", tiny_module(), ModelCard("m", architecture, {}))
    with pytest.raises(ModelFileError, match=architecture):
        load_model(path)


def test_bad_architecture_arguments_are_a_model_file_error(tmp_path):
    path = save_model(
        tmp_path / "m.safetensors",
        tiny_module(),
        ModelCard("m", "unet_colorizer", {"widths": [8, 8, 16, 16], "depth": 3}),
    )
    with pytest.raises(ModelFileError, match="depth"):
        load_model(path)


# ------------------------------------------------------------------------------ the registry


def test_list_models_shows_shipped_and_user_models(home):
    shipped_dir = model_registry.shipped_models_dir()
    save_model(shipped_dir / "revive-base.safetensors", tiny_module(), tiny_card("revive-base"))
    install_model(home, "mine")
    models = {m.name: m for m in list_models()}
    assert set(models) == {"revive-base", "mine"}
    assert models["revive-base"].source == "shipped"
    assert models["mine"].source == "user"
    assert models["mine"].card == tiny_card("mine")
    assert models["mine"].size_bytes == models["mine"].path.stat().st_size
    assert models["mine"].problem is None


def test_a_user_model_shadows_a_shipped_model_of_the_same_name(home):
    save_model(model_registry.shipped_models_dir() / "revive-base.safetensors", tiny_module(), tiny_card("revive-base"))
    install_model(home, "revive-base", description="my own")
    [model] = list_models()
    assert model.source == "user" and model.card.description == "my own"
    assert resolve_model("revive-base") == home / "models" / "revive-base.safetensors"


def test_a_damaged_user_model_is_listed_with_its_problem(home):
    install_model(home, "good")
    broken = home / "models" / "broken.safetensors"
    broken.write_bytes(b"this is not a model at all, just some text")
    models = {m.name: m for m in list_models()}
    assert set(models) == {"good", "broken"}
    assert models["broken"].card is None
    assert "broken.safetensors" in models["broken"].problem
    # the default model is a working one
    assert model_registry.default_model_name() == "good"


def test_hidden_and_temporary_files_are_not_models(home):
    install_model(home, "good")
    (home / "models" / ".good.abc.part").write_bytes(b"partial")
    (home / "models" / ".hidden.safetensors").write_bytes(b"partial")
    assert [m.name for m in list_models()] == ["good"]


def test_resolve_model_by_name_and_by_path(home, tmp_path):
    installed = install_model(home, "tiny")
    assert resolve_model("tiny") == installed
    elsewhere = save_model(tmp_path / "elsewhere" / "other.safetensors", tiny_module(), tiny_card("other"))
    assert resolve_model(str(elsewhere)) == elsewhere
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve_model(str(tmp_path / "absent.safetensors"))


def test_resolve_model_without_a_name_picks_the_default(home):
    install_model(home, "zeta")
    install_model(home, "alpha")
    assert resolve_model(None).name == "alpha.safetensors"  # first installed when revive-base is absent
    save_model(model_registry.shipped_models_dir() / "revive-base.safetensors", tiny_module(), tiny_card("revive-base"))
    assert resolve_model(None).name == "revive-base.safetensors"


def test_an_unknown_name_lists_the_installed_models(home):
    install_model(home, "tiny")
    install_model(home, "other")
    with pytest.raises(ModelNotFound) as caught:
        resolve_model("nonesuch")
    message = str(caught.value)
    assert "nonesuch" in message and "tiny" in message and "other" in message


def test_no_model_installed_says_how_to_get_one(home):
    with pytest.raises(ModelNotFound, match="train-base"):
        resolve_model(None)
    with pytest.raises(ModelNotFound, match="installed: none"):
        resolve_model("anything")


@pytest.mark.parametrize("name", ["", "a/b", "..\\x", ".hidden", "c:d"])
def test_user_model_names_must_be_plain_file_names(home, name):
    with pytest.raises(ValueError, match="needs a name|plain name|must not start with a dot"):
        user_model_path(name)


def test_user_model_path_is_in_the_data_folder(home):
    assert user_model_path("mine") == home / "models" / "mine.safetensors"
