"""REST handlers. One base class maps every Workbench error to an HTTP status.

All routes are under ``<base_url>/workbench/api/`` and authenticated like Jupyter's own
APIs (a request without the token or cookie gets 403; POSTs are XSRF-checked).

No handler touches the store, renders or starts a rerun on the server's event loop: the
work runs in :data:`POOL` through :meth:`WorkbenchHandler.call`, and a store that another
process holds longer than :data:`STORE_WAIT_S` answers 503 with ``Retry-After``. The rest
of JupyterLab (file browser, saving, kernels) keeps answering meanwhile.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import tornado.web
from jupyter_server.base.handlers import APIHandler
from tornado.ioloop import IOLoop

from .. import __version__
from ..api import (
    delete_run,
    deleted_run_ids,
    limit_store_wait,
    open_store,
    restore_run,
)
from ..comparison import compare_records, dataset_diff, origin
from ..errors import InvalidInputError, NotFoundError, StoreBusyError, StoreError, WorkbenchError
from ..paths import resolve_store
from .jobs import JobTable

if TYPE_CHECKING:
    from ..store.store import Store

MAX_LIMIT = 1000
# How long one request waits for a store that another process holds before answering 503.
STORE_WAIT_S = 3.0
# Seconds the panel is told to wait before it asks again.
RETRY_AFTER_S = 2
# Bounded, as in jupyterlab-git: a burst of panel requests queues here, not in the loop.
POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="workbench-api")

T = TypeVar("T")


class WorkbenchHandler(APIHandler):
    """Base handler: resolves the store, runs blocking work off the event loop and turns
    exceptions into JSON errors."""

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` in the worker pool, waiting at most
        :data:`STORE_WAIT_S` for the store lock (then ``StoreBusyError``: a 503)."""

        def work() -> T:
            with limit_store_wait(STORE_WAIT_S):
                return fn(*args, **kwargs)

        return await IOLoop.current().run_in_executor(POOL, work)

    @property
    def store(self) -> Store:
        """The store for this request: the server's configured one, else found from the
        notebook directory the panel passes as ``?path=`` (relative to the root).

        Opening it may wait on the store lock: use it only inside :meth:`call`."""
        configured = self.settings.get("workbench_store")
        if configured:
            return open_store(configured)
        root: Path = self.settings["workbench_root"]
        rel = self.get_query_argument("path", "").strip("/")
        start = (root / rel).resolve() if rel else root
        if root not in (start, *start.parents):
            raise InvalidInputError(f"path {rel!r} is outside the server's root directory")
        if not start.exists():
            # A read must never create folders: only an existing directory can hold a store.
            raise NotFoundError(f"path {rel!r} does not exist under the server's root directory")
        found = resolve_store(start=str(start if start.is_dir() else start.parent))
        if not found.is_dir():
            # No store at or above that directory: the server's own (its root's) store.
            found = resolve_store(start=str(root))
        return open_store(found)

    @property
    def jobs(self) -> JobTable:
        """This server's rerun jobs."""
        return self.settings.setdefault("workbench_jobs", JobTable())

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """The one place errors become HTTP statuses: not found 404, bad input 400, a
        busy store 503, a store that cannot be used (corrupt, newer schema) 409."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, NotFoundError):
            status, message = 404, str(exc)
        elif isinstance(exc, InvalidInputError):
            status, message = 400, str(exc)
        elif isinstance(exc, StoreBusyError):
            status, message = 503, f"store busy: {exc}"
            self.set_header("Retry-After", str(RETRY_AFTER_S))
        elif isinstance(exc, StoreError):
            status, message = 409, str(exc)
        elif isinstance(exc, tornado.web.HTTPError):
            status, message = exc.status_code, exc.log_message or self._reason
        else:
            status, message = 500, "Unhandled error"
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"message": message}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Bad input, an unknown run or a busy store is the client's or another process's
        doing, answered with its status: one warning line, not an "Uncaught exception"
        traceback. Anything else is logged in full, as tornado does."""
        expected = isinstance(value, WorkbenchError) and not isinstance(value, StoreError)
        if expected or isinstance(value, StoreBusyError):
            one_line = " ".join(str(value).split())
            self.log.warning("Workbench: %s %s: %s", self.request.method, self.request.path, one_line)
            return
        super().log_exception(typ, value, tb)

    def send_json(self, data: Any, status: int = 200) -> None:
        """Write ``data`` as JSON (NaN becomes null)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(clean(data), default=str))

    def int_arg(self, name: str, default: int, lo: int, hi: int) -> int:
        """An integer query argument within ``[lo, hi]``, or a 400 naming the range."""
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidInputError(f"{name} must be a whole number from {lo} to {hi}, got {raw!r}") from None
        if not lo <= value <= hi:
            raise InvalidInputError(f"{name} must be from {lo} to {hi}, got {value}")
        return value

    def ids_arg(self) -> list[str]:
        """The ``ids`` query argument: comma-separated run ids or prefixes."""
        ids = [i for i in self.get_query_argument("ids", "").split(",") if i.strip()]
        if not ids:
            raise InvalidInputError("give run ids as ?ids=ID,ID (ids or unique prefixes)")
        return ids


def clean(value: Any) -> Any:
    """``value`` with every non-finite float as None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def page_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of :meth:`Store.runs_page_rows` as :func:`run_rows` shapes a run."""
    parent = row["parent_run_id"]
    tags = row["tags"]
    return {
        **{
            c: row[c]
            for c in ("run_id", "run_name", "experiment", "status", "start_time", "end_time", "source")
        },
        "parent_run_id": parent,
        "origin": origin(row["source"], parent, tags.get("sweep_id") or tags.get("tune_id")),
        "params": row["params"],
        # A NaN latest value is left out, as run_rows leaves it out.
        "metrics": {k: v for k, v in row["metrics"].items() if not math.isnan(v)},
        "tags": tags,
    }


def run_rows(df: Any) -> list[dict[str, Any]]:
    """Rows of a ``search_runs`` DataFrame as nested JSON objects."""
    import pandas as pd

    params = [c for c in df.columns if c.startswith("params.")]
    metrics = [c for c in df.columns if c.startswith("metrics.")]
    tags = [c for c in df.columns if c.startswith("tags.")]
    out = []
    for row in df.to_dict("records"):

        def ms(ts: Any) -> int | None:
            return None if ts is None or pd.isna(ts) else int(ts.timestamp() * 1000)

        parent = row.get("parent_run_id")
        parent = parent if isinstance(parent, str) else None
        tag_map = {c[5:]: row[c] for c in tags if isinstance(row[c], str)}
        out.append(
            {
                "run_id": row["run_id"],
                "run_name": row["run_name"],
                "experiment": row["experiment"],
                "status": row["status"],
                "start_time": ms(row["start_time"]),
                "end_time": ms(row["end_time"]),
                "source": row["source"],
                "parent_run_id": parent,
                "origin": origin(row["source"], parent, tag_map.get("sweep_id") or tag_map.get("tune_id")),
                "params": {c[7:]: row[c] for c in params if isinstance(row[c], str)},
                "metrics": {c[8:]: row[c] for c in metrics if row[c] is not None and not pd.isna(row[c])},
                "tags": tag_map,
            }
        )
    return out


class InfoHandler(WorkbenchHandler):
    """GET info: the version and the store in use (the panel shows it)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        def work() -> dict[str, Any]:
            store = self.store
            return {
                "version": __version__,
                "store": str(store.directory),
                "schema_version": store.schema_version(),
            }

        self.send_json(await self.call(work))


