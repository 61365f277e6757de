"""The sections of a model card (Mitchell et al., "Model Cards for Model Reporting") and
the parser for the author's own words: a ``%%card`` cell in YAML or Markdown."""

from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidInputError

#: (key, heading) in the paper's order.
SECTIONS: list[tuple[str, str]] = [
    ("model_details", "Model Details"),
    ("intended_use", "Intended Use"),
    ("factors", "Factors"),
    ("metrics", "Metrics"),
    ("evaluation_data", "Evaluation Data"),
    ("training_data", "Training Data"),
    ("quantitative_analyses", "Quantitative Analyses"),
    ("ethical_considerations", "Ethical Considerations"),
    ("caveats_and_recommendations", "Caveats and Recommendations"),
]
HEADINGS = dict(SECTIONS)
#: Keys besides the sections: card metadata the author may set.
META_KEYS = ("overview", "license", "tags", "language", "task", "owners", "model_name")
_ALIASES = {
    "caveats": "caveats_and_recommendations",
    "recommendations": "caveats_and_recommendations",
    "caveats_recommendations": "caveats_and_recommendations",
    "quantitative_analysis": "quantitative_analyses",
    "ethics": "ethical_considerations",
    "ethical_consideration": "ethical_considerations",
    "intended_uses": "intended_use",
    "details": "model_details",
    "description": "overview",
}


def normalize_key(text: str) -> str | None:
    """The section or metadata key a heading or YAML key names, or None."""
    key = re.sub(r"[^a-z0-9]+", "_", str(text).lower().replace("&", "and")).strip("_")
    key = _ALIASES.get(key, key)
    return key if key in HEADINGS or key in META_KEYS else None


def accepted() -> str:
    """The accepted section names, for error messages."""
    return ", ".join(h for _, h in SECTIONS) + "; and " + ", ".join(META_KEYS)


def parse_card_text(text: str, where: str = "%%card", first_line: int = 1) -> dict[str, Any]:
    """Parse the author's card text: a YAML mapping (``intended_use: ...``) or Markdown
    with one heading per section (``## Intended Use``). Text before the first heading
    is the overview. ``first_line`` is the number errors give the text's first line
    (2 in a ``%%card`` cell, whose first line is the magic).

    Raises
    ------
    InvalidInputError
        Invalid YAML (naming the line), a heading or key that is not a card section
        (naming it and listing the accepted ones), or YAML that is not a mapping.
    """
    body = text.rstrip()
    if not body.strip():
        return {}
    # Markdown when a heading names a section; otherwise YAML (whose comments also
    # start with '#').
    if any(normalize_key(text) for _, _, text in _headings(body)):
        return _parse_markdown(body, where, first_line - 1)
    return _parse_yaml(body, where, first_line - 1)


_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")


def _headings(body: str) -> list[tuple[int, int, str]]:
    """``(line index, level, text)`` of the Markdown headings outside fenced code."""
    out = []
    fence: str | None = None
    for i, line in enumerate(body.splitlines()):
        m = _FENCE.match(line)
        if m:
            fence = None if fence == m.group(1) else fence or m.group(1)
            continue
        if fence is None and (h := _HEADING.match(line)):
            out.append((i, len(h.group(1)), h.group(2)))
    return out


def _parse_markdown(body: str, where: str, offset: int) -> dict[str, Any]:
    """Split at the headings that name sections. A deeper heading inside a section is
    part of its text; a top ``# Title`` before the first section is dropped (the card
    has its own title); any other heading is an error naming its line."""
    lines = body.splitlines()
    starts: dict[int, str] = {}
    section_level: int | None = None
    for i, level, text in _headings(body):
        key = normalize_key(text)
        if key:
            starts[i], section_level = key, level
        elif section_level is not None and level > section_level:
            continue  # a sub-heading of the current section
        elif section_level is None and level == 1 and not starts:
            starts[i] = ""  # the document's title
        else:
            raise InvalidInputError(
                f"{where}: line {i + 1 + offset}: heading {text!r} is not a model card section; accepted: {accepted()}"
            )
    out: dict[str, Any] = {}
    key, buf = "overview", []
    for i, line in enumerate(lines):
        if i in starts:
            if key:
                _put(out, key, "\n".join(buf).strip())
            key, buf = starts[i] or "overview", []
        else:
            buf.append(line)
    _put(out, key, "\n".join(buf).strip())
    return check_sections(out, where)


def _put(out: dict[str, Any], key: str, text: str) -> None:
    if text:
        out[key] = f"{out[key]}\n\n{text}" if key in out else text


def _parse_yaml(body: str, where: str, offset: int) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f"line {mark.line + 1 + offset}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInputError(
            f"{where}: {line}invalid YAML ({problem}); write 'section: text' lines, or Markdown with "
            "'## Section' headings"
        ) from None
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"{where}: line {1 + offset}: expected a YAML mapping of section: text (or Markdown with '## Section' "
            f"headings), got {type(data).__name__}"
        )
    return check_sections(data, where)


def check_sections(data: dict[str, Any], where: str = "sections") -> dict[str, Any]:
    """Normalize keys (``Intended Use`` -> ``intended_use``) and check every key is a
    section or a metadata field; values become text (lists become bullet lists)."""
    if not isinstance(data, dict):
        raise InvalidInputError(f"{where} must be a dict of section name -> text, got {type(data).__name__}")
    out: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = normalize_key(raw_key)
        if key is None:
            raise InvalidInputError(
                f"{where}: {raw_key!r} is not a model card section; accepted: {accepted()}"
            )
        if value is None:
            continue
        if key == "owners":
            out[key] = [_owner(v, where) for v in (value if isinstance(value, (list, tuple)) else [value])]
        elif key in ("tags", "language"):
            out[key] = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
        elif isinstance(value, (list, tuple)):
            out[key] = "\n".join(f"- {v}" for v in value)
        elif isinstance(value, dict):
            out[key] = "\n".join(f"- **{k}**: {v}" for k, v in value.items())
        else:
            out[key] = str(value).strip()
    return out


def _owner(value: Any, where: str) -> str | dict[str, str]:
    """An owner: a name, or the Model Card Toolkit's ``{name, contact}``."""
    if not isinstance(value, dict):
        return str(value)
    unknown = [k for k in value if k not in ("name", "contact")]
    if unknown or not value.get("name"):
        raise InvalidInputError(
            f"{where}: owner {value!r} is not accepted; give a name, or a mapping with 'name' "
            "and optionally 'contact'"
        )
    return {k: str(v) for k, v in value.items() if v is not None}
