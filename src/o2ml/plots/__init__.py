"""Figures of the notebooks (plotly), kept out of the notebooks so that their cells show the physics.

Each function takes results of :mod:`o2ml.analysis` / :mod:`o2ml.selection` and returns a
``plotly.graph_objects.Figure``; nothing here computes a number a notebook asserts.
"""

from .charm import closure_pulls, mass_after_cut

__all__ = ["closure_pulls", "mass_after_cut"]
