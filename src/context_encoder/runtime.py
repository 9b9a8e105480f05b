"""Where and how computations run: device, precision, threads and data-loading workers."""

from __future__ import annotations

import os
import platform

import torch

from .errors import UsageError

__all__ = [
    "DEVICES",
    "MAX_WORKERS_PER_CORE",
    "PRECISIONS",
    "check_fits",
    "check_workers",
    "describe_machine",
    "device_memory",
    "cpu_supports_bf16",
    "default_workers",
    "dtype_name",
    "resolve_device",
    "resolve_precision",
    "usable_cores",
]

#: ``--device`` values (``cuda:N`` is accepted too).
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
#: ``--precision`` values: ``auto`` is bf16 where the hardware runs it fast, else fp32.
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")


def check_device_name(name: str) -> None:
    if name not in DEVICES and not name.startswith("cuda:"):
        raise UsageError(f"unknown device {name!r}; choose from {', '.join(DEVICES)}")


def _mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """A ``torch.device`` from ``auto`` / ``cpu`` / ``cuda[:N]`` / ``mps`` (``auto``: CUDA,
    then MPS, then CPU; under torchrun ``cuda`` means this rank's ``LOCAL_RANK`` GPU)."""
    if isinstance(name, torch.device):
        return name
    check_device_name(name)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {name} asked for, but no CUDA device is available")
    if name == "mps" and not _mps_available():
        raise UsageError("--device mps asked for, but MPS is not available")
    if name == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device(name)


def cpu_supports_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str | torch.dtype | None, device: torch.device
                      ) -> torch.dtype | None:
    """The compute dtype (None = plain fp32). ``auto``: bf16 where the hardware runs it
    fast (CUDA with bf16, CPUs with AVX-512 BF16 / AMX), else fp32 (fp16 on older GPUs)."""
    if precision is None or isinstance(precision, torch.dtype):
        return precision
    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        if device.type == "cpu":
            raise UsageError("--precision fp16 needs a GPU; use bf16 or fp32 on CPU")
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_supports_bf16():
        return torch.bfloat16
    return None


def dtype_name(dtype: torch.dtype | None) -> str:
    """``bfloat16``, ``float16`` or ``fp32`` for messages."""
    return str(dtype).replace("torch.", "") if dtype is not None else "fp32"


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers(device: torch.device, world: int = 1) -> int:
    """Data-loading processes per rank when ``--workers`` is not given. On CUDA one
    process renders ~1,000 facades/s, under what a GPU trains on, so take up to 8 of this
    rank's share of the cores (one left for the training loop); elsewhere one, so the
    loader does not take cores from the matrix work."""
    if device.type != "cuda":
        return 1
    return max(1, min(8, usable_cores() // max(world, 1) - 1))


#: Data-loading processes per usable core at most (``--workers``).
MAX_WORKERS_PER_CORE = 4


def device_memory(device: torch.device | None = None) -> int:
    """Bytes of memory of ``device``: a CUDA device's own, else the machine's RAM."""
    if device is not None and device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(need: int, what: str, fix: str, *, device: torch.device | None = None,
               share: float = 1.0) -> None:
    """``UsageError`` when ``need`` bytes exceed ``share`` of the device's memory
    (:func:`device_memory`), before anything is allocated: ``"<what> would need about N GB,
    over this machine's M GB: <fix>"``, e.g. what ``"--count 1000000 (images of 128 px)"``,
    fix ``"lower --count"``."""
    have = device_memory(device)
    if need > share * have:
        part = "" if share == 1.0 else f"{share:.0%} of "
        kind = device.type if device is not None else "machine"
        raise UsageError(f"{what} would need about {need / 1e9:,.1f} GB, over {part}this "
                         f"{kind}'s {have / 1e9:.1f} GB: {fix}")


def check_workers(workers: int | None, option: str = "--workers") -> None:
    """``UsageError`` for more data-loading processes than :data:`MAX_WORKERS_PER_CORE`
    per usable core (at least 8)."""
    limit = max(8, MAX_WORKERS_PER_CORE * usable_cores())
    if workers is not None and workers > limit:
        raise UsageError(f"{option} {workers}: at most {limit} here "
                         f"({MAX_WORKERS_PER_CORE} per usable core)")


def describe_machine() -> str:
    """One line naming this machine for benchmark records: the CPU's model, its usable cores,
    whether it runs bf16 (what ``--precision auto`` picks on it), and the GPU if any."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f
                          if line.startswith("model name")), "")
    except OSError:
        pass
    parts = [f"{model or platform.processor() or platform.machine()}, {usable_cores()} cores",
             "bf16" if cpu_supports_bf16() else "no bf16 (fp32)"]
    if torch.cuda.is_available():
        parts.append(torch.cuda.get_device_name(0))
    return ", ".join(parts)
