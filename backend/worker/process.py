"""Linux process plumbing for workers: die with the parent, yield the CPU to the web server."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies (no orphaned workers after a kill)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: workers then outlive a killed parent until they are stopped
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os.kill(os.getpid(), sig)


def lower_priority(increment: int = 10) -> None:
    """CPU-heavy workers yield to the server process, so requests stay fast while they work."""
    with contextlib.suppress(OSError):
        os.nice(increment)
