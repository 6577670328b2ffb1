"""PID tracks from an AO2D, as an O2 analysis joins and derives them (notebook 03).

An O2 task that studies the ITS2 cluster sizes reads
``soa::Join<aod::TracksIU, aod::TracksExtra, aod::V0Bits[, aod::McTrackLabels]>`` and asks each
row for its momentum, η, φ (dynamic columns of the track parameters), its TPC and TOF nσ (the
pidTPC and pidTOF tasks) and, in MC, ``track.mcParticle().pdgCode()``. :func:`read_aod_tracks`
does the same with :func:`o2ml.io.read_table` and :func:`o2ml.io.follow_index`, and returns one
row per track with the quantities of o2ml's PID models. What is read and what is derived:

* read: ``fITSClusterSizes``, ``fTPCSignal`` (TracksExtra_002); ``fPIDBit`` (V0Bits);
  ``fPdgCode`` through ``fIndexMcParticles`` (MC); ``fTruthPdgCode`` (o2ml's SyntheticTruth of
  synthetic data, if present);
* derived as O2's dynamic columns derive them (AliceO2 AnalysisDataModel.h): pT = 1/|q/pT|,
  p = pT·√(1 + tan²λ), η = asinh(tan λ), φ = asin(snp) + α in [0, 2π), the sign of q/pT; found
  TPC clusters = findable − (findable − found);
* computed as the PID tasks compute them, with the response given: TPC nσ from ``fTPCSignal``
  at ``fTPCInnerParam`` (ALEPH Bethe-Bloch, resolution ∝ 1/√N_cl), TOF β = L/(c·t) and TOF nσ
  from ``fLength``, ``fTOFExpMom`` and the TOF time ``t`` = 1000·``fTrackTime`` ps (o2ml's
  synthetic collisions are at time 0; a real analysis subtracts the event time, as pidTOF does).
  Without TOF (``fTOFChi2 < 0``) the TOF columns are -999, as in O2Physics' PID tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import io
from ..errors import TableNotFoundError
from . import detectors as det
from .constants import PID_SPECIES, mass

#: relative TPC dE/dx resolution at detectors.TPC_NCLS_REFERENCE clusters, and TOF time resolution
#: (ps), of the response used for nσ by default: o2ml's nominal one, that of the synthetic MC
NOMINAL_TPC_RESOLUTION = 0.060
NOMINAL_TOF_RESOLUTION_PS = 65.0
#: value of the TOF columns of a track without TOF (O2Physics PID tables)
MISSING = -999.0
#: V0Bits.fPIDBit bit (PWGDQ v0selector) -> o2ml's fV0Tag code (1 K0S, 2 Λ, 3 anti-Λ, 4 γ)
V0_TAG_OF_BIT = {1: 1, 2: 2, 3: 3, 0: 4}
_NS = ("El", "Pi", "Ka", "Pr")
#: the columns of a frame of PID tracks and their types, in order: what read_aod_tracks returns
#: and o2ml's PID models read (the synthetic generator draws the same frame before it writes
#: the O2 tables); the truth columns come last
TRACK_DTYPES = {
    "fP": "f4", "fPt": "f4", "fEta": "f4", "fPhi": "f4", "fTgl": "f4", "fSign": "f4",
    "fITSClusterSizes": "u4", "fTPCSignal": "f4", "fTpcNClsFound": "i2", "fBeta": "f4",
    "fTOFSignal": "f4", **{f"fTPCNSigma{s}": "f4" for s in _NS},
    **{f"fTOFNSigma{s}": "f4" for s in _NS}, "fV0Tag": "i1",
}  # fmt: skip
#: MC truth (the track's MC particle) and o2ml's synthetic-data truth
TRUTH_DTYPES = {"fPdgCode": "i4", "fTruthPdgCode": "i4"}
_TRACK_TABLES = ("TracksIU", "TracksExtra_002", "V0Bits")
_READ = [
    "fSigned1Pt", "fTgl", "fSnp", "fAlpha", "fITSClusterSizes", "fTPCInnerParam", "fTPCSignal",
    "fTPCNClsFindable", "fTPCNClsFindableMinusFound", "fTOFChi2", "fLength", "fTOFExpMom",
    "fTrackTime", "fPIDBit",
]  # fmt: skip


def read_aod_tracks(
    paths: io.Paths,
    *,
    tpc_resolution: float = NOMINAL_TPC_RESOLUTION,
    tof_resolution_ps: float = NOMINAL_TOF_RESOLUTION_PS,
    truth: bool | None = None,
) -> pd.DataFrame:
    """One row per track of the AO2D(s) ``paths``, with the columns of o2ml's PID models.

    Columns: ``fP, fPt, fEta, fPhi, fTgl, fSign, fITSClusterSizes, fTPCSignal, fTpcNClsFound,
    fBeta, fTOFSignal, fTPCNSigma{El,Pi,Ka,Pr}, fTOFNSigma{El,Pi,Ka,Pr}, fV0Tag``, plus
    ``fPdgCode`` in MC (files with ``McTrackLabels``) or ``fTruthPdgCode`` in synthetic data
    with o2ml's truth. ``truth=True`` requires one of the two (a clear error names the file and
    what it holds), ``False`` skips them, None takes what the files have.
    """
    files = io.expand_paths(paths)
    trees = {info.tree.lower() for info in io.describe(files[0])}
    mc = "o2mctracklabel" in trees
    synthetic = "o2synthetictruth" in trees
    if truth and not (mc or synthetic):
        raise TableNotFoundError(
            f"{files[0]}: the true species need MC (tables McTrackLabels -> McParticles_001) or "
            f"o2ml's SyntheticTruth; the file holds {', '.join(sorted(trees))}."
        )
    tables = list(_TRACK_TABLES)
    if synthetic and truth is not False and not mc:
        tables.append("SyntheticTruth")
    raw = io.read_table(files, tables, [*_READ, *(["fTruthPdgCode"] if len(tables) > 3 else [])])
    out = _derive(raw, tpc_resolution, tof_resolution_ps)
    if mc and truth is not False:
        pdg = io.follow_index(files, "McTrackLabels", "fIndexMcParticles", "McParticles_001",
                              columns=["fPdgCode"])  # fmt: skip
        out["fPdgCode"] = pdg["fPdgCode"].to_numpy(np.int32)
    elif "fTruthPdgCode" in raw:
        out["fTruthPdgCode"] = raw["fTruthPdgCode"].to_numpy(np.int32)
    return out


def _derive(raw: pd.DataFrame, tpc_resolution: float, tof_resolution_ps: float) -> pd.DataFrame:
    q_pt = raw["fSigned1Pt"].to_numpy(np.float64)
    tgl = raw["fTgl"].to_numpy(np.float64)
    pt = 1.0 / np.abs(q_pt)
    p = pt * np.sqrt(1.0 + tgl * tgl)
    phi = np.mod(np.arcsin(raw["fSnp"].to_numpy(np.float64)) + raw["fAlpha"].to_numpy(), 2 * np.pi)
    ncls = raw["fTPCNClsFindable"].to_numpy(np.int16) - raw["fTPCNClsFindableMinusFound"].to_numpy(
        np.int16
    )
    signal = raw["fTPCSignal"].to_numpy(np.float32)
    p_tpc = raw["fTPCInnerParam"].to_numpy(np.float32)
    rel = det.tpc_relative_resolution(ncls.astype(np.float32), resolution=tpc_resolution)
    rel = np.asarray(rel, np.float32)
    has_tof = raw["fTOFChi2"].to_numpy() >= 0
    length = np.where(has_tof, raw["fLength"].to_numpy(np.float64), 1.0)
    time = np.where(has_tof, raw["fTrackTime"].to_numpy(np.float64) * 1000.0, 1.0)
    p_tof = raw["fTOFExpMom"].to_numpy(np.float32)
    out = {
        "fP": p,
        "fPt": pt,
        "fEta": np.arcsinh(tgl),
        "fPhi": phi,
        "fTgl": tgl,
        "fSign": np.sign(q_pt),
        "fITSClusterSizes": raw["fITSClusterSizes"].to_numpy(np.uint32),
        "fTPCSignal": signal,
        "fTpcNClsFound": ncls,
        "fBeta": np.where(has_tof, det.tof_beta(length, time), MISSING),
        "fTOFSignal": np.where(has_tof, time, MISSING),
    }
    for s, name in zip(_NS, PID_SPECIES, strict=True):
        expected = det.tpc_expected_signal(p_tpc, mass(name))
        out[f"fTPCNSigma{s}"] = (signal - expected) / (expected * rel)
    for s, name in zip(_NS, PID_SPECIES, strict=True):
        expected = det.tof_expected_time(p_tof, mass(name), length)
        out[f"fTOFNSigma{s}"] = np.where(has_tof, (time - expected) / tof_resolution_ps, MISSING)
    bits = raw["fPIDBit"].to_numpy(np.uint8)
    tag = np.zeros(len(bits), np.int8)
    for bit, code in V0_TAG_OF_BIT.items():
        tag[(bits >> bit) & 1 == 1] = code
    out["fV0Tag"] = tag
    return pd.DataFrame(
        {c: np.asarray(out[c]).astype(t, copy=False) for c, t in TRACK_DTYPES.items()}
    )


def eta_phi(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(η, φ in [0, 2π)) of each track from its momentum ``fPx, fPy, fPz`` (the PIDML tables
    store neither); NaN where pT = 0."""
    px, py, pz = (df[c].to_numpy(np.float64) for c in ("fPx", "fPy", "fPz"))
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.where(pt > 0, pt, np.nan))
    return eta, np.mod(np.arctan2(py, px), 2 * np.pi)


def columns() -> Sequence[str]:
    """The columns of :func:`read_aod_tracks` without truth, in order."""
    return list(TRACK_DTYPES)


__all__ = [
    "NOMINAL_TOF_RESOLUTION_PS",
    "NOMINAL_TPC_RESOLUTION",
    "TRACK_DTYPES",
    "TRUTH_DTYPES",
    "columns",
    "eta_phi",
    "read_aod_tracks",
]
