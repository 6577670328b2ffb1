"""Physics helpers: particle constants (``particle``), detector responses, invariant-mass fits.

* :mod:`~o2ml.physics.constants`: PDG masses and codes of the species o2ml uses;
* :mod:`~o2ml.physics.detectors`: the TPC (ALEPH Bethe-Bloch) and TOF responses as O2Physics
  computes them; :mod:`~o2ml.physics.its`: the ITS2 cluster-size response;
* :mod:`~o2ml.physics.pid_response`: the per-species response curves of a PID estimator;
  :mod:`~o2ml.physics.pid_performance`: efficiency, purity and separation power;
* :mod:`~o2ml.physics.pid_tracks`: PID tracks from an AO2D's joined tables, derived as O2 does;
* :mod:`~o2ml.physics.massfit`: binned signal + background fits (iminuit) and the signal peak;
* :mod:`~o2ml.physics.stats`: the binomial efficiency error and the robust (MAD) width.
"""

from . import constants, detectors, its, massfit, pid_performance, pid_response, pid_tracks, stats

__all__ = [
    "constants",
    "detectors",
    "its",
    "massfit",
    "pid_performance",
    "pid_response",
    "pid_tracks",
    "stats",
]
