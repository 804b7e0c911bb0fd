"""Helper processes that die with the process that started them, however it ends.

A worker runs its analysis in spawned pool processes (and a multiprocessing manager), and
those start ffmpeg. When the worker is killed (SIGKILL from a supervisor, the OOM killer,
a crash), nothing runs in it any more to stop them: they would be re-parented to init and
go on working for no one, each pool holding its models in memory.

So each helper, from its initializer (`adopt`):

* becomes the leader of its own process group, which the ffmpeg it starts join; the
  parent stops a helper with everything it started by signalling that group
  (`stop_groups`), and Ctrl+C at a terminal reaches only the parent, which decides;
* runs a watchdog thread that notices the parent's death (its parent pid changes) within
  `WATCH_EVERY_S`, then kills the parent's other children it has seen (ffmpeg the worker
  itself started: audio decode, render; the other helpers, each with its process group;
  the pid's start time is checked, so a reused pid is never hit), the parent's process
  group when the parent led one (as a service, a shell job or a container's first process
  does: that also catches a child started after the last look), and finally its own
  process group, itself included.

Why a watchdog and not `prctl(PR_SET_PDEATHSIG)`: Linux sends the death signal when the
*thread* that forked the child ends, not the process. Pool processes are started from
whichever thread submits first (a job's `asyncio.to_thread` worker) or from the
executor's manager thread, so a parent-death signal could kill a healthy pool when such a
thread exits. The parent pid, in contrast, changes only when the parent process is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterable
from pathlib import Path

WATCH_EVERY_S = 0.2
STOP_GRACE_S = 5.0
PROC_SELF = Path("/proc/self/stat")


def adopt(parent_pid: int) -> None:
    """Run in a helper process at start (a pool initializer): see the module notes."""
    parent_leads = _leads_group(parent_pid)
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch, args=(parent_pid, parent_leads), name="lifeline", daemon=True).start()


def _watch(parent_pid: int, parent_leads: bool) -> None:
    seen: dict[int, int] = {}
    while os.getppid() == parent_pid:
        # Merged, not replaced: while the parent dies its threads go first, and with them
        # the /proc lists of the children they started.
        seen = {pid: t for pid, t in seen.items() if _start_time(pid) == t} | _children(parent_pid)
        time.sleep(WATCH_EVERY_S)
    me = os.getpid()
    for pid, started in seen.items():
        if pid == me or _start_time(pid) != started:
            continue
        with contextlib.suppress(OSError):
            if _leads_group(pid):  # a sibling helper goes with its group, or its ffmpeg would stay
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
    if parent_leads:  # its group is what it started: this also finds what began after the last look
        with contextlib.suppress(OSError):
            os.killpg(parent_pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.killpg(os.getpgid(0), signal.SIGKILL)
    os._exit(1)  # not in a group of our own (setpgid refused): at least this process goes


def _children(pid: int) -> dict[int, int]:
    """The direct children of `pid` with their start times (Linux /proc; {} elsewhere)."""
    found: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                for child in (task / "children").read_text().split():
                    started = _start_time(int(child))
                    if started is not None:
                        found[int(child)] = started
    return found


def _start_time(pid: int) -> int | None:
    """Clock ticks after boot when `pid` started (/proc/<pid>/stat field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its end.
    return int(stat[stat.rindex(")") + 2:].split()[19])


def stop_groups(pids: Iterable[int], grace_s: float = STOP_GRACE_S) -> None:
    """Stop helpers started with `adopt`, with whatever they started: SIGTERM to each one's
    process group; once the helpers have ended (or after `grace_s`), SIGKILL to the groups,
    for anything in them that outlived its leader or ignored SIGTERM (ffmpeg may)."""
    groups = [pid for pid in pids if _leads_group(pid)]
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(_running(pid) for pid in groups) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


def _leads_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except OSError:
        return False


def _running(pid: int) -> bool:
    """Alive and not a zombie (a helper that ended stays one until its parent reaps it)."""
    if not PROC_SELF.exists():  # no /proc: ask the kernel (zombies count as alive there)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"
