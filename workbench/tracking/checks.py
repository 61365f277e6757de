"""The input checks of the tracking API: names and text a run is given (refused unless
UTF-8 can encode them), metric values and steps, statuses, and the cleaning of text
Workbench records by itself (which is escaped, never refused)."""

from __future__ import annotations

from collections.abc import Mapping
from operator import index as _as_index
from typing import Any

from ..errors import InvalidInputError

__all__ = [
    "STATUSES",
    "bad_key",
    "check_key_values",
    "check_status",
    "check_text",
    "clean_text",
    "clean_values",
    "to_float",
    "to_step",
    "too_big",
]

STATUSES = ("finished", "failed", "killed")


def bad_key(what: str, key: Any) -> InvalidInputError:
    return InvalidInputError(f"{what} names must be non-empty strings, got {key!r} ({type(key).__name__})")


def check_text(what: str, text: str) -> None:
    """Refuse ``text`` unless it is valid Unicode that UTF-8 can encode: a lone surrogate
    (bytes decoded with ``errors="surrogateescape"``, a bad ``\\udcxx`` escape) would be
    accepted here and then fail every later write of the process."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InvalidInputError(
                f"{what} {text[:200]!r} is not valid text: {text[e.start]!r} at position {e.start} is a "
                "lone surrogate, which UTF-8 cannot encode (often bytes decoded with "
                "errors='surrogateescape'); pass valid Unicode text"
            ) from None


def check_key_values(what: str, mapping: Any) -> dict[str, str]:
    """Every key and value of a dict of params or tags checked, values as the text to
    store (so that a bad one records none)."""
    if not isinstance(mapping, Mapping):
        raise InvalidInputError(f"{what}s must be a dict of name -> value, got {type(mapping).__name__}")
    out: dict[str, str] = {}
    for k, v in mapping.items():
        if type(k) is not str or not k:
            raise bad_key(what, k)
        text = v if isinstance(v, str) else str(v)
        if not k.isascii():
            check_text(f"{what} name", k)
        if not text.isascii():
            check_text(f"the value of {what} {k!r}", text)
        out[k] = text
    return out


def clean_text(text: str) -> str:
    """``text`` with what UTF-8 cannot encode escaped (``\\udcff``), for text Workbench
    records by itself (file paths, tracebacks, notebook context), which must never fail."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def clean_values(d: Mapping[str, Any]) -> dict[str, Any]:
    # Context Workbench captured by itself: stored as it can be, never refused.
    return {clean_text(str(k)): _clean_value(v) for k, v in d.items()}


def _clean_value(v: Any) -> Any:
    if v is None or type(v) is bool:
        return v
    if type(v) is int:
        return v if -(2**63) <= v < 2**63 else str(v)
    if type(v) is float:
        return v if v - v == 0.0 else None
    return clean_text(v if isinstance(v, str) else str(v))


def too_big(key: str, value: Any) -> InvalidInputError:
    return InvalidInputError(
        f"metric {key!r} got a number too large for a 64-bit float ({str(value)[:40]}...): "
        "metric values must be finite numbers"
    )


def to_float(key: str, value: Any) -> float:
    """``value`` as a float: a plain number, or a one-element array or tensor (anything
    with ``item()``, as NumPy, PyTorch, JAX and TensorFlow give, or ``__float__``).

    The hot path checks ``float`` and ``int`` before calling this."""
    if type(value) is float:
        return value
    if isinstance(value, (bool, str, bytes)) or value is None:
        raise _not_a_number(key, value)
    item = getattr(value, "item", None)
    if item is not None and callable(item):
        # item() first: it is the one conversion every array library offers, and NumPy
        # warns on float() of a 1-element array that is not 0-d.
        try:
            scalar = item()
        except (TypeError, ValueError, RuntimeError):  # several elements (each library's own)
            raise _not_a_number(key, value, _size_note(value)) from None
        if isinstance(scalar, (bool, str, bytes)) or scalar is None:
            raise _not_a_number(key, value)
        value = scalar
    try:
        return float(value)
    except OverflowError:
        raise too_big(key, value) from None
    except (TypeError, ValueError):
        raise _not_a_number(key, value) from None


def _size_note(value: Any) -> str:
    size = getattr(value, "size", None)
    size = size() if callable(size) else size  # torch: a method; numpy, jax: an attribute
    shape = getattr(value, "shape", None)
    return f" (it holds {size} values, shape {tuple(shape)})" if isinstance(size, int) and shape else ""


def _not_a_number(key: str, value: Any, note: str = "") -> InvalidInputError:
    text = " ".join(repr(value).split())  # an array's repr spans lines; the message is one
    text = text if len(text) <= 80 else text[:77] + "..."
    return InvalidInputError(
        f"metric {key!r} got {text} ({type(value).__name__}){note}: metric values must be numbers "
        "(a float, an int, or a one-element array or tensor)"
    )


def to_step(key: str, step: Any) -> int:
    if isinstance(step, bool):
        raise InvalidInputError(f"step for metric {key!r} must be an integer, got {step!r}")
    try:
        s = _as_index(step)
    except TypeError:
        if isinstance(step, float) and step.is_integer():
            return int(step)
        raise InvalidInputError(
            f"step for metric {key!r} must be an integer, got {step!r} ({type(step).__name__})"
        ) from None
    return int(s)


def check_status(status: str) -> str:
    """``status`` lower-cased, if it is one of :data:`STATUSES`."""
    s = str(status).lower() if isinstance(status, str) else None
    if s not in STATUSES:
        raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    return s
