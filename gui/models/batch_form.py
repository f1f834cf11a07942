"""What the batch panel asks to run: plain data the controller acts on (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.cluster.address import address_problem, ray_missing
from gui.models.restoration_choice import RestorationChoice

MAX_CLUSTER_WORKERS = 4096  # the workers spin box's top (0 is automatic)


@dataclass(frozen=True)
class ClusterChoice:
    """Run the batch on the Ray cluster at ``address`` ("local", "auto", "ray://HOST:10001") with
    ``workers`` workers (0: automatic, one per GPU of the cluster, else one per CPU), as
    ``colorize --cluster ADDRESS --cluster-workers N`` does."""

    address: str = "local"
    workers: int = 0

    @property
    def worker_count(self) -> int | None:
        """What ``engine.cluster.run.run_batch_on_cluster`` takes: None fills the cluster."""
        return self.workers or None

    def problem(self) -> str | None:
        """Why this cannot run, in one line (a malformed address, Ray not installed), or None.
        Imports no Ray: it only looks for it."""
        if not 0 <= self.workers <= MAX_CLUSTER_WORKERS:
            return f"the number of Ray workers must be between 0 (automatic) and {MAX_CLUSTER_WORKERS}"
        problem = address_problem(self.address)
        if problem is not None:
            return problem[0].upper() + problem[1:]
        missing = ray_missing()
        return missing[0].upper() + missing[1:] if missing else None


def cluster_unavailable() -> str | None:
    """Why no batch can run on a Ray cluster here (Ray is not installed: the install line), or None."""
    return ray_missing()


@dataclass(frozen=True)
class BatchForm:
    input_dir: Path
    output_dir: Path
    recursive: bool
    format: str
    skip_existing: bool
    restoration: RestorationChoice | None = None  # repair each photo before colour (the Restore tab)
    cluster: ClusterChoice | None = None  # run on a Ray cluster instead of this machine
    upscale: str | None = None  # an added upscaling model to enlarge each result with (colorize --upscale)
    faces: str | None = None  # an added face model to restore each face with (colorize --faces)

    @property
    def finishing(self) -> bool:
        return bool(self.upscale or self.faces)
