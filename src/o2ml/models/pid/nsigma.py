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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import EmptySelectionError
from .tagging import (
    NSIGMA_SUFFIX,
    SPECIES,
    combine_tags,
    require_columns,
    tag_species,
    tag_tof,
    tag_v0,
)

#: the detectors combined, with their nσ column prefix
DETECTORS = {"TPC": "fTPCNSigma", "TOF": "fTOFNSigma"}
#: momentum bins of the calibration (GeV/c)
DEFAULT_EDGES = np.geomspace(0.1, 3.0, 16)


def _robust(x: np.ndarray) -> tuple[float, float]:
    med = float(np.median(x))
    return med, float(1.4826 * np.median(np.abs(x - med)))


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
                        mu[i], sd[i] = _robust(x[sel])
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


__all__ = ["DEFAULT_EDGES", "DETECTORS", "NsigmaPid", "data_calibration_labels"]
