"""Archive scale (engine.cluster): the batch on a local two-worker Ray cluster gives what the batch
gives on one machine; the layout, the worker and the missing extra are tested without Ray."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import main
from engine.batch.ledger import OutputLedger, stamp_file
from engine.batch.plan import REPORT_NAME, BatchOptions, plan_batch
from engine.batch.run import BatchFinished, BatchStarted, JobDone, JobFailed, JobSkipped, JobStarted, run_batch
from engine.cancel import CancelToken
from engine.cluster import command
from engine.cluster.layout import plan_workers
from engine.cluster.run import (
    REVIVE_ROOT,
    ClusterWorkers,
    import_ray,
    run_batch_on_cluster,
    run_batch_on_workers,
)
from engine.cluster.worker import ColorizeWorker, ReachCheck, unreachable_message
from engine.errors import ClusterError
from tests.helpers import install_model, write_gray_photo

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    return install_model(tmp_path_factory.mktemp("home"), "tiny", render_size=64)


def _digests(folder: Path) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _of(events, kind):
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture
def album(tmp_path) -> Path:
    root = tmp_path / "photos"
    write_gray_photo(root / "beach.jpg", 40, 30)
    write_gray_photo(root / "portrait.png", 24, 36)
    write_gray_photo(root / "1950s" / "wedding.jpg", 37, 29)
    write_gray_photo(root / "1950s" / "deep" / "house.tif", 33, 21)
    write_gray_photo(root / "1950s" / "garden.bmp", 30, 30)
    return root


# ------------------------------------------------------------------------------ layout (no Ray)


def test_a_gpu_cluster_gets_a_worker_per_gpu_with_its_share_of_the_cpus():
    layout = plan_workers([{"CPU": 16, "GPU": 2}, {"CPU": 8, "GPU": 1}])
    assert (layout.count, layout.device, layout.num_gpus) == (3, "cuda", 1.0)
    assert layout.num_cpus == 8 and layout.concurrency == 9  # a photo per CPU, one more for the GPU


def test_more_workers_than_gpus_share_them():
    layout = plan_workers([{"CPU": 8, "GPU": 1}, {"CPU": 8, "GPU": 1}], workers=4)
    assert (layout.count, layout.num_gpus, layout.num_cpus) == (4, 0.5, 4)


def test_a_cpu_cluster_gets_a_worker_of_one_thread_per_cpu():
    layout = plan_workers([{"CPU": 2}, {"CPU": 4}])
    assert (layout.count, layout.device, layout.num_gpus, layout.num_cpus, layout.torch_threads) == (6, "cpu", 0, 1, 1)
    assert plan_workers([{"CPU": 4}], workers=1).num_cpus == 1  # fewer workers leave CPUs to others
    assert plan_workers([{"CPU": 16, "GPU": 2}], device="cpu").count == 16  # --device cpu leaves the GPUs be


def test_a_cluster_that_cannot_hold_the_workers_says_why():
    with pytest.raises(ClusterError, match="at most 2 worker"):
        plan_workers([{"CPU": 2}], workers=3)
    with pytest.raises(ClusterError, match="no GPU"):
        plan_workers([{"CPU": 2}], device="cuda")


# ------------------------------------------------------------------------------ the worker (no Ray)


def _options(out: Path, **changes) -> BatchOptions:
    return BatchOptions(out, format="png", **changes)


def test_a_worker_writes_the_photo_and_measures_it_for_the_ledger(album, tmp_path, model_path):
    options = _options(tmp_path / "out")
    plan = plan_batch([album], options)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "marker").touch()
    worker = ColorizeWorker(model_path.read_bytes(), str(model_path), "cpu", "fp32", 1)
    assert worker.info().problem is None and worker.info().device.startswith("CPU")
    forbidden = frozenset(job.source for job in plan.jobs)
    assert worker.begin(options, forbidden, ReachCheck(plan.jobs[0].source, tmp_path / "out", "marker")) is None
    outcome = worker.colorize(plan.jobs[0], replace=False)
    assert outcome.message == "" and outcome.stamp == stamp_file(plan.jobs[0].output)


def test_a_worker_that_cannot_reach_the_folders_says_so_in_one_line(album, tmp_path, model_path):
    """A node where the share is not mounted: an empty folder of the same name must not pass."""
    options = _options(tmp_path / "out")
    plan = plan_batch([album], options)
    (tmp_path / "out").mkdir()  # exists, but holds no marker of the driver's
    worker = ColorizeWorker(model_path.read_bytes(), str(model_path), "cpu", "fp32", 1)
    message = "the Ray workers cannot reach {}: use a folder every node mounts at the same path"
    check = ReachCheck(plan.jobs[0].source, tmp_path / "out", ".revive-cluster-abc")
    assert worker.begin(options, frozenset(), check) == message.format(tmp_path / "out")
    assert worker.colorize(plan.jobs[0], replace=False).message == message.format(tmp_path / "out")
    assert not plan.jobs[0].output.exists()
    missing = ReachCheck(tmp_path / "elsewhere" / "scan.jpg", tmp_path / "out", "x")
    assert missing.problem() == str(tmp_path / "elsewhere" / "scan.jpg")
    assert unreachable_message(missing.problem()) == message.format(tmp_path / "elsewhere" / "scan.jpg")


def test_a_worker_that_cannot_load_the_model_says_why(tmp_path):
    worker = ColorizeWorker(b"not a model", str(tmp_path / "broken.safetensors"), "cpu", "fp32", 1)
    assert "cannot use the model" in worker.info().problem and "broken.safetensors" in worker.info().problem


def test_the_ledger_takes_a_stamp_measured_by_the_writer_as_proof(tmp_path):
    """The driver records what a worker measured; the file is then Revive's own, as if measured here."""
    source = write_gray_photo(tmp_path / "in" / "a.png")
    output = write_gray_photo(tmp_path / "out" / "a.png")
    OutputLedger(tmp_path / "out").record(output, source, stamp=stamp_file(output))
    assert OutputLedger.load(tmp_path / "out").owns(output, source)
    output.write_bytes(b"changed by hand")
    assert not OutputLedger.load(tmp_path / "out").owns(output, source)


