"""REST handlers behind the panel's run detail, columns and registry actions: tags and
description edits, artifact downloads and previews, notebook copies, a run's charts, the
default columns, and registering models and moving aliases. Same base class (and so the
same error mapping and worker pool) as :mod:`.handlers`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import tornado.web
from tornado.ioloop import IOLoop

from ..api import (
    artifact_file,
    metric_history,
    notebook_copy,
    run_columns,
    set_run_description,
    set_run_tags,
)
from ..errors import InvalidInputError
from .handlers import POOL, ModelsHandler, WorkbenchHandler


class ColumnsHandler(WorkbenchHandler):
    """GET columns?filter=&experiment=&deleted=: the parameter and metric columns of every
    run the query finds, which differ, and which the table shows by default
    (:func:`workbench.api.describe_columns`)."""

    @tornado.web.authenticated
    async def get(self) -> None:
        flt = self.get_query_argument("filter", "") or None
        experiment = self.get_query_argument("experiment", "") or None
        deleted = self.get_query_argument("deleted", "") in ("1", "true")
        self.send_json(
            await self.call(lambda: run_columns(flt, experiment, include_deleted=deleted, store=self.store))
        )


def json_body(handler: WorkbenchHandler, shape: str) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 showing the ``shape`` expected."""
    try:
        body = json.loads(handler.request.body or b"{}")
    except (ValueError, RecursionError):
        raise InvalidInputError(f"the request body must be JSON: {shape}") from None
    if not isinstance(body, dict):
        raise InvalidInputError(f"the request body must be a JSON object: {shape}")
    return body


class TagsHandler(WorkbenchHandler):
    """PATCH runs/<id>/tags {"set": {key: value}, "delete": [key]}: edit a run's tags in
    one transaction; answers ``{"run_id", "tags"}`` after the edit."""

    _SHAPE = '{"set": {"key": "value"}, "delete": ["key"]}'

    @tornado.web.authenticated
    async def patch(self, run_id: str) -> None:
        body = json_body(self, self._SHAPE)
        tags, delete = body.get("set", {}), body.get("delete", [])
        if not isinstance(tags, dict) or not isinstance(delete, list):
            raise InvalidInputError(f"give the edit as {self._SHAPE}")

        def work() -> dict[str, Any]:
            store = self.store
            return {
                "run_id": store.resolve_run_id(run_id),
                "tags": set_run_tags(run_id, tags, delete=delete, store=store),
            }

        self.send_json(await self.call(work))


class DescriptionHandler(WorkbenchHandler):
    """PUT runs/<id>/description {"text": "..."}: a run's Markdown description (the
    ``mlflow.note.content`` tag; empty removes it); answers ``{"run_id", "tags"}``."""

    @tornado.web.authenticated
    async def put(self, run_id: str) -> None:
        text = json_body(self, '{"text": "Markdown"}').get("text")

        def work() -> dict[str, Any]:
            store = self.store
            return {
                "run_id": store.resolve_run_id(run_id),
                "tags": set_run_description(run_id, text, store=store),
            }

        self.send_json(await self.call(work))


