"""MLflow's run-search grammar, plus ``OR`` and parentheses, compiled to parameterized SQL.

Examples of accepted filters::

    metrics.rmse < 50 and params.model = 'ridge'
    attributes.status = 'FINISHED' and tags.`data set` LIKE '%diabetes%'
    attributes.run_id IN ('3f2a...', '9c1b...')
    params.optimizer IS NULL and datasets.context = 'training'
    (metrics.r2 > 0.4 or params.alpha = '0.1') and attributes.run_name ILIKE 'demo%'

**Same results as MLflow.** Every filter MLflow's ``search_runs`` accepts selects the same
runs here (a test records the same runs in MLflow's sqlite store and in Workbench and
compares several hundred filters). In particular, as in MLflow:

- A metric compares its latest value: highest step, then newest timestamp, then the
  largest value. A run lacking the named metric, param, tag or dataset never matches
  (``!=`` included); ``params.x IS NULL`` / ``IS NOT NULL`` (params and tags only) test
  whether it was logged.
- Quoted values are taken literally: ``'C:\\data\\x.csv'`` is those 13 characters, and
  ``''`` inside a literal is two quote characters (MLflow strips only the outer quotes;
  use the other quote kind for a quote: ``"it's"``). Lists after ``IN`` are read as
  Python literals, as MLflow does (there ``\\n`` is an escape and ``'a' 'b'`` is ``'ab'``).
- ``LIKE`` is case-sensitive, ``ILIKE`` is not; ``%`` and ``_`` are the only wildcards
  and there is no escape character.
- Entity types: ``metric(s)``, ``param(s)``/``parameter(s)``, ``tag(s)``,
  ``attribute(s)``/``attr``/``run``, ``dataset(s)``, optionally in backticks; a name
  without an entity type is an attribute (``run_name = 'x'``). Keys with special
  characters go in backticks or double quotes.
- Attributes: ``run_id``, ``run_name`` (also ``run name``, ``Run name``, ``Run Name``),
  ``status``, ``user_id`` (the run's ``mlflow.user`` tag, which MLflow's API, the MLflow
  bridge and the importer record), ``artifact_uri``
  (``workbench://<store directory>/<run_id>/artifacts``, as the MLflow bridge reports it),
  and the numbers ``start_time`` (also ``created``, ``Created``) and ``end_time``, in
  milliseconds since the epoch. ``datasets.name``, ``datasets.digest`` (the sha256
  Workbench records) and ``datasets.context`` (the role: ``training``/``evaluation``)
  match when any input dataset of the run does. ``order_by`` takes the same names
  except the ``run name`` spellings and datasets, as in MLflow, and refuses a field
  named twice.

**Deviations from MLflow** (each is checked against MLflow itself in
``tests/unit/test_search_mlflow_parity.py``):

- ``status`` is compared case-insensitively (Workbench stores ``finished``, MLflow
  ``FINISHED``; ``'FINISHED'``, ``'finished'`` and ``LIKE 'FIN%'`` all match).
- ``ILIKE`` folds the case of every letter (``'É' ILIKE 'é'``); MLflow's sqlite store
  folds only ASCII letters.
- Extensions MLflow rejects: ``OR``, parentheses, ``IN``/``NOT IN`` lists for params,
  tags and every string attribute (MLflow: ``run_id`` and datasets only), the attributes
  ``experiment``, ``source`` and ``parent_run_id``, unquoted keys holding ``- / :``
  (``metrics.system/cpu``), ``IS NOT  NULL`` with any spacing, and a blank filter
  (spaces only), which matches every run as an empty one does.
- Sloppiness MLflow forgives and Workbench reports at its position: a stray ``AND``
  (``a AND``, ``AND a``, ``a AND AND b``) and two comparisons with no ``AND`` between
  them (MLflow reads ``a b`` as ``a AND b``); with ``OR`` in the grammar they are
  ambiguous.

**Limits** (each exceeded one is a :class:`FilterLimitError`, a ``FilterSyntaxError``
whose one-line message names the limit and what was given): a filter holds at most
``MAX_FILTER_LENGTH`` (100,000) characters, ``MAX_TERMS`` (500) comparisons and
``MAX_DEPTH`` (50) levels of nested parentheses; ``order_by`` takes at most
``MAX_ORDER_BY`` (20) clauses. Compilation is linear in the filter's length, and the SQL
reads each of params, tags, latest metrics and datasets once whatever the number of
comparisons (a filter at the limits runs in well under a second on 1,000 runs).

User text only ever becomes a bound parameter, never SQL text.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import FilterSyntaxError, InvalidInputError

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "MAX_DEPTH",
    "MAX_FILTER_LENGTH",
    "MAX_ORDER_BY",
    "MAX_TERMS",
    "FilterLimitError",
    "Query",
    "build_query",
    "parse_filter",
    "parse_order_by",
    "prepare_session",
]

#: The longest filter accepted, in characters.
MAX_FILTER_LENGTH = 100_000
#: The most comparisons (``metrics.x > 1`` is one; an ``IN`` list is one) in a filter.
MAX_TERMS = 500
#: The deepest nesting of parentheses in a filter.
MAX_DEPTH = 50
#: The most ``order_by`` clauses.
MAX_ORDER_BY = 20

#: Up to this many comparisons on params, tags, metrics and datasets, each is compiled to
#: its own subquery; beyond, all go through one join per table (see ``_Compiler``).
INLINE_MAX = 6

#: The tag MLflow records the user in; ``attributes.user_id`` compares it.
USER_TAG = "mlflow.user"

#: The DuckDB variable holding the store's ``workbench://`` URI while a query runs.
_STORE_URI_VAR = "workbench_store_uri"


def prepare_session(con: duckdb.DuckDBPyConnection, query: Query) -> None:
    """Set what a query's SQL reads from the session: the store's URI, which
    ``artifact_uri`` (``workbench://<store directory>/<run_id>/artifacts``, what the MLflow
    bridge reports) is built from. Call it on the store's connection before running
    ``query``; without it ``artifact_uri`` is NULL and matches nothing."""
    if "getvariable(" in query.where or "getvariable(" in query.order:
        con.execute(
            f"SET VARIABLE {_STORE_URI_VAR} = (SELECT 'workbench://' || "
            r"replace(regexp_replace(path, '[/\\][^/\\]*$', ''), '\', '/') "
            "FROM duckdb_databases() WHERE database_name = current_database())"
        )


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
_STRING_ATTRS = {
    "run_id": "{a}.run_id",
    "run_name": "{a}.run_name",
    "status": "lower({a}.status)",
    "artifact_uri": f"(getvariable('{_STORE_URI_VAR}') || '/' || {{a}}.run_id || '/artifacts')",
    "user_id": None,  # the mlflow.user tag
    "experiment": "{a}.experiment",
    "source": "{a}.source",
    "parent_run_id": "{a}.parent_run_id",
}
_NUMERIC_ATTRS = {"start_time": "{a}.start_time", "end_time": "{a}.end_time"}
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
class _Leaf:
    entity: str  # metrics, params, tags, datasets, attributes
    key: str
    op: str
    value: Any = None


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


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.terms = 0

    # -- token helpers -------------------------------------------------------
    def _peek(self, ahead: int = 0) -> _Tok | None:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else None

    def _fail(self, expected: str) -> FilterSyntaxError:
        tok = self._peek()
        pos = tok.pos if tok else len(self.text)
        return FilterSyntaxError(self.text, pos, expected, tok.text if tok else None)

    def _is_kw(self, word: str, ahead: int = 0) -> bool:
        tok = self._peek(ahead)
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
        if self._peek() is not None:
            raise self._fail("AND, OR or the end of the filter")
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
        tok = self._peek()
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
        tok = self._peek()
        if tok is None or tok.kind != "rparen":
            raise self._fail(expected)
        self.i += 1
        return tok

    def identifier(self, order_by: bool = False) -> tuple[str, str]:
        """``(entity, key)`` of the identifier at the cursor, aliases resolved."""
        first = self._peek()
        if (
            first is None
            or first.kind not in ("word", "btick", "str2")
            or (first.kind == "word" and first.text.upper() in _KEYWORDS)
        ):
            raise self._fail(
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
            raise self._fail("a key after the '.'")
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
            if key not in _STRING_ATTRS and key not in _NUMERIC_ATTRS:
                accepted = ", ".join(sorted({*_STRING_ATTRS, *_NUMERIC_ATTRS, "created"}))
                hint = ""
                if bare and first.kind == "word":
                    hint = f" (did you mean metrics.{key}, params.{key} or tags.{key}?)"
                raise FilterSyntaxError(self.text, first.pos, f"an attribute name ({accepted}){hint}", key)
        elif entity == "datasets" and key not in _DATASET_KEYS:
            raise FilterSyntaxError(self.text, first.pos, "a dataset field: name, digest or context", key)
        return entity, key

    def _operator(self, allowed: tuple[str, ...], what: str) -> str:
        tok = self._peek()
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
            elif (nxt := self._peek(1)) is not None and nxt.kind == "notnull":
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
            raise self._fail(f"a comparison operator for {what} ({', '.join(shown)}{extra})")
        self.i += width
        return op

    def _number(self, what: str) -> float | int:
        tok = self._peek()
        if tok is None or tok.kind not in ("int", "float"):
            raise self._fail(f"a number to compare {what} with")
        self.i += 1
        return int(tok.text) if tok.kind == "int" else float(tok.text)

    def _string(self, what: str) -> str:
        tok = self._peek()
        if tok is None or tok.kind not in ("str1", "str2"):
            extra = ""
            if tok is not None and tok.kind in ("int", "float"):
                extra = f" (values of {what} are strings: quote it, '{tok.text}')"
            raise self._fail(f"a quoted string for {what}{extra}")
        self.i += 1
        return tok.text[1:-1]

    def _string_list(self, what: str) -> tuple[str, ...]:
        start = self._peek()
        if start is None or start.kind != "lparen":
            raise self._fail("'(' starting the IN list")
        self.i += 1
        while (tok := self._peek()) is not None and tok.kind in ("str1", "str2", "comma"):
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

    def _comparison(self) -> _Leaf:
        entity, key = self.identifier()
        label = f"{entity}.{key}"
        if entity == "metrics" or (entity == "attributes" and key in _NUMERIC_ATTRS):
            op = self._operator(_NUMERIC_OPS, label)
            return _Leaf(entity, key, op, self._number(label))
        op = self._operator(_KEY_OPS if entity in ("params", "tags") else _STRING_OPS, label)
        if op in ("IS NULL", "IS NOT NULL"):
            return _Leaf(entity, key, op)
        value: Any = self._string_list(label) if op in ("IN", "NOT IN") else self._string(label)
        if entity == "attributes" and key == "user_id":
            entity, key = "tags", USER_TAG
        return _Leaf(entity, key, op, value)


def _count_key_terms(tree: Any) -> int:
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


_STRING_MATCH = (
    "CASE _wt.op WHEN '=' THEN _wx.value = _wt.v WHEN '!=' THEN _wx.value <> _wt.v "
    "WHEN 'LIKE' THEN _wx.value LIKE _wt.v WHEN 'ILIKE' THEN _wx.value ILIKE _wt.v "
    "WHEN 'IN' THEN list_contains(_wt.vs, _wx.value) WHEN 'NOT IN' THEN NOT list_contains(_wt.vs, _wx.value) "
    "ELSE TRUE END"
)
_NUMBER_MATCH = (
    "CASE _wt.op WHEN '=' THEN _wx.value = _wt.x WHEN '!=' THEN _wx.value <> _wt.x "
    "WHEN '<' THEN _wx.value < _wt.x WHEN '<=' THEN _wx.value <= _wt.x "
    "WHEN '>' THEN _wx.value > _wt.x WHEN '>=' THEN _wx.value >= _wt.x END"
)
_DATASET_WHERE = "WHERE kind = 'dataset' AND direction = 'input'"
_SOURCES = {
    "params": "params",
    "tags": "tags",
    "datasets": (
        f"(SELECT run_id, 'name' AS key, name AS value FROM artifacts {_DATASET_WHERE} "
        f"UNION ALL SELECT run_id, 'digest', sha256 FROM artifacts {_DATASET_WHERE} "
        "UNION ALL SELECT run_id, 'context', json_extract_string(meta, '$.role') "
        f"FROM artifacts {_DATASET_WHERE})"
    ),
    "metrics": "latest_metrics",
}


class _Compiler:
    """An AST to one SQL condition over ``runs r``.

    With many comparisons on params, tags, metrics and datasets, each becomes a numbered
    term, evaluated in one join per table against the list of terms (bound as arrays);
    each run gets a bitstring of the terms it satisfies, and the filter's AND/OR and
    parentheses become one boolean expression over those bits and the run's own columns.
    So the SQL's size and cost grow linearly with the filter: DuckDB never plans one
    subquery per comparison, which is what made a 300-term filter take minutes.

    With at most ``inline_max`` such comparisons, each is its own ``IN (subquery)``
    instead: for a few terms that plans faster (a few ms) than the bitstring join.
    """

    def __init__(self, inline: bool) -> None:
        self.inline = inline
        self.alias = "r" if inline else "_wr"
        self.terms: dict[str, list[tuple[int, _Leaf]]] = {}
        self.n = 0
        self.params: list[Any] = []

    def expr(self, node: Any) -> str:
        kind, body = node
        if kind == "leaf":
            return self.leaf(body)
        joiner = " AND " if kind == "and" else " OR "
        return "(" + joiner.join(self.expr(child) for child in body) + ")"

    def leaf(self, leaf: _Leaf) -> str:
        if leaf.entity != "attributes" and self.inline:
            return self.subquery(leaf)
        if leaf.entity != "attributes":
            i = self.n
            self.n += 1
            self.terms.setdefault(leaf.entity, []).append((i, leaf))
            bit = f"coalesce(get_bit(_wh.b, {i}) = 1, FALSE)"
            return f"NOT {bit}" if leaf.op == "IS NULL" else bit
        if leaf.key in _NUMERIC_ATTRS:
            self.params.append(leaf.value)
            return f"{_NUMERIC_ATTRS[leaf.key].format(a=self.alias)} {leaf.op} ?"
        column = _STRING_ATTRS[leaf.key].format(a=self.alias)  # type: ignore[union-attr]
        value = leaf.value
        if leaf.key == "status":
            # Stored lower-case; MLflow users write 'FINISHED'.
            value = [v.lower() for v in value] if isinstance(value, tuple) else value.lower()
        if leaf.op in ("IN", "NOT IN"):
            self.params.append(list(value))
            neg = "NOT " if leaf.op == "NOT IN" else ""
            return f"{neg}list_contains(?::VARCHAR[], {column})"
        self.params.append(value)
        return f"{column} {'<>' if leaf.op == '!=' else leaf.op} ?"

    def subquery(self, leaf: _Leaf) -> str:
        """A param/tag/metric/dataset comparison as its own semi-join."""
        source = _SOURCES[leaf.entity]
        self.params.append(leaf.key)
        if leaf.op in ("IS NULL", "IS NOT NULL"):
            neg = "NOT " if leaf.op == "IS NULL" else ""
            return f"{neg}(r.run_id IN (SELECT run_id FROM {source} WHERE key = ?))"
        if leaf.op in ("IN", "NOT IN"):
            neg = "NOT " if leaf.op == "NOT IN" else ""
            self.params.append(list(leaf.value))
            cond = f"{neg}list_contains(?::VARCHAR[], value)"
        else:
            self.params.append(float(leaf.value) if leaf.entity == "metrics" else leaf.value)
            cond = f"value {'<>' if leaf.op == '!=' else leaf.op} ?"
        return f"r.run_id IN (SELECT run_id FROM {source} WHERE key = ? AND {cond})"

    def hits(self) -> tuple[str, list[Any]]:
        branches, params = [], []
        for entity, terms in self.terms.items():
            idx = [i for i, _ in terms]
            keys = [leaf.key for _, leaf in terms]
            ops = [leaf.op for _, leaf in terms]
            if entity == "metrics":
                cols = "unnest(?::INTEGER[]) AS i, unnest(?::VARCHAR[]) AS key, unnest(?::VARCHAR[]) AS op, unnest(?::DOUBLE[]) AS x"
                params += [idx, keys, ops, [float(leaf.value) for _, leaf in terms]]
                match = _NUMBER_MATCH
            else:
                cols = (
                    "unnest(?::INTEGER[]) AS i, unnest(?::VARCHAR[]) AS key, unnest(?::VARCHAR[]) AS op, "
                    "unnest(?::VARCHAR[]) AS v, unnest(?::VARCHAR[][]) AS vs"
                )
                strs = [leaf.value if isinstance(leaf.value, str) else None for _, leaf in terms]
                lists = [list(leaf.value) if isinstance(leaf.value, tuple) else None for _, leaf in terms]
                params += [idx, keys, ops, strs, lists]
                match = _STRING_MATCH
            branches.append(
                f"SELECT _wx.run_id, _wt.i FROM {_SOURCES[entity]} _wx "
                f"JOIN (SELECT {cols}) _wt ON _wx.key = _wt.key WHERE {match}"
            )
        sql = (
            f"SELECT run_id, bitstring_agg(i, 0, {max(self.n - 1, 0)}) AS b FROM ("
            + " UNION ALL ".join(branches)
            + ") GROUP BY run_id"
        )
        return sql, params


def parse_filter(text: str | None) -> tuple[str, list[Any]]:
    """Parse a filter string into a SQL boolean expression over ``runs r``.

    Parameters
    ----------
    text
        The filter, in MLflow's search grammar extended with ``OR`` and parentheses.
        ``None`` or blank matches every run. At most ``MAX_FILTER_LENGTH`` characters,
        ``MAX_TERMS`` comparisons and ``MAX_DEPTH`` nested parentheses.

    Returns
    -------
    tuple
        ``(sql, params)``: SQL text with ``?`` placeholders and the values to bind.

    Raises
    ------
    FilterSyntaxError
        The filter does not parse; the message names the position and what was expected.
        A :class:`FilterLimitError` (a subclass) when it exceeds a limit.
    """
    if text is None or not str(text).strip():
        return "TRUE", []
    if not isinstance(text, str):
        raise FilterSyntaxError(str(text), 0, "a filter string")
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterLimitError(text, "characters in the filter", MAX_FILTER_LENGTH, len(text))
    tree = _Parser(text).parse()
    if tree is None:
        return "TRUE", []
    compiler = _Compiler(inline=_count_key_terms(tree) <= INLINE_MAX)
    formula = compiler.expr(tree)
    if compiler.inline:
        return formula, compiler.params
    hits, hit_params = compiler.hits()
    sql = (
        f"r.run_id IN (SELECT _wr.run_id FROM runs _wr LEFT JOIN ({hits}) _wh "
        f"ON _wh.run_id = _wr.run_id WHERE {formula})"
    )
    return sql, hit_params + compiler.params


_ORDER_RE = re.compile(r"^\s*(?P<ident>.+?)(?:\s+(?P<dir>ASC|DESC))?\s*$", re.IGNORECASE | re.DOTALL)


def parse_order_by(order_by: str | list[str] | tuple[str, ...] | None) -> tuple[str, list[Any]]:
    """Parse MLflow-style ``order_by`` clauses (``["metrics.rmse ASC", "params.alpha"]``).

    A single string may hold several clauses separated by commas; at most
    ``MAX_ORDER_BY`` clauses, each naming a different field (MLflow refuses duplicates).
    Runs lacking the ordered value sort last in either direction, as in MLflow; ties fall
    back to the newest run first.

    Returns
    -------
    tuple
        ``(sql, params)`` for an ``ORDER BY`` list over ``runs r``.

    Raises
    ------
    FilterSyntaxError
        A clause names no valid identifier, has a direction other than ASC/DESC, or
        repeats a field; a :class:`FilterLimitError` for too many clauses.
    """
    if order_by is None:
        clauses: list[Any] = []
    elif isinstance(order_by, str):
        clauses = [c for c in _split_commas(order_by) if c.strip()]
    else:
        clauses = list(order_by)
    if len(clauses) > MAX_ORDER_BY:
        raise FilterLimitError(str(order_by)[:200], "order_by clauses", MAX_ORDER_BY, len(clauses))
    parts: list[str] = []
    params: list[Any] = []
    seen: set[tuple[str, str]] = set()
    for clause in clauses:
        if not isinstance(clause, str):
            raise FilterSyntaxError(str(clause), 0, "an order_by string such as 'metrics.rmse ASC'")
        m = _ORDER_RE.match(clause)
        if not m:
            raise FilterSyntaxError(clause, 0, "an order_by clause such as 'metrics.rmse ASC'")
        parser = _Parser(m.group("ident"))
        entity, name = parser.identifier(order_by=True)
        if parser._peek() is not None:
            raise parser._fail("ASC, DESC or the end of the order_by clause")
        if entity == "datasets":
            raise FilterSyntaxError(clause, 0, "a metric, param, tag or attribute to order by", entity)
        if (entity, name) in seen:
            raise FilterSyntaxError(
                clause, 0, "each field once in order_by (MLflow refuses duplicates)", name
            )
        seen.add((entity, name))
        direction = (m.group("dir") or "ASC").upper()
        if entity == "attributes" and name == "user_id":
            entity, name = "tags", USER_TAG
        if entity == "attributes":
            expr = (_STRING_ATTRS.get(name) or _NUMERIC_ATTRS[name]).format(a="r")
            if name == "status":
                expr = "r.status"
        else:
            table = "latest_metrics" if entity == "metrics" else entity
            expr = f"(SELECT value FROM {table} x WHERE x.run_id = r.run_id AND x.key = ?)"
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
