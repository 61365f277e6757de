"""The demo: a real scikit-learn sweep on the diabetes data that ships with scikit-learn.

It writes a small notebook (parameters cell, one ``%%track`` cell training a gradient
boosting regressor) and sweeps it through papermill, so every demo run has a notebook
snapshot: it can be compared, rerun and reproduced like any run of your own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DEMO_EXPERIMENT = "diabetes-demo"
DEMO_GRID = {"learning_rate": [0.05, 0.1], "max_depth": [2, 3], "subsample": [0.7, 1.0]}

_TRAIN = """%%track --experiment {experiment} --metrics rmse,mae,r2 --tags dataset=sklearn.load_diabetes
import numpy as np
import workbench as wb
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

X, y = load_diabetes(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0)
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
rmse"""


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