# ------------------------------------------------------------------------------ the command's option


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    command.add_cluster_arguments(parser)
    return parser.parse_args(list(argv))


def test_without_the_extra_cluster_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(command.importlib.util, "find_spec", lambda name: None)
    assert command.cluster_problem(_parse("--cluster", "auto")) == "install the cluster extra: uv sync --extra cluster"
    assert command.cluster_problem(_parse()) is None
    assert command.cluster_problem(_parse("--cluster-workers", "2")) == "--cluster-workers needs --cluster ADDRESS"
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ClusterError, match=r"^install the cluster extra: uv sync --extra cluster$"):
        import_ray()


def test_an_address_where_nothing_answers_is_one_line_at_once(home, tmp_path, capsys):
    import socket

    from engine.cluster.address import unreachable

    with socket.socket() as listening:  # something answers here
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert unreachable(f"127.0.0.1:{port}") is None
    # the socket is closed: nothing answers there now (Ray itself would retry for minutes)
    assert "Connection refused" in unreachable(f"127.0.0.1:{port}")
    assert unreachable("local") is None and unreachable("auto") is None
    install_model(home, "tiny", render_size=64)
    photo = write_gray_photo(tmp_path / "in" / "a.png", 30, 20)
    argv = ["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", "tiny", "--cluster", f"127.0.0.1:{port}"]
    assert main.main(argv) == 2
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("revive:")]
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port} (Connection refused)" in line


def test_a_ray_client_address_without_ray_client_names_the_install(home, tmp_path, capsys):
    import importlib.util
    import socket

    if importlib.util.find_spec("grpc") is not None:
        pytest.skip("Ray Client is installed here")
    install_model(home, "tiny", render_size=64)
    photo = write_gray_photo(tmp_path / "in" / "a.png", 30, 20)
    with socket.socket() as listening:  # something answers, so the probe passes and Ray is asked
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        address = f"ray://127.0.0.1:{listening.getsockname()[1]}"
        argv = ["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", "tiny", "--cluster", address]
        assert main.main(argv) == 2
    [line] = [x for x in capsys.readouterr().err.splitlines() if x.startswith("revive:")]
    assert "needs Ray Client" in line and "uv sync --extra cluster" in line and "ray start" not in line


