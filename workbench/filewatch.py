"""Which files a run reads and writes, seen without the user declaring them.

An audit hook (``sys.addaudithook``, PEP 578) sees every ``open()`` made from Python,
including those inside pandas' ``read_csv``/``to_csv``, numpy's ``save``/``load`` and
pickle files. While a run watches, each path it opens is noted; when the run ends, the
files are hashed and recorded as input or output artifacts, which is what links a run
that wrote a file to every later run that read the same content.

Files opened by C/C++ code (pyarrow's Parquet reader, DuckDB) do not pass through the
hook; ``wb.use_dataset`` and ``wb.log_artifact`` declare those explicitly.
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
import threading
import time
from pathlib import Path

# Beyond this many distinct paths a run stops noting more (an image folder read file by
# file would otherwise be hashed whole at the end of the run).
MAX_PATHS = 1000
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_IGNORED_SUFFIXES = frozenset({".py", ".pyc", ".pyi", ".so", ".pth", ".ipynb", ".lock", ".tmp"})


class FileWatch:
    """The files one run opened: ``read`` and ``written`` absolute paths, in order, each
    with the time (ms) it was first opened that way."""

    def __init__(self, ignore_dirs: list[str]) -> None:
        self.read: dict[str, int] = {}
        self.written: dict[str, int] = {}
        self.truncated = False
        self._ignore = tuple(d.rstrip(os.sep) + os.sep for d in ignore_dirs)

    def note(self, path: str, write: bool) -> None:
        if path.startswith(self._ignore) or os.path.splitext(path)[1] in _IGNORED_SUFFIXES:
            return
        target = self.written if write else self.read
        if path in target:
            return
        if len(self.read) + len(self.written) >= MAX_PATHS:
            self.truncated = True
            return
        target[path] = int(time.time() * 1000)

    def inputs(self) -> list[str]:
        """Files read and never written by the run (a file the run wrote and read back
        is its output, not an input)."""
        return [p for p in self.read if p not in self.written]

    def outputs(self) -> list[str]:
        """Files the run wrote."""
        return list(self.written)


_watches: list[FileWatch] = []
_lock = threading.Lock()
_installed = False
_local = threading.local()


@functools.lru_cache(maxsize=1)
def _system_dirs() -> tuple[str, ...]:
    """Folders whose files are never a run's data (the interpreter, caches, settings).
    Computed once: sysconfig lookups cost ~0.4 ms, which start_run must not pay."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, "/proc", "/sys", "/dev", "/etc", "/run"}
    # Not /usr as a whole: /usr/src/app is a common working directory in containers.
    dirs.update(f"/usr/{d}" for d in ("lib", "lib64", "lib32", "libexec", "share", "include", "bin", "sbin"))
    dirs.update(f"/usr/local/{d}" for d in ("lib", "lib64", "share", "include", "bin", "sbin"))
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            dirs.add(sysconfig.get_path(key))
        except KeyError:
            pass
    home = Path.home()
    dirs.update(str(home / d) for d in (".cache", ".ipython", ".jupyter", ".local", ".config", ".pyenv"))
    return tuple(sorted(d for d in dirs if d))


def _hook(event: str, args: tuple) -> None:
    # Called for every audit event in the process: return at once unless it matters.
    if event != "open" or not _watches or getattr(_local, "busy", False):
        return
    try:
        path, mode, flags = args
        if isinstance(path, int):
            return
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        write = (
            bool(flags & _WRITE_FLAGS) if isinstance(flags, int) else any(c in (mode or "") for c in "wax+")
        )
        path = os.path.abspath(os.fspath(path))
        for watch in list(_watches):
            watch.note(path, write)
    except Exception:  # noqa: BLE001 - an exception here would fail the user's open()
        return


def start(extra_ignored: list[str]) -> FileWatch:
    """Begin noting the files opened in this process (until :func:`stop`)."""
    global _installed
    watch = FileWatch([*_system_dirs(), *extra_ignored])
    with _lock:
        if not _installed:
            sys.addaudithook(_hook)  # hooks cannot be removed; an empty watch list makes it inert
            _installed = True
        _watches.append(watch)
    return watch


def stop(watch: FileWatch) -> None:
    """Stop noting files for ``watch``."""
    with _lock:
        if watch in _watches:
            _watches.remove(watch)


def reset_after_fork() -> None:
    """In a forked child: forget the parent's watches (and a lock it may have held)."""
    global _lock
    _watches.clear()
    _lock = threading.Lock()


class quiet:
    """Opens inside this block (Workbench's own hashing and copying) are not noted."""

    def __enter__(self) -> None:
        _local.busy = getattr(_local, "busy", 0) + 1  # a count: blocks nest

    def __exit__(self, *exc: object) -> None:
        _local.busy -= 1
