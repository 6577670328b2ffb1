"""Apply the per-pT-bin models to many files, one output per input, on a dask cluster.

Every input is one task: read its table (all ``DF_`` folders), score each candidate with the
model of its pT bin, write the scores and the requested columns under a temporary name and rename
the file when it is complete. The output carries what it was made from (input size and time,
model fingerprint, backend, columns, entries), so a re-run skips exactly the outputs that are
complete and current. A bad input fails its own task only; the others go on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__
from .._cluster import local_cluster
from .._extras import missing
from ..errors import (
    BadArgumentError,
    ModelFileError,
    O2mlError,
    OutputError,
    SchedulerError,
)
from ..io import Paths, describe, expand_paths, file_metadata, read_table, write_table
from .model import BinnedModel

#: the table the outputs hold (tree ``O2mlscores`` in ROOT outputs)
OUTPUT_TABLE = "O2mlscores"
#: columns copied next to the scores unless the user asks for others (invariant mass and pT)
DEFAULT_COLUMNS = ("fM", "fPt")
FORMATS = {"parquet": ".parquet", "root": ".root"}
#: the keys of an output's metadata that must match the request for it to count as done
_REQUEST_KEYS = ("input", "input_size", "input_mtime_ns", "table", "model", "backend", "columns")


@dataclass(frozen=True)
class Execution:
    """How :func:`apply_files` runs (what changes the speed, not the scores).

    * ``backend``: ``auto`` (XGBoost when the model directory has its JSON models, else
      onnxruntime), or one of :data:`o2ml.inference.BACKENDS`.
    * ``scheduler``: None starts a local dask cluster on 127.0.0.1; an address
      (``tcp://host:8786``) joins an existing cluster, whose workers must see the same files;
      ``"synchronous"`` runs in this process without dask.
    * ``workers``: processes of the local cluster (None: one per core).
    * ``threads``: threads per scorer.
    * ``overwrite``: replace outputs that exist but are not complete and current (those are
      always skipped).
    * ``progress``: a progress bar over the files.
    """

    backend: str = "auto"
    scheduler: str | None = None
    workers: int | None = None
    threads: int = 1
    overwrite: bool = False
    progress: bool = True


@dataclass(frozen=True)
class ApplyJob:
    """What a worker needs to process one file (small and picklable; made by :func:`apply_files`
    from the model and its :class:`Execution`)."""

    model: str  # the configuration JSON
    backend: str
    fingerprint: str
    table: str
    columns: tuple[str, ...]
    pt_column: str = "fPt"
    threads: int = 1
    overwrite: bool = False
    task: str | None = None  # the configuration's task (several in one JSON)
    features: tuple[str, ...] | None = None  # tree columns, for configurations without names


@dataclass
class FileResult:
    input: str
    output: str
    status: str  # written | skipped | failed
    entries: int = 0
    seconds: float = 0.0
    error: str = ""


@dataclass
class ApplyReport:
    """The outcome of :func:`apply_files`, one row per input file."""

    results: list[FileResult]
    backend: str
    wall_s: float = 0.0
    workers: int | None = None
    scheduler: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def entries(self) -> int:
        return sum(r.entries for r in self.results if r.status == "written")

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.results])

    def summary(self) -> str:
        counts = {s: sum(r.status == s for r in self.results) for s in ("written", "skipped")}
        rate = f" ({self.entries / self.wall_s:,.0f}/s)" if self.wall_s > 0 and self.entries else ""
        lines = [
            f"{len(self.results)} files: {counts['written']} written, {counts['skipped']} "
            f"already complete, {len(self.failed)} failed; {self.entries:,} candidates scored "
            f"with {self.backend} in {self.wall_s:.1f} s{rate}"
        ]
        lines += [
            f"FAILED {r.error}" if r.error.startswith(r.input) else f"FAILED {r.input}: {r.error}"
            for r in self.failed
        ]
        return "\n".join(lines)


def _signature(job: ApplyJob, input_path: Path) -> dict:
    st = input_path.stat()
    return {
        "input": str(input_path.resolve()),
        "input_size": st.st_size,
        "input_mtime_ns": st.st_mtime_ns,
        "table": job.table,
        "model": job.fingerprint,
        "backend": job.backend,
        "columns": list(job.columns),
    }


def check_output(output: Path, request: dict) -> tuple[bool, str]:
    """Whether ``output`` is a complete output of ``request``; else why not.

    Complete means: readable, written by ``o2ml apply`` for this very input (same size and time),
    model, backend and columns, and holding as many rows as it recorded.
    """
    try:
        meta = (file_metadata(output) or {}).get("o2ml_apply")
        if meta is None:
            return False, "not written by o2ml apply"
        stale = [k for k in _REQUEST_KEYS if meta.get(k) != request[k]]
        if stale:
            return False, f"written for another {'/'.join(stale)}"
        rows = sum(info.entries for info in describe(output))
    except O2mlError as err:
        return False, f"unreadable ({err})"
    if rows != meta.get("entries"):
        return False, f"holds {rows} rows, {meta.get('entries')} were written"
    return True, "complete"


_LOADED: dict = {}


def _loaded(job: ApplyJob) -> tuple[BinnedModel, list]:
    """The model and its scorers, loaded once per worker process."""
    key = (job.model, job.backend, job.threads, job.fingerprint)
    if key not in _LOADED:
        _LOADED.clear()
        # checked once by apply_files
        model = BinnedModel.load(job.model, job.task, check=False, features=job.features)
        if model.fingerprint(job.backend) != job.fingerprint:
            raise ModelFileError(
                f"{job.model}: the model files changed while the run was going on."
            )
        _LOADED[key] = (model, model.scorers(job.backend, job.threads))
    return _LOADED[key]


def apply_file(job: ApplyJob, input_path: str, output_path: str) -> FileResult:
    """Score one file (a dask task). Problems with this file become a ``failed`` result."""
    t0 = time.perf_counter()
    src, out = Path(input_path), Path(output_path)
    result = FileResult(str(src), str(out), "failed")
    try:
        request = _signature(job, src)
        if out.exists():
            done, why = check_output(out, request)
            if done:
                result.status = "skipped"
                return result
            # an output of this very request with missing rows is ours to redo; anything else
            # (another model, the input changed, not ours, unreadable) waits for --overwrite
            if not (job.overwrite or why.startswith("holds")):
                raise OutputError(
                    f"{out}: exists but {why}; not replaced (--overwrite replaces it)."
                )
        for stale in out.parent.glob(f".{out.name}.*.tmp"):  # left by a killed worker
            stale.unlink(missing_ok=True)
        model, scorers = _loaded(job)
        wanted = list(dict.fromkeys([*model.features, job.pt_column, *job.columns]))
        df = read_table(src, job.table, columns=wanted)
        scores = model.score(df, scorers, job.pt_column)
        table = pd.concat([df[list(job.columns)], scores], axis=1)
        meta = {**request, "entries": len(table), "o2ml_version": __version__}
        write_table(table, out, OUTPUT_TABLE, overwrite=True, metadata={"o2ml_apply": meta})
        result.status, result.entries = "written", len(table)
    except O2mlError as err:
        result.error = str(err)
    except Exception as err:  # any other failure of this file must not stop the others
        result.error = f"{err.__class__.__name__}: {err}"
    finally:
        result.seconds = time.perf_counter() - t0
    return result


def output_paths(files: Sequence[Path], out_dir: Path, fmt: str) -> list[Path]:
    """One output per input, keeping the inputs' sub-directories (ALICE files are all AO2D.root)."""
    if fmt not in FORMATS:
        raise BadArgumentError(f"Unknown output format {fmt!r}; choose {' or '.join(FORMATS)}.")
    resolved = [f.resolve() for f in files]
    common = Path(os.path.commonpath([f.parent for f in resolved]))
    outs = [out_dir / f.relative_to(common).with_suffix(FORMATS[fmt]) for f in resolved]
    seen: dict[Path, Path] = {}
    inputs = set(resolved)
    for f, o in zip(resolved, outs, strict=True):
        if o.resolve() in inputs:
            raise OutputError(f"{o}: the output would replace an input; choose another --out.")
        if o in seen:
            raise OutputError(f"{seen[o]} and {f} would both be written to {o}.")
        seen[o] = f
    return outs


def apply_files(
    model: str | os.PathLike | BinnedModel,
    inputs: Paths,
    out_dir: str | os.PathLike,
    *,
    table: str | None = None,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    pt_column: str = "fPt",
    fmt: str = "parquet",
    execution: Execution = Execution(),
) -> ApplyReport:
    """Score every input file with the per-pT-bin models of ``model`` (a directory or its JSON).

    ``model`` may be an O2Physics configuration of one's own, loaded with its task and features:
    ``BinnedModel.load(path, task, features=...)`` (:meth:`o2ml.inference.model.BinnedModel.load`).
    ``columns`` are copied next to the scores; ``pt_column`` picks each candidate's pT bin.
    ``table``: None reads the table of the model's selector (its channel's tree creator,
    :mod:`o2ml.channels`). ``execution`` (:class:`Execution`): backend, dask scheduler, workers,
    threads, overwrite, progress bar.
    """
    run = execution
    for name, value in (("workers", run.workers), ("threads", run.threads)):
        if value is not None and value < 1:
            raise BadArgumentError(f"{name} must be at least 1, not {value}.")
    binned = model if isinstance(model, BinnedModel) else BinnedModel.load(model)
    if table is None:
        from ..channels import find_selector

        selector = find_selector(binned.config.task)
        if selector is None:
            raise BadArgumentError(
                f"{binned.config_path}: task {binned.config.task!r} is no selector o2ml knows "
                "the table of; pass table= (--table)."
            )
        table = selector.table
    backend = binned.resolve_backend(run.backend)
    binned.check_files(backend)  # each worker loads the models once (a few s for big ones)
    files = expand_paths(inputs)
    outputs = output_paths(files, Path(out_dir), fmt)
    job = ApplyJob(
        model=str(binned.config_path.resolve()),
        backend=backend,
        fingerprint=binned.fingerprint(backend),
        table=table,
        columns=tuple(columns),
        pt_column=pt_column,
        threads=run.threads,
        overwrite=run.overwrite,
        task=binned.config.task,
        features=binned.given_features,
    )
    t0 = time.perf_counter()
    pairs = [(str(f), str(o)) for f, o in zip(files, outputs, strict=True)]
    if run.scheduler == "synchronous":
        results, n_workers = _run_here(job, pairs, run.progress), 1
    else:
        results, n_workers = _run_dask(job, pairs, run.scheduler, run.workers, run.progress)
    order = {p[0]: i for i, p in enumerate(pairs)}
    results.sort(key=lambda r: order[r.input])
    elapsed = time.perf_counter() - t0
    return ApplyReport(results, backend, elapsed, n_workers, run.scheduler or "local")


def _bar(total: int, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="o2ml apply", unit="file", disable=not progress)


def _run_here(job: ApplyJob, pairs: list, progress: bool) -> list[FileResult]:
    results = []
    with _bar(len(pairs), progress) as bar:
        for src, out in pairs:
            results.append(apply_file(job, src, out))
            bar.update()
    return results


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _run_dask(
    job: ApplyJob, pairs: list, scheduler: str | None, workers: int | None, progress: bool
) -> tuple[list[FileResult], int]:
    what = "o2ml apply on a dask cluster (or --scheduler synchronous)"
    try:
        from distributed import Client, as_completed
    except ImportError as err:  # the optional extra
        raise missing("dask", what, err) from err

    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                local_cluster(workers or _cores(), what, log_level=logging.ERROR)
            )
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout="10s"))
            except (OSError, TimeoutError) as err:
                raise SchedulerError(
                    f"Cannot reach the dask scheduler {scheduler} ({err})."
                ) from None
        n_workers = len(client.scheduler_info()["workers"])
        run = uuid.uuid4().hex[:8]
        futures = {
            client.submit(apply_file, job, src, out, key=f"o2ml-apply-{run}-{i}"): (src, out)
            for i, (src, out) in enumerate(pairs)
        }
        results = []
        with _bar(len(pairs), progress) as bar:
            for future in as_completed(futures):
                try:
                    results.append(future.result())
                except Exception as err:  # the task's workers died (KilledWorker) and the like
                    src, out = futures[future]
                    results.append(
                        FileResult(src, out, "failed", error=f"{err.__class__.__name__}: {err}")
                    )
                bar.update()
        return results, n_workers
