"""The synthetic tracks of :func:`o2ml.toymc.pid.generate_pid` as O2 and O2Physics store them.

Two layouts, each with the exact columns, types and missing-detector values of its producer:

* **AO2D** (O2 data model, ``docs/o2_tables.md``): ``TracksIU`` (``O2track_iu``),
  ``TracksExtra_002`` (``O2trackextra_002``, with ``fITSClusterSizes``) and, in MC,
  ``McTrackLabels`` (``O2mctracklabel``) pointing into ``McParticles_001``
  (``O2mcparticle_001``), one set per ``DF_`` folder; indices count rows of their folder. A
  detector that did not see the track has the AO2D producer's defaults (``TrackExtraInfo`` in
  AliceO2 Detectors/AOD/include/AODProducerWorkflow/AODProducerWorkflowSpec.h @ 7a6665b5):
  -999 for its floats, 0 for its counts and patterns.
* **PIDML** (O2Physics Tools/PIDML/pidMl.h and pidMlProducer.cxx @ b4e8f5cd): ``PidTracksMcMl``
  (``O2pidtracksmcml``) in MC, ``PidTracksDataMl`` (``O2pidtracksdataml``) in data; TOF and
  TRD signals NaN and ``fTRDPattern`` 0 without the detector, as ``getTOFSignal`` /
  ``getTRDSignal`` / ``getTRDPattern`` fill them.

The TRD response (a dE/dx with transition radiation for electrons) and the track geometry
(vertex, DCA, reference frame) are added here, from their own random stream, so the columns that
``generate_pid`` already draws keep their values.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..physics import detectors as det
from ..physics.constants import PID_SPECIES, mass, pid_label
from ..schema import (
    MC_PARTICLES,
    MC_TRACK_LABELS,
    PID_TRACKS_DATA_ML,
    PID_TRACKS_MC_ML,
    SYNTHETIC_TRUTH,
    TRACKS_EXTRA,
    TRACKS_IU,
    V0_BITS,
)
from .pid import V0_CODES

# ------------------------------------------------------------------------ TRD (documented choices)
#: a track reaches the TRD (radius ~2.9-3.7 m) above this pT in GeV/c (it curls up below)
TRD_PT_MIN = 0.3
#: probability that a layer of the 6 has a tracklet of a track that reaches the TRD (inefficiency,
#: dead chambers); a track with no tracklet has no TRD (fTRDPattern 0)
TRD_LAYER_EFFICIENCY = 0.80
#: relative resolution of the TRD signal with 6 tracklets; ~1/sqrt(n) with fewer
TRD_RESOLUTION = 0.15
#: transition radiation of electrons: extra signal relative to a MIP, turning on with beta*gamma
#: (TR sets in above ~1000; electrons above ~0.5 GeV/c)
TRD_TR_MAX = 0.8
TRD_TR_BETAGAMMA = 1500.0
#: data differ from MC as real TRD data do from their simulation (documented choices): a gain
#: calibration offset of the signal, a worse resolution, and a lower tracklet efficiency
TRD_GAIN_DATA = 1.05
TRD_RESOLUTION_DATA = TRD_RESOLUTION * 1.15
TRD_LAYER_EFFICIENCY_DATA = 0.75
# ------------------------------------------------------------------------ geometry
#: tracks per collision (a documented choice: a pp collision with a few tracks that pass)
TRACKS_PER_COLLISION = 8
#: primary-vertex spread in z (cm) and in x, y (cm): LHC Run 3 luminous region
VERTEX_SIGMA_Z = 5.0
VERTEX_SIGMA_XY = 0.005
#: DCA resolution in xy and z, cm: a + b / pT (ITS2: ~10 um at high pT, ~50 um at 0.5 GeV/c)
DCA_XY = (0.0010, 0.0025)
DCA_Z = (0.0015, 0.0030)
#: radius of the innermost ITS2 layer (cm), where TracksIU has its reference x
ITS_INNER_RADIUS = 2.34
#: the synthetic tracks lose no momentum before the TPC: fTPCInnerParam is p (the TPC response
#: of generate_pid is drawn at p)
#: TPC findable clusters (159 pad rows, a few lost to dead zones) and clusters used for dE/dx
TPC_FINDABLE = 155
TPC_PID_LOSS_MEAN = 4.0
#: values of a detector that did not see the track (AODProducerWorkflowSpec.h TrackExtraInfo)
AOD_MISSING = -999.0
#: McParticles fFlags bit of a physical primary (AliceO2 DataTypes.h MCParticleFlags)
PHYSICAL_PRIMARY = 0x4
#: TrackTypeEnum (AliceO2 DataTypes.h): 0 TrackIU (innermost update), 1 Track (propagated)
TRACK_IU, TRACK = 0, 1
#: |eta| of global tracks (O2Physics Common/Core/TrackSelectionDefaults.h; pidUtils.h kGlobalEtaCut)
GLOBAL_ETA_MAX = 0.8
_TRD_STREAM = 11  # spawn key of this module's random stream


def _trd(rng: np.random.Generator, p: np.ndarray, pt: np.ndarray, masses: np.ndarray, data: bool):
    """(fTRDPattern uint8, fTRDSignal float: NaN without TRD) of each track."""
    n = p.size
    reach = pt > TRD_PT_MIN
    efficiency = TRD_LAYER_EFFICIENCY_DATA if data else TRD_LAYER_EFFICIENCY
    layers = (rng.random((n, 6)) < efficiency) & reach[:, None]
    pattern = (layers * (1 << np.arange(6))).sum(axis=1).astype(np.uint8)
    ntrk = layers.sum(axis=1)
    bg = p / masses
    mip = det.bethe_bloch_aleph(np.float64(3.5))
    signal = det.bethe_bloch_aleph(bg) / mip
    signal = signal + TRD_TR_MAX * bg**2 / (bg**2 + TRD_TR_BETAGAMMA**2)
    resolution, gain = (TRD_RESOLUTION_DATA, TRD_GAIN_DATA) if data else (TRD_RESOLUTION, 1.0)
    sigma = resolution * np.sqrt(6.0 / np.maximum(ntrk, 1))
    signal = gain * signal * (1.0 + sigma * rng.standard_normal(n))
    return pattern, np.where(ntrk > 0, signal, np.nan)


def _geometry(rng: np.random.Generator, pt: np.ndarray, phi: np.ndarray) -> dict[str, np.ndarray]:
    n = pt.size
    collision = np.arange(n) // TRACKS_PER_COLLISION
    vz = rng.normal(0.0, VERTEX_SIGMA_Z, collision.max() + 1 if n else 0)[collision]
    dca_xy = rng.standard_normal(n) * (DCA_XY[0] + DCA_XY[1] / pt)
    dca_z = rng.standard_normal(n) * (DCA_Z[0] + DCA_Z[1] / pt)
    # the reference frame of a track is that of its TPC sector: 18 sectors of 20 degrees
    sector = np.floor(np.mod(phi, 2 * np.pi) / (np.pi / 9))
    alpha = (sector + 0.5) * np.pi / 9 - np.where(sector >= 9, 2 * np.pi, 0.0)
    return {
        "collision": collision,
        "vz": vz,
        "dca_xy": dca_xy,
        "dca_z": dca_z,
        "alpha": alpha,
        "snp": np.sin(phi - alpha),
        "shared": rng.poisson(0.3, n).astype(np.uint8),
        "pid_loss": np.minimum(rng.poisson(TPC_PID_LOSS_MEAN, n), 20),
        "crossed_extra": rng.integers(0, 3, n),
        "its_chi2": rng.gamma(4.0, 0.3, n),
        "tpc_chi2": rng.gamma(8.0, 0.15, n),
        "tof_chi2": rng.gamma(2.0, 0.5, n),
    }


#: the bit of V0Bits.fPIDBit (PWGDQ v0selector's enum) of each fV0Tag of generate_pid
V0_BIT = {"gamma": 0, "K0S": 1, "Lambda": 2, "antiLambda": 3}


def _v0_bits(tracks: pd.DataFrame) -> pd.DataFrame:
    """V0Bits of each track from the generator's V0 tags (0: not a selected V0 daughter)."""
    tag = tracks["fV0Tag"].to_numpy()
    bits = np.zeros(len(tag), np.uint8)
    for kind, bit in V0_BIT.items():
        bits[tag == V0_CODES[kind]] = 1 << bit
    return pd.DataFrame({"fPIDBit": bits})


