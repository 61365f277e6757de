"""Search parity with MLflow itself, on the same runs (Reliability issue, item 10).

The same runs are recorded in a temporary MLflow sqlite store (through MLflow's own
client) and in a Workbench store; then a generated corpus of several hundred filters
covering every operator, entity type and spelling, attribute alias, quoting form and null
case runs through both ``search_runs``:

- every filter MLflow accepts must select exactly the same runs in Workbench;
- every filter MLflow rejects must be rejected by Workbench too, unless it is one of the
  extensions the search docstring documents (then Workbench must accept it);
- each documented deviation is shown, against MLflow, to be exactly what it claims.

MLflow is part of the ``test`` extra, so it is imported directly: a missing MLflow is an
error here, never a skip.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import time

import mlflow
import pandas as pd
import pytest
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

import workbench as wb
from workbench.api import open_store
from workbench.store import queries, search
from workbench.store.records import Batch
from workbench.store.search import build_query

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

T0 = 1_700_000_000_000  # metric timestamps, whole seconds so both stores keep them exactly

FRAMES = {
    "train": pd.DataFrame({"x": [1, 2, 3], "y": [0.5, 0.25, 0.125]}),
    "test": pd.DataFrame({"x": [4, 5], "y": [1.0, 2.0]}),
    "Train_v2": pd.DataFrame({"x": [7], "y": [9.0]}),
}

# name, status, user, params, tags, metric batches [[(key, step, seconds after T0, value)]],
# datasets [(frame, role)]
RUNS = [
    (
        "r1",
        "FINISHED",
        "alice",
        {"model": "ridge", "alpha": "0.1", "path": "C:\\data\\x.csv", "note": "it's"},
        {"team": "a", "data set": "diabetes v2"},
        [[("rmse", 0, 0, 60.0), ("rmse", 1, 1, 50.0), ("r2", 0, 0, 0.4)]],
        [("train", "training"), ("test", "evaluation")],
    ),
    (
        "r2",
        "FINISHED",
        "bob",
        {"model": "tree", "alpha": "0.5", "quote": "it''s", "path": "C:\\\\data\\\\y.csv"},
        {"team": "b", "data set": "diabetes v1"},
        [[("rmse", 0, 0, 55.0), ("r2", 0, 0, 0.3)]],
        [("Train_v2", "training")],
    ),
    (
        "r3",
        "FAILED",
        "alice",
        {"model": "Ridge", "alpha": "1.0", "note": ""},
        {"team": "a", "quote": 'say "hi"'},
        [[("rmse", 0, 0, 70.0)]],
        [],
    ),
    (
        "r4",
        "KILLED",
        "carol",
        {"model": "forest", "empty": "", "1x": "a"},
        {},
        [[("error-rate", 0, 0, 0.1)]],
        [],
    ),
    (
        "r5",
        "FINISHED",
        "bob",
        {"model": "ridge_cv", "alpha": "0.1", "opt": "adam"},
        {"team": "c", "Ünï": "Äpfel"},
        [[("rmse", 0, 0, 40.0), ("rmse", 5, 5, 45.0), ("r2", 0, 0, 0.5)]],
        [("train", "training")],
    ),
    (
        "R6",
        "FINISHED",
        "alice",
        {"model": "lasso", "alpha": "10", "path": "a%b_c"},
        {"team": "a", "data set": "diabetes v1"},
        # Latest is the highest step (52), and on a tie of step and time the largest value.
        [[("rmse", 3, 3, 52.0), ("rmse", 2, 2, 10.0), ("loss", 1, 0, 5.0), ("loss", 1, 0, 2.0)]],
        [("test", "evaluation")],
    ),
    (
        "r7",
        "FINISHED",
        "dave",
        {"model": "svm", "learning rate": "0.01"},
        {"team": "b"},
        # The same (step, time) in two batches: still the largest value, in either order.
        [
            [("loss", 1, 0, 2.0), ("loss2", 1, 0, 7.0), ("system/cpu", 0, 0, 12.5)],
            [("loss", 1, 0, 5.0), ("loss2", 1, 0, 3.0)],
        ],
        [],
    ),
    (
        "r8",
        "FINISHED",
        "alice",
        {"model": "Élan", "alpha": "0.5"},
        {"team": "é"},
        # The same step at a later time wins even with a smaller value.
        [[("acc", 2, 10, 0.9), ("acc", 2, 20, 0.8), ("r2", 0, 0, 0.45)]],
        [("Train_v2", "evaluation")],
    ),
    ("run 9", "KILLED", "erin", {}, {}, [], []),
]
NAMES = [r[0] for r in RUNS]


def _wb_artifact_uri(store_dir, run_id):
    """A run's artifact URI as the MLflow bridge reports it."""
    return f"workbench://{store_dir.absolute().as_posix()}/{run_id}/artifacts"


