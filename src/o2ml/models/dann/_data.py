"""Inputs of the DANN PID classifier: PIDML track values, labels, domains, and the input transform.

The network reads the O2Physics PIDML tables (``Tools/PIDML/pidMl.h``, filled by
``pidMlProducer.cxx``): ``PidTracksMcMl`` (MC, with ``fPdgCode``) to train, ``PidTracksDataMl``
for the data domain. Its inputs, in the order of :data:`FEATURES` (the ONNX input columns), are
the values of a PIDML row as the producer writes them:

* ``fP`` (momentum at the vertex), ``fTPCSignal`` (TPC dE/dx), ``fBeta`` (TOF β),
  ``fTRDSignal`` and ``fTRDPattern`` (TRD signal and the layers with a tracklet): read;
* ``fEta``: derived, asinh(fPz / sqrt(fPx² + fPy²)); PIDML stores no η.

A missing detector is encoded as PIDML encodes it (:data:`MISSING_VALUES`): no TOF, ``fBeta``
NaN (any value <= 0, e.g. the -999 of the AO2D tables, counts as missing too); no TRD,
``fTRDPattern`` 0 and ``fTRDSignal`` NaN (the signal is ignored whenever the pattern is 0 or the
signal is NaN or <= 0). Everything else happens inside the model (``InputTransform``, in the
private ``_net`` module with the other torch code), so
the ONNX file needs no pre-processing:

* log p, η, log dE/dx, β, log TRD signal and the number of TRD tracklets (bits set in
  ``fTRDPattern``) are standardised with means and standard deviations stored as buffers
  (state_dict) and in the JSON sidecar;
* a missing value (no TOF; no TRD) becomes 0 after standardisation (the mean) and a 0/1
  indicator tells the network it is missing: tracks are never dropped (missing TOF is not at
  random: it depends on pT; the TRD is reached above pT ~ 0.3 GeV/c).

PIDML has no ITS cluster sizes (a PIDML row has no index back to ``TracksExtra``) and no nσ:
the classical baseline computes them (:func:`o2ml.models.pid.nsigma.pidml_nsigma`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import (
    BadArgumentError,
    EmptySelectionError,
    InputError,
    NonFiniteError,
)
from ...physics.constants import PDG, PID_SPECIES
from ...physics.pid_tracks import eta_phi
from ...schema import PID_TRACKS_DATA_ML, PID_TRACKS_MC_ML
from ..pid.tagging import require_columns

#: class labels of the classifier, index = label (e, pi, K, p as o2ml.physics.constants.pid_label)
SPECIES = PID_SPECIES
#: model inputs in order (the ONNX input columns): PIDML values, missing ones as PIDML writes them
FEATURES = ["fP", "fEta", "fTPCSignal", "fBeta", "fTRDSignal", "fTRDPattern"]
#: where each input comes from: read from the PIDML table, or derived from its columns
FEATURE_SOURCES = {
    "fP": "read: PIDML fP (GeV/c, at the vertex)",
    "fEta": "derived: asinh(fPz / sqrt(fPx^2 + fPy^2)) (PIDML stores no eta)",
    "fTPCSignal": "read: PIDML fTPCSignal (TPC dE/dx)",
    "fBeta": "read: PIDML fBeta (TOF beta)",
    "fTRDSignal": "read: PIDML fTRDSignal",
    "fTRDPattern": "read: PIDML fTRDPattern (uint8, bits 0-5: TRD layers with a tracklet)",
}
#: the missing-value encoding of the inputs (the ONNX contract; also in the model's metadata)
MISSING_VALUES = {
    "fBeta": "no TOF: NaN (pidMlProducer); any value <= 0 (e.g. -999) also means no TOF",
    "fTRDSignal": "no TRD: NaN (pidMlProducer); ignored when fTRDPattern is 0 or it is <= 0",
    "fTRDPattern": "no TRD: 0 (pidMlProducer)",
}
#: inputs that may be NaN (a missing detector); every other input must be finite
NAN_ALLOWED = ["fBeta", "fTRDSignal"]
#: PIDML columns the features are built from
TRACK_COLUMNS = ["fP", "fPx", "fPy", "fPz", "fTPCSignal", "fBeta", "fTRDSignal", "fTRDPattern"]
#: the PIDML table of each domain (O2Physics Tools/PIDML/pidMl.h)
TABLES = {"mc": PID_TRACKS_MC_ML.name, "data": PID_TRACKS_DATA_ML.name}
#: MC truth of simulated tracks (the labels the classifier is trained with)
MC_LABEL_COLUMN = "fPdgCode"
#: hidden truth of the synthetic data (real data have none)
TRUTH_COLUMN = "fTruthPdgCode"
#: names of the standardised inputs inside the model (then one 0/1 indicator per MAYBE_MISSING)
TRANSFORMED = ["log_p", "eta", "log_dEdx", "beta", "log_trd_signal", "trd_tracklets"]
#: inputs that may be missing, each with a 0/1 presence indicator: TOF beta and the TRD signal
MAYBE_MISSING = ["beta", "log_trd_signal"]
#: TRD layers (bits of fTRDPattern)
TRD_LAYERS = 6


# ------------------------------------------------------------------------------- features


def build_inputs(df: pd.DataFrame, source: str = "tracks") -> np.ndarray:
    """The model inputs :data:`FEATURES`, float32 [n, 6], from PIDML rows (``PidTracksMcMl`` or
    ``PidTracksDataMl``): the values as read, η derived from fPx, fPy, fPz.

    Missing TOF and TRD stay as PIDML writes them (NaN; :data:`MISSING_VALUES`); p, the momentum
    components, dE/dx and the TRD pattern must be finite.
    """
    require_columns(df, TRACK_COLUMNS, f"{source}: the DANN inputs (PIDML columns)")
    if len(df) == 0:
        raise EmptySelectionError(f"{source}: no tracks to build the DANN inputs from.")
    must = ["fP", "fPx", "fPy", "fPz", "fTPCSignal", "fTRDPattern"]
    bad = [
        f"{c!r}: {int(np.count_nonzero(~np.isfinite(v)))} of {len(df)}"
        for c in must
        if not np.isfinite(v := df[c].to_numpy(np.float64)).all()
    ]
    bad += [
        f"{c!r}: {int(np.count_nonzero(np.isinf(v)))} inf of {len(df)}"
        for c in NAN_ALLOWED
        if np.isinf(v := df[c].to_numpy(np.float64)).any()
    ]
    if bad:
        raise NonFiniteError(f"{source}: NaN or inf in DANN input columns: {'; '.join(bad)}.")
    out = np.empty((len(df), len(FEATURES)), dtype=np.float32)
    out[:, 0] = np.abs(df["fP"].to_numpy())
    out[:, 1] = eta_phi(df)[0]
    out[:, 2] = df["fTPCSignal"].to_numpy()
    out[:, 3] = df["fBeta"].to_numpy()
    out[:, 4] = df["fTRDSignal"].to_numpy()
    out[:, 5] = df["fTRDPattern"].to_numpy()
    if not np.isfinite(out[:, 1]).all():
        n = int(np.count_nonzero(~np.isfinite(out[:, 1])))
        raise NonFiniteError(f"{source}: {n} of {len(df)} tracks with fPx = fPy = 0 (no eta).")
    return out


def check_feature_matrix(X: np.ndarray, features: Sequence[str] = FEATURES) -> np.ndarray:
    """``X`` as a float32 [n, len(features)] array; a DataFrame is checked for column order.
    NaN is allowed only where a detector may be missing (:data:`NAN_ALLOWED`); inf nowhere."""
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
    bad = [
        f
        for i, f in enumerate(features)
        if np.isinf(X[:, i]).any() or (f not in NAN_ALLOWED and np.isnan(X[:, i]).any())
    ]
    if bad:  # a NaN beta or TRD signal is a missing detector; every other input must be finite
        raise NonFiniteError(
            f"NaN or inf in the model inputs {bad} (NaN is allowed only in {NAN_ALLOWED}: a "
            "missing detector)."
        )
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


# ------------------------------------------------------------------------------- samples
@dataclass(frozen=True)
class Tracks:
    """Model inputs of one domain: raw features, labels where known, and where they came from."""

    domain: str
    X: np.ndarray  # raw inputs [n, len(FEATURES)], float32
    y: np.ndarray | None  # labels 0..3 (-1: other particle); None without truth (real data)
    source: str = "tracks"
    #: truth-free labels of TOF-tagged tracks (π, K, p where TOF separates them; -1 untagged),
    #: :func:`tof_tags`: what real data offer to judge a model (PIDML has no V0s)
    tags: np.ndarray | None = None
    #: the PIDML rows the inputs came from, with the derived fEta and nσ
    #: (:func:`o2ml.models.pid.nsigma.pidml_nsigma`) for the classical PID baseline
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


#: species of the TOF tags (:func:`tof_tags`): all four (electrons only where TOF separates them
#: from pions, below ~0.6 GeV/c)
TOF_TAG_SPECIES = tuple(SPECIES)


def tof_tags(frame: pd.DataFrame) -> np.ndarray:
    """Truth-free labels of PIDML rows with nσ (:func:`~o2ml.models.pid.nsigma.pidml_nsigma`):
    the species where TOF separates it from its neighbours
    (:func:`~o2ml.models.pid.tagging.tag_tof` with the nominal response, p <= 1.5 GeV/c, the
    TPC not contradicting), -1 elsewhere. Electrons are tagged only below ~0.6 GeV/c, where
    their time of flight still differs from a pion's."""
    from ..pid.nsigma import PIDML_TAG_CUTS
    from ..pid.tagging import pidml_quality_mask, tag_tof

    tags = tag_tof(frame, PIDML_TAG_CUTS, quality=pidml_quality_mask(frame, PIDML_TAG_CUTS))
    tags = tags.astype(np.int64)
    tags[~np.isin(tags, [SPECIES.index(s) for s in TOF_TAG_SPECIES])] = -1
    return tags