def pid_tables(
    tracks: pd.DataFrame, seed: int, domain: str, *, with_truth: bool = False
) -> dict[str, pd.DataFrame]:
    """The tables of one synthetic PID file, for all its tracks (split into DF_ folders by
    :func:`split_folders`): ``TracksIU``, ``TracksExtra_002``, ``V0Bits`` (PWGDQ's v0selector),
    the PIDML table of ``domain`` and, in MC, ``McTrackLabels`` and ``McParticles_001`` (one
    generated particle per track, physical primaries); in data with truth, o2ml's
    ``SyntheticTruth``. ``tracks`` is a frame of :func:`o2ml.toymc.pid.generate_pid` with its
    PDG codes (``fPdgCode`` in MC, the truth ``fTruthPdgCode`` in data), which set the TRD
    response; ``with_truth`` keeps the data's truth in the PIDML table, as ``fTruthPdgCode``."""
    pdg = (tracks["fPdgCode"] if "fPdgCode" in tracks else tracks["fTruthPdgCode"]).to_numpy()
    species = pid_label(pdg)
    masses = np.array([mass(s) for s in PID_SPECIES])[species]
    rng = np.random.default_rng([int(seed), ("mc", "data").index(domain), _TRD_STREAM])
    p = tracks["fP"].to_numpy(np.float64)
    pt = tracks["fPt"].to_numpy(np.float64)
    eta = tracks["fEta"].to_numpy(np.float64)
    phi = tracks["fPhi"].to_numpy(np.float64)
    sign = tracks["fSign"].to_numpy(np.float64)
    n = p.size
    trd_pattern, trd_signal = _trd(rng, p, pt, masses, domain == "data")
    g = _geometry(rng, pt, phi)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)

    its = tracks["fITSClusterSizes"].to_numpy(np.uint32)
    has_its = its > 0
    tpc_signal = tracks["fTPCSignal"].to_numpy(np.float64)
    has_tpc = tpc_signal > 0
    ncls = np.where(has_tpc, tracks["fTpcNClsFound"].to_numpy(np.int64), 0)
    findable = np.where(has_tpc, np.maximum(TPC_FINDABLE, ncls), 0)
    beta = tracks["fBeta"].to_numpy(np.float64)
    has_tof = beta > 0
    tof_signal = tracks["fTOFSignal"].to_numpy(np.float64)
    length = det.tof_track_length(pt, eta)

    iu = pd.DataFrame(
        {
            "fIndexCollisions": g["collision"],
            "fTrackType": np.full(n, TRACK_IU),
            "fX": np.where(has_its, ITS_INNER_RADIUS, 0.0),
            "fAlpha": g["alpha"],
            "fY": g["dca_xy"],
            "fZ": g["vz"] + g["dca_z"],
            "fSnp": g["snp"],
            "fTgl": np.sinh(eta),
            "fSigned1Pt": sign / pt,
        }
    )
    extra = pd.DataFrame(
        {
            "fTPCInnerParam": np.where(has_tpc, p, 0.0),
            "fFlags": np.zeros(n, np.uint32),
            "fITSClusterSizes": its,
            "fTPCNClsFindable": findable,
            "fTPCNClsFindableMinusFound": findable - ncls,
            "fTPCNClsFindableMinusPID": np.where(has_tpc, findable - ncls + g["pid_loss"], 0),
            "fTPCNClsFindableMinusCrossedRows": np.where(
                has_tpc, np.maximum(findable - ncls - g["crossed_extra"], -20), 0
            ),
            "fTPCNClsShared": np.where(has_tpc, g["shared"], 0),
            "fTRDPattern": trd_pattern,
            "fITSChi2NCl": np.where(has_its, g["its_chi2"], AOD_MISSING),
            "fTPCChi2NCl": np.where(has_tpc, g["tpc_chi2"], AOD_MISSING),
            "fTRDChi2": np.where(trd_pattern > 0, 1.0, AOD_MISSING),
            "fTOFChi2": np.where(has_tof, g["tof_chi2"], AOD_MISSING),
            "fTPCSignal": np.where(has_tpc, tpc_signal, AOD_MISSING),
            "fTRDSignal": np.where(trd_pattern > 0, trd_signal, AOD_MISSING),
            "fLength": np.where(has_tof, length, AOD_MISSING),
            "fTOFExpMom": np.where(has_tof, p, AOD_MISSING),
            "fTrackEtaEMCAL": np.full(n, AOD_MISSING),
            "fTrackPhiEMCAL": np.full(n, AOD_MISSING),
            # TOF time in ns relative to the collision (the flight time here), AODProducer's -999
            # without TOF would be the ITS-TPC time instead: the collision's, 0
            "fTrackTime": np.where(has_tof, tof_signal / 1000.0, 0.0),
            "fTrackTimeRes": np.where(has_tof, 0.08, 0.5),
        }
    )
    ml = {
        "fTPCSignal": tpc_signal,
        "fTRDSignal": trd_signal,
        "fTRDPattern": trd_pattern,
        "fTOFSignal": np.where(has_tof, tof_signal, np.nan),
        "fBeta": np.where(has_tof, beta, np.nan),
        "fP": p,
        "fPt": pt,
        "fPx": px,
        "fPy": py,
        "fPz": pz,
        "fSign": sign,
        # tracks propagated to their point of closest approach (aod::Tracks), sector frame
        "fX": -g["dca_xy"] * g["snp"],
        "fY": g["dca_xy"] * np.sqrt(1.0 - g["snp"] ** 2),
        "fZ": g["vz"] + g["dca_z"],
        "fAlpha": g["alpha"],
        "fTrackType": np.full(n, TRACK),
        "fTPCNClsShared": np.where(has_tpc, g["shared"], 0),
        "fDcaXY": g["dca_xy"],
        "fDcaZ": g["dca_z"],
    }
    out = {TRACKS_IU.name: iu, TRACKS_EXTRA.name: extra, V0_BITS.name: _v0_bits(tracks)}
    if domain == "data" and with_truth:
        out[SYNTHETIC_TRUTH.name] = pd.DataFrame({"fTruthPdgCode": pdg})
    # pidMlProducer reads global tracks only (requireGlobalTrackInFilter, TrackSelectionDefaults:
    # |eta| < 0.8, ITS and TPC with >= 70 crossed rows; the other cuts pass on these tracks)
    crossed = findable - extra["fTPCNClsFindableMinusCrossedRows"].to_numpy()
    glob = np.flatnonzero((np.abs(eta) < GLOBAL_ETA_MAX) & has_its & has_tpc & (crossed >= 70))
    ml = {c: np.asarray(v)[glob] for c, v in ml.items()}
    ml["_track"] = glob  # the track row of each PIDML row (split_folders drops it)
    if domain == "mc":
        energy = np.sqrt(p * p + masses * masses)
        out[PID_TRACKS_MC_ML.name] = pd.DataFrame(
            {**ml, "fPdgCode": pdg[glob], "fIsPhysicalPrimary": np.ones(glob.size, np.uint8)}
        )
        out[MC_TRACK_LABELS.name] = pd.DataFrame(
            {"fIndexMcParticles": np.arange(n), "fMcMask": np.zeros(n, np.uint16)}
        )
        out[MC_PARTICLES.name] = pd.DataFrame(
            {
                "fIndexMcCollisions": g["collision"],
                "fPdgCode": pdg,
                "fStatusCode": np.ones(n, np.int32),
                "fFlags": np.full(n, PHYSICAL_PRIMARY, np.uint8),
                "fIndexArray_Mothers": [np.empty(0, np.int32)] * n,
                "fIndexSlice_Daughters": [np.array([-1, -1], np.int32)] * n,
                "fWeight": np.ones(n),
                "fPx": px,
                "fPy": py,
                "fPz": pz,
                "fE": energy,
                "fVx": np.zeros(n),
                "fVy": np.zeros(n),
                "fVz": g["vz"],
                "fVt": np.zeros(n),
            }
        )
    else:
        data = pd.DataFrame(ml)
        if with_truth:
            data["fTruthPdgCode"] = pdg[glob]
        out[PID_TRACKS_DATA_ML.name] = data
    return out


