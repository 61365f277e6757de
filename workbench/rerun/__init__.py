"""Rerun, sweep, tune and reproduce notebooks through papermill (see :mod:`.core`).

:mod:`.params` reads and checks notebook parameters, :mod:`.jobs` prepares what a job
executes, :mod:`.pool` runs jobs in local worker processes (:mod:`.worker`),
:mod:`.cluster` runs them as Dask tasks (:mod:`.remote` on the workers), :mod:`.tune`
searches parameters with Optuna, and :mod:`.core` holds rerun, sweep and reproduce.
papermill loads only in the worker processes; dask and optuna only when used.
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
from .tune import parse_distribution, tune, tune_history

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
    "parse_distribution",
    "parse_sweep_args",
    "parse_value",
    "recorded_values",
    "reproduce",
    "rerun",
    "run_parameters",
    "set_progress_display",
    "start_rerun",
    "sweep",
    "tune",
    "tune_history",
]
