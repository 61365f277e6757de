"""``wb.lineage`` reads its whole walk in one query (``Store.lineage_scope``, issue 16) and
draws the same graph as the walk of one ``lineage_step`` query per step it replaced.

The store has branching lineage: a diamond with a skip edge, a cycle through content
written and read in the same millisecond, a read before the write (not linked), a chain
longer than the deepest walk with a deleted run in it, reruns, sweeps and nested runs
(some without any artifact, one under a deleted parent, one deleted), a dataset read by
many runs, one model content written by two runs and registered twice with aliases, and
an artifact row whose run is not in the store.
"""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.errors import InvalidInputError
from workbench.lineage import Lineage, _add_run, _expand
from workbench.store import lineage as lineage_sql
from workbench.store.records import Batch
from workbench.store.store import Store

DEPTHS = (1, 2, 10)
CHAIN = 14  # longer than the deepest walk (10 hops)


def _sha(name: str) -> str:
    return name.encode().hex().ljust(64, "0")


@pytest.fixture(scope="module")
def graph_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("lineage-scope") / "store")
    store.check_schema()
    b = Batch(experiments={"e": 1})
    ids: dict[str, str] = {}

    def run(name: str, parent: str | None = None, source: str = "python") -> str:
        ids[name] = rid = f"{len(ids):04x}" + name.encode().hex()[:28].ljust(28, "0")
        b.runs.append(
            {
                "run_id": rid,
                "experiment": "e",
                "run_name": name,
                "status": "finished",
                "start_time": 1000 + len(ids),
                "end_time": 2000 + len(ids),
                "source": source,
                "parent_run_id": ids[parent] if parent else None,
            }
        )
        return rid

    def art(name: str, direction: str, content: str, t: int, kind: str = "file", path: str | None = None):
        b.artifacts.append(
            {
                "run_id": ids.get(name, name),
                "path": path or f"{content}.bin",
                "kind": kind,
                "sha256": _sha(content),
                "size": len(content),
                "direction": direction,
                "stored_path": None,
                "created_at": t,
            }
        )

    # A chain longer than the deepest walk; c6 is deleted below.
    for i in range(CHAIN):
        run(f"c{i}")
        if i:
            art(f"c{i}", "input", f"chain{i - 1}", 100 * i + 1)
        art(f"c{i}", "output", f"chain{i}", 100 * i + 2)
    # A diamond with a skip edge; dSame reads dx in the millisecond it is written.
    for name in ("dA", "dB", "dC", "dD", "dE", "dSame"):
        run(name)
    art("dA", "output", "dx", 10, kind="dataset")
    art("dB", "input", "dx", 20, path="renamed.csv")
    art("dB", "output", "db", 21)
    art("dC", "input", "dx", 20)
    art("dC", "output", "dc", 22)
    art("dD", "input", "dc", 30)
    art("dD", "input", "db", 30)
    art("dD", "output", "dd", 31)
    art("dE", "input", "dd", 40)
    art("dE", "input", "dx", 40)
    art("dSame", "input", "dx", 10)
    # A cycle: each writes what the other reads, in the same millisecond; yG read s1
    # before anyone wrote it (not downstream of yE).
    for name in ("yE", "yF", "yG"):
        run(name)
    art("yE", "output", "s1", 50)
    art("yE", "input", "s2", 50)
    art("yF", "output", "s2", 50)
    art("yF", "input", "s1", 50)
    art("yG", "input", "s1", 49)
    # Reruns, sweeps and nested runs, some with no artifact at all.
    run("rP")
    art("rP", "input", "dx", 60)
    art("rP", "output", "rp", 61)
    run("rQ", parent="rP", source="rerun")
    art("rQ", "input", "dx", 62)
    run("rR", parent="rQ", source="sweep")
    art("rR", "input", "rp", 63)
    run("rS", parent="rQ")
    run("rT", parent="rS", source="tune")
    run("rU", parent="rQ")  # deleted below
    run("rW")  # deleted below
    art("rW", "output", "rw", 64)
    run("rV", parent="rW", source="rerun")
    art("rV", "input", "rw", 65)
    # A dataset read by many runs.
    run("sPrep")
    art("sPrep", "output", "ds", 5, kind="dataset")
    for i in range(12):
        run(f"s{i}")
        art(f"s{i}", "input", "ds", 70 + i, kind="dataset", path="shared.csv")
        art(f"s{i}", "output", f"s-out{i}", 70 + i)
    # One model content written by two runs (as a model and as a plain file), read once.
    for name in ("mTrain", "mCopy", "mUse"):
        run(name)
    art("mTrain", "output", "mm", 80, kind="model")
    art("mCopy", "output", "mm", 81)
    art("mUse", "input", "mm", 90)
    art("mUse", "input", "dd", 90)
    # An artifact whose run is not in the store: never a producer.
    art("f" * 32, "output", "dx", 1)
    art("f" * 32, "input", "chain3", 1000)
    store.write(b)
    for name in ("c6", "rU", "rW"):
        store.set_deleted(ids[name], True)
    model = {"sha256": _sha("mm"), "path": "mm.bin"}
    v = store.register_model_version("clf", ids["mTrain"], model)
    store.set_model_alias("clf", "champion", v)
    store.set_model_alias("clf", "best", v)
    store.register_model_version("clf-copy", ids["mCopy"], model)
    return store, ids


def _walk(full: str, depth: int, versions: list[dict], step) -> Lineage:
    """The walk of workbench.lineage.lineage before issue 16, given its steps."""
    graph = Lineage(full, depth)
    registered: dict[str, list[str]] = {}
    for v in versions:
        label = f"{v['name']} v{v['version']}" + "".join(f" @{a}" for a in v["aliases"])
        registered.setdefault(v["sha256"], []).append(label)
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


