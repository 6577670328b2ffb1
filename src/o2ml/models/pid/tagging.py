"""TPC tagging of ITS PID training tracks, and what the tagged samples really contain.

A track is tagged as species s when |nsigma_TPC(s)| < 2 and |nsigma_TPC(n)| > 3 for the species n
whose dE/dx band is near (ALICE ITS2 PID studies, public repository ``GiorgioAlbertoLucia/ITS_pid``),
with p <= 1 GeV/c and >= 80 TPC clusters. Where the bands cross, tagging leaves contamination;
:func:`tagging_composition` measures it against the truth branch of the synthetic data, which real
data do not have (:func:`has_truth`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...errors import (
    BadArgumentError,
    ColumnNotFoundError,
    did_you_mean,
)
from ...physics import its
from ...physics.constants import PID_SPECIES, pid_label
from ...schema import require_columns

#: species of the labels 0..3 (-1: untagged or another particle)
SPECIES = PID_SPECIES
#: suffix of the O2Physics nsigma columns of each species (fTPCNSigmaEl, ...)
NSIGMA_SUFFIX = {"e": "El", "pi": "Pi", "K": "Ka", "p": "Pr"}
#: species whose TPC band a tagged track must stay away from. As ``ITS_pid`` for pi, K, p; the rare
#: electrons (reference: not trained) must avoid every hadron band they cross below 1 GeV/c
TAG_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "e": ("pi", "K", "p"),
    "pi": ("e", "K"),
    "K": ("pi", "p"),
    "p": ("K",),
}
#: the true PDG code of the synthetic data files (absent in real data)
TRUTH_COLUMN = "fTruthPdgCode"


# ------------------------------------------------------------------------------- columns
def has_truth(df: pd.DataFrame, column: str = TRUTH_COLUMN) -> bool:
    """True when the frame carries the truth branch (synthetic data); real data do not."""
    return column in df.columns


#: label 0..3 (index in :data:`SPECIES`) of signed PDG codes; -1 for any other particle
species_from_pdg = pid_label


def true_species(df: pd.DataFrame, column: str = TRUTH_COLUMN) -> np.ndarray:
    """True labels from the truth branch; raises :class:`ColumnNotFoundError` on real data."""
    if column not in df.columns:
        raise ColumnNotFoundError(
            f"No truth column {column!r} in the tracks (real data have none; the synthetic data "
            f"file has it when generated with truth).{did_you_mean(column, df.columns)}"
        )
    return species_from_pdg(df[column])


# ------------------------------------------------------------------------------- tagging
@dataclass(frozen=True)
class TagCuts:
    """TPC tagging and track-quality cuts (ITS_pid defaults)."""

    own: float = 2.0  # |nsigma_TPC(own species)| below this
    neighbour: float = 3.0  # |nsigma_TPC(neighbouring species)| above this
    p_max: float = 1.0  # GeV/c; tagging and the regression are used up to here
    min_tpc_clusters: int = 80
    min_its_hits: int = 4  # truncated mean of at least 3 layers


def quality_mask(df: pd.DataFrame, cuts: TagCuts = TagCuts()) -> np.ndarray:
    """Tracks passing the quality cuts: TPC clusters, ITS hits and p <= p_max."""
    require_columns(df, ["fP", "fTpcNClsFound", "fITSClusterSizes"], "The track-quality selection")
    p = np.abs(df["fP"].to_numpy())
    hits = its.n_hits(df["fITSClusterSizes"].to_numpy())
    return (
        (p <= cuts.p_max)
        & (df["fTpcNClsFound"].to_numpy() >= cuts.min_tpc_clusters)
        & (hits >= cuts.min_its_hits)
    )


def _exclusive_tags(
    allowed: Mapping[str, np.ndarray],
    nsig: Mapping[str, np.ndarray],
    cuts: TagCuts,
    neighbours: Mapping[str, Sequence[str]],
) -> np.ndarray:
    """Label k of SPECIES where |nσ(s)| < cuts.own and |nσ(n)| > cuts.neighbour for each
    neighbour n (among the ``allowed`` tracks of s); -1 where no species or two pass."""
    first = next(iter(nsig.values()))
    tags = np.full(len(first), -1, dtype=np.int8)
    n_pass = np.zeros(len(first), dtype=np.int8)
    for k, s in enumerate(SPECIES):
        sel = allowed[s] & (nsig[s] < cuts.own)
        for n in neighbours.get(s, ()):
            sel &= nsig[n] > cuts.neighbour
        tags[sel] = k
        n_pass += sel
    tags[n_pass > 1] = -1
    return tags


def tag_species(
    df: pd.DataFrame,
    cuts: TagCuts = TagCuts(),
    neighbours: Mapping[str, Sequence[str]] = TAG_NEIGHBOURS,
    *,
    quality: np.ndarray | None = None,
) -> np.ndarray:
    """TPC tag of each track: label 0..3 (index in :data:`SPECIES`) or -1 (untagged).

    A track is tagged as ``s`` when it passes :func:`quality_mask`, |nsigma_TPC(s)| < ``cuts.own``
    and |nsigma_TPC(n)| > ``cuts.neighbour`` for every neighbour ``n`` of ``s``. Tracks that pass
    the tag of two species stay untagged. ``quality``: the tracks that may be tagged, instead of
    :func:`quality_mask` (tables without its columns, such as PIDML's global tracks:
    :func:`pidml_quality_mask`).
    """
    unknown = [s for s in neighbours if s not in SPECIES] + [
        n for ns in neighbours.values() for n in ns if n not in SPECIES
    ]
    if unknown:
        raise BadArgumentError(
            f"Unknown species {unknown} in the neighbours; known: {list(SPECIES)}."
        )
    require_columns(df, [f"fTPCNSigma{NSIGMA_SUFFIX[s]}" for s in SPECIES], "TPC tagging")
    nsig = {s: np.abs(df[f"fTPCNSigma{NSIGMA_SUFFIX[s]}"].to_numpy()) for s in SPECIES}
    good = quality_mask(df, cuts) if quality is None else np.asarray(quality, bool)
    return _exclusive_tags({s: good for s in SPECIES}, nsig, cuts, neighbours)


#: TOF neighbours: the species whose time of flight is close at the same momentum
TOF_NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "e": ("pi",),
    "pi": ("e", "K"),
    "K": ("pi", "p"),
    "p": ("K",),
}
#: fV0Tag code -> species of the track (by its charge): K0S -> pi pi, Lambda -> p+ pi-,
#: anti-Lambda -> p- pi+, photon conversion -> e e (o2ml.toymc.pid.V0_CODES)
V0_LEGS = {1: ("pi", "pi"), 2: ("p", "pi"), 3: ("pi", "p"), 4: ("e", "e")}  # (positive, negative)


def tag_tof(
    df: pd.DataFrame,
    cuts: TagCuts = TagCuts(),
    neighbours: Mapping[str, Sequence[str]] = TOF_NEIGHBOURS,
    tpc_consistency: float = 3.0,
    *,
    quality: np.ndarray | None = None,
) -> np.ndarray:
    """TOF tag: label 0..3 or -1. A track with a TOF signal passing :func:`quality_mask` is tagged
    ``s`` when |nσ_TOF(s)| < ``cuts.own``, |nσ_TOF(n)| > ``cuts.neighbour`` for its TOF
    neighbours and |nσ_TPC(s)| < ``tpc_consistency`` (the TPC must not contradict it). TOF
    separates where the TPC bands cross (π and K near 1 GeV/c), but only above its ~0.5 GeV/c
    turn-on. A track has TOF when β > 0 (NaN, PIDML's missing TOF, and -999 fail). ``quality``:
    as in :func:`tag_species`."""
    require_columns(
        df,
        [f"fTOFNSigma{NSIGMA_SUFFIX[s]}" for s in SPECIES]
        + [f"fTPCNSigma{NSIGMA_SUFFIX[s]}" for s in SPECIES]
        + ["fBeta"],
        "TOF tagging",
    )
    has_tof = df["fBeta"].to_numpy() > 0
    good = (quality_mask(df, cuts) if quality is None else np.asarray(quality, bool)) & has_tof
    tof = {s: np.abs(df[f"fTOFNSigma{NSIGMA_SUFFIX[s]}"].to_numpy()) for s in SPECIES}
    tpc = {s: np.abs(df[f"fTPCNSigma{NSIGMA_SUFFIX[s]}"].to_numpy()) for s in SPECIES}
    own_ok = {s: good & (tpc[s] < tpc_consistency) for s in SPECIES}
    return _exclusive_tags(own_ok, tof, cuts, neighbours)


def pidml_quality_mask(df: pd.DataFrame, cuts: TagCuts = TagCuts()) -> np.ndarray:
    """The quality cut of PIDML rows: p <= ``cuts.p_max``. PIDML holds global tracks only
    (``requireGlobalTrackInFilter``: ITS and TPC, >= 70 crossed TPC rows) and stores neither the
    found TPC clusters nor the ITS cluster sizes, so the other cuts of :func:`quality_mask` are
    those of the producer."""
    require_columns(df, ["fP"], "The PIDML track-quality selection")
    return np.abs(df["fP"].to_numpy()) <= cuts.p_max


def tag_v0(df: pd.DataFrame, cuts: TagCuts = TagCuts()) -> np.ndarray:
    """V0-daughter tag: label 0..3 or -1, from ``fV0Tag`` and the track's charge (:data:`V0_LEGS`).

    Topology and the V0 mass tag the track without any PID of its own: the cleanest sample ALICE
    has (K0S -> ππ, Λ -> pπ, γ -> ee), limited only by the combinatorial background under the V0
    peak."""
    require_columns(df, ["fV0Tag", "fSign"], "V0 tagging")
    code = df["fV0Tag"].to_numpy()
    positive = df["fSign"].to_numpy() > 0
    tags = np.full(len(df), -1, dtype=np.int8)
    for c, (pos, neg) in V0_LEGS.items():
        sel = code == c
        tags[sel & positive] = SPECIES.index(pos)
        tags[sel & ~positive] = SPECIES.index(neg)
    tags[~quality_mask(df, cuts)] = -1
    return tags


def combine_tags(*tags: np.ndarray) -> np.ndarray:
    """One tag per track from several taggers, the first that tags it wins (e.g. V0, TOF, TPC)."""
    out = np.full(len(tags[0]), -1, dtype=np.int8)
    for t in tags:
        free = out < 0
        out[free] = t[free]
    return out


def tagging_composition(
    tags: np.ndarray,
    truth: np.ndarray,
    p: np.ndarray | None = None,
    edges: Sequence[float] | None = None,
) -> pd.DataFrame:
    """What the tagged samples really contain, measured against true labels.

    Without ``edges``: one row per tagged species with the count of each true species, the purity
    (fraction of the right species) and the contamination. With ``p`` and ``edges``: the same per
    momentum bin (columns ``p_lo``, ``p_hi``, ``p`` added).
    """
    tags, truth = np.asarray(tags), np.asarray(truth)
    if tags.shape != truth.shape:
        raise BadArgumentError(
            f"{tags.size} tags but {truth.size} true labels; one of each per track."
        )
    if edges is None:
        bins = [(None, None, np.ones(tags.shape, dtype=bool))]
    else:
        if p is None:
            raise BadArgumentError("Momentum bins need the momentum p of every track.")
        p = np.abs(np.asarray(p))
        e = np.asarray(edges, dtype=float)
        bins = [(lo, hi, (p >= lo) & (p < hi)) for lo, hi in itertools.pairwise(e)]
    rows = []
    for k, s in enumerate(SPECIES):
        for lo, hi, in_bin in bins:
            sel = in_bin & (tags == k)
            counts = np.bincount(truth[sel] + 1, minlength=len(SPECIES) + 1)  # -1 -> slot 0
            n = int(sel.sum())
            row = {"species": s, "n_tagged": n}
            if lo is not None:
                row |= {"p_lo": lo, "p_hi": hi, "p": 0.5 * (lo + hi)}
            row |= {f"true_{t}": int(counts[j + 1]) for j, t in enumerate(SPECIES)}
            row["true_other"] = int(counts[0])
            row["purity"] = counts[k + 1] / n if n else np.nan
            row["contamination"] = 1.0 - row["purity"] if n else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


__all__ = [
    "NSIGMA_SUFFIX",
    "SPECIES",
    "TAG_NEIGHBOURS",
    "TOF_NEIGHBOURS",
    "TRUTH_COLUMN",
    "V0_LEGS",
    "TagCuts",
    "combine_tags",
    "has_truth",
    "pidml_quality_mask",
    "quality_mask",
    "species_from_pdg",
    "tag_species",
    "tag_tof",
    "tag_v0",
    "tagging_composition",
    "true_species",
]
