"""Model cards as Markdown (Hugging Face), self-contained HTML, and JSON (Model Card Toolkit)."""

from __future__ import annotations

import functools
import html
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from .sections import SECTIONS

_TODO = "_To be written by the author (a `%%card` cell or `sections=`)._"


# -- shared text -------------------------------------------------------------------------
def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)


def _size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _caveats(card: dict[str, Any]) -> list[str]:
    """Caveats the record itself shows, listed whether or not the author wrote any."""
    out = []
    run = card["run"]
    if run.get("git_dirty"):
        out.append("The code had uncommitted changes when the model was trained (git state dirty).")
    if run.get("deleted"):
        out.append("The training run has been deleted from the store (it can be restored).")
    if run["status"] != "finished":
        out.append(f"The training run ended with status '{run['status']}'.")
    if not card["datasets"]["evaluation"]:
        out.append("No evaluation dataset was recorded; the metrics' data is not documented.")
    for d in card["datasets"]["training"] + card["datasets"]["evaluation"]:
        if d.get("hash_method") == "repr":
            out.append(f"Dataset '{d['name']}' held unhashable values; its hash is of their repr().")
    return out


def _facts(card: dict[str, Any]) -> list[tuple[str, str]]:
    """Model Details as (label, value) pairs."""
    run, model, version = card["run"], card["model"], card["version"]
    facts = []
    if version:
        aliases = "".join(f" @{a}" for a in version["aliases"])
        facts.append(("Registered", f"{version['name']} version {version['version']}{aliases}"))
    facts.append(("Run", f"{run['run_name']} ({run['run_id'][:8]}), experiment {run['experiment']}"))
    facts.append(
        ("Trained", f"{run['started']}" + (f", {run['duration_s']:.1f} s" if run["duration_s"] else ""))
    )
    if model["class"]:
        facts.append(("Model type", f"{model['class']}"))
    if model["sha256"]:
        facts.append(
            ("Model file", f"{model['artifact']} (sha256 {model['sha256'][:12]}, {_size(model['size'])})")
        )
    facts.append(("Task", card["task"]))
    if run.get("notebook_path"):
        facts.append(("Notebook", run["notebook_path"]))
    if run.get("git_commit"):
        dirty = ", uncommitted changes" if run.get("git_dirty") else ""
        facts.append(("Git", f"{run['git_commit'][:12]} on {run.get('git_branch') or '?'}{dirty}"))
    env = card["environment"]
    if env["python"]:
        pk = ", ".join(f"{k} {v}" for k, v in env["packages"].items())
        facts.append(("Environment", f"Python {env['python']}" + (f"; {pk}" if pk else "")))
    if run.get("parent_run_id"):
        facts.append(("Derived from", f"run {run['parent_run_id'][:8]} ({run['source']})"))
    return facts


def _profile_rows(d: dict[str, Any]) -> list[list[str]]:
    cols = (d.get("profile") or {}).get("columns") or []
    return [
        [
            c["name"],
            c["type"],
            _num(c["nulls"]),
            _num(c["distinct"]),
            _num(c["min"]),
            _num(c["max"]),
            _num(c["mean"]),
        ]
        for c in cols
    ]


