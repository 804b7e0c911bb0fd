"""What this machine lets us use."""

from __future__ import annotations

import os


def available_cores() -> int:
    """The cores this process may run on (cgroup/affinity aware), not the host's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
