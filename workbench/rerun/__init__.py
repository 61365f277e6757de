"""Rerun, sweep and reproduce notebooks through papermill (see :mod:`.core`).

:mod:`.params` reads and checks notebook parameters, :mod:`.jobs` prepares what a job
executes, :mod:`.pool` runs jobs in local worker processes (:mod:`.worker`), and
:mod:`.core` holds the functions below. papermill loads only in the worker processes.
"""

from __future__ import annotations

from .core import (
    ReproduceReport,
    RerunJob,
    Sweep,
    reproduce,
    rerun,
    set_progress_display,
    start_rerun,
    sweep,
)
from .jobs import KernelNotFoundError, check_kernel
from .params import (
    ParametersCellError,
    check_params,
    expand_grid,
    load_yaml_params,
    notebook_defaults,
    notebook_parameters,
    parse_sweep_args,
    parse_value,
    recorded_values,
    run_parameters,
)
from .pool import JobResult

__all__ = [
    "JobResult",
    "KernelNotFoundError",
    "ParametersCellError",
    "ReproduceReport",
    "RerunJob",
    "Sweep",
    "check_kernel",
    "check_params",
    "expand_grid",
    "load_yaml_params",
    "notebook_defaults",
    "notebook_parameters",
    "parse_sweep_args",
    "parse_value",
    "recorded_values",
    "reproduce",
    "rerun",
    "run_parameters",
    "set_progress_display",
    "start_rerun",
    "sweep",
]