def _reference(store: Store, ref: str, depth: int) -> Lineage:
    """One lineage_step query per step, as wb.lineage did before issue 16."""
    full = store.resolve_run_id(ref)
    versions = store.model_versions()
    with store.lineage_steps() as step:
        return _walk(full, depth, versions, step)


def _outcome(fn, *args):
    try:
        g = fn(*args)
    except InvalidInputError as e:
        return ("error", str(e))
    return g.to_dict(), g.to_text(), g.to_dot(), g.to_svg()


@pytest.mark.parametrize("depth", DEPTHS)
def test_lineage_equals_the_walk_of_one_query_per_step(graph_store, depth):
    store, ids = graph_store
    for name, rid in ids.items():
        got = _outcome(lambda r, d: wb.lineage(r, depth=d, store=store), rid, depth)
        assert got == _outcome(_reference, store, rid, depth), (name, depth)


@pytest.mark.parametrize("depth", DEPTHS)
def test_each_step_of_the_scope_equals_the_step_query(graph_store, depth):
    """Every step the walk takes, answered from the scope, equals lineage_step's query,
    in the same order (artifacts and runs), so ties in the graph break the same way."""
    store, ids = graph_store
    asked = 0
    with store.session() as con:
        for name, rid in ids.items():
            scope = lineage_sql.lineage_scope(con, rid, depth)

            def step(run_ids, shas, scope=scope, name=name):
                nonlocal asked
                asked += 1
                got, want = scope.step(run_ids, shas), lineage_sql.lineage_step(con, run_ids, shas)
                assert got["artifacts"] == want["artifacts"], (name, run_ids, shas)
                assert list(got["runs"].items()) == list(want["runs"].items()), (name, run_ids, shas)
                return got

            try:
                _walk(rid, depth, scope.versions, step)
            except InvalidInputError:
                assert name in ("c6", "rU", "rW")
    assert asked > 4 * len(ids)


def test_the_graph_as_drawn_by_hand(graph_store):
    store, ids = graph_store
    run = {v: k for k, v in ids.items()}

    def names(rids):
        return [run[r] for r in rids]

    def layer(g, name):
        return g.layers[f"run:{ids[name]}"]

    # Diamond: dE is one hop from dA by the skip edge and three by the diamond (a hop
    # is two layers: run, content, run).
    g = wb.lineage(ids["dE"], depth=10, store=store)
    assert set(names(g.upstream_runs)) == {"dD", "dB", "dC", "dA"}
    assert (layer(g, "dD"), layer(g, "dA"), layer(g, "dB"), layer(g, "dC")) == (-2, -2, -4, -4)
    g = wb.lineage(ids["dA"], depth=1, store=store)
    assert set(names(g.downstream_runs)) == {"dB", "dC", "dE", "dSame", "rP", "rQ"}
    assert g.upstream_runs == []  # the orphan row that "wrote" dx earlier is no run
    # The cycle: each is upstream and downstream of the other; yG read s1 too early.
    g = wb.lineage(ids["yE"], depth=3, store=store)
    assert names(g.upstream_runs) == ["yF"] and g.downstream_runs == []
    rel = {(e["source"], e["target"]) for e in g.edges}
    s1, s2, e, f = (
        f"artifact:{_sha('s1')}",
        f"artifact:{_sha('s2')}",
        f"run:{ids['yE']}",
        f"run:{ids['yF']}",
    )
    assert {(e, s1), (s1, f), (f, s2), (s2, e)} <= rel
    # Depth limits and the deleted c6 along the chain.
    g = wb.lineage(ids["c3"], depth=2, store=store)
    assert names(g.upstream_runs) == ["c2", "c1"] and names(g.downstream_runs) == ["c4", "c5"]
    g = wb.lineage(ids["c8"], depth=10, store=store)
    assert names(g.upstream_runs) == ["c7"]
    assert names(g.downstream_runs) == [f"c{i}" for i in range(9, CHAIN)]
    # Reruns, sweeps and nested runs; nothing through the deleted rU and rW.
    g = wb.lineage(ids["rP"], depth=10, store=store)
    assert set(names(g.downstream_runs)) == {"rQ", "rR", "rS", "rT"}
    assert {
        (run[e["source"][4:]], run[e["target"][4:]], e["relation"])
        for e in g.edges
        if e["relation"] in ("rerun_of", "child_of")
    } == {
        ("rP", "rQ", "rerun_of"),
        ("rQ", "rR", "rerun_of"),
        ("rQ", "rS", "child_of"),
        ("rS", "rT", "rerun_of"),
    }
    assert wb.lineage(ids["rV"], depth=10, store=store).upstream_runs == []
    with pytest.raises(InvalidInputError, match="deleted"):
        wb.lineage(ids["rU"], store=store)
    # The model content: a model node, registered twice, written by both runs.
    g = wb.lineage(ids["mUse"], depth=1, store=store)
    node = g.nodes[f"artifact:{_sha('mm')}"]
    assert node["type"] == "model"
    assert node["registered"] == ["clf v1 @best @champion", "clf-copy v1"]
    assert set(names(g.upstream_runs)) == {"mTrain", "mCopy", "dD"}
    # The shared dataset: every reader downstream of its writer; a prefix resolves.
    g = wb.lineage(ids["sPrep"][:10], depth=1, store=store)
    assert names(g.downstream_runs) == [f"s{i}" for i in range(12)]
    assert g.nodes[f"artifact:{_sha('ds')}"]["type"] == "dataset"