class _DyingPool:
    """A stand-in for ClusterWorkers whose only worker colorizes one photo, then is gone."""

    address = "local"

    def __init__(self, model_path: Path) -> None:
        from types import SimpleNamespace

        from engine.cluster.pool import ModelFile

        self.model = ModelFile.of(model_path)
        self.infos = [SimpleNamespace(takes_hints=True, finishing=None, node="n1", device="CPU")]
        self.handed: list = []
        self.collected = False

    def begin(self, plan, options, cancel, restore):
        marker = plan.output_dir / ".revive-cluster-test"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        return marker

    def has_room(self) -> bool:
        return not self.handed

    def hand_out(self, job, replace: bool) -> None:
        self.handed.append(job)

    @property
    def busy(self) -> bool:
        return bool(self.handed) and not self.collected

    def collect(self, seconds):
        from types import SimpleNamespace

        self.collected = True
        job = self.handed[0]
        job.output.write_bytes(b"a colorized photo")
        yield job, SimpleNamespace(message="", trace="", stamp=stamp_file(job.output), seconds=0.1)

    def check_alive(self) -> None:
        raise ClusterError("every Ray worker has stopped (killed); finished photos are kept")

    def describe(self) -> str:
        return "Ray cluster (local): 1 x CPU"


def test_when_every_worker_is_gone_the_report_still_says_what_was_done(album, tmp_path, model_path):
    from engine.cluster.run import _run

    out = tmp_path / "out"
    plan = plan_batch([album], BatchOptions(out))
    pool = _DyingPool(model_path)
    events = []
    with pytest.raises(ClusterError, match="every Ray worker has stopped"):
        for event in _run(plan, BatchOptions(out), pool, model=pool.model, address="local", cancel=CancelToken()):
            events.append(event)
    report = json.loads((out / REPORT_NAME).read_text())
    assert report["counts"] == {"done": 1, "skipped": len(plan.jobs) - 1, "failed": 0}
    assert {e["detail"] for e in report["files"] if e["status"] == "skipped"} == {
        "not colorized: every Ray worker had stopped"
    }
    assert sum(isinstance(e, JobDone) for e in events) == 1


