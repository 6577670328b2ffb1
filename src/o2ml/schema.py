"""The O2Physics tables o2ml reads and writes: names, columns, dtypes, units.

A table ``HfCandDsLites`` with description ``HFCANDDSLITE`` is stored in a file as the TTree
``O2hfcanddslite`` ("O2" + the lower-case description), once per ``DF_<n>`` folder.
Columns flagged ``mc`` exist only in MC files; columns flagged ``truth`` are o2ml's hidden truth,
written to synthetic *data* files on request only, so notebooks can run closure tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
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


class CharmClass(IntEnum):
    """The classes of the 3-class charm models, in their output order: that of O2Physics
    (``train_models.py``'s ``labels``, ``hf_cuts_ml::labelsDmesCutScore``). Every other list of
    the classes (labels, score columns, O2Physics' labels) derives from this one.

    (The ALICE O2 tutorial uses 0 prompt, 1 non-prompt, 2 background: o2ml writes its order into
    every exported model's metadata, so nobody has to guess.)
    """

    BACKGROUND = 0
    PROMPT = 1
    NONPROMPT = 2

    @property
    def short(self) -> str:
        """``bkg``, ``prompt``, ``nonprompt``: the class in score columns and O2Physics' labels."""
        return "bkg" if self is CharmClass.BACKGROUND else self.name.lower()


#: the class labels o2ml writes into every exported model's metadata, in :class:`CharmClass`
#: order: ``("background", "prompt", "nonprompt")``
CLASS_LABELS = tuple(c.name.lower() for c in CharmClass)
#: the score column of each class of the charm BDTs, in the models' output order:
#: ``("score_bkg", "score_prompt", "score_nonprompt")``
SCORE_COLUMNS = tuple(f"score_{c.short}" for c in CharmClass)

#: O2Physics' labels of the classes (``hf_cuts_ml::labelsDmesCutScore``,
#: PWGHF/Core/SelectorCuts.h): ``"ML score charm bkg"``, ``... prompt``, ``... nonprompt``
O2PHYSICS_DMESON_LABELS = tuple(f"ML score charm {c.short}" for c in CharmClass)


@dataclass(frozen=True)
class CandidateColumns:
    """The columns of a candidate table by role, for the functions that select, scan and apply.

    The defaults are the names O2Physics' HF tree creators write (``fM``, ``fPt``,
    ``fOriginMcRec``, e.g. ``treeCreatorDsToKKPi.cxx``); pass another instance for a table of
    your own: ``CandidateColumns(mass="m", pt="pt")``.
    """

    mass: str = "fM"  #: invariant mass of the candidate (GeV/c2)
    pt: str = "fPt"  #: transverse momentum of the candidate (GeV/c)
    origin: str = "fOriginMcRec"  #: MC origin (:class:`Origin`), MC files only


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

    @property
    def numpy_dtype(self) -> np.dtype:
        """The type of one value: ``"i4[2]"`` (a fixed array, O2's ``int[2]``) and ``"i4[]"``
        (O2's variable-size array) hold ``i4`` values."""
        return np.dtype(self.dtype.partition("[")[0])

    @property
    def shape(self) -> tuple[int, ...] | None:
        """``()`` for a plain value, ``(2,)`` for ``"i4[2]"``, None for a variable-size array."""
        _, bracket, size = self.dtype.partition("[")
        if not bracket:
            return ()
        size = size.rstrip("]")
        return (int(size),) if size else None


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
        """The value type of each column (that of one element for an array column)."""
        return {c.name: c.numpy_dtype for c in self.columns}

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
            arrays[col] = _conform_column(df[col], self[col])
        return arrays


def _conform_column(values: pd.Series, column: Column) -> np.ndarray:
    """A column's values as an array of its declared type: (n,) for a plain column, (n, k) for a
    fixed array, an object array of 1-D arrays for a variable-size array."""
    shape, dtype = column.shape, column.numpy_dtype
    if shape == ():
        return np.ascontiguousarray(values.to_numpy(), dtype=dtype)
    rows = [np.asarray(v, dtype=dtype).reshape(-1) for v in values]
    if shape is None:
        out = np.empty(len(rows), dtype=object)
        for i, r in enumerate(rows):  # element by element: equal lengths must not make a 2-D array
            out[i] = r
        return out
    if any(r.shape != shape for r in rows):
        raise SchemaError(f"column {column.name}: expected arrays of shape {shape} in every row.")
    return np.stack(rows) if rows else np.empty((0, *shape), dtype)


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

#: O2Physics PWGHF/TableProducer/treeCreatorDsToKKPi.cxx @ 55f4caa7 (master 9647b514), table
#: HfCandDsLites ("HFCANDDSLITE", lines 104-154), column for column in its order, with the C++
#: types (int8_t i1, int i4, uint16_t u2, float f4). fillCandidateTable (lines 332-429) fills it:
#: one row per mass hypothesis that passes the selection (the other hypothesis' fIsSel* is -1);
#: the MC columns exist in data files too, filled with 0 (`flagMc{0}`, `bMotherPdg{0}`), and
#: fIsCandidateSwapped holds the row's hypothesis there (`isSwapped{MassHypo}`: 0 KKpi, 1 piKK);
#: in MC it is the candidate creator's `isCandidateSwapped()` for every row, matched or not (0
#: if not matched), and fPdgBhadMotherPart its `pdgBhadMotherPart()`: the b-hadron's PDG code for
#: non-prompt matched candidates, 0 otherwise (PWGHF/TableProducer/candidateCreator3Prong.cxx
#: @ f86101a0, lines 1062-1079, 1353-1365). fY is `candidate.y(invMassDs)` (line 355): the
#: rapidity with the row's mass. fCentrality is `getCentralityColl(collision)`: -1 for
#: collisions without a centrality table
#: (PWGHF/Core/CentralityEstimation.h @ a61c3c1a, lines 121-128), i.e. with processData (the
#: default, line 666) and processMc (line 706; o2ml's MC). New since 1191ccad (which o2ml
#: followed before): fPdgBhadMotherPart (added by 9beb96e7).
HF_CAND_DS_LITES = Table(
    name="HfCandDsLites",
    description="HFCANDDSLITE",
    doc="Ds+ and D+ -> K K pi candidates (O2Physics treeCreatorDsToKKPi, lite table)",
    mc_in_data=True,
    source="PWGHF/TableProducer/treeCreatorDsToKKPi.cxx",
    commit="55f4caa7c70c1933c9d6062e4734c3e97550e89b",
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
        Column("fCentrality", doc="centrality percentile of the process' estimator; -1: none (default)"),
        Column("fNumContrib", "u2", doc="primary-vertex contributors"),
        Column("fFlagMcMatchRec", "i1", mc=True, doc="sign x hf_decay DecayChannelMain: +-5 Ds, +-4 D+ -> KKpi"),
        Column("fOriginMcRec", "i1", mc=True, doc="RecoDecay::OriginType: 0 none, 1 prompt, 2 non-prompt"),
        Column("fFlagMcDecayChanRec", "i1", mc=True, doc="DecayChannelResonant: 6 Ds -> phi pi, 1 D+ -> phi pi"),
        Column(
            "fPdgBhadMotherPart", "i4", mc=True,
            doc="PDG code of the b-hadron mother of a matched non-prompt candidate (signed), else 0",
        ),
        Column(
            "fIsCandidateSwapped", "i1",
            doc="MC: 1 if prong 0 of a matched candidate is a pion, 0 unmatched; data: the row's hypothesis",
        ),
        Column("fSign", "i1", doc="candidate charge"),
        *_CHARM_TRUTH,
    ),
)  # fmt: skip

#: O2Physics PWGHF/TableProducer/treeCreatorDplusToPiKPi.cxx @ 55f4caa7 (master 9647b514), table
#: HfCandDpLites ("HFCANDDPLITE", lines 106-153), column for column in its order, with the C++
#: types. fillCandidateTable (lines 305-398) writes one row per candidate that the selector
#: kept (isSelDplusToPiKPi >= selectionFlagDplus, 1): D+ -> pi+ K- pi+ has one mass hypothesis.
#: The MC columns exist in data files too, filled with 0 (``flagMc{0}``...); fCentrality is -1
#: unless a "WCent" process runs (``float cent{-1.}``, line 328), fY is HfHelper::yDplus. The
#: channel's other facts live in :mod:`o2ml.channels.dplus`; the table is declared here, with
#: the other O2 tables, because :mod:`o2ml.io` reads tables by name and sits below the channels.
HF_CAND_DP_LITES = Table(
    name="HfCandDpLites",
    description="HFCANDDPLITE",
    doc="D+ -> pi+ K- pi+ candidates (O2Physics treeCreatorDplusToPiKPi, lite table)",
    mc_in_data=True,
    source="PWGHF/TableProducer/treeCreatorDplusToPiKPi.cxx",
    commit="55f4caa7c70c1933c9d6062e4734c3e97550e89b",
    columns=(
        Column("fChi2PCA", unit="cm2", doc="sum of squared distances of the prongs to the vertex"),
        Column("fDecayLength", unit="cm"),
        Column("fDecayLengthXY", unit="cm"),
        Column("fDecayLengthNormalised", doc="decay length / its uncertainty"),
        Column("fDecayLengthXYNormalised", doc="XY decay length / its uncertainty"),
        *_prongs("fPtProng", unit="GeV/c"),
        *_prongs("fImpactParameter", unit="cm", doc="prong impact parameter XY (signed)"),
        *_prongs("fImpactParameterZ", unit="cm", doc="prong impact parameter Z (signed)"),
        *[c for i in range(3) for c in _nsigma_ds(i)],
        Column("fCandidateSelFlag", "i4", doc="selector status bits (isSelDplusToPiKPi)"),
        Column("fM", unit="GeV/c2", doc="invariant mass pi K pi"),
        Column("fPt", unit="GeV/c", doc="candidate transverse momentum"),
        Column("fCpa", doc="cosine of the pointing angle"),
        Column("fCpaXY", doc="cosine of the pointing angle in the transverse plane"),
        Column("fMaxNormalisedDeltaIP", doc="signed largest normalised (measured - expected) prong d0"),
        Column("fEta"),
        Column("fPhi", unit="rad"),
        Column("fY", doc="rapidity (D+ mass)"),
        Column("fCentrality", doc="centrality percentile of the process' estimator; -1: none (default)"),
        Column("fNumContrib", "u2", doc="primary-vertex contributors"),
        Column("fFlagMcMatchRec", "i1", mc=True, doc="sign x hf_decay DecayChannelMain: +-1 D+ -> pi K pi"),
        Column("fOriginMcRec", "i1", mc=True, doc="RecoDecay::OriginType: 0 none, 1 prompt, 2 non-prompt"),
        Column("fFlagMcDecayChanRec", "i1", mc=True, doc="DecayChannelResonant; 0 non-resonant"),
        Column(
            "fPdgBhadMotherPart", "i4", mc=True,
            doc="PDG code of the b-hadron mother of a matched non-prompt candidate (signed), else 0",
        ),
        *_CHARM_TRUTH,
    ),
)  # fmt: skip

#: O2Physics PWGHF/TableProducer/treeCreatorLcToPKPi.cxx @ de7b76d6 (master 9647b514), table
#: HfCandLcLites ("HFCANDLCLITE", lines 218-266), column for column in its order. fillLiteTable
#: (lines 627-713) writes one row per mass hypothesis that passes (fCandidateSelFlag 1 pKpi,
#: 2 piKp); prongs 0 and 2 carry p and pi nσ, prong 1 the kaon's. The MC columns exist in data too
#: (fFlagMc, fOriginMcRec, fIsCandidateSwapped 0; fChannel -1); in MC fIsCandidateSwapped is the
#: candidate creator's isCandidateSwapped(), 0 for unmatched candidates. fCentFT0C (new since
#: 405f5088, which o2ml followed before; added by de7b76d6) is collision.centFT0C() with a
#: process "WithCentrality" (processDataWithCentralityWithDCAFitterN is the default, line 1202),
#: else -1 (lines 654-657).
HF_CAND_LC_LITES = Table(
    name="HfCandLcLites",
    description="HFCANDLCLITE",
    doc="Lambda_c+ -> p K pi candidates (O2Physics treeCreatorLcToPKPi, lite table)",
    mc_in_data=True,
    source="PWGHF/TableProducer/treeCreatorLcToPKPi.cxx",
    commit="de7b76d6c97cdb406ea7aa3402564d4efa6c81ec",
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
        Column(
            "fIsCandidateSwapped", "i1", mc=True,
            doc="MC: 1 if prong 0 of a matched candidate is a pion, 0 unmatched (and in data)",
        ),
        Column("fChannel", "i1", mc=True, doc="DecayChannelResonant (MC; -1 in data)"),
        Column("fMassKPi", unit="GeV/c2", doc="m(K pi) of the row's hypothesis"),
        Column("fMlScoreFirstClass", doc="-999 unless the tree creator applied ML"),
        Column("fMlScoreSecondClass"),
        Column("fMlScoreThirdClass"),
        Column("fCentFT0C", doc="FT0C centrality percentile; -1 unless a process WithCentrality runs"),
        *_CHARM_TRUTH,
    ),
)  # fmt: skip

#: O2Physics DPG/Tasks/TPC/tpcSkimsTableCreator.h @ aa53e5da (master 9647b514),
#: TPCSKIMS_COLUMNS_BASE (lines 61-85) in its order, with the C++ types (bool: numpy "?", ROOT
#: leaf /O). What tpcSkimsTableCreator.cxx @ 58542e4e fills (fillSkimmedV0Table, lines 276-332;
#: the TOF tree, lines 755-798): fIsGoodRct = rctChecker.checkTable(collision) (label
#: "CBT_hadronPID"; rows of bad runs are written too unless requireGoodRct, default false: lines
#: 111-114, 455-458), fInvDeDxExpTPC = 1 / (expected dE/dx of the row's mass hypothesis),
#: fNormMultTPC = multTPC / 11000, fNormNClustersTPC = sqrt(152 / tpcNClsFound),
#: fNormNClustersTPCPID the raw track.tpcNClsPID(), the TPC clusters used for the dE/dx (lines
#: 279, 758; since 3fa50ea0, before the raw tpcNClsFindableMinusPID): O2's dynamic column of
#: TPCNClsFindable and TPCNClsFindableMinusPID (so bound in PWGEM/Dilepton/DataModel/
#: dileptonTables.h @ fbbe8484, line 863), fPidIndex the o2::track::PID id of the hypothesis
#: (0 e, 2 pi, 3 K, 4 p), fNSigTOF of the V0 tree 1000 for photon electrons (NSigmaTofElectorn)
#: and the V0's TOF nsigma for the others, kNoTOFValue = -1e6 without TOF (lines 121-124,
#: 241-262; PWGLF/DataModel/LFStrangenessPIDTables.h @ 90ebdcce, line 200), fTPCdEdxNorm -999
#: without track QA (lines 298-301). New since bd0399b6 (which o2ml followed before):
#: fIsGoodRct (added by aa53e5da). docs/o2physics_tpc_network.md
_TPC_SKIM_BASE = (
    Column("fIsGoodRct", "?", doc="the collision passes the RCT flags (CBT_hadronPID); bool"),
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
    Column("fNormNClustersTPCPID", doc="tpcNClsPID(): clusters used for the dE/dx, not normalised"),
    Column("fPidIndex", "u1", doc="o2::track::PID id of the hypothesis: 0 e, 2 pi, 3 K, 4 p"),
    Column("fNSigTPC", doc="TPC nsigma of the hypothesis (pidTPC, Bethe-Bloch)"),
    Column("fNSigTOF", doc="TOF nsigma of the hypothesis; V0 tree: 1000 photon e, -1e6 no TOF"),
    Column("fNSigITS", doc="ITS nsigma of the hypothesis, -999 (not simulated)"),
    Column("fRunNumber", "i4"),
    Column("fTrackOcc", doc="trackOccupancyInTimeRange of the collision"),
    Column("fFt0Occ", doc="ft0cOccupancyInTimeRange of the collision"),
    Column("fOccMedianTime", doc="median-time occupancy, -999 (not simulated)"),
    Column("fHadronicRate", unit="kHz", doc="hadronic interaction rate of the run"),
    Column("fTPCdEdxNorm", doc="track QA dE/dx, -999 without track QA (as the skim writes it)"),
)
#: the header declares both skims (the .cxx fills them: its commit is in the comment above)
_TPC_SKIMS_SOURCE = "DPG/Tasks/TPC/tpcSkimsTableCreator.h"
_TPC_SKIMS_COMMIT = "aa53e5daa0f900cbd262dd34009ae178a4e434c5"
_TPC_SKIM_TRUTH = (
    Column("fTruthPidIndex", "u1", doc="synthetic truth: PID id of the true species", truth=True),
)

#: SkimmedTPCV0Tree ("TPCSKIMV0TREE"): V0 daughters (K0S -> pi pi, Lambda -> p pi, gamma -> e e)
TPC_SKIM_V0 = Table(
    name="SkimmedTPCV0Tree",
    description="TPCSKIMV0TREE",
    doc="V0 daughters for the TPC PID calibration (O2Physics tpcSkimsTableCreator)",
    source=_TPC_SKIMS_SOURCE,
    commit=_TPC_SKIMS_COMMIT,
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
    source=_TPC_SKIMS_SOURCE,
    commit=_TPC_SKIMS_COMMIT,
    columns=(*_TPC_SKIM_BASE, *_TPC_SKIM_TRUTH),
)

# ------------------------------------------------------------------ AO2D tables (O2 data model)
#: AliceO2 Framework/Core/include/Framework/AnalysisDataModel.h, read at bb1000df (the file's last
#: change in the snapshot read; docs/o2_tables.md): the joinable track tables an O2 analysis reads
#: row by row (``soa::Join<TracksIU, TracksExtra, McTrackLabels>``). Index columns are
#: ``fIndex<Table>`` and count rows of the referenced table *in the same DF_ folder*.
_O2_DATA_MODEL = "AliceO2: Framework/Core/include/Framework/AnalysisDataModel.h"
_O2_DATA_MODEL_COMMIT = "bb1000df7851affda1c7ecfc0b6f1c58e97bfb51"

TRACKS_IU = Table(
    name="TracksIU",
    description="TRACK_IU",
    doc="track parameters at the innermost update (StoredTracksIU, as the tracking writes them)",
    source=_O2_DATA_MODEL,
    commit=_O2_DATA_MODEL_COMMIT,
    columns=(
        Column("fIndexCollisions", "i4", doc="row of the track's collision in O2collision (-1: none)"),
        Column("fTrackType", "u1", doc="TrackTypeEnum: 0 at the innermost update, 1 propagated (not the detector map)"),
        Column("fX", unit="cm", doc="x of the track reference frame"),
        Column("fAlpha", unit="rad", doc="rotation of the track reference frame"),
        Column("fY", unit="cm"),
        Column("fZ", unit="cm"),
        Column("fSnp", doc="sin(phi) in the track frame"),
        Column("fTgl", doc="tan(lambda) = pz / pt"),
        Column("fSigned1Pt", unit="c/GeV", doc="charge / pT"),
    ),
)  # fmt: skip

TRACKS = Table(
    name="Tracks",
    description="TRACK",
    doc="track parameters propagated to the collision vertex (StoredTracks; fTrackType 1)",
    source=_O2_DATA_MODEL,
    commit=_O2_DATA_MODEL_COMMIT,
    columns=TRACKS_IU.columns,
)

#: TracksExtra version 2 (tree ``O2trackextra_002``): the column order of O2Physics
#: Common/TableProducer/Converters/tracksExtraV002Converter.cxx @ 473e3981 (which fills it from
#: versions 0 and 1) and the types of AnalysisDataModel.h. ``TracksExtra = TracksExtra_002``.
TRACKS_EXTRA = Table(
    name="TracksExtra_002",
    description="TRACKEXTRA_002",
    doc="additional track information: TPC, ITS cluster sizes, TRD, TOF (StoredTracksExtra_002)",
    source="O2Physics: Common/TableProducer/Converters/tracksExtraV002Converter.cxx (order); " + _O2_DATA_MODEL,
    commit="473e3981794d03629537ed763c03291633c10b54",
    columns=(
        Column("fTPCInnerParam", unit="GeV/c", doc="momentum at the inner wall of the TPC"),
        Column("fFlags", "u4", doc="TrackFlags"),
        Column("fITSClusterSizes", "u4", doc="ITS2 cluster size per layer, 4 bits each, layer 0 lowest; 0: no hit"),
        Column("fTPCNClsFindable", "u1"),
        Column("fTPCNClsFindableMinusFound", "i1"),
        Column("fTPCNClsFindableMinusPID", "i1", doc="findable - clusters used for the dE/dx"),
        Column("fTPCNClsFindableMinusCrossedRows", "i1"),
        Column("fTPCNClsShared", "u1"),
        Column("fTRDPattern", "u1", doc="bits 0-5: TRD layers with a tracklet; 0: no TRD"),
        Column("fITSChi2NCl", doc="ITS chi2 / cluster; < 0 without ITS"),
        Column("fTPCChi2NCl"),
        Column("fTRDChi2"),
        Column("fTOFChi2", doc="< 0 without a TOF match"),
        Column("fTPCSignal", unit="a.u.", doc="TPC dE/dx"),
        Column("fTRDSignal", unit="a.u."),
        Column("fLength", unit="cm", doc="track length to TOF"),
        Column("fTOFExpMom", unit="GeV/c", doc="momentum for the TOF expected times"),
        Column("fTrackEtaEMCAL"),
        Column("fTrackPhiEMCAL", unit="rad"),
        Column("fTrackTime", unit="ns"),
        Column("fTrackTimeRes", unit="ns"),
    ),
)  # fmt: skip

MC_TRACK_LABELS = Table(
    name="McTrackLabels",
    description="MCTRACKLABEL",
    doc="per track: the MC particle it comes from (MC only; joinable with the tracks)",
    source=_O2_DATA_MODEL,
    commit=_O2_DATA_MODEL_COMMIT,
    columns=(
        Column("fIndexMcParticles", "i4", doc="row of the particle in O2mcparticle_001 (-1: fake)"),
        Column("fMcMask", "u2", doc="bits of detector mismatches; bit 15: negative label"),
    ),
)

MC_PARTICLES = Table(
    name="McParticles_001",
    description="MCPARTICLE_001",
    doc="generated particles (StoredMcParticles_001); fIndexArray_Mothers (variable size) and "
    "fIndexSlice_Daughters (int[2]) are O2's array columns",
    source=_O2_DATA_MODEL,
    commit=_O2_DATA_MODEL_COMMIT,
    columns=(
        Column("fIndexMcCollisions", "i4"),
        Column("fPdgCode", "i4"),
        Column("fStatusCode", "i4"),
        Column("fFlags", "u1", doc="bit 0 produced by transport, bit 1 physical primary"),
        Column("fIndexArray_Mothers", "i4[]", doc="rows of the mothers (variable size)"),
        Column("fIndexSlice_Daughters", "i4[2]", doc="first and last daughter row, -1 -1: none"),
        Column("fWeight"),
        Column("fPx", unit="GeV/c"),
        Column("fPy", unit="GeV/c"),
        Column("fPz", unit="GeV/c"),
        Column("fE", unit="GeV"),
        Column("fVx", unit="cm"),
        Column("fVy", unit="cm"),
        Column("fVz", unit="cm"),
        Column("fVt", unit="ns"),
    ),
)

#: O2Physics PWGDQ/DataModel/ReducedInfoTables.h @ 796304b7 (table V0Bits), filled by
#: PWGDQ/Tasks/v0selector.cxx @ 06c6c2c5: one row per track (joinable with the tracks), bit k
#: set when the track is a daughter of a selected V0 of kind k.
V0_BITS = Table(
    name="V0Bits",
    description="V0BITS",
    doc="per track: daughter of a selected V0 (PWGDQ v0selector)",
    source="O2Physics: PWGDQ/DataModel/ReducedInfoTables.h, PWGDQ/Tasks/v0selector.cxx",
    commit="06c6c2c58ca5e031f2993d92474136ebeb67469d",
    columns=(
        Column(
            "fPIDBit",
            "u1",
            doc="bit 0 photon conversion, 1 K0S, 2 Lambda, 3 anti-Lambda, 4 Omega, 5 anti-Omega",
        ),
    ),
)

#: o2ml's hidden truth of synthetic *data* tracks, one row per track (joinable with them); real
#: data never hold it, and o2ml writes it only on request (``--with-truth``)
SYNTHETIC_TRUTH = Table(
    name="SyntheticTruth",
    description="SYNTHETICTRUTH",
    doc="o2ml synthetic data only: the true particle of each track",
    columns=(Column("fTruthPdgCode", "i4", doc="synthetic truth: PDG code", truth=True),),
)

# ------------------------------------------------------------------ PIDML (O2Physics Tools/PIDML)
#: O2Physics Tools/PIDML/pidMl.h @ b4e8f5cd, filled by pidMlProducer.cxx @ b4e8f5cd: one row per
#: global track (requireGlobalTrackInFilter). A track without TOF has fTOFSignal and fBeta NaN,
#: one without TRD fTRDSignal NaN and fTRDPattern 0 (getTOFSignal, getTRDSignal, getTRDPattern).
#: No η, no ITS cluster sizes, no nσ: o2ml derives η and φ from fPx, fPy, fPz.
_PIDML_TRACK = (
    Column("fTPCSignal", unit="a.u.", doc="TPC dE/dx"),
    Column("fTRDSignal", unit="a.u.", doc="TRD signal, NaN without TRD"),
    Column("fTRDPattern", "u1", doc="TRD layers with a tracklet (bits 0-5), 0 without TRD"),
    Column("fTOFSignal", unit="ps", doc="TOF signal, NaN without TOF"),
    Column("fBeta", doc="TOF beta, NaN without TOF"),
    Column("fP", unit="GeV/c"),
    Column("fPt", unit="GeV/c"),
    Column("fPx", unit="GeV/c"),
    Column("fPy", unit="GeV/c"),
    Column("fPz", unit="GeV/c"),
    Column("fSign", doc="track charge, a float in PIDML"),
    Column("fX", unit="cm"),
    Column("fY", unit="cm"),
    Column("fZ", unit="cm"),
    Column("fAlpha", unit="rad"),
    Column("fTrackType", "u1"),
    Column("fTPCNClsShared", "u1"),
    Column("fDcaXY", unit="cm"),
    Column("fDcaZ", unit="cm"),
)
_PIDML_SOURCE = "O2Physics: Tools/PIDML/pidMl.h, Tools/PIDML/pidMlProducer.cxx"
_PIDML_COMMIT = "b4e8f5cdfb3325c94bdd2c1c5048f0a92a54581d"

PID_TRACKS_MC_ML = Table(
    name="PidTracksMcMl",
    description="PIDTRACKSMCML",
    doc="MC tracks for PID training (O2Physics pidMlProducer, processMcMl)",
    source=_PIDML_SOURCE,
    commit=_PIDML_COMMIT,
    columns=(
        *_PIDML_TRACK,
        Column("fPdgCode", "i4", doc="PDG code of the track's MC particle"),
        Column("fIsPhysicalPrimary", "u1"),
    ),
)

PID_TRACKS_DATA_ML = Table(
    name="PidTracksDataMl",
    description="PIDTRACKSDATAML",
    doc="data tracks for prediction and domain adaptation (O2Physics pidMlProducer, processDataML)",
    source=_PIDML_SOURCE,
    commit=_PIDML_COMMIT,
    columns=(
        *_PIDML_TRACK,
        Column("fTruthPdgCode", "i4", doc="synthetic truth: PDG code of the track", truth=True),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        HF_CAND_DS_LITES,
        HF_CAND_LC_LITES,
        HF_CAND_DP_LITES,
        TPC_SKIM_V0,
        TPC_SKIM_TOF,
        TRACKS_IU,
        TRACKS,
        TRACKS_EXTRA,
        MC_TRACK_LABELS,
        MC_PARTICLES,
        V0_BITS,
        SYNTHETIC_TRUTH,
        PID_TRACKS_MC_ML,
        PID_TRACKS_DATA_ML,
    )
}


#: a table's columns found are listed in full up to this many, else counted
_FOUND_LISTED = 12


def column_names(table) -> list[str]:
    """The column names of a DataFrame, a pyarrow Table, a mapping of columns (``{name:
    values}``) or an iterable of names."""
    names = getattr(table, "column_names", None)  # pyarrow (whose .columns are the arrays)
    if names is None:
        names = getattr(table, "columns", None)  # pandas
    if names is None:
        names = table.keys() if isinstance(table, Mapping) else table
    return [str(c) for c in names]


def require_columns(df, columns: Sequence[str], what: str) -> None:
    """Raise :class:`ColumnNotFoundError` naming the missing columns, what was found and the
    close names, if ``df`` lacks one of ``columns``.

    ``df``: a DataFrame, a pyarrow Table, a mapping of columns or the column names
    (:func:`column_names`). ``what``: who needs them, with the file or table where known
    (``f"{path}: the DANN inputs"``); the message reads "<what> needs the columns [...];
    missing [...] (found ...)."
    """
    have = column_names(df)
    known = set(have)
    missing = [c for c in columns if c not in known]
    if missing:
        found = f"found {have}" if len(have) <= _FOUND_LISTED else f"found {len(have)} columns"
        wanted = set(columns)
        others = [c for c in have if c not in wanted]  # a present one is no alternative
        hints = "".join(dict.fromkeys(did_you_mean(c, others) for c in missing))
        raise ColumnNotFoundError(
            f"{what} needs the columns {list(columns)}; missing {missing} ({found}).{hints}"
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
