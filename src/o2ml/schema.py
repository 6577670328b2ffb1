"""The O2Physics tables o2ml reads and writes: names, columns, dtypes, units.

A table ``HfCandDsLites`` with description ``HFCANDDSLITE`` is stored in a file as the TTree
``O2hfcanddslite`` ("O2" + the lower-case description), once per ``DF_<n>`` folder.
Columns flagged ``mc`` exist only in MC files; columns flagged ``truth`` are o2ml's hidden truth,
written to synthetic *data* files on request only, so notebooks can run closure tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import pandas as pd

from .errors import ColumnNotFoundError, SchemaError, TableNotFoundError, did_you_mean


@dataclass(frozen=True)
class PtBin:
    """A pT interval [lo, hi) in GeV/c."""

    lo: float
    hi: float

    @property
    def selection(self) -> str:
        return f"fPt >= {self.lo} and fPt < {self.hi}"

    @property
    def label(self) -> str:
        return f"{self.lo:g}-{self.hi:g}"

    def __str__(self) -> str:
        return f"{self.lo:g} < pT < {self.hi:g} GeV/c"


def pt_bins(edges: Sequence[float]) -> list[PtBin]:
    """Consecutive bins from edges, e.g. ``[2, 4, 6, 12]`` -> 2-4, 4-6, 6-12."""
    return [PtBin(float(a), float(b)) for a, b in itertools.pairwise(edges)]


class Origin(IntEnum):
    """``RecoDecay::OriginType`` (O2Physics ``Common/Core/RecoDecay.h``): ``fOriginMcRec``."""

    NONE = 0
    PROMPT = 1
    NONPROMPT = 2


#: the MC origins of signal, by name (``fOriginMcRec`` codes, :class:`Origin`)
ORIGINS = {"prompt": int(Origin.PROMPT), "nonprompt": int(Origin.NONPROMPT)}
#: the score column of each class of the charm BDTs, in the models' output order
#: (background, prompt, non-prompt: the ``labels`` of O2Physics' training configs)
SCORE_COLUMNS = ("score_bkg", "score_prompt", "score_nonprompt")


def origin_names(origin: np.ndarray) -> np.ndarray:
    """The origin names (keys of :data:`ORIGINS`) of ``fOriginMcRec`` codes, "" for the other
    codes (background, ...); an array of names is returned as it is."""
    origin = np.asarray(origin)
    if origin.dtype.kind in "iuf":
        names = {code: name for name, code in ORIGINS.items()}
        codes, inverse = np.unique(origin.astype(np.int64), return_inverse=True)
        table = np.array([names.get(int(c), "") for c in codes] or [""])
        origin = table[inverse.ravel()]
    return np.asarray(origin, dtype=str)


def score_column(label: str, index: int | None = None) -> str:
    """The score column of a model's class ``label``: ``score_bkg`` (background),
    ``score_prompt``, ``score_nonprompt``...; a label that is not a plain name (``"score class
    1"``) gives ``score_<index>``."""
    if label == "background":
        return SCORE_COLUMNS[0]
    if label.isidentifier() or index is None:
        return f"score_{label}"
    return f"score_{index}"


class DecayChannelMain(IntEnum):
    """``o2::hf_decay::hf_cand_3prong::DecayChannelMain`` (O2Physics ``PWGHF/Core/DecayChannels.h``
    @ 3c43b547, explicit numbering): |``fFlagMcMatchRec``| / |``fFlagMc``| of matched 3-prongs,
    signed with the candidate's charge. (The Ds and D+ values are the same in the earlier
    implicit numbering; Lc -> pKpi was 11 there, and 2 in the older bitmask scheme.)"""

    DplusToPiKPi = 1
    DplusToPiKK = 4
    DsToPiKK = 5
    LcToPKPi = 17


class DecayChannelResonant(IntEnum):
    """``DecayChannelResonant`` (same file): ``fFlagMcDecayChanRec`` / ``fChannel``; 0 non-resonant."""

    DplusToPhiPi = 1
    DplusToKstar0K = 2
    DsToPhiPi = 6
    DsToKstar0K = 8
    LcToPKstar0 = 24
    LcToDeltaplusplusK = 25
    LcToL1520Pi = 26


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
    #: MC columns exist in data files too, filled with 0 (as the HF tree creators write them)
    mc_in_data: bool = False
    #: the O2Physics (or O2) file that declares the table, e.g.
    #: ``PWGHF/TableProducer/treeCreatorDsToKKPi.cxx``, and the commit of it that o2ml follows
    source: str = ""
    commit: str = ""
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
            if (kind == "mc" or not c.mc or self.mc_in_data)
            and (not c.truth or (truth and kind == "data"))
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


def _nsigma_ds(prong: int) -> list[Column]:
    """nσ of one Ds prong as the Ds tree creator orders them: TPC, TOF per species, then TPC+TOF."""
    return [Column(f"fNSig{det}{s}{prong}") for det, s in (
        ("Tpc", "Pi"), ("Tpc", "Ka"), ("Tof", "Pi"), ("Tof", "Ka"), ("TpcTof", "Pi"), ("TpcTof", "Ka"),
    )]  # fmt: skip


#: the hidden truth of o2ml's synthetic charm data files (never in real data)
_CHARM_TRUTH = (
    Column("fTruthPdgCode", "i4", doc="synthetic truth: PDG code of the true hadron, 0 background", truth=True),
    Column("fTruthOrigin", "i1", doc="synthetic truth: 0 background, 1 prompt, 2 non-prompt", truth=True),
    Column(
        "fTruthReflection", "i1", truth=True,
        doc="synthetic truth: 1 if the row's mass hypothesis is the wrong one of a true decay",
    ),
)  # fmt: skip

#: O2Physics PWGHF/TableProducer/treeCreatorDsToKKPi.cxx @ 1191ccad, table HfCandDsLites
#: ("HFCANDDSLITE"), column for column in its order. One row per mass hypothesis that passes the
#: selection (the other hypothesis' fIsSel* is -1); the MC columns exist in data files too, filled
#: with 0 (fIsCandidateSwapped holds the row's hypothesis there: 0 KKpi, 1 piKK).
HF_CAND_DS_LITES = Table(
    name="HfCandDsLites",
    description="HFCANDDSLITE",
    doc="Ds+ and D+ -> K K pi candidates (O2Physics treeCreatorDsToKKPi, lite table)",
    mc_in_data=True,
    columns=(
        *_prongs("fPtProng", unit="GeV/c"),
        *_prongs("fImpactParameter", unit="cm", doc="prong impact parameter XY (signed)"),
        *[c for i in range(3) for c in _nsigma_ds(i)],
        Column("fIsSelDsToKKPi", "i4", doc="selector status of the KKpi hypothesis, -1: other row"),
        Column("fIsSelDsToPiKK", "i4", doc="selector status of the piKK hypothesis, -1: other row"),
        Column("fM", unit="GeV/c2", doc="invariant mass with the row's hypothesis"),
        Column("fPt", unit="GeV/c", doc="candidate transverse momentum"),
        Column("fEta"),
        Column("fPhi", unit="rad"),
        Column("fY", doc="rapidity"),
        Column("fDecayLength", unit="cm"),
        Column("fDecayLengthXY", unit="cm"),
        Column("fDecayLengthNormalised", doc="decay length / its uncertainty"),
        Column("fDecayLengthXYNormalised", doc="XY decay length / its uncertainty"),
        Column("fCpa", doc="cosine of the pointing angle"),
        Column("fCpaXY", doc="cosine of the pointing angle in the transverse plane"),
        Column("fMaxNormalisedDeltaIP", doc="signed largest normalised (measured - expected) prong d0"),
        Column("fImpactParameterXY", unit="cm", doc="candidate impact parameter in XY (signed)"),
        Column("fDeltaMassPhi", unit="GeV/c2", doc="|m(KK) - m(phi)| of the row's hypothesis"),
        Column("fAbsCos3PiK", doc="|cos^3 theta'(piK)| of the row's hypothesis"),
        Column("fChi2PCA", unit="cm2", doc="sum of squared distances of the prongs to the vertex"),
        Column("fCentrality", doc="centrality percentile (FT0M)"),
        Column("fNumContrib", "u2", doc="primary-vertex contributors"),
        Column("fFlagMcMatchRec", "i1", mc=True, doc="sign x hf_decay DecayChannelMain: +-5 Ds, +-4 D+ -> KKpi"),
        Column("fOriginMcRec", "i1", mc=True, doc="RecoDecay::OriginType: 0 none, 1 prompt, 2 non-prompt"),
        Column("fFlagMcDecayChanRec", "i1", mc=True, doc="DecayChannelResonant: 6 Ds -> phi pi, 1 D+ -> phi pi"),
        Column("fIsCandidateSwapped", "i1", doc="MC: 1 if prong 0 is a pion; data: the row's hypothesis"),
        Column("fSign", "i1", doc="candidate charge"),
        *_CHARM_TRUTH,
    ),
)  # fmt: skip

#: O2Physics PWGHF/TableProducer/treeCreatorLcToPKPi.cxx @ 405f5088, table HfCandLcLites
#: ("HFCANDLCLITE"), column for column in its order. One row per mass hypothesis that passes
#: (fCandidateSelFlag 1 pKpi, 2 piKp); prongs 0 and 2 carry p and pi nσ, prong 1 the kaon's. The MC
#: columns exist in data too (fFlagMc, fOriginMcRec, fIsCandidateSwapped 0; fChannel -1).
HF_CAND_LC_LITES = Table(
    name="HfCandLcLites",
    description="HFCANDLCLITE",
    doc="Lambda_c+ -> p K pi candidates (O2Physics treeCreatorLcToPKPi, lite table)",
    mc_in_data=True,
    columns=(
        Column("fPosX", unit="cm", doc="primary vertex"),
        Column("fPosY", unit="cm"),
        Column("fPosZ", unit="cm"),
        Column("fNProngsContributorsPV", "u1", doc="prongs that are primary-vertex contributors"),
        Column("fBitmapProngsContributorsPV", "u1", doc="bit i: prong i is a PV contributor"),
        Column("fChi2PCA", unit="cm2"),
        Column("fDecayLength", unit="cm"),
        Column("fDecayLengthXY", unit="cm"),
        Column("fDecayLengthXYNormalised"),
        *_prongs("fPtProng", unit="GeV/c"),
        *_prongs("fImpactParameter", unit="cm", doc="prong impact parameter XY (signed)"),
        *_cols(["fNSigTpcPi0", "fNSigTpcPr0", "fNSigTofPi0", "fNSigTofPr0", "fNSigTpcKa1",
                "fNSigTofKa1", "fNSigTpcPi2", "fNSigTpcPr2", "fNSigTofPi2", "fNSigTofPr2"]),
        *_cols(["fNSigTpcTofPi0", "fNSigTpcTofPr0", "fNSigTpcTofKa1", "fNSigTpcTofPi2",
                "fNSigTpcTofPr2"], doc="combined TPC+TOF: sqrt((tpc^2 + tof^2)/2), |tpc| without TOF"),
        Column("fCandidateSelFlag", "i1", doc="1 << hypothesis: 1 pKpi, 2 piKp"),
        Column("fM", unit="GeV/c2", doc="invariant mass with the row's hypothesis"),
        Column("fPt", unit="GeV/c"),
        Column("fCpa"),
        Column("fCpaXY"),
        Column("fCt", unit="cm", doc="proper decay length"),
        Column("fEta"),
        Column("fPhi", unit="rad"),
        Column("fY"),
        Column("fFlagMc", "i1", mc=True, doc="sign x hf_decay DecayChannelMain: +-17 Lc -> pKpi"),
        Column("fOriginMcRec", "i1", mc=True, doc="RecoDecay::OriginType: 0 none, 1 prompt, 2 non-prompt"),
        Column("fIsCandidateSwapped", "i1", mc=True, doc="1 if prong 0 is not the proton (MC)"),
        Column("fChannel", "i1", mc=True, doc="DecayChannelResonant (MC; -1 in data)"),
        Column("fMassKPi", unit="GeV/c2", doc="m(K pi) of the row's hypothesis"),
        Column("fMlScoreFirstClass", doc="-999 unless the tree creator applied ML"),
        Column("fMlScoreSecondClass"),
        Column("fMlScoreThirdClass"),
        *_CHARM_TRUTH,
    ),
)  # fmt: skip

#: Tracks with PID information. Where they overlap, the columns are those of the O2Physics PID-ML
#: tables (Tools/PIDML/pidMl.h: PidTracksData / PidTracksMc, whose PidTracksMcMl subset holds
#: fTPCSignal, fTOFSignal, fBeta, fP, fPt, fSign (float), fPdgCode): same names and types, fTgl,
#: fTpcNClsFound (int16) and the pidTPC / pidTOF nσ fTPCNSigma* / fTOFNSigma* included. Extras of
#: o2ml: fEta and fPhi (O2 computes them from the track parameters; PIDML stores fPx, fPy, fPz),
#: fITSClusterSizes (the O2 TracksExtra column, not in PIDML), fV0Tag (a V0 finder's output) and
#: the truth column. Missing TOF is -999 here, as in O2Physics' PID tables (PIDML's producer
#: writes NaN instead; docs/physics.md).
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
        Column("fSign", doc="track charge, float as in PIDML"),
        Column(
            "fITSClusterSizes", "u4", doc="ITS2 cluster size per layer, 4 bits each, layer 0 lowest"
        ),
        Column("fTPCSignal", unit="a.u.", doc="TPC dE/dx"),
        Column("fTpcNClsFound", "i2", doc="found TPC clusters"),
        Column("fBeta", doc="TOF beta, -999 without TOF"),
        Column("fTOFSignal", unit="ps", doc="TOF time, -999 without TOF"),
        *_cols([f"fTPCNSigma{s}" for s in ("El", "Pi", "Ka", "Pr")]),
        *_cols([f"fTOFNSigma{s}" for s in ("El", "Pi", "Ka", "Pr")], doc="-999 without TOF"),
        Column(
            "fV0Tag",
            "i1",
            doc="o2ml extra: daughter of a selected V0 candidate, 0 none, 1 K0S -> pi+ pi-, "
            "2 Lambda -> p pi-, 3 anti-Lambda -> pbar pi+, 4 photon conversion -> e+ e-",
        ),
        Column("fPdgCode", "i4", doc="MC true PDG code", mc=True),
        Column("fTruthPdgCode", "i4", doc="synthetic truth: PDG code of the track", truth=True),
    ),
)

