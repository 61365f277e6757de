"""The lineage, card, models and compare-datasets endpoints through a real jupyter_server."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from huggingface_hub import ModelCard
from tornado.httpclient import HTTPClientError

import workbench as wb


def _seed(tmp_path):
    """prep writes a CSV; two trains read different versions of it; one is registered."""
    with wb.start_run(name="prep") as prep:
        pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.5]}).to_csv(tmp_path / "a.csv", index=False)
    trains = []
    for name, scale in (("a.csv", 1.0), ("b.csv", 10.0)):
        if name == "b.csv":
            pd.DataFrame({"x": [10.0, 20.0], "y": [1.0, 2.0]}).to_csv(tmp_path / name, index=False)
        with wb.start_run(name=f"train-{name}", watch_files=False) as run:
            wb.use_dataset(tmp_path / name, name="train")
            wb.log_model({"scale": scale}, name="model")
            wb.log_metric("rmse", scale)
        trains.append(run.run_id)
    wb.register_model(trains[0], "m", alias="champion")
    wb.flush()
    return prep.run_id, trains


async def _error(jp_fetch, *path, **params):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("workbench", "api", *path, params=params)
    return err.value.code, json.loads(err.value.response.body)["message"]


async def test_lineage_endpoint(jp_fetch, tmp_path):
    prep, (train, _) = _seed(tmp_path)
    resp = await jp_fetch("workbench", "api", "runs", train[:8], "lineage", params={"depth": "2"})
    data = json.loads(resp.body)
    assert data["run_id"] == train and data["upstream_runs"] == [prep]
    types = sorted(n["type"] for n in data["nodes"])
    assert types == ["dataset", "model", "run", "run"]
    model = next(n for n in data["nodes"] if n["type"] == "model")
    assert model["registered"] == ["m v1 @champion"]
    assert data["svg"].startswith("<svg") and f'data-run-id="{prep}"' in data["svg"]
    # One picture everywhere: the notebook's graph and the HTML card hold the same SVG.
    resp = await jp_fetch("workbench", "api", "runs", train, "lineage")
    svg = json.loads(resp.body)["svg"]
    assert wb.lineage(train)._repr_html_() == f'<div class="wb-lineage" style="overflow-x:auto">{svg}</div>'
    assert f'<div class="lineage">{svg}</div>' in wb.model_card(train, "html")
    assert await _error(jp_fetch, "runs", train, "lineage", depth="11") == (
        400,
        "depth must be from 1 to 10, got 11",
    )
    code, message = await _error(jp_fetch, "runs", "ffffffff", "lineage")
    assert code == 404 and "no run matches 'ffffffff'" in message


async def test_card_endpoint(jp_fetch, tmp_path):
    prep, (train, _) = _seed(tmp_path)
    resp = await jp_fetch("workbench", "api", "runs", train, "card", params={"format": "md"})
    assert resp.headers["Content-Type"] == "text/markdown; charset=utf-8"
    # The run's model is registered as m v1, so the card (and its file) are named for it.
    assert resp.headers["Content-Disposition"] == 'attachment; filename="m-v1-card.md"'
    card = ModelCard(resp.body.decode())
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [("rmse", 1.0)]
    resp = await jp_fetch("workbench", "api", "runs", train, "card", params={"format": "html"})
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8" and b"<script" not in resp.body
    resp = await jp_fetch("workbench", "api", "runs", train, "card", params={"format": "json"})
    assert "model_details" in json.loads(resp.body)
    resp = await jp_fetch("workbench", "api", "runs", train, "card", params={"format": "record"})
    assert resp.headers["Content-Disposition"] == 'attachment; filename="m-v1-card.record.json"'
    assert json.loads(resp.body)["run"]["run_id"] == train
    resp = await jp_fetch("workbench", "api", "runs", "m@champion", "card")  # a model reference
    assert resp.headers["Content-Disposition"] == 'attachment; filename="m-v1-card.md"'
    code, message = await _error(jp_fetch, "runs", train, "card", format="pdf")
    assert code == 400 and "accepted: md, html, json" in message
    code, message = await _error(jp_fetch, "runs", prep, "card")
    assert code == 400 and "has no metrics" in message
    assert (await _error(jp_fetch, "runs", "ffffffff", "card"))[0] == 404


async def test_models_endpoint_and_compare_datasets(jp_fetch, tmp_path):
    _, (a, b) = _seed(tmp_path)
    models = json.loads((await jp_fetch("workbench", "api", "models")).body)["models"]
    assert [(m["name"], m["aliases"]) for m in models] == [("m", {"champion": 1})]
    (version,) = models[0]["versions"]
    assert (version["version"], version["run_id"], version["metrics"]) == (1, a, {"rmse": 1.0})
    data = json.loads((await jp_fetch("workbench", "api", "compare", params={"ids": f"{a},{b}"})).body)
    datasets = data["datasets"]
    assert datasets["differ"] is True
    (row,) = datasets["rows"]
    assert row["name"] == "train" and row["rows"] == [3, 2] and not row["same"]
    means = {d["column"]: d["values"] for d in row["drift"] if d["stat"] == "mean"}
    assert means["x"] == [2.0, 15.0]
