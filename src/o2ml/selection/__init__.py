"""Selection studies: efficiencies, expected signal and background, significance scans, plateaus.

The typical notebook flow, per pT bin::

    from o2ml.physics.massfit import fit_peak
    from o2ml import selection

    peak = fit_peak(mc_prompt["fM"])
    table = selection.load_expected_signal("ds_expected.json")
    scan = selection.scan_significance(
        data["fM"], data, {"prompt": mc_prompt, "nonprompt": mc_nonprompt},
        {"score_bkg": ("<", 0.01), "score_prompt": (">", np.linspace(0, 0.99, 100))},
        expected=table, pt_range=(2, 4), peak=peak, scale=n_full / len(data),
    )
    scan.plateau.most_efficient_threshold
    scan.save("scan_pt2_4.parquet")  # the dashboards' input

Efficiency scans sort nothing and loop over no threshold: one pass over the candidates fills a
cumulative histogram (see :mod:`o2ml.selection._binning`).
"""

from ..errors import ExpectedSignalError, ScanFileError, ScanInputError
from ._estimate import ScanSettings, scan_settings, significance
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
    "class_efficiencies",
    "column_values",
    "cut_variation",
    "efficiency",
    "efficiency_2d",
    "evaluate_cuts",
    "expected_signal",
    "find_plateau",
    "load_expected_signal",
    "parse_cuts",
    "scan_histograms",
    "scan_settings",
    "scan_significance",
    "selection_efficiency",
    "significance",
    "validate_expected_signal",
]
