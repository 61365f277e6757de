"""Names of the environment variables Workbench reads (and nothing else)."""

#: Directory holding ``workbench.duckdb``; overrides the walk-up search.
WORKBENCH_STORE = "WORKBENCH_STORE"
#: Seconds a process waits for the store lock before giving up (default 120).
WORKBENCH_LOCK_TIMEOUT = "WORKBENCH_LOCK_TIMEOUT"
#: Milliseconds a process keeps the store attached after a session (default 250; 0: off).
WORKBENCH_LINGER_MS = "WORKBENCH_LINGER_MS"
#: Set by rerun/sweep so the child notebook's run records where it came from.
WORKBENCH_PARENT_RUN_ID = "WORKBENCH_PARENT_RUN_ID"
#: Set by rerun/sweep: the ``source`` recorded for runs of the child notebook.
WORKBENCH_SOURCE = "WORKBENCH_SOURCE"
#: Set by rerun/sweep: the notebook a papermill kernel runs (papermill does not say).
WORKBENCH_NOTEBOOK_PATH = "WORKBENCH_NOTEBOOK_PATH"
#: Set by rerun/sweep: the original notebook's path, recorded as the run's notebook
#: while the kernel reads the snapshot from WORKBENCH_NOTEBOOK_PATH.
WORKBENCH_NOTEBOOK_ORIGIN = "WORKBENCH_NOTEBOOK_ORIGIN"
#: Set by rerun/sweep: JSON object of tags every run of the process gets (sweep_id...).
WORKBENCH_TAGS = "WORKBENCH_TAGS"
#: "0" turns off noting the files runs open (automatic lineage); on by default.
WORKBENCH_WATCH_FILES = "WORKBENCH_WATCH_FILES"
#: "0" turns off system metrics (CPU, memory, disk, network, GPU) for runs that do not
#: say otherwise (``start_run(system_metrics=)``, ``%%track --no-system-metrics``).
WORKBENCH_SYSTEM_METRICS = "WORKBENCH_SYSTEM_METRICS"
#: Seconds between two system-metric samples (default 10).
WORKBENCH_SYSTEM_METRICS_INTERVAL = "WORKBENCH_SYSTEM_METRICS_INTERVAL"
