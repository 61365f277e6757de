"""Fault injection: damaged spool files, a disk that fills and then frees, a read-only store,
SIGKILL during a fold, a store held by another process at the first ``start_run``.

Every test checks the same promise: each point logged is stored exactly once, or sits in
a rescue file that the next session folds in (and then it is stored exactly once). Each
scenario runs in subprocesses, so a crash (a segfault) fails the test instead of pytest.

The disk and read-only scenarios mount a tmpfs or a read-only bind mount: they need root
and are skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# -- helpers ---------------------------------------------------------------------------------


def _env(store: Path, state: Path, **extra: str) -> dict[str, str]:
    """The environment of a subprocess on ``store``, rescue fallbacks under ``state``."""
    env = {
        **os.environ,
        "WORKBENCH_STORE": str(store),
        "XDG_STATE_HOME": str(state),
        "PYTHONUNBUFFERED": "1",
        "WORKBENCH_WATCH_FILES": "0",
        "WORKBENCH_LOCK_TIMEOUT": "60",
    }
    env.update(extra)
    return env


def _spawn(code: str, *args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _run(code: str, *args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def _wait_line(proc: subprocess.Popen, expected: str, timeout: float = 120) -> None:
    """Read ``proc``'s stdout until a line equal to ``expected`` (fails on EOF)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"process ended before {expected!r}: {proc.stderr.read()}")
        if line.strip() == expected:
            return
    raise AssertionError(f"no {expected!r} within {timeout} s")


CHECK = """
import json, sys
import workbench as wb
df = wb.runs()
out = {"runs": {}, "bad": []}
for run_id, name, status in zip(df["run_id"], df["run_name"], df["status"]):
    hist = wb.metric_history([run_id])
    out["runs"][name] = {
        "status": status,
        "steps": {k: sorted(int(s) for s in g["step"]) for k, g in hist.groupby("key")},
        "ok_values": bool((hist["value"] == hist["step"].astype(float)).all()),
    }
from workbench.store import get_store
bad = get_store().spool_dir / "bad"
out["bad"] = sorted(p.name for p in bad.iterdir()) if bad.exists() else []
out["spool"] = sorted(p.name for p in get_store().spool_dir.glob("*.arrow"))
print(json.dumps(out))
"""


