"""Inputs of the combined PID: the raw track quantities per detector, -999 where a detector is
missing (the O2Physics convention), as an O2Physics task can fill them from its tables.

The kinematics (p, eta, charge) are always there. The TPC gives dE/dx and the four nsigma, the
TOF beta and its four nsigma, the ITS2 the truncated mean cluster size x cos(lambda) (the
estimator of O2Physics' ITS response, ``o2ml.physics.its``). No imputation and no indicator here:
what a method does with a gap is the method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import EmptySelectionError
from ...physics import its
from ...physics.constants import PID_SPECIES, pid_label
from ...schema import require_columns

#: class labels, index = label
SPECIES = PID_SPECIES
_NS = ("El", "Pi", "Ka", "Pr")
#: the features of each detector group, in input order
GROUPS = {
    "kinematics": ["fP", "fEta", "fSign"],
    "TPC": ["fTPCSignal", *[f"fTPCNSigma{s}" for s in _NS]],
    "TOF": ["fBeta", *[f"fTOFNSigma{s}" for s in _NS]],
    "ITS": ["fItsClusterSizeCosL"],
}
#: the model inputs in order (the ONNX input columns)
FEATURES = [f for cols in GROUPS.values() for f in cols]
#: the groups that can be missing, in the bit order of :func:`pattern` (1 TPC, 2 TOF, 4 ITS)
DETECTORS = ("TPC", "TOF", "ITS")
#: value of a missing quantity
MISSING = -999.0
#: the table columns the features come from
TRACK_COLUMNS = [c for c in FEATURES if c != "fItsClusterSizeCosL"] + ["fITSClusterSizes"]


def build_inputs(df: pd.DataFrame, *, source: str = "tracks") -> np.ndarray:
    """float32 [n, 15] in the order of :data:`FEATURES` from a PidTracks table."""
    require_columns(df, TRACK_COLUMNS, f"{source}: the combined-PID inputs")
    if len(df) == 0:
        raise EmptySelectionError(f"{source}: no tracks to build the combined-PID inputs from.")
    out = np.empty((len(df), len(FEATURES)), np.float32)
    for i, c in enumerate(FEATURES[:-1]):
        out[:, i] = df[c].to_numpy(np.float32)
    sizes = df["fITSClusterSizes"].to_numpy()
    cs = its.mean_cluster_size_cos_lambda(sizes, df["fEta"].to_numpy())
    out[:, -1] = np.where(its.n_hits(sizes) > 0, cs, MISSING)
    out[:, 0] = np.abs(out[:, 0])
    return out


def available(X: np.ndarray) -> dict[str, np.ndarray]:
    """Per detector: which tracks have it (its first feature is not -999)."""
    X = np.asarray(X)
    return {d: X[:, FEATURES.index(GROUPS[d][0])] > MISSING / 2 for d in DETECTORS}


def pattern(X: np.ndarray) -> np.ndarray:
    """The detector pattern of each track: 1 x TPC + 2 x TOF + 4 x ITS (0..7)."""
    a = available(X)
    return sum((a[d].astype(np.int64) << k) for k, d in enumerate(DETECTORS))


def labels(df: pd.DataFrame, column: str = "fPdgCode") -> np.ndarray:
    """Labels 0..3 (index in :data:`SPECIES`) from PDG codes; -1 for other particles."""
    return pid_label(df[column].to_numpy()).astype(np.int64)


__all__ = [
    "DETECTORS",
    "FEATURES",
    "GROUPS",
    "MISSING",
    "SPECIES",
    "available",
    "build_inputs",
    "labels",
    "pattern",
]
