"""Who holds a lease: this process, as the queue records it, and whether a holder on this
host is gone (its worker crashed or was killed), so its job can be taken over at once."""

from __future__ import annotations

import functools
import os
import socket

import psutil

from storage.models import LeaseHolder

START_TOLERANCE_S = 1.0


@functools.cache
def host_id() -> str:
    """The host name and the pid namespace: pids mean something only inside one namespace,
    and containers sharing the host's network share its name too."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()} {namespace}"


def this_process() -> LeaseHolder:
    return LeaseHolder(host_id(), os.getpid(), psutil.Process().create_time())


def holder_gone(holder: LeaseHolder) -> bool:
    """True when the holder (on this host) has surely ended: no such pid, a zombie, or the
    pid now belongs to a process started at another time. When in doubt (no permission to
    look), False: the lease then runs out as usual."""
    if holder.host != host_id():
        return False
    try:
        process = psutil.Process(holder.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        return bool(abs(process.create_time() - holder.started) > START_TOLERANCE_S)
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
