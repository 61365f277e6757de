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

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import FilterSyntaxError

# The grammar (limits, tokenizer, parser) lives in :mod:`.search_grammar`; its public
# names are re-exported here (see __all__), where ``workbench.search`` and the tests find them.
from .search_grammar import (
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_ORDER_BY,
    MAX_TERMS,
    NUMERIC_ATTRS,
    STORE_URI_VAR,
    STRING_ATTRS,
    USER_TAG,
    FilterLimitError,
    Leaf,
    Parser,
    count_key_terms,
    split_commas,
)

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

#: Up to this many comparisons on params, tags, metrics and datasets, each is compiled to
#: its own subquery; beyond, all go through one join per table (see ``_Compiler``).
INLINE_MAX = 6


def prepare_session(con: duckdb.DuckDBPyConnection, query: Query) -> None:
    """Set what a query's SQL reads from the session: the store's URI, which
    ``artifact_uri`` (``workbench://<store directory>/<run_id>/artifacts``, what the MLflow
    bridge reports) is built from. Call it on the store's connection before running
    ``query``; without it ``artifact_uri`` is NULL and matches nothing."""
    if "getvariable(" in query.where or "getvariable(" in query.order:
        con.execute(
            f"SET VARIABLE {STORE_URI_VAR} = (SELECT 'workbench://' || "
            r"replace(regexp_replace(path, '[/\\][^/\\]*$', ''), '\', '/') "
            "FROM duckdb_databases() WHERE database_name = current_database())"
        )


#: What a query's SQL reads a run's params, latest metrics and tags from (as maps), when
#: ``Query.values`` says it does: ``FROM runs r`` followed by this.
VALUES_JOIN = "LEFT JOIN run_values v ON v.run_id = r.run_id"


@dataclass
class Query:
    """A parsed filter/order: SQL fragments over ``runs r`` plus their bound parameters;
    ``values``: whether they read ``v`` (the runs' ``run_values``, :data:`VALUES_JOIN`)."""

    where: str = "TRUE"
    where_params: list[Any] = field(default_factory=list)
    order: str = "r.start_time DESC, r.run_id"
    order_params: list[Any] = field(default_factory=list)
    values: bool = False

    @property
    def source(self) -> str:
        """The FROM clause its SQL reads: ``runs r``, joined with ``v`` when it needs it."""
        return f"runs r {VALUES_JOIN}" if self.values else "runs r"


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
        self.terms: dict[str, list[tuple[int, Leaf]]] = {}
        self.n = 0
        self.params: list[Any] = []
        self.values = False  # whether the SQL reads ``v`` (VALUES_JOIN)

    def expr(self, node: Any) -> str:
        kind, body = node
        if kind == "leaf":
            return self.leaf(body)
        joiner = " AND " if kind == "and" else " OR "
        return "(" + joiner.join(self.expr(child) for child in body) + ")"

    def leaf(self, leaf: Leaf) -> str:
        if leaf.entity != "attributes" and self.inline:
            return self.subquery(leaf)
        if leaf.entity != "attributes":
            i = self.n
            self.n += 1
            self.terms.setdefault(leaf.entity, []).append((i, leaf))
            bit = f"coalesce(get_bit(_wh.b, {i}) = 1, FALSE)"
            return f"NOT {bit}" if leaf.op == "IS NULL" else bit
        if leaf.key in NUMERIC_ATTRS:
            self.params.append(leaf.value)
            return f"{NUMERIC_ATTRS[leaf.key].format(a=self.alias)} {leaf.op} ?"
        column = STRING_ATTRS[leaf.key].format(a=self.alias)  # type: ignore[union-attr]
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

    def subquery(self, leaf: Leaf) -> str:
        """A param/tag/metric comparison on the run's ``run_values`` row (``v``, see
        :data:`VALUES_JOIN`); a dataset comparison as its own semi-join."""
        if leaf.entity != "datasets":
            return self.lookup(leaf)
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
            self.params.append(leaf.value)
            cond = f"value {'<>' if leaf.op == '!=' else leaf.op} ?"
        return f"r.run_id IN (SELECT run_id FROM {source} WHERE key = ? AND {cond})"

    def lookup(self, leaf: Leaf) -> str:
        """A param/tag/metric comparison as a map lookup. A run without the key matches
        no comparison but IS NULL (a missing key reads NULL: each condition is made
        FALSE by coalesce, as the semi-join it replaces would have found no row)."""
        self.values = True
        column = f"v.{leaf.entity}"
        if leaf.op in ("IS NULL", "IS NOT NULL"):
            self.params.append(leaf.key)
            neg = "NOT " if leaf.op == "IS NULL" else ""
            return f"{neg}coalesce(map_contains({column}, ?), FALSE)"
        if leaf.op in ("IN", "NOT IN"):
            neg = "NOT " if leaf.op == "NOT IN" else ""
            self.params += [list(leaf.value), leaf.key]
            return f"coalesce({neg}list_contains(?::VARCHAR[], {column}[?]), FALSE)"
        self.params += [leaf.key, float(leaf.value) if leaf.entity == "metrics" else leaf.value]
        return f"coalesce({column}[?] {'<>' if leaf.op == '!=' else leaf.op} ?, FALSE)"

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
    """Parse a filter string into a SQL boolean expression over ``runs r`` joined with
    their ``run_values v`` (:data:`VALUES_JOIN`).

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
    sql, params, _ = _compile_filter(text)
    return sql, params


def _compile_filter(text: str | None) -> tuple[str, list[Any], bool]:
    """:func:`parse_filter`, and whether the SQL reads ``v``."""
    if text is None or not str(text).strip():
        return "TRUE", [], False
    if not isinstance(text, str):
        raise FilterSyntaxError(str(text), 0, "a filter string")
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterLimitError(text, "characters in the filter", MAX_FILTER_LENGTH, len(text))
    tree = Parser(text).parse()
    if tree is None:
        return "TRUE", [], False
    compiler = _Compiler(inline=count_key_terms(tree) <= INLINE_MAX)
    formula = compiler.expr(tree)
    if compiler.inline:
        return formula, compiler.params, compiler.values
    hits, hit_params = compiler.hits()
    sql = (
        f"r.run_id IN (SELECT _wr.run_id FROM runs _wr LEFT JOIN ({hits}) _wh "
        f"ON _wh.run_id = _wr.run_id WHERE {formula})"
    )
    return sql, hit_params + compiler.params, compiler.values


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
        ``(sql, params)`` for an ``ORDER BY`` list over ``runs r`` joined with their
        ``run_values v`` (:data:`VALUES_JOIN`).

    Raises
    ------
    FilterSyntaxError
        A clause names no valid identifier, has a direction other than ASC/DESC, or
        repeats a field; a :class:`FilterLimitError` for too many clauses.
    """
    sql, params, _ = _compile_order(order_by)
    return sql, params


