"""The classical PID baseline: TPC and TOF nσ, calibrated per domain, combined as a χ².

ALICE identifies tracks with the nσ of each detector (O2Physics ``pidTPC``, ``pidTOF``); where the
detector response of data differs from the simulation, the nσ are recalibrated in each domain:
the mean and width of nσ(s) of clean species-s tracks, per momentum bin. In MC the clean tracks
are the true ones; in data they are the tagged ones (V0 daughters, TOF or TPC tags, no truth).
A track is then identified as the species with the smallest

    χ²(s) = Σ_det ((nσ_det(s) - μ_det,s(p)) / σ_det,s(p))² - 2 ln prior(s)

over the detectors with a signal (TOF is missing for most tracks below ~0.5 GeV/c). This is the
obvious baseline for any ML PID trained in one domain and used in another: it needs neither a
network nor a label from the other domain.

The O2Physics PIDML tables (``PidTracksMcMl``, ``PidTracksDataMl``) store no nσ:
:func:`pidml_nsigma` computes them from ``fTPCSignal`` and ``fBeta`` as pidTPC and pidTOF would,
and :func:`pidml_calibration_labels` tags their tracks without V0s (PIDML has no V0 information).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import EmptySelectionError
from ...physics import detectors
from ...physics.constants import mass
from ...physics.pid_tracks import NOMINAL_TOF_RESOLUTION_PS, NOMINAL_TPC_RESOLUTION, eta_phi
from ...physics.stats import robust_width
from .tagging import (
    NSIGMA_SUFFIX,
    SPECIES,
    TagCuts,
    combine_tags,
    pidml_quality_mask,
    require_columns,
    tag_species,
    tag_tof,
    tag_v0,
)

#: the detectors combined, with their nσ column prefix
DETECTORS = {"TPC": "fTPCNSigma", "TOF": "fTOFNSigma"}
#: momentum bins of the calibration (GeV/c)
DEFAULT_EDGES = np.geomspace(0.1, 3.0, 16)


@dataclass
class NsigmaPid:
    """Per-domain nσ calibration (mean, width per detector, species and momentum bin) + priors."""

    edges: np.ndarray
    mean: dict[tuple[str, str], np.ndarray]
    width: dict[tuple[str, str], np.ndarray]
    log_prior: np.ndarray  # ln prior per species, in SPECIES order

    @classmethod
    def calibrate(
        cls,
        df: pd.DataFrame,
        labels: np.ndarray | Mapping[str, np.ndarray],
        *,
        priors: Sequence[float] | None = None,
        edges: Sequence[float] = DEFAULT_EDGES,
        min_tracks: int = 30,
        what: str = "nσ calibration",
    ) -> NsigmaPid:
        """Calibrate on tracks of known (or tagged) species ``labels`` (0..3, -1 unknown).

        ``labels`` may differ per detector (``{"TPC": ..., "TOF": ...}``): a detector is best
        calibrated with tracks tagged by the others, since a tag from its own nσ cut truncates
        the width it measures (:func:`data_calibration_labels`). ``priors``: species abundances
        (default: those of the TPC labels). A bin with fewer than
        ``min_tracks`` tracks takes the nearest calibrated bin; a species with none anywhere
        keeps the nominal (0, 1).
        """
        cols = [f"{p}{NSIGMA_SUFFIX[s]}" for p in DETECTORS.values() for s in SPECIES]
        require_columns(df, ["fP", *cols], what)
        per_det = (
            {d: np.asarray(labels[d]) for d in DETECTORS}
            if isinstance(labels, Mapping)
            else {d: np.asarray(labels) for d in DETECTORS}
        )
        for d, lab in per_det.items():
            if len(lab) != len(df) or not np.any(lab >= 0):
                raise EmptySelectionError(
                    f"{what}: no track with a species label for {d} "
                    f"({len(lab)} labels for {len(df)} tracks)."
                )
        edges = np.asarray(edges, float)
        p = np.abs(df["fP"].to_numpy())
        b = np.clip(np.digitize(p, edges) - 1, 0, len(edges) - 2)
        mean, width = {}, {}
        for det, prefix in DETECTORS.items():
            for k, s in enumerate(SPECIES):
                x = df[f"{prefix}{NSIGMA_SUFFIX[s]}"].to_numpy()
                ok = (per_det[det] == k) & (x > -900) & np.isfinite(x)
                mu, sd = np.full(len(edges) - 1, np.nan), np.full(len(edges) - 1, np.nan)
                for i in range(len(edges) - 1):
                    sel = ok & (b == i)
                    if sel.sum() >= min_tracks:
                        mu[i], sd[i] = robust_width(x[sel])
                good = np.flatnonzero(np.isfinite(mu) & (sd > 0))
                if len(good) == 0:
                    mu[:], sd[:] = 0.0, 1.0
                else:
                    idx = np.arange(len(mu))
                    nearest = good[np.abs(idx[:, None] - good[None, :]).argmin(axis=1)]
                    mu, sd = mu[nearest], sd[nearest]
                mean[det, s], width[det, s] = mu, sd
        if priors is None:
            tpc = per_det["TPC"]
            priors = np.bincount(tpc[tpc >= 0], minlength=len(SPECIES)).astype(float)
        pr = np.asarray(priors, float)
        log_prior = np.log(np.clip(pr / pr.sum(), 1e-6, None))
        return cls(edges, mean, width, log_prior)

    def z(self, df: pd.DataFrame, detector: str, species: str) -> np.ndarray:
        """Calibrated nσ of ``species`` in ``detector`` (NaN without a signal)."""
        p = np.abs(df["fP"].to_numpy())
        b = np.clip(np.digitize(p, self.edges) - 1, 0, len(self.edges) - 2)
        x = df[f"{DETECTORS[detector]}{NSIGMA_SUFFIX[species]}"].to_numpy().astype(float)
        z = (x - self.mean[detector, species][b]) / self.width[detector, species][b]
        return np.where((x > -900) & np.isfinite(x), z, np.nan)

    def score(self, df: pd.DataFrame) -> np.ndarray:
        """χ²(s) - 2 ln prior(s), [n, 4]: smaller is more likely."""
        p = np.abs(df["fP"].to_numpy())
        b = np.clip(np.digitize(p, self.edges) - 1, 0, len(self.edges) - 2)
        out = np.zeros((len(df), len(SPECIES)))
        for det, prefix in DETECTORS.items():
            for k, s in enumerate(SPECIES):
                x = df[f"{prefix}{NSIGMA_SUFFIX[s]}"].to_numpy().astype(float)
                has = (x > -900) & np.isfinite(x)
                z = (x - self.mean[det, s][b]) / self.width[det, s][b]
                out[:, k] += np.where(has, z**2, 0.0)
        return out - 2.0 * self.log_prior

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """The species label (0..3) of the smallest score."""
        return np.argmin(self.score(df), axis=1)


def data_calibration_labels(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Truth-free calibration labels of data tracks, per detector: the TPC is calibrated with V0
    daughters and TOF-tagged tracks, the TOF with V0 daughters and TPC-tagged ones (never with a
    tag cut on the detector's own nσ)."""
    v0 = tag_v0(df)
    return {"TPC": combine_tags(v0, tag_tof(df)), "TOF": combine_tags(v0, tag_species(df))}