def _check(store: Path, state: Path) -> dict:
    """What a new session on ``store`` finds (it folds spool and rescue files first)."""
    proc = _run(CHECK, env=_env(store, state), timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _assert_exactly_once(found: dict, name: str, n: int, key: str = "x", status: str = "finished") -> None:
    run = found["runs"][name]
    assert run["status"] == status, (name, run["status"])
    steps = run["steps"].get(key, [])
    assert steps == list(range(n)), f"{name}: {len(steps)} points stored of {n}, distinct {len(set(steps))}"
    assert run["ok_values"]


def _can_mount() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root to mount a tmpfs / read-only bind mount"
    return None


@contextlib.contextmanager
def _tmpfs(path: Path, size: str):
    why = _can_mount()
    if why:
        pytest.skip(why)
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if proc.returncode:
        pytest.skip(f"mount -t tmpfs failed: {proc.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _fill(directory: Path) -> Path:
    """Fill the file system of ``directory`` to the last byte; returns the filler file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        size = 1 << 20
        while size:
            try:
                os.write(fd, b"\0" * size)
            except OSError:
                size //= 2
    finally:
        os.close(fd)
    return filler


@contextlib.contextmanager
def _read_only(path: Path):
    """Make ``path`` read-only for everyone, root included (a read-only bind mount)."""
    why = _can_mount()
    if why:
        pytest.skip(why)
    proc = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
    if proc.returncode:
        pytest.skip(f"mount --bind failed: {proc.stderr.decode().strip()}")
    try:
        # "mount point is busy" while a process has a file there open for writing: a
        # Workbench process keeps the store file for a moment after each session, so
        # try again until it lets go (it does within $WORKBENCH_LINGER_MS, 250 ms).
        for _ in range(40):
            proc = subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], capture_output=True)
            if proc.returncode == 0 or b"busy" not in proc.stderr:
                break
            time.sleep(0.25)
        if proc.returncode:
            pytest.skip(f"remounting read-only failed: {proc.stderr.decode().strip()}")
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# -- 1: damaged spool files ------------------------------------------------------------------

# Builds a store with one finished run, then two real spool files (the writer's own code):
# a "victim" run (params, tags, 400 points, its end) and a "good" one. For each position,
# a copy of the store has 32 bytes of the victim overwritten there; a session must fold the
# good file, set the victim aside in spool/bad/, and leave the store whole and readable.
DAMAGE = """
import json, os, shutil, sys, time
from pathlib import Path
import workbench as wb
from workbench.store import get_store
from workbench.store.records import Batch

root, legacy = Path(sys.argv[1]), sys.argv[3] == "legacy"
positions = json.loads(sys.argv[2])
template = root / "template"
wb.set_store(template)
with wb.start_run(name="before"):
    for i in range(100):
        wb.log_metric("x", float(i), step=i)
wb.flush()
store = get_store(template)
now = time.time()


def batch(name, n, run_id):
    ms = int(now * 1000)
    return Batch(
        experiments={"Default": ms},
        runs=[{"run_id": run_id, "experiment": "Default", "run_name": name, "status": "running",
               "start_time": ms, "source": "api", "host": "h", "pid": 1, "heartbeat": ms}],
        params=[(run_id, "alpha", "0.1")],
        tags=[(run_id, "team", "a")],
        metrics=[(run_id, ["x"] * n, list(range(n)), [float(i) for i in range(n)], [now] * n)],
        ends=[(run_id, "finished", ms + 1, None)],
    )


def write_legacy(path, b):
    # The format of earlier versions: a bare Arrow IPC file, no checksum.
    import pyarrow as pa, pyarrow.ipc as ipc
    from workbench.store.spool import _batch_json
    from workbench.store.writes import metrics_table
    t = metrics_table(b).replace_schema_metadata({b"workbench_batch": json.dumps(_batch_json(b)).encode()})
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, t.schema) as w:
        w.write_table(t)


victim = store._spool(batch("victim", 400, "c" * 32))
if legacy:
    write_legacy(victim, batch("victim", 400, "c" * 32))
good = store._spool(batch("good", 200, "d" * 32))
size = victim.stat().st_size
print(json.dumps({"size": size}), flush=True)
for pos in positions:
    if pos >= size:
        continue
    d = root / f"p{pos}"
    shutil.copytree(template, d)
    path = d / "spool" / victim.name
    data = bytearray(path.read_bytes())
    for i in range(pos, min(pos + 32, size)):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    wb.set_store(d)
    print(json.dumps({"start": pos}), flush=True)
    df = wb.runs()
    names = dict(zip(df["run_name"], df["run_id"]))
    hist = wb.metric_history(list(df["run_id"]))
    steps = {n: sorted(hist[hist["run_id"] == rid]["step"].tolist()) for n, rid in names.items()}
    values_ok = bool((hist["value"] == hist["step"].astype(float)).all())
    bad = sorted(p.name for p in (d / "spool" / "bad").glob("*")) if (d / "spool" / "bad").exists() else []
    left = sorted(p.name for p in (d / "spool").glob("*.arrow"))
    print(json.dumps({"pos": pos, "steps_before": steps.get("before") == list(range(100)),
                      "steps_good": steps.get("good") == list(range(200)),
                      "victim": steps.get("victim") == list(range(400)) if "victim" in steps else None,
                      "victim_bad": bad == [victim.name], "left": left, "values_ok": values_ok,
                      "statuses": sorted(set(df["status"]))}), flush=True)
    shutil.rmtree(d)
"""


def _damage(tmp_path: Path, positions: list[int], fmt: str) -> list[dict]:
    proc = _run(
        DAMAGE, tmp_path, json.dumps(positions), fmt, env=_env(tmp_path / "unused", tmp_path / "state")
    )
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    started = [x["start"] for x in lines if "start" in x]
    results = [x for x in lines if "pos" in x]
    assert proc.returncode == 0, (
        f"the process died (status {proc.returncode}) on the file damaged at byte "
        f"{started[-1] if started else '?'}: {proc.stderr[-2000:]}"
    )
    assert len(results) == len(started) and results, proc.stderr[-2000:]
    return results


@pytest.mark.parametrize("group", range(4))
def test_reliability_1_damaged_spool_files_are_set_aside_and_everything_else_folds(tmp_path, group):
    # 32 bytes overwritten at every 64th byte of a real spool file (one copy of the store
    # per position; 4 groups of positions, each group one subprocess).
    results = _damage(tmp_path, list(range(group * 64, 200_000, 4 * 64)), "current")
    assert len(results) >= 10
    for r in results:
        assert r["victim_bad"], r  # the checksum caught it, whatever the bytes hit
        assert r["victim"] is None, r  # nothing of the damaged file was loaded
        assert r["steps_before"] and r["steps_good"] and r["values_ok"], r
        assert r["left"] == [] and r["statuses"] == ["finished"], r


def test_reliability_1_damaged_spool_files_of_earlier_versions_never_crash_or_load_bad_values(tmp_path):
    # Files of earlier versions have no checksum: Arrow's full validation and the value
    # checks are all that stand between them and the store. Whatever the damage, the
    # process survives, the store stays readable and the good file folds; the victim is
    # either set aside or loaded whole.
    results = _damage(tmp_path, list(range(0, 200_000, 128)), "legacy")
    for r in results:
        assert r["steps_before"] and r["steps_good"], r
        assert r["left"] == [] and r["statuses"] == ["finished"], r
        assert r["victim_bad"] or r["victim"] is not None, r


# -- 2: a disk that fills and then frees ----------------------------------------------------

LOGGER = """
import sys, time
import workbench as wb
from workbench.errors import WorkbenchError
name, n, flush_every, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
errors = 0
with wb.start_run(name=name):
    for i in range(n):
        wb.log_metric("x", float(i), step=i)
        if i % flush_every == flush_every - 1:
            try:
                wb.flush()
            except WorkbenchError as e:
                errors += 1
                assert "\\n" not in str(e), e
            time.sleep(pause)
        if i == n // 10:
            print("started", flush=True)
try:
    wb.flush()
except WorkbenchError:
    errors += 1
print("errors", errors, flush=True)
print("done", flush=True)
"""


def test_reliability_2_a_disk_that_fills_and_frees_loses_nothing_and_doubles_nothing(tmp_path):
    with _tmpfs(tmp_path / "disk", "48m") as disk:
        store, state = disk / "store", tmp_path / "state"
        env = _env(store, state)
        proc = _spawn(LOGGER, "steady", 120_000, 2_000, 0.2, env=env)
        _wait_line(proc, "started")
        filler = _fill(disk)
        time.sleep(8.0)  # full for 8 s: writes, checkpoints and spool files fail
        filler.unlink()
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        assert int(out.split("errors")[1].split()[0]) > 0, "the full disk was never met"
        found = _check(store, state)
        _assert_exactly_once(found, "steady", 120_000)
        assert found["bad"] == [] and found["spool"] == []


def test_reliability_2_a_disk_still_full_at_exit_rescues_to_a_fallback_folder(tmp_path):
    with _tmpfs(tmp_path / "disk", "48m") as disk:
        store, state = disk / "store", tmp_path / "state"
        env = _env(store, state)
        proc = _spawn(LOGGER, "full-at-exit", 60_000, 2_000, 0.02, env=env)
        _wait_line(proc, "started")
        filler = _fill(disk)
        out, err = proc.communicate(timeout=300)
        # One line naming the fallback folder, no traceback, and a normal exit.
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "Exception ignored" not in err, err
        lines = [x for x in err.splitlines() if x.startswith("workbench: could not write")]
        assert len(lines) == 1 and "was saved to " + str(state) in lines[0], err
        rescued = list(state.rglob("*.json"))
        assert len(rescued) == 1 and rescued[0].stat().st_size > 0
        filler.unlink()
        found = _check(store, state)
        _assert_exactly_once(found, "full-at-exit", 60_000)
        assert not list(state.rglob("*.json"))  # folded, then removed
        # Another session changes nothing.
        _assert_exactly_once(_check(store, state), "full-at-exit", 60_000)


MANY_RUNS = """
import sys, time
import workbench as wb
from workbench.errors import WorkbenchError
prefix, runs = sys.argv[1], int(sys.argv[2])
for r in range(runs):
    with wb.start_run(name=f"{prefix}-{r}", experiment="many"):
        for i in range(500):
            wb.log_metric("x", float(i), step=i)
    try:
        wb.flush()  # after every run
    except WorkbenchError:
        pass
    time.sleep(0.02)
    if r == 5:
        print("started", flush=True)
print("done", flush=True)
"""


def test_reliability_2_writers_flushing_after_every_run_keep_good_spool_files(tmp_path):
    with _tmpfs(tmp_path / "disk", "48m") as disk:
        store, state = disk / "store", tmp_path / "state"
        env = _env(store, state)
        procs = [_spawn(MANY_RUNS, f"w{i}", 60, env=env) for i in range(3)]
        for p in procs:
            _wait_line(p, "started")
        filler = _fill(disk)
        time.sleep(3.0)
        filler.unlink()
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            assert "Traceback" not in err, err
        found = _check(store, state)
        assert found["bad"] == [], "a transient error moved good spool files to bad/"
        for i in range(3):
            for r in range(60):
                _assert_exactly_once(found, f"w{i}-{r}", 500)


# -- 4: a read-only store --------------------------------------------------------------------

READ_ONLY_AT_EXIT = """
import os, sys, time
import workbench as wb
go = sys.argv[1]
with wb.start_run(name="ro"):
    for i in range(2_000):
        wb.log_metric("x", float(i), step=i)
    wb.flush()
    print("flushed", flush=True)
    while not os.path.exists(go):
        time.sleep(0.01)
    for i in range(2_000, 10_000):
        wb.log_metric("x", float(i), step=i)
"""


def test_reliability_4_a_read_only_store_at_exit_rescues_every_point(tmp_path):
    store, state = tmp_path / "store", tmp_path / "state"
    go = tmp_path / "go"
    proc = _spawn(READ_ONLY_AT_EXIT, go, env=_env(store, state))
    _wait_line(proc, "flushed")
    with _read_only(store):
        go.write_text("")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Exception ignored" not in err and "Traceback" not in err, err
        lines = [x for x in err.splitlines() if x.startswith("workbench: could not write")]
        assert len(lines) == 1 and "was saved to " + str(state) in lines[0], err
    found = _check(store, state)
    _assert_exactly_once(found, "ro", 10_000)
    assert not list(state.rglob("*.json"))


CAPPED = """
import sys, time
import workbench as wb
import workbench.tracking.run as run_mod
import workbench.tracking.writer as writer_mod
from workbench.errors import WorkbenchError
run_mod.FLUSH_POINTS = writer_mod.FLUSH_POINTS = 5_000
writer_mod.MAX_BUFFERED_POINTS = 20_000
n = int(sys.argv[1])
run = wb.start_run(name="capped")
print("started", flush=True)
sys.stdin.readline()  # the store is read-only from here
errors, other, worst, held = 0, [], 0.0, 0
for i in range(n):
    t = time.perf_counter()
    try:
        wb.log_metric("x", float(i), step=i)
    except WorkbenchError as e:
        errors += 1
        other.append(type(e).__name__)
    except Exception as e:
        other.append("NOT A WORKBENCH ERROR: " + repr(e))
    worst = max(worst, time.perf_counter() - t)
    held = max(held, writer_mod.Writer.pending_points(run._writer))
print("errors", errors, sorted(set(other)), "worst", worst, "held", held, flush=True)
wb.end_run()
"""


def test_reliability_4_an_unwritable_store_spills_the_buffer_to_disk_not_memory(tmp_path):
    store, state = tmp_path / "store", tmp_path / "state"
    env = _env(store, state)
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CAPPED), "200000"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    _wait_line(proc, "started")
    with _read_only(store):
        proc.stdin.write("go\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    report = next(x for x in out.splitlines() if x.startswith("errors"))
    assert report.startswith("errors 0 []"), report  # spilled to the fallback folder, no error
    held = int(report.split("held")[1])
    assert held <= 20_000 + 5_000, report  # the cap (and one buffer), not what was logged
    assert list(state.rglob("*.arrow")), "nothing was spilled to the fallback folder"
    found = _check(store, state)
    _assert_exactly_once(found, "capped", 200_000)
    assert not list(state.rglob("*.arrow")) and not list(state.rglob("*.json"))


def test_reliability_4_with_no_folder_to_spill_to_errors_are_workbench_errors_and_cheap(tmp_path):
    store, state = tmp_path / "store", tmp_path / "state"
    state.mkdir()
    # Every fallback folder is read-only too.
    env = _env(store, state, HOME=str(state), TMPDIR=str(state))
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CAPPED), "100000"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    _wait_line(proc, "started")
    with _read_only(store), _read_only(state):
        proc.stdin.write("go\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    report = next(x for x in out.splitlines() if x.startswith("errors"))
    errors = int(report.split()[1])
    assert 0 < errors <= 100_000 // 5_000, report  # one attempt per FLUSH_POINTS points at most
    assert "['BufferFullError']" in report, report
    # No call waits out a lock or retry loop (the lock timeout here is 60 s); the bound
    # is loose because a loaded machine stalls any one call now and then.
    assert float(report.split("worst")[1].split()[0]) < 20.0, report
    # At exit nothing could be saved: one line says what was lost, no traceback.
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "were lost" in err, err


# -- 6: the first start_run never waits for the store -----------------------------------------

HOLDER = """
import os, sys
from pathlib import Path
from workbench.store.lock import StoreLock
lock = StoreLock(Path(sys.argv[1]) / "workbench.lock")
lock.acquire()
print("holding", flush=True)
sys.stdin.readline()
lock.release()
"""

FIRST_RUN = """
import time
import workbench as wb
t = time.perf_counter()
run = wb.start_run(name="first")
started = time.perf_counter() - t
for i in range(5_000):
    wb.log_metric("x", float(i), step=i)
wb.end_run()
t = time.perf_counter()
wb.flush()
print("timing", started, time.perf_counter() - t, flush=True)
"""


def test_reliability_6_the_first_start_run_does_not_wait_for_a_held_store(tmp_path):
    store, state = tmp_path / "store", tmp_path / "state"
    env = _env(store, state, WORKBENCH_LOCK_TIMEOUT="120")
    assert _run("import workbench as wb; wb.runs()", env=env).returncode == 0  # the store exists
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), str(store)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        _wait_line(holder, "holding")
        proc = _run(FIRST_RUN, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        started, flushed = map(float, proc.stdout.split("timing")[1].split())
        # Far below the 120 s lock timeout it would otherwise wait (a loose bound: the
        # machine may be loaded; the point is that it does not wait for the holder).
        assert started < 30 and flushed < 30, proc.stdout
        assert list((store / "spool").glob("*.arrow"))
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    _assert_exactly_once(_check(store, state), "first", 5_000)


def test_reliability_6_a_newer_store_is_still_refused_untouched_at_the_first_start_run(tmp_path):
    import duckdb

    store, state = tmp_path / "store", tmp_path / "state"
    env = _env(store, state)
    assert _run("import workbench as wb; wb.runs()", env=env).returncode == 0
    con = duckdb.connect(str(store / "workbench.duckdb"))
    con.execute("INSERT INTO _workbench_migrations VALUES (99, 'from the future', current_timestamp)")
    con.close()
    before = (store / "workbench.duckdb").read_bytes()
    proc = _run("import workbench as wb; wb.start_run()", env=env)
    assert proc.returncode == 1 and "StoreVersionError" in proc.stderr
    assert (store / "workbench.duckdb").read_bytes() == before


# -- SIGKILL during a fold ----------------------------------------------------------------------

SPOOLER = """
import sys, time
import workbench as wb
from workbench.store import get_store
n_runs = int(sys.argv[1])
store = get_store()
store.schema_version()
store.lock.try_acquire = lambda: False  # as if another process held the store: spool everything
for r in range(n_runs):
    with wb.start_run(name=f"s{r}"):
        for i in range(2_000):
            wb.log_metric("x", float(i), step=i)
    wb.flush()
print(len(list(store.spool_dir.glob("*.arrow"))), flush=True)
"""

# A reader whose fold dies by SIGKILL at a chosen point: before its commit, right after
# it, or after removing some of the folded files.
KILLED_FOLD = """
import os, signal, sys
import workbench as wb
from workbench.store import spool, writes
where = sys.argv[1]
kill = lambda: os.kill(os.getpid(), signal.SIGKILL)
real_apply, real_unlink = writes.apply, spool.Path.unlink
unlinked = []

def apply(con, batch, spool_names=(), batch_ids=()):
    if where == "before-commit":
        con.execute("BEGIN")
        writes.apply_rows(con, batch)
        kill()
    ok = real_apply(con, batch, spool_names, batch_ids)
    if where == "after-commit":
        kill()
    return ok

def unlink(self, missing_ok=False):
    real_unlink(self, missing_ok=missing_ok)
    unlinked.append(self)
    if where == "mid-cleanup" and len(unlinked) == 3:
        kill()

spool.apply = apply
spool.Path.unlink = unlink
wb.runs()
print("survived", flush=True)
"""


@pytest.mark.parametrize("where", ["before-commit", "after-commit", "mid-cleanup", "random"])
def test_sigkill_during_a_fold_applies_every_spooled_point_exactly_once(tmp_path, where):
    store, state = tmp_path / "store", tmp_path / "state"
    env = _env(store, state)
    proc = _run(SPOOLER, 12, env=env)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) >= 12
    if where == "random":
        for delay in (0.3, 0.6, 0.9, 1.2):
            p = _spawn("import workbench as wb; wb.runs()", env=env)
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.communicate(timeout=60)
    else:
        proc = _run(KILLED_FOLD, where, env=env)
        assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    found = _check(store, state)
    for r in range(12):
        _assert_exactly_once(found, f"s{r}", 2_000)
    assert found["bad"] == [] and found["spool"] == []
