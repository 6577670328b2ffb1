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
from ..physics.massfit import BackgroundModel, PeakFit, SignalShape
from ._estimate import (
    DplusMode,
    ScanSettings,
    _check_origins,
    _data_arrays,
    _estimate,
    _expected_counts,
    _metadata,
    scan_settings,
)
from .efficiency import Cuts, Efficiency, Scores, parse_cuts
from .histograms import ScanHistograms
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
    species: str = "Ds",
    signal_origins: Sequence[str] = ("prompt",),
    mc_weights: Mapping[str, ArrayLike] | None = None,
    grid: bool = False,
    n_sigma: float = 2.0,
    background: BackgroundModel = "expo",
    dplus: DplusMode | None = None,
    dplus_peak: tuple[float, float] | None = None,
    sidebands: tuple[float, float] | None = None,
    exclude_nsigma: float = 3.0,
    mass_edges: ArrayLike | None = None,
    scale: float = 1.0,
    min_sideband_counts: float = 1.0,
    fit_raw_yield: bool = False,
    raw_yield_shape: SignalShape = "fixed",
    plateau_fraction: float = 0.95,
    plateau_nsigma: float | None = None,
    metadata: Mapping[str, Any] | None = None,
    progress: bool = True,
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
    species : str
        Species of the signal in ``expected``.
    signal_origins : sequence of str
        Origins counted as signal S (e.g. ``("prompt",)`` or ``("prompt", "nonprompt")``).
    mc_weights : mapping origin -> array, optional
        Weights of the MC candidates.
    grid : bool
        False: one point per threshold (cuts with several thresholds must have the same
        number; a single varying cut gives a 1-D scan, sorted, with a plateau). True: every
        combination of thresholds (row-major order, no plateau).
    n_sigma : float
        Signal window: mean +- n_sigma x sigma.
    background : {"expo", "pol2"}
        Background model of the sideband fit.
    dplus : {"exclude", "gauss", "none"}, optional
        The D+ -> KKpi peak: left out of the fit, modelled as a Gaussian, or ignored;
        default "exclude" for species "Ds", "none" otherwise.
    dplus_peak : (mean, sigma), optional
        D+ peak; default the PDG mass shifted like the Ds peak, sigma scaled by the mass ratio.
    sidebands : (lo, hi), optional
        Fit only mass < lo and mass > hi (e.g. (1.75, 2.1) as in the ALICE tutorial); default
        leave out mean +- exclude_nsigma x sigma.
    exclude_nsigma : float
        Half-width, in sigmas, of the regions left out around the Ds (and D+) peaks.
    mass_edges : array-like, optional
        Mass bin edges; default 100 bins over the data range.
    scale : float
        Full-sample size / scanned-sample size: B is multiplied by it.
    min_sideband_counts : float
        Points with fewer candidates in the sidebands get NaN background (and significance).
    fit_raw_yield : bool
        Also fit signal + background at every point (for :func:`cut_variation`).
    raw_yield_shape : {"fixed", "constrained", "free"}
        Peak mean and sigma in the raw-yield fit: fixed to ``peak``, constrained, or free.
    plateau_fraction, plateau_nsigma : float
        Plateau criterion (see :func:`find_plateau`).
    metadata : mapping, optional
        Extra metadata stored in the result.
    progress : bool
        Show a progress bar over the fits.

    Returns
    -------
    ScanResult
    """
    mass = _data_arrays(data_mass)
    settings = scan_settings(
        mass, peak, n_sigma=n_sigma, background=background, dplus=dplus, species=species,
        dplus_peak=dplus_peak, sidebands=sidebands, exclude_nsigma=exclude_nsigma,
        mass_edges=mass_edges, scale=scale, min_sideband_counts=min_sideband_counts,
        fit_raw_yield=fit_raw_yield, raw_yield_shape=raw_yield_shape,
    )  # fmt: skip
    expected_n = _expected_counts(expected, species, pt_range)
    _check_origins(mc_scores, signal_origins, expected_n, species)
    # one cumulative histogram of the data (mass bins x thresholds) and the MC sums passing
    hists = ScanHistograms.empty(parse_cuts(cuts), settings.edges, pt_range=pt_range, grid=grid)
    hists.fill_data(mass, data_scores)
    for origin, scores in mc_scores.items():
        hists.fill_mc(origin, scores, None if mc_weights is None else mc_weights.get(origin))
        if not hists.mc[origin][2] > 0:
            raise ScanInputError(f"MC {origin} scores: expected candidates, found none.")
    return _result(
        hists, settings, expected, expected_n, species=species, signal_origins=signal_origins,
        plateau_fraction=plateau_fraction, plateau_nsigma=plateau_nsigma, metadata=metadata,
        progress=progress,
    )  # fmt: skip


def scan_histograms(
    hists: ScanHistograms,
    *,
    expected: Mapping[str, Any],
    peak: PeakFit | Sequence[float],
    species: str = "Ds",
    signal_origins: Sequence[str] = ("prompt",),
    n_sigma: float = 2.0,
    background: BackgroundModel = "expo",
    dplus: DplusMode | None = None,
    dplus_peak: tuple[float, float] | None = None,
    sidebands: tuple[float, float] | None = None,
    exclude_nsigma: float = 3.0,
    scale: float = 1.0,
    min_sideband_counts: float = 1.0,
    fit_raw_yield: bool = False,
    raw_yield_shape: SignalShape = "fixed",
    plateau_fraction: float = 0.95,
    plateau_nsigma: float | None = None,
    metadata: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> ScanResult:
    """The scan of filled :class:`ScanHistograms`: what :func:`scan_significance` gives on the
    same candidates (same mass edges), without them."""
    if not hists.n_data:
        lo, hi = hists.pt_range
        raise ScanInputError(f"data: expected candidates in {lo:g} < pT < {hi:g}, found none.")
    settings = scan_settings(
        np.empty(0), peak, n_sigma=n_sigma, background=background, dplus=dplus,
        species=species, dplus_peak=dplus_peak, sidebands=sidebands,
        exclude_nsigma=exclude_nsigma, mass_edges=hists.mass_edges, scale=scale,
        min_sideband_counts=min_sideband_counts, fit_raw_yield=fit_raw_yield,
        raw_yield_shape=raw_yield_shape,
    )  # fmt: skip
    expected_n = _expected_counts(expected, species, hists.pt_range)
    _check_origins(hists.mc, signal_origins, expected_n, species)
    for origin, (_, _, total, _) in hists.mc.items():
        if not total > 0:
            raise ScanInputError(f"MC {origin} scores: expected candidates, found none.")
    return _result(
        hists, settings, expected, expected_n, species=species, signal_origins=signal_origins,
        plateau_fraction=plateau_fraction, plateau_nsigma=plateau_nsigma, metadata=metadata,
        progress=progress,
    )  # fmt: skip


def _result(
    hists: ScanHistograms,
    settings: ScanSettings,
    expected: Mapping[str, Any],
    expected_n: Mapping[str, float],
    *,
    species: str,
    signal_origins: Sequence[str],
    plateau_fraction: float,
    plateau_nsigma: float | None,
    metadata: Mapping[str, Any] | None,
    progress: bool,
) -> ScanResult:
    parsed, grid = hists.cuts, hists.grid
    varying = [k for k, c in enumerate(parsed) if len(c.thresholds) > 1]
    scan_axis = varying[0] if not grid and len(varying) == 1 else None
    shape = hists.points
    n_mass = len(settings.edges) - 1
    counts = hists.data.reshape(n_mass + 2, -1).T  # (points, mass bins)
    efficiencies = hists.efficiencies()
    est = _estimate(
        counts[:, 1 : n_mass + 1], efficiencies, expected_n, signal_origins, settings, progress
    )
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
            efficiency=est["signal_efficiency"], fraction=plateau_fraction,
            n_sigma=plateau_nsigma, direction=parsed[scan_axis].direction,
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
