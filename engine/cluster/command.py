"""The ``colorize`` command's ``--cluster ADDRESS`` option: argparse wiring and the event source.

Torch-free and Ray-free at import: ``--help`` and a run without ``--cluster`` never load Ray. With
``--cluster``, the model is loaded by the cluster's workers, not by this process (a driver on a
GPU node would otherwise hold GPU memory its workers need).
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable, Iterator

from engine.batch.plan import BatchOptions, BatchPlan
from engine.cancel import CancelToken
from engine.cluster import INSTALL_HINT
from engine.cluster.address import address_problem


def _worker_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_cluster_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="colorize on a Ray cluster: 'auto' (the cluster this machine is a node of), 'ray://HOST:10001',"
        " or 'local' (start Ray on this machine). Inputs, output and Revive must be at the same paths on"
        f" every node. Needs the cluster extra ({INSTALL_HINT.split(': ')[1]})",
    )
    parser.add_argument(
        "--cluster-workers",
        type=_worker_count,
        metavar="N",
        help="with --cluster: how many workers (default: one per GPU of the cluster, else one per CPU)",
    )


def cluster_problem(args: argparse.Namespace) -> str | None:
    """Why ``args`` cannot run (an address that is none, ``engine.cluster.address``; the install
    line when --cluster is given without Ray), or None.
    Looks for Ray without importing it."""
    if getattr(args, "cluster_workers", None) is not None and not getattr(args, "cluster", None):
        return "--cluster-workers needs --cluster ADDRESS"
    address = getattr(args, "cluster", None)
    if address is None:
        return None
    problem = address_problem(address)
    if problem is not None:
        return f"--cluster: {problem}"
    return INSTALL_HINT if importlib.util.find_spec("ray") is None else None


def model_lines(args: argparse.Namespace) -> list[str]:
    """What the command says about the model before a cluster run, as it does before a local one
    (the workers load it; this reads only its card). ReviveError for a model that cannot be used."""
    from engine.models.card import read_card
    from engine.models.registry import resolve

    resolved = resolve(str(args.model) if args.model is not None else None)
    card = read_card(resolved.path)
    finishing = [
        f"{what} {name} on the Ray cluster {args.cluster}"
        for what, name in (
            ("Upscaling with", getattr(args, "upscale", None)),
            ("Faces by", getattr(args, "faces", None)),
        )
        if name
    ]
    return [
        *(f"warning: {warning}" for warning in resolved.warnings),
        f"Model {card.name} ({resolved.path}) on the Ray cluster {args.cluster}",
        *finishing,
    ]


def cluster_events(
    plan: BatchPlan, options: BatchOptions, args: argparse.Namespace, restore=None
) -> Callable[[CancelToken], Iterator[object]]:
    """The event source of a cluster run: ``start(cancel)`` gives ``run_batch``'s events;
    ``restore`` (``engine.cli.restore.restore_request``'s stages and options) repairs first."""

    def start(cancel: CancelToken) -> Iterator[object]:
        from engine.cluster.run import run_batch_on_cluster

        return run_batch_on_cluster(
            plan,
            options,
            args.model,
            args.device,
            args.cluster,
            cancel,
            workers=args.cluster_workers,
            precision=getattr(args, "precision", "auto"),
            upscale=getattr(args, "upscale", None),
            faces=getattr(args, "faces", None),
            restore=restore,
        )

    return start
