"""What this machine can compute fast, and the precision that follows from it.

Mixed precision keeps float32 master weights and computes in 16 bits. It pays off only on
hardware with 16-bit units: GPUs of compute capability 7.0 or newer (float16 tensor cores,
with loss scaling against underflow), TPUs, and CPUs with AVX512_BF16 or AMX (bfloat16,
which has float32's exponent range and needs no loss scaling). Elsewhere 16-bit math is
emulated and slower than float32.
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_has_bfloat16() -> bool:
    """True on CPUs with native bfloat16 matrix instructions (AVX512_BF16 or AMX)."""
    return any(flag in cpu_flags() for flag in _BF16_CPU_FLAGS)


def gpu_compute_capabilities() -> list[tuple[int, int]]:
    """(major, minor) of every visible GPU; an empty list on a CPU-only machine."""
    import tensorflow as tf

    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capabilities.append(tuple(details.get("compute_capability", (0, 0))))
    return capabilities


def auto_precision() -> str:
    """The fastest precision that trains correctly here.

    mixed_float16 when every GPU has compute capability >= 7.0; float32 on older GPUs;
    mixed_bfloat16 on a CPU with AVX512_BF16 or AMX; float32 otherwise.
    """
    capabilities = gpu_compute_capabilities()
    if capabilities:
        return "mixed_float16" if min(capabilities) >= (7, 0) else "float32"
    return "mixed_bfloat16" if cpu_has_bfloat16() else "float32"


def resolve_precision(precision: str) -> str:
    """`precision` itself, or for "auto" the precision `auto_precision` picks."""
    if precision == "auto":
        return auto_precision()
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'auto' or one of {', '.join(PRECISIONS)}")
    return precision


def enable_op_determinism(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and make TensorFlow's kernels deterministic.

    With op determinism on, the same inputs give bit-identical results on every run, also on a
    GPU, where reductions and cuDNN's fastest convolution algorithms otherwise add in an order
    that varies between runs (and the resume of a run drifts from the uninterrupted run in the
    last bits). TensorFlow then refuses ops that have no deterministic kernel and runs some
    tf.data stages serially. There is no public switch back: it stays on for the rest of the
    process (restart a notebook's kernel to train without it).
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)  # stateful random ops need a seed once determinism is on
    tf.config.experimental.enable_op_determinism()


def describe() -> str:
    """One line about the compute devices, for the start of a run or a notebook."""
    capabilities = gpu_compute_capabilities()
    if capabilities:
        gpus = ", ".join(f"compute capability {a}.{b}" for a, b in capabilities)
        device = f"{len(capabilities)} GPU(s) ({gpus})"
    else:
        bf16 = "with" if cpu_has_bfloat16() else "without"
        device = f"CPU only: {os.cpu_count()} cores, {platform.machine()}, {bf16} native bfloat16"
    return f"{device}; precision 'auto' means {auto_precision()}"


def quiet_tensorflow_import() -> None:
    """Import TensorFlow and find its devices with stderr closed: its C++ loader prints
    CUDA-probe lines that no log level silences, burying this command line's one-line errors."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
