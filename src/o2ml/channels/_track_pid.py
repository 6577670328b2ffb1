"""O2Physics' track PID selection of the HF selectors (TPC or TOF), as numpy.

Common/Core/TrackSelectorPID.h @ b617ecdc (statusTpc, statusTof, statusTpcOrTof): a detector
gives "accepted" within ``nsigma``, "conditional" within ``nsigma_combined``, else "rejected",
and "not applicable" outside its track-pT range or without a signal. The Ds and D+ selectors
(candidateSelectorDsToKKPi.cxx, candidateSelectorDplusToPiKPi.cxx @ ff486283) keep a candidate
unless a prong is "rejected" (acceptPIDNotApplicable true, their default).
"""

from __future__ import annotations

import numpy as np

__all__ = ["status_tpc_or_tof"]


def status_tpc_or_tof(
    pt, tpc, tof, *, pt_range=(0.15, 5.0), nsigma: float = 3.0, nsigma_combined: float = 5.0
) -> np.ndarray:
    """TrackSelectorPID::statusTpcOrTof per track: 1 accepted, 0 not applicable, -1 rejected.

    The selectors' defaults: TPC and TOF in 0.15 < pT < 5 GeV/c, |nσ| < 3 accepted, < 5
    "conditional" (accepted if both detectors are); a TOF nσ of -999 (no TOF) not applicable.
    """
    lo, hi = pt_range
    valid = (pt >= lo) & (pt <= hi)

    def status(n, ok):  # 2 accepted, 1 conditional, -1 rejected, 0 not applicable
        a = np.abs(n)
        s = np.where(a <= nsigma, 2, np.where(a <= nsigma_combined, 1, -1))
        return np.where(ok, s, 0)

    s_tpc, s_tof = status(tpc, valid), status(tof, valid & (tof > -998.0))
    accepted = (s_tpc == 2) | (s_tof == 2) | ((s_tpc == 1) & (s_tof == 1))
    return np.where(accepted, 1, np.where((s_tpc == -1) | (s_tof == -1), -1, 0))
