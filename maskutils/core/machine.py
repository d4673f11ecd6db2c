"""What decides a metrics file's bytes beyond params and seed: the CPU and the instruction set the
kernels use, the thread count, the numeric libraries' versions, the device.

Every field is a fact of this machine and environment, read the same way each run (no time, no
load), so two runs on one machine write the same provenance and the metrics files stay
byte-identical. docs/reproducibility.md says what moves across machines.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

#: Environment variables that change which kernels run, or on how many threads.
KNOBS = (
    "ATEN_CPU_CAPABILITY",
    "DNNL_MAX_CPU_ISA",
    "MKL_CBWR",
    "MKL_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "CUBLAS_WORKSPACE_CONFIG",
)
#: The /proc/cpuinfo flags whose presence changes the float kernels chosen (AVX2, AVX-512, AMX).
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpuinfo() -> tuple[str, list[str]]:
    """(the CPU model name, its ISA_FLAGS present) from /proc/cpuinfo, else from platform."""
    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    model = model or platform.processor() or platform.machine() or "unknown CPU"
    return model, [f for f in ISA_FLAGS if f in flags]


def machine() -> dict:
    """The provenance block of a metrics file (see the module's docstring)."""
    import numpy as np

    model, isa = cpuinfo()
    info = {
        "cpu": model,
        "cpu_flags": isa,
        "logical_cores": os.cpu_count(),
        "numpy": np.__version__,
        "blas": _blas(np),
        "env": {k: os.environ[k] for k in KNOBS if k in os.environ},
    }
    try:
        import torch
    except ImportError:
        return {**info, "torch": "not installed", "device": "cpu"}
    onednn = re.search(r"(?:oneDNN|MKL-DNN) v(\S+)", torch.__config__.show())
    cuda = torch.cuda.is_available()
    return {
        **info,
        "torch": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
        "onednn": onednn.group(1) if onednn and torch.backends.mkldnn.is_available() else "off",
        "device": f"cuda: {torch.cuda.get_device_name(0)}" if cuda else "cpu",
    }


def _blas(np) -> str:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas['version']}"
    except (KeyError, TypeError, ValueError):
        return "unknown"
