"""Read and write O2Physics tables in ROOT (uproot) or parquet files.

A derived AO2D file holds each table as a TTree (e.g. ``O2hfcanddslite``) in every ``DF_<n>``
folder; :func:`read_table` merges them, keeping the last ROOT cycle of each key, and
:func:`write_table` writes the same layout. Every failure a user can cause raises an
:class:`o2ml.errors.O2mlError` that names the file, what was expected and what was found.
Reading never writes anything next to the input.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import (
    BadArgumentError,
    BadFileError,
    ColumnNotFoundError,
    EmptySelectionError,
    InputFileNotFoundError,
    JoinError,
    NonFiniteError,
    O2mlError,
    OutputExistsError,
    SelectionSyntaxError,
    TableNotFoundError,
    did_you_mean,
)
from .schema import Table, find_table

if TYPE_CHECKING:
    import pyarrow as pa

PathLike = str | os.PathLike
Paths = PathLike | Sequence[PathLike]

PARQUET_TABLE_KEY = b"o2ml.table"
#: where :func:`write_table` keeps its ``metadata``: a parquet schema key / a ROOT TObjString
PARQUET_METADATA_KEY = b"o2ml.metadata"
ROOT_METADATA_KEY = "o2ml_metadata"
_GLOB_CHARS = re.compile(r"[*?\[]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _format(path: Path) -> str:
    """``"root"`` or ``"parquet"``, from the extension or else from the file's first bytes."""
    suffix = path.suffix.lower()
    if suffix == ".root":
        return "root"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic == b"root":
        return "root"
    if magic == b"PAR1":
        return "parquet"
    raise BadFileError(
        f"{path}: expected a ROOT (.root) or parquet (.parquet) file, found neither "
        f"(extension {suffix or 'none'!r}, first bytes {magic!r})."
    )


def expand_paths(paths: Paths) -> list[Path]:
    """Expand one path, a glob pattern or a list of them into existing files, in sorted order."""
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if not items:
        raise InputFileNotFoundError("No input file given (an empty list of paths).")
    out: list[Path] = []
    for item in items:
        text = os.fspath(item)
        if _GLOB_CHARS.search(text) and not Path(text).exists():
            hits = sorted(glob.glob(text))
            if not hits:
                raise InputFileNotFoundError(f"{text}: the pattern matches no file.")
            out.extend(Path(h) for h in hits)
        else:
            path = Path(text)
            if not path.exists():
                raise InputFileNotFoundError(f"{path}: no such file.")
            if path.is_dir():
                raise BadFileError(f"{path}: expected a file, found a directory.")
            out.append(path)
    return out


# --------------------------------------------------------------------------------------- ROOT


def _open_root(path: Path):
    import uproot

    try:
        return uproot.open(path)
    except (OSError, ValueError, TypeError, KeyError, IndexError) as err:
        raise BadFileError(
            f"{path}: not a readable ROOT file ({err.__class__.__name__}: {err})."
        ) from None
    except Exception as err:  # uproot's deserialization errors have no common public base
        raise BadFileError(
            f"{path}: not a readable ROOT file ({err.__class__.__name__}: {err})."
        ) from None


