"""External models (engine.external): added with ``models --add``, identified by spandrel, run per task.

Every model here is built with spandrel's own architecture classes and random weights, in the
smallest configuration spandrel still recognises, saved as a plain state dict (.pth through
torch.save, or .safetensors), added through the command line in a temporary REVIVE_HOME and run
on a tiny photo. GFPGAN and CodeFormer cannot be built small (spandrel builds GFPGAN only as the
87 M-parameter 512 px network, and CodeFormer's VQGAN encoder and decoder are fixed at 512 px,
68 M parameters at least): their input/output conventions are tested with stand-in networks, and
the face pipeline end to end with a tiny RestoreFormer (the third face architecture).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact
from spandrel.architectures.ESRGAN import ESRGAN
from spandrel.architectures.LaMa import LaMa
from spandrel.architectures.RestoreFormer import RestoreFormer
from spandrel.architectures.SPAN import SPAN

import main
from engine.batch.plan import BatchOptions, plan_batch
from engine.batch.run import BatchFinished, JobDone, run_batch
from engine.batch.settings import ColorizeSettings
from engine.cancel import CancelToken
from engine.device import select_device
from engine.errors import Cancelled, ModelFileError, UnsupportedImage
from engine.external import store
from engine.external.card import ExternalCard, WrongModelTask
from engine.external.external_colorizer import ExternalColorizer, load_colorizer
from engine.external.faces import (
    FACE_SIZE,
    TEMPLATE_EYES,
    Face,
    FaceRestorer,
    HaarFaceDetector,
    alignment,
    feather_mask,
)
from engine.external.finishing import Finishing
from engine.external.inpainting import Inpainter
from engine.external.runtime import LoadedModel, load_external
from engine.external.tiling import plan_tiles
from engine.external.upscaling import Upscaler
from engine.hints.schema import HintError, HintPoint, PhotoHints
from engine.imaging import PhotoMetadata, read_photo
from engine.models import registry as model_registry
from engine.models.colorizer import Colorizer
from tests.helpers import gradient_luma, install_model, torch_threads, write_gray_photo
from tests.spandrel_models import plain_state, tiny_ddcolor


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty REVIVE_HOME and an empty shipped-models folder."""
    home = tmp_path / "home"
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    monkeypatch.setenv("REVIVE_HOME", str(home))
    monkeypatch.setattr(model_registry, "shipped_models_dir", lambda: shipped)
    return home


@contextlib.contextmanager
def _module_home(folder):
    """``home`` for a module-scoped fixture: REVIVE_HOME in ``folder``, no shipped models."""
    shipped = folder / "shipped"
    shipped.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REVIVE_HOME", str(folder / "home"))
        patch.setattr(model_registry, "shipped_models_dir", lambda: shipped)
        yield folder / "home"


def _save(module: torch.nn.Module, path, half: bool = False):
    if path.suffix == ".safetensors":
        save_file(plain_state(module, half), str(path))
    else:
        torch.save(plain_state(module, half), path)
    return path