class ExperimentsHandler(WorkbenchHandler):
    """GET experiments: names with run counts."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.send_json({"experiments": await self.call(lambda: self.store.experiments())})


class RunsHandler(WorkbenchHandler):
    """GET runs?filter=&order_by=&experiment=&offset=&limit=: one page of runs and the total."""

    @tornado.web.authenticated
    async def get(self) -> None:
        flt = self.get_query_argument("filter", "") or None
        order = self.get_query_argument("order_by", "") or None
        experiment = self.get_query_argument("experiment", "") or None
        deleted = self.get_query_argument("deleted", "") in ("1", "true")
        offset = self.int_arg("offset", 0, 0, 10**9)
        limit = self.int_arg("limit", 200, 1, MAX_LIMIT)

        def work() -> dict[str, Any]:
            store = self.store
            page, keys, total = store.runs_page_rows(flt, order, experiment, deleted, limit, offset)
            columns = {"params": keys["params"], "metrics": keys["metrics"]}
            rows = [page_row(r) for r in page]
            if deleted:
                # Rows of soft-deleted runs are marked so the table can show them as deleted.
                gone = deleted_run_ids([r["run_id"] for r in rows], store=store)
                for r in rows:
                    r["deleted"] = r["run_id"] in gone
            return {"runs": rows, "total": total, "offset": offset, "columns": columns}

        self.send_json(await self.call(work))


class RunHandler(WorkbenchHandler):
    """GET runs/<id>: everything recorded; DELETE runs/<id>: soft delete."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        def work() -> dict[str, Any]:
            rec = self.store.get_run(run_id)
            return {
                **rec.to_dict(),
                "origin": origin(
                    rec.source, rec.parent_run_id, rec.tags.get("sweep_id") or rec.tags.get("tune_id")
                ),
            }

        self.send_json(await self.call(work))

    @tornado.web.authenticated
    async def delete(self, run_id: str) -> None:
        full = await self.call(lambda: delete_run(run_id, store=self.store))
        self.send_json({"run_id": full, "deleted": True})


