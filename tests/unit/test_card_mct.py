"""The JSON model card is a valid Model Card Toolkit document (Reliability item 11).

The schema is the toolkit's own (``model_card_toolkit/schema/v0.0.2``, from the
``model-card-toolkit`` 2.0.0 wheel that ``make setup`` installs with ``--no-deps``), checked
with jsonschema's format checkers switched on. The toolkit's own ``ModelCard.from_json`` is
also run: importing the package needs TensorFlow, so its three pure-Python modules are
loaded on their own. A missing schema fails these tests; none is skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import re
import sys
import types
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

import workbench as wb
from workbench.card.formats import dataset_link
from workbench.card.sections import parse_card_text
from workbench.errors import InvalidInputError

SCHEMA_VERSION = "0.0.2"


def _mct_root() -> Path:
    # find_spec on the top-level package reads no code: its __init__ imports TensorFlow.
    spec = importlib.util.find_spec("model_card_toolkit")
    assert spec is not None and spec.submodule_search_locations, (
        "model-card-toolkit is not installed: run make setup "
        '(pip install --no-deps "model-card-toolkit==2.0.0")'
    )
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.fixture(scope="module")
def schema() -> dict:
    path = _mct_root() / "schema" / f"v{SCHEMA_VERSION}" / "model_card.schema.json"
    assert path.is_file(), f"the Model Card Toolkit schema is missing: {path}"
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema) -> jsonschema.Draft7Validator:
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    # jsonschema only checks the formats whose libraries are importable: make sure the
    # two the schema uses really are checked (uri needs rfc3987 or rfc3986-validator).
    assert {"date", "uri"} <= set(checker.checkers)
    assert not checker.conforms("2024-05-01 10:00 UTC", "date") and checker.conforms("2024-05-01", "date")
    assert not checker.conforms("<DataFrame train>", "uri") and checker.conforms("file:///d/x.csv", "uri")
    return jsonschema.Draft7Validator(schema, format_checker=checker)


@pytest.fixture
def mct_model_card(monkeypatch):
    """The toolkit's ``ModelCard`` class, loaded without the package ``__init__``
    (TensorFlow, TFMA, ML Metadata) and with a stand-in for the protobuf module, which
    ``from_json`` never uses."""
    root = _mct_root()
    for name, folder in (
        ("model_card_toolkit", root),
        ("model_card_toolkit.utils", root / "utils"),
        ("model_card_toolkit.proto", root / "proto"),
    ):
        init = folder / "__init__.py"
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(folder)]
        pkg.__file__ = str(init)  # validation reads the schema with pkgutil.get_data
        pkg.__spec__ = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(folder)]
        )
        monkeypatch.setitem(sys.modules, name, pkg)
    proto = types.ModuleType("model_card_toolkit.proto.model_card_pb2")
    proto.__getattr__ = lambda attr: type(attr, (), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, proto.__name__, proto)
    for sub in ("base_model_card_field", "utils.validation", "model_card"):
        monkeypatch.delitem(sys.modules, f"model_card_toolkit.{sub}", raising=False)
    module = importlib.import_module("model_card_toolkit.model_card")
    yield module.ModelCard
    for sub in ("base_model_card_field", "utils.validation", "model_card"):
        sys.modules.pop(f"model_card_toolkit.{sub}", None)


def _run(tmp_path, metrics: dict | None = None) -> str:
    from sklearn.linear_model import Ridge

    train = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0.1, 0.9, 2.1, 2.9]})
    train.to_csv(tmp_path / "train data.csv", index=False)  # a space: the link is percent-encoded
    with wb.start_run(name="ridge", params={"alpha": 0.5}, watch_files=False) as run:
        wb.use_dataset(tmp_path / "train data.csv", name="diabetes-train")
        wb.use_dataset(train.iloc[:2], name="diabetes-test", role="evaluation")
        wb.log_model(Ridge(alpha=0.5).fit(train[["x"]], train.y), name="ridge")
        for step in range(5):
            wb.log_metric("loss", 1 / (step + 3), step=step)
        wb.log_metrics(metrics or {"rmse": 53.25, "r2": 0.4375})
    return run.run_id


SECTIONS = {
    "overview": "A ridge regression.",
    "model_details": "Ridge on one feature.",
    "intended_use": "Teaching.",
    "factors": "None studied.",
    "ethical_considerations": "Synthetic data.",
    "caveats": "Small data.",
    "license": "mit",
    "owners": [{"name": "Ada", "contact": "ada@example.com"}, "ML team"],
}


def _errors(validator, doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_reliability_11_json_card_validates_against_the_mct_schema_with_formats(tmp_path, validator):
    run_id = _run(tmp_path)
    version = wb.register_model(run_id, "diabetes", alias="champion")
    for ref in (run_id, "diabetes@champion"):
        doc = json.loads(wb.model_card(ref, format="json", sections=SECTIONS))
        assert _errors(validator, doc) == []
        assert "workbench" not in doc and doc["schema_version"] == SCHEMA_VERSION
    details = doc["model_details"]
    assert details["version"]["name"] == "1"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", details["version"]["date"])
    from datetime import datetime, timezone

    registered = datetime.fromtimestamp(version.created_at / 1000, timezone.utc).date().isoformat()
    assert details["version"]["date"] == registered
    data = {d["name"]: d for d in doc["model_parameters"]["data"]}
    assert data["diabetes-train"]["link"] == (tmp_path / "train data.csv").resolve().as_uri()
    assert "%20" in data["diabetes-train"]["link"]
    assert "link" not in data["diabetes-test"]  # an in-memory DataFrame has no location
    assert "in-memory DataFrame" in data["diabetes-test"]["description"]
    assert data["diabetes-test"]["description"].startswith("evaluation data")


def test_reliability_11_the_validator_rejects_what_the_old_card_wrote(validator):
    # The checks above mean something: each defect of the old card is an error here.
    good = {"schema_version": SCHEMA_VERSION, "model_details": {"name": "m"}}
    assert _errors(validator, good) == []
    for bad in (
        {**good, "workbench": {"run": {}}},
        {**good, "model_details": {"version": {"date": "2024-05-01 10:00 UTC"}}},
        {**good, "model_parameters": {"data": [{"name": "d", "link": "<DataFrame d>"}]}},
        {**good, "quantitative_analysis": {"performance_metrics": [{"type": "r2", "value": 0.5}]}},
    ):
        assert _errors(validator, bad)


def test_reliability_11_the_toolkits_own_from_json_loads_the_card(tmp_path, mct_model_card):
    run_id = _run(tmp_path)
    doc = json.loads(wb.model_card(run_id, format="json", sections=SECTIONS))
    card = mct_model_card()
    card.from_json(doc)  # the toolkit validates (schema) and fills its dataclasses
    owners = card.model_details.owners
    assert [(o.name, o.contact) for o in owners] == [("Ada", "ada@example.com"), ("ML team", None)]
    assert card.model_details.licenses[0].identifier == "mit"
    assert {m.type for m in card.quantitative_analysis.performance_metrics} == {"loss", "rmse", "r2"}
    with pytest.raises(jsonschema.ValidationError, match="'workbench' was unexpected"):
        mct_model_card().from_json({**doc, "workbench": {}})


def test_reliability_11_metric_values_keep_full_precision(tmp_path, validator):
    values = {"rmse": 53.123456789012345, "r2": 0.30186812021759613, "tiny": 1.234567890123e-12}
    doc = json.loads(wb.model_card(_run(tmp_path, values), format="json"))
    got = {m["type"]: m["value"] for m in doc["quantitative_analysis"]["performance_metrics"]}
    for key, value in values.items():
        assert float(got[key]) == value, key
    assert got["loss"] == repr(1 / 7)
    assert _errors(validator, doc) == []


def test_reliability_11_owners_in_the_toolkits_shape_pass_through(tmp_path, validator):
    written = parse_card_text(
        "owners:\n  - name: Ada\n    contact: ada@example.com\n  - ML team\nintended_use: Teaching\n"
    )
    assert written["owners"] == [{"name": "Ada", "contact": "ada@example.com"}, "ML team"]
    doc = json.loads(wb.model_card(_run(tmp_path), format="json", sections=written))
    assert doc["model_details"]["owners"] == [
        {"name": "Ada", "contact": "ada@example.com"},
        {"name": "ML team"},
    ]
    assert _errors(validator, doc) == []
    with pytest.raises(InvalidInputError, match="owner .* is not accepted; give a name, or a mapping"):
        parse_card_text("owners:\n  - team: x\n")


def test_reliability_11_the_workbench_record_is_its_own_format(tmp_path):
    run_id = _run(tmp_path)
    record = json.loads(wb.model_card(run_id, format="record", path=tmp_path / "card.record.json"))
    assert json.loads((tmp_path / "card.record.json").read_text()) == record
    assert record["run"]["run_id"] == run_id and record["params"] == {"alpha": "0.5"}
    assert record["metrics"]["loss"] == 1 / 7 and math.isclose(record["metrics"]["rmse"], 53.25)
    assert {"environment", "lineage", "datasets", "curves", "todo", "sections"} <= set(record)
    assert "svg" not in record["lineage"]
    assert len(record["curves"]["loss"]) == 5


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def test_reliability_11_html_card_never_loads_a_remote_resource(tmp_path):
    pixel = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    sections = {
        "overview": "![loss chart](https://example.com/loss.png) and ![](//cdn.example.com/a.png)",
        "intended_use": '![local](plot.png "a plot")\n\n[docs](https://example.com/docs)',
        "factors": '<link rel="stylesheet" href="https://example.com/s.css">'
        '<script src="https://example.com/a.js"></script><img src="https://example.com/x.png">',
        "caveats": f"![inline]({pixel})\n\n![ref][r]\n\n[r]: https://example.com/ref.png",
    }
    page = wb.model_card(_run(tmp_path), "html", sections=sections)
    assert not re.search(r"""\bsrc\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", page, re.I)
    parser = _Resources()
    parser.feed(page)
    for tag, attrs in parser.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed", "source", "video", "audio")
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/"), attrs
        for name in ("src", "srcset", "poster", "background", "xlink:href"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value or value.startswith(("data:", "#")), (tag, name, value)
        if tag not in ("a", "image", "use"):  # only links point anywhere
            assert "href" not in attrs or (attrs["href"] or "").startswith("#"), (tag, attrs)
    # Remote images became links the reader may follow; the inline one is drawn.
    assert '<a href="https://example.com/loss.png">loss chart</a>' in page
    assert '<a href="https://example.com/ref.png">ref</a>' in page
    assert 'href="plot.png"' in page and f'src="{pixel}"' in page
    assert '<a href="https://example.com/docs">docs</a>' in page
    assert "&lt;link rel=" in page and "&lt;script src=" in page  # raw HTML shown as text


@pytest.mark.parametrize(
    ("path", "link"),
    [
        ("/data/train set.csv", "file:///data/train%20set.csv"),
        ("s3://bucket/a b.parquet", "s3://bucket/a%20b.parquet"),
        ("https://example.com/d.csv?v=2", "https://example.com/d.csv?v=2"),
        ("<DataFrame diabetes-val>", None),
        ("data/train.csv", None),
        ("C:\\data\\train.csv", None),
        ("", None),
    ],
)
def test_reliability_11_dataset_links_are_uris_or_absent(path, link, validator):
    assert dataset_link(path) == link
    if link:
        doc = {"model_parameters": {"data": [{"name": "d", "link": link}]}}
        assert _errors(validator, doc) == []
