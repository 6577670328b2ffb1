"""Figures, kept out of the notebooks so that their cells show the physics.

:mod:`o2ml.plots.charm` (mass regions, scans, yields, pulls) and :mod:`o2ml.plots.models`
(losses, score distributions and ROC, plateau comparison, cost-aware search): the notebooks'
plotly figures (results of :mod:`o2ml.selection` and :mod:`o2ml.models` in, a
``plotly.graph_objects.Figure`` out; plotly is the ``dashboards`` extra). The matplotlib files
``o2ml train`` writes per pT bin are :mod:`o2ml.workflow.figures`. Nothing here computes a number
a notebook asserts.
"""

from . import charm, dann, models, pid, tpc
from .charm import (
    closure_pulls,
    corrected_yields,
    mass_after_cut,
    mass_regions,
    significance_scans,
    significance_vs_threshold,
)
from .models import cost_pareto, loss_curves, plateau_comparison, score_distributions

__all__ = [
    "charm",
    "closure_pulls",
    "corrected_yields",
    "cost_pareto",
    "dann",
    "loss_curves",
    "mass_after_cut",
    "mass_regions",
    "models",
    "pid",
    "plateau_comparison",
    "score_distributions",
    "significance_scans",
    "significance_vs_threshold",
    "tpc",
]
