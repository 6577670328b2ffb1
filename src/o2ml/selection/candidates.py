"""The per-pT-bin steps on candidate tables in the O2Physics layout, written once.

A tree creator's candidates carry ``fM`` (mass), ``fPt`` and, in MC, ``fOriginMcRec``
(1 prompt, 2 non-prompt: ``RecoDecay::OriginType`` of O2Physics ``Common/Core/RecoDecay.h``);
score columns are added by the model. These helpers read the candidates (MC: the rows O2Physics
labels signal), split them for training and evaluation, add the model's scores, select a pT
bin, split the MC by origin, fit the signal peak on the MC of the signal origins, and scan the
significance::

    scan = selection.scan_candidates(
        data, mc, {"score_bkg": ("<", thresholds)},
        selection.BinInputs(table, (2, 4), scale=n_full / len(data)),
        options=selection.SignificanceOptions(fit_raw_yield=True),
    )

The notebooks, the per-bin studies (:mod:`o2ml.selection.bins`), the dashboards' demo scans
and the threshold dashboard all use them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import io, schema
from ..channels import MC_LABEL_COLUMNS, is_signal
from ..errors import BadArgumentError, EmptySelectionError
from ..physics.massfit import PeakFit, fit_peak
from ..schema import (
    ORIGINS,
    SCORE_COLUMNS,
    CandidateColumns,
    PtBin,
    Table,
    origin_names,
    require_columns,
)
from .efficiency import Cuts, column_values, parse_cuts
from .options import BinInputs, SignificanceOptions, _bin_inputs, _options
from .result import ScanResult
from .scan import scan_significance

__all__ = [
    "MIN_PEAK_CANDIDATES", "REFLECTION_COLUMN", "TRUTH_COLUMNS", "add_scores", "has_truth",
    "in_pt_range", "mc_by_origin", "read_candidates", "scan_candidates", "signal_peak",
    "split_for_training",
]  # fmt: skip

#: the O2Physics tree creators' column names (fM, fPt, fOriginMcRec)
CANDIDATE_COLUMNS = CandidateColumns()
#: fewest MC signal candidates of a pT bin to fit its peak
MIN_PEAK_CANDIDATES = 10
#: the hidden truth of o2ml's synthetic data files (absent from real data)
TRUTH_COLUMNS = ("fTruthPdgCode", "fTruthOrigin")
#: the truth column that marks the wrong-hypothesis rows (reflections) of true decays
REFLECTION_COLUMN = "fTruthReflection"


def read_candidates(
    paths: io.Paths,
    table: str | Table,
    features: Sequence[str],
    extra: Sequence[str] = (),
    *,
    kind: str = "data",
) -> pd.DataFrame:
    """Mass, pT, the features and ``extra`` columns; truth columns of synthetic data if present.

    ``kind="mc"``: only the rows that are signal as O2Physics labels them
    (:func:`o2ml.channels.is_signal`: matched decay channel, prompt or non-prompt origin, the
    true mass hypothesis), with ``fOriginMcRec``; D+ candidates, reflections and background of
    the MC file are left out. The features must be finite (NaN or inf raise an error naming
    column and count).
    """
    if kind not in ("data", "mc"):
        raise BadArgumentError(f"read_candidates: kind expected 'data' or 'mc', found {kind!r}.")
    files = io.expand_paths(paths)
    declared = table if isinstance(table, Table) else schema.find_table(table)
    name = declared.name if declared is not None else table
    available = set(io.table_columns(files[0], table))
    wanted = ["fM", "fPt", *features, *extra]
    if kind == "mc":
        wanted += ["fOriginMcRec", *MC_LABEL_COLUMNS.get(name, ())]
    else:
        wanted += [c for c in (*TRUTH_COLUMNS, REFLECTION_COLUMN) if c in available]
    wanted = list(dict.fromkeys(wanted))
    df = io.read_table(files, table, columns=wanted, finite=list(features))
    if kind != "mc":
        return df
    keep = list(dict.fromkeys(["fM", "fPt", *features, *extra, "fOriginMcRec"]))
    return df.loc[is_signal(df, name), keep].reset_index(drop=True)


def split_for_training(
    df: pd.DataFrame, fraction: float = 0.5, *, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random part of the candidates to train on and the independent rest to evaluate on.

    Efficiencies, background fits and closure tests use the evaluation part only: a model scores
    its own training candidates too well (overfitting), which would bias every estimate.
    """
    keep = np.random.default_rng(seed).random(len(df)) < fraction
    return df[keep], df[~keep]


def has_truth(df: pd.DataFrame) -> bool:
    """True for synthetic data files written with their hidden truth."""
    return all(c in df.columns for c in TRUTH_COLUMNS)


