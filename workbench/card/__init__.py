"""Model cards: Markdown with Hugging Face front matter, self-contained HTML, and JSON
that validates against the Model Card Toolkit's schema, filled from a run's record plus
the author's words; ``record`` is that Workbench record itself, as JSON."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..store.store import Store
from .sections import SECTIONS, parse_card_text

FORMATS = ("md", "html", "json", "record")
EXTENSIONS = {"md": "md", "html": "html", "json": "json", "record": "json"}

__all__ = ["FORMATS", "SECTIONS", "build_card", "model_card", "parse_card_text"]


def build_card(ref: str, store: Store, sections: dict[str, Any] | None = None) -> dict[str, Any]:
    """The card's data as a dict (see :func:`workbench.card.build.collect`)."""
    from .build import collect

    return collect(ref, store, sections)


def render(card: dict[str, Any], format: str) -> str:
    """The card in ``format``: md, html, json (Model Card Toolkit) or record (the
    Workbench record it was built from, as JSON)."""
    from . import formats as r

    renderers = {"md": r.to_markdown, "html": r.to_html, "json": r.to_json, "record": r.to_record_json}
    return renderers[check_format(format)](card)


def check_format(format: str) -> str:
    """``format`` if it is one of md, html, json, record, else a clear error."""
    fmt = str(format).lower().lstrip(".")
    fmt = {"markdown": "md"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise InvalidInputError(f"card format {format!r} is not supported; accepted: {', '.join(FORMATS)}")
    return fmt


def model_card(
    ref: str,
    format: str = "md",
    *,
    sections: dict[str, Any] | None = None,
    path: str | os.PathLike[str] | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> str:
    """Build a model card for a run or model version; see :func:`workbench.model_card`."""
    from ..api import open_store as _store

    fmt = check_format(format)
    text = render(build_card(ref, _store(store), sections), fmt)
    if path is not None:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(
                f"cannot write the card to {str(path)!r}: {exc.strerror or exc} (give a path in an existing, "
                "writable folder)"
            ) from None
    return text
