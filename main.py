"""Revive: bring old photographs back.

With no arguments, opens the desktop app; with a subcommand, runs it on the command line:
``colorize``, ``models``, ``train-base``, ``train``. See ``main.py --help``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# (subcommand, module with add_arguments/run, one-line help)
COMMANDS = (
    ("colorize", "engine.colorize_command", "colorize photos and folders into an output folder"),
    ("models", "engine.models_command", "list the installed colorization models"),
    ("train-base", "training.base_command", "train a base colorizer on a folder of colour photos"),
    ("train", "training.train_command", "fine-tune a model on your old photos and colour photos (CycleGAN)"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Revive colorizes old black-and-white and sepia photos. Without a command, the desktop app opens.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name, help_text in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        command = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def _tune_allocator() -> None:
    """Keep freed memory mapped (glibc): the model's large buffers are reused instead of re-zeroed.

    Measured 1.2-3x faster for 512 px and larger renders (shared/PERFORMANCE.md).
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max = -1, -4
        libc.mallopt(m_mmap_max, 0)
        libc.mallopt(m_trim_threshold, 512 * 1024 * 1024)
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    _tune_allocator()
    if args.command is None:
        try:
            from gui.app import run_app
        except ImportError as error:
            if os.environ.get("REVIVE_DEBUG"):
                raise
            print(f"revive: the desktop app is not available ({error}); here are the commands:\n", file=sys.stderr)
            parser.print_help()
            return 0
        return run_app(sys.argv[:1] + argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("\nrevive: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
