"""Cluster throughput: the plain batch runner beside the Ray runner with 1 and 2 local workers, on
the same generated photos.

    uv run benchmarks/cluster.py [--count 40] [--megapixels 1] [--model NAME]

(Ray comes with the dev dependencies; elsewhere, ``uv sync --extra cluster`` first.)

The photos are made once into a temporary folder (gray JPEGs with film grain). Each runner
colorizes all of them into its own folder with the same model at the model card's render size:

- plain: ``engine.batch.run.run_batch`` in this process, the model loaded (and warmed up) first,
  with torch's default threads and with one thread (as each Ray worker of a CPU cluster runs).
- Ray, N workers: ``engine.cluster.run.ClusterWorkers`` on a Ray started here with this machine's
  CPUs; the workers' start (process, torch import, model load) is timed apart from the batch,
  since a cluster pays it once per run, not per photo.

Prints images per second for each, and the shared-storage bandwidth each used: MB/s read (the
photos' file sizes) and written (the outputs' file sizes) over the batch's wall time. On N
machines the Ray runner scales with the workers until that bandwidth reaches what the shared
storage serves.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
import torch
from PIL import Image


def make_photos(folder: Path, count: int, megapixels: float) -> list[Path]:
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        small = (rng.random((max(2, height // 16), max(2, width // 16))) * 255).astype(np.uint8)
        gray = Image.fromarray(small).resize((width, height), Image.BICUBIC)
        noisy = np.asarray(gray, dtype=np.int16) + rng.integers(-6, 7, (height, width), dtype=np.int16)
        path = folder / f"scan_{i:03d}.jpg"
        Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(path, quality=92)
        paths.append(path)
    return paths


def megabytes(paths) -> float:
    return sum(os.path.getsize(path) for path in paths) / 1e6


def timed(events, expected: int) -> float:
    from engine.batch.run import BatchFinished

    start = time.perf_counter()
    for event in events:
        if isinstance(event, BatchFinished):
            assert event.summary.done == expected, event.summary
    return time.perf_counter() - start


def line(name: str, count: int, seconds: float, read_mb: float, written_mb: float) -> str:
    return (
        f"{name}: {count / seconds:.2f} images/s ({seconds:.1f} s),"
        f" shared storage read {read_mb / seconds:.2f} MB/s, written {written_mb / seconds:.2f} MB/s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--megapixels", type=float, default=1.0)
    parser.add_argument("--model", help="model name or path (default: the shipped model)")
    args = parser.parse_args()

    from engine.batch.plan import BatchOptions, plan_batch
    from engine.batch.run import run_batch
    from engine.cluster.run import REVIVE_ROOT, ClusterWorkers, import_ray, run_batch_on_workers
    from engine.models.card import read_card
    from engine.models.colorizer import Colorizer
    from engine.models.registry import resolve

    ray = import_ray()
    from ray.job_config import JobConfig

    model_path = resolve(args.model).path
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="revive-cluster-bench-") as folder:
        tmp = Path(folder)
        (tmp / "in").mkdir()
        photos = make_photos(tmp / "in", args.count, args.megapixels)
        read_mb = megabytes(photos)
        card = read_card(model_path)
        size = Image.open(photos[0]).size
        print(
            f"{len(photos)} gray JPEGs of {size[0]}x{size[1]} ({size[0] * size[1] / 1e6:.1f} MP, {read_mb:.1f} MB),"
            f" model {card.name}, render size {card.render_size}, {cpus} CPUs",
            flush=True,
        )

        threads = torch.get_num_threads()
        for count in sorted({threads, 1}, reverse=True):  # as run, and as one Ray worker's model runs
            torch.set_num_threads(count)
            colorizer = Colorizer.load(model_path)
            colorizer.colorize(np.zeros((512, 512), np.uint8))  # warm-up
            out = tmp / f"plain{count}"
            options = BatchOptions(output_dir=out, write_report=False)
            seconds = timed(run_batch(plan_batch([tmp / "in"], options), colorizer, options), len(photos))
            print(
                line(
                    f"plain batch runner ({colorizer.device.description})",
                    len(photos),
                    seconds,
                    read_mb,
                    megabytes(out.glob("*.jpg")),
                ),
                flush=True,
            )
        torch.set_num_threads(threads)
        del colorizer

        ray_temp = tempfile.mkdtemp(prefix="rv", dir="/tmp" if Path("/tmp").is_dir() else None)
        ray.init(
            address="local",
            num_cpus=cpus,
            include_dashboard=False,
            log_to_driver=False,
            _temp_dir=ray_temp,
            logging_level=logging.ERROR,
            job_config=JobConfig(code_search_path=[str(REVIVE_ROOT)]),
        )
        try:
            for workers in (1, 2):
                start = time.perf_counter()
                with ClusterWorkers.start(model_path, "auto", "local", workers=workers) as pool:
                    startup = time.perf_counter() - start
                    out = tmp / f"ray{workers}"
                    options = BatchOptions(output_dir=out, write_report=False)
                    plan = plan_batch([tmp / "in"], options)
                    seconds = timed(run_batch_on_workers(pool, plan, options), len(photos))
                print(
                    line(
                        f"Ray, {pool.layout.describe()} ({pool.describe()}; start {startup:.1f} s)",
                        len(photos),
                        seconds,
                        read_mb,
                        megabytes(out.glob("*.jpg")),
                    ),
                    flush=True,
                )
        finally:
            ray.shutdown()
            shutil.rmtree(ray_temp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