#: O2Physics DPG/Tasks/TPC/tpcSkimsTableCreator.h @ bd0399b6, TPCSKIMS_COLUMNS_BASE in its order;
#: what tpcSkimsTableCreator.cxx fills: fInvDeDxExpTPC = 1 / (expected dE/dx of the row's mass
#: hypothesis), fNormMultTPC = multTPC / 11000, fNormNClustersTPC = sqrt(152 / tpcNClsFound),
#: fNormNClustersTPCPID the raw tpcNClsFindableMinusPID, fPidIndex the o2::track::PID id of the
#: hypothesis (0 e, 2 pi, 3 K, 4 p), fTPCdEdxNorm -999 without track QA. docs/o2physics_tpc_network.md
_TPC_SKIM_BASE = (
    Column("fTPCSignal", unit="a.u.", doc="TPC dE/dx (tpcSignal)"),
    Column("fInvDeDxExpTPC", doc="1 / expected dE/dx of the row's hypothesis (pidTPC, no network)"),
    Column("fTPCInnerParam", unit="GeV/c", doc="momentum at the TPC inner wall"),
    Column("fTgl", doc="tan(lambda)"),
    Column("fSigned1Pt", unit="c/GeV", doc="charge / pT"),
    Column("fEta"),
    Column("fPhi", unit="rad"),
    Column("fY", unit="cm", doc="local track Y parameter (not rapidity)"),
    Column("fMass", unit="GeV/c2", doc="mass of the row's hypothesis"),
    Column("fBetaGamma", doc="tpcInnerParam / mass"),
    Column("fNormMultTPC", doc="TPC multiplicity of the collision / 11000"),
    Column("fNormNClustersTPC", doc="sqrt(152 / tpcNClsFound)"),
    Column("fNormNClustersTPCPID", doc="tpcNClsFindableMinusPID (not normalised)"),
    Column("fPidIndex", "u1", doc="o2::track::PID id of the hypothesis: 0 e, 2 pi, 3 K, 4 p"),
    Column("fNSigTPC", doc="TPC nsigma of the hypothesis (pidTPC, Bethe-Bloch)"),
    Column("fNSigTOF", doc="TOF nsigma of the hypothesis, -999 without TOF"),
    Column("fNSigITS", doc="ITS nsigma of the hypothesis, -999 (not simulated)"),
    Column("fRunNumber", "i4"),
    Column("fTrackOcc", doc="trackOccupancyInTimeRange of the collision"),
    Column("fFt0Occ", doc="ft0cOccupancyInTimeRange of the collision"),
    Column("fOccMedianTime", doc="median-time occupancy, -999 (not simulated)"),
    Column("fHadronicRate", unit="kHz", doc="hadronic interaction rate of the run"),
    Column("fTPCdEdxNorm", doc="track QA dE/dx, -999 without track QA (as the skim writes it)"),
)
_TPC_SKIM_TRUTH = (
    Column("fTruthPidIndex", "u1", doc="synthetic truth: PID id of the true species", truth=True),
)

