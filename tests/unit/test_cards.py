"""Model cards: Hugging Face Markdown, self-contained HTML, Model Card Toolkit JSON."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner
from huggingface_hub import ModelCard

import workbench as wb
from workbench.card.sections import parse_card_text
from workbench.cli import cli
from workbench.errors import InvalidInputError

MCT_FIELDS = {"model_details", "model_parameters", "quantitative_analysis", "considerations"}


def _run(tmp_path, sections: dict | None = None) -> str:
    from sklearn.linear_model import Ridge

    train = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0.1, 0.9, 2.1, 2.9]})
    train.to_csv(tmp_path / "train.csv", index=False)
    with wb.start_run(name="ridge", params={"alpha": 0.5}, watch_files=False) as run:
        wb.use_dataset(tmp_path / "train.csv", name="diabetes-train")
        wb.use_dataset(train.iloc[:2], name="diabetes-test")
        wb.log_model(Ridge(alpha=0.5).fit(train[["x"]], train.y), name="ridge")
        for step in range(20):
            wb.log_metric("loss", 1 / (step + 1), step=step)
        wb.log_metrics({"rmse": 53.25, "r2": 0.4375})
    return run.run_id


def test_markdown_card_parses_with_huggingface_hub_and_reports_the_run(tmp_path):
    run_id = _run(tmp_path)
    wb.register_model(run_id, "diabetes", alias="champion")
    md = wb.model_card("diabetes@champion", sections={"intended_use": "Teaching.", "license": "mit"})
    card = ModelCard(md)
    assert card.data.library_name == "sklearn" and card.data.license == "mit"
    assert card.data.model_name == "diabetes"
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert results == {"loss": 0.05, "r2": 0.4375, "rmse": 53.25}
    first = card.data.eval_results[0]
    assert (first.task_type, first.dataset_name) == ("tabular-regression", "diabetes-test")
    body = card.text
    headings = re.findall(r"^## (.+)$", body, re.M)
    assert headings == [
        "Model Details",
        "Intended Use",
        "Factors",
        "Metrics",
        "Evaluation Data",
        "Training Data",
        "Quantitative Analyses",
        "Ethical Considerations",
        "Caveats and Recommendations",
        "To do",
    ]
    assert "Teaching." in body and "diabetes version 1 @champion" in body
    todo = body.split("## To do")[1]
    assert "- [ ] Factors" in todo and "Intended Use" not in todo  # empty sections listed, not dropped
    assert "| x | DOUBLE | 0 | 4 |" in body  # the training data profile


def test_html_card_is_self_contained_with_charts(tmp_path):
    html = wb.model_card(_run(tmp_path), "html", path=tmp_path / "card.html")
    assert (tmp_path / "card.html").read_text() == html
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", html, re.I)
    assert html.count("<svg") == 2  # the metric curves and the lineage graph
    assert "Metric curves" in html and "diabetes-train" in html


def test_json_card_has_the_model_card_toolkit_fields(tmp_path):
    data = json.loads(wb.model_card(_run(tmp_path), "json", sections={"caveats": "Small data."}))
    assert MCT_FIELDS <= set(data)
    assert data["model_details"]["name"] == "ridge"
    assert data["model_parameters"]["model_architecture"] == "sklearn.linear_model._ridge.Ridge"
    assert {d["name"] for d in data["model_parameters"]["data"]} == {"diabetes-train", "diabetes-test"}
    metrics = {m["type"]: m["value"] for m in data["quantitative_analysis"]["performance_metrics"]}
    assert metrics["rmse"] == "53.25"
    assert {"description": "Small data."} in data["considerations"]["limitations"]


def test_card_bad_input(tmp_path):
    with pytest.raises(wb.RunNotFoundError):
        wb.model_card("ffffffff")
    with wb.start_run(watch_files=False) as bare:
        wb.log_param("a", 1)
    with pytest.raises(InvalidInputError, match="has no metrics: a model card reports"):
        wb.model_card(bare.run_id)
    run_id = _run(tmp_path)
    with pytest.raises(
        InvalidInputError, match="card format 'pdf' is not supported; accepted: md, html, json"
    ):
        wb.model_card(run_id, "pdf")
    with pytest.raises(
        InvalidInputError, match="'Summary' is not a model card section; accepted: Model Details"
    ):
        wb.model_card(run_id, sections={"Summary": "x"})


def test_card_cli(tmp_path):
    run_id = _run(tmp_path)
    wb.flush()
    (tmp_path / "words.md").write_text("## Intended Use\nDemos.\n")
    runner = CliRunner()
    out = runner.invoke(cli, ["card", run_id[:8], "--sections", str(tmp_path / "words.md")])
    assert out.exit_code == 0 and out.output.startswith("---\n") and "Demos." in out.output
    out = runner.invoke(cli, ["card", run_id[:8], "--format", "html", "-o", str(tmp_path / "c.html")])
    assert out.exit_code == 0 and (tmp_path / "c.html").read_text().startswith("<!DOCTYPE html>")
    out = runner.invoke(cli, ["card", "nope/1"])
    assert out.exit_code == 1 and "no registered model named 'nope'" in out.output


def test_card_sections_parse_yaml_and_markdown():
    assert parse_card_text("intended_use: Teaching\nCaveats: |\n  Small.\ntags: [a, b]\n") == {
        "intended_use": "Teaching",
        "caveats_and_recommendations": "Small.",
        "tags": ["a", "b"],
    }
    md = "A short overview.\n\n## Intended Use\nDemos.\n\n### Ethical considerations\nNone.\n"
    assert parse_card_text(md) == {
        "overview": "A short overview.",
        "intended_use": "Demos.",
        "ethical_considerations": "None.",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("intended_use: ok\nfactors: [unclosed\nmetrics: x\n", "line 3: invalid YAML"),
        ("intended_use: a: b\n", "line 1: invalid YAML"),
        ("just a sentence", "line 1: expected a YAML mapping"),
        ("## Intended Use\nx\n## Pricing\ny\n", "line 3: heading 'Pricing' is not a model card section"),
        ("summary: x\n", "'summary' is not a model card section"),
    ],
)
def test_bad_card_text_names_the_line(text, message):
    with pytest.raises(InvalidInputError, match=message):
        parse_card_text(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "# notes for the ridge model\nintended_use: teaching",
            {"intended_use": "teaching"},
        ),  # a YAML comment
        (
            "## Intended Use\n```python\n# load the model\nm = 1\n```\n## Factors\nnone",
            {"intended_use": "```python\n# load the model\nm = 1\n```", "factors": "none"},
        ),
        (
            "# My model card\n\nShort.\n\n## Intended Use\nx\n### Primary uses\nDemos",
            {"overview": "Short.", "intended_use": "x\n### Primary uses\nDemos"},
        ),
        ("language: [en, fr]\nlicense: mit", {"language": ["en", "fr"], "license": "mit"}),
    ],
)
def test_card_text_titles_comments_code_and_subheadings(text, expected):
    assert parse_card_text(text) == expected


def test_a_deleted_runs_card_still_builds_and_says_so_and_it_cannot_be_registered(tmp_path):
    run_id = _run(tmp_path)
    wb.register_model(run_id, "m", alias="champion")
    wb.delete_run(run_id)
    md = wb.model_card("m@champion")
    assert "The training run has been deleted" in md
    with pytest.raises(InvalidInputError, match="is deleted; restore it"):
        wb.register_model(run_id, "m")


def test_card_written_to_a_missing_folder_is_one_clear_error(tmp_path):
    run_id = _run(tmp_path)
    with pytest.raises(InvalidInputError, match="cannot write the card to .*existing, writable folder"):
        wb.model_card(run_id, path=tmp_path / "no" / "such" / "card.md")


def test_language_list_reaches_the_front_matter(tmp_path):
    card = ModelCard(wb.model_card(_run(tmp_path), sections={"language": ["en", "fr"]}))
    assert card.data.language == ["en", "fr"]


def test_card_facts_params_per_estimator_lineage_and_the_caveats_the_record_shows(tmp_path):
    with wb.start_run(name="prep") as prep:
        (tmp_path / "data.csv").write_text("x,y\n0,1\n1,2\n2,3\n")
    with pytest.raises(RuntimeError), wb.start_run(name="fit", params={"lr": 1, "Ridge.alpha": 0.5}) as run:
        run.set_context(
            notebook_path="/work/train.ipynb",
            git_commit="abcdef1234567890",
            git_branch="main",
            git_dirty=True,
        )
        pd.read_csv(tmp_path / "data.csv")
        wb.log_param("Ridge.fit_intercept", True)
        wb.log_model({"w": [1, 2]}, name="model")
        wb.log_metrics({"rmse": 2.5, "r2": 0.5})
        (tmp_path / "preds.csv").write_text("p\n1\n")
        raise RuntimeError("stopped before the end")
    with wb.start_run(name="report") as report:
        (tmp_path / "preds.csv").read_text()
    wb.flush()
    md = wb.model_card(run.run_id)
    sha = wb.get_run(run.run_id).artifacts
    model_sha = next(a["sha256"] for a in sha if a["kind"] == "model")
    assert f"(sha256 {model_sha[:12]}, " in md.split("- **Model file**: ")[1].splitlines()[0]
    assert "- **Notebook**: /work/train.ipynb" in md
    assert "- **Git**: abcdef123456 on main, uncommitted changes" in md
    assert "**Ridge**: `alpha=0.5`, `fit_intercept=True`" in md  # one line per estimator
    assert "| lr | 1 |" in md
    assert "| rmse | 2.5 | lower is better |" in md and "| r2 | 0.5 | higher is better |" in md
    assert f"Upstream runs: prep ({prep.run_id[:8]})" in md
    assert f"Downstream runs: report ({report.run_id[:8]})" in md
    caveats = md.split("## Caveats and Recommendations")[1].split("## To do")[0]
    assert "- The code had uncommitted changes when the model was trained (git state dirty)." in caveats
    assert "- The training run ended with status 'failed'." in caveats
    assert "- No evaluation dataset was recorded; the metrics' data is not documented." in caveats


def test_a_card_built_later_reads_the_card_cell_of_the_runs_notebook_snapshot(tmp_path):
    import hashlib

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = tmp_path / "train.ipynb"
    cells = [
        "x = 1",
        "%%card\nintended_use: Read back from the snapshot.\n",
        "%%card\nfactors: The last cell wins.\n",
    ]
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), nb)
    with wb.start_run(name="fit") as run:
        wb.log_artifact(nb)  # the snapshot blob, stored by its sha256 as %%track stores it
        run.set_context(notebook_path=str(nb), notebook_sha=hashlib.sha256(nb.read_bytes()).hexdigest())
        wb.log_metric("rmse", 1.0)
    wb.flush()
    md = wb.model_card(run.run_id)
    assert "The last cell wins." in md.split("## Factors")[1].split("##")[0]
    assert "Read back from the snapshot." not in md