class RestoreHandler(WorkbenchHandler):
    """POST runs/<id>/restore: undo a soft delete."""

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        full = await self.call(lambda: restore_run(run_id, store=self.store))
        self.send_json({"run_id": full, "deleted": False})


class CompareHandler(WorkbenchHandler):
    """GET compare?ids=a,b: param diff, final metrics, best per metric, cell sources, and
    the datasets each run read (hashes, rows, profile drift)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        ids = self.ids_arg()

        def work() -> dict[str, Any]:
            store = self.store
            records = [store.get_run(i) for i in ids]
            data = compare_records(records)
            data["sources"] = [r.context.get("cell_source") for r in records]
            shas = {r.context.get("notebook_sha") for r in records if r.context.get("notebook_sha")}
            data["notebooks_differ"] = len(shas) > 1
            data["datasets"] = dataset_diff(store, [r.run_id for r in records])
            # The metric the runs name as their objective (an `objective` tag), if any:
            # the panel's charts start with it.
            objective = [r.tags.get("objective", "").split() for r in records]
            names = [w[0].removeprefix("metrics.") for w in objective if w]
            data["objective"] = next((n for n in names if n in data["metrics"]), None)
            return data

        self.send_json(await self.call(work))


class MetricsHandler(WorkbenchHandler):
    """GET metrics?ids=a,b&keys=loss&max_points=N[&after_step=S]: curves, each downsampled
    to N points. ``after_step`` keeps only the points past a step: one step for every run,
    or one per id (``after_step=41,,7``; an empty entry means from the first point). A live
    chart asks for what it has not drawn yet."""

    @tornado.web.authenticated
    async def get(self) -> None:
        keys = [k for k in self.get_query_argument("keys", "").split(",") if k] or None
        max_points = self.int_arg("max_points", 1000, 2, 100_000)
        ids = self.ids_arg()
        after = self._after_steps(len(ids))
        series = await self.call(lambda: self.store.metric_series(ids, keys, max_points, after))
        # Workbench refuses NaN/inf when logged, but runs logged through the MLflow bridge
        # may hold them: those (rare) series go through the slower NaN-to-null cleaning.
        try:
            body = json.dumps({"series": series}, allow_nan=False)
        except ValueError:
            body = json.dumps({"series": clean(series)})
        self.set_header("Content-Type", "application/json")
        self.finish(body)

    def _after_steps(self, n: int) -> list[int | None] | None:
        """The ``after_step`` cursors, one per id, or None when not given."""
        raw = self.get_query_argument("after_step", None)
        if raw is None:
            return None
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) == 1:
            parts *= n
        if len(parts) != n:
            raise InvalidInputError(f"after_step must be one step or one per id ({n}), got {len(parts)}")
        try:
            steps = [int(p) if p else None for p in parts]
        except ValueError:
            steps = [2**63]  # reported below
        if any(s is not None and not -(2**63) <= s < 2**63 for s in steps):
            raise InvalidInputError(f"after_step must be whole numbers (steps), comma-separated, got {raw!r}")
        return steps


class ChartsHandler(WorkbenchHandler):
    """GET charts?kind=curves&ids=a,b&key=loss | kind=parallel&ids=a,b[&metric=][&params=p,q]:
    a comparison chart as a Vega-Lite v5 spec, built by the same code as the notebook's
    charts and the HTML card (``{"spec": ...}``)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        kind = self.get_query_argument("kind", "")
        ids = self.ids_arg()
        if kind == "curves":
            key = self.get_query_argument("key", "")
            if not key:
                raise InvalidInputError("give the metric as ?key=NAME for kind=curves")
            options = self._curve_options()
            if options:
                spec = await self.call(
                    lambda: explore_charts().curves_chart(ids, key, **options, store=self.store)
                )
            else:
                spec = await self.call(lambda: comparison_charts().curves_chart(ids, key, store=self.store))
        elif kind == "parallel":
            metric = self.get_query_argument("metric", "") or None
            params = [p for p in self.get_query_argument("params", "").split(",") if p] or None
            if self.get_query_argument("width", None) is not None:
                # The panel's chart: fitted to its width, objective last, missing ticks.
                width = self.int_arg("width", 600, 200, 10_000)
                spec = await self.call(
                    lambda: explore_charts().parallel_chart(
                        ids, metric, params, width=width, store=self.store
                    )
                )
            else:
                spec = await self.call(
                    lambda: comparison_charts().parallel_chart(ids, metric, params, store=self.store)
                )
        elif kind == "scatter":
            param = self.get_query_argument("param", "")
            metric = self.get_query_argument("metric", "")
            if not param or not metric:
                raise InvalidInputError("give ?param=NAME&metric=NAME for kind=scatter")
            spec = await self.call(
                lambda: explore_charts().scatter_chart(ids, param, metric, store=self.store)
            )
        else:
            raise InvalidInputError(
                f"kind must be curves or parallel, or scatter (with ?param=&metric=), got {kind!r}"
            )
        self.send_json({"spec": spec})

    def _curve_options(self) -> dict[str, Any]:
        """smoothing= (0 to 0.99), log=1, x=step|wall|relative: only those given."""
        options: dict[str, Any] = {}
        raw = self.get_query_argument("smoothing", "")
        if raw not in ("", "0"):
            try:
                options["smoothing"] = float(raw)
            except ValueError:
                raise InvalidInputError(f"smoothing must be a number from 0 to 0.99, got {raw!r}") from None
        if self.get_query_argument("log", "") in ("1", "true"):
            options["log"] = True
        x = self.get_query_argument("x", "step")
        if x != "step":
            options["x"] = x
        return options


