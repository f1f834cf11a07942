"""The CycleGAN paper's Monet <-> photo setting (Zhu et al. 2017, section 5.2), on Revive's engine.

Plain RGB <-> RGB: G (photo -> Monet) and F (Monet -> photo) are ResNet generators, D_A and D_B are
70x70 PatchGANs, least-squares GAN loss, cycle weight 10, identity 0.5 x cycle, image pools of 50,
Adam 2e-4 / beta1 0.5, constant then linear decay. Unlike the colorizer fine-tuning there is no
paired term (no photo has a Monet twin). A short CPU run uses small crops and a small generator;
the paper trained 200 epochs at 256 px on a GPU.

    uv run python examples/monet_photo.py --monet ../shared/data/monet --photos ../shared/data/photos \
        --out /tmp/monet_photo --steps 300

Writes ``photo_to_monet.png`` and ``monet_to_photo.png`` (before | after, held-out images) and
``losses.csv`` into ``--out``. The data is read where it is; nothing is copied into the repository.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.cyclegan.config import CycleGANConfig
from training.cyclegan.data import load_domain, make_batch
from training.cyclegan.parts import build_discriminator, build_resnet, learning_rate_factor
from training.cyclegan.preview import save_grid, translate_previews
from training.cyclegan.step import LOSS_NAMES, CycleGANNetworks, RGBGenerator
from training.cyclegan.trainer import init_weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monet", type=Path, required=True, help="folder of Monet paintings (domain B)")
    parser.add_argument("--photos", type=Path, required=True, help="folder of photos (domain A)")
    parser.add_argument("--out", type=Path, default=Path("monet_photo_out"), help="where the grids go")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--size", type=int, default=64, help="training crop side (paper: 256)")
    parser.add_argument("--batch-size", type=int, default=1, help="paper: 1")
    parser.add_argument("--filters", type=int, default=32, help="generator base width (paper: 64)")
    parser.add_argument("--blocks", type=int, default=6, help="residual blocks (paper: 9 at 256 px)")
    parser.add_argument("--max-images", type=int, default=1000, help="per folder")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (keep it modest on a shared machine)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # The config's ``old``/``color`` are domain A/B here: photos and paintings. Diversity guard off:
    # it is meant for colorizers, and with batch 1 it is inactive anyway.
    config = CycleGANConfig(
        old=args.photos,
        color=args.monet,
        steps=args.steps,
        size=args.size,
        batch_size=args.batch_size,
        f_filters=args.filters,
        f_blocks=args.blocks,
        d_filters=64,
        d_layers=3,
        diversity_weight=0.0,
        preview_size=128,
        preview_count=4,
        max_images=args.max_images,
    )
    device, dtype = torch.device("cpu"), torch.float32
    started = time.monotonic()
    photos = load_domain(config.old, config, "photo")
    monet = load_domain(config.color, config, "Monet")
    print(f"{photos.count} photos, {monet.count} paintings loaded in {time.monotonic() - started:.0f} s")

    g = RGBGenerator(init_weights(build_resnet(config, 3, 3)))  # G: photo -> Monet
    f = init_weights(build_resnet(config, 3, 3))  # F: Monet -> photo
    d_a, d_b = init_weights(build_discriminator(config)), init_weights(build_discriminator(config))
    networks = CycleGANNetworks.create(g, f, d_a, d_b, config, device)
    networks.train()
    cache_a, cache_b = torch.from_numpy(photos.cache), torch.from_numpy(monet.cache)

    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with (args.out / "losses.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", *LOSS_NAMES])
        window: list[dict[str, float]] = []
        for step in range(config.steps):
            real_a = make_batch(cache_a, config, step, salt=0)
            real_b = make_batch(cache_b, config, step, salt=1)
            losses = networks.step(
                real_a, real_b, config, learning_rate_factor(step, config.steps, config.decay_start), dtype
            )
            writer.writerow([step + 1, *(f"{losses[n]:.4f}" for n in LOSS_NAMES)])
            window.append(losses)
            if (step + 1) % 25 == 0 or step + 1 == config.steps:
                means = {
                    n: sum(w[n] for w in window) / len(window)
                    for n in ("G_adv", "F_adv", "cycle_A", "cycle_B", "identity", "D_A", "D_B")
                }
                rate = (time.monotonic() - started) / (step + 1)
                print(
                    f"step {step + 1}/{config.steps} ({rate:.2f} s/step) "
                    + " ".join(f"{k} {v:.3f}" for k, v in means.items()),
                    flush=True,
                )
                window = []
    save_grid(translate_previews(networks.g, photos.previews, device, dtype), args.out / "photo_to_monet.png")
    save_grid(
        translate_previews(RGBGenerator(networks.f), monet.previews, device, dtype), args.out / "monet_to_photo.png"
    )
    print(f"grids and losses in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