class Side:
    """One store's view: a search function and the values that differ between stores."""

    def __init__(self, search, values, search_many=None):
        self.search = search
        self.values = values  # {"id:r1": ..., "start:r1": ..., "digest:train": ...}
        self.search_many = search_many or (lambda filters: [search(f) for f in filters])

    def fill(self, template: str) -> str:
        return re.sub(r"\{([\w ]+:[\w ]+)\}", lambda m: str(self.values[m.group(1)]), template)

    def run(self, template: str) -> set[str] | Exception:
        return self.search(self.fill(template))

    def run_many(self, templates: list[str]) -> list[set[str] | Exception]:
        return self.search_many([self.fill(t) for t in templates])


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    """(mlflow side, workbench side), the same runs logged in each."""
    d = tmp_path_factory.mktemp("parity")
    mlflow.set_tracking_uri(f"sqlite:///{d}/mlflow.db")
    client = MlflowClient()
    exp_id = mlflow.create_experiment("parity", artifact_location=str(d / "mlartifacts"))
    wb_dir = d / "wb"
    wb.set_store(wb_dir)
    mvals: dict[str, object] = {}
    wvals: dict[str, object] = {}
    for name, status, user, params, tags, batches, datasets in RUNS:
        with mlflow.start_run(experiment_id=exp_id, run_name=name, tags={**tags, "mlflow.user": user}) as mr:
            mlflow.log_params(params)
            for batch in batches:
                client.log_batch(
                    mr.info.run_id,
                    metrics=[Metric(k, v, T0 + s * 1000, step) for k, step, s, v in batch],
                )
            for frame, role in datasets:
                ds = mlflow.data.from_pandas(FRAMES[frame], name=frame)
                mlflow.log_input(ds, context=role)
                mvals[f"digest:{frame}"] = ds.digest
        client.set_terminated(mr.info.run_id, status)
        info = client.get_run(mr.info.run_id)
        all_tags = dict(info.data.tags)  # MLflow's own system tags too: the same data
        time.sleep(0.005)

        run = wb.start_run(name=name, experiment="parity", params=params, tags=all_tags)
        for frame, role in datasets:
            wvals[f"digest:{frame}"] = run.use_dataset(FRAMES[frame], name=frame, role=role, profile=False)
        wb.flush()
        for batch in batches:
            open_store(wb_dir).write(
                Batch(
                    metrics=[
                        (
                            run.run_id,
                            [k for k, *_ in batch],
                            [step for _, step, _, _ in batch],
                            [v for *_, v in batch],
                            [T0 / 1000 + s for _, _, s, _ in batch],
                        )
                    ]
                )
            )
        run.end(status.lower())
        wb.flush()
        rec = wb.get_run(run.run_id, store=wb_dir)
        for vals, rid, start, end, uri, latest in (
            (
                mvals,
                info.info.run_id,
                info.info.start_time,
                info.info.end_time,
                info.info.artifact_uri,
                dict(client.get_run(mr.info.run_id).data.metrics),
            ),
            (
                wvals,
                rec.run_id,
                rec.start_time,
                rec.end_time,
                _wb_artifact_uri(wb_dir, rec.run_id),
                rec.metrics,
            ),
        ):
            vals.update(
                {
                    f"latest:{name}": latest,
                    f"id:{name}": rid,
                    f"pre:{name}": rid[:6],
                    f"start:{name}": start,
                    f"end:{name}": end,
                    f"uri:{name}": uri,
                }
            )
        time.sleep(0.005)
    wb.set_store(None)

    def mlflow_search(filter_string, order_by=None):
        try:
            runs = client.search_runs([exp_id], filter_string, order_by=order_by, max_results=1000)
        except (MlflowException, ValueError, SyntaxError, TypeError) as e:
            return e
        return [r.info.run_name for r in runs] if order_by is not None else {r.info.run_name for r in runs}

    def wb_search(filter_string, order_by=None):
        try:
            df = wb.runs(filter_string, order_by=order_by, experiment="parity", store=wb_dir)
        except wb.FilterSyntaxError as e:
            return e
        return list(df["run_name"]) if order_by is not None else set(df["run_name"])

    def wb_search_many(filter_strings):
        """Like wb_search for each filter, in one session of the store (the corpus is large)."""
        out = []
        with open_store(wb_dir).session() as con:
            for f in filter_strings:
                try:
                    query = build_query(f)
                except wb.FilterSyntaxError as e:
                    out.append(e)
                    continue
                base, _ = queries.select_runs(con, query, "parity", False, None, 0)
                out.append(set(base["run_name"]))
        return out

    return Side(mlflow_search, mvals), Side(wb_search, wvals, wb_search_many)