def _natural_key(text: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


@dataclass(frozen=True)
class TreeInfo:
    """One table as found in a file: its tree name, the folders holding it, entries and columns."""

    tree: str
    paths: tuple[str, ...]  # "DF_1/O2hfcanddslite;1", one per folder, last cycle only
    entries: int
    columns: dict[str, str]  # name -> numpy dtype string
    kind: str = "TTree"  # "TTree", "RNTuple" (ROOT files) or "parquet"


#: ROOT classes read as tables: O2 writes TTrees; uproot >= 5.7 writes an RNTuple when a plain
#: dict is assigned to a file key, and ROOT 6.34+ can write them too: both are read
_TABLE_CLASSES = frozenset({"TTree", "ROOT::RNTuple", "ROOT::Experimental::RNTuple"})


def _root_trees(path: Path, f) -> dict[str, list[str]]:
    """Map tree name -> object paths (``DF_1/O2x;2``), last cycle only, folders in natural order.

    TTrees and RNTuples alike (both hold one table each).
    """
    try:
        classnames = f.classnames(recursive=True)
    except Exception as err:
        raise BadFileError(f"{path}: cannot list the ROOT file's keys ({err}).") from None
    last: dict[str, tuple[int, str]] = {}
    for key, cls in classnames.items():
        if cls not in _TABLE_CLASSES:
            continue
        name, _, cycle = key.rpartition(";")
        cyc = int(cycle) if cycle.isdigit() else 0
        if name not in last or cyc > last[name][0]:
            last[name] = (cyc, key)
    trees: dict[str, list[str]] = {}
    for name in sorted(last, key=_natural_key):
        trees.setdefault(name.rpartition("/")[2], []).append(last[name][1])
    return trees


def _tree_paths(path: Path, f, tree: str, table_label: str) -> list[str]:
    trees = _root_trees(path, f)
    for name, keys in trees.items():
        if name.lower() == tree.lower():
            return keys
    found = ", ".join(sorted(trees)) if trees else f"no TTree or RNTuple ({_other_objects(f)})"
    raise TableNotFoundError(
        f"{path}: table {table_label} (tree {tree}) not found; the file holds: {found}."
        + did_you_mean(tree, trees)
    )


def _other_objects(f) -> str:
    """What a ROOT file without tables holds, for an error message."""
    try:
        found = {
            k.rpartition(";")[0]: c
            for k, c in f.classnames(recursive=True).items()
            if c != "TDirectory"
        }
    except Exception:
        return "its keys cannot be listed"
    if not found:
        return "the file is empty"
    listed = ", ".join(f"{c} {k!r}" for k, c in list(found.items())[:5])
    return f"found {listed}" + (f" and {len(found) - 5} more" if len(found) > 5 else "")


def _root_dtypes(tree) -> dict[str, str]:
    if _is_rntuple(tree):  # fields have no interpretation: read one entry for the dtypes
        try:
            first = tree.arrays(library="np", entry_stop=1)
            return {name: str(first[name].dtype.newbyteorder("=")) for name in tree.keys()}
        except Exception:  # nested or unsupported field types
            return {name: field.typename for name, field in tree.items()}
    out = {}
    for name, branch in tree.items(filter_typename=lambda t: True):
        try:
            dtype = branch.interpretation.numpy_dtype
            # O2's variable-size arrays read as objects: show their C++ type (int32_t[])
            out[name] = branch.typename if dtype.kind == "O" else str(dtype.newbyteorder("="))
        except Exception:  # jagged or object branches
            out[name] = branch.typename
    return out


def _is_rntuple(obj) -> bool:
    return "RNTuple" in type(obj).__name__


def describe(path: PathLike) -> list[TreeInfo]:
    """List the tables of a ROOT or parquet file: tree name, folders, entries and columns."""
    path = expand_paths(path)[0]
    if _format(path) == "parquet":
        pf = _parquet_file(path)
        schema = pf.schema_arrow
        name = (schema.metadata or {}).get(PARQUET_TABLE_KEY, path.stem.encode()).decode()
        cols = {f.name: str(f.type) for f in schema}
        return [TreeInfo(name, (path.name,), pf.metadata.num_rows, cols, "parquet")]
    with _open_root(path) as f:
        infos = []
        for name, keys in _root_trees(path, f).items():
            entries = sum(f[k].num_entries for k in keys)
            first = f[keys[0]]
            kind = "RNTuple" if _is_rntuple(first) else "TTree"
            infos.append(TreeInfo(name, tuple(keys), entries, _root_dtypes(first), kind))
        return infos


def _read_root(
    path: Path, tree: str, table_label: str, columns: list[str] | None
) -> tuple[dict[str, np.ndarray], list[str]]:
    with _open_root(path) as f:
        keys = _tree_paths(path, f, tree, table_label)
        available = list(f[keys[0]].keys())
        wanted = available if columns is None else columns
        _check_columns(path, table_label, wanted, available)
        parts: dict[str, list[np.ndarray]] = {c: [] for c in wanted}
        for key in keys:
            arrays = _arrays(path, f, key, wanted)
            for c in wanted:
                parts[c].append(arrays[c])
        merged = {c: (v[0] if len(v) == 1 else np.concatenate(v)) for c, v in parts.items()}
        return merged, available


def _arrays(path: Path, f, key: str, columns: list[str]) -> dict[str, np.ndarray]:
    """The ``columns`` of the tree ``key`` of the open ROOT file ``f``, as numpy arrays."""
    try:
        return f[key].arrays(columns, library="np")
    except Exception as err:
        raise BadFileError(
            f"{path}: cannot read {key} ({err.__class__.__name__}: {err}); "
            "the file is probably truncated or corrupted."
        ) from None


# ------------------------------------------------------------------------------------ parquet


def read_arrow(path: PathLike, what: str, *, error: type[O2mlError] = BadFileError) -> pa.Table:
    """The whole parquet file ``path`` as a pyarrow Table; an unreadable file raises ``error``
    (default :class:`~o2ml.errors.BadFileError`): "``path``: expected ``what``, found an
    unreadable file (...)"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise error(f"{path}: expected {what}, found an unreadable file ({err}).") from None


def _parquet_file(path: Path):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as err:
        raise BadFileError(f"{path}: not a readable parquet file ({err}).") from None


def _read_parquet(
    path: Path, table: Table | None, tree: str, table_label: str, columns: list[str] | None
) -> tuple[dict[str, np.ndarray], list[str]]:
    pf = _parquet_file(path)
    available = pf.schema_arrow.names
    wanted = available if columns is None else columns
    _read_parquet_check(path, table, tree, table_label, wanted)
    try:
        data = pf.read(columns=wanted)
    except Exception as err:
        raise BadFileError(f"{path}: cannot read the parquet data ({err}).") from None
    return {c: data.column(c).to_numpy() for c in wanted}, available


# ------------------------------------------------------------------------------------- public


def _check_columns(
    path: Path, table_label: str, wanted: Iterable[str], available: list[str]
) -> None:
    have = set(available)
    for c in wanted:
        if c not in have:
            raise ColumnNotFoundError(
                f"{path}: table {table_label} has no column {c!r}." + did_you_mean(c, available)
            )


def _resolve(table: str | Table) -> tuple[Table | None, str, str]:
    """(declared table or None, tree name, label for messages)."""
    if isinstance(table, Table):
        return table, table.tree_name, table.name
    declared = find_table(table)
    if declared is not None:
        return declared, declared.tree_name, declared.name
    return None, table, table  # a tree o2ml does not declare: read it by its tree name


def _selection_columns(selection: str, available: list[str]) -> list[str]:
    names = set(_IDENTIFIER.findall(selection))
    return [c for c in available if c in names]


def check_finite(df: pd.DataFrame, columns: Iterable[str], source: str = "DataFrame") -> None:
    """Raise :class:`NonFiniteError` if any of ``columns`` holds NaN or inf (count per column)."""
    bad = []
    for c in columns:
        values = df[c].to_numpy()
        if values.dtype.kind == "f":
            n = int(values.size - np.count_nonzero(np.isfinite(values)))
            if n:
                bad.append(f"{c!r}: {n} of {values.size}")
    if bad:
        raise NonFiniteError(f"{source}: NaN or inf in feature columns: {'; '.join(bad)}.")


def read_table(
    paths: Paths,
    table: str | Table | Sequence[str | Table],
    columns: Sequence[str] | None = None,
    *,
    selection: str | None = None,
    finite: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read one table, or several joined row by row, from one file, a list of files or a glob
    pattern into a DataFrame.

    Parameters
    ----------
    paths
        A path, a glob pattern (``"out/*.root"``) or a list of them; ROOT or parquet.
    table
        A declared table name (``"HfCandDsLites"``), its tree name (``"O2hfcanddslite"``), or the
        tree name of any other table. A list of tables of one AO2D (``["TracksIU",
        "TracksExtra_002", "McTrackLabels"]``) joins them as O2's ``soa::Join`` does: the same
        ``DF_`` folders, the same number of rows in each folder, columns side by side; a column
        name that several of them hold is kept from each, as ``<table>.<column>``
        (``"TracksIU.fX"``). Tables of different lengths raise :class:`~o2ml.errors.JoinError`
        naming both tables and the folder. Follow an index column with :func:`follow_index`.
    columns
        Columns to return (default: all).
    selection
        A :meth:`pandas.DataFrame.query` expression applied after reading, e.g. ``"fPt > 2"``.
    finite
        Columns that must hold no NaN or inf (e.g. the model features).
    """
    joined = not isinstance(table, str | Table)
    if joined:
        resolved = [_resolve(t) for t in table]
        if not resolved:
            raise BadArgumentError("read_table: an empty list of tables to join.")
        label = " + ".join(r[2] for r in resolved)
        declared, tree = None, ""
    else:
        declared, tree, label = _resolve(table)
    files = expand_paths(paths)
    cols = list(columns) if columns is not None else None
    frames: list[dict[str, np.ndarray]] = []
    source = str(files[0]) if len(files) == 1 else f"{files[0]} (+{len(files) - 1} more files)"
    extra: list[str] = []
    for path in files:
        if cols is not None and selection:
            if not extra and not frames:
                # columns the selection needs but the caller did not ask for
                head = (
                    list(_joined_layout(path, resolved)[2])
                    if joined
                    else _columns(path, declared, tree, label)
                )
                extra = [c for c in _selection_columns(selection, head) if c not in cols]
            need = cols + extra
        else:
            need = cols
        if joined:
            arrays = _read_joined(path, resolved, need)
        elif _format(path) == "root":
            arrays, _ = _read_root(path, tree, label, need)
        else:
            arrays, _ = _read_parquet(path, declared, tree, label, need)
        frames.append({c: _as_column(a) for c, a in arrays.items()})
    names = list(frames[0])
    data = {
        c: np.concatenate([f[c] for f in frames]) if len(frames) > 1 else frames[0][c]
        for c in names
    }
    df = pd.DataFrame(data, copy=False)
    if selection:
        try:
            df = df.query(selection)
        except Exception as err:
            raise SelectionSyntaxError(
                f"{source}: cannot apply selection {selection!r} to table {label} "
                f"({err.__class__.__name__}: {err})." + _unknown_names(selection, names)
            ) from None
        if extra:
            df = df.drop(columns=extra)
        df = df.reset_index(drop=True)
    if df.empty:
        what = f"after selection {selection!r}" if selection else "(the table has no entries)"
        raise EmptySelectionError(f"{source}: table {label} is empty {what}.")
    if finite:
        check_finite(df, finite, f"{source}, table {label}")
    return df


def _as_column(values: np.ndarray) -> np.ndarray:
    """A DataFrame column: O2's fixed-size array columns (``int[2]``) become one array per row."""
    if values.ndim == 1:
        return values
    out = np.empty(len(values), dtype=object)
    for i, row in enumerate(values):
        out[i] = row
    return out


def _joined_layout(path: Path, resolved: list[tuple[Table | None, str, str]]):
    """(folders, {label: {folder: key}}, {output column: (label, stored column)}) of tables to
    join in the ROOT file ``path``, after checking that they share their DF_ folders and row
    counts."""
    if _format(path) != "root":
        raise BadArgumentError(
            f"{path}: joining tables needs an AO2D ROOT file with DF_ folders, not a parquet file."
        )
    with _open_root(path) as f:
        keys: dict[str, dict[str, str]] = {}
        stored: dict[str, list[str]] = {}
        entries: dict[str, dict[str, int]] = {}
        for _, tree, label in resolved:
            paths = _tree_paths(path, f, tree, label)
            keys[label] = {k.rpartition("/")[0] or "(top)": k for k in paths}
            stored[label] = list(f[paths[0]].keys())
            entries[label] = {d: f[k].num_entries for d, k in keys[label].items()}
    first, *others = list(keys)
    folders = list(keys[first])
    for other in others:
        if set(keys[other]) != set(folders):
            only_first = sorted(set(folders) - set(keys[other]), key=_natural_key)
            only_other = sorted(set(keys[other]) - set(folders), key=_natural_key)
            raise JoinError(
                f"{path}: cannot join tables {first} and {other}: they are not in the same DF_ "
                f"folders (only {first}: {only_first or 'none'}; only {other}: "
                f"{only_other or 'none'})."
            )
        for d in folders:
            if entries[first][d] != entries[other][d]:
                raise JoinError(
                    f"{path}: cannot join tables {first} and {other} in folder {d}: {first} has "
                    f"{entries[first][d]} rows, {other} {entries[other][d]}. Only tables with one "
                    "row per row of the other join (TracksIU, TracksExtra_002, McTrackLabels, "
                    "...); follow an index column (fIndexCollisions, ...) with io.follow_index."
                )
    shared = {
        c for label in stored for c in stored[label] if sum(c in v for v in stored.values()) > 1
    }
    names = {
        (f"{label}.{c}" if c in shared else c): (label, c)
        for label in stored
        for c in stored[label]
    }
    return folders, keys, names


def _read_joined(
    path: Path, resolved: list[tuple[Table | None, str, str]], columns: list[str] | None
) -> dict[str, np.ndarray]:
    folders, keys, names = _joined_layout(path, resolved)
    wanted = list(names) if columns is None else columns
    for c in wanted:
        if c not in names:
            plain = [n for n in names if n.rpartition(".")[2] == c]
            hint = (
                f" It is in several of them: ask for {plain}." if plain else did_you_mean(c, names)
            )
            raise ColumnNotFoundError(
                f"{path}: the joined tables {' + '.join(keys)} have no column {c!r}." + hint
            )
    by_table: dict[str, list[str]] = {}
    for c in wanted:
        by_table.setdefault(names[c][0], []).append(c)
    parts: dict[str, list[np.ndarray]] = {c: [] for c in wanted}
    with _open_root(path) as f:
        for d in folders:
            for label, out in by_table.items():
                key = keys[label][d]
                stored = [names[c][1] for c in out]
                arrays = _arrays(path, f, key, stored)
                for c, s in zip(out, stored, strict=True):
                    parts[c].append(arrays[s])
    return {c: (v[0] if len(v) == 1 else np.concatenate(v)) for c, v in parts.items()}


def follow_index(
    paths: Paths,
    table: str | Table,
    index: str,
    target: str | Table,
    *,
    columns: Sequence[str],
) -> pd.DataFrame:
    """The ``columns`` of the ``target`` row that each row of ``table`` points to through its
    index column ``index``, as O2 follows an index (``track.mcParticle().pdgCode()``).

    Rows come in the order in which :func:`read_table` reads ``table`` (files, then DF_ folders),
    so the result sits side by side with it: ``pd.concat([tracks, follow_index(...)], axis=1)``.
    An index counts rows of ``target`` in the same DF_ folder; -1 (no such row: a fake track, a
    track without collision) gives 0 in integer columns and NaN in float ones. An index below -1
    or beyond ``target`` raises :class:`~o2ml.errors.JoinError` naming the file, the folder, both
    tables and the value.

    Example: ``follow_index("AO2D.root", "McTrackLabels", "fIndexMcParticles",
    "McParticles_001", columns=["fPdgCode"])``.
    """
    _, tree, label = _resolve(table)
    _, target_tree, target_label = _resolve(target)
    cols = list(columns)
    parts: dict[str, list[np.ndarray]] = {c: [] for c in cols}
    for path in expand_paths(paths):
        if _format(path) != "root":
            raise BadArgumentError(f"{path}: following an index needs an AO2D ROOT file.")
        with _open_root(path) as f:
            keys = _tree_paths(path, f, tree, label)
            targets = {
                k.rpartition("/")[0]: k for k in _tree_paths(path, f, target_tree, target_label)
            }
            _check_columns(path, label, [index], list(f[keys[0]].keys()))
            for key in keys:
                folder = key.rpartition("/")[0]
                if folder not in targets:
                    raise JoinError(
                        f"{path}: folder {folder or '(top)'} holds table {label} but not "
                        f"{target_label}, which its column {index} points to."
                    )
                _check_columns(path, target_label, cols, list(f[targets[folder]].keys()))
                idx = _arrays(path, f, key, [index])[index].astype(np.int64)
                values = _arrays(path, f, targets[folder], cols)
                n = f[targets[folder]].num_entries
                bad = (idx < -1) | (idx >= n)
                if bad.any():
                    raise JoinError(
                        f"{path}: folder {folder}: {label}.{index} = {int(idx[bad][0])} points "
                        f"outside {target_label}, which has {n} rows there "
                        f"({int(bad.sum())} such rows)."
                    )
                missing = idx < 0
                for c in cols:
                    v = _as_column(values[c])
                    picked = v[np.where(missing, 0, idx)] if n else np.zeros(len(idx), v.dtype)
                    if missing.any():
                        picked = picked.astype(float) if v.dtype.kind == "f" else picked.copy()
                        picked[missing] = np.nan if v.dtype.kind == "f" else 0
                    parts[c].append(picked)
    return pd.DataFrame({c: np.concatenate(v) for c, v in parts.items()}, copy=False)


def iter_table(
    paths: Paths,
    table: str | Table,
    columns: Sequence[str],
    *,
    step: int = 1_000_000,
    finite: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """Read one table in chunks of at most ``step`` rows: every file, every ``DF_`` folder.

    Memory stays that of one chunk whatever the number of candidates (``o2ml scan``); the
    columns are checked in every file as :func:`read_table` checks them. No chunk is empty.
    """
    declared, tree, label = _resolve(table)
    wanted = list(dict.fromkeys(columns))
    for path in expand_paths(paths):
        if _format(path) == "parquet":
            _read_parquet_check(path, declared, tree, label, wanted)
            try:
                batches = _parquet_file(path).iter_batches(batch_size=step, columns=wanted)
                chunks = (b.to_pandas() for b in batches)
                yield from _checked(chunks, finite, f"{path}, table {label}")
            except O2mlError:
                raise
            except Exception as err:
                raise BadFileError(f"{path}: cannot read the parquet data ({err}).") from None
            continue
        with _open_root(path) as f:
            keys = _tree_paths(path, f, tree, label)
            for key in keys:
                _check_columns(path, label, wanted, list(f[key].keys()))
                try:
                    arrays = f[key].iterate(wanted, step_size=step, library="np")
                    chunks = (pd.DataFrame(a, copy=False) for a in arrays)
                    yield from _checked(chunks, finite, f"{path}:{key}, table {label}")
                except O2mlError:
                    raise
                except Exception as err:
                    raise BadFileError(
                        f"{path}: cannot read {key} ({err.__class__.__name__}: {err}); "
                        "the file is probably truncated or corrupted."
                    ) from None


def _checked(chunks, finite, source: str) -> Iterator[pd.DataFrame]:
    for df in chunks:
        if len(df):
            if finite:
                check_finite(df, finite, source)
            yield df


def _read_parquet_check(path: Path, declared, tree: str, label: str, wanted: list[str]) -> None:
    """The checks of :func:`_read_parquet` (table name, columns) without reading data."""
    pf = _parquet_file(path)
    stored = (pf.schema_arrow.metadata or {}).get(PARQUET_TABLE_KEY)
    if stored is not None:
        names = {tree.lower(), label.lower()}
        if declared is not None:
            names |= {declared.name.lower(), declared.tree_name.lower()}
        if stored.decode().lower() not in names:
            raise TableNotFoundError(
                f"{path}: table {label} (tree {tree}) not found; the file holds: {stored.decode()}."
            )
    _check_columns(path, label, wanted, pf.schema_arrow.names)


def _unknown_names(selection: str, available: list[str]) -> str:
    unknown = [
        n
        for n in _IDENTIFIER.findall(selection)
        if n not in available and n not in ("and", "or", "not", "in", "abs", "True", "False")
    ]
    return "".join(
        f" Column {n!r} is not in the table." + did_you_mean(n, available) for n in unknown
    )


def table_columns(path: PathLike, table: str | Table) -> list[str]:
    """Column names of ``table`` (a declared table, its name or a tree name) in the file
    ``path``, without reading its data."""
    return _columns(Path(path), *_resolve(table))


def _columns(path: Path, declared: Table | None, tree: str, label: str) -> list[str]:
    if _format(path) == "parquet":
        return _parquet_file(path).schema_arrow.names
    with _open_root(path) as f:
        return list(f[_tree_paths(path, f, tree, label)[0]].keys())


def write_table(
    df: pd.DataFrame,
    path: PathLike,
    table: str | Table,
    *,
    folders: int = 1,
    overwrite: bool = False,
    metadata: dict | None = None,
    conform: bool = True,
) -> Path:
    """Write ``df`` as ``table`` to a ROOT file (``DF_1 .. DF_<folders>``) or a parquet file.

    ``folders=0`` writes one flat tree at the top of the ROOT file, as RDataFrame's ``Snapshot``
    does (the outputs of the O2Physics preparation macro). ``conform=False`` writes the columns
    of ``df`` as they are, even under the tree name of a declared table.

    The format follows the extension (``.root`` or ``.parquet``). The file is written under a
    temporary name and renamed when complete, so an interrupted write never leaves a partial file,
    and an existing file is only replaced with ``overwrite=True``. ``metadata`` (JSON-able) is
    stored in the file and read back by :func:`file_metadata`.
    """
    declared, tree, _ = _resolve(table)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".root", ".parquet", ".pq"):
        raise BadArgumentError(
            f"{path}: cannot tell the format; use a .root or .parquet extension."
        )
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: the file exists; pass overwrite=True to replace it.")
    if folders < 0:
        raise ValueError(f"folders must be >= 0, not {folders}")
    if declared is not None and conform:
        arrays = declared.conform(df, source=f"writing {path}")
    else:
        arrays = {c: np.ascontiguousarray(df[c].to_numpy()) for c in df.columns}
    path.parent.mkdir(parents=True, exist_ok=True)
    from ._atomic import mkstemp  # the mode the umask gives, not mkstemp's 0o600

    fd, tmp = mkstemp(path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        text = None if metadata is None else json.dumps(metadata, sort_keys=True)
        if suffix == ".root":
            _write_root(arrays, Path(tmp), tree, folders, text)
        else:
            _write_parquet(arrays, Path(tmp), declared.name if declared else tree, text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_aod(
    path: PathLike,
    folders: Sequence[dict[str | Table, pd.DataFrame]],
    *,
    overwrite: bool = False,
    metadata: dict | None = None,
) -> Path:
    """Write several tables into one ROOT file as O2 writes an AO2D: folder ``DF_<i+1>`` holds
    the tables of ``folders[i]``, each as a TTree named after its table, columns in the declared
    order and types (O2's array columns included: ``int[2]``, and variable-size arrays with their
    ``<name>_size`` count branch). Index columns count rows in their own folder, as in O2.

    Written under a temporary name and renamed when complete, like :func:`write_table`; an
    existing file is replaced only with ``overwrite=True``."""
    path = Path(path)
    if path.suffix.lower() != ".root":
        raise BadArgumentError(f"{path}: an AO2D is a ROOT file; use the .root extension.")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: the file exists; pass overwrite=True to replace it.")
    conformed = []
    for i, tables in enumerate(folders):
        folder = {}
        for table, df in tables.items():
            declared, tree, label = _resolve(table)
            if declared is None:
                raise BadArgumentError(
                    f"write_aod: table {label!r} is not declared in o2ml.schema."
                )
            source = f"writing {path}, DF_{i + 1}"
            order = [c.name for c in declared.columns if c.name in df.columns]
            order += [c for c in df.columns if c not in declared]  # conform names them
            folder[tree] = declared.conform(df[order], source)
        conformed.append(folder)
    import uproot

    from ._atomic import replacing

    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp, uproot.recreate(tmp, compression=uproot.ZSTD(1)) as f:
        for i, folder in enumerate(conformed):
            for tree, arrays in folder.items():
                _extend_tree(f, f"DF_{i + 1}/{tree}", arrays)
        if metadata is not None:
            f[ROOT_METADATA_KEY] = json.dumps(metadata, sort_keys=True)
    return path


def _extend_tree(f, name: str, arrays: dict[str, np.ndarray]) -> None:
    """One TTree (``mktree``: a TTree as O2 writes, not an RNTuple) holding ``arrays``: plain
    columns, fixed arrays (n, k) and variable-size arrays (object arrays of 1-D arrays, written
    with a ``<name>_size`` count branch as O2 names it)."""
    import awkward as ak

    types, values = {}, {}
    for c, a in arrays.items():
        if a.dtype == object:
            base = next((np.asarray(r).dtype for r in a if len(r)), np.dtype("i4"))
            types[c] = f"var * {base.name}"
            values[c] = ak.Array([np.asarray(r, base) for r in a])
        else:
            types[c] = np.dtype((a.dtype, a.shape[1:])) if a.ndim > 1 else a.dtype
            values[c] = a
    tree = f.mktree(name, types, counter_name=lambda counted: f"{counted}_size")
    if arrays and len(next(iter(arrays.values()))):
        tree.extend(values)


def _write_root(
    arrays: dict[str, np.ndarray], path: Path, tree: str, folders: int, metadata: str | None
) -> None:
    import uproot

    n = len(next(iter(arrays.values()))) if arrays else 0
    edges = np.linspace(0, n, folders + 1).astype(int)
    # ZSTD level 1: smaller than ROOT's default ZLIB and ~8x faster to write (benchmarks/bench_generate.py)
    with uproot.recreate(path, compression=uproot.ZSTD(1)) as f:
        if folders == 0:  # one flat tree, as RDataFrame's Snapshot writes it
            f.mktree(tree, {c: a.dtype for c, a in arrays.items()}).extend(arrays)
        for i in range(folders):
            lo, hi = edges[i], edges[i + 1]
            # mktree: a TTree, as O2 writes (plain assignment would write an RNTuple)
            t = f.mktree(f"DF_{i + 1}/{tree}", {c: a.dtype for c, a in arrays.items()})
            t.extend({c: a[lo:hi] for c, a in arrays.items()})
        if metadata is not None:
            f[ROOT_METADATA_KEY] = metadata  # a str is written as a TObjString


def _write_parquet(
    arrays: dict[str, np.ndarray], path: Path, name: str, metadata: str | None
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    tab = pa.table(arrays)
    meta = {PARQUET_TABLE_KEY: name.encode()}
    if metadata is not None:
        meta[PARQUET_METADATA_KEY] = metadata.encode()
    tab = tab.replace_schema_metadata(meta)
    pq.write_table(tab, path)


def file_metadata(path: PathLike) -> dict | None:
    """The ``metadata`` :func:`write_table` stored in a file (None if it has none).

    Reads only the parquet footer or one ROOT key, not the data.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: no such file.")
    if _format(path) == "parquet":
        text = (_parquet_file(path).schema_arrow.metadata or {}).get(PARQUET_METADATA_KEY)
    else:
        with _open_root(path) as f:
            text = f[ROOT_METADATA_KEY] if ROOT_METADATA_KEY in f else None
    if text is None:
        return None
    try:
        return json.loads(str(text.decode() if isinstance(text, bytes) else text))
    except json.JSONDecodeError as err:
        raise BadFileError(f"{path}: its o2ml metadata is not valid JSON ({err}).") from None


def table_checksum(df: pd.DataFrame) -> str:
    """SHA-256 of a table's content: column names, dtypes and values, in order."""
    h = hashlib.sha256()
    for c in df.columns:
        a = np.ascontiguousarray(df[c].to_numpy())
        h.update(str(c).encode())
        if a.dtype == object:  # O2's array columns: one array per row, hashed by value
            for row in a:
                r = np.ascontiguousarray(row)
                h.update(r.dtype.newbyteorder("=").str.encode() + str(r.shape).encode())
                h.update(r.astype(r.dtype.newbyteorder("="), copy=False).tobytes())
            continue
        a = a.astype(a.dtype.newbyteorder("="), copy=False)
        h.update(a.dtype.str.encode())
        h.update(a.tobytes())
    return h.hexdigest()


def content_checksum(path: PathLike, table: str | Table) -> str:
    """:func:`table_checksum` of a table in a file.

    ROOT files carry write timestamps and UUIDs, so two writes of the same data differ in bytes;
    this checksum is equal exactly when the table content is.
    """
    return table_checksum(read_table(path, table))
