"""The grammar of :mod:`.search`: the limits on a filter, MLflow's entity types and
attribute names, the tokenizer (sqlparse's token rules) and the recursive-descent parser
that turns a filter or an ``order_by`` identifier into comparisons (:class:`Leaf`)."""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from typing import Any

from ..errors import FilterSyntaxError, InvalidInputError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILTER_LENGTH",
    "MAX_ORDER_BY",
    "MAX_TERMS",
    "NUMERIC_ATTRS",
    "STORE_URI_VAR",
    "STRING_ATTRS",
    "USER_TAG",
    "FilterLimitError",
    "Leaf",
    "Parser",
    "count_key_terms",
    "split_commas",
]

#: The longest filter accepted, in characters.
MAX_FILTER_LENGTH = 100_000
#: The most comparisons (``metrics.x > 1`` is one; an ``IN`` list is one) in a filter.
MAX_TERMS = 500
#: The deepest nesting of parentheses in a filter.
MAX_DEPTH = 50
#: The most ``order_by`` clauses.
MAX_ORDER_BY = 20

#: The tag MLflow records the user in; ``attributes.user_id`` compares it.
USER_TAG = "mlflow.user"

#: The DuckDB variable holding the store's ``workbench://`` URI while a query runs.
STORE_URI_VAR = "workbench_store_uri"


class FilterLimitError(FilterSyntaxError):
    """A filter or order_by beyond one of the stated limits; the message is one line."""

    def __init__(self, text: str, what: str, limit: int, given: int) -> None:
        InvalidInputError.__init__(self, f"too many {what}: the limit is {limit:,}, this one has {given:,}")
        self.text = text
        self.position = 0
        self.expected = f"at most {limit:,} {what}"
        self.found = str(given)
        self.pointer = str(self)


# MLflow's spellings of each entity type (case-sensitive, as in MLflow).
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
    "dataset": "datasets",
    "datasets": "datasets",
}
_ALIASES = {"created": "start_time", "Created": "start_time"}
_NAME_ALIASES = {"run name": "run_name", "Run name": "run_name", "Run Name": "run_name"}
STRING_ATTRS = {
    "run_id": "{a}.run_id",
    "run_name": "{a}.run_name",
    "status": "lower({a}.status)",
    "artifact_uri": f"(getvariable('{STORE_URI_VAR}') || '/' || {{a}}.run_id || '/artifacts')",
    "user_id": None,  # the mlflow.user tag
    "experiment": "{a}.experiment",
    "source": "{a}.source",
    "parent_run_id": "{a}.parent_run_id",
}
NUMERIC_ATTRS = {"start_time": "{a}.start_time", "end_time": "{a}.end_time"}
_DATASET_KEYS = ("name", "digest", "context")
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_KEY_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL")