def split_folders(tables: dict[str, pd.DataFrame], folders: int) -> list[dict[str, pd.DataFrame]]:
    """The tables of :func:`pid_tables` in ``folders`` DF_ folders of whole collisions, as an
    AO2D holds them; index columns renumbered to count rows of their own folder."""
    iu = tables[TRACKS_IU.name]
    n = len(iu)
    collision = iu["fIndexCollisions"].to_numpy()
    cuts = np.linspace(0, n, folders + 1).astype(int)
    # move each cut to a collision boundary, so no collision spans two folders
    cuts = (
        np.searchsorted(collision, collision[np.minimum(cuts, n - 1)], side="left") if n else cuts
    )
    cuts[0], cuts[-1] = 0, n
    out = []
    for lo, hi in itertools.pairwise(cuts):
        folder = {}
        for name, df in tables.items():
            if "_track" in df:  # PIDML: the rows of this folder's tracks
                track = df["_track"].to_numpy()
                rows = slice(*np.searchsorted(track, [lo, hi]))
                folder[name] = df.iloc[rows].drop(columns="_track").reset_index(drop=True)
                continue
            part = df.iloc[lo:hi].reset_index(drop=True)  # one row per track in these tables
            for index in ("fIndexCollisions", "fIndexMcCollisions"):
                if index in part:
                    part[index] = part[index] - collision[lo] if hi > lo else part[index]
            if "fIndexMcParticles" in part:
                part["fIndexMcParticles"] = part["fIndexMcParticles"] - lo
            folder[name] = part
        out.append(folder)
    return out


__all__ = ["pid_tables", "split_folders"]
