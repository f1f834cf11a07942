"""What ``models`` calls healthy is what loading runs, and weights must be numbers a network can run.

A Revive model that ``colorize --model`` refuses (an architecture that is not a colorizer, unfit
arguments, a tensor of the wrong shape, whole numbers where weights belong) is listed as damaged
with loading's own reason; an external model with a NaN weight, or a tensor cast to whole numbers,
is refused when added and when used, naming the tensor; ``--remove`` tells shipped models apart
from the user's own. Each test builds its tiny model files in a temporary REVIVE_HOME.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact
from spandrel.architectures.SwinIR import SwinIR

import main
from engine.errors import ModelFileError
from engine.external import store
from engine.external.runtime import open_external
from engine.models import registry as model_registry
from engine.models.card import CARD_KEY
from engine.models.files import check_model_file, load_model
from tests.helpers import install_model, tiny_card, tiny_module, write_gray_photo
from tests.spandrel_models import plain_state


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    write_gray_photo(folder / "a.png", 32, 24)
    return folder


def _one_line_error(err: str) -> str:
    """The one ``revive:`` line of ``err`` (progress lines aside), and no traceback."""
    lines = [line for line in err.splitlines() if line.startswith("revive:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ------------------------------------------------------------------------------ Revive models


def _broken_revive_model(path: Path, kind: str) -> Path:
    """A tiny model file damaged in one way a user might copy into their models folder."""
    card = json.loads(tiny_card(path.stem).to_json())
    state = {k: v.contiguous() for k, v in tiny_module().state_dict().items()}
    if kind == "architecture":
        card["architecture"] = "os.system"
    elif kind == "huge widths":
        card["arguments"] = dict(card["arguments"], widths=[100000, 2, 3, 4])
    elif kind == "text widths":
        card["arguments"] = dict(card["arguments"], widths="abc")
    elif kind == "wrong shape":
        state["head.bias"] = torch.zeros(state["head.bias"].numel() + 1)
    elif kind == "int32 bin centres":
        state["bin_centers"] = state["bin_centers"].round().to(torch.int32)
    elif kind == "float step count":
        name = next(k for k in state if k.endswith("num_batches_tracked"))
        state[name] = state[name].float()
    else:
        raise AssertionError(kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata={CARD_KEY: json.dumps(card)})
    return path


BROKEN = [
    ("architecture", "'os.system' is not a colorizer"),
    ("huge widths", "argument widths"),
    ("text widths", "argument widths"),
    ("wrong shape", "head.bias is (247,), the card's arguments need (246,)"),
    ("int32 bin centres", "bin_centers holds int32, the architecture needs floating-point numbers"),
    ("float step count", "num_batches_tracked holds float32, the architecture needs whole numbers (int64)"),
]


@pytest.mark.parametrize(("kind", "reason"), BROKEN)
def test_models_lists_what_loading_refuses_as_damaged_with_loadings_reason(home, capsys, kind, reason):
    path = _broken_revive_model(home / "models" / "broken.safetensors", kind)
    with pytest.raises(ModelFileError) as refused:
        load_model(path)
    assert reason in str(refused.value) and "\n" not in str(refused.value)
    assert main.main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed["tiny"]["healthy"] and listed["tiny"]["problem"] is None
    assert not listed["broken"]["healthy"]
    assert listed["broken"]["problem"] == str(refused.value)
    assert main.main(["models"]) == 0
    out = capsys.readouterr().out
    assert f"broken  [user, damaged: {refused.value}]" in out and "tiny  [user]  unet_colorizer" in out


@pytest.mark.parametrize(("kind", "reason"), BROKEN)
def test_colorize_refuses_each_broken_model_in_one_line(home, photos, tmp_path, capsys, kind, reason):
    path = _broken_revive_model(tmp_path / "broken.safetensors", kind)
    code = main.main(["colorize", str(photos), "-o", str(tmp_path / "out"), "--model", str(path)])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and reason in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_healthy_file_passes_the_same_checks_listing_and_loading_make(tmp_path):
    path = install_model(tmp_path, "fine")
    assert check_model_file(path) == load_model(path)[1]


def test_a_file_from_before_the_decoding_prior_is_still_healthy(home, capsys):
    """Optional buffers (``log_class_weights``) may be absent: loading gives them their defaults."""
    state = {k: v.contiguous() for k, v in tiny_module().state_dict().items() if k != "log_class_weights"}
    path = home / "models" / "older.safetensors"
    save_file(state, str(path), metadata={CARD_KEY: tiny_card("older").to_json()})
    check_model_file(path)
    assert main.main(["models", "--json"]) == 0
    assert {m["name"]: m["healthy"] for m in json.loads(capsys.readouterr().out)}["older"]


def test_checking_for_a_listing_reads_no_weights_into_torch(home, monkeypatch):
    """Listing compares the header with the architecture; the weights are never loaded as tensors."""
    import engine.models.files as files

    def no_loading(*args, **kwargs):
        raise AssertionError("listing loaded the weights")

    monkeypatch.setattr(files, "load_file", no_loading)
    check_model_file(home / "models" / "tiny.safetensors")
    with pytest.raises(ModelFileError, match="bin_centers holds int32"):
        check_model_file(_broken_revive_model(home / "models" / "b.safetensors", "int32 bin centres"))


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fn, torch.float8_e5m2, torch.bfloat16, torch.float16])
def test_a_nan_in_any_floating_dtype_is_found_by_listing_and_loading(tmp_path, dtype):
    state = {k: v.contiguous() for k, v in tiny_module().state_dict().items()}
    bias = torch.zeros(state["head.bias"].shape)
    bias[5] = float("nan")
    state["head.bias"] = bias.to(dtype)
    path = tmp_path / "nan.safetensors"
    save_file(state, str(path), metadata={CARD_KEY: tiny_card("nan").to_json()})
    for check in (check_model_file, load_model):
        with pytest.raises(ModelFileError, match=r"NaN or infinite values \(head.bias\)"):
            check(path)
    state["head.bias"] = torch.zeros(bias.shape).to(dtype)
    save_file(state, str(path), metadata={CARD_KEY: tiny_card("nan").to_json()})
    check_model_file(path)


# ------------------------------------------------------------------------------ external models


def _compact(damage: str | None = None) -> dict:
    torch.manual_seed(0)
    state = plain_state(Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2).eval())
    if damage == "nan":
        state["body.0.weight"] = state["body.0.weight"].clone()
        state["body.0.weight"].view(-1)[3] = float("nan")
    elif damage == "inf":
        state["body.2.bias"] = state["body.2.bias"].clone()
        state["body.2.bias"][0] = float("-inf")
    elif damage == "int32":
        state["body.0.weight"] = state["body.0.weight"].to(torch.int32)
    return state


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("nan", "weights contain NaN or infinite values (body.0.weight)"),
        ("inf", "weights contain NaN or infinite values (body.2.bias)"),
        ("int32", "tensor body.0.weight holds int32 whole numbers where Compact needs floating-point weights"),
    ],
)
@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_an_upscaler_with_unusable_weights_is_refused_in_one_line(home, tmp_path, capsys, damage, reason, suffix):
    path = tmp_path / f"upnan{suffix}"
    if suffix == ".safetensors":
        save_file(_compact(damage), str(path))
    else:
        torch.save(_compact(damage), path)
    assert main.main(["models", "--add", str(path), "--name", "upnan"]) == 2
    assert reason in _one_line_error(capsys.readouterr().err)
    assert store.list_external() == []
    with pytest.raises(ModelFileError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        open_external(str(path))  # used straight from its path, as --upscale PATH does


def test_an_upscaler_added_before_the_check_is_refused_when_used(home, tmp_path, photos, capsys):
    """A model added by an older Revive (its card matches its NaN weights) must not write black photos."""
    good = tmp_path / "up.safetensors"
    save_file(_compact(), str(good))
    assert main.main(["models", "--add", str(good), "--name", "upnan"]) == 0
    capsys.readouterr()
    stored = store.external_models_dir() / "upnan.safetensors"
    save_file(_compact("nan"), str(stored))
    card_path = store.external_models_dir() / "upnan.card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    data = stored.read_bytes()
    card.update(sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
    card_path.write_text(json.dumps(card), encoding="utf-8")
    out = tmp_path / "out"
    code = main.main(["colorize", str(photos), "-o", str(out), "--upscale", "upnan"])
    assert code == 2, capsys.readouterr()
    assert "NaN or infinite values (body.0.weight)" in _one_line_error(capsys.readouterr().err)
    assert not out.exists() or not any(out.iterdir())


def test_whole_number_buffers_an_architecture_keeps_are_accepted(home, tmp_path, capsys):
    """SwinIR keeps its window attention's position table as int64: a plain, healthy model."""
    torch.manual_seed(0)
    module = SwinIR(
        embed_dim=12, depths=[1], num_heads=[1], window_size=4, img_size=16, upscale=2, upsampler="pixelshuffledirect"
    ).eval()
    state = plain_state(module)
    assert any(not t.is_floating_point() for t in state.values())
    path = tmp_path / "swin.safetensors"
    save_file(state, str(path))
    assert main.main(["models", "--add", str(path), "--name", "swin"]) == 0, capsys.readouterr().err
    assert "Added swin: SwinIR" in capsys.readouterr().out


