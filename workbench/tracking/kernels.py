"""The process that started this kernel, and the kernel spec this kernel was started from.

Both are read from the operating system (psutil) and jupyter_client's kernel specs,
once per process: a run records its kernel so that a rerun of a notebook snapshot
without kernelspec metadata starts the same one.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["kernel_name", "launcher"]


@functools.lru_cache(maxsize=1)
def launcher() -> tuple[tuple[str, ...], Path | None]:
    """The command line and working directory of the process that started this one
    (papermill, nbconvert, a Jupyter server...); empty when it cannot be read."""
    try:
        import psutil

        parent = psutil.Process(os.getppid())
        return tuple(parent.cmdline()), Path(parent.cwd())
    except Exception:  # noqa: BLE001 - psutil.Error, a parent gone or not ours: nothing to learn
        return (), None


_NAMING_OPTIONS = ("-k", "--kernel", "--kernel_name", "--kernel-name", "--ExecutePreprocessor.kernel_name")


def _launcher_kernel() -> str | None:
    """The kernel named on the launching command line (papermill -k, nbconvert's
    --ExecutePreprocessor.kernel_name=, jupyter execute --kernel_name=)."""
    args = launcher()[0]
    for i, arg in enumerate(args):
        key, eq, value = arg.partition("=")
        if key in _NAMING_OPTIONS:
            if eq:
                return value or None
            if i + 1 < len(args):
                return args[i + 1]
    return None


@functools.lru_cache(maxsize=4)
def kernel_name(notebook_kernel: str | None = None) -> str | None:
    """The installed kernel spec this kernel was started from, or None (not a kernel,
    or no spec matches).

    A spec matches when its command line starts this process's (placeholders such as
    ``{connection_file}`` match anything; ``python`` matches any interpreter, as
    jupyter_client substitutes its own) and its ``env`` is in this environment. Among
    equal matches: the one the launching command line names, then ``notebook_kernel``
    (the notebook's kernelspec), then ``python3``, then the first by name.
    """
    try:
        import psutil
        from jupyter_client.kernelspec import KernelSpecManager

        own = psutil.Process().cmdline()
        specs = KernelSpecManager().get_all_specs()
    except Exception as e:  # noqa: BLE001 - jupyter_client missing, /proc unreadable: unknown
        log.debug("kernel specs unreadable: %s", e)
        return None
    scored: list[tuple[int, str]] = []
    for name, entry in specs.items():
        spec = entry.get("spec", {}) if isinstance(entry, dict) else {}
        score = _match(spec.get("argv") or [], spec.get("env") or {}, own)
        if score is not None:
            scored.append((score, name))
    if not scored:
        return None
    top = max(s for s, _ in scored)
    names = sorted(n for s, n in scored if s == top)
    for preferred in (_launcher_kernel(), notebook_kernel, "python3"):
        if preferred in names:
            return preferred
    return names[0]


def _match(argv: list[str], env: dict[str, str], own: list[str]) -> int | None:
    """How well a kernel spec fits this process (higher is closer), None if it cannot be it."""
    # Launchers may append arguments of their own (nbclient: --HistoryManager.hist_file=:memory:).
    if not argv or len(argv) > len(own):
        return None
    score = 0
    first = argv[0]
    if os.path.basename(first) in ("python", "python3") and os.sep not in first:
        pass  # jupyter_client runs its own interpreter for these
    elif os.path.abspath(shutil.which(first) or first) == os.path.abspath(own[0]):
        score += 2
    elif os.path.realpath(shutil.which(first) or first) == os.path.realpath(own[0]):
        score += 1
    else:
        return None
    for want, got in zip(argv[1:], own[1:]):
        if "{" not in want and want != got:
            return None
    for key, value in env.items():
        if "{" in str(value):
            continue
        if os.environ.get(key) != str(value):
            return None
        score += 4
    return score