def _split_params(params: dict[str, str]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The run's own parameters, and the autologged estimator ones (``Ridge.alpha``)
    grouped by estimator, which read better as one line each than as table rows."""
    own: dict[str, str] = {}
    estimators: dict[str, dict[str, str]] = {}
    for key, value in params.items():
        cls, dot, name = key.partition(".")
        if dot and cls[:1].isupper():
            estimators.setdefault(cls, {})[name] = value
        else:
            own[key] = value
    return own, estimators


_PROFILE_HEAD = ["column", "type", "nulls", "distinct", "min", "max", "mean"]


# -- Markdown ------------------------------------------------------------------------------
def front_matter(card: dict[str, Any]) -> dict[str, Any]:
    """Hugging Face model card metadata, with ``model-index`` holding the run's results."""
    author = card["sections"]
    datasets = card["datasets"]["evaluation"] or card["datasets"]["training"]
    ds = datasets[0] if datasets else None
    tags = ["workbench", card["task"]] + [t for t in author.get("tags", []) if t]
    meta: dict[str, Any] = {}
    if card["model"]["hf_library"]:
        meta["library_name"] = card["model"]["hf_library"]
    if author.get("license"):
        meta["license"] = author["license"]
    if author.get("language"):
        meta["language"] = author["language"]
    meta["tags"] = list(dict.fromkeys(tags))
    names = [d["name"] for d in card["datasets"]["training"] + card["datasets"]["evaluation"]]
    if names:
        meta["datasets"] = list(dict.fromkeys(names))
    meta["metrics"] = list(card["metrics"])
    meta["model-index"] = [
        {
            "name": card["name"],
            "results": [
                {
                    "task": {"type": card["task"], "name": card["task"].replace("-", " ").title()},
                    "dataset": {
                        "name": ds["name"] if ds else card["run"]["experiment"],
                        "type": ds["name"] if ds else "custom",
                        **({"revision": ds["sha256"]} if ds else {}),
                    },
                    "metrics": [
                        {"type": k, "value": float(v), "name": k} for k, v in card["metrics"].items()
                    ],
                }
            ],
        }
    ]
    return meta


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _md_datasets(items: list[dict[str, Any]]) -> str:
    parts = []
    for d in items:
        rows = f", {d['rows']} rows" if d.get("rows") is not None else ""
        how = " (found by Workbench when the run opened it)" if d.get("detected") else ""
        parts.append(
            f"**{d['name']}**: `{d['path']}`, sha256 `{d['sha256'][:16]}`, {_size(d['size'])}{rows}{how}"
        )
        if _profile_rows(d):
            parts.append(_md_table(_PROFILE_HEAD, _profile_rows(d)))
    return "\n\n".join(parts)


def to_markdown(card: dict[str, Any]) -> str:
    """A Hugging Face model card: YAML front matter, then the sections in order."""
    import yaml

    author = card["sections"]
    out = ["---", yaml.safe_dump(front_matter(card), sort_keys=False, allow_unicode=True).strip(), "---", ""]
    out.append(f"# {card['title']}\n")
    if author.get("overview"):
        out.append(author["overview"] + "\n")
    body = _section_bodies_md(card)
    for key, heading in SECTIONS:
        out.append(f"## {heading}\n")
        out.append(body[key].strip() + "\n")
    out.append(_todo_md(card))
    out.append(
        f"\n<sub>Generated by Workbench from run {card['run']['run_id']} on {card['generated_at']}.</sub>\n"
    )
    return "\n".join(out)


def _todo_md(card: dict[str, Any]) -> str:
    if not card["todo"]:
        return "## To do\n\nNothing: every section has the author's text.\n"
    items = "\n".join(f"- [ ] {t}" for t in card["todo"])
    return f"## To do\n\nSections still to write (in a `%%card` cell or with `sections=`):\n\n{items}\n"


def _section_bodies_md(card: dict[str, Any]) -> dict[str, str]:
    author = card["sections"]
    b: dict[str, str] = {}
    facts = "\n".join(f"- **{k}**: {v}" for k, v in _facts(card))
    own, estimators = _split_params(card["params"])
    params = (
        _md_table(["parameter", "value"], [[k, v] for k, v in own.items()])
        + "".join(
            f"\n\n**{cls}**: " + ", ".join(f"`{k}={v}`" for k, v in hp.items())
            for cls, hp in estimators.items()
        )
        if card["params"]
        else ""
    )
    lineage = card["lineage"]
    lin = []
    if lineage["upstream_runs"]:
        lin.append(
            "Upstream runs: "
            + ", ".join(f"{r['run_name']} ({r['run_id'][:8]})" for r in lineage["upstream_runs"])
        )
    if lineage["downstream_runs"]:
        lin.append(
            "Downstream runs: "
            + ", ".join(f"{r['run_name']} ({r['run_id'][:8]})" for r in lineage["downstream_runs"])
        )
    b["model_details"] = "\n\n".join(
        p
        for p in (
            author.get("model_details") or _TODO,
            facts,
            "### Parameters\n\n" + params if params else "",
            "\n\n".join(lin),
        )
        if p
    )
    for key in ("intended_use", "factors", "ethical_considerations"):
        b[key] = author.get(key) or _TODO
    metric_rows = [
        [k, _num(v), card["metric_direction"][k] + " is better"] for k, v in card["metrics"].items()
    ]
    b["metrics"] = "\n\n".join(
        p for p in (author.get("metrics"), _md_table(["metric", "final value", ""], metric_rows)) if p
    )
    ev = card["datasets"]["evaluation"]
    b["evaluation_data"] = "\n\n".join(
        p for p in (author.get("evaluation_data") or (_TODO if not ev else ""), _md_datasets(ev)) if p
    )
    tr = card["datasets"]["training"]
    b["training_data"] = "\n\n".join(
        p for p in (author.get("training_data"), _md_datasets(tr) or "No training dataset was recorded.") if p
    )
    curves = ", ".join(f"{k} ({len(v)} points)" for k, v in card["curves"].items())
    b["quantitative_analyses"] = "\n\n".join(
        p
        for p in (
            author.get("quantitative_analyses"),
            _md_table(["metric", "value"], [[k, _num(v)] for k, v in card["metrics"].items()]),
            f"Metric curves recorded: {curves}. The HTML card draws them." if curves else "",
            "### System (last sample)\n\n" + _md_table(["metric", "value"], _system_rows(card))
            if card.get("system_metrics")
            else "",
        )
        if p
    )
    cav = _caveats(card)
    b["caveats_and_recommendations"] = "\n\n".join(
        p for p in (author.get("caveats_and_recommendations") or _TODO, "\n".join(f"- {c}" for c in cav)) if p
    )
    return b


# -- HTML ------------------------------------------------------------------------------------
_CSS = """
body{font:15px/1.55 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#202124;
max-width:980px;margin:2rem auto;padding:0 1.25rem}
h1{font-size:1.8rem;margin-bottom:.2rem}h2{border-bottom:1px solid #dadce0;padding-bottom:.25rem;margin-top:2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}th,td{border:1px solid #dadce0;padding:.25rem .6rem;
text-align:left;vertical-align:top}th{background:#f1f3f4}code{background:#f1f3f4;padding:0 .25rem;border-radius:3px}
.todo{color:#b06000;font-style:italic}.facts td:first-child{font-weight:600;white-space:nowrap}
.chart,.lineage{overflow-x:auto;margin:.8rem 0}.lineage svg{max-width:100%;height:auto}.meta{color:#5f6368;font-size:.85rem}
.badge{display:inline-block;background:#e8f0fe;color:#1a73e8;border-radius:10px;padding:0 .5rem;margin-right:.3rem;font-size:.8rem}
"""


def _md_to_html(text: str) -> str:
    """The author's Markdown as HTML: raw HTML escaped, harmful link protocols dropped,
    and no image that the browser would fetch (see :func:`_card_renderer`)."""
    renderer = _card_renderer()
    if renderer is None:
        return "<p>" + html.escape(text).replace("\n\n", "</p><p>") + "</p>"
    import mistune

    # A parser per call: the server renders cards on several threads at once.
    return mistune.create_markdown(renderer=renderer(escape=True))(text)


@functools.lru_cache(maxsize=1)
def _card_renderer() -> Any:
    try:
        import mistune
    except ImportError:
        return None

    class CardRenderer(mistune.HTMLRenderer):
        # The card promises to load nothing from anywhere: only images carried inline
        # (data:image/...) are drawn; any other (https://, //host, a relative path)
        # becomes a link to it, which the reader may follow.
        def image(self, text: str, url: str, title: str | None = None) -> str:
            if url.strip().lower().startswith("data:image/"):
                return super().image(text, url, title)
            return self.link(text or html.escape(url), url, title)

    return CardRenderer


def _h_table(head: list[str], rows: list[list[Any]], cls: str = "") -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _h_datasets(items: list[dict[str, Any]]) -> str:
    parts = []
    for d in items:
        rows = f", {d['rows']} rows" if d.get("rows") is not None else ""
        parts.append(
            f"<p><b>{html.escape(d['name'])}</b>: <code>{html.escape(d['path'])}</code>, sha256 "
            f"<code>{html.escape(d['sha256'][:16])}</code>, {_size(d['size'])}{html.escape(rows)}</p>"
        )
        if _profile_rows(d):
            parts.append(_h_table(_PROFILE_HEAD, _profile_rows(d)))
    return "".join(parts)


def _system_rows(card: dict[str, Any]) -> list[list[str]]:
    # The machine's readings (CPU, memory, GPU), apart from the model's metrics.
    return [[k, _num(v)] for k, v in sorted(card["system_metrics"].items())]


def _curves_svg(card: dict[str, Any]) -> str:
    """The metric curves as inline SVG (rendered offline by vl-convert), or '' when
    there are no curves or the renderer is missing. The spec is the one the notebook's
    comparison draws (:func:`workbench.render.charts.metric_curves_spec`)."""
    if not card["curves"]:
        return ""
    try:
        import vl_convert
    except ImportError:
        return ""
    from ..render.charts import metric_curves_spec

    run = card["run"]
    label = run["run_name"] or run["run_id"][:8]
    series = [
        {"label": label, "key": key, "steps": [s for s, _ in pts], "values": [v for _, v in pts]}
        for key, pts in card["curves"].items()
    ]
    spec = metric_curves_spec(series, [label], width=620, height=150)
    return vl_convert.vegalite_to_svg(spec, vl_version="5.20")


def _author_html(author: dict[str, Any], key: str, todo: bool = True) -> str:
    """The author's text of a section as HTML, or the to-do note (when ``todo``)."""
    if author.get(key):
        return _md_to_html(author[key])
    return f'<p class="todo">{_TODO_H}</p>' if todo else ""


def _params_html(params: dict[str, str]) -> str:
    if not params:
        return ""
    own, estimators = _split_params(params)
    return _h_table(["parameter", "value"], list(own.items())) + "".join(
        f"<p><b>{html.escape(cls)}</b>: "
        + ", ".join(f"<code>{html.escape(f'{k}={v}')}</code>" for k, v in hp.items())
        + "</p>"
        for cls, hp in estimators.items()
    )


def _section_bodies_html(card: dict[str, Any]) -> dict[str, str]:
    author = card["sections"]
    h: dict[str, str] = {}
    facts = _h_table(["", ""], [[k, v] for k, v in _facts(card)], "facts").replace(
        "<thead><tr><th></th><th></th></tr></thead>", ""
    )
    params = _params_html(card["params"])
    lineage_svg = card["lineage"]["svg"]
    h["model_details"] = (
        _author_html(author, "model_details")
        + facts
        + (f"<h3>Parameters</h3>{params}" if params else "")
        + (f'<h3>Lineage</h3><div class="lineage">{lineage_svg}</div>' if lineage_svg else "")
    )
    for key in ("intended_use", "factors", "ethical_considerations"):
        h[key] = _author_html(author, key)
    metric_rows = [
        [k, _num(v), card["metric_direction"][k] + " is better"] for k, v in card["metrics"].items()
    ]
    h["metrics"] = _author_html(author, "metrics", todo=False) + _h_table(
        ["metric", "final value", ""], metric_rows
    )
    ev, tr = card["datasets"]["evaluation"], card["datasets"]["training"]
    h["evaluation_data"] = _author_html(author, "evaluation_data", todo=not ev) + _h_datasets(ev)
    h["training_data"] = _author_html(author, "training_data", todo=False) + (
        _h_datasets(tr) or "<p>No training dataset was recorded.</p>"
    )
    curves = _curves_svg(card)
    h["quantitative_analyses"] = (
        _author_html(author, "quantitative_analyses", todo=False)
        + _h_table(["metric", "value"], [[k, _num(v)] for k, v in card["metrics"].items()])
        + (f'<h3>Metric curves</h3><div class="chart">{curves}</div>' if curves else "")
        + (
            "<h3>System (last sample)</h3>" + _h_table(["metric", "value"], _system_rows(card))
            if card.get("system_metrics")
            else ""
        )
    )
    caveats = "\n".join(f"- {c}" for c in _caveats(card))
    h["caveats_and_recommendations"] = _md_to_html(
        "\n\n".join(p for p in (author.get("caveats_and_recommendations"), caveats) if p)
    ) + ("" if author.get("caveats_and_recommendations") else f'<p class="todo">{_TODO_H}</p>')
    return h


def to_html(card: dict[str, Any]) -> str:
    """One self-contained HTML file: inline CSS, charts and lineage as inline SVG, no
    scripts and no external URLs."""
    author = card["sections"]
    h = _section_bodies_html(card)
    badges = "".join(f'<span class="badge">{html.escape(t)}</span>' for t in front_matter(card)["tags"])
    body = [
        f"<h1>{html.escape(card['title'])}</h1>",
        f'<p class="meta">{badges} generated by Workbench from run <code>{html.escape(card["run"]["run_id"])}</code> on '
        f"{html.escape(card['generated_at'])}</p>",
    ]
    if author.get("overview"):
        body.append(_md_to_html(author["overview"]))
    for key, heading in SECTIONS:
        body.append(f'<section id="{key}"><h2>{html.escape(heading)}</h2>{h[key]}</section>')
    todo = "".join(f"<li>{html.escape(t)}</li>" for t in card["todo"])
    body.append(
        '<section id="todo"><h2>To do</h2>'
        + (
            f"<p>Sections still to write:</p><ul>{todo}</ul>"
            if todo
            else "<p>Nothing: every section has the author's text.</p>"
        )
        + "</section>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(card['title'])}</title><style>{_CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )


_TODO_H = "To be written by the author (a %%card cell or sections=)."


# -- JSON (Model Card Toolkit) ----------------------------------------------------------------
#: The Model Card Toolkit schema version :func:`to_mct` follows.
MCT_SCHEMA_VERSION = "0.0.2"


def _metric_value(v: Any) -> str:
    """A metric value as the schema's string, at full precision (``repr`` of a float is
    the shortest text that reads back as the same number)."""
    return repr(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


# RFC 3986: a scheme, then only unreserved, reserved and percent-encoded characters.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")


def dataset_link(path: str) -> str | None:
    """A dataset's location as a URI, or None when it has none.

    An absolute file path becomes a ``file://`` URI, a path that is already a URI
    (``s3://bucket/key``) is kept with any other character percent-encoded, and an
    in-memory DataFrame (recorded as ``<DataFrame name>``) or a relative path has no
    link: the card's description still names it and its content hash.
    """
    if not path or path.startswith("<"):
        return None
    if os.path.isabs(path):
        return Path(path).as_uri()
    scheme = urlsplit(path).scheme
    if len(scheme) < 2:  # none, or a Windows drive letter
        return None
    link = quote(path, safe=":/?#[]@!$&'()*+,;=%~")
    return link if _URI.fullmatch(link) else None


def _owner(o: Any) -> dict[str, str]:
    if isinstance(o, dict):
        return {k: str(o[k]) for k in ("name", "contact") if o.get(k) is not None}
    return {"name": str(o)}


def _dataset_description(role: str, d: dict[str, Any]) -> str:
    rows = f"; {d['rows']} rows" if d.get("rows") is not None else ""
    where = "an in-memory DataFrame" if str(d["path"]).startswith("<") else str(d["path"])
    return f"{role} data: {where}; sha256 {d['sha256']}{rows}"


def to_mct(card: dict[str, Any]) -> dict[str, Any]:
    """The card as a Model Card Toolkit document that validates against the toolkit's
    schema v0.0.2 (formats included) and loads with its ``ModelCard.from_json``.

    The schema allows no field of its own at the top level; the Workbench record is
    :func:`to_record`.
    """
    author = card["sections"]
    version = card["version"]

    def descriptions(key: str) -> list[dict[str, str]]:
        text = author.get(key)
        return [{"description": text}] if text else []

    data = []
    for role, items in card["datasets"].items():
        for d in items:
            link = dataset_link(d["path"])
            data.append(
                {
                    "name": d["name"],
                    **({"link": link} if link else {}),
                    "description": _dataset_description(role, d),
                    "sensitive": {"sensitive_data": []},
                    "graphics": {"collection": []},
                }
            )
    return {
        "schema_version": MCT_SCHEMA_VERSION,
        "model_details": {
            "name": card["name"],
            "overview": author.get("overview") or author.get("model_details") or "",
            "documentation": author.get("model_details") or "",
            "owners": [_owner(o) for o in author.get("owners", [])],
            "version": {
                "name": str(version["version"]) if version else card["run"]["run_id"][:8],
                **({"date": card["date"]} if card.get("date") else {}),
            },
            "licenses": [{"identifier": author["license"]}] if author.get("license") else [],
            "references": [],
            "citations": [],
            "path": card["model"]["artifact"] or "",
        },
        "model_parameters": {
            "model_architecture": card["model"]["class"] or "",
            "data": data,
            "input_format": "",
            "output_format": "",
        },
        "quantitative_analysis": {
            "performance_metrics": [
                {"type": k, "value": _metric_value(v)} for k, v in card["metrics"].items()
            ],
            "graphics": {"description": "", "collection": []},
        },
        "considerations": {
            "users": descriptions("intended_use"),
            "use_cases": descriptions("intended_use"),
            "limitations": descriptions("caveats_and_recommendations")
            + [{"description": c} for c in _caveats(card)],
            "tradeoffs": descriptions("factors"),
            "ethical_considerations": (
                [{"name": author["ethical_considerations"], "mitigation_strategy": ""}]
                if author.get("ethical_considerations")
                else []
            ),
        },
    }


def to_json(card: dict[str, Any]) -> str:
    """:func:`to_mct` as indented JSON."""
    return json.dumps(to_mct(card), indent=2, default=str)


def to_record(card: dict[str, Any]) -> dict[str, Any]:
    """Everything the card was built from (the run, parameters, metrics at full
    precision, curves, datasets, environment, lineage, registry version, the author's
    sections and the to-do list), without the rendered lineage SVG."""
    record = {k: v for k, v in card.items() if k != "lineage"}
    record["lineage"] = {k: v for k, v in card["lineage"].items() if k != "svg"}
    return {"record_version": 1, **record}


def to_record_json(card: dict[str, Any]) -> str:
    """:func:`to_record` as indented JSON."""
    return json.dumps(to_record(card), indent=2, default=str)
