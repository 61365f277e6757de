"""Process identity, so a run left ``running`` by a dead process can be recognised."""

from __future__ import annotations

import functools
import os
import socket


@functools.lru_cache(maxsize=1)
def hostname() -> str:
    """This machine's host name."""
    return socket.gethostname()


def start_time(pid: int) -> int | None:
    """When a process started, in clock ticks since boot (Linux), or None if unknown.

    Stored with the pid so that a new process that reuses the number is not mistaken
    for the run's own.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after it.
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def is_alive(pid: int | None, started: int | None) -> bool:
    """Whether process ``pid`` on this host is still the one that started at ``started``."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if started is None:
        return True
    now_started = start_time(pid)
    if now_started is None:
        return True
    if now_started != started:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        # A zombie has exited; only its parent has not reaped it yet.
        return stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] != b"Z"
    except OSError:
        return True


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel running user code (not merely a process
    that imported ipykernel, as a test runner or nbclient does)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"
