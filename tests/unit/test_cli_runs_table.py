"""``workbench runs`` prints its table from plain rows, without pandas (issue 16: ``runs -n
20`` at 100k runs, process start included, under 0.4 s; importing pandas alone took 0.3 s).

The text must be what the DataFrame path printed, character for character:
``runs_table(search_runs(...))``. Checked here on one store with the values that
formatting gets wrong (holes in every column, tabs and line breaks, wide characters,
metrics of every magnitude, NaN and infinities, running runs, reruns, sweeps and tunes,
autologged parameters, a deleted run), for every filter and order option of the command.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys

import pytest
from click.testing import CliRunner

import workbench as wb
from workbench.api import runs_rows
from workbench.cli import cli
from workbench.formatting import runs_rows_table, runs_table
from workbench.store.records import Batch
from workbench.store.store import Store

PARAM_VALUES = [
    "0.1",
    "1",
    "ridge",
    "",
    "tab\there",
    "two\nlines",
    "crlf\r\n",
    "ünï",
    "日本語",
    " lead",
    "x" * 40,
]
METRIC_VALUES = [
    0.25,
    58.8712,
    62.0,
    -3.5,
    1e8,
    1.5e-5,
    0.0,
    float("nan"),
    float("inf"),
    -float("inf"),
    12345.6789,
]


def _build(directory) -> Store:
    store = Store(directory)
    store.check_schema()
    rng = random.Random(16)
    b = Batch(experiments={"e1": 1, "e2": 2})
    ids: list[str] = []
    for i in range(60):
        rid = f"{rng.getrandbits(128):032x}"
        parent = ids[rng.randrange(len(ids))] if ids and i % 4 == 0 else None
        source = ["python", "magic", "rerun", "sweep", "tune", "api"][i % 6]
        b.runs.append(
            {
                "run_id": rid,
                "experiment": "e1" if i % 3 else "e2",
                "run_name": ["r", "a\tb", "lign\ne", "ünï", "名前", ""][i % 6] + str(i),
                "status": "finished" if i % 7 else "failed",
                "start_time": 1_700_000_000_000 + i * 1_234,
                # no end; an end before the start; sub-second ends on .x5 boundaries
                "end_time": None
                if i % 11 == 0
                else 1_700_000_000_000 + i * 1_234 + [50, 150, 250, -40, 0][i % 5],
                "source": source,
                "parent_run_id": parent,
            }
        )
        ids.append(rid)
        for k in ("alpha", "model", "Ridge.alpha", "lr", "it's", "a.b c"):
            if rng.random() < 0.6:
                b.params.append((rid, k, rng.choice(PARAM_VALUES)))
        keys = [k for k in ("rmse", "r2", "loss", "big", "tiny") if rng.random() < 0.7]
        vals = [
            {"big": 1e8 * rng.random(), "tiny": 1e-4 * rng.random()}.get(k, rng.choice(METRIC_VALUES))
            for k in keys
        ]
        b.metrics.append((rid, keys, [0] * len(keys), vals, [1.0] * len(keys)))
        if source == "sweep" and i % 12:
            b.tags.append((rid, "sweep_id", f"{rng.getrandbits(64):016x}"))
        if source == "tune":
            b.tags.append((rid, "tune_id", "" if i % 8 == 4 else f"{rng.getrandbits(64):016x}"))
        if i % 5 == 0:
            b.tags.append((rid, "team", "a"))
    store.write(b)
    store.set_deleted(ids[5], True)
    return store


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("runs-table") / "store")


def _old(
    store: Store, filter=None, order_by=None, experiment=None, deleted=False, limit=None, wide=False
) -> str:
    """What `workbench runs` printed before: the DataFrame of api.runs, through runs_table."""
    df = store.search_runs(filter, order_by, experiment, deleted, limit)
    if df.empty:
        return "no runs" + (" match" if filter or experiment else " yet") + "\n"
    return runs_table(df, wide) + "\n"


def _cli(store: Store, *args: str) -> str:
    res = CliRunner().invoke(
        cli, ["--store", str(store.directory), "runs", *args], obj={}, catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    return res.output


CASES = [
    ([], {}),
    (["-n", "20"], {"limit": 20}),
    (["-n", "0"], {"limit": 0}),
    (["--wide"], {"wide": True}),
    (["--deleted", "--wide"], {"deleted": True, "wide": True}),
    (["-e", "e2"], {"experiment": "e2"}),
    (["-e", "nope"], {"experiment": "nope"}),
    (["-f", "metrics.rmse < 50"], {"filter": "metrics.rmse < 50"}),
    (["metrics.rmse", "<", "50"], {"filter": "metrics.rmse < 50"}),  # FILTER words
    (["-f", "params.model = 'nothing'"], {"filter": "params.model = 'nothing'"}),
    (
        [
            "-f",
            "params.alpha = '1' or tags.team = 'a'",
            "-o",
            "metrics.loss DESC",
            "-o",
            "attributes.run_name",
        ],
        {
            "filter": "params.alpha = '1' or tags.team = 'a'",
            "order_by": ["metrics.loss DESC", "attributes.run_name"],
        },
    ),
    (
        ["-o", "metrics.big ASC", "-n", "7", "-e", "e1"],
        {"order_by": ["metrics.big ASC"], "limit": 7, "experiment": "e1"},
    ),
    (["-o", "params.`it's` DESC", "--format", "table"], {"order_by": ["params.`it's` DESC"]}),
]


@pytest.mark.parametrize("args, kwargs", CASES, ids=lambda c: " ".join(c) if isinstance(c, list) else None)
def test_runs_table_is_what_the_dataframe_path_printed(odd, args, kwargs):
    assert _cli(odd, *args) == _old(odd, **kwargs)


def test_the_odd_values_are_in_the_compared_table(odd):
    # The comparison above is only worth what the table holds.
    out = _cli(odd, "--deleted", "--wide")
    for text in ("a\\tb", "lign\\ne", "tab\\there", "two\\nlines", "crlf\\r\\n", "名前", "日本語"):
        assert text in out
    for text in ("rerun of ", "sweep ", "tune ", "child of ", "inf", "-inf", "Ridge.alpha", "it's", "a.b c"):
        assert text in out
    lines = out.splitlines()
    # Every line as long as the others, wide characters counted as one (as pandas counts).
    assert len(lines) == 61 and len({len(line) for line in lines}) == 1


def test_runs_rows_are_the_search_frame(odd):
    for kwargs in ({}, {"filter": "metrics.rmse < 50", "order_by": ["metrics.loss DESC"], "limit": 9}):
        names, rows = runs_rows(**kwargs, include_deleted=True, store=odd)
        df = odd.search_runs(kwargs.get("filter"), kwargs.get("order_by"), None, True, kwargs.get("limit"))
        assert names == list(df.columns) and len(rows) == len(df)
        for row, (_, want) in zip(rows, df.iterrows()):
            for name, got in zip(names, row):
                w = want[name]
                if name in ("start_time", "end_time"):
                    w = None if w != w else int(w.timestamp() * 1000)
                if isinstance(w, float) and math.isnan(w):
                    assert got is None or got != got, name
                else:
                    assert got == w, name


def test_rows_table_of_no_extra_columns_and_of_one_run():
    names = [
        "run_id",
        "run_name",
        "experiment",
        "status",
        "start_time",
        "end_time",
        "source",
        "parent_run_id",
    ]
    row = ("0123456789abcdef", "n", "e", "running", 0, None, "magic", None)
    assert runs_rows_table(names, [row]).splitlines() == [
        "      id run_name experiment  status origin               start duration",
        "01234567        n          e running  magic 1970-01-01 00:00:00         ",
    ]


def test_runs_through_the_api_with_a_live_run():
    """Runs logged by the Python API, one still running in this process."""
    with wb.start_run(
        name="done", experiment="api", params={"alpha": 0.5, "model": "ridge"}, tags={"t": "x"}
    ):
        wb.log_metric("rmse", 51.25)
        wb.log_metric("rmse", 50.5, step=1)
    live = wb.start_run(name="live", experiment="api", params={"alpha": 1})
    try:
        wb.log_metric("loss", 0.125)
        wb.flush()
        store = wb.api.open_store()
        cases = [
            ([], {}),
            (["-n", "1"], {"limit": 1}),
            (["-e", "api", "-o", "metrics.rmse"], {"experiment": "api", "order_by": ["metrics.rmse"]}),
        ]
        for args, kwargs in cases:
            assert _cli(store, *args) == _old(store, **kwargs)
        assert "running" in _cli(store) and "50.50" in _cli(store)
    finally:
        live.end()


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", *args], capture_output=True, text=True, timeout=60
    )


def test_table_path_does_not_import_pandas():
    with wb.start_run(name="one", params={"a": 1}):
        wb.log_metric("m", 1.0)
    wb.flush()
    code = (
        "import sys\n"
        "from workbench.cli import main\n"
        "sys.argv = ['workbench', 'runs', '-n', '20']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('pandas', 'numpy', 'pyarrow') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert "one" in out.stdout
    assert out.stdout.splitlines()[-1] == "[]", out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["runs", "-n", "-1"], "Invalid value for '-n' / '--limit': -1 is not in the range x>=0."),
        (["runs", "-n", "x"], "Invalid value for '-n' / '--limit': 'x' is not a valid integer range."),
        (["runs", "a = 1", "-f", "b = 2"], "give the filter once: as FILTER or as -f/--filter, not both"),
        (["runs", "-f", "metrics.rmse <"], "invalid filter at position 14"),
        (["runs", "-o", "metrics.rmse UP"], "invalid filter"),
        (["runs", "-o", "params.alpha ASC DESC"], "invalid filter"),
        (["runs", "--format", "xml"], "'xml' is not one of 'table', 'csv', 'json'"),
    ],
)
def test_bad_input_is_one_clear_line(args, message):
    proc = _run_cli(*args)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("Error: ") and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
