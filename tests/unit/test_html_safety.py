"""Every text/html output escapes user text (Reliability item 7: stored XSS).

A saved notebook shows its text/html outputs without a kernel, so a run named
``</script><img src=x onerror=alert(1)>`` must never become markup: not in the static
fallbacks of the runs table and the compare view, not in the charts' ``<script>`` JSON,
not in the lineage SVG, not in the HTML model card. The runs here are real runs in a
real store, with hostile names, parameters, tags, metric keys and dataset names.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

import workbench as wb
from workbench.render.html import ScriptJSONEncoder, script_json, text
from workbench.widgets.charts import chart_html
from workbench.widgets.compare_view import compare
from workbench.widgets.live import LiveChart
from workbench.widgets.runs_table import runs_widget, static_html

SCRIPT_BREAK = "</script><img src=x onerror=alert(1)>"
ATTR_BREAK = '"><svg onload=alert(1)>'
MIXED_CASE = "</ScRiPt><script>alert(1)</script>"
HOSTILE = (SCRIPT_BREAK, ATTR_BREAK, MIXED_CASE)
# What any of them would look like had it become markup.
INJECTED = ("<img src=x", "<svg onload", "<script>alert")


class _Tags(HTMLParser):
    """The start tags and the script contents of a document, as a browser splits them
    (a script element ends at the first ``</script``, whatever follows)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def assert_safe_html(doc: str) -> _Tags:
    """No user text became markup in ``doc``."""
    lower = doc.lower()
    # Each script block closes once, with its own tag: no value ended one early.
    assert len(re.findall(r"<script\b", lower)) == len(re.findall(r"</script", lower))
    for marker in INJECTED:
        assert marker not in lower, f"{marker!r} reached the HTML unescaped"
    parser = _Tags()
    parser.feed(doc)
    parser.close()
    for tag, attrs in parser.tags:
        handlers = [a for a in attrs if a.startswith("on")]
        assert not handlers, f"<{tag}> has event handler attributes {handlers}"
        assert tag not in ("img", "iframe", "object", "embed"), f"a <{tag}> element in the output"
    for body in parser.scripts:
        assert "<!--" not in body and "<script" not in body.lower() and "</script" not in body.lower()
    return parser


@pytest.fixture
def hostile_runs(tmp_path):
    """Two finished runs whose every user-written field is hostile, the second reading
    a file the first wrote (so the lineage has edges)."""
    shared = tmp_path / "features.csv"
    with wb.start_run(
        name=SCRIPT_BREAK,
        params={ATTR_BREAK: SCRIPT_BREAK, "alpha": 0.1, "model": MIXED_CASE},
        tags={MIXED_CASE: ATTR_BREAK},
        watch_files=False,
    ) as first:
        wb.use_dataset(pd.DataFrame({ATTR_BREAK: [1.0, 2.0, 3.0]}), name=SCRIPT_BREAK)
        pd.DataFrame({"x": [1.0, 2.0]}).to_csv(shared, index=False)
        wb.log_artifact(shared, name=ATTR_BREAK)
        for step in range(5):
            wb.log_metric(SCRIPT_BREAK, 1.0 / (step + 1), step=step)
            wb.log_metric("loss", 2.0 / (step + 1), step=step)
        wb.log_metrics({ATTR_BREAK: 0.5, "rmse": 1.5})
    with wb.start_run(
        name=ATTR_BREAK,
        params={ATTR_BREAK: "plain", "alpha": 0.2, "model": SCRIPT_BREAK},
        tags={"note": SCRIPT_BREAK},
        watch_files=False,
    ) as second:
        wb.use_dataset(shared, name=MIXED_CASE)
        for step in range(5):
            wb.log_metric(SCRIPT_BREAK, 0.5 / (step + 1), step=step)
            wb.log_metric("loss", 1.0 / (step + 1), step=step)
        wb.log_metrics({ATTR_BREAK: 0.25, "rmse": 1.25})
    wb.flush()
    return first.run_id, second.run_id


