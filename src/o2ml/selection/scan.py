"""Significance scan over score thresholds in one pT bin.

The mass histograms after every threshold come from ONE cumulative histogram (mass bins x
threshold bins, :mod:`o2ml.selection._binning`), so the work per threshold is the fit of a
histogram, never a pass over the candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import ScanInputError
from ..physics.massfit import PeakFit
from ._estimate import (
    ScanSettings,
    _check_origins,
    _data_arrays,
    _expected_counts,
    _metadata,
    estimate,
    scan_settings,
)
from .efficiency import Cuts, Efficiency, Scores, parse_cuts
from .histograms import ScanHistograms
from .options import SignificanceOptions, significance_options
from .plateau import find_plateau
from .result import ScanResult

__all__ = ["scan_histograms", "scan_significance"]


def scan_significance(
    data_mass: ArrayLike,
    data_scores: Scores,
    mc_scores: Mapping[str, Scores],
    cuts: Cuts,
    *,
    expected: Mapping[str, Any],
    pt_range: tuple[float, float],
    peak: PeakFit | Sequence[float],
    options: SignificanceOptions | None = None,
    mc_weights: Mapping[str, ArrayLike] | None = None,
    grid: bool = False,
    mass_edges: ArrayLike | None = None,
    scale: float = 1.0,
    metadata: Mapping[str, Any] | None = None,
    progress: bool = True,
    **changes: Any,
) -> ScanResult:
    """Scan S, B and S/sqrt(S+B) over score thresholds in one pT bin.

    Parameters
    ----------
    data_mass : array-like
        Invariant mass of the data candidates of this pT bin (GeV/c^2).
    data_scores : DataFrame or mapping column -> array
        Their model scores (one column per cut).
    mc_scores : mapping origin -> DataFrame or mapping
        Scores of true MC signal candidates of this pT bin, per origin (``"prompt"``,
        ``"nonprompt"``); every MC sample gets an efficiency in the result.
    cuts : mapping or sequence
        ``{column: (direction, thresholds)}``, e.g. ``{"score_bkg": ("<", 0.01),
        "score_prompt": (">", np.linspace(0, 0.99, 100))}``.
    expected : mapping
        Expected-signal table (see :mod:`o2ml.selection.expected`).
    pt_range : (float, float)
        The pT bin; its edges must be fine-bin edges of ``expected``.
    peak : PeakFit or (mean, sigma[, mean_error, sigma_error])
        Signal peak, usually ``fit_peak(mc_mass)``.
    options : SignificanceOptions, optional
        How S, B and the significance are estimated (species, signal origins, window,
        background model, D+ peak, sidebands, raw-yield fit, plateau); default
        ``SignificanceOptions()``.
    mc_weights : mapping origin -> array, optional
        Weights of the MC candidates.
    grid : bool
        False: one point per threshold (cuts with several thresholds must have the same
        number; a single varying cut gives a 1-D scan, sorted, with a plateau). True: every
        combination of thresholds (row-major order, no plateau).
    mass_edges : array-like, optional
        Mass bin edges; default 100 bins over the data range.
    scale : float
        Full-sample size / scanned-sample size: B is multiplied by it.
    metadata : mapping, optional
        Extra metadata stored in the result.
    progress : bool
        Show a progress bar over the fits.
    **changes
        Fields of :class:`SignificanceOptions` replacing those of ``options``
        (``n_sigma=2.5``).

    Returns
    -------
    ScanResult
    """
    opts = significance_options(options, changes, "scan_significance")
    mass = _data_arrays(data_mass)
    settings = scan_settings(mass, peak, opts, mass_edges=mass_edges, scale=scale)
    expected_n = _expected_counts(expected, opts.species, pt_range)
    _check_origins(mc_scores, opts.signal_origins, expected_n, opts.species)
    # one cumulative histogram of the data (mass bins x thresholds) and the MC sums passing
    hists = ScanHistograms.empty(parse_cuts(cuts), settings.edges, pt_range=pt_range, grid=grid)
    hists.fill_data(mass, data_scores)
    for origin, scores in mc_scores.items():
        hists.fill_mc(origin, scores, None if mc_weights is None else mc_weights.get(origin))
        if not hists.mc[origin][2] > 0:
            raise ScanInputError(f"MC {origin} scores: expected candidates, found none.")
    return _result(hists, settings, expected, expected_n, opts, metadata, progress)


def scan_histograms(
    hists: ScanHistograms,
    *,
    expected: Mapping[str, Any],
    peak: PeakFit | Sequence[float],
    options: SignificanceOptions | None = None,
    scale: float = 1.0,
    metadata: Mapping[str, Any] | None = None,
    progress: bool = False,
    **changes: Any,
) -> ScanResult:
    """The scan of filled :class:`ScanHistograms`: what :func:`scan_significance` gives on the
    same candidates (same mass edges), without them."""
    opts = significance_options(options, changes, "scan_histograms")
    if not hists.n_data:
        lo, hi = hists.pt_range
        raise ScanInputError(f"data: expected candidates in {lo:g} < pT < {hi:g}, found none.")
    settings = scan_settings(np.empty(0), peak, opts, mass_edges=hists.mass_edges, scale=scale)
    expected_n = _expected_counts(expected, opts.species, hists.pt_range)
    _check_origins(hists.mc, opts.signal_origins, expected_n, opts.species)
    for origin, (_, _, total, _) in hists.mc.items():
        if not total > 0:
            raise ScanInputError(f"MC {origin} scores: expected candidates, found none.")
    return _result(hists, settings, expected, expected_n, opts, metadata, progress)


def _result(
    hists: ScanHistograms,
    settings: ScanSettings,
    expected: Mapping[str, Any],
    expected_n: Mapping[str, float],
    opts: SignificanceOptions,
    metadata: Mapping[str, Any] | None,
    progress: bool,
) -> ScanResult:
    species, signal_origins = opts.species, opts.signal_origins
    parsed, grid = hists.cuts, hists.grid
    varying = [k for k, c in enumerate(parsed) if len(c.thresholds) > 1]
    scan_axis = varying[0] if not grid and len(varying) == 1 else None
    shape = hists.points
    n_mass = len(settings.edges) - 1
    counts = hists.data.reshape(n_mass + 2, -1).T  # (points, mass bins)
    efficiencies = hists.efficiencies()
    est = estimate(
        counts[:, 1 : n_mass + 1], efficiencies, expected_n, settings,
        signal_origins=signal_origins, progress=progress,
    )  # fmt: skip
    eff_values = {o: e.values for o, e in efficiencies.items()}
    eff_errors = {o: e.errors for o, e in efficiencies.items()}
    n_data = hists.n_data
    data_eff = Efficiency(counts.sum(axis=1), counts.sum(axis=1), float(n_data), float(n_data))
    if n_data:
        eff_values["data"], eff_errors["data"] = data_eff.values, data_eff.errors

    if grid:
        mesh = np.meshgrid(*[c.thresholds for c in parsed], indexing="ij")
        thresholds = np.stack([m.ravel() for m in mesh], axis=1)
    else:
        thresholds = np.stack([np.broadcast_to(c.thresholds, shape) for c in parsed], axis=1)

    plateau = None
    if scan_axis is not None and np.any(np.isfinite(est["significance"])):
        plateau = find_plateau(
            thresholds[:, scan_axis], est["significance"], est["significance_error"],
            efficiency=est["signal_efficiency"], fraction=opts.plateau_fraction,
            n_sigma=opts.plateau_nsigma, direction=parsed[scan_axis].direction,
        )  # fmt: skip

    meta = _metadata(
        "grid" if grid else "scan", settings, expected, expected_n, signal_origins, n_data,
        hists.n_mc, metadata,
    )  # fmt: skip
    return ScanResult(
        species=species,
        pt_min=hists.pt_range[0],
        pt_max=hists.pt_range[1],
        cut_names=[c.column for c in parsed],
        cut_directions=[c.direction for c in parsed],
        thresholds=thresholds,
        efficiencies=eff_values,
        efficiency_errors=eff_errors,
        grid_shape=shape if grid else None,
        scan_axis=scan_axis,
        plateau=plateau,
        metadata=meta,
        **est,
    )
