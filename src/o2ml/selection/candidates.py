"""The per-pT-bin steps on candidate tables in the O2Physics layout, written once.

A tree creator's candidates carry ``fM`` (mass), ``fPt`` and, in MC, ``fOriginMcRec``
(1 prompt, 2 non-prompt: ``RecoDecay::OriginType`` of O2Physics ``Common/Core/RecoDecay.h``);
score columns are added by the model. These helpers select a pT bin, split the MC by origin,
fit the signal peak on the MC of the signal origins, and scan the significance::

    scan = selection.scan_candidates(
        data, mc, {"score_bkg": ("<", thresholds)}, expected=table, pt_range=(2, 4),
        options=selection.SignificanceOptions(fit_raw_yield=True), scale=n_full / len(data),
    )

The notebooks' recipes (``o2ml.analysis``, ``o2ml.lc_analysis``), the dashboards' demo scans
and the threshold dashboard all use them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ColumnNotFoundError, EmptySelectionError, did_you_mean
from ..physics.massfit import PeakFit, fit_peak
from ..schema import ORIGINS, origin_names
from .efficiency import Cuts, column_values, parse_cuts
from .options import SignificanceOptions, significance_options
from .result import ScanResult
from .scan import scan_significance

__all__ = ["MIN_PEAK_CANDIDATES", "in_pt_range", "mc_by_origin", "scan_candidates", "signal_peak"]

#: fewest MC signal candidates of a pT bin to fit its peak
MIN_PEAK_CANDIDATES = 10


def in_pt_range(
    frame: pd.DataFrame, pt_range: Sequence[float], *, pt_column: str = "fPt"
) -> pd.DataFrame:
    """The rows with ``lo <= pT < hi``."""
    lo, hi = float(pt_range[0]), float(pt_range[1])
    pt = column_values(frame, pt_column, "candidates", kind="pT")
    return frame[(pt >= lo) & (pt < hi)]


def mc_by_origin(
    mc: pd.DataFrame, *, origin_column: str = "fOriginMcRec"
) -> dict[str, pd.DataFrame]:
    """True MC signal split by origin (``{"prompt": ..., "nonprompt": ...}``), as the selection
    functions take it; the origin is an O2Physics code or already a name."""
    if origin_column not in mc.columns:
        raise ColumnNotFoundError(
            f"MC: expected an origin column {origin_column!r}, found {list(mc.columns)}."
            f"{did_you_mean(origin_column, mc.columns)}"
        )
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
    *,
    expected: Mapping[str, Any],
    pt_range: Sequence[float],
    options: SignificanceOptions | None = None,
    peak: PeakFit | Sequence[float] | None = None,
    mass_column: str = "fM",
    pt_column: str = "fPt",
    origin_column: str = "fOriginMcRec",
    scale: float = 1.0,
    metadata: Mapping[str, Any] | None = None,
    progress: bool = False,
    **changes: Any,
) -> ScanResult:
    """:func:`~o2ml.selection.scan_significance` of one pT bin of scored candidate tables.

    ``data`` and ``mc`` hold the score columns of ``cuts`` (candidates the model was not
    trained on); ``peak`` defaults to :func:`signal_peak` of the MC of the signal origins in
    the bin; ``metadata`` gains ``pt_bin``. Other parameters as in ``scan_significance``.
    """
    opts = significance_options(options, changes, "scan_candidates")
    lo, hi = float(pt_range[0]), float(pt_range[1])
    label = f"{lo:g} < pT < {hi:g} GeV/c"
    d = in_pt_range(data, (lo, hi), pt_column=pt_column)
    m = in_pt_range(mc, (lo, hi), pt_column=pt_column)
    if len(d) == 0:
        raise EmptySelectionError(f"data: expected candidates in {label}, found none.")
    by_origin = mc_by_origin(m, origin_column=origin_column)
    if peak is None:
        names = origin_names(m[origin_column].to_numpy())
        mass = column_values(m, mass_column, "MC", kind="mass")
        peak = signal_peak(mass, names, opts.signal_origins, label=label)
    columns = list(dict.fromkeys(c.column for c in parse_cuts(cuts)))
    scores = {c: column_values(d, c, "data") for c in columns}
    mc_scores = {
        o: {c: column_values(f, c, f"MC {o}") for c in columns} for o, f in by_origin.items()
    }
    return scan_significance(
        column_values(d, mass_column, "data", kind="mass"), scores, mc_scores,
        cuts, expected=expected, pt_range=(lo, hi), peak=peak, options=opts, scale=scale,
        progress=progress, metadata={"pt_bin": [lo, hi], **dict(metadata or {})},
    )  # fmt: skip
