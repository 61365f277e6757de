"""Bad input to the query API is one InvalidInputError naming the argument (Reliability 13)."""

from __future__ import annotations

import pytest

import workbench as wb
from workbench.errors import InvalidInputError


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: wb.runs(experiment=5), "experiment must be a string or a list of strings or None, got 5"),
        (lambda: wb.runs(order_by=5), "order_by must be a string or a list of strings or None, got 5"),
        (lambda: wb.runs(filter=["a"]), "filter must be a string or None"),
        (lambda: wb.runs(limit=True), "limit must be a non-negative integer"),
        (lambda: wb.metric_history("abc", key=5), "key must be a string or a list of strings or None, got 5"),
        (lambda: wb.metric_history(None), "run_ids must be a string or a list of strings, got None"),
    ],
)
def test_reliability_13_api_type_errors_are_one_clear_line(call, message):
    with wb.start_run(name="kept") as run:
        wb.log_metric("loss", 1.0)
    with pytest.raises(InvalidInputError) as err:
        call()
    assert message in str(err.value) and "\n" not in str(err.value)
    # Nothing recorded is lost.
    assert wb.get_run(run.run_id).metrics == {"loss": 1.0}