# -- the corpus -------------------------------------------------------------------------
METRIC_ENTITIES = ["metrics", "metric", "`metrics`", "`metric`"]
METRIC_KEYS = {
    "rmse": ["50", "45", "52", "60", "1e1", "4.5e1", "5.", "-1", "40"],
    "r2": ["0.4", ".5", "0.45", "-0.5", "0", "0.3"],
    "`error-rate`": ["0.1", "1"],
    '"error-rate"': ["0.1"],
    "loss": ["5", "2", "3"],
    "loss2": ["7", "3"],
    "acc": ["0.8", "0.9", "0.85"],
    "`system/cpu`": ["12.5", "12"],
    "missing": ["0"],
}
NUM_OPS = ["=", "!=", "<", "<=", ">", ">="]
PARAM_ENTITIES = ["params", "param", "parameter", "parameters", "`params`", "`param`"]
STR_OPS = ["=", "!=", "LIKE", "ILIKE"]
PARAM_VALUES = {
    "model": [
        "'ridge'",
        '"ridge"',
        "'Ridge'",
        "'RIDGE'",
        "'ridge%'",
        "'%e%'",
        "'r_dge'",
        "'%'",
        "''",
        "'Élan'",
        "'élan'",
        "'%lan'",
        "'ridge_cv'",
        "'ridge\\_cv'",
    ],
    "alpha": ["'0.1'", "'0.5'", "'1.0'", "'10'", "'1%'", "'0._'"],
    "path": [
        "'C:\\data\\x.csv'",
        '"C:\\data\\x.csv"',
        "'C:\\\\data\\\\y.csv'",
        "'C:\\data%'",
        "'%\\x.csv'",
        "'a%b_c'",
        "'a\\%b\\_c'",
        "'%\\%'",
    ],
    "note": ["'it''s'", '"it\'s"', "'it%'", "''", "'%'"],
    "quote": ["'it''s'", "'it''''s'", "\"it''s\"", "'it%s'"],
    "empty": ["''", "'%'", "'_'"],
    "`learning rate`": ["'0.01'", "'0.0%'"],
    '"learning rate"': ["'0.01'"],
    "opt": ["'adam'", "'ADAM'"],
    "absent": ["'x'", "''"],
}
TAG_ENTITIES = ["tags", "tag", "`tags`", "`tag`"]
TAG_VALUES = {
    "team": ["'a'", "'b'", "'A'", "'é'", "'É'", "'%'", "'_'"],
    "`data set`": ["'diabetes v1'", "'%v2'", "'DIABETES%'"],
    '"data set"': ["'diabetes v1'"],
    "quote": ["'say \"hi\"'", "'say \"hi%'", '"say ""hi"""', "'%hi%'"],
    "`Ünï`": ["'Äpfel'", "'äpfel'", "'ÄPFEL'"],
    "mlflow.runName": ["'r1'", "'R%'", "'r%'"],
    "`mlflow.runName`": ["'R6'"],
    "mlflow.user": ["'alice'", "'%o%'"],
    "absent": ["'x'"],
}
NULL_FORMS = ["IS NULL", "IS NOT NULL", "is null", "Is Not Null", "IS NOT\tNULL"]
ATTR_ENTITIES = ["attributes", "attribute", "attr", "run", "`attributes`"]
RUN_NAME_FORMS = ["run_name", "`run name`", '"Run Name"', "`Run name`", "`Run Name`"]
RUN_NAME_VALUES = ["'r1'", "'R6'", "'r%'", "'R%'", "'run 9'", "'run%'", "'%9'", "'_1'", "'r_'"]
# Upper case, as MLflow stores them (other cases are a documented deviation, tested below).
STATUS_VALUES = ["'FINISHED'", "'FAILED'", "'KILLED'", "'RUNNING'", "'FIN%'", "'%ED'", "'F_IL%'"]
USER_VALUES = ["'alice'", "'bob'", "'A%'", "'%e'", "'zed'"]
DATASET_ENTITIES = ["datasets", "dataset"]
DATASET_VALUES = {
    "name": ["'train'", "'Train_v2'", "'TRAIN%'", "'train%'", "'%'", "'test'", "'nope'"],
    "context": ["'training'", "'evaluation'", "'TRAIN%'", "'%ing'"],
    "digest": ["'{digest:train}'", "'{digest:test}'", "'x'"],
}