#: PIDML columns :func:`pidml_nsigma` reads
PIDML_COLUMNS = ["fP", "fPx", "fPy", "fPz", "fTPCSignal", "fBeta"]


def pidml_nsigma(
    df: pd.DataFrame,
    *,
    tpc_resolution: float = NOMINAL_TPC_RESOLUTION,
    tof_resolution_ps: float = NOMINAL_TOF_RESOLUTION_PS,
) -> pd.DataFrame:
    """A copy of PIDML rows with the columns PIDML lacks and the nσ baseline needs, derived as
    pidTPC and pidTOF compute them (:mod:`o2ml.physics.detectors`) with a given (nominal) response:

    * ``fEta`` = asinh(fPz / pT), pT = sqrt(fPx² + fPy²);
    * ``fTPCNSigma{El,Pi,Ka,Pr}`` from ``fTPCSignal``: ALEPH Bethe-Bloch at the vertex momentum
      ``fP`` (PIDML stores no TPC inner momentum), relative resolution ``tpc_resolution`` for
      every track (PIDML stores no TPC cluster count, on which the resolution depends);
    * ``fTOFNSigma{El,Pi,Ka,Pr}`` = (L/c)(1/β − 1/β_s) / ``tof_resolution_ps`` from ``fBeta``
      (pidTOF's (t − t_exp(s))/σ_t with t = L/(cβ)), L the helix length from the vertex to the
      TOF radius at (pT, η) (:func:`~o2ml.physics.detectors.tof_track_length`; PIDML stores no
      track length); NaN without TOF (``fBeta`` NaN or <= 0).
    """
    require_columns(df, PIDML_COLUMNS, "The nσ of PIDML tracks")
    out = df.copy()
    p = np.abs(df["fP"].to_numpy(np.float64))
    pt = np.hypot(df["fPx"].to_numpy(np.float64), df["fPy"].to_numpy(np.float64))
    eta, _ = eta_phi(df)
    out["fEta"] = eta.astype(np.float32)
    signal = df["fTPCSignal"].to_numpy(np.float64)
    beta = df["fBeta"].to_numpy(np.float64)
    has_tof = beta > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        flight = detectors.tof_track_length(pt, eta) / detectors.SPEED_OF_LIGHT_CM_PS  # L / c, ps
        inv_beta = np.where(has_tof, 1.0 / beta, np.nan)
    for s in SPECIES:
        expected = detectors.tpc_expected_signal(p, mass(s))
        nsigma = (signal - expected) / (expected * tpc_resolution)
        out[f"fTPCNSigma{NSIGMA_SUFFIX[s]}"] = nsigma.astype(np.float32)
    for s in SPECIES:
        tof = flight * (inv_beta - 1.0 / detectors.expected_beta(p, mass(s))) / tof_resolution_ps
        out[f"fTOFNSigma{NSIGMA_SUFFIX[s]}"] = np.where(has_tof, tof, np.nan).astype(np.float32)
    return out


#: momentum limit of the PIDML tags (GeV/c): TOF separates π, K and p at 3σ up to ~1.5 GeV/c
PIDML_TAG_CUTS = TagCuts(p_max=1.5)


def pidml_calibration_labels(
    df: pd.DataFrame, cuts: TagCuts = PIDML_TAG_CUTS
) -> dict[str, np.ndarray]:
    """Truth-free calibration labels of PIDML tracks with nσ (:func:`pidml_nsigma`), per
    detector: the TPC is calibrated with TOF-tagged tracks, the TOF with TPC-tagged ones (never
    with a tag cut on the detector's own nσ). PIDML has no V0 information, so there are no V0
    daughters; electrons are TOF-tagged only below ~0.6 GeV/c, where TOF still separates them
    from pions."""
    good = pidml_quality_mask(df, cuts)
    return {
        "TPC": tag_tof(df, cuts, quality=good),
        "TOF": tag_species(df, cuts, quality=good),
    }


__all__ = [
    "DEFAULT_EDGES",
    "DETECTORS",
    "PIDML_COLUMNS",
    "PIDML_TAG_CUTS",
    "NsigmaPid",
    "data_calibration_labels",
    "pidml_calibration_labels",
    "pidml_nsigma",
]
