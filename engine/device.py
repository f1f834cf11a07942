"""Choosing the compute device and precision: the one place that does it.

``auto`` prefers CUDA, then Apple's MPS, then the CPU. Half precision is used where the device runs it
fast: bf16 on CUDA GPUs that support it (fp16 on older ones), fp16 on MPS, bf16 on CPUs with native
bf16 instructions (AVX512_BF16 or AMX), else fp32. The weights stay fp32: models run under autocast.
An allocator failure on any device becomes one ``OutOfMemory`` that names the fix (``out_of_memory_as``).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from engine.batch.settings import DEVICE_CHOICES
from engine.errors import DeviceError, OutOfMemory


@dataclass(frozen=True)
class DeviceChoice:
    device: torch.device
    dtype: torch.dtype  # the precision the model runs in (autocast on every device; the weights stay fp32)
    description: str  # for people: "NVIDIA H200 (CUDA, bf16)" or "CPU, 2 threads, bf16"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


@functools.lru_cache(maxsize=1)
def cpu_has_fast_bf16() -> bool:
    """True when the CPU has native bf16 matrix instructions (otherwise bf16 is emulated and slow)."""
    if os.environ.get("REVIVE_CPU_FP32"):
        return False
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        flags = cpuinfo.read_text(errors="replace")
        return "avx512_bf16" in flags or "amx_bf16" in flags
    return False


def select_device(preference: str = "auto", precision: str = "auto") -> DeviceChoice:
    """Resolve ``preference`` (one of DEVICE_CHOICES) to a device; DeviceError if it is absent.

    ``precision`` is ``auto``, ``fp32``, ``fp16`` or ``bf16``.
    """
    if preference not in DEVICE_CHOICES:
        raise DeviceError(f"device must be one of {', '.join(DEVICE_CHOICES)}, got {preference!r}")
    if preference == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda was asked for, but no CUDA GPU is available (use --device cpu)")
    if preference == "mps" and not _mps_available():
        raise DeviceError("--device mps was asked for, but Apple's MPS is not available (use --device cpu)")
    if preference == "auto":
        preference = "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    device = torch.device(preference)

    if precision == "auto":
        if device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        elif device.type == "mps":
            dtype = torch.float16
        else:
            dtype = torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    else:
        dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
        if precision not in dtypes:
            raise DeviceError(f"precision must be auto, fp32, fp16 or bf16, got {precision!r}")
        dtype = dtypes[precision]
        if device.type == "cpu" and dtype == torch.float16:
            raise DeviceError("fp16 is not supported on the CPU (use bf16 or fp32)")

    precision_name = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}[dtype]
    if device.type == "cuda":
        description = f"{torch.cuda.get_device_name(device)} (CUDA, {precision_name})"
    elif device.type == "mps":
        description = f"Apple GPU (MPS, {precision_name})"
    else:
        description = f"CPU, {torch.get_num_threads()} threads, {precision_name}"
    return DeviceChoice(device=device, dtype=dtype, description=description)


def is_out_of_memory(error: BaseException) -> bool:
    """True for the allocator failures of every backend (CUDA, MPS, CPU)."""
    if isinstance(error, torch.cuda.OutOfMemoryError):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def free_cached_memory(device: torch.device) -> None:
    """Give the CUDA allocator's cached blocks back after running out (room to save a state, and
    for whatever runs next); nothing to do on other devices."""
    if device.type == "cuda":
        torch.cuda.empty_cache()


@contextlib.contextmanager
def out_of_memory_as(device: torch.device, message: str) -> Iterator[None]:
    """Inside: an allocator failure (``is_out_of_memory``) becomes ``OutOfMemory(message)``, after
    the CUDA cache is emptied (so the next, smaller try has the memory). ``message`` names the fix.
    Any other error goes through untouched; the allocator's own traceback is not shown (``from
    None``): the message is the whole story for people."""
    try:
        yield
    except RuntimeError as error:
        if not is_out_of_memory(error):
            raise
        free_cached_memory(device)
        raise OutOfMemory(message) from None
