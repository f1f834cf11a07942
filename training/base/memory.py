"""Running out of memory in a base-colorizer run: one line that says what to lower, never a traceback.

Memory runs out in three guises: Python's MemoryError (numpy, Pillow), torch's allocator
RuntimeError on the CPU ("can't allocate memory") and ``torch.OutOfMemoryError`` on a GPU (both
``engine.device.is_out_of_memory``); and the colorizer used to score snapshots already turns its
own into ``OutOfMemory``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from engine.device import DeviceChoice, is_out_of_memory
from engine.errors import OutOfMemory
from training.base.config import BaseTrainingConfig


def is_memory_error(error: BaseException) -> bool:
    return isinstance(error, MemoryError | OutOfMemory) or is_out_of_memory(error)


def smaller_run_advice(config: BaseTrainingConfig, device: DeviceChoice) -> str:
    """What to lower, the most effective first."""
    wider = "" if config.init_from else ", narrower --widths"
    cpu = "" if device.device.type == "cpu" else ", or the CPU (--device cpu)"
    return f"a smaller --batch-size (now {config.batch_size}) or --size (now {config.size}){wider}{cpu}"


def out_of_memory_text(
    config: BaseTrainingConfig, device: DeviceChoice, step: int, saved_step: int | None, run_dir: object
) -> str:
    """The line for memory running out at ``step``; ``saved_step``: the step the run folder's
    saved state holds (None: nothing saved, so the same command can simply start again smaller)."""
    where = f"out of memory on {device.description} at step {step}"
    if saved_step is None:
        return f"{where}: try {smaller_run_advice(config, device)}"
    # A resumed run keeps its batch size and crop size (training.base.run_options), so a smaller
    # run is a new one; resuming is for when memory frees up, or on another device.
    on_cpu = "" if device.device.type == "cpu" else " (or on the CPU, --device cpu)"
    return (
        f"{where}; the run is saved at step {saved_step} in {run_dir}: resume it with --resume when more"
        f" memory is free{on_cpu}, or start a new run under another --out name with"
        f" a smaller --batch-size (now {config.batch_size}) or --size (now {config.size})"
    )


def export_out_of_memory_text(step: int, run_dir: object) -> str:
    """The line for memory running out while the model to install is chosen (on the CPU), after
    the last step's state was saved."""
    return (
        f"out of memory while choosing the model to install; the run is saved at step {step} in {run_dir}:"
        " resume it with --resume when more memory is free (it goes straight to the choice)"
    )


@contextlib.contextmanager
def memory_errors_as(message: str) -> Iterator[None]:
    """Inside: running out of memory (``is_memory_error``) becomes ``OutOfMemory(message)``; any
    other error goes through untouched."""
    try:
        yield
    except (MemoryError, RuntimeError) as error:
        if not is_memory_error(error):
            raise
        raise OutOfMemory(message) from None
