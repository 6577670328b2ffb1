"""Inputs of the DANN PID classifier: raw track features, labels, domains, and the input transform.

The network takes the *raw* detector values, in the order of :data:`FEATURES`, exactly as an
O2Physics task can fill them: |p|, eta, TPC dE/dx, TOF beta (-999 without TOF, the O2Physics
convention) and the 7 ITS2 layer cluster sizes (0 for a layer without a hit). Everything else
happens inside the model (:class:`InputTransform`), so the ONNX file needs no pre-processing:

* log p, eta, log dE/dx, beta, the ITS2 truncated-mean cluster size x cos(lambda) and the number
  of ITS hits are standardised with means and standard deviations stored as buffers (state_dict)
  and in the JSON sidecar;
* a missing detector value (no TOF; no ITS hit) becomes 0 after standardisation (the mean) and a
  0/1 indicator tells the network it is missing: tracks are never dropped (missing TOF is not at
  random: it depends on pT).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...errors import (
    BadArgumentError,
    EmptySelectionError,
    InputError,
    NonFiniteError,
)
from ...physics import its
from ...physics.constants import PDG, PID_SPECIES
from ..pid.tagging import require_columns

#: class labels of the classifier, index = label (e, pi, K, p as o2ml.physics.constants.pid_label)
SPECIES = PID_SPECIES
#: per-layer cluster-size features, layer 0 innermost (names as o2ml.models.pid)
LAYER_FEATURES = [f"fItsClusterSizeL{i}" for i in range(its.N_LAYERS)]
#: model inputs in order (the ONNX input columns): raw values, missing ones as in O2Physics
FEATURES = ["fP", "fEta", "fTPCSignal", "fBeta", *LAYER_FEATURES]
#: table columns the features are built from
TRACK_COLUMNS = ["fP", "fEta", "fTPCSignal", "fBeta", "fITSClusterSizes"]
#: MC truth of simulated tracks (the labels the classifier is trained with)
MC_LABEL_COLUMN = "fPdgCode"
#: hidden truth of the synthetic data (real data have none)
TRUTH_COLUMN = "fTruthPdgCode"
#: names of the standardised inputs inside the model (then one 0/1 indicator per MAYBE_MISSING)
TRANSFORMED = ["log_p", "eta", "log_dEdx", "beta", "its_cs_cosl", "its_hits"]
#: inputs that may be missing, each with a 0/1 presence indicator: TOF beta and the ITS estimator
MAYBE_MISSING = ["beta", "its_cs_cosl"]
#: value of a missing TOF beta (O2Physics and o2ml.toymc convention)
MISSING_BETA = -999.0


# ------------------------------------------------------------------------------- features


def build_inputs(df: pd.DataFrame, source: str = "tracks") -> np.ndarray:
    """The raw model inputs :data:`FEATURES`, float32 [n, 11], from a PidTracks-like table.

    A NaN beta counts as a missing TOF signal (set to -999); p, eta and dE/dx must be finite.
    """
    require_columns(df, TRACK_COLUMNS, f"{source}: the DANN inputs")
    if len(df) == 0:
        raise EmptySelectionError(f"{source}: no tracks to build the DANN inputs from.")
    out = np.empty((len(df), len(FEATURES)), dtype=np.float32)
    out[:, 0] = np.abs(df["fP"].to_numpy())
    out[:, 1] = df["fEta"].to_numpy()
    out[:, 2] = df["fTPCSignal"].to_numpy()
    bad = [
        f"{c!r}: {int(np.count_nonzero(~np.isfinite(out[:, i])))} of {len(df)}"
        for i, c in enumerate(["fP", "fEta", "fTPCSignal"])
        if not np.isfinite(out[:, i]).all()
    ]
    if bad:
        raise NonFiniteError(f"{source}: NaN or inf in DANN input columns: {'; '.join(bad)}.")
    beta = df["fBeta"].to_numpy().astype(np.float32)
    out[:, 3] = np.where(np.isfinite(beta), beta, MISSING_BETA)
    out[:, 4:] = its.unpack_cluster_sizes(df["fITSClusterSizes"].to_numpy())
    return out


def check_feature_matrix(X: np.ndarray, features: Sequence[str] = FEATURES) -> np.ndarray:
    """``X`` as a float32 [n, len(features)] array; a DataFrame is checked for column order."""
    if isinstance(X, pd.DataFrame):
        if list(X.columns) != list(features):
            raise InputError(
                f"The model expects the features {list(features)} in this order; "
                f"got {list(X.columns)}."
            )
        X = X.to_numpy()
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != len(features):
        raise InputError(
            f"Expected an array [n, {len(features)}] of the features {list(features)}; "
            f"got shape {X.shape}."
        )
    bad = [f for i, f in enumerate(features) if f != "fBeta" and not np.isfinite(X[:, i]).all()]
    if bad:  # a NaN beta is a missing TOF signal; every other input must be finite
        raise NonFiniteError(f"NaN or inf in the model inputs {bad}.")
    return X


def labels_from(df: pd.DataFrame, column: str, source: str = "tracks") -> np.ndarray:
    """Labels 0..3 (:data:`SPECIES`) from a PDG-code column; -1 for any other particle."""
    require_columns(df, [column], f"{source}: the species labels")
    codes = np.abs(df[column].to_numpy())
    out = np.full(codes.shape, -1, dtype=np.int64)
    for k, s in enumerate(SPECIES):
        out[codes == PDG[s]] = k
    return out


def check_domain(df: pd.DataFrame, domain: str, source: str = "tracks") -> None:
    """Raise :class:`InputError` when a table is not of the expected domain.

    ``mc`` tracks must carry the MC truth ``fPdgCode``; ``data`` tracks must not (an MC file given
    as data would make the adaptation meaningless). The synthetic data may carry ``fTruthPdgCode``.
    """
    if domain not in ("mc", "data"):
        raise InputError(f"domain must be 'mc' or 'data', not {domain!r}.")
    if domain == "mc" and MC_LABEL_COLUMN not in df.columns:
        raise InputError(
            f"{source}: expected simulated (MC) tracks with the truth column {MC_LABEL_COLUMN!r}; "
            f"found none (columns: {list(df.columns)}). Is this the data file?"
        )
    if domain == "data" and MC_LABEL_COLUMN in df.columns:
        raise InputError(
            f"{source}: expected data tracks, but found the MC truth column {MC_LABEL_COLUMN!r}: "
            "this looks like the simulation file (swap data_path and mc_path?)."
        )


# ------------------------------------------------------------------------------- transform
def engineered(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, valid) [n, 6] of :data:`TRANSFORMED` from raw inputs [n, 11] (torch, exportable).

    The ITS2 information enters as the O2Physics estimator, the truncated mean of the hit layers
    (largest dropped) x cos(lambda), plus the number of hit layers: per-layer sizes carry the
    same physics but seven separate handles on the data/MC gap, which the adversary then has to
    close one by one (in our tests the adaptation gained less with them).
    """
    p = x[:, 0:1].abs().clamp_min(1e-3)
    eta = x[:, 1:2]
    dedx = x[:, 2:3].clamp_min(1.0)
    beta = x[:, 3:4]
    sizes = x[:, 4:]
    hits = (sizes > 0.0).to(x.dtype).sum(dim=1, keepdim=True)
    total = sizes.sum(dim=1, keepdim=True)
    largest = sizes.max(dim=1, keepdim=True).values
    # as o2ml.physics.its.truncated_mean: a single hit keeps its size, no hit gives 0
    mean = torch.where(hits > 1.5, (total - largest) / (hits - 1.0).clamp_min(1.0), total)
    # cos(lambda) = 1/cosh(eta), written with exp: the ONNX exporter has no cosh
    cs = mean * 2.0 / (torch.exp(eta) + torch.exp(-eta))
    values = torch.cat([torch.log(p), eta, torch.log(dedx), beta, cs, hits], dim=1)
    always = torch.ones_like(hits, dtype=torch.bool)
    valid = torch.cat([always, always, always, beta > 0.0, hits > 0.0, always], dim=1)
    return values, valid


