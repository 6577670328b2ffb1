"""``o2ml scan``: expected significance vs threshold per pT bin, streamed over any number of files.

Scores data and MC candidates with any model ``o2ml apply`` takes (an o2ml model folder or an
O2Physics ``MlResponse`` configuration with its ONNX files) chunk by chunk
(:func:`o2ml.io.iter_table`: every file, every ``DF_`` folder, ``step`` rows at a time) and
fills, per bin of ``binsPtMl``, cumulative histograms
(:class:`o2ml.selection.histograms.ScanHistograms`): memory is that of one chunk and the
histograms, whatever the number of candidates. With ``workers`` > 1 or a ``scheduler``, every
file is a dask task and the histograms of the files are added.

Two passes over the data: the first reads only mass and pT (each bin's mass range, the edges
of the mass histograms, as the in-memory scan takes them); the second scores and fills. The MC
is read once: its signal candidates (:func:`o2ml.channels.is_signal`) fill the efficiency sums
and give the peak (a Gaussian fit of the mass of the signal origins, per bin: MC samples
are small; :func:`o2ml.selection.candidates.signal_peak`).

Written to ``out``, per bin:

* ``scan_pt<lo>_<hi>.json``: the background-score scan of notebook 01
  (:func:`o2ml.selection.scan_bin`: same thresholds, fits and plateau; the rectangular reference
  cuts are not scanned), which the plateau and efficiency dashboards and ``o2ml export`` open;
* ``grid_pt<lo>_<hi>.npz``: the histograms on the threshold dashboard's full grid
  (:data:`o2ml.selection.histograms.GRID_CUTS`), which the threshold dashboard opens;

and ``expected_signal.json``, a copy of the expected-signal table the scans used.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import channels, io, selection
from ..errors import ConfigError, EmptySelectionError, OutputExistsError
from ..inference import BinnedModel
from ..schema import ORIGINS, SCORE_COLUMNS, find_table, origin_names
from ..selection.bins import BKG_THRESHOLDS
from ..selection.candidates import signal_peak
from ..selection.efficiency import parse_cuts
from ..selection.histograms import EXPECTED_SIGNAL_FILE, GRID_CUTS, ScanHistograms
from ..selection.scan import scan_histograms
from ._dask import client

#: model output i is this score column (O2Physics and o2ml order: schema.CharmClass)
POSITIONAL = SCORE_COLUMNS
EXPECTED_NAME = EXPECTED_SIGNAL_FILE


@dataclass(frozen=True)
class Execution:
    """How ``o2ml scan`` runs: the scoring ``backend`` (``auto``, ``xgboost``, ``onnxruntime``,
    ...), ``step`` rows per chunk, ``workers`` local dask workers or a dask ``scheduler``
    address (one task per file; 1 worker and no scheduler: in this process)."""

    backend: str = "auto"
    step: int = 1_000_000
    workers: int = 1
    scheduler: str | None = None


@dataclass(frozen=True)
class _Job:
    """What a task needs to score and fill one file (sent to dask workers)."""

    model: str
    task: str | None
    features: tuple[str, ...] | None
    backend: str
    table: str
    bins: tuple[tuple[float, float], ...]
    n_classes: int
    step: int


_SCORERS: dict = {}


def _model(job: _Job):
    key = (job.model, job.task, job.features, job.backend)
    if key not in _SCORERS:  # once per process
        binned = BinnedModel.load(job.model, job.task, features=job.features, check=False)
        _SCORERS.clear()
        _SCORERS[key] = (binned, binned.scorers(job.backend))
    return _SCORERS[key]


def _cuts(n_classes: int):
    columns = POSITIONAL[:n_classes] if n_classes > 2 else POSITIONAL[:1]
    one = parse_cuts({"score_bkg": ("<", BKG_THRESHOLDS)})
    grid = parse_cuts({c: GRID_CUTS[c] for c in columns if c in GRID_CUTS})
    return one, grid


def _mass_ranges(job: _Job, path: str) -> list[tuple[float, float, int]]:
    """Pass 1 over a data file: (min mass, max mass, count) per pT bin."""
    out = [(np.inf, -np.inf, 0)] * len(job.bins)
    for df in io.iter_table(path, job.table, ["fM", "fPt"], step=job.step):
        pt, m = df["fPt"].to_numpy(), df["fM"].to_numpy()
        for i, (lo, hi) in enumerate(job.bins):
            sel = m[(pt >= lo) & (pt < hi)]
            if sel.size:
                a, b, n = out[i]
                out[i] = (min(a, float(sel.min())), max(b, float(sel.max())), n + sel.size)
    return out


def _scored(job: _Job, path: str, extra: Sequence[str]):
    binned, scorers = _model(job)
    columns = ["fM", "fPt", *binned.features, *extra]
    for df in io.iter_table(path, job.table, columns, step=job.step, finite=binned.features):
        scores = binned.score(df, scorers)
        for i, col in enumerate(scores.columns[: len(POSITIONAL)]):
            df[POSITIONAL[i]] = scores[col].to_numpy()
        yield df


def _fill_data(job: _Job, path: str, edges: list[np.ndarray]) -> list[list[ScanHistograms]]:
    """Pass 2 over a data file: [1-D, grid] histograms per pT bin."""
    one, grid = _cuts(job.n_classes)
    out = [
        [ScanHistograms.empty(one, e, pt_range=b), ScanHistograms.empty(grid, e, pt_range=b, grid=True)]
        for b, e in zip(job.bins, edges, strict=True)
    ]  # fmt: skip
    for df in _scored(job, path, ()):
        pt = df["fPt"].to_numpy()
        for (lo, hi), hists in zip(job.bins, out, strict=True):
            part = df[(pt >= lo) & (pt < hi)]
            for h in hists:
                h.fill_data(part["fM"].to_numpy(), part)
    return out


def _fill_mc(job: _Job, path: str, edges: list[np.ndarray]):
    """An MC file: [1-D, grid] histograms per pT bin, and per bin the (mass, fOriginMcRec)
    rows of its signal candidates (2 x n) for the peak fit."""
    one, grid = _cuts(job.n_classes)
    declared = find_table(job.table)
    name = declared.name if declared is not None else job.table
    out = [
        [ScanHistograms.empty(one, e, pt_range=b), ScanHistograms.empty(grid, e, pt_range=b, grid=True)]
        for b, e in zip(job.bins, edges, strict=True)
    ]  # fmt: skip
    masses: list[list[np.ndarray]] = [[] for _ in job.bins]
    label_columns = ["fOriginMcRec", *channels.MC_LABEL_COLUMNS.get(name, ())]
    for df in _scored(job, path, list(dict.fromkeys(label_columns))):
        df = df[channels.is_signal(df, name)]
        pt, origin = df["fPt"].to_numpy(), df["fOriginMcRec"].to_numpy()
        for i, (lo, hi) in enumerate(job.bins):
            in_bin = (pt >= lo) & (pt < hi)
            masses[i].append(np.stack([df["fM"].to_numpy(), origin])[:, in_bin])
            for o, code in ORIGINS.items():
                part = df[in_bin & (origin == code)]
                for h in out[i]:
                    h.fill_mc(o, part)
    return out, [np.concatenate(m, axis=1) if m else np.empty((2, 0)) for m in masses]


def _total(parts: list[list[list[ScanHistograms]]]) -> list[list[ScanHistograms]]:
    return [[sum(hs[1:], hs[0]) for hs in zip(*per_bin, strict=True)] for per_bin in zip(*parts, strict=True)]  # fmt: skip


def _run(c, fn, job, files, *args):
    if c is None:
        return [fn(job, str(f), *args) for f in files]
    return c.gather([c.submit(fn, job, str(f), *args, pure=False) for f in files])


def scan(
    model: str | os.PathLike | BinnedModel,
    data,
    mc,
    out: str | os.PathLike,
    *,
    expected_signal: str | os.PathLike,
    table: str | None = None,
    overwrite: bool = False,
    execution: Execution | None = None,
) -> list[Path]:
    """Scan every pT bin of ``model`` on ``data`` / ``mc`` files; returns the files written.

    ``model``: an o2ml model folder or MlResponse configuration, or a
    :class:`~o2ml.inference.BinnedModel` (``BinnedModel.load(path, task, features=...)`` for a
    configuration with several tasks or without feature names); ``execution``: how it runs
    (:class:`Execution`: backend, rows per chunk, workers, scheduler).
    """
    run = execution if execution is not None else Execution()
    if isinstance(model, BinnedModel):  # the workers load it again from its configuration
        binned, model = model, model.config_path
    else:
        binned = BinnedModel.load(model)
    task, given = binned.task, binned.given_features
    selector = channels.find_selector(binned.config.task)
    known = {c.MACRO_CHANNEL: c for c in channels.CHANNELS.values()}
    channel = known.get(selector.channel) if selector is not None else None
    if channel is None:  # the MC signal definition and the peaks are per channel
        raise ConfigError(
            f"{binned.config_path}: task {binned.config.task!r}: o2ml scans the channels "
            f"{sorted(known)} (their tree creators' MC labels and mass peaks)."
        )
    table = table or channel.TABLE
    species = channel.SPECIES
    expected = selection.load_expected_signal(expected_signal)
    out = Path(out)
    bins = tuple(itertools.pairwise(float(e) for e in binned.config.bins_pt))
    stems = [f"pt{lo:g}_{hi:g}" for lo, hi in bins]
    targets = [out / f"scan_{s}.json" for s in stems] + [out / f"grid_{s}.npz" for s in stems]
    existing = [str(t) for t in [*targets, out / EXPECTED_NAME] if t.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{existing}: the scan files exist; pass --overwrite to replace them."
        )
    binned.check_files(run.backend)
    job = _Job(
        str(model), task, given, run.backend, table, bins, binned.config.n_classes, int(run.step)
    )
    data_files, mc_files = io.expand_paths(data), io.expand_paths(mc)
    with client(run.workers, run.scheduler) as c:
        ranges = _run(c, _mass_ranges, job, data_files)
        edges = []
        for i, (lo, hi) in enumerate(bins):
            mins, maxs, ns = zip(*(r[i] for r in ranges), strict=True)
            if not sum(ns):
                raise EmptySelectionError(
                    f"{data_files[0]}: table {table}: expected data candidates in "
                    f"{lo:g} < pT < {hi:g} GeV/c, found none."
                )
            top = np.nextafter(max(maxs), np.inf)
            edges.append(np.linspace(min(mins), top, 101))  # as scan_significance's default
        data_h = _total(_run(c, _fill_data, job, data_files, edges))
        mc_parts = _run(c, _fill_mc, job, mc_files, edges)
    mc_h = _total([p[0] for p in mc_parts])
    masses = [np.concatenate([p[1][i] for p in mc_parts], axis=1) for i in range(len(bins))]
    options = selection.SignificanceOptions(species=species, fit_raw_yield=True)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (lo, hi) in enumerate(bins):
        one, grid = (d + m for d, m in zip(data_h[i], mc_h[i], strict=True))
        mass, codes = masses[i]
        where = f"{mc_files[0]}: table {table}: {lo:g} < pT < {hi:g} GeV/c"
        peak = signal_peak(
            mass, origin_names(codes.astype(np.int64)), options.signal_origins, label=where
        )
        about = {
            "features": binned.features, "task": binned.config.task,
            "onnx_file": binned.onnx_paths[i].name, "model": str(model),
            "class_columns": list(POSITIONAL[: binned.config.n_classes]),
        }  # fmt: skip
        result = scan_histograms(
            one, selection.BinInputs(expected, (lo, hi), peak=peak), options=options,
            metadata={"pt_bin": [lo, hi], "model": "BDT", **about},
        )  # fmt: skip
        written.append(result.save(out / f"scan_{stems[i]}.json", overwrite=True))
        grid.metadata.update(
            about, species=species, expected_signal=EXPECTED_NAME,
            peak=[peak.mean, peak.sigma, peak.mean_error, peak.sigma_error],
        )  # fmt: skip
        written.append(grid.save(out / f"grid_{stems[i]}.npz", overwrite=True))
    shutil.copyfile(expected_signal, out / EXPECTED_NAME)
    written.append(out / EXPECTED_NAME)
    return written


__all__ = ["EXPECTED_NAME", "Execution", "scan"]