def accepted_corpus() -> list[str]:
    """Filters meant to be valid in MLflow (the test checks that MLflow accepts each)."""
    out: list[str] = []
    ents = itertools.cycle(METRIC_ENTITIES)
    for key, values in METRIC_KEYS.items():
        for value, op in itertools.product(values, NUM_OPS):
            out.append(f"{next(ents)}.{key} {op} {value}")
    ents = itertools.cycle(PARAM_ENTITIES)
    for key, values in PARAM_VALUES.items():
        for value, op in itertools.product(values, STR_OPS):
            out.append(f"{next(ents)}.{key} {op} {value}")
    for key in ("model", "path", "absent", "`learning rate`", "empty"):
        for form in NULL_FORMS[:4]:
            out.append(f"{next(ents)}.{key} {form}")
    ents = itertools.cycle(TAG_ENTITIES)
    for key, values in TAG_VALUES.items():
        for value, op in itertools.product(values, STR_OPS):
            out.append(f"{next(ents)}.{key} {op} {value}")
    for key in ("team", "quote", "absent", "`data set`"):
        for form in NULL_FORMS[:4]:
            out.append(f"{next(ents)}.{key} {form}")
    ents = itertools.cycle(ATTR_ENTITIES)
    for form, value, op in itertools.product(RUN_NAME_FORMS, RUN_NAME_VALUES[:5], ["=", "!=", "LIKE"]):
        out.append(f"{next(ents)}.{form} {op} {value}")
    for form in RUN_NAME_FORMS:  # without an entity type: attributes
        out += [f"{form} = 'r3'", f"{form} ILIKE 'R%'"]
    for value, op in itertools.product(RUN_NAME_VALUES, STR_OPS):
        out.append(f"attributes.run_name {op} {value}")
    for value, op in itertools.product(STATUS_VALUES, STR_OPS):
        out.append(f"{next(ents)}.status {op} {value}")
    out += ["status = 'FAILED'", "status != 'FINISHED'"]
    for value, op in itertools.product(USER_VALUES, STR_OPS):
        out.append(f"{next(ents)}.user_id {op} {value}")
    out += ["user_id = 'bob'", "attributes.user_id != 'alice'"]
    for op in STR_OPS:
        out += [
            f"attributes.run_id {op} '{{id:r3}}'",
            f"attributes.artifact_uri {op} '{{uri:r5}}'",
        ]
    out += [
        "attributes.run_id LIKE '{pre:r2}%'",
        "attributes.run_id ILIKE '{pre:R6}%'",
        "attributes.run_id IN ('{id:r1}', '{id:R6}')",
        "attributes.run_id IN (\"{id:r1}\", '{id:r4}',)",
        "attributes.run_id NOT IN ('{id:r1}', '{id:R6}')",
        "attributes.run_id not in ('{id:r2}')",
        "run_id IN ('{id:r5}')",
        "attributes.run_id IN ('{id:r2}' '')",
        "attributes.run_id IN ('nope')",
        "attributes.artifact_uri LIKE '%/artifacts'",
        "attributes.artifact_uri LIKE '%{id:r7}%'",
        "attributes.artifact_uri ILIKE '%ARTIFACTS'",
        "attributes.artifact_uri != 'x'",
    ]
    for form in [
        "start_time",
        "created",
        "Created",
        "attributes.start_time",
        "attributes.created",
        "run.Created",
    ]:
        for op in NUM_OPS:
            out.append(f"{form} {op} {{start:r3}}")
    for op in NUM_OPS:
        out += [f"attributes.end_time {op} {{end:r5}}", f"end_time {op} {{start:r5}}"]
    out += ["attributes.start_time > 0", "attributes.start_time > 1.5", "attributes.end_time > -1"]
    ents = itertools.cycle(DATASET_ENTITIES)
    for key, values in DATASET_VALUES.items():
        for value, op in itertools.product(values, STR_OPS):
            out.append(f"{next(ents)}.{key} {op} {value}")
        out += [
            f"datasets.{key} IN ({values[0]}, {values[1]})",
            f"datasets.{key} NOT IN ({values[0]})",
        ]
    # Spacing and keyword case.
    out += [
        "metrics.rmse>50",
        "metrics.rmse>=-1",
        "params.model='ridge'",
        "params.model\t=\n'ridge'",
        "params.model like 'r%'",
        "params.model Ilike 'R%'",
        "params.model='ridge'and metrics.rmse<55",
        "tags.team = 'a' AND tags.team = \"a\"",
        "metrics.rmse < 60 and metrics.rmse > 40",
        "params.1x = 'a'",
        "params.1x != 'b'",
        "tags.Ünï = 'Äpfel'",
        "params.note = 'it\\'s'",
        "params.note LIKE 'it\\'%'",
        "",
        "metrics.rmse > 1 AND metrics.r2 > 0 AND params.alpha != 'x' AND tags.team != 'x' "
        "AND tags.team IS NOT NULL AND params.model LIKE '%' AND datasets.name != 'x' AND metrics.rmse < 100",
    ]
    # ILIKE on non-ASCII letters is a documented deviation (tested below), not parity.
    out = [f for f in out if not (" ILIKE " in f and not f.split(" ILIKE ", 1)[1].isascii())]
    # AND of random single comparisons, deterministic.
    singles = [f for f in out if f.strip()]
    rng = random.Random(10)
    for _ in range(60):
        picks = rng.sample(singles, rng.choice([2, 2, 3, 4]))
        out.append(rng.choice([" AND ", " and ", " And "]).join(picks))
    return out