def _add(capsys, path, *extra) -> tuple[int, str, str]:
    code = main.main(["models", "--add", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("revive: "), err
    assert "Traceback" not in err
    return lines[0]


def _tiny_esrgan(seed: int = 0, scale: int = 2) -> ESRGAN:
    torch.manual_seed(seed)
    return ESRGAN(num_filters=8, num_blocks=1, scale=scale).eval()


def _photo(width: int = 40, height: int = 30, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.fixture
def esrgan(home, tmp_path, capsys):
    """A tiny 2x ESRGAN (RRDBNet, 1 block of 8 features) added as "x2" from a .pth state dict."""
    path = _save(_tiny_esrgan(), tmp_path / "RealESRGAN_tiny_x2.pth")
    code, _, err = _add(capsys, path, "--name", "x2", "--source", "built by the test (random weights)")
    assert code == 0, err
    return path


# ------------------------------------------------------------------------------ adding and listing


def test_an_esrgan_pth_is_added_with_a_card_and_listed_with_its_task(esrgan, home, capsys):
    folder = home / "models" / "external"
    assert sorted(p.name for p in folder.iterdir()) == ["x2.card.json", "x2.pth"]
    assert (folder / "x2.pth").read_bytes() == esrgan.read_bytes()  # the very bytes examined
    card = json.loads((folder / "x2.card.json").read_text(encoding="utf-8"))
    assert card["architecture"] == "ESRGAN" and card["task"] == "upscaling" and card["scale"] == 2
    assert card["input_channels"] == 3 and card["original_name"] == "RealESRGAN_tiny_x2.pth"
    assert card["source"] == "built by the test (random weights)"
    assert set(card["size_requirements"]) == {"minimum", "multiple_of", "square"}
    assert len(card["sha256"]) == 64

    assert main.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "x2  [external]  ESRGAN, upscaling x2" in out
    assert "built by the test" in out and str(folder) in out
    assert main.main(["models", "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["name"] == "x2" and entry["source"] == "external" and entry["task"] == "upscaling"
    assert entry["healthy"] and entry["problem"] is None


def test_revive_models_are_listed_as_before_beside_external_ones(esrgan, home, capsys):
    install_model(home, "tiny")
    assert main.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny  [user]  unet_colorizer" in out and "x2  [external]" in out
    assert main.main(["models", "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert entries["tiny"]["task"] == "colorization" and entries["tiny"]["source"] == "user"


@pytest.mark.parametrize(
    ("architecture", "module", "suffix"),
    [
        ("Compact", lambda: Compact(num_feat=8, num_conv=2, upscale=2), ".safetensors"),
        ("SPAN", lambda: SPAN(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=2), ".safetensors"),
        ("ESRGAN", lambda: _tiny_esrgan(scale=4), ".pth"),
    ],
)
def test_upscalers_of_each_family_are_added_and_upscale_a_photo(home, tmp_path, capsys, architecture, module, suffix):
    torch.manual_seed(1)
    path = _save(module().eval(), tmp_path / f"tiny-{architecture}{suffix}")
    code, out, err = _add(capsys, path)
    assert code == 0, err
    assert f"Added tiny-{architecture}: {architecture}, upscaling" in out
    upscaler = Upscaler.load(f"tiny-{architecture}")
    assert upscaler.device.device.type == "cpu"
    photo = _photo(21, 13)
    result = upscaler.upscale(photo)
    s = upscaler.scale
    assert result.shape == (13 * s, 21 * s, 3) and result.dtype == np.uint8


def test_an_upscaler_whose_output_overflows_fails_the_photo_instead_of_writing_black(home, tmp_path, capsys):
    from tests.helpers import install_model, write_gray_photo

    torch.manual_seed(1)
    module = Compact(num_feat=8, num_conv=2, upscale=2).eval()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.mul_(1e20)  # finite weights (so it is added) whose output is not finite
    code, _, err = _add(capsys, _save(module, tmp_path / "blows-up.safetensors"))
    assert code == 0, err
    install_model(home, "tiny", render_size=64)
    photo = write_gray_photo(tmp_path / "in" / "scan.png", 40, 30)
    out = tmp_path / "out"
    code = main.main(["colorize", str(photo), "-o", str(out), "--model", "tiny", "--upscale", "blows-up"])
    err = capsys.readouterr().err
    assert code == 1 and "invalid values (NaN or infinity)" in err and "Traceback" not in err
    assert not (out / "scan.png").exists()


def test_an_upscale_over_the_pixel_limit_is_refused_before_the_work(esrgan, monkeypatch):
    import engine.external.upscaling as upscaling

    monkeypatch.setattr(upscaling, "MAX_PIXELS", 2_000_000)  # as a 200-MP limit for a photo 100 times larger
    upscaler = Upscaler.load("x2")
    with pytest.raises(UnsupportedImage, match=r"upscaled x2 it would be 1600 x 1400, over the 2-megapixel limit"):
        upscaler.upscale(_photo(800, 700))


def test_a_safetensors_state_dict_in_half_precision_is_added(home, tmp_path, capsys):
    path = _save(_tiny_esrgan(), tmp_path / "half.safetensors", half=True)
    code, _, err = _add(capsys, path)
    assert code == 0, err
    assert store.find_external("half").card.architecture == "ESRGAN"


# ------------------------------------------------------------------------------ refused files


class _RunsCode:
    """Unpickling this runs a shell command that creates a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("kind", ["torch.save zip", "raw pickle protocol 2", "inside a state dict"])
def test_a_pickle_that_would_run_code_is_refused_without_running_it(home, tmp_path, capsys, kind):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    if kind == "torch.save zip":
        torch.save(_RunsCode(marker), path)
    elif kind == "raw pickle protocol 2":
        path.write_bytes(pickle.dumps(_RunsCode(marker), protocol=2))
    else:
        state = plain_state(_tiny_esrgan())
        state["model.0.weight"] = _RunsCode(marker)
        torch.save(state, path)
    code, _, err = _add(capsys, path)
    assert code == 2
    line = _one_line_error(err)
    assert "evil.pth" in line and "could run code" in line and "system" in line
    assert not marker.exists()
    assert store.list_external() == []
    # sanity: the pickle really runs code when opened without restrictions
    pickle.loads(pickle.dumps(_RunsCode(tmp_path / "sanity")))
    assert (tmp_path / "sanity").exists()


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_a_foreign_state_dict_is_refused_in_one_line(home, tmp_path, capsys, suffix):
    from tests.helpers import tiny_module

    path = _save(tiny_module(), tmp_path / f"revive-unet{suffix}")
    code, _, err = _add(capsys, path)
    assert code == 2
    assert "a foreign state dict" in _one_line_error(err)
    assert not (home / "models" / "external").exists() or store.list_external() == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.pth", b"", "empty"),
        ("noise.pth", bytes(range(256)) * 8, "not a PyTorch checkpoint"),
        ("noise.safetensors", bytes(range(256)) * 8, "not a valid safetensors"),
        ("model.onnx", b"onnx", "Revive adds"),
        ("list.pth", None, "not a state dict"),
        ("script.pt", "torchscript", "TorchScript"),
    ],
)
def test_odd_files_are_refused_in_one_line(home, tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content is None:
        torch.save([torch.zeros(2)], path)
    elif content == "torchscript":
        with zipfile.ZipFile(path, "w") as archive:  # the layout torch.jit.save writes
            archive.writestr("script/data.pkl", b"")
            archive.writestr("script/code/__torch__.py", "def forward(self): ...")
    else:
        path.write_bytes(content)
    code, _, err = _add(capsys, path)
    assert code == 2
    assert message in _one_line_error(err)


def test_adding_never_writes_over_a_file_revive_did_not_write(home, tmp_path, capsys):
    folder = home / "models" / "external"
    folder.mkdir(parents=True)
    (folder / "mine.pth").write_bytes(b"the user's own file")
    path = _save(_tiny_esrgan(), tmp_path / "mine.pth")
    code, _, err = _add(capsys, path)
    assert code == 2
    assert "already there" in _one_line_error(err)
    assert (folder / "mine.pth").read_bytes() == b"the user's own file"
    assert sorted(p.name for p in folder.iterdir()) == ["mine.pth"]


def test_names_are_checked_before_anything_is_read(esrgan, home, tmp_path, capsys):
    install_model(home, "tiny")
    for name, message in (("tiny", "Revive model called 'tiny'"), ("x2", "already added"), ("a/b", "plain name")):
        code, _, err = _add(capsys, esrgan, "--name", name)
        assert code == 2 and message in _one_line_error(err)
    assert main.main(["models", "--name", "x"]) == 2
    assert "go with --add" in _one_line_error(capsys.readouterr().err)


def test_a_changed_file_is_listed_as_damaged_and_never_run(esrgan, home, capsys):
    stored = home / "models" / "external" / "x2.pth"
    data = bytearray(stored.read_bytes())
    data[-100] ^= 0xFF
    stored.write_bytes(bytes(data))
    assert main.main(["models"]) == 0
    assert "x2  [external, damaged:" in capsys.readouterr().out
    with pytest.raises(ModelFileError, match="changed since it was added"):
        Upscaler.load("x2")


@pytest.mark.parametrize("kind", ["pipe", "folder", "garbage", "points elsewhere"])
def test_odd_cards_are_listed_as_damaged_not_fatal(esrgan, home, capsys, kind):
    odd = home / "models" / "external" / "odd.card.json"
    if kind == "pipe":
        os.mkfifo(odd)
    elif kind == "folder":
        odd.mkdir()
    elif kind == "garbage":
        odd.write_text("{not json")
    else:  # a hand-edited card naming a file outside the folder
        card = json.loads((home / "models" / "external" / "x2.card.json").read_text(encoding="utf-8"))
        odd.write_text(json.dumps(dict(card, name="odd", file="../../x2.pth")))
    assert main.main(["models"]) == 0
    out = capsys.readouterr().out
    assert "odd  [external, damaged:" in out and "x2  [external]  ESRGAN" in out
    with pytest.raises(ModelFileError):
        Upscaler.load("odd")


def test_remove_deletes_an_added_model_and_refuses_revive_ones(esrgan, home, capsys):
    install_model(home, "tiny")
    assert main.main(["models", "--remove", "tiny"]) == 2
    assert "one of your own Revive models" in _one_line_error(capsys.readouterr().err)
    assert main.main(["models", "--remove", "x2"]) == 0
    assert "Removed x2" in capsys.readouterr().out
    assert not (home / "models" / "external" / "x2.pth").exists() and store.list_external() == []
    assert (home / "models" / "tiny.safetensors").exists()
    assert main.main(["models", "--remove", "x2"]) == 2
    capsys.readouterr()


def test_a_model_is_only_run_for_its_task(esrgan):
    with pytest.raises(WrongModelTask, match="upscaling model, not a face restoration model"):
        FaceRestorer.load("x2")
    with pytest.raises(WrongModelTask, match="not a colorization model"):
        load_colorizer("x2")
    with pytest.raises(WrongModelTask):
        Inpainter.load("x2")


# ------------------------------------------------------------------------------ upscaling


def test_tiles_partition_the_image_and_windows_stay_inside():
    tiles = plan_tiles(100, 37, tile=32, context=8)
    covered = np.zeros((37, 100), int)
    for t in tiles:
        x0, y0, x1, y1 = t.core
        covered[y0:y1, x0:x1] += 1
        wx0, wy0, wx1, wy1 = t.window
        assert 0 <= wx0 <= x0 and 0 <= wy0 <= y0 and x1 <= wx1 <= 100 and y1 <= wy1 <= 37
        assert x1 - x0 <= 32 and y1 - y0 <= 32 and wx1 - wx0 <= 48
    assert (covered == 1).all()
    with pytest.raises(ValueError, match="tile size"):
        plan_tiles(10, 10, tile=4, context=0)


def test_tiled_upscaling_joins_without_seams(esrgan):
    whole = Upscaler.load("x2", tile=1024)
    tiled = Upscaler(whole.loaded, tile=16, context=24)  # context wider than the tiny network sees
    photo = _photo(50, 37)
    calls = []
    expected = whole.upscale(photo)
    result = tiled.upscale(photo, progress=lambda done, total: calls.append((done, total)))
    assert result.shape == (74, 100, 3)
    assert np.abs(result.astype(int) - expected.astype(int)).max() <= 1
    assert calls == [(i, 12) for i in range(1, 13)]


def test_upscaling_keeps_gray_and_16_bit_layouts(esrgan):
    upscaler = Upscaler.load("x2")
    gray = gradient_luma(20, 12)
    assert upscaler.upscale(gray).shape == (24, 40)
    deep = gradient_luma(20, 12, dtype=np.uint16)
    result = upscaler.upscale(np.stack([deep] * 3, axis=-1))
    assert result.dtype == np.uint16 and result.shape == (24, 40, 3)
    with pytest.raises(UnsupportedImage, match=r"\(H, W, 3\) or \(H, W\) uint8 or uint16"):
        upscaler.upscale(np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(UnsupportedImage):
        upscaler.upscale(np.zeros((4, 4, 3), np.float32))


def test_upscaling_is_cancelled_between_tiles(esrgan):
    upscaler = Upscaler.load("x2", tile=16)
    cancel = CancelToken()
    calls = []

    def progress(done, total):
        calls.append(done)
        cancel.cancel()

    with pytest.raises(Cancelled):
        upscaler.upscale(_photo(40, 40), progress=progress, cancel=cancel)
    assert calls == [1]


def test_finishing_scales_alpha_and_dpi_with_the_photo(esrgan):
    finishing = Finishing(upscaler=Upscaler.load("x2"))
    metadata = PhotoMetadata(exif=None, icc_profile=None, dpi=(300.0, 300.0), source_format="PNG", source_mode="LA")
    alpha = np.full((10, 12), 200, np.uint8)
    done = finishing.apply(_photo(12, 10), alpha, metadata)
    assert done.rgb.shape == (20, 24, 3) and done.alpha.shape == (20, 24) and (done.alpha == 200).all()
    assert done.metadata.dpi == (600.0, 600.0)
    assert finishing.description == "upscaled x2 by x2"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_upscaling_on_the_gpu_matches_the_cpu(esrgan):
    photo = _photo(64, 48)
    on_cpu = Upscaler.load("x2", device="cpu", precision="fp32").upscale(photo)
    on_gpu = Upscaler.load("x2", device="cuda", precision="fp32").upscale(photo)
    assert np.abs(on_cpu.astype(int) - on_gpu.astype(int)).max() <= 2


# ------------------------------------------------------------------------------ colorization (DDColor)


@pytest.fixture(scope="module")
def ddcolor(tmp_path_factory):
    """The smallest DDColor spandrel recognises: the ConvNeXt-T encoder (spandrel knows only the T,
    S, B and L encoders), a 3-layer multi-scale decoder with 8 colour queries; saved as an fp16
    safetensors state dict, added as "dd" (once for the module: building and reading it is the
    slow part) and loaded with ``load_colorizer``."""
    module = tiny_ddcolor()
    with torch_threads(1):
        folder = tmp_path_factory.mktemp("ddcolor")
        path = _save(module, folder / "ddcolor_tiny.safetensors", half=True)
        del module
        with _module_home(folder):
            assert main.main(["models", "--add", str(path), "--name", "dd", "--source", "test"]) == 0
            assert store.find_external("dd").card.task == "colorization"
            colorizer = load_colorizer("dd")
    return colorizer


def test_ddcolor_colorizes_through_the_colorizer_interface(ddcolor):
    assert isinstance(ddcolor, ExternalColorizer)
    assert ddcolor.card.name == "dd" and ddcolor.path.name == "dd.safetensors" and ddcolor.warnings == ()
    assert not ddcolor.takes_hints and not ddcolor.classifies and ddcolor.device.device.type == "cpu"
    settings = ColorizeSettings(render_size=64)
    assert ddcolor.resolve(settings) == (64, None) and ddcolor.resolve(ColorizeSettings()) == (512, None)
    assert ddcolor.resolve(ColorizeSettings(render_size=100)) == (96, None)  # a multiple of 32
    luma = gradient_luma(96, 72)
    prepared = ddcolor.prepare(luma, settings)
    assert tuple(prepared.square.shape) == (64, 64) and tuple(prepared.guide.shape) == (64, 85)
    ab = ddcolor.forward(prepared)
    assert tuple(ab.shape) == (1, 2, 64, 85) and ab.dtype == torch.float32
    field = ddcolor.predict(prepared, settings)
    assert field.coefficients.shape == (4, 64, 85)
    rgb = ddcolor.colorize(luma, settings)
    assert rgb.shape == (72, 96, 3) and rgb.dtype == np.uint8
    # the photo's own luminance is kept (ITU-R 601), as with Revive's models
    y = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert np.median(np.abs(y - luma)) <= 1.0
    deep = ddcolor.colorize(gradient_luma(48, 40, dtype=np.uint16), settings)
    assert deep.dtype == np.uint16 and deep.shape == (40, 48, 3)
    with pytest.raises(HintError, match="takes no colour hints"):
        ddcolor.predict(prepared, settings, PhotoHints(points=(HintPoint(0.5, 0.5, "#ff0000"),)))
    with pytest.raises(UnsupportedImage):
        ddcolor.prepare(np.zeros((8, 8, 3), np.uint8), settings)


def test_ddcolor_offers_the_apps_re_decoding_path(ddcolor):
    """The app runs ``forward`` once and re-decodes for every slider move, as with Revive's models."""
    from engine.models.chroma_merge import merge_chroma

    luma = gradient_luma(64, 48)
    prepared = ddcolor.prepare(luma, ColorizeSettings(render_size=64))
    assert ddcolor.hint_channels(prepared, None) is None
    raw = ddcolor.forward(prepared, ddcolor.hint_channels(prepared, None))
    card = ddcolor.card
    assert card.temperature is None and card.prior_correction == 0.0 and card.chroma_scale == 1.0
    gray = merge_chroma(
        luma, ddcolor.decode(raw, prepared, card.temperature, card.prior_correction, card.chroma_scale, None, 0.0)
    )
    assert np.abs(gray.astype(int) - luma[..., None]).max() <= 2  # saturation 0: the photo's gray
    assert ddcolor.plausible_colours(raw, prepared, 0.5, 0.5) == []


def test_ddcolor_sees_the_gray_photo_as_rgb_at_its_square_size(ddcolor):
    """DDColor's reference: the gray image resized to the square input, L* kept and a*b* zeroed,
    back to RGB: three equal channels holding the resized gray values."""
    seen = []
    handle = ddcolor.loaded.descriptor.model.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    try:
        prepared = ddcolor.prepare(gradient_luma(80, 40), ColorizeSettings(render_size=64))
        ddcolor.forward(prepared)
    finally:
        handle.remove()
    [x] = seen
    assert tuple(x.shape) == (1, 3, 64, 64)
    assert float((x[0, 0] - x[0, 1]).abs().max()) < 1e-4 and float((x[0, 0] - x[0, 2]).abs().max()) < 1e-4
    assert float((x[0, 0] - prepared.square).abs().max()) < 2e-3


def test_the_batch_runner_runs_an_external_colorizer(ddcolor, tmp_path):
    photos = tmp_path / "photos"
    write_gray_photo(photos / "a.png", 40, 30)
    options = BatchOptions(output_dir=tmp_path / "out", settings=ColorizeSettings(render_size=64))
    events = list(run_batch(plan_batch([photos], options), ddcolor, options))
    assert len([e for e in events if isinstance(e, JobDone)]) == 1
    assert isinstance(events[-1], BatchFinished) and not events[-1].summary.failed
    written = read_photo(tmp_path / "out" / "a.png")
    assert written.luma.shape == (30, 40)
    report = json.loads((tmp_path / "out" / "revive-report.json").read_text(encoding="utf-8"))
    assert report["model"] == "dd" and report["settings"]["temperature"] is None


def test_load_colorizer_gives_revive_models_to_revives_colorizer(home, tmp_path):
    installed = install_model(home, "tiny")
    for name in ("tiny", str(installed)):
        colorizer = load_colorizer(name, "cpu")
        assert type(colorizer) is Colorizer and colorizer.card.name == "tiny"


# ------------------------------------------------------------------------------ inpainting (LaMa)


@pytest.fixture(scope="module")
def lama(tmp_path_factory):
    """LaMa as spandrel builds it (51 M parameters: its size cannot be chosen), an fp16 safetensors
    state dict added as "lama" once for the module."""
    torch.manual_seed(3)
    with torch_threads(1):
        folder = tmp_path_factory.mktemp("lama")
        path = _save(LaMa(in_nc=4, out_nc=3).eval(), folder / "big-lama.safetensors", half=True)
        with _module_home(folder):
            assert main.main(["models", "--add", str(path), "--name", "lama"]) == 0
            assert store.find_external("lama").card.architecture == "LaMa"
            inpainter = Inpainter.load("lama")
    return inpainter


def test_lama_fills_only_the_masked_pixels(lama):
    photo = _photo(40, 36, seed=4)
    mask = np.zeros((36, 40), bool)
    mask[10:14, 5:35] = True  # a scratch
    filled = lama.fill(photo, mask)
    assert filled.shape == photo.shape and filled.dtype == np.uint8
    assert (filled[~mask] == photo[~mask]).all()
    assert (filled[mask] != photo[mask]).any()
    gray = gradient_luma(40, 36)
    filled_gray = lama.fill(gray, mask.astype(np.uint8))
    assert filled_gray.shape == gray.shape and (filled_gray[~mask] == gray[~mask]).all()
    assert (lama.fill(photo, np.zeros((36, 40), bool)) == photo).all()
    with pytest.raises(UnsupportedImage, match="mask"):
        lama.fill(photo, np.zeros((10, 10), bool))


def test_lama_runs_only_the_windows_with_damage(lama):
    windowed = Inpainter(lama.loaded, window=48, context=8)  # cores of 32 px
    photo = _photo(96, 64, seed=5)
    mask = np.zeros((64, 96), bool)
    mask[5:9, 3:20] = True  # inside the first core only
    calls = []
    filled = windowed.fill(photo, mask, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 1)]
    assert (filled[~mask] == photo[~mask]).all()
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        windowed.fill(photo, mask, cancel=cancel)


# ------------------------------------------------------------------------------ faces


@pytest.fixture
def restoreformer(home, tmp_path, capsys):
    """A tiny RestoreFormer (32 channels at each of its six levels, a 16-entry codebook) added from a .pth."""
    torch.manual_seed(6)
    module = RestoreFormer(
        ch=32, ch_mult=(1, 1, 1, 1, 1, 1), num_res_blocks=1, n_embed=16, embed_dim=32, z_channels=32
    ).eval()
    code, out, err = _add(capsys, _save(module, tmp_path / "RestoreFormer_tiny.pth"))
    assert code == 0, err
    assert "RestoreFormer, face restoration" in out
    return "RestoreFormer_tiny"


class _NoFaces:
    def __call__(self, rgb):
        return []


def test_faces_are_restored_on_aligned_squares_and_blended_back(restoreformer):
    restorer = FaceRestorer.load(restoreformer)
    photo = np.full((200, 160, 3), 120, np.uint8)
    face = Face((50, 60, 60, 60), ((68.0, 83.0), (92.0, 83.0)), True)
    result = restorer.apply_faces(photo, [face])
    assert result.shape == photo.shape and result.dtype == np.uint8
    changed = np.abs(result.astype(int) - photo.astype(int)).max(axis=2) > 0
    assert changed[60:120, 50:110].mean() > 0.5  # the face is replaced...
    assert not changed[:20].any() and not changed[180:].any() and not changed[:, :15].any()  # ...nothing far away
    deep = restorer.apply_faces(photo.astype(np.uint16) * 257, [face])
    assert deep.dtype == np.uint16
    with pytest.raises(UnsupportedImage):
        restorer.apply_faces(photo[..., 0])


def test_a_photo_without_faces_is_returned_unchanged(restoreformer):
    restorer = FaceRestorer(FaceRestorer.load(restoreformer).loaded, detector=_NoFaces())
    photo = _photo(64, 48)
    assert (restorer.apply_faces(photo) == photo).all()
    assert HaarFaceDetector()(np.full((120, 100, 3), 128, np.uint8)) == []  # the bundled cascades load and run


def test_alignment_puts_the_eyes_on_the_template():
    eyes = ((100.0, 220.0), (160.0, 200.0))  # a tilted face
    matrix = alignment(eyes)
    for (x, y), (tx, ty) in zip(eyes, TEMPLATE_EYES, strict=True):
        mapped = matrix @ np.array([x, y, 1.0])
        assert np.allclose(mapped, (tx, ty), atol=1e-6)
    mask = feather_mask()
    assert mask.shape == (FACE_SIZE, FACE_SIZE) and mask[0, 0] < 0.01 and mask[256, 256] > 0.99


def _stand_in(architecture: str, network: torch.nn.Module) -> FaceRestorer:
    card = ExternalCard(
        name="stand-in",
        architecture=architecture,
        task="face restoration",
        scale=1,
        input_channels=3,
        output_channels=3,
        size_requirements={"minimum": 512, "multiple_of": 1, "square": False},
        tiling="supported",
        supports_half=False,
        supports_bfloat16=True,
        tags=(),
        parameters=0,
        file="stand-in.pth",
        original_name="x.pth",
        source="",
        sha256="0" * 64,
        size_bytes=1,
        added="",
    )
    loaded = LoadedModel(SimpleNamespace(model=network), card, None, select_device("cpu", "fp32"), torch.float32)
    return FaceRestorer(loaded, detector=_NoFaces(), fidelity=0.7)


@pytest.mark.parametrize("architecture", ["GFPGAN", "CodeFormer"])
def test_gfpgan_and_codeformer_get_their_authors_value_range(architecture):
    """Both were trained on faces in [-1, 1]: an identity network must give the face back unchanged,
    which only holds when [0, 1] -> [-1, 1] -> [0, 1] is done as their inference scripts do."""
    seen = {}

    class Identity(torch.nn.Module):
        def forward(self, x, **options):
            seen.update(options, low=float(x.min()), high=float(x.max()))
            return x, None

    restorer = _stand_in(architecture, Identity())
    face = np.linspace(0, 1, FACE_SIZE * FACE_SIZE * 3, dtype=np.float32).reshape(FACE_SIZE, FACE_SIZE, 3)
    assert np.allclose(restorer.restore_face(face), face, atol=1e-6)
    assert seen["low"] == pytest.approx(-1.0) and seen["high"] == pytest.approx(1.0)
    if architecture == "CodeFormer":
        assert seen["weight"] == 0.7
    else:
        assert seen["randomize_noise"] is False and seen["return_rgb"] is False


def test_load_external_uses_the_cpu_in_full_precision_by_default(esrgan):
    loaded = load_external("x2", ("upscaling",), "an upscaler")
    assert loaded.device.device.type == "cpu"
    assert loaded.dtype in (torch.float32, torch.bfloat16)  # bf16 only on CPUs with native bf16
    assert next(loaded.descriptor.model.parameters()).dtype == torch.float32  # half precision through autocast


# ------------------------------------------------------------------------------ colorize --upscale


def test_colorize_upscale_writes_a_larger_photo_with_its_dpi_scaled(esrgan, home, tmp_path, capsys):
    from tests.helpers import install_model, write_gray_photo

    install_model(home, "tiny", render_size=64)
    photo = write_gray_photo(tmp_path / "in" / "scan.png", 40, 30, dpi=(300, 300))
    code = main.main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", "tiny", "--upscale", "x2"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Finishing:" in err
    with Image.open(tmp_path / "out" / "scan.png") as result:
        assert result.size == (80, 60)
        assert round(result.info["dpi"][0]) == 600
    assert (
        main.main(["colorize", str(photo), "-o", str(tmp_path / "out2"), "--model", "tiny", "--upscale", "nonesuch"])
        == 2
    )
    assert not (tmp_path / "out2").exists()
