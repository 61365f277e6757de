"""Escaping for every text/html output Workbench writes: the static widget fallbacks, the
compare view's charts, the lineage SVG and the HTML model card.

Run names, parameters, tags, metric keys and dataset names are user text, and a saved
notebook shows its text/html outputs without a kernel, so text goes through
:func:`text` and JSON placed inside a ``<script>`` goes through :func:`script_json`.
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["ScriptJSONEncoder", "escape_script_json", "script_json", "text"]

# JSON is valid JavaScript once these are escaped: '<' ends "</script>" and opens "<!--",
# '>' and '&' matter in XHTML and attribute contexts, and U+2028/U+2029 are line
# terminators in older JavaScript. Each becomes a \\uXXXX escape, which JSON.parse and
# JavaScript read back as the same character.
_SCRIPT_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def escape_script_json(encoded: str) -> str:
    """Already-encoded JSON made safe to place between ``<script>`` and ``</script>``."""
    return encoded.translate(_SCRIPT_ESCAPES)


def script_json(obj: Any, **kwargs: Any) -> str:
    """``obj`` as JSON that can sit inside a ``<script>`` element.

    Parameters
    ----------
    obj
        Anything :func:`json.dumps` accepts.
    **kwargs
        Passed to :func:`json.dumps` (``indent``, ``default``...).

    Returns
    -------
    str
        JSON with ``<``, ``>``, ``&``, U+2028 and U+2029 written as ``\\uXXXX`` escapes,
        so no value can close the script (``</script>``) or open a comment; parsing it
        gives back ``obj`` unchanged.
    """
    return escape_script_json(json.dumps(obj, **kwargs))


class ScriptJSONEncoder(json.JSONEncoder):
    """A :class:`json.JSONEncoder` whose output is :func:`script_json`'s: for libraries
    that take a ``cls`` for their own ``json.dumps`` (altair's ``json_kwds``)."""

    def encode(self, o: Any) -> str:
        return escape_script_json(super().encode(o))

    def iterencode(self, o: Any, _one_shot: bool = False) -> Any:
        return (escape_script_json(chunk) for chunk in super().iterencode(o, _one_shot))


def text(value: Any) -> str:
    """``str(value)`` escaped for HTML text and quoted attribute values (``<``, ``>``,
    ``&``, ``"`` and ``'``)."""
    return html.escape(str(value), quote=True)
