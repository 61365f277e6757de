"""Errors raised by Workbench; each one builds its own message for the user.

Entry points translate them at the edge: the CLI into one-line click errors, the
magics into ``UsageError``, the server into HTTP statuses (see ``server/handlers.py``).
"""

from __future__ import annotations

from collections.abc import Sequence


class WorkbenchError(Exception):
    """Base class for every error Workbench raises on purpose."""


class InvalidInputError(WorkbenchError, ValueError):
    """A value given by the user is not acceptable (wrong type, NaN, bad key...)."""


class NoActiveRunError(WorkbenchError, RuntimeError):
    """A logging call was made while no run is active."""

    def __init__(self, what: str = "log") -> None:
        super().__init__(
            f"cannot {what}: no run is active. Start one with `wb.start_run()` "
            "(or `with wb.start_run(): ...`), or use %%track in a notebook."
        )


class NotFoundError(WorkbenchError, LookupError):
    """A run (or other record) does not exist."""


class RunNotFoundError(NotFoundError):
    """No run matches the given id or id prefix."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(
            f"no run matches {ref!r}; give a run id or a unique prefix of one (`workbench runs` lists them)"
        )


class AmbiguousRunError(InvalidInputError):
    """An id prefix matches more than one run."""

    def __init__(self, ref: str, candidates: Sequence[str]) -> None:
        self.ref = ref
        self.candidates = list(candidates)
        shown = ", ".join(self.candidates[:10])
        more = " ..." if len(self.candidates) > 10 else ""
        super().__init__(
            f"run id prefix {ref!r} is ambiguous: it matches {shown}{more}; give more characters"
        )


class FilterSyntaxError(InvalidInputError):
    """A search filter or order_by clause does not parse.

    The message is one line; ``pointer`` shows the filter with a caret under the
    offending position, for interfaces that can show two lines.
    """

    def __init__(self, text: str, position: int, expected: str, found: str | None = None) -> None:
        self.text = text
        self.position = position
        self.expected = expected
        self.found = found
        self.pointer = f"{text}\n{' ' * position}^"
        found_txt = "the end of the filter" if found is None else repr(found)
        super().__init__(
            f"invalid filter at position {position}: expected {expected}, found {found_txt} (in {text!r})"
        )


class StoreError(WorkbenchError):
    """The store cannot be used."""


class StoreBusyError(StoreError):
    """Another process held the store's lock for longer than the wait allows."""


class StoreCorruptError(StoreError):
    """The store file exists but DuckDB cannot read it; it is left untouched."""


class StoreVersionError(StoreError):
    """The store was written by a newer Workbench; it is refused and left untouched."""


class StoreWriteError(StoreError):
    """The store, or its folder, cannot be written now (disk full, read-only, I/O error).

    Nothing is lost: what could not be written stays buffered and is retried, or is on
    disk in a spool or rescue file that the next session folds in.
    """


class BufferFullError(StoreWriteError):
    """Too many points wait for a store that cannot be written, and no folder took them."""


class DamagedFileError(StoreError):
    """A spool or rescue file is damaged or holds values the store must not take; it is
    moved to ``spool/bad/`` and the rest of the spool is folded."""
