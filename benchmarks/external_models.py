"""Speed of the external architectures Revive runs, at their authors' standard configurations.

    nice -n 19 uv run benchmarks/external_models.py [--only NAME ...] [--precision auto|fp32|bf16] [--json]

Each network is built with spandrel's architecture classes and random weights (speed does not
depend on the weights), in the configuration of its authors' published models, and timed for one
forward pass at the input the runner gives it (a 512 px square for DDColor and the face models, a
512 x 512 window for LaMa, a 256 x 256 tile for the upscalers), called as the runner calls it, in
the precision the runners would choose on this device (``engine.device.select_device``;
autocast for half precision). The first pass includes the allocator's warm-up: a pessimistic
number, as a user's first photo is.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import _common  # noqa: F401  (puts the repository on sys.path)
import torch


@dataclass(frozen=True)
class Case:
    name: str
    published_as: str  # the authors' model files this configuration matches
    task: str
    size: tuple[int, int]  # (H, W) of the input
    build: Callable[[], torch.nn.Module]
    run: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]


def _cases() -> list[Case]:
    from spandrel.architectures.Compact import Compact
    from spandrel.architectures.ESRGAN import ESRGAN
    from spandrel.architectures.GFPGAN import GFPGAN
    from spandrel.architectures.LaMa import LaMa
    from spandrel.architectures.RestoreFormer import RestoreFormer
    from spandrel.architectures.SPAN import SPAN
    from spandrel_extra_arches.architectures.CodeFormer import CodeFormer
    from spandrel_extra_arches.architectures.DDColor import DDColor

    def ddcolor(encoder: str) -> Callable[[], torch.nn.Module]:
        return lambda: DDColor(
            encoder_name=encoder,
            decoder_name="MultiScaleColorDecoder",
            nf=512,
            num_queries=100,
            num_output_channels=2,
            last_norm="Spectral",
            num_scales=3,
            dec_layers=9,
        )

    plain = lambda model, x: model(x)  # noqa: E731
    return [
        Case(
            "DDColor-L",
            "ddcolor_modelscope / ddcolor_paper / ddcolor_artistic",
            "colorization",
            (512, 512),
            ddcolor("convnext-l"),
            plain,
        ),
        Case("DDColor-T", "ddcolor_paper_tiny", "colorization", (512, 512), ddcolor("convnext-t"), plain),
        Case(
            "GFPGAN",
            "GFPGANv1.3 / v1.4",
            "face restoration",
            (512, 512),
            GFPGAN,
            lambda model, x: model(x * 2 - 1, return_rgb=False, randomize_noise=False)[0],
        ),
        Case(
            "CodeFormer",
            "codeformer.pth (v0.1.0)",
            "face restoration",
            (512, 512),
            lambda: CodeFormer(
                dim_embd=512,
                n_head=8,
                n_layers=9,
                codebook_size=1024,
                latent_size=256,
                connect_list=["32", "64", "128", "256"],
            ),
            lambda model, x: model(x * 2 - 1, weight=0.5)[0],
        ),
        Case(
            "RestoreFormer",
            "RestoreFormer.pth",
            "face restoration",
            (512, 512),
            RestoreFormer,
            lambda model, x: model(x * 2 - 1)[0],
        ),
        Case(
            "LaMa",
            "big-lama",
            "inpainting",
            (512, 512),
            lambda: LaMa(in_nc=4, out_nc=3),
            lambda model, x: model(x, (x[:, :1] > 0.9).float()),
        ),
        Case(
            "RealESRGAN x4plus",
            "RealESRGAN_x4plus (RRDBNet 64nf 23nb)",
            "upscaling",
            (256, 256),
            lambda: ESRGAN(num_filters=64, num_blocks=23, scale=4),
            plain,
        ),
        Case(
            "Compact x4",
            "realesr-general-x4v3 (SRVGGNetCompact 64nf 32nc)",
            "upscaling",
            (256, 256),
            lambda: Compact(num_feat=64, num_conv=32, upscale=4),
            plain,
        ),
        Case(
            "SPAN x4",
            "SPAN x4 (48 features)",
            "upscaling",
            (256, 256),
            lambda: SPAN(num_in_ch=3, num_out_ch=3, feature_channels=48, upscale=4),
            plain,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", metavar="NAME", help="run only these cases (names as printed)")
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    from engine.device import select_device

    choice = select_device("cpu", args.precision)
    results = []
    print(f"device: {choice.description}")
    for case in _cases():
        if args.only and case.name not in args.only:
            continue
        torch.manual_seed(0)
        started = time.perf_counter()
        model = case.build().eval()
        built = time.perf_counter() - started
        parameters = sum(p.numel() for p in model.parameters())
        x = torch.rand(1, 3, *case.size)
        started = time.perf_counter()
        with torch.inference_mode(), torch.autocast("cpu", dtype=choice.dtype, enabled=choice.dtype != torch.float32):
            case.run(model, x)
        seconds = time.perf_counter() - started
        results.append(
            {
                "name": case.name,
                "published_as": case.published_as,
                "task": case.task,
                "input": f"{case.size[1]}x{case.size[0]}",
                "parameters_m": round(parameters / 1e6, 1),
                "forward_s": round(seconds, 2),
                "build_s": round(built, 2),
            }
        )
        row = results[-1]
        print(
            f"{row['name']:<18} {row['task']:<17} {row['input']:>8}  {row['parameters_m']:>6.1f} M  "
            f"{row['forward_s']:>7.2f} s  (built in {row['build_s']:.1f} s)",
            flush=True,
        )
        del model
    if args.json:
        print(json.dumps({"device": choice.description, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