# MLflow rejects these. None: Workbench must reject too; otherwise the documented
# extension that makes Workbench accept it.
REJECTED = [
    ("metrics.rmse == 50", None),
    ("metrics.rmse <> 50", None),
    ("params.model == 'ridge'", None),
    ("metrics.rmse => 50", None),
    ("metrics.rmse ! = 50", None),
    ("params.model NOT LIKE 'r%'", None),
    ("params.model RLIKE 'r'", None),
    ("metrics.rmse IS NULL", None),
    ("attributes.run_name IS NULL", None),
    ("attributes.end_time IS NOT NULL", None),
    ("datasets.name IS NULL", None),
    ("METRICS.rmse > 1", None),
    ("Params.model = 'ridge'", None),
    ('"metrics".rmse > 1', None),
    ("`metrics.rmse` > 1", None),
    ("params.model = ridge", None),
    ("params.alpha = 0.1", None),
    ("metrics.rmse = '50'", None),
    ("metrics.rmse > 1e+1", None),
    ("metrics.rmse > 0x10", None),
    ("metrics.rmse > +5", None),
    ("metrics.rmse > - 5", None),
    ("metrics.rmse > 1.e1", None),
    ("metrics.rmse>0and params.model='ridge'", None),
    ("metrics.rmse > 1 -- comment", None),
    ("metrics.rmse > 1 # comment", None),
    ("metrics.rmse > 1 /* c */", None),
    ("metrics.rmse > 1;", None),
    ("metrics.rmse > 1; params.model = 'ridge'", None),
    ("attributes.colour = 'red'", None),
    ("rmse < 5", None),
    ("attributes.experiment_id = '0'", None),
    ("attributes.lifecycle_stage = 'active'", None),
    ("datasets.size = '1'", None),
    ("tags.`data set` = `diabetes v1`", None),
    ("attributes.start_time = '5'", None),
    ("attributes.status < 'b'", None),
    ("params.model < 'b'", None),
    ("datasets.name > 'a'", None),
    ("metrics.rmse IN (50)", None),
    ("attributes.start_time IN (1, 2)", None),
    ("attributes.run_id IN ()", None),
    ("attributes.run_id IN (1)", None),
    ("attributes.run_id IN (x)", None),
    ("attributes.run_id IN ('\\x')", None),
    ("params.model", None),
    ("'ridge'", None),
    ("Run Name = 'r1'", None),
    ("metrics.rmse x > 1", None),
    ("params.model = 'ridge' x", None),
    ("params.model = 'ridge' AS x", None),
    ("metrics.rmse = 1=1", None),
    ("order by metrics.rmse", None),
    ("   ", "blank"),
    # Documented extensions.
    ("metrics.rmse < 46 or params.model = 'tree'", "OR"),
    ("params.model = 'tree' OR params.model = 'lasso'", "OR"),
    ("(metrics.rmse < 46)", "parentheses"),
    ("metrics.rmse > 1 AND (params.model = 'tree')", "parentheses"),
    ("params.model IN ('ridge', 'tree')", "IN lists"),
    ("params.model NOT IN ('ridge')", "IN lists"),
    ("tags.team IN ('a')", "IN lists"),
    ("attributes.run_name IN ('r1')", "IN lists"),
    ("attributes.status IN ('FAILED')", "IN lists"),
    ("attributes.user_id IN ('bob')", "IN lists"),
    ("attributes.experiment = 'parity'", "attributes"),
    ("attributes.source != 'x'", "attributes"),
    ("attributes.parent_run_id LIKE '%'", "attributes"),
    ("metrics.error-rate < 1", "unquoted keys"),
    ("metrics.system/cpu > 1", "unquoted keys"),
    ("tags.team IS NOT  NULL", "IS NOT NULL spacing"),
]


