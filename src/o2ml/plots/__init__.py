"""Figures, kept out of the notebooks so that their cells show the physics.

:mod:`o2ml.plots.charm`: the notebooks' plotly figures (results of :mod:`o2ml.analysis` /
:mod:`o2ml.selection` in, a ``plotly.graph_objects.Figure`` out); :mod:`o2ml.plots.training`:
the matplotlib files ``o2ml train`` writes per pT bin, as O2Physics' training macro does.
Nothing here computes a number a notebook asserts.
"""

from .charm import closure_pulls, mass_after_cut

__all__ = ["closure_pulls", "mass_after_cut"]
