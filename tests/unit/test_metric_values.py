"""log_metric/log_metrics take deep-learning values: 0-d arrays and tensors (anything with
``item()`` or ``__float__``); bad values are refused in one line, recording nothing.

Neither torch nor jax is installed here, so ``_Tensor`` stands in for them: a class with
only ``item()`` (and ``numel``/``shape`` as torch has), which is all Workbench calls."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import workbench as wb


class _Tensor:
    """What torch.tensor / jax.numpy arrays offer Workbench: item(), raising for several values."""

    def __init__(self, *values: float) -> None:
        self._values = values
        self.shape = (len(values),) if len(values) != 1 else ()

    def item(self) -> float:
        if len(self._values) != 1:
            raise RuntimeError("a Tensor with 2 elements cannot be converted to Scalar")
        return self._values[0]

    def size(self) -> int:
        return len(self._values)


ACCEPTED = [
    (np.array(0.25), 0.25),
    (np.array(3), 3.0),
    (np.array([0.5]), 0.5),  # one element, not 0-d: item() takes it without NumPy's warning
    (np.float32(1.5), 1.5),
    (np.float16(2.0), 2.0),
    (np.int64(7), 7.0),
    (_Tensor(0.125), 0.125),
    (Fraction(1, 4), 0.25),
    (Decimal("2.5"), 2.5),
]


@pytest.mark.filterwarnings("error")  # no DeprecationWarning from NumPy either
def test_arrays_scalars_and_tensors_are_recorded_as_floats():
    with wb.start_run() as run:
        for i, (value, _) in enumerate(ACCEPTED):
            wb.log_metric(f"m{i}", value)
        wb.log_metrics({"dict_a": np.array(1.0), "dict_b": _Tensor(2.0), "dict_c": 3}, step=5)
    rec = wb.get_run(run.run_id)
    assert rec.metrics == {
        **{f"m{i}": expected for i, (_, expected) in enumerate(ACCEPTED)},
        "dict_a": 1.0,
        "dict_b": 2.0,
        "dict_c": 3.0,
    }
    assert wb.metric_history(run.run_id, "dict_b")["step"].tolist() == [5]


@pytest.mark.parametrize(
    "value, says",
    [
        ("0.5", "got '0.5' (str): metric values must be numbers"),
        (None, "got None (NoneType): metric values must be numbers"),
        (
            np.array([1.0, 2.0]),
            "got array([1., 2.]) (ndarray) (it holds 2 values, shape (2,)): metric values",
        ),
        (np.zeros((30, 30)), "(it holds 900 values, shape (30, 30))"),
        (_Tensor(1.0, 2.0), "(_Tensor) (it holds 2 values, shape (2,)): metric values must be numbers"),
        (np.array("a"), "(ndarray): metric values must be numbers"),
        (np.bool_(True), "metric values must be numbers"),
        (np.array(float("nan")), "metric values must be finite numbers"),
        (_Tensor(float("inf")), "metric values must be finite numbers"),
        (complex(1, 2), "got (1+2j) (complex): metric values must be numbers"),
    ],
)
def test_bad_values_get_one_line_and_record_nothing(value, says):
    with wb.start_run() as run:
        wb.log_metric("ok", 1.0)
        with pytest.raises(wb.InvalidInputError) as err:
            wb.log_metric("bad", value)
        assert says in str(err.value) and "\n" not in str(err.value)
        with pytest.raises(wb.InvalidInputError) as err:
            wb.log_metrics({"fine": 2.0, "bad": value})
        assert says in str(err.value)
    assert wb.get_run(run.run_id).metrics == {"ok": 1.0}  # a bad value in a dict records none