def _compile_order(order_by: str | list[str] | tuple[str, ...] | None) -> tuple[str, list[Any], bool]:
    """:func:`parse_order_by`, and whether the SQL reads ``v``."""
    if order_by is None:
        clauses: list[Any] = []
    elif isinstance(order_by, str):
        clauses = [c for c in split_commas(order_by) if c.strip()]
    else:
        clauses = list(order_by)
    if len(clauses) > MAX_ORDER_BY:
        raise FilterLimitError(str(order_by)[:200], "order_by clauses", MAX_ORDER_BY, len(clauses))
    parts: list[str] = []
    params: list[Any] = []
    values = False
    seen: set[tuple[str, str]] = set()
    for clause in clauses:
        if not isinstance(clause, str):
            raise FilterSyntaxError(str(clause), 0, "an order_by string such as 'metrics.rmse ASC'")
        m = _ORDER_RE.match(clause)
        if not m:
            raise FilterSyntaxError(clause, 0, "an order_by clause such as 'metrics.rmse ASC'")
        parser = Parser(m.group("ident"))
        entity, name = parser.identifier(order_by=True)
        if parser.peek() is not None:
            raise parser.fail("ASC, DESC or the end of the order_by clause")
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
            expr = (STRING_ATTRS.get(name) or NUMERIC_ATTRS[name]).format(a="r")
            if name == "status":
                expr = "r.status"
        else:
            expr, values = f"v.{entity}[?]", True
            params.append(name)
        parts.append(f"{expr} {direction} NULLS LAST")
    parts.extend(["r.start_time DESC", "r.run_id"])
    return ", ".join(parts), params, values


def build_query(filter: str | None = None, order_by: str | list[str] | None = None) -> Query:
    """Parse both a filter and an order_by into one :class:`Query`."""
    where, wp, wv = _compile_filter(filter)
    order, op, ov = _compile_order(order_by)
    return Query(where, wp, order, op, values=wv or ov)
