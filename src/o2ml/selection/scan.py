"""Significance scan over score thresholds in one pT bin.

The mass histograms after every threshold come from ONE cumulative histogram (mass bins x
threshold bins, :mod:`o2ml.selection._binning`), so the work per threshold is the fit of a
histogram, never a pass over the candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import ScanInputError
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
from .options import BinInputs, SignificanceOptions, _bin_inputs, _options
from .plateau import find_plateau
from .result import ScanResult

__all__ = ["scan_histograms", "scan_significance"]


def scan_significance(
    data_mass: ArrayLike,
    data_scores: Scores,
    mc_scores: Mapping[str, Scores],
    cuts: Cuts,
    *,
    inputs: BinInputs,
    options: SignificanceOptions | None = None,
    grid: bool = False,
    metadata: Mapping[str, Any] | None = None,
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
        ``"nonprompt"``); every MC sample gets an efficiency in the result. Weighted MC:
        fill :class:`~o2ml.selection.histograms.ScanHistograms` (``fill_mc(origin, scores,
        weights)``) and scan them with :func:`scan_histograms`.
    cuts : mapping or sequence
        ``{column: (direction, thresholds)}``, e.g. ``{"score_bkg": ("<", 0.01),
        "score_prompt": (">", np.linspace(0, 0.99, 100))}``.
    inputs : BinInputs
        The bin: expected-signal table, pT range, signal peak (required here), scale, mass
        edges.
    options : SignificanceOptions, optional
        How S, B and the significance are estimated (species, signal origins, window,
        background model, D+ peak, sidebands, raw-yield fit, plateau); default
        ``SignificanceOptions()``; a one-off change: ``options.replace(n_sigma=2.5)``.
    grid : bool
        False: one point per threshold (cuts with several thresholds must have the same
        number; a single varying cut gives a 1-D scan, sorted, with a plateau). True: every
        combination of thresholds (row-major order, no plateau).
    metadata : mapping, optional
        Extra metadata stored in the result.

    Returns
    -------
    ScanResult
    """
    opts = _options(options, "scan_significance")
    peak = _bin_inputs(inputs, "scan_significance").require_peak("scan_significance")
    mass = _data_arrays(data_mass)
    settings = scan_settings(mass, peak, opts, mass_edges=inputs.mass_edges, scale=inputs.scale)
    pt_range = inputs.pt_range
    expected_n = _expected_counts(inputs.expected, opts.species, pt_range)
    _check_origins(mc_scores, opts.signal_origins, expected_n, opts.species)
    # one cumulative histogram of the data (mass bins x thresholds) and the MC sums passing
    hists = ScanHistograms.empty(parse_cuts(cuts), settings.edges, pt_range=pt_range, grid=grid)
    hists.fill_data(mass, data_scores)
    for origin, scores in mc_scores.items():
        hists.fill_mc(origin, scores)
        if not hists.mc[origin][2] > 0:
            raise ScanInputError(f"MC {origin} scores: expected candidates, found none.")
    return _result(hists, settings, inputs.expected, expected_n, opts, metadata)


def scan_histograms(
    hists: ScanHistograms,
    inputs: BinInputs,
    *,
    options: SignificanceOptions | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> ScanResult:
    """The scan of filled :class:`ScanHistograms`: what :func:`scan_significance` gives on the
    same candidates (same mass edges), without them. ``inputs.pt_range`` must be that of the
    histograms; their mass edges are used."""
    opts = _options(options, "scan_histograms")
    peak = _bin_inputs(inputs, "scan_histograms").require_peak("scan_histograms")
    if tuple(map(float, hists.pt_range)) != inputs.pt_range:
        raise ScanInputError(
            f"scan_histograms: expected histograms of {inputs.label}, found pT range "
            f"{tuple(hists.pt_range)}."
        )
    if not hists.n_data:
        raise ScanInputError(f"data: expected candidates in {inputs.label}, found none.")
    settings = scan_settings(
        np.empty(0), peak, opts, mass_edges=hists.mass_edges, scale=inputs.scale
    )
    expected_n = _expected_counts(inputs.expected, opts.species, hists.pt_range)
    _check_origins(hists.mc, opts.signal_origins, expected_n, opts.species)
    for origin, (_, _, total, _) in hists.mc.items():
        if not total > 0:
            raise ScanInputError(f"MC {origin} scores: expected candidates, found none.")
    return _result(hists, settings, inputs.expected, expected_n, opts, metadata)


def _result(
    hists: ScanHistograms,
    settings: ScanSettings,
    expected: Mapping[str, Any],
    expected_n: Mapping[str, float],
    opts: SignificanceOptions,
    metadata: Mapping[str, Any] | None,
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
        signal_origins=signal_origins,
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