class ParametersHandler(WorkbenchHandler):
    """GET runs/<id>/parameters: the run's parameters for the rerun form.

    ``parameters`` maps each name of the notebook's parameters cell to the run's own
    value (what a rerun keeps unless it is changed), ``defaults`` to the notebook's
    default, and ``items`` lists them in the cell's order with both values, the default
    as written, its type and whether the run recorded the value.
    """

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        def work() -> Any:
            from ..rerun import run_parameters

            return run_parameters(run_id, store=self.store)

        items = await self.call(work)
        self.send_json(
            {
                "parameters": {p["name"]: p["value"] for p in items},
                "defaults": {p["name"]: p["default"] for p in items},
                "items": items,
            }
        )


class RerunHandler(WorkbenchHandler):
    """POST runs/<id>/rerun {"params": {...}}: start a rerun; 202 with its job id.

    ``params`` holds the changed values only: the others keep the run's own values.
    """

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except (ValueError, RecursionError):
            raise InvalidInputError('the request body must be JSON: {"params": {...}}') from None
        params = body.get("params", {}) if isinstance(body, dict) else None
        if not isinstance(params, dict):
            raise InvalidInputError("params must be an object of name -> value")

        def work() -> Any:
            from ..rerun import start_rerun

            return start_rerun(run_id, params, store=self.store)

        job = await self.call(work)
        self.jobs.add(job.result.job_id, job)
        self.send_json({"job_id": job.result.job_id}, status=202)