class ArtifactHandler(WorkbenchHandler):
    """GET runs/<id>/artifacts/<sha256>[?download=1]: the stored file of one of the run's
    artifacts (or of its notebook snapshot); ``download=1`` asks the browser to save it."""

    _TYPES = {
        ".csv": "text/csv; charset=utf-8",
        ".tsv": "text/tab-separated-values; charset=utf-8",
        ".html": "text/html; charset=utf-8",
        ".htm": "text/html; charset=utf-8",
        ".json": "application/json",
        ".ipynb": "application/x-ipynb+json",
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".gif": "image/gif",
        ".svg": "image/svg+xml",
        ".webp": "image/webp",
        ".md": "text/markdown; charset=utf-8",
        ".txt": "text/plain; charset=utf-8",
        ".log": "text/plain; charset=utf-8",
        ".py": "text/x-python; charset=utf-8",
        ".yaml": "text/yaml; charset=utf-8",
        ".yml": "text/yaml; charset=utf-8",
    }

    @tornado.web.authenticated
    async def get(self, run_id: str, sha256: str) -> None:
        info = await self.call(lambda: artifact_file(run_id, sha256, store=self.store))
        name = re.sub(r'["\\\r\n]+', "_", info["name"])
        ext = Path(name).suffix.lower()
        disposition = "attachment" if self.get_query_argument("download", "") in ("1", "true") else "inline"
        self.set_header("Content-Disposition", f'{disposition}; filename="{name}"')
        # A stored file is never rendered as a page of this server's origin (an HTML
        # artifact could run script with the user's Jupyter session): a sandbox CSP.
        self.set_header(
            "Content-Security-Policy", "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        )
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Length", str(info["size"]))
        data = await IOLoop.current().run_in_executor(POOL, info["path"].read_bytes)
        # APIHandler.finish would otherwise label every body application/json.
        self.finish(data, set_content_type=self._TYPES.get(ext, "application/octet-stream"))


class NotebookCopyHandler(WorkbenchHandler):
    """POST runs/<id>/notebook {"which": "snapshot"|"output"}: copy the run's notebook
    snapshot or its executed output under the server root (``workbench-runs/<id>/``), for
    JupyterLab to open; answers ``{"path", "cell_index", "which"}``."""

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        which = json_body(self, '{"which": "snapshot"}').get("which")
        root: Path = self.settings["workbench_root"]
        self.send_json(await self.call(lambda: notebook_copy(run_id, which, root, store=self.store)))


class RunChartsHandler(WorkbenchHandler):
    """GET runs/<id>/charts?width=W: every metric of one run as curves, one row per
    metric with its own scale, ``system/*`` metrics in a second chart. Answers
    ``{"metrics": spec|null, "system": spec|null, "finals": {name: value}}``: metrics
    logged at one step only are final values, listed rather than drawn."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        width = self.int_arg("width", 300, 120, 2000)

        def work() -> dict[str, Any]:
            from ..render.charts import SAVED_CURVE_POINTS, metric_curves_spec

            store = self.store
            full = store.resolve_run_id(run_id)
            df = metric_history(full, store=store)
            groups: dict[str, list[dict[str, Any]]] = {"metrics": [], "system": []}
            finals: dict[str, float] = {}
            for key, points in df.groupby("key", sort=True):
                if len(points) < 2:
                    finals[str(key)] = float(points["value"].iloc[-1])
                    continue
                series = {
                    "label": full[:8],
                    "key": str(key),
                    "steps": points["step"].to_numpy(),
                    "values": points["value"].to_numpy(),
                }
                groups["system" if str(key).startswith("system/") else "metrics"].append(series)
            out: dict[str, Any] = {"finals": finals}
            for name, series in groups.items():
                spec = None
                if series:
                    spec = metric_curves_spec(
                        series, [full[:8]], width=width, height=110, max_points=SAVED_CURVE_POINTS
                    )
                    spec["encoding"]["color"]["legend"] = None  # one run: nothing to tell apart
                out[name] = spec
            return out

        self.send_json(await self.call(work))


class ModelRegistryHandler(ModelsHandler):
    """GET models (as :class:`ModelsHandler`); POST models {"run_id", "name", "alias"?,
    "artifact"?}: register a run's model as the next version of ``name``."""

    @tornado.web.authenticated
    async def post(self) -> None:
        body = json_body(self, '{"run_id": "...", "name": "model", "alias": "challenger"}')
        run_id, name = body.get("run_id"), body.get("name")
        alias, artifact = body.get("alias") or None, body.get("artifact") or None
        if not isinstance(run_id, str) or not isinstance(name, str):
            raise InvalidInputError('give the run and the model name: {"run_id": "...", "name": "model"}')

        def work() -> Any:
            from ..registry import register_model

            return register_model(run_id, name, artifact, alias=alias, store=self.store).to_dict()

        self.send_json(await self.call(work), status=201)


class ModelAliasHandler(WorkbenchHandler):
    """PUT models/<name>/aliases/<alias> {"version": N}: point the alias at version N
    (moving it from where it pointed); DELETE removes the alias."""

    @tornado.web.authenticated
    async def put(self, name: str, alias: str) -> None:
        version = json_body(self, '{"version": 2}').get("version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidInputError(f'give the version as a whole number: {{"version": 2}}, got {version!r}')

        def work() -> Any:
            from ..registry import set_model_alias

            return set_model_alias(name, alias, version, store=self.store).to_dict()

        self.send_json(await self.call(work))

    @tornado.web.authenticated
    async def delete(self, name: str, alias: str) -> None:
        def work() -> None:
            from ..registry import delete_model_alias

            delete_model_alias(name, alias, store=self.store)

        await self.call(work)
        self.send_json({"name": name, "alias": alias, "deleted": True})


class ModelCompareHandler(WorkbenchHandler):
    """GET models/<name>/compare?challenger=challenger&champion=champion: the two
    versions' metrics side by side, which is better per metric, and the verdict (what
    ``workbench models compare`` prints)."""

    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        challenger = self.get_query_argument("challenger", "challenger")
        champion = self.get_query_argument("champion", "champion")

        def work() -> Any:
            from ..registry import compare_models

            return compare_models(name, challenger, champion, store=self.store).to_dict()

        self.send_json(await self.call(work))


class TuneHandler(WorkbenchHandler):
    """GET tunes/<tune_id>: a tune's optimisation history (:func:`workbench.rerun.tune_history`:
    each trial's number, parameters, state and value, the best so far, the best trial) and
    ``chart``, its Vega-Lite spec (None while no trial has a value). The id is any unique
    prefix of the runs' ``tune_id`` tag, or the study's name."""

    @tornado.web.authenticated
    async def get(self, tune_id: str) -> None:
        def work() -> dict[str, Any]:
            from ..render.tune_chart import tune_history_spec
            from ..rerun import tune_history

            history = tune_history(tune_id, store=self.store)
            return {**history, "chart": tune_history_spec(history)}

        self.send_json(await self.call(work))
