"""Synthetic ALICE-like data in the O2Physics table layout, with its hidden truth.

* :mod:`~o2ml.toymc.charm`: Ds+/D+ -> KKπ candidates (``HfCandDsLites``, data and MC);
  :mod:`~o2ml.toymc.lc`: Λc+ -> pKπ (``HfCandLcLites``); :mod:`~o2ml.toymc.pid`: tracks with
  TPC, TOF and ITS2 signals for the PID notebooks; :mod:`~o2ml.toymc.tpc`: TPC dE/dx skims
  (``SkimmedTPCV0Tree``, ``SkimmedTPCTOFTree``) for the dE/dx calibration;
* :mod:`~o2ml.toymc.generate`: writes the samples to disk (``ensure_sample``), once per seed;
* :mod:`~o2ml.toymc.scored`: scored candidates without a model, for dashboards and benchmarks.
"""

from . import charm, generate, lc, pid, pid_tables, scored, three_prong, tpc

__all__ = [
    "charm",
    "generate",
    "lc",
    "pid",
    "pid_tables",
    "scored",
    "three_prong",
    "tpc",
]
