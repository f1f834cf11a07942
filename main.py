"""Revive: bring old photographs back.

With no arguments, opens the desktop app; with a subcommand, runs it on the command line:
``colorize``, ``models``, ``train-base``, ``train``. See ``main.py --help``.

Nothing else lives here: parsing, logging, and handing over to the app or a command. The command
modules are imported statically (the import graph is visible to the tools that check it) and
import torch only when they run, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys

log = logging.getLogger("revive")


def commands() -> tuple:
    """(subcommand, module with add_arguments/run, one-line help). Imported here, inside a function,
    so that a Ctrl+C during start-up is caught by ``main`` like any other."""
    from engine.cli import colorize, models, restore
    from training.cli import train, train_base, train_detector

    return (
        ("colorize", colorize, "colorize photos and folders into an output folder"),
        ("restore", restore, "repair scratches, dust, grain and fading; write the restored gray photos"),
        ("models", models, "list, add (--add) and remove (--remove) models"),
        ("train-base", train_base, "train a base colorizer on a folder of colour photos"),
        ("train", train, "fine-tune a model on your old photos and colour photos (CycleGAN)"),
        ("train-detector", train_detector, "train the damage detector of the restore command"),
    )


def app_version() -> str:
    from engine.version import app_version as version

    return version()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revive",
        description="Revive colorizes old black-and-white and sepia photos. Without a command, the desktop app opens.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show warnings and details on stderr")
    parser.add_argument("--version", action="version", version=f"%(prog)s {app_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in commands():
        command = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def setup_logging(verbose: bool) -> None:
    """Everything (INFO and up, Python warnings included) goes to a rotating log file; stderr shows
    errors only, or everything with ``-v``: library warnings must not break the progress line."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.ERROR)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    from engine.paths import log_dir

    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            folder / "revive.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        pass  # a read-only profile: no log file, the command still runs
    else:
        handler.setLevel(logging.INFO)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    logging.captureWarnings(True)


def _tune_allocator() -> None:
    """Keep freed memory mapped (glibc): the model's large buffers are reused instead of re-zeroed.

    Measured 1.2-3x faster for 512 px and larger renders (shared/PERFORMANCE.md). One arena for all
    threads: the batch runner's reader and writer threads otherwise get arenas of their own, whose
    64 MB heaps glibc unmaps as soon as a photo's buffers are freed, so every 12-MP photo faulted its
    memory in again (tens of thousands of page faults a batch; the first batch of six photos took
    2.4 s instead of 1.1 s in fp32 on the 2-core CPU). Must run before any thread allocates.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max, m_arena_max = -1, -4, -8
        libc.mallopt(m_arena_max, 1)
        libc.mallopt(m_mmap_max, 0)
        libc.mallopt(m_trim_threshold, 512 * 1024 * 1024)
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        from engine.cli.runtime import exit_on_sigterm

        exit_on_sigterm()
        parser = build_parser()
        args = parser.parse_args(argv)
        setup_logging(args.verbose)
        _tune_allocator()
        if args.command is None:
            return _run_app(parser, argv)
        return args.run(args)
    except KeyboardInterrupt:
        print("\nrevive: interrupted", file=sys.stderr)
        return 130


def _run_app(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    try:
        from gui.app import run_app
    except ImportError as error:
        if os.environ.get("REVIVE_DEBUG"):
            raise
        print(f"revive: the desktop app is not available ({error}); here are the commands:\n", file=sys.stderr)
        parser.print_help()
        return 0
    return run_app(sys.argv[:1] + argv)


if __name__ == "__main__":
    sys.exit(main())