class JobHandler(WorkbenchHandler):
    """GET jobs/<id>: a rerun's progress and outcome (finished jobs are kept for an hour)."""

    @tornado.web.authenticated
    def get(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no job {job_id!r} in this server (finished jobs are kept for an hour)")
        r = job.result
        self.send_json({"job_id": r.job_id, "status": r.status, "run_ids": r.run_ids, "error": r.error})


class LineageHandler(WorkbenchHandler):
    """GET runs/<id>/lineage?depth=N: the lineage graph (nodes, edges, upstream and
    downstream runs) and its drawing as SVG."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        depth = self.int_arg("depth", 3, 1, 10)

        def work() -> dict[str, Any]:
            from ..lineage import lineage

            graph = lineage(run_id, depth, store=self.store)
            return {**graph.to_dict(), "svg": graph.to_svg()}

        self.send_json(await self.call(work))


class CardHandler(WorkbenchHandler):
    """GET runs/<id>/card?format=md|html|json|record: the model card as a file to download
    (``<id>`` may also name a model version: ``NAME@alias``, ``NAME/3``)."""

    _TYPES = {
        "md": "text/markdown; charset=utf-8",
        "html": "text/html; charset=utf-8",
        "json": "application/json",
        "record": "application/json",
    }

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        fmt = self.get_query_argument("format", "md")

        def work() -> tuple[str, str]:
            # Imported here, in the worker: a first import (cards load vl-convert) takes
            # seconds that the event loop must not wait.
            from ..card import build_card, check_format, render

            check_format(fmt)
            card = build_card(run_id, self.store)
            label = card["name"] + (f"-v{card['version']['version']}" if card["version"] else "")
            return render(card, fmt), label

        text, label = await self.call(work)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-") or "model"
        ext = {"record": "record.json"}.get(fmt, fmt)
        self.set_header("Content-Disposition", f'attachment; filename="{name}-card.{ext}"')
        # APIHandler.finish would otherwise label every body application/json.
        self.finish(text, set_content_type=self._TYPES[fmt])


class ModelsHandler(WorkbenchHandler):
    """GET models: registered models with their versions (run, metrics) and aliases."""

    _FIELDS = ("version", "run_id", "run_name", "sha256", "path", "created_at", "aliases", "metrics")

    @tornado.web.authenticated
    async def get(self) -> None:
        models: dict[str, dict[str, Any]] = {}
        for v in await self.call(lambda: self.store.model_versions()):
            m = models.setdefault(v["name"], {"name": v["name"], "aliases": {}, "versions": []})
            m["versions"].append({k: v[k] for k in self._FIELDS})
            m["aliases"].update({a: v["version"] for a in v["aliases"]})
        self.send_json({"models": list(models.values())})


def explore_charts() -> Any:
    """The explore-chart builders (render.explore), imported in the worker on first use."""
    # Loaded in the worker, like _render.
    from ..render import explore

    return explore


def comparison_charts() -> Any:
    """The comparison chart builders (render.comparison), imported in the worker on first use."""
    # The chart builders import altair/numpy: loaded in the worker, on first use.
    from ..render import comparison

    return comparison