# ------------------------------------------------------------------------------ removing


@pytest.fixture
def shipped(home):
    """A tiny 'revive-base' in the (temporary) shipped folder."""
    folder = model_registry.shipped_models_dir()
    install_model(folder.parent / "shipped-home", "revive-base")
    for path in (folder.parent / "shipped-home" / "models").iterdir():
        path.rename(folder / path.name)
    return folder / "revive-base.safetensors"


def test_a_shipped_model_cannot_be_removed_and_the_message_says_so(shipped, home, capsys):
    assert main.main(["models", "--remove", "revive-base"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "'revive-base' ships with Revive and cannot be removed" in line
    assert str(home / "models") not in line and "delete" not in line
    assert shipped.exists()


def test_a_users_own_model_is_removed_by_deleting_its_file(shipped, home, capsys):
    assert main.main(["models", "--remove", "tiny"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert f"'tiny' is one of your own Revive models, not an added one; delete its file {home / 'models'}" in line
    assert "ships with Revive" not in line
    install_model(home, "revive-base")
    assert main.main(["models", "--remove", "revive-base"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert str(home / "models" / "revive-base.safetensors") in line and "the shipped model" in line


def test_removing_an_unknown_name_says_it_was_not_added(home, capsys):
    assert main.main(["models", "--remove", "nothing"]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "nothing" in line and "ships with Revive" not in line and "your own" not in line
