"""The URL patterns of the REST API, and the handler class of each."""

from __future__ import annotations

from .handlers import (
    CardHandler,
    ChartsHandler,
    CompareHandler,
    ExperimentsHandler,
    InfoHandler,
    JobHandler,
    LineageHandler,
    MetricsHandler,
    ParametersHandler,
    RerunHandler,
    RestoreHandler,
    RunHandler,
    RunsHandler,
)
from .panel_handlers import (
    ArtifactHandler,
    ColumnsHandler,
    DescriptionHandler,
    ModelAliasHandler,
    ModelCompareHandler,
    ModelRegistryHandler,
    NotebookCopyHandler,
    RunChartsHandler,
    TagsHandler,
    TuneHandler,
)


def route_handlers() -> list[tuple[str, type]]:
    """The URL patterns, relative to the server's base URL."""
    run = r"(?P<run_id>[^/]+)"
    return [
        (r"/workbench/api/info", InfoHandler),
        (r"/workbench/api/experiments", ExperimentsHandler),
        (r"/workbench/api/runs", RunsHandler),
        (rf"/workbench/api/runs/{run}", RunHandler),
        (rf"/workbench/api/runs/{run}/restore", RestoreHandler),
        (rf"/workbench/api/runs/{run}/rerun", RerunHandler),
        (rf"/workbench/api/runs/{run}/parameters", ParametersHandler),
        (rf"/workbench/api/runs/{run}/lineage", LineageHandler),
        (rf"/workbench/api/runs/{run}/card", CardHandler),
        (r"/workbench/api/models", ModelRegistryHandler),
        (r"/workbench/api/models/(?P<name>[^/]+)/aliases/(?P<alias>[^/]+)", ModelAliasHandler),
        (r"/workbench/api/models/(?P<name>[^/]+)/compare", ModelCompareHandler),
        (r"/workbench/api/compare", CompareHandler),
        (r"/workbench/api/metrics", MetricsHandler),
        (r"/workbench/api/charts", ChartsHandler),
        (r"/workbench/api/columns", ColumnsHandler),
        (rf"/workbench/api/runs/{run}/tags", TagsHandler),
        (rf"/workbench/api/runs/{run}/description", DescriptionHandler),
        (rf"/workbench/api/runs/{run}/artifacts/(?P<sha256>[0-9a-f]{{64}})", ArtifactHandler),
        (rf"/workbench/api/runs/{run}/notebook", NotebookCopyHandler),
        (rf"/workbench/api/runs/{run}/charts", RunChartsHandler),
        (r"/workbench/api/jobs/(?P<job_id>[0-9a-f]+)", JobHandler),
        (r"/workbench/api/tunes/(?P<tune_id>[^/]+)", TuneHandler),
    ]
