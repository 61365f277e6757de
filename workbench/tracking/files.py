"""Which files a run reads and writes, seen without the user declaring them, and
recording them when the run ends.

An audit hook (``sys.addaudithook``, PEP 578) sees every ``open()`` made from Python,
including those inside pandas' ``read_csv``/``to_csv``, numpy's ``save``/``load`` and
pickle files. While a run watches, each path it opens is noted; when the run ends, the
files are hashed and recorded as input or output artifacts, which is what links a run
that wrote a file to every later run that read the same content.

Files opened by C/C++ code (pyarrow's Parquet reader, DuckDB) do not pass through the
hook; ``wb.use_dataset`` and ``wb.log_artifact`` declare those explicitly.

A run's end takes a snapshot (:func:`snapshot`: stat, and hash what is small enough);
one worker thread per process then hashes the rest, profiles tabular inputs and records
them (:func:`record`), in the order runs ended.
"""

from __future__ import annotations

import functools
import os
import queue
import stat
import sys
import sysconfig
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Files a run opened, up to this many bytes in total, are hashed as it ends (bigger
#: ones by the file worker, after checking they did not change since).
SYNC_HASH_BYTES = 64 * 1024 * 1024
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


class quiet:
    """Opens inside this block (Workbench's own hashing and copying) are not noted."""

    def __enter__(self) -> None:
        _local.busy = getattr(_local, "busy", 0) + 1  # a count: blocks nest

    def __exit__(self, *exc: object) -> None:
        _local.busy -= 1


# -- recording what a run opened ------------------------------------------------------
def file_stat(path: str) -> tuple[int, int] | None:
    """``(size, mtime_ns)`` of a regular file, else None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns) if stat.S_ISREG(st.st_mode) else None


def snapshot(watch: FileWatch, declared: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """What each file the run opened is as the run ends (first half, in ``Run.end``).

    Files are stat-ed, and hashed here while the total stays under
    ``SYNC_HASH_BYTES``: a later run rewriting the same path must not change what
    this run is recorded to have read or written. Bigger files are hashed by the
    worker, which checks first that they did not change since. ``(path, direction)``
    pairs in ``declared`` were recorded explicitly and are skipped.
    """
    from ..datasets import sha256_file

    entries: list[dict[str, Any]] = []
    budget = SYNC_HASH_BYTES
    with quiet():
        for direction, paths in (("input", watch.inputs()), ("output", watch.outputs())):
            opened_at = watch.read if direction == "input" else watch.written
            for path in paths:
                if (path, direction) in declared:
                    continue
                st = file_stat(path)
                if st is None:
                    continue  # removed, or not a regular file: nothing to link
                entry = {"path": path, "direction": direction, "opened": opened_at[path], "stat": st}
                entry["sha256"] = None
                if st[0] <= budget:
                    budget -= st[0]
                    try:
                        entry["sha256"] = sha256_file(path)[0]
                    except OSError:
                        continue
                entries.append(entry)
    return entries


def record(
    entries: list[dict[str, Any]],
    truncated: bool,
    add_artifact: Callable[..., None],
    add_tag: Callable[[str, str], None],
) -> None:
    """Hash what was too big to hash at the end, profile tabular inputs, and record
    them all as input and output artifacts (second half, in the worker).

    ``add_artifact(path, kind, sha256, size, direction, stored_path, name, meta,
    created_at)`` and ``add_tag(key, value)`` record into the run.
    """
    from ..datasets import AUTO_DATASET_SUFFIXES, MODEL_SUFFIXES, profile_meta, sha256_file

    changed = []
    with quiet():
        for e in entries:
            path, direction = e["path"], e["direction"]
            try:
                if e["sha256"] is None:
                    digest = sha256_file(path)[0]
                    if file_stat(path) != e["stat"]:
                        changed.append(path)  # rewritten since the run ended: not its content
                        continue
                    e["sha256"] = digest
            except OSError:
                continue
            suffix = os.path.splitext(path)[1].lower()
            meta: dict[str, Any] = {"detected": True}
            if direction == "input" and suffix in AUTO_DATASET_SUFFIXES:
                kind = "dataset"
                meta["role"] = "training"
                if file_stat(path) == e["stat"]:  # profile only the content that was read
                    meta.update(profile_meta(path))
            else:
                kind = "model" if direction == "output" and suffix in MODEL_SUFFIXES else "file"
            # Stamped with when the run opened the file, which is what orders a writer
            # before its readers in the lineage graph.
            add_artifact(
                path, kind, e["sha256"], e["stat"][0], direction, None, Path(path).stem, meta, e["opened"]
            )
    if changed:
        note = "changed before they could be hashed, so not recorded: " + ", ".join(changed)
        add_tag("workbench.files_changed", note[:2000])
    if truncated:
        add_tag("workbench.files_truncated", f"only the first {MAX_PATHS} files opened were recorded")


# -- the worker -----------------------------------------------------------------------
# One worker records the files of ended runs, in order. A queue rather than a thread per
# run: starting a thread waits until it runs, which in a loop of short runs competing
# for the GIL cost ~12 ms per end_run; a put costs microseconds.
_jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
_worker: threading.Thread | None = None
_pending = 0
_cond = threading.Condition()


def submit(job: Callable[[], Any]) -> None:
    """Run ``job()`` on the file worker, after the jobs submitted before it."""
    global _worker, _pending
    with _cond:
        if _worker is None or not _worker.is_alive():
            worker = threading.Thread(target=_loop, name="workbench-files", daemon=True)
            try:
                worker.start()  # once per process: the wait for it to run is paid once
            except RuntimeError:
                # No new threads at interpreter shutdown (some Python versions refuse them
                # in atexit hooks): do the job here instead.
                job()
                return
            _worker = worker
        _pending += 1
        _jobs.put(job)


def _loop() -> None:
    global _pending
    while True:
        job = _jobs.get()
        try:
            job()
        finally:
            with _cond:
                _pending -= 1
                _cond.notify_all()


def wait_for_file_records(timeout_s: float = 300.0) -> None:
    """Wait (bounded) until runs that ended have recorded the files they opened."""
    deadline = time.monotonic() + timeout_s
    with _cond:
        while _pending and (left := deadline - time.monotonic()) > 0:
            _cond.wait(left)


def reset_after_fork() -> None:
    """In a forked child: forget the parent's watches (and a lock it may have held) and
    its file jobs. Without this the child would wait at exit for jobs no thread will
    run, or replay its parent's jobs."""
    global _lock, _jobs, _worker, _pending, _cond
    _watches.clear()
    _lock = threading.Lock()
    _jobs = queue.SimpleQueue()
    _worker = None
    _pending = 0
    _cond = threading.Condition()