def test_the_option_loads_neither_ray_nor_torch():
    """--help and runs without --cluster never wait for Ray (or torch)."""
    code = (
        "import sys, engine.cluster.command, engine.cluster.layout; print(sorted({'ray', 'torch'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "[]"


def test_the_worker_count_must_be_a_positive_number(capsys):
    with pytest.raises(SystemExit):
        _parse("--cluster", "auto", "--cluster-workers", "0")
    assert "must be at least 1" in capsys.readouterr().err


# ------------------------------------------------------------------------------ on a local Ray cluster


@pytest.fixture(scope="module")
def local_ray():
    """Ray on this machine, once for the module, shut down after: 3 CPUs, for the two workers kept
    by ``workers`` and the one that ``run_batch_on_cluster`` starts and stops."""
    try:
        ray = import_ray()
    except ClusterError:
        pytest.skip("Ray is not installed")
    from ray.job_config import JobConfig

    temp = tempfile.mkdtemp(prefix="rv", dir="/tmp" if Path("/tmp").is_dir() else None)  # short: socket paths
    ray.init(
        address="local",
        num_cpus=3,
        include_dashboard=False,
        log_to_driver=False,
        _temp_dir=temp,
        logging_level=logging.ERROR,
        job_config=JobConfig(code_search_path=[str(REVIVE_ROOT)]),
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def workers(local_ray, model_path):
    """Two workers with the tiny model, kept for the module's batches (one start: seconds each)."""
    with ClusterWorkers.start(model_path, "cpu", "local", workers=2, precision="fp32") as pool:
        assert len(pool.infos) == 2
        yield pool


def _collect(events, cancel=None, cancel_after_first=False):
    events = list(_cancelling(events, cancel, cancel_after_first))
    assert isinstance(events[0], BatchStarted) and isinstance(events[-1], BatchFinished)
    started = [e.job.index for e in _of(events, JobStarted)]
    ended = [e.job.index for e in events if isinstance(e, (JobDone, JobFailed))]
    assert sorted(started) == sorted(ended)  # every photo handed out comes back
    return events


def _cancelling(events, cancel, cancel_after_first):
    for event in events:
        yield event
        if cancel_after_first and isinstance(event, JobDone):
            cancel.cancel()


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.slow
def test_a_cluster_run_writes_the_same_pixels_as_one_machine(workers, album, tmp_path, model_path):
    from engine.models.colorizer import Colorizer

    before = _digests(album)
    here = _options(tmp_path / "here")
    plan = plan_batch([album], here)
    list(run_batch(plan, Colorizer.load(model_path, "cpu", "fp32"), here))

    options = _options(tmp_path / "cluster")
    plan = plan_batch([album], options)
    events = _collect(run_batch_on_workers(workers, plan, options))
    summary = events[-1].summary
    assert (summary.total, summary.done, summary.skipped, summary.failed, summary.cancelled) == (5, 5, 0, (), False)
    ledger = OutputLedger.load(tmp_path / "cluster")
    for job in plan.jobs:
        relative = job.output.relative_to(tmp_path / "cluster")
        assert np.array_equal(_pixels(job.output), _pixels(tmp_path / "here" / relative)), relative
        assert ledger.owns(job.output, job.source)
    assert _digests(album) == before
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part") or ".revive-cluster-" in p.name]

    local_report = json.loads((tmp_path / "here" / REPORT_NAME).read_text(encoding="utf-8"))
    report = json.loads(summary.report_path.read_text(encoding="utf-8"))
    assert set(report) == set(local_report) | {"cluster"} and report["cluster"]["workers"] == 2
    assert report["counts"] == local_report["counts"] == {"done": 5, "skipped": 0, "failed": 0}
    assert report["settings"] == local_report["settings"]
    assert report["device"] == "Ray cluster (local): 2 x CPU, 1 threads, fp32"
    assert len(list((tmp_path / "cluster").glob("revive-report-*.json"))) == 1

    # Resumed with everything done: all skipped, and no worker is needed for that.
    resume = _options(tmp_path / "cluster", skip_existing=True)
    again = _collect(run_batch_on_cluster(plan_batch([album], resume), resume, model_path, "cpu", "local"))
    assert len(_of(again, JobSkipped)) == 5 and not _of(again, JobStarted)
    assert again[-1].summary.skipped == 5 and again[-1].summary.done == 0
    assert _digests(album) == before


@pytest.mark.slow
def test_workers_that_cannot_reach_the_photos_stop_the_batch_before_it_starts(workers, album, tmp_path):
    options = _options(tmp_path / "out")
    plan = plan_batch([album], options)
    first = plan.jobs[0].source
    first.rename(tmp_path / "moved")  # as on a node where the share is not mounted
    events = run_batch_on_workers(workers, plan, options)
    with pytest.raises(ClusterError) as raised:
        next(events)
    assert str(raised.value) == f"the Ray workers cannot reach {first}: use a folder every node mounts at the same path"
    assert not [p for p in (tmp_path / "out").iterdir() if p.name != ".revive-outputs.jsonl"]  # no marker left


@pytest.mark.slow
def test_a_corrupt_file_fails_alone_on_the_cluster(local_ray, album, tmp_path, model_path):
    """Through ``run_batch_on_cluster``, which starts its own worker and stops it after."""

    whole = (album / "beach.jpg").read_bytes()
    (album / "cut.jpg").write_bytes(whole[: len(whole) // 3])
    (album / "letter.jpg").write_text("Dear Sir, this is not a photo.")
    options = _options(tmp_path / "out")
    plan = plan_batch([album], options)
    events = _collect(run_batch_on_cluster(plan, options, model_path, "cpu", "local", workers=1, precision="fp32"))
    failed = {e.job.source.name: e.message for e in _of(events, JobFailed)}
    assert set(failed) == {"cut.jpg", "letter.jpg"}
    assert all(message and "Traceback" not in message for message in failed.values())
    assert len(_of(events, JobDone)) == 5
    for job in plan.jobs:
        assert job.output.exists() == (job.source.name not in failed)
    assert {Path(p).name for p, _ in events[-1].summary.failed} == {"cut.jpg", "letter.jpg"}


@pytest.mark.slow
def test_cancel_stops_the_cluster_batch_and_a_rerun_resumes_it(workers, tmp_path):
    folder = tmp_path / "in"
    for i in range(10):
        write_gray_photo(folder / f"photo{i}.png", 48, 36)
    before = _digests(folder)
    options = _options(tmp_path / "out")
    plan = plan_batch([folder], options)
    cancel = CancelToken()
    events = _collect(run_batch_on_workers(workers, plan, options, cancel), cancel, cancel_after_first=True)
    summary = events[-1].summary
    assert summary.cancelled and 1 <= summary.done < 10
    written = [job for job in plan.jobs if job.output.exists()]
    assert len(written) == summary.done
    for job in written:
        assert _pixels(job.output).shape == (36, 48, 3)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]
    assert json.loads((tmp_path / "out" / REPORT_NAME).read_text(encoding="utf-8"))["cancelled"] is True

    resume = _options(tmp_path / "out", skip_existing=True)
    again = _collect(run_batch_on_workers(workers, plan_batch([folder], resume), resume))
    assert {e.job.source for e in _of(again, JobSkipped)} == {job.source for job in written}
    assert len(_of(again, JobDone)) == 10 - summary.done and not again[-1].summary.cancelled
    assert all(job.output.exists() for job in plan.jobs)
    assert _digests(folder) == before


# ------------------------------------------------------------------------------ finishing on the cluster


def _tiny_upscaler_file(folder: Path) -> Path:
    from tests.spandrel_models import tiny_upscaler_file  # spandrel: only for these tests

    return tiny_upscaler_file(folder / "RealESRGAN_tiny_x2.pth")


def test_a_worker_with_an_upscaler_writes_the_enlarged_photo(album, tmp_path, model_path):
    from engine.cluster.pool import finishing_files

    files = finishing_files(_tiny_upscaler_file(tmp_path / "files"))
    options = _options(tmp_path / "out")
    plan = plan_batch([album], options)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "marker").touch()
    worker = ColorizeWorker(model_path.read_bytes(), str(model_path), "cpu", "fp32", 1, files)
    info = worker.info()
    assert info.problem is None and info.finishing == "upscaled x2 by RealESRGAN_tiny_x2"
    assert worker.begin(options, frozenset(), ReachCheck(plan.jobs[0].source, tmp_path / "out", "marker")) is None
    job = next(job for job in plan.jobs if job.source.name == "beach.jpg")  # 40 x 30
    outcome = worker.colorize(job, replace=False)
    assert outcome.message == "" and outcome.stamp == stamp_file(job.output)
    with Image.open(job.output) as image:
        assert image.size == (80, 60)


def test_finishing_models_are_read_by_name_checked_and_refused_in_one_line(home, tmp_path, album, model_path):
    from engine.cluster.pool import finishing_files
    from engine.cluster.worker import FinishingFiles
    from engine.errors import ModelFileError, ModelNotFound
    from engine.external.adding import add_model

    assert finishing_files(None, None) is None
    added = add_model(_tiny_upscaler_file(tmp_path / "files"), "x2", "a test")
    files = finishing_files("x2")
    assert files.faces is None and files.upscale == ("x2.pth", added.path.read_bytes())
    with pytest.raises(ModelNotFound, match="no external model called 'gone' was added"):
        finishing_files("gone")
    added.path.write_bytes(added.path.read_bytes()[:-4] + b"\0\0\0\0")  # same size, other bytes
    with pytest.raises(ModelFileError, match="changed since it was added"):
        finishing_files("x2")
    worker = ColorizeWorker(
        model_path.read_bytes(), str(model_path), "cpu", "fp32", 1, FinishingFiles(faces=("x.pth", b"junk"))
    )
    assert worker.info().problem.startswith("a Ray worker on ") and "cannot use the model" in worker.info().problem


def test_the_command_names_the_finishing_models_before_a_cluster_run(home, model_path):
    args = argparse.Namespace(model=str(model_path), cluster="local", upscale="x2", faces=None)
    assert command.model_lines(args)[-1] == "Upscaling with x2 on the Ray cluster local"


@pytest.mark.slow
def test_a_cluster_batch_with_an_upscaler_writes_enlarged_results_and_says_so(local_ray, album, tmp_path, model_path):
    upscaler = _tiny_upscaler_file(tmp_path / "files")
    options = _options(tmp_path / "out")
    plan = plan_batch([album], options)
    events = _collect(
        run_batch_on_cluster(plan, options, model_path, "cpu", "local", workers=1, precision="fp32", upscale=upscaler)
    )
    assert len(_of(events, JobDone)) == 5 and not _of(events, JobFailed)
    for job in plan.jobs:
        with Image.open(job.source) as source, Image.open(job.output) as output:
            assert output.size == (2 * source.width, 2 * source.height)
    report = json.loads((tmp_path / "out" / REPORT_NAME).read_text())
    assert report["finishing"] == "upscaled x2 by RealESRGAN_tiny_x2"


# ------------------------------------------------------------------------------ repair on the cluster


def _scratched(path: Path) -> Path:
    """A flat gray photo with one bright scratch across it: what the fill stage has to remove."""
    image = np.full((64, 96), 110, np.uint8)
    image[30:32, 5:90] = 250
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def test_a_worker_repairs_before_colour_when_the_batch_says_so(tmp_path, model_path):
    from engine.restoration.stages import RestorationOptions

    _scratched(tmp_path / "in" / "scan.png")
    options = _options(tmp_path / "out")
    plan = plan_batch([tmp_path / "in"], options)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "marker").touch()
    check = ReachCheck(plan.jobs[0].source, tmp_path / "out", "marker")
    worker = ColorizeWorker(model_path.read_bytes(), str(model_path), "cpu", "fp32", 1)
    restore = (("fading",), RestorationOptions())
    assert worker.begin(options, frozenset(), check, restore) is None
    assert worker.colorize(plan.jobs[0], replace=False).message == ""
    repaired = _pixels(plan.jobs[0].output)

    local = tmp_path / "local"
    from engine.batch.steps import Repair
    from engine.models.colorizer import Colorizer
    from engine.restoration.pipeline import Restorer

    colorizer = Colorizer.load(model_path, "cpu", "fp32")
    local_options = _options(local)
    local_plan = plan_batch([tmp_path / "in"], local_options)
    list(run_batch(local_plan, colorizer, local_options, repair=Repair(("fading",), RestorationOptions(), Restorer())))
    assert np.array_equal(repaired, _pixels(local_plan.jobs[0].output))  # the same repair as on one machine

    assert worker.begin(options, frozenset(), check) is None  # the next batch without repair
    plain = tmp_path / "out" / "scan.png"
    plain.unlink()
    assert worker.colorize(plan.jobs[0], replace=False).message == ""
    assert not np.array_equal(_pixels(plain), repaired)


def test_a_worker_that_cannot_load_the_detector_says_so_in_one_line(tmp_path, model_path, monkeypatch):
    from engine.errors import ModelFileError
    from engine.restoration.pipeline import Restorer
    from engine.restoration.stages import RestorationOptions

    def missing(self):
        raise ModelFileError("damage-detector.safetensors: no such model file")

    monkeypatch.setattr(Restorer, "detector", property(missing))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "marker").touch()
    worker = ColorizeWorker(model_path.read_bytes(), str(model_path), "cpu", "fp32", 1)
    problem = worker.begin(
        _options(tmp_path / "out"),
        frozenset(),
        ReachCheck(None, tmp_path / "out", "marker"),
        (("scratches",), RestorationOptions()),
    )
    assert problem.startswith("a Ray worker on ") and problem.endswith(
        "cannot repair photos: damage-detector.safetensors: no such model file"
    )


@pytest.mark.slow
def test_a_cluster_batch_repairs_first_and_the_report_says_so(local_ray, tmp_path, model_path):
    from engine.restoration.stages import RestorationOptions

    _scratched(tmp_path / "in" / "scan.png")
    options = _options(tmp_path / "out")
    plan = plan_batch([tmp_path / "in"], options)
    restore = (("scratches", "fading"), RestorationOptions())
    events = _collect(run_batch_on_cluster(plan, options, model_path, "cpu", "local", workers=1, restore=restore))
    assert len(_of(events, JobDone)) == 1
    report = json.loads((tmp_path / "out" / REPORT_NAME).read_text())
    assert report["restore"] == {"stages": ["scratches", "fading"]}
