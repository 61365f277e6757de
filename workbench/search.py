"""MLflow's run-search grammar, plus ``OR`` and parentheses (see :mod:`workbench.store.search`).

The parser compiles filters to parameterized SQL, so it lives in the store, the only
package that writes SQL; these names are kept here for the code that imports them.
"""

from __future__ import annotations

from .store.search import Query, build_query, parse_filter, parse_order_by

__all__ = ["Query", "build_query", "parse_filter", "parse_order_by"]
