"""The model registry: numbered versions, movable aliases, champion vs challenger."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

import workbench as wb
from workbench.cli import cli
from workbench.errors import InvalidInputError, NotFoundError


def _trained(alpha: float, rmse: float, r2: float) -> str:
    from sklearn.linear_model import Ridge

    with wb.start_run(name=f"ridge-{alpha}", params={"alpha": alpha}, watch_files=False) as run:
        wb.log_model(Ridge(alpha=alpha).fit([[0.0], [1.0]], [0.0, 1.0]), name="ridge")
        wb.log_metrics({"rmse": rmse, "r2": r2})
    return run.run_id


def test_versions_are_numbered_per_name_and_aliases_move():
    a, b, c = _trained(1, 50, 0.4), _trained(2, 45, 0.5), _trained(3, 60, 0.3)
    v1 = wb.register_model(a, "diabetes", alias="champion")
    v2 = wb.register_model(b[:8], "diabetes", alias="challenger")
    v3 = wb.register_model(c, "diabetes")
    other = wb.register_model(c, "other")
    assert [v.version for v in (v1, v2, v3, other)] == [1, 2, 3, 1]
    assert (v1.run_id, v1.aliases, v1.metrics) == (a, ["champion"], {"r2": 0.4, "rmse": 50.0})
    assert wb.get_model_version("diabetes").version == 3  # the latest
    assert wb.get_model_version("diabetes@challenger").run_id == b
    assert wb.get_model_version("models:/diabetes/1").run_id == a

    moved = wb.set_model_alias("diabetes", "champion", 2)
    assert moved.version == 2 and sorted(moved.aliases) == ["challenger", "champion"]
    assert wb.get_model_version("diabetes/1").aliases == []
    wb.delete_model_alias("diabetes", "challenger")
    assert wb.get_model_version("diabetes/2").aliases == ["champion"]
    assert [(v.name, v.version) for v in wb.models()] == [
        ("diabetes", 1),
        ("diabetes", 2),
        ("diabetes", 3),
        ("other", 1),
    ]


def test_challenger_against_champion_is_one_call():
    wb.register_model(_trained(1, 50, 0.4), "m", alias="champion")
    wb.register_model(_trained(2, 45, 0.5), "m", alias="challenger")
    result = wb.compare_models("m")
    assert result.challenger_wins
    assert {r["metric"]: r["better"] for r in result.rows} == {"r2": "challenger", "rmse": "challenger"}
    assert "verdict: challenger is better" in result.to_text()
    worse = wb.register_model(_trained(3, 70, 0.45), "m")
    result = wb.compare_models("m", challenger=str(worse.version))
    assert not result.challenger_wins
    assert {r["metric"]: r["better"] for r in result.rows} == {"r2": "challenger", "rmse": "champion"}


def test_registry_bad_input_names_what_is_accepted():
    run = _trained(1, 50, 0.4)
    with pytest.raises(InvalidInputError, match="model name 'bad name' is not valid"):
        wb.register_model(run, "bad name")
    wb.register_model(run, "m")
    with pytest.raises(NotFoundError, match="model 'm' has no version 9: it has versions 1"):
        wb.set_model_alias("m", "champion", 9)
    with pytest.raises(InvalidInputError, match="an alias cannot be a number"):
        wb.set_model_alias("m", "2", 1)
    with pytest.raises(NotFoundError, match="no registered model named 'nope'"):
        wb.get_model_version("nope@champion")
    with pytest.raises(NotFoundError, match="model 'm' has no alias 'champion': it has no aliases"):
        wb.get_model_version("m@champion")
    with pytest.raises(InvalidInputError, match="is not a model reference"):
        wb.get_model_version("a/b/c")
    with wb.start_run(watch_files=False) as bare:
        wb.log_metric("x", 1)
    with pytest.raises(InvalidInputError, match=r"logged no model \(wb.log_model\)"):
        wb.register_model(bare.run_id, "m")
    with wb.start_run(watch_files=False) as two:
        wb.log_model({"w": 1}, name="a")
        wb.log_model({"w": 2}, name="b")
    with pytest.raises(InvalidInputError, match="logged 2 models; choose one with artifact= \\(a, b\\)"):
        wb.register_model(two.run_id, "m")
    assert wb.register_model(two.run_id, "m", artifact="b").version == 2
    with pytest.raises(InvalidInputError, match="has no output artifact 'c'"):
        wb.register_model(two.run_id, "m", artifact="c")
    assert [v.version for v in wb.models("m")] == [1, 2]  # nothing lost or half-written


_REGISTER = """
import sys, workbench as wb
for _ in range(5):
    wb.register_model(sys.argv[1], "shared")
"""


def test_concurrent_registrations_from_several_processes_get_distinct_versions():
    run = _trained(1, 50, 0.4)
    wb.flush()
    procs = [subprocess.Popen([sys.executable, "-c", _REGISTER, run]) for _ in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    assert [v.version for v in wb.models("shared")] == list(range(1, 21))


def test_models_cli():
    a, b = _trained(1, 50, 0.4), _trained(2, 45, 0.5)
    wb.flush()
    runner = CliRunner()
    assert runner.invoke(cli, ["models"]).output.startswith("no registered models")
    out = runner.invoke(cli, ["models", "register", a[:8], "diabetes", "--alias", "champion"])
    assert out.exit_code == 0 and "registered diabetes version 1" in out.output
    runner.invoke(cli, ["models", "register", b[:8], "diabetes"])
    out = runner.invoke(cli, ["models", "alias", "diabetes", "challenger", "2"])
    assert "diabetes@challenger -> version 2" in out.output
    listing = runner.invoke(cli, ["models"]).output
    assert "@champion" in listing and "@challenger" in listing and "rmse=45" in listing
    out = runner.invoke(cli, ["models", "compare", "diabetes"])
    assert out.exit_code == 0 and "challenger is better" in out.output
    out = runner.invoke(
        cli,
        ["models", "compare", "diabetes", "--challenger", "champion", "--champion", "2", "--format", "json"],
    )
    assert out.exit_code == 1 and json.loads(out.output)["challenger_wins"] is False
    out = runner.invoke(cli, ["models", "alias", "diabetes", "old", "7"])
    assert out.exit_code == 1 and "has no version 7: it has versions 1, 2" in out.output
    out = runner.invoke(cli, ["models", "list", "nope"])
    assert out.exit_code == 1 and "no registered model named 'nope'" in out.output
    assert runner.invoke(cli, ["models", "register", "--help"]).exit_code == 0


def test_a_model_saved_as_a_folder_is_one_version_and_loads_back_as_a_folder(tmp_path):
    saved = tmp_path / "saved"
    (saved / "sub").mkdir(parents=True)
    (saved / "config.json").write_text('{"layers": 2}')
    (saved / "sub" / "weights.bin").write_bytes(b"\x00\x01" * 100)
    with wb.start_run(watch_files=False) as run:
        wb.log_model(saved, name="bert")
        wb.log_metric("loss", 0.1)
    v = wb.register_model(run.run_id, "bert")
    assert v.path == str(saved)
    folder = wb.load_model("bert")
    from pathlib import Path

    assert (Path(folder) / "config.json").read_text() == '{"layers": 2}'
    assert (Path(folder) / "sub" / "weights.bin").read_bytes() == b"\x00\x01" * 100
    assert wb.load_model("bert/1") == folder  # rebuilt once
    files = [a["name"] for a in wb.get_run(run.run_id).artifacts if a["kind"] == "file"]
    assert sorted(files) == ["bert/config.json", "bert/sub/weights.bin"]