@pytest.fixture(scope="module")
def corpus_expected(sides):
    """The corpus and MLflow's answer to each filter."""
    corpus = accepted_corpus()
    return corpus, sides[0].run_many(corpus)


@pytest.mark.parametrize("inline_max", [search.INLINE_MAX, 0], ids=["subqueries", "bitstring-join"])
def test_corpus_selects_what_mlflow_selects(sides, corpus_expected, monkeypatch, inline_max):
    """Every filter MLflow accepts selects the same runs (and the corpus is as large and
    as varied as claimed), in both ways Workbench compiles a filter: a subquery per
    comparison (few comparisons) and one join per table (many)."""
    monkeypatch.setattr(search, "INLINE_MAX", inline_max)
    corpus, mlflow_answers = corpus_expected
    assert len(corpus) >= 600
    agree, disagree, mlflow_rejected = [], [], []
    for template, expected, got in zip(corpus, mlflow_answers, sides[1].run_many(corpus)):
        if isinstance(expected, Exception):
            mlflow_rejected.append((template, str(expected).splitlines()[0][:120]))
            continue
        (agree if got == expected else disagree).append((template, expected, got))
    assert not mlflow_rejected, f"corpus entries MLflow rejects: {mlflow_rejected[:10]}"
    assert not disagree, "\n".join(f"{t!r}: mlflow {e}, workbench {g}" for t, e, g in disagree)
    # The corpus exercises both outcomes, not only 'nothing matches'.
    matched = [e for _, e, _ in agree if e]
    assert len(matched) > len(corpus) / 3
    assert any(len(e) == len(NAMES) for e in matched)


@pytest.mark.parametrize("template, extension", REJECTED, ids=[t for t, _ in REJECTED])
def test_what_mlflow_rejects_workbench_rejects_or_documents(sides, template, extension):
    ml, wbs = sides
    assert isinstance(ml.run(template), Exception), "MLflow accepts this; move it to the corpus"
    got = wbs.run(template)
    if extension is None:
        assert isinstance(got, wb.FilterSyntaxError)
        assert "\n" not in str(got)
    else:
        assert not isinstance(got, Exception), f"documented extension ({extension}) refused: {got}"
        assert extension.split()[0].lower() in search.__doc__.lower()


