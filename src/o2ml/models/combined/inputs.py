"""Inputs of the combined PID, from the O2Physics PIDML tables ``PidTracksMcMl`` /
``PidTracksDataMl`` (Tools/PIDML/pidMl.h, filled by pidMlProducer.cxx; ``docs/o2_tables.md``).

The detectors are those of the PIDML tables and of the study (Kabus, CHEP 2023): TPC, TOF and
TRD. The rows are global tracks (ITS and TPC), so the kinematics and the TPC are always there;
the TOF and the TRD may be missing. The features, per group, and where each comes from:

============  ==============  ===============================================================
group         feature         from the table
============  ==============  ===============================================================
kinematics    ``fP``          read (GeV/c)
kinematics    ``eta``         *derived*: asinh(fPz / hypot(fPx, fPy)); PIDML holds no η
kinematics    ``fSign``       read (a float in PIDML)
TPC           ``fTPCSignal``  read (dE/dx)
TOF           ``fBeta``       read; the TOF is missing where fBeta or fTOFSignal is NaN
TRD           ``fTRDSignal``  read; the TRD is missing where fTRDSignal is NaN or fTRDPattern 0
TRD           ``nTRDLayers``  *derived*: the layers with a tracklet, set bits of fTRDPattern
============  ==============  ===============================================================

Not used: ``fTOFSignal`` (the raw TOF time: β = L / (c (t - t_ev)) already combines it with the
track length and the event time, which the table lacks; it only tells a missing TOF, as
pidUtils.h ``tofMissing`` does), the layers of ``fTRDPattern`` themselves (which layers fired says
nothing about the species, how many sets the TRD resolution), ``fPt, fPx, fPy`` (in p and η) and
``fX, fY, fZ, fAlpha, fTrackType, fTPCNClsShared, fDcaXY, fDcaZ`` (track geometry and quality, no
PID information). O2Physics' own attention model (pidOnnxModel.h) takes all 19 columns instead.
φ = atan2(fPy, fPx) follows too (:func:`o2ml.physics.pid_tracks.eta_phi`) but is no feature: the PID does not depend on it.

Missing values: where pidMlProducer writes NaN (no TOF: fTOFSignal, fBeta; no TRD: fTRDSignal,
and fTRDPattern 0), and also where an older file has -999 (pidUtils.h ``kTOFMissingSignal``,
``kRun3TRDMissingSignal``), every feature of that detector is :data:`MISSING` (-999, o2ml's
convention inside the model inputs). The models read a detector as missing when its first feature
(``fBeta``, ``fTRDSignal``) is NaN *or* below -499.5, and then ignore the rest of its group: the
ONNX input contract (:meth:`o2ml.models.combined.model.CombinedPid.to_onnx`) is float32
``[batch, 7]`` in the order of :data:`FEATURES`, a missing detector's values NaN (as
pidOnnxModel.h passes them) or -999. No imputation and no indicator here: what a method does with
a gap is the method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import EmptySelectionError, NonFiniteError
from ...physics.constants import PID_SPECIES, pid_label
from ...physics.pid_tracks import eta_phi
from ...schema import require_columns

#: class labels, index = label
SPECIES = PID_SPECIES
#: the features of each detector group, in input order
GROUPS = {
    "kinematics": ["fP", "eta", "fSign"],
    "TPC": ["fTPCSignal"],
    "TOF": ["fBeta"],
    "TRD": ["fTRDSignal", "nTRDLayers"],
}
#: the model inputs in order (the ONNX input columns)
FEATURES = [f for cols in GROUPS.values() for f in cols]
#: features that are not columns of the PIDML tables, and how they follow from them
DERIVED = {
    "eta": "asinh(fPz / hypot(fPx, fPy))",
    "nTRDLayers": "number of set bits of fTRDPattern (0-6)",
}
#: the groups every PIDML row has (global tracks: ITS and TPC)
ALWAYS = ("kinematics", "TPC")
#: the groups that can be missing, in the bit order of :func:`pattern` (1 TOF, 2 TRD)
DETECTORS = ("TOF", "TRD")
#: value of a missing quantity inside the model inputs (o2ml's convention; NaN works too)
MISSING = -999.0
#: the table columns the features come from (fTOFSignal: only to tell a missing TOF)
TRACK_COLUMNS = ["fP", "fPx", "fPy", "fPz", "fSign", "fTPCSignal", "fBeta", "fTOFSignal",
                 "fTRDSignal", "fTRDPattern"]  # fmt: skip


def _missing(values: np.ndarray) -> np.ndarray:
    """NaN (pidMlProducer) or -999 (pidUtils.h, AO2D defaults): not a measurement."""
    return ~(values > MISSING / 2)  # False for NaN as for -999


def tof_missing(df: pd.DataFrame) -> np.ndarray:
    """Tracks without TOF: fBeta or fTOFSignal NaN (or -999), as pidUtils.h ``tofMissing``."""
    return _missing(df["fBeta"].to_numpy(np.float64)) | _missing(
        df["fTOFSignal"].to_numpy(np.float64)
    )


def trd_missing(df: pd.DataFrame) -> np.ndarray:
    """Tracks without TRD: fTRDPattern 0 or fTRDSignal NaN (or -999)."""
    return (df["fTRDPattern"].to_numpy() == 0) | _missing(df["fTRDSignal"].to_numpy(np.float64))


def trd_layers(pattern) -> np.ndarray:
    """Number of TRD layers with a tracklet (set bits 0-5 of ``fTRDPattern``)."""
    bits = np.asarray(pattern).astype(np.uint8)
    return np.unpackbits(bits[:, None], axis=1)[:, 2:].sum(axis=1).astype(np.int64)


def build_inputs(df: pd.DataFrame, *, source: str = "tracks") -> np.ndarray:
    """float32 [n, 7] in the order of :data:`FEATURES` from a PIDML table (``PidTracksMcMl``,
    ``PidTracksDataMl``); -999 in every feature of a missing TOF or TRD."""
    require_columns(df, TRACK_COLUMNS, f"{source}: the combined-PID inputs")
    if len(df) == 0:
        raise EmptySelectionError(f"{source}: no tracks to build the combined-PID inputs from.")
    eta, _ = eta_phi(df)
    base = {"fP": np.abs(df["fP"].to_numpy(np.float64)), "eta": eta,
            "fSign": df["fSign"].to_numpy(np.float64),
            "fTPCSignal": df["fTPCSignal"].to_numpy(np.float64)}  # fmt: skip
    for name, v in base.items():
        bad = ~np.isfinite(v) | ((v <= 0) if name in ("fP", "fTPCSignal") else False)
        if bad.any():
            raise NonFiniteError(
                f"{source}: {int(bad.sum())} of {len(df)} tracks have no usable {name} "
                f"({'derived from fPx, fPy, fPz' if name == 'eta' else 'NaN, inf or <= 0'}); the "
                "PIDML tables hold global tracks, which always have the kinematics and a TPC signal."
            )
    no_tof, no_trd = tof_missing(df), trd_missing(df)
    values = {**base,
              "fBeta": np.where(no_tof, MISSING, df["fBeta"].to_numpy(np.float64)),
              "fTRDSignal": np.where(no_trd, MISSING, df["fTRDSignal"].to_numpy(np.float64)),
              "nTRDLayers": np.where(no_trd, MISSING, trd_layers(df["fTRDPattern"].to_numpy()))}  # fmt: skip
    out = np.empty((len(df), len(FEATURES)), np.float32)
    for i, c in enumerate(FEATURES):
        out[:, i] = values[c]
    return out


def available(X: np.ndarray) -> dict[str, np.ndarray]:
    """Per detector that can be missing: which tracks have it (its first feature is not -999 or
    NaN)."""
    X = np.asarray(X)
    return {d: ~_missing(X[:, FEATURES.index(GROUPS[d][0])]) for d in DETECTORS}


def pattern(X: np.ndarray) -> np.ndarray:
    """The detector pattern of each track: 1 x TOF + 2 x TRD (0..3; the TPC is always there)."""
    a = available(X)
    return sum((a[d].astype(np.int64) << k) for k, d in enumerate(DETECTORS))


def labels(df: pd.DataFrame, column: str = "fPdgCode") -> np.ndarray:
    """Labels 0..3 (index in :data:`SPECIES`) from PDG codes; -1 for other particles."""
    return pid_label(df[column].to_numpy()).astype(np.int64)


__all__ = [
    "ALWAYS",
    "DERIVED",
    "DETECTORS",
    "FEATURES",
    "GROUPS",
    "MISSING",
    "SPECIES",
    "TRACK_COLUMNS",
    "available",
    "build_inputs",
    "labels",
    "pattern",
    "tof_missing",
    "trd_layers",
    "trd_missing",
]