#: SkimmedTPCV0Tree ("TPCSKIMV0TREE"): V0 daughters (K0S -> pi pi, Lambda -> p pi, gamma -> e e)
TPC_SKIM_V0 = Table(
    name="SkimmedTPCV0Tree",
    description="TPCSKIMV0TREE",
    doc="V0 daughters for the TPC PID calibration (O2Physics tpcSkimsTableCreator)",
    columns=(
        *_TPC_SKIM_BASE,
        Column("fAlphaV0", doc="Armenteros alpha of the V0"),
        Column("fQtV0", unit="GeV/c", doc="Armenteros qT of the V0"),
        Column("fCosPAV0", doc="cosine of the V0 pointing angle"),
        Column("fPtV0", unit="GeV/c", doc="V0 transverse momentum"),
        Column("fRadiusV0", unit="cm", doc="V0 decay radius"),
        Column("fGammaPsiPair", doc="psi_pair angle of a photon conversion"),
        *_TPC_SKIM_TRUTH,
    ),
)

#: SkimmedTPCTOFTree ("TPCTOFSKIMTREE"): tracks tagged by TOF
TPC_SKIM_TOF = Table(
    name="SkimmedTPCTOFTree",
    description="TPCTOFSKIMTREE",
    doc="TOF-tagged tracks for the TPC PID calibration (O2Physics tpcSkimsTableCreator)",
    columns=(*_TPC_SKIM_BASE, *_TPC_SKIM_TRUTH),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (HF_CAND_DS_LITES, HF_CAND_LC_LITES, PID_TRACKS, TPC_SKIM_V0, TPC_SKIM_TOF)
}


def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise :class:`ColumnNotFoundError` naming the missing columns (and close names)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        hints = "".join(did_you_mean(c, df.columns) for c in missing)
        raise ColumnNotFoundError(
            f"{what} needs the columns {list(columns)}; missing {missing}.{hints}"
        )


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
