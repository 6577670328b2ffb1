"""The O2Physics tables o2ml reads and writes: names, columns, dtypes, units.

A table ``HfCandDsLites`` with description ``HFCANDDSLITE`` is stored in a file as the TTree
``O2hfcanddslite`` ("O2" + the lower-case description), once per ``DF_<n>`` folder.
Columns flagged ``mc`` exist only in MC files; columns flagged ``truth`` are o2ml's hidden truth,
written to synthetic *data* files on request only, so notebooks can run closure tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import SchemaError, TableNotFoundError, did_you_mean


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    name: str
    dtype: str = "f4"
    unit: str = ""
    doc: str = ""
    mc: bool = False  #: only in MC files
    truth: bool = False  #: hidden truth of synthetic data files, never in real data


@dataclass(frozen=True)
class Table:
    """An O2Physics table: its name, its description (which fixes the tree name) and its columns."""

    name: str
    description: str
    columns: tuple[Column, ...]
    doc: str = ""
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def tree_name(self) -> str:
        """Name of the TTree in a file, e.g. ``O2hfcanddslite``."""
        return "O2" + self.description.lower()

    def __contains__(self, column: str) -> bool:
        return column in self._by_name

    def __getitem__(self, column: str) -> Column:
        try:
            return self._by_name[column]
        except KeyError:
            raise SchemaError(
                f"Table {self.name} has no column {column!r}." + did_you_mean(column, self._by_name)
            ) from None

    def column_names(self, kind: str = "data", truth: bool = False) -> list[str]:
        """Columns of a ``kind`` (``"data"`` or ``"mc"``) file, with the truth columns if asked."""
        if kind not in ("data", "mc"):
            raise ValueError(f"kind must be 'data' or 'mc', not {kind!r}")
        return [
            c.name
            for c in self.columns
            if (kind == "mc" or not c.mc) and (not c.truth or (truth and kind == "data"))
        ]

    def dtypes(self) -> dict[str, np.dtype]:
        return {c.name: np.dtype(c.dtype) for c in self.columns}

    def conform(self, df: pd.DataFrame, source: str = "DataFrame") -> dict[str, np.ndarray]:
        """Check ``df`` against this table and return its columns as arrays of the declared dtypes.

        Unknown columns raise :class:`SchemaError` naming the closest declared ones.
        """
        arrays = {}
        for col in df.columns:
            if col not in self._by_name:
                raise SchemaError(
                    f"{source}: column {col!r} is not part of table {self.name} "
                    f"(tree {self.tree_name})." + did_you_mean(str(col), self._by_name)
                )
            arrays[col] = np.ascontiguousarray(df[col].to_numpy(), dtype=self[col].dtype)
        return arrays


def _cols(
    names: Iterable[str], dtype: str = "f4", unit: str = "", doc: str = "", **kw
) -> list[Column]:
    return [Column(n, dtype, unit, doc, **kw) for n in names]


def _prongs(stem: str, species: Iterable[str] = ("",), n: int = 3, **kw) -> list[Column]:
    return [Column(f"{stem}{s}{i}", **kw) for s in species for i in range(n)]


#: O2Physics PWGHF/TableProducer/treeCreatorDsToKKPi.cxx, table HfCandDsLites
HF_CAND_DS_LITES = Table(
    name="HfCandDsLites",
    description="HFCANDDSLITE",
    doc="Ds+ and D+ -> K K pi candidates (O2Physics treeCreatorDsToKKPi, lite table)",
    columns=(
        Column("fM", unit="GeV/c2", doc="invariant mass KKpi"),
        Column("fPt", unit="GeV/c", doc="candidate transverse momentum"),
        Column("fEta"),
        Column("fPhi", unit="rad"),
        Column("fY", doc="rapidity"),
        Column("fCpa", doc="cosine of the pointing angle"),
        Column("fCpaXY", doc="cosine of the pointing angle in the transverse plane"),
        Column("fDecayLength", unit="cm"),
        Column("fDecayLengthXY", unit="cm"),
        Column("fDecayLengthNormalised", doc="decay length / its uncertainty"),
        Column("fDecayLengthXYNormalised", doc="XY decay length / its uncertainty"),
        Column("fImpactParameterXY", unit="cm", doc="candidate impact parameter in XY"),
        Column("fDeltaMassPhi", unit="GeV/c2", doc="|m(KK) - m(phi)|"),
        Column("fAbsCos3PiK", doc="|cos^3 theta'(piK)|"),
        Column(
            "fMaxNormalisedDeltaIP",
            doc="max normalised difference of measured and expected prong d0",
        ),
        Column("fChi2PCA", unit="cm2", doc="sum of squared distances of the prongs to the vertex"),
        *_prongs("fPtProng", unit="GeV/c"),
        *_prongs("fImpactParameter", unit="cm"),
        *_prongs("fNSigTpc", ("Pi", "Ka")),
        *_prongs("fNSigTof", ("Pi", "Ka")),
        *_prongs("fNSigTpcTof", ("Pi", "Ka")),
        Column(
            "fFlagMcMatchRec", "i1", doc="+-(1<<DecayType) for matched signal, 0 otherwise", mc=True
        ),
        Column("fOriginMcRec", "i1", doc="1 prompt, 2 non-prompt", mc=True),
        Column(
            "fTruthPdgCode", "i4", doc="synthetic truth: 431 Ds, 411 D+, 0 background", truth=True
        ),
        Column(
            "fTruthOrigin",
            "i1",
            doc="synthetic truth: 0 background, 1 prompt, 2 non-prompt",
            truth=True,
        ),
    ),
)

#: Lambda_c+ -> p K pi candidates, the lite layout of O2Physics treeCreatorLcToPKPi
#: with the feature menu of HfMlResponseLcToPKPi.h
HF_CAND_LC_LITES = Table(
    name="HfCandLcLites",
    description="HFCANDLCLITE",
    doc="Lambda_c+ -> p K pi candidates (O2Physics treeCreatorLcToPKPi, lite layout)",
    columns=(
        Column("fM", unit="GeV/c2", doc="invariant mass pKpi"),
        Column("fPt", unit="GeV/c"),
        Column("fEta"),
        Column("fPhi", unit="rad"),
        Column("fY"),
        Column("fChi2PCA", unit="cm2"),
        Column("fDecayLength", unit="cm"),
        Column("fDecayLengthXY", unit="cm"),
        Column("fDecayLengthNormalised"),
        Column("fDecayLengthXYNormalised"),
        Column("fCpa"),
        Column("fCpaXY"),
        *_prongs("fPtProng", unit="GeV/c"),
        *_prongs("fImpactParameter", unit="cm", doc="prong impact parameter XY"),
        *_prongs("fImpactParameterZ", unit="cm", doc="prong impact parameter Z"),
        *_prongs("fNSigTpc", ("Pr", "Ka", "Pi")),
        *_prongs("fNSigTof", ("Pr", "Ka", "Pi")),
        Column("fCandidateSelFlag", "i1", doc="1 pKpi, 2 piKp mass hypothesis"),
        Column("fFlagMc", "i1", doc="+-(1<<DecayType) for matched signal, 0 otherwise", mc=True),
        Column("fOriginMcRec", "i1", doc="1 prompt, 2 non-prompt", mc=True),
        Column(
            "fTruthPdgCode", "i4", doc="synthetic truth: 4122 Lambda_c, 0 background", truth=True
        ),
        Column(
            "fTruthOrigin",
            "i1",
            doc="synthetic truth: 0 background, 1 prompt, 2 non-prompt",
            truth=True,
        ),
    ),
)

#: Tracks with PID information, columns named as in O2Physics track and PID tables
#: (TracksExtra, pidTPC*, pidTOF*, pidTOFbeta). Missing detector signals are -999, as in O2Physics.
PID_TRACKS = Table(
    name="PidTracks",
    description="PIDTRACK",
    doc="charged tracks with TPC, TOF and ITS2 PID information",
    columns=(
        Column("fP", unit="GeV/c", doc="momentum"),
        Column("fPt", unit="GeV/c"),
        Column("fEta"),
        Column("fPhi", unit="rad"),
        Column("fTgl", doc="tan(lambda) = pz/pt"),
        Column("fSign", "i1"),
        Column(
            "fItsClusterSizes", "u4", doc="ITS2 cluster size per layer, 4 bits each, layer 0 lowest"
        ),
        Column("fTPCSignal", unit="a.u.", doc="TPC dE/dx"),
        Column("fTPCNCls", "u1", doc="found TPC clusters"),
        Column("fBeta", doc="TOF beta, -999 without TOF"),
        Column("fTOFSignal", unit="ps", doc="TOF time, -999 without TOF"),
        *_cols([f"fTPCNSigma{s}" for s in ("El", "Pi", "Ka", "Pr")]),
        *_cols([f"fTOFNSigma{s}" for s in ("El", "Pi", "Ka", "Pr")], doc="-999 without TOF"),
        Column("fPdgCode", "i4", doc="MC true PDG code", mc=True),
        Column("fTruthPdgCode", "i4", doc="synthetic truth: PDG code of the track", truth=True),
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in (HF_CAND_DS_LITES, HF_CAND_LC_LITES, PID_TRACKS)}


def find_table(name: str) -> Table | None:
    """The declared table called ``name`` (table name or tree name, any case), or None."""
    key = name.lower()
    for t in TABLES.values():
        if key in (t.name.lower(), t.tree_name.lower(), t.description.lower()):
            return t
    return None


def get_table(name: str | Table) -> Table:
    """Like :func:`find_table` but raises :class:`TableNotFoundError` for unknown names."""
    if isinstance(name, Table):
        return name
    table = find_table(name)
    if table is None:
        known = [t.name for t in TABLES.values()]
        raise TableNotFoundError(
            f"Unknown table {name!r}; o2ml declares {', '.join(known)}." + did_you_mean(name, known)
        )
    return table