def add_scores(df: pd.DataFrame, model, features: Sequence[str]) -> pd.DataFrame:
    """A copy of ``df`` with one score column per class (``score_bkg``, ``score_prompt``, ...).

    ``model`` is a hipe4ml ModelHandler or a classifier with ``predict_proba`` whose classes
    are in :data:`o2ml.schema.SCORE_COLUMNS` order.
    """
    require_columns(df, features, "add_scores: the model's features")
    clf = model.get_original_model() if hasattr(model, "get_original_model") else model
    proba = clf.predict_proba(df[list(features)])
    out = df.copy()
    for i, column in enumerate(SCORE_COLUMNS[: proba.shape[1]]):
        out[column] = proba[:, i]
    return out


def in_pt_range(
    frame: pd.DataFrame, pt_range: PtBin | Sequence[float], *, pt_column: str = "fPt"
) -> pd.DataFrame:
    """The rows with ``lo <= pT < hi`` of a :class:`~o2ml.schema.PtBin` or ``(lo, hi)``."""
    if isinstance(pt_range, PtBin):
        pt_range = (pt_range.lo, pt_range.hi)
    lo, hi = float(pt_range[0]), float(pt_range[1])
    pt = column_values(frame, pt_column, "candidates", kind="pT")
    return frame[(pt >= lo) & (pt < hi)]


def mc_by_origin(
    mc: pd.DataFrame, *, origin_column: str = "fOriginMcRec"
) -> dict[str, pd.DataFrame]:
    """True MC signal split by origin (``{"prompt": ..., "nonprompt": ...}``), as the selection
    functions take it; the origin is an O2Physics code or already a name."""
    require_columns(mc, [origin_column], "MC: the split by origin")
    names = origin_names(mc[origin_column].to_numpy())
    return {name: mc[names == name] for name in ORIGINS}


def signal_peak(
    mc_mass: np.ndarray,
    origin: np.ndarray,
    signal_origins: Sequence[str],
    *,
    label: str,
) -> PeakFit:
    """The Gaussian peak (:func:`o2ml.physics.massfit.fit_peak`) of the MC candidates whose
    origin name is one of ``signal_origins``; ``label`` names the pT bin in the error."""
    signal = np.isin(origin, list(signal_origins))
    n = int(signal.sum())
    if n < MIN_PEAK_CANDIDATES:
        raise EmptySelectionError(
            f"MC: expected at least {MIN_PEAK_CANDIDATES} signal ({', '.join(signal_origins)}) "
            f"candidates in {label} to fit the peak, found {n}."
        )
    return fit_peak(np.asarray(mc_mass, dtype=np.float64)[signal])


def scan_candidates(
    data: pd.DataFrame,
    mc: pd.DataFrame,
    cuts: Cuts,
    inputs: BinInputs,
    *,
    options: SignificanceOptions | None = None,
    columns: CandidateColumns = CANDIDATE_COLUMNS,
    metadata: Mapping[str, Any] | None = None,
) -> ScanResult:
    """:func:`~o2ml.selection.scan_significance` of one pT bin of scored candidate tables.

    ``data`` and ``mc`` hold the score columns of ``cuts`` (candidates the model was not
    trained on) and the ``columns`` (mass, pT; MC: origin); ``inputs.peak`` None (the default)
    is :func:`signal_peak` of the MC of the signal origins in the bin; ``metadata`` gains
    ``pt_bin``. Other parameters as in ``scan_significance``.
    """
    opts = _options(options, "scan_candidates")
    inputs = _bin_inputs(inputs, "scan_candidates")
    (lo, hi), label = inputs.pt_range, inputs.label
    d = in_pt_range(data, (lo, hi), pt_column=columns.pt)
    m = in_pt_range(mc, (lo, hi), pt_column=columns.pt)
    if len(d) == 0:
        raise EmptySelectionError(f"data: expected candidates in {label}, found none.")
    by_origin = mc_by_origin(m, origin_column=columns.origin)
    if inputs.peak is None:
        names = origin_names(m[columns.origin].to_numpy())
        mass = column_values(m, columns.mass, "MC", kind="mass")
        inputs = inputs.replace(peak=signal_peak(mass, names, opts.signal_origins, label=label))
    score_columns = list(dict.fromkeys(c.column for c in parse_cuts(cuts)))
    scores = {c: column_values(d, c, "data") for c in score_columns}
    mc_scores = {
        o: {c: column_values(f, c, f"MC {o}") for c in score_columns} for o, f in by_origin.items()
    }
    return scan_significance(
        column_values(d, columns.mass, "data", kind="mass"), scores, mc_scores, cuts,
        inputs=inputs, options=opts, metadata={"pt_bin": [lo, hi], **dict(metadata or {})},
    )  # fmt: skip
