"""The demo: a real scikit-learn sweep on the diabetes data that ships with scikit-learn."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from . import tracking

DEMO_EXPERIMENT = "diabetes-demo"
DEMO_GRID = {"learning_rate": [0.05, 0.1], "max_depth": [2, 3], "subsample": [0.7, 1.0]}


def run_demo_sweep(
    experiment: str = DEMO_EXPERIMENT,
    n_estimators: int = 150,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[str]:
    """Train a gradient-boosting regressor on every combination of :data:`DEMO_GRID`.

    Each combination is one run with its parameters, the validation RMSE after every
    boosting stage (a per-step curve), and final RMSE, MAE and R² metrics.

    Parameters
    ----------
    experiment
        Experiment the runs are recorded under.
    n_estimators
        Boosting stages per run (the length of each curve).
    progress
        Called as ``progress(done, total, run_name)`` after each run.

    Returns
    -------
    list of str
        The run ids, in the order they were recorded.
    """
    import numpy as np
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
    from sklearn.model_selection import train_test_split

    X, y = load_diabetes(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0)
    combos = list(itertools.product(*DEMO_GRID.values()))
    run_ids = []
    for i, values in enumerate(combos, start=1):
        params = dict(zip(DEMO_GRID, values))
        name = "gbr-" + "-".join(f"{k[:2]}{v}" for k, v in params.items())
        with tracking.start_run(
            name=name,
            experiment=experiment,
            params={**params, "n_estimators": n_estimators, "model": "GradientBoostingRegressor"},
            tags={"dataset": "sklearn.load_diabetes", "demo": "true"},
        ) as run:
            model = GradientBoostingRegressor(n_estimators=n_estimators, random_state=0, **params)
            model.fit(X_train, y_train)
            for step, pred in enumerate(model.staged_predict(X_val)):
                run.log_metric("val_rmse", float(np.sqrt(mean_squared_error(y_val, pred))), step=step)
            pred = model.predict(X_val)
            run.log_metrics(
                {
                    "rmse": float(np.sqrt(mean_squared_error(y_val, pred))),
                    "mae": float(mean_absolute_error(y_val, pred)),
                    "r2": float(r2_score(y_val, pred)),
                }
            )
            run_ids.append(run.run_id)
        if progress is not None:
            progress(i, len(combos), name)
    tracking.flush()
    return run_ids
