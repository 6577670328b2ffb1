"""Precomputed cumulative histograms behind the ThresholdScanner: a slider move is a lookup.

Per pT bin, ONE cumulative histogram of the data (mass bin x threshold of every cut, built by
:func:`o2ml.selection.efficiency.passing`) and one per MC class
(:func:`o2ml.selection.efficiency.class_efficiencies` on the threshold grid). A point of the
grid then costs an array lookup plus one background fit of a ~100-bin histogram (cached): no
pass over the candidates, the same at 10^4 and 10^7 candidates. The numbers are those
:func:`o2ml.selection.scan_significance` gives at the same thresholds (same settings, same fit,
same formulas; ``tests/test_widgets.py`` checks it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import EmptySelectionError, ScanInputError
from ..physics.massfit import MassFit
from ..schema import ORIGINS, CandidateColumns, origin_names
from ..selection import BinInputs, ScanResult, SignificanceOptions
from ..selection.candidates import CANDIDATE_COLUMNS, signal_peak
from ..selection.efficiency import Efficiency, column_values, parse_cuts
from ..selection.expected import expected_signal, validate_expected_signal
from ..selection.histograms import GRID_CUTS as DEFAULT_CUTS
from ..selection.histograms import ScanHistograms
from ..selection.options import significance_options
from ..selection.scan import ScanSettings, estimate, scan_settings

__all__ = ["DEFAULT_CUTS", "ORIGIN_NAMES", "BinGrid", "ScanGrid"]

#: MC origin names of the O2Physics codes (``fOriginMcRec``)
ORIGIN_NAMES = {code: name for name, code in ORIGINS.items()}


@dataclass
class BinGrid:
    """What a pT bin needs for a point of the grid, precomputed once."""

    pt: tuple[float, float]
    settings: ScanSettings
    counts: np.ndarray  # (n_mass + 2, T1, ..., TK): data candidates passing, per mass bin
    mc: dict[str, Efficiency]  # per MC origin, values of shape (T1, ..., TK)
    expected: dict[str, float]  # expected signal per origin before the selection
    n_data: int


def _checked_bins(bins: Sequence[BinInputs]) -> list[BinInputs]:
    """The bins, each a BinInputs whose expected-signal table is valid; at least one."""
    bins = list(bins)
    wrong = [type(b).__name__ for b in bins if not isinstance(b, BinInputs)]
    if wrong:
        raise TypeError(
            f"ScanGrid(): bins: expected selection.BinInputs(expected, pt_range, ...), one per pT "
            f"bin, found {wrong[0]}."
        )
    if not bins:
        raise ScanInputError("ThresholdScanner: expected at least one pT bin, found none.")
    for table in {id(b.expected): b.expected for b in bins}.values():
        validate_expected_signal(table)
    return bins


class ScanGrid:
    """S, B, significance and efficiencies on a threshold grid, per pT bin (see the module doc).

    Parameters
    ----------
    data : DataFrame
        Scored data candidates: mass, pT and one column per cut.
    mc : DataFrame
        Scored MC signal candidates: mass, pT, the cut columns and the origin.
    bins : sequence of BinInputs
        One per pT bin (:class:`o2ml.selection.BinInputs`: expected-signal table, pT range, the
        peak, None for a Gaussian fit of the MC mass of the signal origins in the bin, and the
        scale of the data to the full sample).
    cuts : mapping column -> (direction, thresholds)
        The threshold grid of each cut (one slider each); default :data:`DEFAULT_CUTS`.
    columns : CandidateColumns
        Mass, pT and origin columns (the origin: an O2Physics code, 1 prompt, 2 non-prompt,
        or a name).
    options : SignificanceOptions, optional
        How S, B and the significance are estimated.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        mc: pd.DataFrame,
        bins: Sequence[BinInputs],
        *,
        cuts: Mapping[str, tuple[str, Any]] | None = None,
        columns: CandidateColumns = CANDIDATE_COLUMNS,
        options: SignificanceOptions | None = None,
    ) -> None:
        self._set_options(significance_options(options, {}, "ScanGrid"))
        self.cuts = parse_cuts(cuts if cuts is not None else DEFAULT_CUTS)
        self.cuts = [type(c)(c.column, c.direction, np.unique(c.thresholds)) for c in self.cuts]
        self.grids = {c.column: c.thresholds for c in self.cuts}
        bins = _checked_bins(bins)
        self.pt_bins = [b.pt_range for b in bins]
        mass = column_values(data, columns.mass, "data", kind="mass")
        pt = column_values(data, columns.pt, "data", kind="pT")
        scores = [column_values(data, c.column, "data") for c in self.cuts]
        mc_mass = column_values(mc, columns.mass, "MC", kind="mass")
        mc_pt = column_values(mc, columns.pt, "MC", kind="pT")
        mc_scores = {c.column: column_values(mc, c.column, "MC") for c in self.cuts}
        if columns.origin not in mc:
            raise ScanInputError(
                f"MC: expected an origin column {columns.origin!r}, found {list(mc.columns)}."
            )
        origin = origin_names(mc[columns.origin].to_numpy())
        arrays = (mass, pt, scores, mc_mass, mc_pt, mc_scores, origin)
        self.bins = [self._precompute(b, *arrays) for b in bins]
        self._cache: dict[tuple[int, tuple[int, ...]], dict[str, Any]] = {}

    def index(self, thresholds: Mapping[str, float]) -> tuple[int, ...]:
        """Grid index of thresholds that lie on the grid."""
        return tuple(
            int(np.searchsorted(self.grids[c.column], thresholds[c.column])) for c in self.cuts
        )

    def point(self, bin_index: int, index: tuple[int, ...]) -> dict[str, Any]:
        """``{"result": one-point ScanResult, "fit": MassFit or None, "hist": counts}`` (cached)."""
        key = (bin_index, tuple(index))
        if key not in self._cache:
            self._cache[key] = self._estimate(self.bins[bin_index], key[1])
        return self._cache[key]

    def _set_options(self, options: SignificanceOptions) -> None:
        self.options = options
        self.species, self.signal_origins = options.species, options.signal_origins

    def _precompute(self, b, mass, pt, scores, mc_mass, mc_pt, mc_scores, origin) -> BinGrid:
        (lo, hi), label, expected = b.pt_range, b.label, b.expected
        sel = (pt >= lo) & (pt < hi)
        m = mass[sel]
        if m.size == 0:
            raise EmptySelectionError(f"data: expected candidates in {label}, found none.")
        mc_sel = (mc_pt >= lo) & (mc_pt < hi)
        peak = b.peak
        if peak is None:
            peak = signal_peak(mc_mass[mc_sel], origin[mc_sel], self.signal_origins, label=label)
        settings = scan_settings(m, peak, self.options, mass_edges=b.mass_edges, scale=b.scale)
        hists = ScanHistograms.empty(self.cuts, settings.edges, pt_range=b.pt_range, grid=True)
        hists.fill_data(m, {c.column: s[sel] for c, s in zip(self.cuts, scores, strict=True)})
        for o in dict.fromkeys(origin[mc_sel]):
            if o in expected["species"].get(self.species, {}):
                keep = mc_sel & (origin == o)
                hists.fill_mc(o, {c: v[keep] for c, v in mc_scores.items()})
        return self._bin(hists, expected, settings)

    @classmethod
    def from_histograms(
        cls,
        histograms: Sequence[ScanHistograms],
        bins: Sequence[BinInputs],
        *,
        options: SignificanceOptions | None = None,
    ) -> ScanGrid:
        """The grid of saved :class:`~o2ml.selection.histograms.ScanHistograms` (``o2ml scan``):
        one per pT bin, each on the full threshold grid, with the :class:`BinInputs` of each
        bin (same pT range; its signal peak is required; the histograms' mass edges are used)."""
        if not histograms:
            raise ScanInputError("ThresholdScanner: expected at least one pT bin, found none.")
        by_range = {b.pt_range: b for b in _checked_bins(bins)}
        self = cls.__new__(cls)
        self._set_options(significance_options(options, {}, "ScanGrid.from_histograms"))
        first = histograms[0]
        self.cuts = list(first.cuts)
        self.grids = {c.column: c.thresholds for c in self.cuts}
        self.pt_bins = [tuple(map(float, h.pt_range)) for h in histograms]
        self.bins = []
        for h, pt in zip(histograms, self.pt_bins, strict=True):
            if not h.grid or [c.column for c in h.cuts] != [c.column for c in self.cuts]:
                raise ScanInputError(
                    f"ScanHistograms of {h.pt_range}: expected the threshold grid of "
                    f"{[c.column for c in self.cuts]}, found cuts {[c.column for c in h.cuts]} "
                    f"(grid={h.grid})."
                )
            if pt not in by_range:
                raise ScanInputError(f"bins: expected the BinInputs of {pt}, found none.")
            b = by_range[pt]
            settings = scan_settings(
                np.empty(0), b.require_peak("ScanGrid.from_histograms"), self.options,
                mass_edges=h.mass_edges, scale=b.scale,
            )  # fmt: skip
            self.bins.append(self._bin(h, b.expected, settings))
        self._cache = {}
        return self

    def _bin(
        self, hists: ScanHistograms, expected: Mapping[str, Any], settings: ScanSettings
    ) -> BinGrid:
        lo, hi = hists.pt_range
        label = f"{lo:g} < pT < {hi:g} GeV/c"
        if not hists.n_data:
            raise EmptySelectionError(f"data: expected candidates in {label}, found none.")
        species = expected["species"]
        if self.species not in species:
            raise ScanInputError(
                f"expected-signal table: expected species {self.species!r}, found {sorted(species)}."
            )
        expected_n = {
            o: expected_signal(expected, self.species, o, pt_min=lo, pt_max=hi)
            for o in species[self.species]
        }
        effs = {
            o: Efficiency(p, p2, float(t), float(t2))
            for o, (p, p2, t, t2) in hists.mc.items()
            if t > 0
        }
        missing = [o for o in self.signal_origins if o not in effs or o not in expected_n]
        if missing:
            raise EmptySelectionError(
                f"MC: expected candidates of signal origins {list(self.signal_origins)} in "
                f"{label}, found origins {sorted(effs)}."
            )
        return BinGrid(hists.pt_range, settings, hists.data, effs, expected_n, hists.n_data)

    def _estimate(self, b: BinGrid, idx: tuple[int, ...]) -> dict[str, Any]:
        """S, B and significance at one grid point, as ``scan_significance`` computes them."""
        st = b.settings
        hist = b.counts[(slice(None), *idx)]
        inner = hist[1:-1]
        eff = {
            o: Efficiency(
                *(np.atleast_1d(a[idx]) for a in (e.passed, e.passed_sq)), e.total, e.total_sq
            )
            for o, e in b.mc.items()
        }
        fits: list[MassFit | None] = []
        est = estimate(
            inner[None, :].astype(float), eff, b.expected, st, signal_origins=self.signal_origins,
            fits=fits,
        )  # fmt: skip
        data_eff = float(hist.sum()) / b.n_data
        effs = {o: e.values for o, e in eff.items()}
        errs = {o: e.errors for o, e in eff.items()}
        effs["data"] = np.array([data_eff])
        errs["data"] = np.array([math.sqrt(max(data_eff * (1 - data_eff), 0.0) / b.n_data)])
        result = ScanResult(
            species=self.species,
            pt_min=b.pt[0],
            pt_max=b.pt[1],
            cut_names=[c.column for c in self.cuts],
            cut_directions=[c.direction for c in self.cuts],
            thresholds=np.array(
                [[self.grids[c.column][i] for c, i in zip(self.cuts, idx, strict=True)]]
            ),
            efficiencies=effs,
            efficiency_errors=errs,
            metadata={"kind": "point", "signal_origins": list(self.signal_origins)},
            **est,
        )
        return {"result": result, "fit": fits[0], "hist": inner}