ORDERS = [
    ["metrics.rmse ASC"],
    ["metrics.rmse DESC"],
    ["metric.`error-rate`"],
    ["params.model"],
    ["params.alpha DESC", "attributes.run_name"],
    ["tags.team", "metrics.r2 DESC"],
    ["attributes.run_name DESC"],
    ["run_name"],
    ["start_time"],
    ["attributes.created DESC"],
    ["Created"],
    ["attributes.end_time ASC"],
    ["attributes.user_id", "start_time ASC"],
    ["tags.`data set` desc"],
    ["metrics.loss DESC", "metrics.acc", "params.model"],
    ["attributes.status", "run_name DESC"],
    ["params.`learning rate` DESC"],
]


@pytest.mark.parametrize("order_by", ORDERS, ids=[",".join(o) for o in ORDERS])
def test_order_by_sorts_as_mlflow_does(sides, order_by):
    ml, wbs = sides
    expected = ml.search("", order_by)
    assert not isinstance(expected, Exception)
    assert wbs.search("", order_by) == expected


@pytest.mark.parametrize(
    "order_by",
    [
        ["metrics.rmse", "metrics.rmse DESC"],
        ["start_time", "created"],
        ["attributes.`run name`"],
        ["datasets.name"],
        ["metrics.rmse SIDEWAYS"],
        ["rmse"],
    ],
)
def test_order_by_mlflow_rejects_is_rejected(sides, order_by):
    ml, wbs = sides
    assert isinstance(ml.search("", order_by), Exception)
    assert isinstance(wbs.search("", order_by), wb.FilterSyntaxError)


# -- the documented deviations, each shown against MLflow ----------------------------------


def test_deviation_status_is_case_insensitive(sides):
    """MLflow matches 'FINISHED' only; Workbench any case, and nothing else differs."""
    ml, wbs = sides
    finished = {n for n, status, *_ in RUNS if status == "FINISHED"}
    for f in ("attributes.status = 'FINISHED'", "attributes.status = 'finished'", "status = 'Finished'"):
        assert wbs.run(f) == finished
    assert ml.run("attributes.status = 'FINISHED'") == finished
    assert ml.run("attributes.status = 'finished'") == set()
    assert ml.run("attributes.status LIKE 'fin%'") == set()
    assert wbs.run("attributes.status LIKE 'fin%'") == finished
    # The upper-case spellings MLflow users write give MLflow's answer.
    for f in ("attributes.status != 'FINISHED'", "attributes.status LIKE 'F%'", "status ILIKE 'k%'"):
        assert wbs.run(f) == ml.run(f)


def test_deviation_ilike_folds_non_ascii_letters(sides):
    """MLflow's sqlite ILIKE folds ASCII only; Workbench every letter. ASCII agrees."""
    ml, wbs = sides
    assert ml.run("params.model ILIKE 'élan'") == set()
    assert wbs.run("params.model ILIKE 'élan'") == {"r8"}
    assert ml.run("tags.team ILIKE 'É'") == set()
    assert wbs.run("tags.team ILIKE 'É'") == {"r8"}
    assert ml.run("params.model ILIKE 'ÉLAN'") == wbs.run("params.model ILIKE 'ÉLAN'") == {"r8"}
    assert ml.run("params.model ILIKE 'RIDGE'") == wbs.run("params.model ILIKE 'RIDGE'") == {"r1", "r3"}


@pytest.mark.parametrize(
    "template, meant",
    [
        ("metrics.rmse > 50 AND", "metrics.rmse > 50"),
        ("AND metrics.rmse > 50", "metrics.rmse > 50"),
        (
            "metrics.rmse > 40 AND AND params.model = 'ridge_cv'",
            "metrics.rmse > 40 AND params.model = 'ridge_cv'",
        ),
        ("metrics.rmse > 40 params.model = 'ridge_cv'", "metrics.rmse > 40 AND params.model = 'ridge_cv'"),
    ],
)
def test_deviation_stray_and_or_missing_and_is_an_error(sides, template, meant):
    """MLflow ignores a stray AND and reads two comparisons as their AND; Workbench says
    where the filter is malformed instead."""
    ml, wbs = sides
    assert ml.run(template) == ml.run(meant)
    err = wbs.run(template)
    assert isinstance(err, wb.FilterSyntaxError)
    assert wbs.run(meant) == ml.run(meant)


# -- Reliability issue, item 10: each reported gap, against MLflow -------------------------


def _same(sides, template, expected):
    ml, wbs = sides
    assert ml.run(template) == expected, "the expectation is MLflow's answer"
    assert wbs.run(template) == expected


