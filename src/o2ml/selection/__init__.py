"""Selection studies: efficiencies, expected signal and background, significance scans, plateaus.

The typical notebook flow, per pT bin::

    from o2ml import selection
    from o2ml.channels import ds

    table = selection.load_expected_signal("ds_expected.json")
    options = selection.SignificanceOptions(**ds.SCAN_OPTIONS)  # the channel's choices
    scan = selection.scan_candidates(
        data, mc, {"score_bkg": ("<", np.geomspace(1e-4, 1, 200))},
        selection.BinInputs(table, (2, 4), scale=n_full / len(data)), options=options,
    )
    scan.plateau.most_efficient_threshold, scan.chosen_index()  # the working point
    scan.save("scan_pt2_4.parquet")  # the dashboards' input

``scan_significance`` does the same on arrays (mass, scores, MC scores per origin; the peak in
``BinInputs(peak=...)``), ``scan_bin`` the whole study of a bin (working point, reference cuts,
and the studies after the cut as :class:`BinScan` methods).

Efficiency scans sort nothing and loop over no threshold: one pass over the candidates fills a
cumulative histogram (see :mod:`o2ml.selection._binning`).
"""

from .bins import BinScan, closure_ensemble, quoted_significance, scan_bin
from .candidates import (
    add_scores,
    has_truth,
    in_pt_range,
    read_candidates,
    scan_candidates,
    split_for_training,
)
from .checks import data_mc_check, non_sculpting, sculpting_check, sideband_shape_pull
from .compare import at_equal_rejection, compare_models, quantile_thresholds, roc_auc
from .expected import load_expected_signal
from .options import BinInputs, SignificanceOptions
from .plateau import find_plateau
from .result import ScanResult
from .scan import scan_significance
from .stability import cut_variation

#: what a notebook needs, one entry point per job (the rest lives in the submodules, for
#: o2ml's own use): read and split candidates, score them, scan a pT bin (arrays, tables, or
#: the whole study of a bin with its working point), the plateau and its stability, the checks
#: that a model does not sculpt the mass, and the comparison of models
__all__ = [
    "BinInputs",
    "BinScan",
    "ScanResult",
    "SignificanceOptions",
    "add_scores",
    "at_equal_rejection",
    "closure_ensemble",
    "compare_models",
    "cut_variation",
    "data_mc_check",
    "find_plateau",
    "has_truth",
    "in_pt_range",
    "load_expected_signal",
    "non_sculpting",
    "quantile_thresholds",
    "quoted_significance",
    "read_candidates",
    "roc_auc",
    "scan_bin",
    "scan_candidates",
    "scan_significance",
    "sculpting_check",
    "sideband_shape_pull",
    "split_for_training",
]

#: names o2ml.selection exported before 0.x, and where each went (a notebook that uses one gets
#: an AttributeError that says so; nothing is silently aliased)
_MOVED = {
    "fit_after_cut": "the BinScan method: scan.fit_after_cut(data, index)",
    "closure": "the BinScan method: scan.closure(data, index)",
    "origin_working_points": "the BinScan method: scan.origin_working_points(mc, index)",
    "efficiency_vs_score": "the BinScan method: scan.efficiency_vs_score(mc, thresholds)",
    "summarize": "the ScanResult method: scan.summary() (a row of compare_models' table)",
    "evaluate_cuts": (
        "scan_bin(..., reference_cuts=...), or o2ml.selection.rectangular.evaluate_cuts"
    ),
    "scan_histograms": "o2ml.selection.scan.scan_histograms (what `o2ml scan` uses)",
    "signal_peak": "o2ml.selection.candidates.signal_peak (scan_candidates and scan_bin fit it)",
    "mc_by_origin": "o2ml.selection.candidates.mc_by_origin",
    "AfterCut": "o2ml.selection.bins.AfterCut (what BinScan.fit_after_cut returns)",
    "BKG_THRESHOLDS": "o2ml.selection.bins.BKG_THRESHOLDS",
    "WORKING_POINTS": "o2ml.selection.plateau.WORKING_POINTS",
    "Plateau": "o2ml.selection.plateau.Plateau (the type of ScanResult.plateau)",
    "CutVariation": "o2ml.selection.stability.CutVariation (what cut_variation returns)",
    "GRID_CUTS": "o2ml.selection.histograms.GRID_CUTS",
    "ScanHistograms": "o2ml.selection.histograms.ScanHistograms",
    "ScanSettings": "SignificanceOptions and BinInputs (the settings of a scan are internal)",
    "scan_settings": "SignificanceOptions and BinInputs (the settings of a scan are internal)",
    "estimate": "scan_significance or scan_candidates (the estimate itself is internal)",
    "significance": "ScanResult.significance of a scan (the formula is internal)",
    "significance_options": "SignificanceOptions(...) and options.replace(...)",
    "DIRECTIONS": "o2ml.selection.efficiency.DIRECTIONS",
    "Direction": "o2ml.selection.efficiency.Direction",
    "Efficiency": "o2ml.selection.efficiency.Efficiency",
    "ScoreCut": "o2ml.selection.efficiency.ScoreCut",
    "class_efficiencies": "o2ml.selection.efficiency.class_efficiencies",
    "column_values": "o2ml.selection.efficiency.column_values",
    "efficiency": "o2ml.selection.efficiency.efficiency",
    "efficiency_2d": "o2ml.selection.efficiency.efficiency_2d",
    "parse_cuts": "o2ml.selection.efficiency.parse_cuts",
    "selection_efficiency": "o2ml.selection.efficiency.selection_efficiency",
    "expected_signal": "o2ml.selection.expected.expected_signal",
    "validate_expected_signal": "o2ml.selection.expected.validate_expected_signal",
    "ExpectedSignalError": "o2ml.errors.ExpectedSignalError",
    "ScanFileError": "o2ml.errors.ScanFileError",
    "ScanInputError": "o2ml.errors.ScanInputError",
}


def __getattr__(name: str):
    """Only raises: a removed or renamed name says where it went."""
    if name in _MOVED:
        raise AttributeError(
            f"o2ml.selection.{name} is no longer part of o2ml.selection: use {_MOVED[name]}."
        )
    raise AttributeError(f"module 'o2ml.selection' has no attribute {name!r}")