def _check_file_domain(path, domain: str) -> None:
    """A clear error when the file of the other domain is given (its PIDML table instead)."""
    from ...io import describe

    trees = {info.tree.lower() for info in describe(path)}
    other = "data" if domain == "mc" else "mc"
    mine, theirs = (PID_TRACKS_MC_ML, PID_TRACKS_DATA_ML)[:: 1 if domain == "mc" else -1]
    if mine.tree_name.lower() not in trees and theirs.tree_name.lower() in trees:
        hint = "Is this the data file?" if domain == "mc" else "This looks like the simulation."
        raise InputError(
            f"{path}: expected {domain} tracks ({mine.name}, tree {mine.tree_name}); the file "
            f"holds the {other} table {theirs.name} ({theirs.tree_name}). {hint} (swap data_path "
            "and mc_path?)"
        )


def read_tracks(
    path: str | os.PathLike | Sequence[str | os.PathLike],
    domain: str,
    label_column: str | None = None,
) -> Tracks:
    """Read the PIDML table of one domain into model inputs and labels: ``PidTracksMcMl``
    (``"mc"``, labels from ``fPdgCode``) or ``PidTracksDataMl`` (``"data"``; labels from
    ``label_column``, default the synthetic truth ``fTruthPdgCode`` when present, else none, as
    for real data). A file of the other domain is an :class:`InputError` that says so.
    """
    from ...io import expand_paths, read_table

    if domain not in TABLES:
        raise InputError(f"domain must be 'mc' or 'data', not {domain!r}.")
    _check_file_domain(expand_paths(path)[0], domain)
    return tracks_from_frame(read_table(path, TABLES[domain]), domain, label_column, str(path))