def test_reliability_10_backslashes_are_literal(sides):
    _same(sides, "params.path = 'C:\\data\\x.csv'", {"r1"})
    _same(sides, "params.path = 'C:\\\\data\\\\y.csv'", {"r2"})
    _same(sides, "params.path LIKE 'C:\\d%'", {"r1"})
    _same(sides, "params.path LIKE 'a\\%b%'", set())  # no escape character in LIKE
    _same(sides, "params.path LIKE 'a%b_c'", {"R6"})


def test_reliability_10_is_null_on_params_and_tags(sides):
    _same(sides, "params.alpha IS NULL", {"r4", "r7", "run 9"})
    _same(sides, "params.alpha IS NOT NULL", {"r1", "r2", "r3", "r5", "R6", "r8"})
    _same(sides, "tags.`data set` is not null and params.model is not null", {"r1", "r2", "R6"})
    _same(sides, "tags.team IS NULL", {"r4", "run 9"})


def test_reliability_10_backticked_entity_types(sides):
    for entity in ("`metric`", "`metrics`"):
        _same(sides, f"{entity}.rmse < 50", {"r5"})
    for entity in ("`param`", "`params`", "`parameter`", "`parameters`"):
        _same(sides, f"{entity}.model = 'tree'", {"r2"})
    _same(sides, "`tag`.team = 'c' and `attribute`.status = 'FINISHED'", {"r5"})
    _same(sides, "`dataset`.name = 'test'", {"r1", "R6"})


def test_reliability_10_attribute_aliases(sides):
    for form in (
        "`run name`",
        '"Run Name"',
        "`Run name`",
        "attributes.`run name`",
        'run."Run Name"',
        "run_name",
    ):
        _same(sides, f"{form} = 'run 9'", {"run 9"})
    for form in ("Created", "created", "attributes.Created", "start_time"):
        _same(sides, f"{form} > {{start:r7}}", {"r8", "run 9"})


def test_reliability_10_user_id_artifact_uri_and_datasets(sides):
    _same(sides, "attributes.user_id = 'alice'", {"r1", "r3", "R6", "r8"})
    _same(sides, "user_id LIKE '%o%'", {"r2", "r4", "r5"})
    for side in sides:
        assert side.run("attributes.artifact_uri = '{uri:r5}'") == {"r5"}
        assert side.run("attributes.artifact_uri LIKE '%/{id:r7}/artifacts'") == {"r7"}
    _same(sides, "datasets.name = 'train'", {"r1", "r5"})
    _same(sides, "datasets.context = 'evaluation' and datasets.name LIKE 'Train%'", {"r8"})
    _same(sides, "datasets.name IN ('Train_v2', 'nope')", {"r2", "r8"})
    for side in sides:
        assert side.run("datasets.digest = '{digest:test}'") == {"r1", "R6"}


def test_reliability_10_doubled_quotes_mean_what_they_mean_in_mlflow(sides):
    """MLflow strips only the outer quotes: '' inside a literal is two quote characters."""
    _same(sides, "params.quote = 'it''s'", {"r2"})
    _same(sides, "params.note = 'it''s'", set())
    _same(sides, 'params.note = "it\'s"', {"r1"})
    _same(sides, 'tags.quote = "say ""hi"""', set())
    _same(sides, "tags.quote = 'say \"hi\"'", {"r3"})
    # In an IN list MLflow reads a Python literal, where 'a''b' is 'ab'.
    for side in sides:
        assert side.run("attributes.run_id IN ('{id:r1}', '{pre:r2}' '')") == {"r1"}


@pytest.mark.parametrize(
    "run, key",
    [("R6", "loss"), ("r7", "loss"), ("r7", "loss2"), ("r8", "acc"), ("r1", "rmse"), ("R6", "rmse")],
)
def test_reliability_10_latest_value_is_mlflows_on_ties(sides, run, key):
    """Latest = highest step, then newest timestamp, then largest value (MLflow's
    sqlalchemy store), whatever order and batches the points came in."""
    ml, wbs = sides
    assert wbs.values[f"latest:{run}"][key] == ml.values[f"latest:{run}"][key]
    value = ml.values[f"latest:{run}"][key]
    assert run in ml.run(f"metrics.{key} = {value}")
    assert ml.run(f"metrics.{key} = {value}") == wbs.run(f"metrics.{key} = {value}")
