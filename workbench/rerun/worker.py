"""A notebook-execution worker: ``python -m workbench.rerun.worker``.

Reads job specs, one JSON object per line on stdin, runs each through papermill and
answers one JSON line per event on its original stdout (everything else the job prints
goes to stderr, so the protocol stays clean). A worker runs jobs one after another;
``rerun``/``sweep`` start as many workers as jobs may run at once. Each job sets its own
environment (store, parent run, source, tags) before papermill starts the kernel, which
inherits it, so the notebook's own ``%%track`` cells record the runs.

A SIGINT ends the running job (papermill shuts its kernel down, whose active runs are
then marked ``killed``) and the worker.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from typing import Any, TextIO

# A kernel that dies before it answers kernel_info ran none of the notebook: starting it
# again cannot run anything twice. On a loaded machine one start in a few hundred fails so.
KERNEL_START_TRIES = 3
_DIED_AT_START = "before replying to kernel_info"


def _execute(spec: dict[str, Any]) -> None:
    import papermill as pm

    for attempt in range(1, KERNEL_START_TRIES + 1):
        try:
            pm.execute_notebook(
                spec["input"],
                spec["output"],
                parameters=spec["parameters"],
                kernel_name=spec["kernel"],
                language=spec.get("language"),
                cwd=spec["cwd"],
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=True,
            )
            return
        except RuntimeError as e:
            if _DIED_AT_START not in str(e) or attempt == KERNEL_START_TRIES:
                raise
            print(f"workbench: kernel died while starting ({e}); starting it again", file=sys.stderr)
            time.sleep(0.5 * attempt)


def _run_job(spec: dict[str, Any]) -> dict[str, Any]:
    from papermill.exceptions import PapermillExecutionError

    saved = dict(os.environ)
    os.environ.update(spec["env"])
    try:
        _execute(spec)
        return {"status": "finished"}
    except PapermillExecutionError as e:
        return {
            "status": "failed",
            "error": f"cell {e.cell_index} (In[{e.exec_count}]) raised {e.ename}: {e.evalue}",
            "cell_index": e.cell_index,
        }
    except KeyboardInterrupt:
        return {"status": "killed", "error": "stopped (interrupt)"}
    except Exception as e:  # noqa: BLE001 - reported to the parent, which records it
        return {"status": "failed", "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    finally:
        os.environ.clear()
        os.environ.update(saved)


def serve(proto: TextIO) -> None:
    """Run jobs from stdin until it closes or an interrupt arrives."""

    def send(msg: dict[str, Any]) -> None:
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    send({"event": "ready", "pid": os.getpid()})
    for line in sys.stdin:
        if not line.strip():
            continue
        spec = json.loads(line)
        send({"event": "started", "job_id": spec["job_id"]})
        result = _run_job(spec)
        send({"event": "done", "job_id": spec["job_id"], **result})
        if result["status"] == "killed":
            return


def _die_with_parent() -> None:
    # prctl(PR_SET_PDEATHSIG, SIGTERM): the kernel sends SIGTERM when the thread that
    # started this process ends. Its own kernel then sees its parent gone and exits.
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the call
        os._exit(1)


def main() -> None:
    """Entry point: keep the real stdout for the protocol, send all else to stderr.

    ``--die-with-parent`` (Dask tasks): end when the process that started it ends.
    """
    if "--die-with-parent" in sys.argv[1:]:
        _die_with_parent()
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        serve(proto)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