def tracks_from_frame(
    df: pd.DataFrame, domain: str, label_column: str | None = None, source: str = "tracks"
) -> Tracks:
    """:func:`read_tracks` of PIDML rows already in memory (e.g. a generated sample): inputs,
    labels, TOF tags (:func:`tof_tags`) and the rows with their derived nσ."""
    from ..pid.nsigma import pidml_nsigma

    check_domain(df, domain, source)
    X = build_inputs(df, source)
    df = pidml_nsigma(df.reset_index(drop=True))
    tags = tof_tags(df)
    if label_column is None:
        label_column = MC_LABEL_COLUMN if domain == "mc" else TRUTH_COLUMN
        if domain == "data" and label_column not in df.columns:
            return Tracks(domain, X, None, source, tags, df)
    return Tracks(domain, X, labels_from(df, label_column, source), source, tags, df)


__all__ = [
    "FEATURES",
    "FEATURE_SOURCES",
    "MAYBE_MISSING",
    "MC_LABEL_COLUMN",
    "MISSING_VALUES",
    "NAN_ALLOWED",
    "SPECIES",
    "TABLES",
    "TOF_TAG_SPECIES",
    "TRACK_COLUMNS",
    "TRANSFORMED",
    "TRUTH_COLUMN",
    "InputError",
    "Tracks",
    "build_inputs",
    "check_domain",
    "check_feature_matrix",
    "labels_from",
    "read_tracks",
    "tof_tags",
    "tracks_from_frame",
]
