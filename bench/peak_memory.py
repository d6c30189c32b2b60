"""Peak memory of one piece of work, measured in a fresh subprocess (shared by the benchmarks).

A benchmark script calls :func:`run_child` with a JSON-able spec; the script re-runs itself with
``--child SPEC``, builds its inputs, does one warm-up pass and returns :func:`peak_growth` of the measured
work. The peak is read from Linux's ``VmHWM`` after ``/proc/self/clear_refs`` reset it to the current RSS,
so imports, inputs and one-time initialisation are not counted; ``ru_maxrss`` is the fallback elsewhere.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import resource
import subprocess
import sys
from typing import Callable, Optional


def status_kb(field: str) -> Optional[int]:
    """A ``/proc/self/status`` field in kB (``VmRSS``, ``VmHWM``), or None where there is no /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # "reset the peak RSS to the current RSS" (Linux >= 4.0)
        return True
    except OSError:
        return False


def release_freed_memory() -> None:
    """Hand freed heap pages back to the OS, so that the baseline RSS holds only live data."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_growth(work: Callable[[], None]) -> dict:
    """``{"peak_mb", "method"}``: how far the RSS peak rises above the current RSS while ``work()`` runs."""
    release_freed_memory()
    baseline_kb = status_kb("VmRSS")
    exact = baseline_kb is not None and reset_peak()
    if not exact:
        baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    work()
    peak_kb = status_kb("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_mb": (peak_kb - baseline_kb) / 1024, "method": "VmHWM" if exact else "ru_maxrss"}


def run_child(script: str, spec: dict) -> dict:
    """Run ``script --child SPEC`` in a fresh interpreter; its last stdout line (JSON), or ``{"error"}``."""
    # a fixed mmap threshold makes glibc return every large freed block to the OS at once (by default the
    # threshold grows after the first free and later blocks stay in the heap), so RSS follows live tensors
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")
    result = subprocess.run(
        [sys.executable, script, "--child", json.dumps(spec)], capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or [f"exit code {result.returncode}"])[-1]}
    return json.loads(result.stdout.strip().splitlines()[-1])
