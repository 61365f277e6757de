"""Run bundles: runs moved between stores and machines as one zip file (``.wbz``).

A bundle holds

- ``tables/<table>.parquet``: the selected runs' rows of every table that describes them
  (runs, params, full metric histories, tags, context, artifact rows with the datasets
  read and their profiles, which carry the lineage; experiments, environments, the
  registry versions and aliases and the model card text that point at them);
- ``blobs/<sha256>``: the stored content they refer to (notebook snapshots, executed
  notebooks, artifacts, models, the files of model folders);
- ``manifest.json``: format, bundle and schema versions, counts, the run ids, and the
  sha256 and size of every other member.

:func:`import_runs` checks every member against the manifest, extracting to a temporary
folder, before it writes anything; then it copies the blobs in and merges the tables by
run id in one transaction (:mod:`workbench.store.bundles`). Importing the same bundle
again, or into the store it came from, changes nothing.

The hashes detect damage and edits of a member; they cannot detect someone who rewrites
a member and its manifest entry alike (a bundle is not signed).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..api import open_store
from ..errors import InvalidInputError
from ..store import SCHEMA_VERSION, Store
from ..store import bundles as bundle_sql

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_VERSION",
    "BundleError",
    "BundleVersionError",
    "ExportReport",
    "ImportReport",
    "export_runs",
    "import_runs",
    "read_manifest",
]

#: What ``manifest.json`` names as its format.
BUNDLE_FORMAT = "workbench-bundle"
#: The layout of the zip file (members, manifest keys); the rows follow the store schema.
BUNDLE_VERSION = 1
MANIFEST = "manifest.json"
_MEMBER = re.compile(r"^(?:tables/(?P<table>[a-z_]+)\.parquet|blobs/(?P<sha>[0-9a-f]{64}))$")
_CHUNK = 1 << 20


class BundleError(InvalidInputError):
    """A file that cannot be imported as a bundle: not one, damaged, truncated or edited.
    Nothing was written."""


class BundleVersionError(BundleError):
    """A bundle written by a newer Workbench (a newer store schema or bundle layout)."""


@dataclass
class ExportReport:
    """What :func:`export_runs` wrote."""

    path: Path
    runs: int
    counts: dict[str, int]
    blobs: int
    size: int
    missing_blobs: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        mb = self.size / 1e6
        text = (
            f"exported {self.runs} run(s), {self.counts.get('metrics', 0):,} metric point(s) and "
            f"{self.blobs} stored file(s) to {self.path} ({mb:.2f} MB)"
        )
        if self.missing_blobs:
            text += (
                f"; {len(self.missing_blobs)} stored file(s) were missing from the store and are not in it"
            )
        return text


@dataclass
class ImportReport:
    """What :func:`import_runs` did: runs added, runs that gained data, conflicts."""

    path: str
    run_ids: list[str]
    added: list[str]
    updated: list[str]
    points: int
    blobs: int
    conflicts: list[str]

    @property
    def unchanged(self) -> int:
        """Runs of the bundle the store already had, exactly."""
        return len(self.run_ids) - len(self.added) - len(self.updated)

    def __str__(self) -> str:
        text = (
            f"imported {self.path}: {len(self.added)} run(s) added, {len(self.updated)} updated, "
            f"{self.unchanged} unchanged; {self.points:,} metric point(s) and {self.blobs} stored file(s) added"
        )
        if self.conflicts:
            text += f"; {len(self.conflicts)} conflict(s), this store's values kept:\n"
            text += "\n".join(f"  {c}" for c in self.conflicts[:50])
            if len(self.conflicts) > 50:
                text += f"\n  ... and {len(self.conflicts) - 50} more (ImportReport.conflicts has them all)"
        return text


def _output_path(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise InvalidInputError(f"the bundle path must be a file path (e.g. runs.wbz), got {path!r}")
    p = Path(path)
    if p.is_dir():
        raise InvalidInputError(f"{str(p)!r} is a folder; give the bundle's file name, e.g. {p / 'runs.wbz'}")
    if not p.parent.is_dir():
        raise InvalidInputError(f"cannot write {str(p)!r}: the folder {str(p.parent)!r} does not exist")
    return p


def _selected_runs(store: Store, filter: Any, experiment: Any, run_ids: Sequence[str] | None) -> list[str]:
    if run_ids is not None:
        if isinstance(run_ids, str) or not all(isinstance(r, str) for r in run_ids):
            raise InvalidInputError(f"run_ids must be a list of run ids, got {run_ids!r}")
        return store.resolve_run_ids(list(run_ids))
    if filter is not None and not isinstance(filter, str):
        raise InvalidInputError(f"filter must be a search filter string or None, got {filter!r}")
    if experiment is not None and not (
        isinstance(experiment, str)
        or (isinstance(experiment, (list, tuple)) and all(isinstance(e, str) for e in experiment))
    ):
        raise InvalidInputError(f"experiment must be a name, a list of names or None, got {experiment!r}")
    df = store.search_runs(filter, None, experiment)
    return list(df["run_id"])


def _model_files(store: Store, digests: Sequence[str]) -> list[str]:
    """The files of the model folders among ``digests`` (each folder is a manifest blob)."""
    from ..tracking.model_io import is_manifest

    out: list[str] = []
    for d in digests:
        p = store.blob_path(d)
        if p.exists() and is_manifest(str(p)):
            with open(p, encoding="utf-8") as f:
                out.extend(json.load(f)["files"].values())
    return out


def _add_member(zf: zipfile.ZipFile, name: str, source: Path, compress: bool) -> dict[str, Any]:
    h = hashlib.sha256()
    size = 0
    info = zipfile.ZipInfo(name, date_time=time.localtime(source.stat().st_mtime)[:6])
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with open(source, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
        while chunk := src.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
            dst.write(chunk)
    return {"sha256": h.hexdigest(), "size": size}


def export_runs(
    path: str | os.PathLike[str],
    filter: str | None = None,
    experiment: str | Sequence[str] | None = None,
    *,
    run_ids: Sequence[str] | None = None,
    store: str | os.PathLike[str] | Store | None = None,
) -> ExportReport:
    """Write the runs a filter selects, with everything that describes them, to one
    bundle file that :func:`import_runs` reads into another store.

    Parameters
    ----------
    path
        The bundle to write (by convention ``*.wbz``); replaced if it exists, and only
        once it is complete.
    filter
        A search filter (``"metrics.rmse < 55"``); all runs when None. Deleted runs are
        left out.
    experiment
        Only runs of this experiment (or these).
    run_ids
        Exactly these runs (ids or unique prefixes), instead of a filter.

    Returns
    -------
    ExportReport
        The file, the number of runs, rows per table, stored files and bytes.

    Raises
    ------
    InvalidInputError
        A bad path, filter or experiment, or no run selected (nothing is written).
    """
    out = _output_path(path)
    s = open_store(store)
    ids = _selected_runs(s, filter, experiment, run_ids)
    if not ids:
        what = f" matching {filter!r}" if filter else ""
        if experiment:
            names = [experiment] if isinstance(experiment, str) else list(experiment)
            what += f" in experiment {', '.join(repr(n) for n in names)}"
        raise InvalidInputError(f"no runs{what} in {s.directory}; nothing was exported")
    with tempfile.TemporaryDirectory(prefix=".wbz-", dir=out.parent) as tmp:
        folder = Path(tmp)
        with s.session() as con:
            counts = bundle_sql.export_tables(con, ids, folder)
            digests = bundle_sql.blob_digests(con, ids)
        digests = sorted(set(digests) | set(_model_files(s, digests)))
        present = [d for d in digests if s.blob_path(d).exists()]
        missing = [d for d in digests if d not in set(present)]
        members: dict[str, Any] = {}
        partial = folder / "bundle.zip"
        with zipfile.ZipFile(partial, "w", allowZip64=True) as zf:
            for name in bundle_sql.TABLES:
                # Parquet is compressed already (zstd): stored as is.
                members[f"tables/{name}.parquet"] = _add_member(
                    zf, f"tables/{name}.parquet", folder / f"{name}.parquet", compress=False
                )
            for d in present:
                members[f"blobs/{d}"] = _add_member(zf, f"blobs/{d}", s.blob_path(d), compress=True)
            manifest = {
                "format": BUNDLE_FORMAT,
                "bundle_version": BUNDLE_VERSION,
                "schema_version": SCHEMA_VERSION,
                "workbench_version": _version(),
                "created_at": int(time.time() * 1000),
                "source_store": str(s.directory.absolute()),
                "selection": {"filter": filter, "experiment": experiment, "run_ids": run_ids is not None},
                "counts": {**counts, "blobs": len(present)},
                "run_ids": ids,
                "missing_blobs": missing,
                "members": members,
            }
            zf.writestr(MANIFEST, json.dumps(manifest, indent=1, sort_keys=True), zipfile.ZIP_DEFLATED)
        os.replace(partial, out)
    return ExportReport(out, len(ids), counts, len(present), out.stat().st_size, missing)


def _version() -> str:
    try:
        from .._version import __version__

        return __version__
    except ImportError:
        return "unknown"


def _open_zip(source: str | os.PathLike[str] | IO[bytes], label: str) -> zipfile.ZipFile:
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if not p.exists():
            raise InvalidInputError(f"bundle {label!r} does not exist")
        if p.is_dir():
            raise InvalidInputError(
                f"{label!r} is a folder; give a bundle file (.wbz) written by `workbench export`"
            )
    try:
        return zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise BundleError(
            f"{label} is not a Workbench bundle: not a zip file, or a truncated one; nothing was imported"
        ) from None
    except OSError as e:
        raise InvalidInputError(f"cannot read bundle {label!r}: {e.strerror or e}") from None


def _check_manifest(zf: zipfile.ZipFile, label: str) -> dict[str, Any]:
    damaged = f"{label} is damaged or was edited"
    try:
        raw = zf.read(MANIFEST)
    except KeyError:
        raise BundleError(
            f"{label} is not a Workbench bundle (it has no {MANIFEST}); nothing was imported"
        ) from None
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise BundleError(f"{damaged}: its {MANIFEST} cannot be read ({e}); nothing was imported") from None
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise BundleError(f"{damaged}: its {MANIFEST} is not valid JSON; nothing was imported") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{label} is not a Workbench bundle ({MANIFEST} names no {BUNDLE_FORMAT!r} format)")
    bv, sv = manifest.get("bundle_version"), manifest.get("schema_version")
    if not isinstance(bv, int) or not isinstance(sv, int) or not isinstance(manifest.get("members"), dict):
        raise BundleError(f"{damaged}: its {MANIFEST} lacks bundle_version, schema_version or members")
    if sv > SCHEMA_VERSION or bv > BUNDLE_VERSION:
        newer = f"store schema {sv}" if sv > SCHEMA_VERSION else f"bundle layout {bv}"
        raise BundleVersionError(
            f"{label} was written by a newer Workbench ({newer}; this version reads up to schema "
            f"{SCHEMA_VERSION}, layout {BUNDLE_VERSION}): upgrade workbench (pip install -U workbench) "
            "to import it; nothing was imported"
        )
    return manifest


def _extract_verified(
    zf: zipfile.ZipFile, manifest: dict[str, Any], folder: Path, label: str
) -> dict[str, Path]:
    """Extract every member into ``folder``, checking it against the manifest; returns
    member name -> extracted file. Raises BundleError at the first difference."""
    damaged = f"{label} is damaged or was edited"
    members: dict[str, Any] = manifest["members"]
    names = [i.filename for i in zf.infolist()]
    if len(names) != len(set(names)):
        raise BundleError(f"{damaged}: it holds a member twice; nothing was imported")
    actual = set(names) - {MANIFEST}
    if actual - set(members):
        extra = sorted(actual - set(members))[0]
        raise BundleError(f"{damaged}: {extra} is not in its manifest; nothing was imported")
    if set(members) - actual:
        gone = sorted(set(members) - actual)[0]
        raise BundleError(f"{damaged} or truncated: {gone} is missing; nothing was imported")
    out: dict[str, Path] = {}
    for i, name in enumerate(sorted(members)):
        m = _MEMBER.match(name)
        entry = members[name]
        if (
            m is None
            or (m["table"] is not None and m["table"] not in bundle_sql.TABLES)
            or not isinstance(entry, dict)
            or not isinstance(entry.get("sha256"), str)
            or not isinstance(entry.get("size"), int)
        ):
            raise BundleError(f"{damaged}: unexpected member {name!r}; nothing was imported")
        target = folder / f"{i:06d}"
        h = hashlib.sha256()
        size = 0
        try:
            with zf.open(name) as src, open(target, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    h.update(chunk)
                    size += len(chunk)
                    dst.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise BundleError(f"{damaged}: {name} cannot be read ({e}); nothing was imported") from None
        digest = h.hexdigest()
        if (
            digest != entry["sha256"]
            or size != entry["size"]
            or (m["sha"] is not None and m["sha"] != digest)
        ):
            raise BundleError(
                f"{damaged}: the sha256 of {name} does not match its manifest; nothing was imported"
            )
        out[name] = target
    return out


def read_manifest(path: str | os.PathLike[str] | IO[bytes]) -> dict[str, Any]:
    """A bundle's manifest (format, versions, counts, run ids, members), checked for
    format and version only (:func:`import_runs` checks every member).

    Raises
    ------
    BundleError, BundleVersionError
    """
    label = os.fspath(path) if isinstance(path, (str, os.PathLike)) else "the bundle"
    with _open_zip(path, label) as zf:
        return _check_manifest(zf, label)


def import_runs(
    path: str | os.PathLike[str] | IO[bytes],
    *,
    store: str | os.PathLike[str] | Store | None = None,
) -> ImportReport:
    """Merge a bundle written by :func:`export_runs` into the store, by run id.

    Every member is checked against the manifest's sha256 before anything is written; a
    bundle written by a newer Workbench is refused. New runs are added whole; a run the
    store has gains the metric points, params, tags and files it lacks (and its end, if
    the store has it still running). A value that differs from the store's is a conflict:
    the store's is kept, and the report lists it. Importing the same bundle again, or into
    the store it came from, changes nothing.

    Parameters
    ----------
    path
        The bundle file (or a binary file object holding one).

    Returns
    -------
    ImportReport
        ``added`` and ``updated`` run ids, metric points and stored files added, and the
        ``conflicts``.

    Raises
    ------
    BundleError
        Not a bundle, truncated, damaged or edited (nothing was written).
    BundleVersionError
        Written by a newer Workbench (nothing was written).
    """
    if not isinstance(path, (str, os.PathLike)) and not hasattr(path, "read"):
        raise InvalidInputError(f"import_runs takes the path of a bundle file (.wbz), got {path!r}")
    label = os.fspath(path) if isinstance(path, (str, os.PathLike)) else "the bundle"
    with _open_zip(path, label) as zf, tempfile.TemporaryDirectory(prefix="workbench-import-") as tmp:
        manifest = _check_manifest(zf, label)
        extracted = _extract_verified(zf, manifest, Path(tmp), label)
        s = open_store(store)
        # Everything checked: now the store. Blobs first (content-addressed, so a blob no
        # row refers to yet is harmless), then all rows in one transaction.
        added_blobs = 0
        blob_paths: dict[str, str] = {}
        for name, file in extracted.items():
            if name.startswith("blobs/"):
                digest = name.split("/", 1)[1]
                dest = s.blob_path(digest)
                if not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    tmp_dest = dest.with_name(f"{digest}.import{os.getpid()}")
                    shutil.move(file, tmp_dest)
                    os.replace(tmp_dest, dest)
                    added_blobs += 1
                blob_paths[digest] = str(dest)
        for digest in manifest.get("missing_blobs") or []:
            if (
                isinstance(digest, str)
                and re.fullmatch(r"[0-9a-f]{64}", digest)
                and s.blob_path(digest).exists()
            ):
                blob_paths[digest] = str(s.blob_path(digest))
        tables = {
            m["table"]: file for name, file in extracted.items() if (m := _MEMBER.match(name)) and m["table"]
        }
        with s.session() as con:
            merged = bundle_sql.merge_tables(con, tables, blob_paths)
    return ImportReport(
        label,
        merged["run_ids"],
        merged["added"],
        merged["updated"],
        merged["points"],
        added_blobs,
        merged["conflicts"],
    )
