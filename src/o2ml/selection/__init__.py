"""Selection studies: efficiencies, expected signal and background, significance scans, plateaus.

The typical notebook flow, per pT bin::

    from o2ml.physics.massfit import fit_peak
    from o2ml import selection

    peak = fit_peak(mc_prompt["fM"])
    table = selection.load_expected_signal("ds_expected.json")
    options = selection.SignificanceOptions(species="Ds", signal_origins=("prompt",))
    scan = selection.scan_significance(
        data["fM"], data, {"prompt": mc_prompt, "nonprompt": mc_nonprompt},
        {"score_bkg": ("<", 0.01), "score_prompt": (">", np.linspace(0, 0.99, 100))},
        expected=table, pt_range=(2, 4), peak=peak, scale=n_full / len(data), options=options,
    )
    scan.plateau.most_efficient_threshold
    scan.save("scan_pt2_4.parquet")  # the dashboards' input

Efficiency scans sort nothing and loop over no threshold: one pass over the candidates fills a
cumulative histogram (see :mod:`o2ml.selection._binning`).
"""

from ..errors import ExpectedSignalError, ScanFileError, ScanInputError
from ._estimate import ScanSettings, estimate, scan_settings, significance
from .bins import (
    BKG_THRESHOLDS,
    WORKING_POINTS,
    AfterCut,
    BinScan,
    closure,
    closure_ensemble,
    efficiency_vs_score,
    fit_after_cut,
    origin_working_points,
    scan_bin,
)
from .candidates import (
    add_scores,
    has_truth,
    in_pt_range,
    mc_by_origin,
    read_candidates,
    scan_candidates,
    signal_peak,
    split_for_training,
)
from .checks import data_mc_check, non_sculpting, sculpting_check, sideband_shape_pull
from .compare import at_equal_rejection, compare_models, quantile_thresholds, roc_auc, summarize
from .efficiency import (
    DIRECTIONS,
    Direction,
    Efficiency,
    ScoreCut,
    class_efficiencies,
    column_values,
    efficiency,
    efficiency_2d,
    parse_cuts,
    selection_efficiency,
)
from .expected import expected_signal, load_expected_signal, validate_expected_signal
from .histograms import GRID_CUTS, ScanHistograms
from .options import SignificanceOptions, significance_options
from .plateau import Plateau, find_plateau
from .rectangular import evaluate_cuts
from .result import ScanResult
from .scan import scan_histograms, scan_significance
from .stability import CutVariation, cut_variation

__all__ = [
    "BKG_THRESHOLDS",
    "DIRECTIONS",
    "GRID_CUTS",
    "WORKING_POINTS",
    "AfterCut",
    "BinScan",
    "CutVariation",
    "Direction",
    "Efficiency",
    "ExpectedSignalError",
    "Plateau",
    "ScanFileError",
    "ScanHistograms",
    "ScanInputError",
    "ScanResult",
    "ScanSettings",
    "ScoreCut",
    "SignificanceOptions",
    "add_scores",
    "at_equal_rejection",
    "class_efficiencies",
    "closure",
    "closure_ensemble",
    "column_values",
    "compare_models",
    "cut_variation",
    "data_mc_check",
    "efficiency",
    "efficiency_2d",
    "efficiency_vs_score",
    "estimate",
    "evaluate_cuts",
    "expected_signal",
    "find_plateau",
    "fit_after_cut",
    "has_truth",
    "in_pt_range",
    "load_expected_signal",
    "mc_by_origin",
    "non_sculpting",
    "origin_working_points",
    "parse_cuts",
    "quantile_thresholds",
    "read_candidates",
    "roc_auc",
    "scan_bin",
    "scan_candidates",
    "scan_histograms",
    "scan_settings",
    "scan_significance",
    "sculpting_check",
    "selection_efficiency",
    "sideband_shape_pull",
    "signal_peak",
    "significance",
    "significance_options",
    "split_for_training",
    "summarize",
    "validate_expected_signal",
]