# The token rules of sqlparse, which MLflow parses filters with, for the tokens the grammar
# uses: strings keep their raw text (MLflow strips only the outer quotes), numbers are
# exactly the forms sqlparse reads as numbers, and any run of <>=~! is one operator.
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<likeop>(?:NOT\s+)?(?:LIKE|ILIKE|RLIKE)\b)
  | (?P<notnull>NOT\s+NULL\b)
  | (?P<op>[<>=~!]+)
  | (?P<str1>'(?:''|\\'|[^'])*')
  | (?P<str2>"(?:""|\\"|[^"])*")
  | (?P<btick>`(?:``|[^`])*`)
  | (?P<hex>-?0x[\dA-F]+)
  | (?P<float>-?\d+(?:\.\d+)?E-?\d+|-?(?:\d+\.\d*|\.\d+)(?![_A-ZÀ-Ü]))
  | (?P<int>-?\d+(?![_A-ZÀ-Ü]))
  | (?P<dot>\.)
  | (?P<word>\w[\w$\#]*)
    """,
    re.VERBOSE | re.IGNORECASE,
)
# A key part right after a dot: also - / : (Workbench extension: metrics.system/cpu).
_KEYPART_RE = re.compile(r"[\w$#][\w$#:/-]*")
_KEYWORDS = {"AND", "OR", "NOT", "IN", "IS", "NULL"}


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int
    end: int


@dataclass
class Leaf:
    entity: str  # metrics, params, tags, datasets, attributes
    key: str
    op: str
    value: Any = None


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = None
        if toks and toks[-1].kind == "dot" and toks[-1].end == pos:
            m = _KEYPART_RE.match(text, pos)
            kind = "word"
        if m is None:
            m = _TOKEN_RE.match(text, pos)
            kind = m.lastgroup if m is not None else ""
        if m is None or kind == "hex":
            # Reported when the parser reaches it, so an earlier mistake is named first.
            toks.append(_Tok("bad", text[pos : pos + 10], pos, pos + 1))
            break
        if kind != "ws":
            toks.append(_Tok(kind or "", m.group(), pos, m.end()))
        pos = m.end()
    return toks


def _strip_quotes(raw: str) -> str:
    """MLflow's rule for keys: outer quotes, then outer backticks, are removed."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        raw = raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == "`":
        raw = raw[1:-1]
    return raw


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.terms = 0

    # -- token helpers -------------------------------------------------------
    def peek(self, ahead: int = 0) -> _Tok | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def fail(self, expected: str) -> FilterSyntaxError:
        tok = self.peek()
        pos = tok.pos if tok else len(self.text)
        return FilterSyntaxError(self.text, pos, expected, tok.text if tok else None)

    def _is_kw(self, word: str, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok is not None and tok.kind == "word" and tok.text.upper() == word

    def _accept_kw(self, word: str) -> bool:
        if self._is_kw(word):
            self.i += 1
            return True
        return False

    # -- grammar ---------------------------------------------------------------
    def parse(self) -> Any:
        if not self.toks:
            return None
        tree = self._or(0)
        if self.peek() is not None:
            raise self.fail("AND, OR or the end of the filter")
        return tree

    def _or(self, depth: int) -> Any:
        parts = [self._and(depth)]
        while self._accept_kw("OR"):
            parts.append(self._and(depth))
        return parts[0] if len(parts) == 1 else ("or", parts)

    def _and(self, depth: int) -> Any:
        parts = [self._atom(depth)]
        while self._accept_kw("AND"):
            parts.append(self._atom(depth))
        return parts[0] if len(parts) == 1 else ("and", parts)

    def _atom(self, depth: int) -> Any:
        tok = self.peek()
        if tok is not None and tok.kind == "lparen":
            if depth >= MAX_DEPTH:
                raise FilterLimitError(self.text, "nested parentheses", MAX_DEPTH, _max_depth(self.toks))
            self.i += 1
            inner = self._or(depth + 1)
            self._take_rparen("')'")
            return inner
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise FilterLimitError(self.text, "comparisons in the filter", MAX_TERMS, _count_terms(self.toks))
        return ("leaf", self._comparison())

    def _take_rparen(self, expected: str) -> _Tok:
        tok = self.peek()
        if tok is None or tok.kind != "rparen":
            raise self.fail(expected)
        self.i += 1
        return tok

    def identifier(self, order_by: bool = False) -> tuple[str, str]:
        """``(entity, key)`` of the identifier at the cursor, aliases resolved."""
        first = self.peek()
        if (
            first is None
            or first.kind not in ("word", "btick", "str2")
            or (first.kind == "word" and first.text.upper() in _KEYWORDS)
        ):
            raise self.fail(
                "an identifier such as metrics.rmse, params.alpha, tags.team or attributes.status"
            )
        # An identifier is the run of tokens with no space between them (a.b.`c d`).
        end = self.i + 1
        while end < len(self.toks) and self.toks[end].pos == self.toks[end - 1].end:
            prev, tok = self.toks[end - 1], self.toks[end]
            if prev.kind == "dot" and tok.kind in ("word", "btick", "str2"):
                end += 1
            elif prev.kind != "dot" and tok.kind == "dot":
                end += 1
            else:
                break
        last = self.toks[end - 1]
        if last.kind == "dot":
            self.i = end - 1
            raise self.fail("a key after the '.'")
        raw = self.text[first.pos : last.end]
        self.i = end
        # MLflow's rule: no '.' means an attribute; else the entity type is before the first.
        bare = "." not in raw
        if bare:
            prefix, key = "attributes", _strip_quotes(raw)
        else:
            prefix, key = raw.split(".", 1)
            if len(prefix) >= 2 and prefix[0] == prefix[-1] == "`":
                prefix = prefix[1:-1]
            key = _strip_quotes(key)
        entity = "attributes" if bare else _ENTITY.get(prefix)
        if entity is None:
            hint = ""
            if prefix.lower() in _ENTITY:
                hint = f" (entity types are lower-case: {prefix.lower()})"
            raise FilterSyntaxError(
                self.text,
                first.pos,
                "an entity type: metrics, params, tags, attributes or datasets" + hint,
                prefix,
            )
        if entity == "attributes":
            key = _ALIASES.get(key, key)
            if not order_by:
                key = _NAME_ALIASES.get(key, key)
            if key not in STRING_ATTRS and key not in NUMERIC_ATTRS:
                accepted = ", ".join(sorted({*STRING_ATTRS, *NUMERIC_ATTRS, "created"}))
                hint = ""
                if bare and first.kind == "word":
                    hint = f" (did you mean metrics.{key}, params.{key} or tags.{key}?)"
                raise FilterSyntaxError(self.text, first.pos, f"an attribute name ({accepted}){hint}", key)
        elif entity == "datasets" and key not in _DATASET_KEYS:
            raise FilterSyntaxError(self.text, first.pos, "a dataset field: name, digest or context", key)
        return entity, key

    def _operator(self, allowed: tuple[str, ...], what: str) -> str:
        tok = self.peek()
        op = ""
        width = 1
        if tok is not None and tok.kind == "op":
            op = tok.text
        elif tok is not None and tok.kind == "likeop":
            op = " ".join(tok.text.upper().split())
        elif self._is_kw("IN"):
            op = "IN"
        elif self._is_kw("NOT") and self._is_kw("IN", 1):
            op, width = "NOT IN", 2
        elif self._is_kw("IS"):
            if self._is_kw("NULL", 1):
                op, width = "IS NULL", 2
            elif (nxt := self.peek(1)) is not None and nxt.kind == "notnull":
                op, width = "IS NOT NULL", 2
            elif self._is_kw("NOT", 1) and self._is_kw("NULL", 2):
                op, width = "IS NOT NULL", 3
            else:
                op = "IS"
        if op not in allowed:
            shown = [o for o in allowed if not o.startswith("IS")]
            extra = ", IS NULL, IS NOT NULL" if "IS NULL" in allowed else ""
            if op.startswith("IS"):
                extra = " (IS NULL / IS NOT NULL apply to params and tags only, as in MLflow)"
            raise self.fail(f"a comparison operator for {what} ({', '.join(shown)}{extra})")
        self.i += width
        return op

    def _number(self, what: str) -> float | int:
        tok = self.peek()
        if tok is None or tok.kind not in ("int", "float"):
            raise self.fail(f"a number to compare {what} with")
        self.i += 1
        return int(tok.text) if tok.kind == "int" else float(tok.text)

    def _string(self, what: str) -> str:
        tok = self.peek()
        if tok is None or tok.kind not in ("str1", "str2"):
            extra = ""
            if tok is not None and tok.kind in ("int", "float"):
                extra = f" (values of {what} are strings: quote it, '{tok.text}')"
            raise self.fail(f"a quoted string for {what}{extra}")
        self.i += 1
        return tok.text[1:-1]

    def _string_list(self, what: str) -> tuple[str, ...]:
        start = self.peek()
        if start is None or start.kind != "lparen":
            raise self.fail("'(' starting the IN list")
        self.i += 1
        while (tok := self.peek()) is not None and tok.kind in ("str1", "str2", "comma"):
            self.i += 1
        end = self._take_rparen("a quoted string, ',' or ')' closing the IN list")
        # MLflow reads the list as a Python literal; so does Workbench, to select the same.
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values = ast.literal_eval(self.text[start.pos : end.end])
        except (SyntaxError, ValueError, MemoryError, RecursionError) as exc:
            raise FilterSyntaxError(
                self.text,
                start.pos,
                f"a list of quoted strings for {what} ({exc.__class__.__name__})",
                self.text[start.pos : end.end][:20],
            ) from None
        values = values if isinstance(values, tuple) else (values,)
        if not values or not all(isinstance(v, str) for v in values):
            raise FilterSyntaxError(
                self.text,
                start.pos,
                f"a non-empty list of quoted strings for {what}",
                self.text[start.pos : end.end][:20],
            )
        return values

    def _comparison(self) -> Leaf:
        entity, key = self.identifier()
        label = f"{entity}.{key}"
        if entity == "metrics" or (entity == "attributes" and key in NUMERIC_ATTRS):
            op = self._operator(_NUMERIC_OPS, label)
            return Leaf(entity, key, op, self._number(label))
        op = self._operator(_KEY_OPS if entity in ("params", "tags") else _STRING_OPS, label)
        if op in ("IS NULL", "IS NOT NULL"):
            return Leaf(entity, key, op)
        value: Any = self._string_list(label) if op in ("IN", "NOT IN") else self._string(label)
        if entity == "attributes" and key == "user_id":
            entity, key = "tags", USER_TAG
        return Leaf(entity, key, op, value)


def count_key_terms(tree: Any) -> int:
    """Comparisons on params, tags, metrics and datasets (not on the run's own columns)."""
    n, stack = 0, [tree]
    while stack:
        kind, body = stack.pop()
        if kind == "leaf":
            n += body.entity != "attributes"
        else:
            stack.extend(body)
    return n


def _count_terms(toks: list[_Tok]) -> int:
    """The number of comparisons, counted by their operators (for the limit's message)."""
    ops = ("op", "likeop")
    return sum(1 for t in toks if t.kind in ops or (t.kind == "word" and t.text.upper() in ("IN", "IS")))


def _max_depth(toks: list[_Tok]) -> int:
    depth = best = 0
    for t in toks:
        if t.kind == "lparen":
            depth += 1
            best = max(best, depth)
        elif t.kind == "rparen":
            depth = max(0, depth - 1)
    return best


def split_commas(text: str) -> list[str]:
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