def test_reliability_7_script_json_cannot_close_a_script_and_reads_back_unchanged():
    value = {"name": SCRIPT_BREAK, "k": MIXED_CASE + "<!-- & \u2028\u2029 >"}
    out = script_json(value)
    assert not re.search(r"[<>&\u2028\u2029]", out)
    assert json.loads(out) == value
    assert json.dumps(value, cls=ScriptJSONEncoder) == out
    assert json.loads(json.dumps(value, cls=ScriptJSONEncoder, indent=1)) == value
    assert text(ATTR_BREAK) == "&quot;&gt;&lt;svg onload=alert(1)&gt;"


def test_reliability_7_runs_table_static_html_escapes_every_field(hostile_runs):
    widget = runs_widget()
    try:
        page = widget._repr_mimebundle_()["text/html"]
    finally:
        widget.close()
    assert_safe_html(page)
    assert text(SCRIPT_BREAK) in page and text(ATTR_BREAK) in page  # shown, as text
    assert_safe_html(static_html(wb.runs()))


def test_reliability_7_compare_static_html_escapes_names_and_chart_json(hostile_runs):
    view = compare(list(hostile_runs))
    try:
        page = view._repr_mimebundle_()["text/html"]
    finally:
        view.close()
    parsed = assert_safe_html(page)
    # Two vega-embed charts (curves, parallel coordinates), each one script block that
    # still holds the hostile names, escaped.
    assert len(parsed.scripts) == 2
    assert all("\\u003c/script\\u003e" in s for s in parsed.scripts)
    assert text(SCRIPT_BREAK) in page  # the tables show the names as text


def test_reliability_7_chart_html_keeps_hostile_labels_inside_its_script():
    from workbench.render.charts import metric_curves_spec

    spec = metric_curves_spec(
        [{"label": SCRIPT_BREAK, "key": MIXED_CASE, "steps": [0, 1], "values": [1.0, 2.0]}], [SCRIPT_BREAK]
    )
    parsed = assert_safe_html(chart_html(spec))
    assert len(parsed.scripts) == 1


def test_reliability_7_live_chart_outputs_carry_names_as_data(hostile_runs):
    bundles: list[dict] = []

    class Handle:
        def update(self, bundle, raw=False):
            bundles.append(bundle)

    live = LiveChart(SCRIPT_BREAK, handle=Handle())
    live.feed([SCRIPT_BREAK, SCRIPT_BREAK, ATTR_BREAK], [0, 1, 0], [1.0, 0.5, 2.0])
    live.close()
    assert bundles
    for bundle in bundles:
        for mime, data in bundle.items():
            if "html" in mime:
                assert_safe_html(data)
        assert bundle["application/vnd.vegalite.v5+json"]["title"].startswith(SCRIPT_BREAK)


def test_reliability_7_lineage_svg_and_html_escape_names(hostile_runs):
    graph = wb.lineage(hostile_runs[1])
    assert len(graph.nodes) > 2
    for doc in (graph._repr_html_(), graph.to_svg()):
        assert_safe_html(doc)
        assert text(ATTR_BREAK) in doc or "&quot;&gt;&lt;svg" in doc


def test_reliability_7_html_model_card_escapes_record_and_author_text(hostile_runs):
    page = wb.model_card(
        hostile_runs[0],
        "html",
        sections={
            "overview": f"{SCRIPT_BREAK}\n\n{ATTR_BREAK}",
            "intended_use": MIXED_CASE,
            "tags": [SCRIPT_BREAK, ATTR_BREAK],
            "license": ATTR_BREAK,
            "caveats": f'<a href="javascript:alert(1)">x</a> [y](javascript:alert(1)) {MIXED_CASE}',
        },
    )
    parsed = assert_safe_html(page)
    assert not parsed.scripts
    urls = [v or "" for _tag, attrs in parsed.tags for k, v in attrs.items() if k in ("href", "src")]
    assert not [u for u in urls if u.strip().lower().startswith("javascript:")]
    assert text(SCRIPT_BREAK) in page
