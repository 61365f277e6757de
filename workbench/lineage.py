"""The lineage graph of a run: what it read, what it wrote, and the runs on either side.

Artifacts are matched by content hash, so a run that wrote ``data.csv`` and a later run
that read the same bytes (under any name) are linked without anyone declaring it.
Reruns and sweeps link to the run they came from. The graph is drawn server-side as an
SVG (notebook, panel and HTML model card all show the same picture) and is also
available as text, JSON and Graphviz DOT.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidInputError
from .store.store import Store

FORMATS = ("text", "json", "dot")
MAX_DEPTH = 10

_STYLE = {  # node type -> (fill, stroke)
    "run": ("#e8f0fe", "#1a73e8"),
    "dataset": ("#e6f4ea", "#188038"),
    "model": ("#f3e8fd", "#8430ce"),
    "artifact": ("#f1f3f4", "#5f6368"),
}


@dataclass
class Lineage:
    """Nodes (runs and artifacts, keyed ``run:<id>`` / ``artifact:<sha256>``), edges in
    the direction data flows, and the runs upstream and downstream of ``run_id``."""

    run_id: str
    depth: int
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[dict[str, str]] = field(default_factory=list)
    layers: dict[str, int] = field(default_factory=dict)

    @property
    def upstream_runs(self) -> list[str]:
        """Run ids upstream of the focus run (nearest first)."""
        return self._runs(lambda layer: layer < 0, reverse=True)

    @property
    def downstream_runs(self) -> list[str]:
        """Run ids downstream of the focus run (nearest first)."""
        return self._runs(lambda layer: layer > 0, reverse=False)

    def _runs(self, keep: Any, reverse: bool) -> list[str]:
        found = [(layer, nid) for nid, layer in self.layers.items() if keep(layer) and nid.startswith("run:")]
        found.sort(key=lambda t: -t[0] if reverse else t[0])
        return [nid[4:] for _, nid in found]

    # -- building -----------------------------------------------------------------------
    def _add_node(self, node_id: str, layer: int, **attrs: Any) -> None:
        if node_id not in self.nodes:
            self.nodes[node_id] = {"id": node_id, **attrs, "focus": node_id == f"run:{self.run_id}"}
            self.layers[node_id] = layer

    def _add_edge(self, source: str, target: str, relation: str) -> None:
        edge = {"source": source, "target": target, "relation": relation}
        if edge not in self.edges:
            self.edges.append(edge)

    # -- output -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``run_id``, ``nodes`` (list), ``edges``, ``upstream_runs``,
        ``downstream_runs``."""
        return {
            "run_id": self.run_id,
            "depth": self.depth,
            "nodes": [{**n, "layer": self.layers[n["id"]]} for n in self.nodes.values()],
            "edges": self.edges,
            "upstream_runs": self.upstream_runs,
            "downstream_runs": self.downstream_runs,
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_dot(self) -> str:
        """Graphviz DOT source (``dot -Tsvg`` draws it)."""
        lines = [
            "digraph lineage {",
            "  rankdir=LR;",
            '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
        ]
        for n in self.nodes.values():
            fill, stroke = _STYLE[n["type"]]
            label = "\\n".join(_dot_escape(t) for t in _node_lines(n))
            width = ", penwidth=3" if n["focus"] else ""
            lines.append(f'  "{n["id"]}" [label="{label}", fillcolor="{fill}", color="{stroke}"{width}];')
        for e in self.edges:
            lines.append(f'  "{e["source"]}" -> "{e["target"]}" [label="{e["relation"]}"];')
        lines.append("}")
        return "\n".join(lines)

    def to_text(self) -> str:
        """An indented tree: upstream (what the run read, who wrote it) and downstream
        (what it wrote, who read it, reruns)."""
        focus = f"run:{self.run_id}"
        lines = [_describe(self.nodes[focus])]
        incoming: dict[str, list[dict[str, str]]] = {}
        outgoing: dict[str, list[dict[str, str]]] = {}
        for e in self.edges:
            incoming.setdefault(e["target"], []).append(e)
            outgoing.setdefault(e["source"], []).append(e)
        verbs_up = {"read": "read", "wrote": "written by", "rerun_of": "rerun of", "child_of": "inside"}
        verbs_down = {"read": "read by", "wrote": "wrote", "rerun_of": "rerun", "child_of": "child"}

        def walk(
            nid: str,
            edges: dict[str, list[dict[str, str]]],
            key: str,
            verbs: dict[str, str],
            indent: int,
            seen: set[str],
        ) -> None:
            for e in edges.get(nid, []):
                other = e[key]
                lines.append(f"{'  ' * indent}{verbs[e['relation']]} {_describe(self.nodes[other])}")
                if other not in seen:
                    seen.add(other)
                    walk(other, edges, key, verbs, indent + 1, seen)

        lines.append("upstream:" if incoming.get(focus) else "upstream: nothing recorded")
        walk(focus, incoming, "source", verbs_up, 1, {focus})
        lines.append("downstream:" if outgoing.get(focus) else "downstream: nothing recorded")
        walk(focus, outgoing, "target", verbs_down, 1, {focus})
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_text()

    def to_svg(self) -> str:
        """The graph drawn as a standalone SVG: upstream on the left, downstream on the
        right. Nodes are ``<g class="wb-lineage-node" data-node-id=... data-run-id=...>``."""
        return draw_svg(self)

    def _repr_html_(self) -> str:
        return f'<div class="wb-lineage" style="overflow-x:auto">{self.to_svg()}</div>'


def _short(text: str, n: int = 22) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _node_lines(n: dict[str, Any]) -> list[str]:
    if n["type"] == "run":
        return [_short(n["label"]), f"run {n['run_id'][:8]} · {n['status']}"]
    second = f"{n['type']} · {n['sha256'][:8]}"
    lines = [_short(n["label"]), second]
    if n.get("registered"):
        lines.append(_short(", ".join(n["registered"]), 30))
    return lines


def _describe(n: dict[str, Any]) -> str:
    if n["type"] == "run":
        return f"run {n['run_id'][:8]} {n['label']} ({n['status']}, {n['experiment']})"
    extra = f" [{', '.join(n['registered'])}]" if n.get("registered") else ""
    return f"{n['type']} {n['label']} (sha256 {n['sha256'][:8]}, {n['path']}){extra}"


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


# -- building the graph ------------------------------------------------------------------
def lineage(run_id: str, depth: int = 3, *, store: str | os.PathLike[str] | Store | None = None) -> Lineage:
    """The lineage graph around a run, ``depth`` run-to-run hops in each direction.

    Upstream: the datasets and files it read, the runs that wrote that content, the run
    it was rerun from, and so on. Downstream: what it wrote, the runs that read it,
    its reruns. In a notebook the result draws itself as a graph.

    Parameters
    ----------
    run_id
        Run id or unique prefix.
    depth
        1 to 10 hops.
    """
    from .api import open_store as _store
    from .tracking import flush

    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise InvalidInputError(f"lineage depth must be a whole number from 1 to {MAX_DEPTH}, got {depth!r}")
    st = _store(store)
    flush(st)
    # One session and one query for the whole walk (issue 16: a query per step cost
    # ~240 ms at 100k runs); the steps are then answered from what it read.
    scope = st.lineage_scope(run_id, depth)
    full = scope.run_id
    graph = Lineage(full, depth)
    registered: dict[str, list[str]] = {}
    for v in scope.versions:
        label = f"{v['name']} v{v['version']}" + "".join(f" @{a}" for a in v["aliases"])
        registered.setdefault(v["sha256"], []).append(label)

    step = scope.step
    first = step([full], [])
    if full not in first["runs"]:
        raise InvalidInputError(f"run {full[:8]} is deleted; restore it to see its lineage")
    _add_run(graph, first["runs"][full], 0)
    for sign in (-1, 1):
        frontier = [full]
        for _ in range(depth):
            if not frontier:
                break
            frontier = _expand(graph, step, frontier, sign, registered)
    return graph


def _add_run(graph: Lineage, run: dict[str, Any], layer: int) -> None:
    graph._add_node(
        f"run:{run['run_id']}",
        layer,
        type="run",
        label=run["run_name"],
        run_id=run["run_id"],
        status=run["status"],
        experiment=run["experiment"],
    )


def _artifact_node(
    graph: Lineage, rows: list[dict[str, Any]], layer: int, registered: dict[str, list[str]]
) -> str:
    a = rows[0]
    kinds = {r["kind"] for r in rows}
    ntype = "model" if "model" in kinds else "dataset" if "dataset" in kinds else "artifact"
    nid = f"artifact:{a['sha256']}"
    graph._add_node(
        nid,
        layer,
        type=ntype,
        label=a.get("name") or os.path.basename(a["path"]),
        name=a.get("name"),
        sha256=a["sha256"],
        path=a["path"],
        size=a["size"],
        registered=registered.get(a["sha256"], []),
    )
    return nid


def _expand(
    graph: Lineage, step: Any, frontier: list[str], sign: int, registered: dict[str, list[str]]
) -> list[str]:
    """One hop from ``frontier`` runs: upstream (sign -1) or downstream (+1), ``step``
    a :meth:`Store.lineage_step` (or ``LineageScope.step``, answering from memory).
    Returns the runs reached."""
    own_dir = "input" if sign < 0 else "output"
    near = step(frontier, [])
    runs = near["runs"]
    mine = [a for a in near["artifacts"] if a["run_id"] in frontier and a["direction"] == own_dir]
    other = step([], sorted({a["sha256"] for a in mine})) if mine else {"artifacts": [], "runs": {}}
    runs.update(other["runs"])
    by_sha: dict[str, list[dict[str, Any]]] = {}
    for a in other["artifacts"]:
        by_sha.setdefault(a["sha256"], []).append(a)
    reached: list[str] = []
    for a in mine:
        run_node = f"run:{a['run_id']}"
        layer = graph.layers[run_node] + sign
        # The frontier run's own row first: its name for the content is the one to show.
        nid = _artifact_node(graph, [a, *by_sha.get(a["sha256"], [])], layer, registered)
        if sign < 0:
            graph._add_edge(nid, run_node, "read")
            # Producers: runs that wrote this content before this run read it.
            linked = [
                b
                for b in by_sha.get(a["sha256"], [])
                if b["direction"] == "output"
                and b["run_id"] != a["run_id"]
                and b["created_at"] <= a["created_at"]
            ]
        else:
            graph._add_edge(run_node, nid, "wrote")
            linked = [
                b
                for b in by_sha.get(a["sha256"], [])
                if b["direction"] == "input"
                and b["run_id"] != a["run_id"]
                and b["created_at"] >= a["created_at"]
            ]
        for b in linked:
            if b["run_id"] not in runs:
                continue
            other_node = f"run:{b['run_id']}"
            if other_node not in graph.nodes:
                reached.append(b["run_id"])
            _add_run(graph, runs[b["run_id"]], layer + sign)
            graph._add_edge(other_node, nid, "wrote") if sign < 0 else graph._add_edge(
                nid, other_node, "read"
            )
    # Reruns, sweeps and nested runs.
    for rid in frontier:
        run = runs.get(rid)
        if run is None:
            continue
        if sign < 0:
            parent = runs.get(run["parent_run_id"]) if run["parent_run_id"] else None
            pairs = [(parent, run)] if parent else []
        else:
            pairs = [(run, r) for r in runs.values() if r["parent_run_id"] == rid]
        for parent, child in pairs:
            far = parent if sign < 0 else child
            far_node = f"run:{far['run_id']}"
            if far_node not in graph.nodes:
                reached.append(far["run_id"])
            _add_run(graph, far, graph.layers[f"run:{rid}"] + sign)
            relation = "rerun_of" if child["source"] in ("rerun", "sweep", "tune") else "child_of"
            graph._add_edge(f"run:{parent['run_id']}", f"run:{child['run_id']}", relation)
    return reached


# -- drawing -----------------------------------------------------------------------------
_W, _H, _GAP_X, _GAP_Y, _PAD = 190, 46, 70, 16, 16


def draw_svg(graph: Lineage) -> str:
    """Lay the graph out in columns by hop distance and draw it as SVG."""
    columns: dict[int, list[str]] = {}
    for nid, layer in graph.layers.items():
        columns.setdefault(layer, []).append(nid)
    if not columns:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"></svg>'
    lo, hi = min(columns), max(columns)
    tallest = max(len(v) for v in columns.values())
    height = (
        _PAD * 2
        + tallest * (_H + 18)
        - 18
        + (14 if any(n.get("registered") for n in graph.nodes.values()) else 0)
    )
    width = _PAD * 2 + (hi - lo + 1) * (_W + _GAP_X) - _GAP_X
    pos: dict[str, tuple[float, float]] = {}
    for layer, ids in columns.items():
        x = _PAD + (layer - lo) * (_W + _GAP_X)
        top = _PAD + (tallest - len(ids)) * (_H + 18) / 2
        for i, nid in enumerate(ids):
            pos[nid] = (x, top + i * (_H + 18))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wb-lineage-svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, sans-serif" '
        'role="img" aria-label="lineage graph">',
        '<defs><marker id="wb-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#80868b"/></marker></defs>',
    ]
    for e in graph.edges:
        (x1, y1), (x2, y2) = pos[e["source"]], pos[e["target"]]
        if x1 <= x2:
            sx, tx = x1 + _W, x2
        else:
            sx, tx = x1, x2 + _W
        sy, ty = y1 + _H / 2, y2 + _H / 2
        mx = (sx + tx) / 2
        dash = ' stroke-dasharray="5 4"' if e["relation"] in ("rerun_of", "child_of") else ""
        out.append(
            f'<path class="wb-lineage-edge" data-relation="{e["relation"]}" d="M{sx:.0f},{sy:.0f} C{mx:.0f},{sy:.0f} '
            f'{mx:.0f},{ty:.0f} {tx - 2:.0f},{ty:.0f}" fill="none" stroke="#80868b" stroke-width="1.4"{dash} '
            f'marker-end="url(#wb-arrow)"><title>{html.escape(e["relation"])}</title></path>'
        )
    for nid, n in graph.nodes.items():
        x, y = pos[nid]
        fill, stroke = _STYLE[n["type"]]
        run_attr = (
            f' data-run-id="{html.escape(n["run_id"])}" style="cursor:pointer"' if n["type"] == "run" else ""
        )
        lines = _node_lines(n)
        tip = _describe(n)
        out.append(
            f'<g class="wb-lineage-node" data-node-id="{html.escape(nid)}" data-type="{n["type"]}"{run_attr}>'
            f"<title>{html.escape(tip)}</title>"
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{_W}" height="{_H}" rx="{12 if n["type"] == "run" else 4}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{3 if n["focus"] else 1.2}"/>'
            f'<text x="{x + 10:.0f}" y="{y + 19:.0f}" font-size="13" font-weight="600" fill="#202124">'
            f"{html.escape(lines[0])}</text>"
            f'<text x="{x + 10:.0f}" y="{y + 36:.0f}" font-size="11" fill="#5f6368">{html.escape(lines[1])}</text>'
        )
        if len(lines) > 2:
            out.append(
                f'<text x="{x + 10:.0f}" y="{y + _H + 13:.0f}" font-size="11" fill="{stroke}">'
                f"{html.escape(lines[2])}</text>"
            )
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)
