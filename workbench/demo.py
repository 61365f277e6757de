"""The demo: a real scikit-learn sweep on the diabetes data that ships with scikit-learn.

It writes a small notebook (parameters cell, one ``%%track`` cell training a gradient
boosting regressor on recorded datasets, a ``%%card`` cell) and sweeps it through
papermill, so every demo run has a notebook snapshot: it can be compared, rerun and
reproduced like any run of your own. The best two runs are registered as the
``diabetes`` model's champion and challenger, and the champion's card is exported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEMO_EXPERIMENT = "diabetes-demo"
DEMO_GRID = {"learning_rate": [0.05, 0.1], "max_depth": [2, 3], "subsample": [0.7, 1.0]}

_TRAIN = """%%track --experiment {experiment} --metrics rmse,mae,r2 --tags dataset=sklearn.load_diabetes,objective=rmse
import numpy as np
import workbench as wb
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

data = load_diabetes(as_frame=True).frame
train, val = train_test_split(data, test_size=0.25, random_state=0)
wb.use_dataset(train, name="diabetes-train")
wb.use_dataset(val, name="diabetes-val", role="evaluation")
X_train, y_train = train.drop(columns="target"), train.target
X_val, y_val = val.drop(columns="target"), val.target
model = GradientBoostingRegressor(
    n_estimators=n_estimators, learning_rate=learning_rate, max_depth=max_depth, subsample=subsample, random_state=0
)
model.fit(X_train, y_train)
for step, staged in enumerate(model.staged_predict(X_val)):
    wb.log_metric("val_rmse", float(np.sqrt(mean_squared_error(y_val, staged))), step=step)
pred = model.predict(X_val)
rmse = float(np.sqrt(mean_squared_error(y_val, pred)))
mae = float(mean_absolute_error(y_val, pred))
r2 = float(r2_score(y_val, pred))
wb.log_model(model, name="gbr")
rmse"""

_CARD = """%%card
## Model Details
Gradient-boosted trees predicting disease progression one year after baseline from ten
clinical measurements (scikit-learn's diabetes data).

## Intended Use
A demonstration of Workbench. Not for clinical decisions.

## Factors
Age and sex are inputs; performance was not evaluated per subgroup.

## Ethical Considerations
442 patients from one study; results may not transfer to other populations.

## Caveats and Recommendations
The validation split has 111 rows, so metrics move with the split and the seed."""


def write_demo_notebook(directory: Path, experiment: str = DEMO_EXPERIMENT, n_estimators: int = 150) -> Path:
    """Write the demo notebook into ``directory`` and return its path."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    params = new_code_cell(
        f"learning_rate = 0.1\nmax_depth = 3\nsubsample = 1.0\nn_estimators = {int(n_estimators)}"
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        new_markdown_cell(
            "# Diabetes: gradient boosting\n\nThe Workbench demo. `workbench demo` sweeps the "
            "parameters below; each execution is one run with a validation-RMSE curve."
        ),
        params,
        new_code_cell("%load_ext workbench"),
        new_code_cell(_TRAIN.format(experiment=experiment)),
        new_markdown_cell("The model card's own words (`workbench card RUN` fills in the rest)."),
        new_code_cell(_CARD),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{experiment}.ipynb"
    nbformat.write(nb, path)
    return path


def run_demo_sweep(
    directory: Path,
    experiment: str = DEMO_EXPERIMENT,
    n_estimators: int = 150,
    jobs: int = 2,
    progress: bool = True,
) -> Any:
    """Write the demo notebook and sweep it over :data:`DEMO_GRID` (8 runs).

    Returns
    -------
    Sweep
        Finished; ``.results`` holds its runs ordered by RMSE.
    """
    from .rerun import sweep

    path = write_demo_notebook(directory, experiment, n_estimators)
    return sweep(path, DEMO_GRID, jobs=jobs, order_by="metrics.rmse ASC", wait=True, progress=progress)


def register_and_card(results: Any, directory: Path, model: str = "diabetes") -> list[Path]:
    """Register the sweep's best run as ``champion`` and the runner-up as ``challenger``
    of ``model``, and write the champion's model card as Markdown and HTML into
    ``directory``. Returns the card paths."""
    from .card import model_card
    from .registry import register_model

    ids = list(results["run_id"])
    if not ids:
        return []
    register_model(ids[0], model, alias="champion")
    if len(ids) > 1:
        register_model(ids[1], model, alias="challenger")
    paths = []
    for fmt in ("md", "html"):
        path = directory / f"{model}-model-card.{fmt}"
        model_card(f"{model}@champion", fmt, path=path)
        paths.append(path)
    return paths


def summary_columns(df: Any) -> list[str]:
    """The metric and parameter columns the demo prints: the metrics every run has (a
    curve whose last value repeats a final metric, like ``val_rmse`` beside ``rmse``, is
    left out) and the swept parameters."""
    from .api import describe_columns

    info = describe_columns(df)
    metrics: list[str] = []
    for name in info["default_metrics"]:
        col = df[f"metrics.{name}"]
        if not any(col.round(9).equals(df[f"metrics.{m}"].round(9)) for m in metrics):
            metrics.append(name)
    return [f"metrics.{m}" for m in metrics] + [f"params.{p}" for p in info["default_params"]]
