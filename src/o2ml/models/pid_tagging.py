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

from ..errors import ColumnNotFoundError, O2mlError, did_you_mean
from ..physics import its
from ..physics.constants import PDG, PID_SPECIES

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
def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`ColumnNotFoundError` naming the missing columns (and close names)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        hints = "".join(did_you_mean(c, df.columns) for c in missing)
        raise ColumnNotFoundError(
            f"{what} needs the columns {list(columns)}; missing {missing}.{hints}"
        )


def has_truth(df: pd.DataFrame, column: str = TRUTH_COLUMN) -> bool:
    """True when the frame carries the truth branch (synthetic data); real data do not."""
    return column in df.columns


def species_from_pdg(pdg: Sequence[int] | np.ndarray | pd.Series) -> np.ndarray:
    """Label 0..3 (index in :data:`SPECIES`) of signed PDG codes; -1 for any other particle."""
    codes = np.abs(np.asarray(pdg))
    out = np.full(codes.shape, -1, dtype=np.int8)
    for k, s in enumerate(SPECIES):
        out[codes == PDG[s]] = k
    return out


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
    require_columns(df, ["fP", "fTPCNCls", "fItsClusterSizes"], "The track-quality selection")
    p = np.abs(df["fP"].to_numpy())
    hits = its.n_hits(df["fItsClusterSizes"].to_numpy())
    return (
        (p <= cuts.p_max)
        & (df["fTPCNCls"].to_numpy() >= cuts.min_tpc_clusters)
        & (hits >= cuts.min_its_hits)
    )


def tag_species(
    df: pd.DataFrame,
    cuts: TagCuts = TagCuts(),
    neighbours: Mapping[str, Sequence[str]] = TAG_NEIGHBOURS,
) -> np.ndarray:
    """TPC tag of each track: label 0..3 (index in :data:`SPECIES`) or -1 (untagged).

    A track is tagged as ``s`` when it passes :func:`quality_mask`, |nsigma_TPC(s)| < ``cuts.own``
    and |nsigma_TPC(n)| > ``cuts.neighbour`` for every neighbour ``n`` of ``s``. Tracks that pass
    the tag of two species stay untagged.
    """
    unknown = [s for s in neighbours if s not in SPECIES] + [
        n for ns in neighbours.values() for n in ns if n not in SPECIES
    ]
    if unknown:
        raise O2mlError(f"Unknown species {unknown} in the neighbours; known: {list(SPECIES)}.")
    require_columns(df, [f"fTPCNSigma{NSIGMA_SUFFIX[s]}" for s in SPECIES], "TPC tagging")
    nsig = {s: np.abs(df[f"fTPCNSigma{NSIGMA_SUFFIX[s]}"].to_numpy()) for s in SPECIES}
    good = quality_mask(df, cuts)
    tags = np.full(len(df), -1, dtype=np.int8)
    n_pass = np.zeros(len(df), dtype=np.int8)
    for k, s in enumerate(SPECIES):
        sel = good & (nsig[s] < cuts.own)
        for n in neighbours.get(s, ()):
            sel &= nsig[n] > cuts.neighbour
        tags[sel] = k
        n_pass += sel
    tags[n_pass > 1] = -1
    return tags


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
        raise O2mlError(f"{tags.size} tags but {truth.size} true labels; one of each per track.")
    if edges is None:
        bins = [(None, None, np.ones(tags.shape, dtype=bool))]
    else:
        if p is None:
            raise O2mlError("Momentum bins need the momentum p of every track.")
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
    "TRUTH_COLUMN",
    "TagCuts",
    "has_truth",
    "quality_mask",
    "species_from_pdg",
    "tag_species",
    "tagging_composition",
    "true_species",
]