def fit_standardisation(*arrays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each transformed input over its present (valid) values."""
    with torch.no_grad():
        values, valid = engineered(torch.from_numpy(np.concatenate(arrays)))
    v = values.double().numpy()
    m = valid.numpy()
    n = m.sum(axis=0)
    if (n == 0).any():
        absent = [TRANSFORMED[i] for i in np.flatnonzero(n == 0)]
        raise EmptySelectionError(f"No track has a value for the DANN inputs {absent}.")
    mean = np.where(m, v, 0.0).sum(axis=0) / n
    var = np.where(m, (v - mean) ** 2, 0.0).sum(axis=0) / n
    std = np.sqrt(var)
    return mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)


_MISSING_INDEX = [TRANSFORMED.index(n) for n in MAYBE_MISSING]


class InputTransform(nn.Module):
    """Raw features -> standardised values (missing ones at 0) + missing-value indicators."""

    def __init__(self, mean: np.ndarray | None = None, std: np.ndarray | None = None) -> None:
        super().__init__()
        n = len(TRANSFORMED)
        mean = np.zeros(n, np.float32) if mean is None else np.asarray(mean, np.float32)
        std = np.ones(n, np.float32) if std is None else np.asarray(std, np.float32)
        self.register_buffer("mean", torch.from_numpy(mean.copy()))
        self.register_buffer("std", torch.from_numpy(std.copy()))

    #: width of the output: standardised values + one indicator per possibly missing input
    n_out = len(TRANSFORMED) + len(MAYBE_MISSING)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values, valid = engineered(x)
        z = (values - self.mean) / self.std
        z = torch.where(valid, z, torch.zeros_like(z))
        return torch.cat([z, valid[:, _MISSING_INDEX].to(z.dtype)], dim=1)


# ------------------------------------------------------------------------------- samples
@dataclass(frozen=True)
class Tracks:
    """Model inputs of one domain: raw features, labels where known, and where they came from."""

    domain: str
    X: np.ndarray  # raw inputs [n, len(FEATURES)], float32
    y: np.ndarray | None  # labels 0..3 (-1: other particle); None without truth (real data)
    source: str = "tracks"
    #: truth-free labels from V0 daughters (K0S -> pi, Lambda -> p pi, gamma -> e; -1 untagged),
    #: None when the table has no fV0Tag: what real data offer to judge a model
    tags: np.ndarray | None = None
    #: the table the inputs came from (nσ, V0 tags, ... for the classical PID baseline)
    frame: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.X)

    @property
    def p(self) -> np.ndarray:
        """Momentum (GeV/c) of each track."""
        return self.X[:, FEATURES.index("fP")]

    @property
    def has_labels(self) -> bool:
        return self.y is not None

    def take(self, index: np.ndarray) -> Tracks:
        y = None if self.y is None else self.y[index]
        tags = None if self.tags is None else self.tags[index]
        frame = None if self.frame is None else self.frame.iloc[index]
        return Tracks(self.domain, self.X[index], y, self.source, tags, frame)

    def split(self, test_fraction: float = 0.5, seed: int = 42) -> tuple[Tracks, Tracks]:
        """Deterministic random (training, test) split, original order kept in each."""
        if not 0.0 < test_fraction < 1.0:
            raise BadArgumentError(f"test_fraction must be between 0 and 1, not {test_fraction}.")
        test = np.random.default_rng(seed).random(len(self)) < test_fraction
        return self.take(np.flatnonzero(~test)), self.take(np.flatnonzero(test))

    def subsample(self, n: int | None, seed: int = 42) -> Tracks:
        """At most ``n`` tracks, a seeded random choice in the original order (None: all)."""
        if n is None or n >= len(self):
            return self
        idx = np.sort(np.random.default_rng(seed).choice(len(self), int(n), replace=False))
        return self.take(idx)


def read_tracks(
    path: str | os.PathLike | Sequence[str | os.PathLike],
    domain: str,
    label_column: str | None = None,
) -> Tracks:
    """Read PidTracks of one domain (``"mc"`` or ``"data"``) into model inputs and labels.

    ``mc`` files must carry ``fPdgCode`` (the training labels). ``data`` files must not; their
    labels come from ``label_column`` (default: the synthetic truth ``fTruthPdgCode`` when present,
    else none, as for real data).
    """
    from ...io import read_table

    return tracks_from_frame(read_table(path, "PidTracks"), domain, label_column, str(path))


def tracks_from_frame(
    df: pd.DataFrame, domain: str, label_column: str | None = None, source: str = "tracks"
) -> Tracks:
    """:func:`read_tracks` of a table already in memory (e.g. a generated sample)."""
    from ..pid.tagging import tag_v0

    check_domain(df, domain, source)
    X = build_inputs(df, source)
    tags = tag_v0(df).astype(np.int64) if "fV0Tag" in df.columns else None
    df = df.reset_index(drop=True)
    if label_column is None:
        label_column = MC_LABEL_COLUMN if domain == "mc" else TRUTH_COLUMN
        if domain == "data" and label_column not in df.columns:
            return Tracks(domain, X, None, source, tags, df)
    return Tracks(domain, X, labels_from(df, label_column, source), source, tags, df)


__all__ = [
    "FEATURES",
    "LAYER_FEATURES",
    "MAYBE_MISSING",
    "MC_LABEL_COLUMN",
    "MISSING_BETA",
    "SPECIES",
    "TRACK_COLUMNS",
    "TRANSFORMED",
    "TRUTH_COLUMN",
    "InputError",
    "InputTransform",
    "Tracks",
    "build_inputs",
    "check_domain",
    "check_feature_matrix",
    "engineered",
    "fit_standardisation",
    "labels_from",
    "read_tracks",
    "tracks_from_frame",
]
