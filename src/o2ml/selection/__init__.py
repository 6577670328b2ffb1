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
from .candidates import in_pt_range, mc_by_origin, scan_candidates, signal_peak
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
from .rectangular import DS_REFERENCE_CUTS, evaluate_cuts
from .result import ScanResult
from .scan import scan_histograms, scan_significance
from .stability import CutVariation, cut_variation

__all__ = [
    "DIRECTIONS",
    "DS_REFERENCE_CUTS",
    "GRID_CUTS",
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
    "class_efficiencies",
    "column_values",
    "cut_variation",
    "efficiency",
    "efficiency_2d",
    "estimate",
    "evaluate_cuts",
    "expected_signal",
    "find_plateau",
    "in_pt_range",
    "load_expected_signal",
    "mc_by_origin",
    "parse_cuts",
    "scan_candidates",
    "scan_histograms",
    "scan_settings",
    "scan_significance",
    "selection_efficiency",
    "signal_peak",
    "significance",
    "significance_options",
    "validate_expected_signal",
]
