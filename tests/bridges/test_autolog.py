"""MLflow autologging (scikit-learn, LightGBM, XGBoost) lands in Workbench: params,
per-iteration metrics and the model, which cards, ``wb.load_model`` and the registry see."""

from __future__ import annotations

import os

import mlflow  # a missing reference library fails the suite, never skips it
import pytest

import workbench as wb


@pytest.fixture(scope="module")
def diabetes():
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X.iloc[:200], y.iloc[:200], X.iloc[200:260], y.iloc[200:260]


def _model_artifact(run_id: str) -> dict:
    models = [a for a in wb.get_run(run_id).artifacts if a["kind"] == "model"]
    assert len(models) == 1, models
    return models[0]


def test_sklearn_autolog(wb_store, diabetes):
    from sklearn.linear_model import Ridge

    X, y, *_ = diabetes
    mlflow.sklearn.autolog(log_input_examples=False, log_model_signatures=False, silent=True)
    try:
        with mlflow.start_run(run_name="ridge") as run:
            Ridge(alpha=0.3).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    rec = wb.get_run(run.info.run_id)
    assert rec.params["alpha"] == "0.3" and rec.status == "finished"
    assert "training_r2_score" in rec.metrics
    model = _model_artifact(run.info.run_id)
    assert model["meta"]["library"] == "sklearn" and model["meta"]["loader"] == "mlflow"
    assert "Ridge" in wb.model_card(run.info.run_id)
    # The registry: mlflow.register_model and aliases are Workbench's registry.
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", "diabetes-ridge")
    mlflow.MlflowClient().set_registered_model_alias("diabetes-ridge", "champion", mv.version)
    v = wb.get_model_version("diabetes-ridge@champion")
    assert v.run_id == run.info.run_id and v.version == 1 and v.sha256 == model["sha256"]
    folder = wb.load_model("diabetes-ridge@champion")
    assert os.path.isfile(os.path.join(folder, "MLmodel"))
    loaded = mlflow.sklearn.load_model("models:/diabetes-ridge@champion")
    assert loaded.predict(X.iloc[:3]).shape == (3,)
    assert mlflow.pyfunc.load_model(folder).predict(X.iloc[:3]).shape == (3,)
    assert "diabetes-ridge" in wb.model_card("diabetes-ridge@champion")


def test_lightgbm_autolog(wb_store, diabetes):
    import lightgbm  # a missing reference library fails the suite, never skips it

    X, y, Xv, yv = diabetes
    mlflow.lightgbm.autolog(log_input_examples=False, log_model_signatures=False, silent=True)
    try:
        with mlflow.start_run(run_name="lgbm") as run:
            train, valid = lightgbm.Dataset(X, y), lightgbm.Dataset(Xv, yv)
            lightgbm.train(
                {"objective": "regression", "num_leaves": 7, "verbose": -1},
                train,
                num_boost_round=15,
                valid_sets=[valid],
                valid_names=["valid"],
            )
    finally:
        mlflow.lightgbm.autolog(disable=True)
    rec = wb.get_run(run.info.run_id)
    assert rec.params["num_leaves"] == "7" and rec.params["num_boost_round"] == "15"
    hist = wb.metric_history(run.info.run_id, "valid-l2")
    assert list(hist.step) == list(range(15))
    assert _model_artifact(run.info.run_id)["meta"]["library"] == "lightgbm"
    assert "Model card" in wb.model_card(run.info.run_id)


def test_xgboost_autolog(wb_store, diabetes):
    import xgboost  # a missing reference library fails the suite, never skips it

    X, y, Xv, yv = diabetes
    mlflow.xgboost.autolog(log_input_examples=False, log_model_signatures=False, silent=True)
    try:
        with mlflow.start_run(run_name="xgb") as run:
            xgboost.train(
                {"max_depth": 3, "eta": 0.3},
                xgboost.DMatrix(X, y),
                num_boost_round=12,
                evals=[(xgboost.DMatrix(Xv, yv), "valid")],
                verbose_eval=False,
            )
    finally:
        mlflow.xgboost.autolog(disable=True)
    rec = wb.get_run(run.info.run_id)
    assert rec.params["max_depth"] == "3"
    hist = wb.metric_history(run.info.run_id, "valid-rmse")
    assert list(hist.step) == list(range(12))
    model = _model_artifact(run.info.run_id)
    assert model["meta"]["library"] == "xgboost"
    assert "xgboost" in wb.model_card(run.info.run_id).lower()
