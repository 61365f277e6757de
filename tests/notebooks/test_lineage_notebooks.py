"""Lineage, model cards and the registry from notebooks executed in real kernels."""

from __future__ import annotations

import pytest
from huggingface_hub import ModelCard
from nbclient.exceptions import CellExecutionError

import workbench as wb

from .conftest import execute, execute_example, text_of

pytestmark = pytest.mark.slow


def _run_named(name):
    df = wb.runs(f"attributes.run_name = '{name}'")
    assert len(df) == 1, df
    return wb.get_run(df["run_id"].iloc[0])


def test_lineage_across_two_notebooks_is_found_without_declaring_files(session_notebook, tmp_path):
    writer = session_notebook(
        "prepare.ipynb",
        [
            "%load_ext workbench\nimport pandas as pd\nfrom sklearn.datasets import load_diabetes",
            "%%track --name prepare\n"
            "df = load_diabetes(as_frame=True).frame\n"
            "df[df.age > 0].to_csv('clean.csv', index=False)",
        ],
    )
    execute(writer)
    reader = session_notebook(
        "train.ipynb",
        [
            "%load_ext workbench\nimport pandas as pd\nimport workbench as wb",
            "%%track --name train --metrics rmse\n"
            "from sklearn.linear_model import Ridge\n"
            "data = pd.read_csv('clean.csv')\n"
            "model = Ridge().fit(data.drop(columns='target'), data.target)\n"
            "rmse = float(((model.predict(data.drop(columns='target')) - data.target) ** 2).mean() ** 0.5)\n"
            "wb.log_model(model, name='ridge')",
            "%wb lineage train",
            "%wb lineage train --format text",
        ],
    )
    # `%wb lineage train` takes a run id; give it the real id once the run exists.
    nb = execute(reader, allow_errors=True)
    prepare, train = _run_named("prepare"), _run_named("train")
    assert wb.lineage(train.run_id).upstream_runs == [prepare.run_id]
    assert wb.lineage(prepare.run_id).downstream_runs == [train.run_id]
    (written,) = [a for a in prepare.artifacts if a["direction"] == "output"]
    (read,) = [a for a in train.artifacts if a["direction"] == "input"]
    assert written["sha256"] == read["sha256"] and read["path"] == str(tmp_path / "clean.csv")
    import pandas as pd

    assert read["meta"]["rows"] == len(pd.read_csv(tmp_path / "clean.csv")) and read["meta"]["detected"]
    assert "no run matches 'train'" in text_of(nb.cells[2])  # a name is not an id: a clear error

    nb.cells[2].source = f"%wb lineage {train.run_id[:8]}"
    nb.cells[3].source = f"%wb lineage {train.run_id[:8]} --format text"
    import nbformat

    nbformat.write(nb, reader)
    nb = execute(reader)
    drawn = [o for o in nb.cells[2].outputs if o.get("output_type") == "execute_result"][0]
    svg = drawn["data"]["text/html"]
    assert "<svg" in svg and f'data-run-id="{prepare.run_id}"' in svg
    assert f"written by run {prepare.run_id[:8]} prepare" in text_of(nb.cells[3])


def test_card_cell_models_and_card_export_in_a_notebook(session_notebook, tmp_path):
    path = session_notebook(
        "card.ipynb",
        [
            "%load_ext workbench\nimport workbench as wb",
            "%%track --name fit --metrics rmse\n"
            "from sklearn.linear_model import Ridge\n"
            "model = Ridge().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.2])\n"
            "rmse = 0.25\n"
            "wb.log_model(model, name='ridge')",
            "%%card\n"
            "intended_use: Showing how cards work.\n"
            "ethical_considerations: None; synthetic data.\n"
            "license: apache-2.0\n",
            "%wb models register fit diabetes --alias champion",
            "rid = wb.last_run().run_id\n"
            "get_ipython().run_line_magic('wb', f'models register {rid[:8]} diabetes --alias champion')",
            "%wb models",
            "%wb card diabetes@champion -o card.md",
            "%wb card diabetes@champion --format html",
        ],
    )
    nb = execute(path, allow_errors=True)
    assert "stored with run" in text_of(nb.cells[2])
    assert "no run matches 'fit'" in text_of(nb.cells[3])
    assert "registered diabetes version 1" in text_of(nb.cells[4])
    assert "@champion" in text_of(nb.cells[5])
    assert "wrote card.md" in text_of(nb.cells[6])
    card = ModelCard((tmp_path / "card.md").read_text())
    assert card.data.license == "apache-2.0"
    assert {r.metric_type: r.metric_value for r in card.data.eval_results} == {"rmse": 0.25}
    assert "Showing how cards work." in card.text and "- [ ] Factors" in card.text
    html = nb.cells[7].outputs[0]["data"]["text/html"]
    assert html.startswith("<!DOCTYPE html>") and "None; synthetic data." in html


def test_a_card_cell_with_invalid_yaml_names_the_line_and_loses_nothing(session_notebook):
    path = session_notebook(
        "bad.ipynb",
        [
            "%load_ext workbench\nimport workbench as wb",
            "%%track --name kept --metrics rmse\nrmse = 1.5",
            "%%card\nintended_use: fine\nfactors: [not closed\n",
        ],
    )
    with pytest.raises(CellExecutionError) as err:
        execute(path)
    assert "line 3: invalid YAML" in str(err.value)
    rec = _run_named("kept")
    assert rec.metrics == {"rmse": 1.5} and rec.status == "finished"
    assert "intended_use" not in wb.get_run(rec.run_id).tags


def test_model_card_example_notebook_runs(tmp_path, monkeypatch):
    """notebooks/model_card.ipynb, executed as a user would: trains, registers, exports."""
    _, errors = execute_example("model_card.ipynb", tmp_path, monkeypatch)
    assert errors == []
    versions = wb.models("diabetes")
    assert [v.version for v in versions] == [1, 2]
    champion = wb.get_model_version("diabetes@champion")
    card = ModelCard((tmp_path / "model_card.md").read_text())
    assert card.data.license == "mit" and card.data.model_name == "diabetes"
    assert {r.metric_type: r.metric_value for r in card.data.eval_results} == champion.metrics
    assert "Not for clinical decisions." in card.text
    assert "<script" not in (tmp_path / "model_card.html").read_text()
    prepare = _run_named("prepare")
    assert wb.lineage(champion.run_id).upstream_runs == [prepare.run_id]
