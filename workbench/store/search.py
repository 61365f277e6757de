"""MLflow's run-search grammar, plus ``OR`` and parentheses, parsed into parameterized SQL.

Examples of accepted filters::

    metrics.rmse < 50 and params.model = 'ridge'
    attributes.status = 'FINISHED' and tags.`data set` LIKE '%diabetes%'
    attributes.run_id IN ('3f2a...', '9c1b...')
    (metrics.r2 > 0.4 or params.alpha = '0.1') and attributes.run_name ILIKE 'demo%'

Semantics follow MLflow's ``search_runs``: a metric compares its latest value (highest
step, then newest), a run lacking the named metric/param/tag never matches, params and
tags are strings, ``start_time``/``end_time`` are milliseconds since the epoch. Status
values are matched case-insensitively (MLflow spells them ``FINISHED``, Workbench stores
``finished``). User text only ever becomes a bound parameter, never SQL text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import FilterSyntaxError

__all__ = ["Query", "build_query", "parse_filter", "parse_order_by"]

# MLflow accepts these spellings of each entity type.
_ENTITY = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
_STRING_ATTRS = {
    "run_name": "r.run_name",
    "status": "r.status",
    "run_id": "r.run_id",
    "experiment": "r.experiment",
    "source": "r.source",
    "parent_run_id": "r.parent_run_id",
}
_NUMERIC_ATTRS = {"start_time": "r.start_time", "end_time": "r.end_time", "created": "r.start_time"}
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_TABLE = {"metrics": "latest_metrics", "params": "params", "tags": "tags"}

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<op>==|!=|<>|<=|>=|=|<|>)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*\.(?:`[^`]*`|"[^"]*"|[A-Za-z0-9_][A-Za-z0-9_.:/-]*))
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "ILIKE", "IN"}


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


@dataclass
class Query:
    """A parsed filter/order: SQL fragments over ``runs r`` plus their bound parameters."""

    where: str = "TRUE"
    where_params: list[Any] = field(default_factory=list)
    order: str = "r.start_time DESC, r.run_id"
    order_params: list[Any] = field(default_factory=list)


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            # Reported when the parser reaches it, so an earlier mistake is named first.
            toks.append(_Tok("bad", text[pos : pos + 10], pos))
            break
        kind = m.lastgroup or ""
        if kind != "ws":
            tok_text = m.group()
            if kind == "word":
                up = tok_text.upper()
                kind, tok_text = ("kw", up) if up in _KEYWORDS else ("word", tok_text)
            toks.append(_Tok(kind, tok_text, pos))
        pos = m.end()
    return toks


def _unquote_string(raw: str) -> str:
    q = raw[0]
    body = raw[1:-1].replace(q * 2, q)
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.params: list[Any] = []

    # -- token helpers -------------------------------------------------------
    def _peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _fail(self, expected: str) -> FilterSyntaxError:
        tok = self._peek()
        pos = tok.pos if tok else len(self.text)
        return FilterSyntaxError(self.text, pos, expected, tok.text if tok else None)

    def _take(self, kind: str, text: str | None = None, expected: str = "") -> _Tok:
        tok = self._peek()
        if tok is None or tok.kind != kind or (text is not None and tok.text != text):
            raise self._fail(expected or (text or kind))
        self.i += 1
        return tok

    def _accept_kw(self, word: str) -> bool:
        tok = self._peek()
        if tok is not None and tok.kind == "kw" and tok.text == word:
            self.i += 1
            return True
        return False

    # -- grammar ---------------------------------------------------------------
    def parse(self) -> str:
        if not self.toks:
            return "TRUE"
        sql = self._or()
        if self._peek() is not None:
            raise self._fail("AND, OR or the end of the filter")
        return sql

    def _or(self) -> str:
        parts = [self._and()]
        while self._accept_kw("OR"):
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def _and(self) -> str:
        parts = [self._atom()]
        while self._accept_kw("AND"):
            parts.append(self._atom())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def _atom(self) -> str:
        tok = self._peek()
        if tok is not None and tok.kind == "lparen":
            self.i += 1
            inner = self._or()
            self._take("rparen", expected="')'")
            return inner
        return self._comparison()

    def _identifier(self) -> tuple[str, str, _Tok]:
        tok = self._peek()
        if tok is None or tok.kind != "ident":
            hint = ""
            if tok is not None and tok.kind == "word":
                hint = f" (did you mean metrics.{tok.text}, params.{tok.text} or attributes.{tok.text}?)"
            raise self._fail(
                "an identifier such as metrics.rmse, params.alpha, tags.team or attributes.status" + hint
            )
        self.i += 1
        prefix, name = tok.text.split(".", 1)
        entity = _ENTITY.get(prefix.lower())
        if entity is None:
            raise FilterSyntaxError(
                self.text, tok.pos, "an entity type: metrics, params, tags or attributes", prefix
            )
        if name[:1] in '`"':
            name = name[1:-1]
        if entity == "attributes" and name not in _STRING_ATTRS and name not in _NUMERIC_ATTRS:
            accepted = ", ".join(sorted({*_STRING_ATTRS, "start_time", "end_time"}))
            raise FilterSyntaxError(self.text, tok.pos, f"an attribute name ({accepted})", name)
        return entity, name, tok

    def _operator(self, allowed: tuple[str, ...], what: str) -> str:
        tok = self._peek()
        if tok is not None and tok.kind == "op":
            op = {"==": "=", "<>": "!="}.get(tok.text, tok.text)
        elif tok is not None and tok.kind == "kw" and tok.text in ("LIKE", "ILIKE", "IN"):
            op = tok.text
        elif tok is not None and tok.kind == "kw" and tok.text == "NOT":
            nxt = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
            op = "NOT IN" if nxt is not None and nxt.kind == "kw" and nxt.text == "IN" else "NOT"
        else:
            raise self._fail(f"a comparison operator for {what} ({', '.join(allowed)})")
        if op not in allowed:
            raise self._fail(f"a comparison operator for {what} ({', '.join(allowed)})")
        self.i += 2 if op == "NOT IN" else 1
        return op

    def _number(self, what: str) -> float:
        tok = self._peek()
        if tok is None or tok.kind != "number":
            raise self._fail(f"a number to compare {what} with")
        self.i += 1
        return float(tok.text)

    def _string(self, what: str) -> str:
        tok = self._peek()
        if tok is None or tok.kind != "string":
            extra = ""
            if tok is not None and tok.kind == "number":
                extra = f" (values of {what} are strings: quote it, '{tok.text}')"
            raise self._fail(f"a quoted string for {what}{extra}")
        self.i += 1
        return _unquote_string(tok.text)

    def _string_list(self, what: str) -> list[str]:
        self._take("lparen", expected="'(' starting the IN list")
        values = [self._string(what)]
        while self._peek() is not None and self._peek().kind == "comma":  # type: ignore[union-attr]
            self.i += 1
            values.append(self._string(what))
        self._take("rparen", expected="',' or ')' closing the IN list")
        return values

    def _comparison(self) -> str:
        entity, name, _tok = self._identifier()
        label = f"{entity}.{name}"
        if entity == "metrics" or (entity == "attributes" and name in _NUMERIC_ATTRS):
            op = self._operator(_NUMERIC_OPS, label)
            value = self._number(label)
            if entity == "attributes":
                self.params.append(value)
                return f"{_NUMERIC_ATTRS[name]} {op} ?"
            self.params.extend([name, value])
            return f"r.run_id IN (SELECT run_id FROM latest_metrics WHERE key = ? AND value {op} ?)"
        op = self._operator(_STRING_OPS, label)
        values = self._string_list(label) if op in ("IN", "NOT IN") else [self._string(label)]
        if op in ("IN", "NOT IN"):
            rhs = f"{op} (" + ", ".join("?" * len(values)) + ")"
        else:
            rhs = f"{op} ?"
        if entity == "attributes":
            column = _STRING_ATTRS[name]
            if name == "status":
                # Stored lower-case; MLflow users write 'FINISHED'.
                column = f"lower({column})"
                values = [v.lower() for v in values]
            self.params.extend(values)
            return f"{column} {rhs}"
        self.params.append(name)
        self.params.extend(values)
        return f"r.run_id IN (SELECT run_id FROM {_TABLE[entity]} WHERE key = ? AND value {rhs})"


def parse_filter(text: str | None) -> tuple[str, list[Any]]:
    """Parse a filter string into a SQL boolean expression over ``runs r``.

    Parameters
    ----------
    text
        The filter, in MLflow's search grammar extended with ``OR`` and parentheses.
        ``None`` or blank matches every run.

    Returns
    -------
    tuple
        ``(sql, params)``: SQL text with ``?`` placeholders and the values to bind.

    Raises
    ------
    FilterSyntaxError
        The filter does not parse; the message names the position and what was expected.
    """
    if text is None or not str(text).strip():
        return "TRUE", []
    if not isinstance(text, str):
        raise FilterSyntaxError(str(text), 0, "a filter string")
    parser = _Parser(text)
    sql = parser.parse()
    return sql, parser.params


_ORDER_RE = re.compile(r"^\s*(?P<ident>.+?)(?:\s+(?P<dir>ASC|DESC))?\s*$", re.IGNORECASE)


def parse_order_by(order_by: str | list[str] | tuple[str, ...] | None) -> tuple[str, list[Any]]:
    """Parse MLflow-style ``order_by`` clauses (``["metrics.rmse ASC", "params.alpha"]``).

    A single string may hold several clauses separated by commas. Runs lacking the
    ordered value sort last in either direction, as in MLflow; ties fall back to the
    newest run first.

    Returns
    -------
    tuple
        ``(sql, params)`` for an ``ORDER BY`` list over ``runs r``.

    Raises
    ------
    FilterSyntaxError
        A clause names no valid identifier or has a direction other than ASC/DESC.
    """
    if order_by is None:
        clauses: list[str] = []
    elif isinstance(order_by, str):
        clauses = [c for c in _split_commas(order_by) if c.strip()]
    else:
        clauses = list(order_by)
    parts: list[str] = []
    params: list[Any] = []
    for clause in clauses:
        if not isinstance(clause, str):
            raise FilterSyntaxError(str(clause), 0, "an order_by string such as 'metrics.rmse ASC'")
        m = _ORDER_RE.match(clause)
        if not m:
            raise FilterSyntaxError(clause, 0, "an order_by clause such as 'metrics.rmse ASC'")
        parser = _Parser(m.group("ident"))
        entity, name, _ = parser._identifier()
        if parser._peek() is not None:
            raise parser._fail("ASC, DESC or the end of the order_by clause")
        direction = (m.group("dir") or "ASC").upper()
        if entity == "attributes":
            expr = _STRING_ATTRS.get(name) or _NUMERIC_ATTRS[name]
        else:
            expr = f"(SELECT value FROM {_TABLE[entity]} x WHERE x.run_id = r.run_id AND x.key = ?)"
            params.append(name)
        parts.append(f"{expr} {direction} NULLS LAST")
    parts.extend(["r.start_time DESC", "r.run_id"])
    return ", ".join(parts), params


def _split_commas(text: str) -> list[str]:
    """Split on commas outside quotes and backticks."""
    out, buf, quote = [], [], ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == ",":
            out.append("".join(buf))
            buf = []
            continue
        buf.append(ch)
    out.append("".join(buf))
    return out


def build_query(filter: str | None = None, order_by: str | list[str] | None = None) -> Query:
    """Parse both a filter and an order_by into one :class:`Query`."""
    where, wp = parse_filter(filter)
    order, op = parse_order_by(order_by)
    return Query(where, wp, order, op)
