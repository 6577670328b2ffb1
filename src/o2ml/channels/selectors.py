"""The O2Physics ML selectors: which feature names each one offers, and which tree column holds each.

An exported selection runs in an O2Physics candidate selector, whose ``MlResponse`` subclass
offers a fixed list of feature names (``namesInputFeatures``) and stops at initialisation on any
other (``MlResponse::cacheInputFeaturesIndices``: ``LOG(fatal) << "Input feature " << name <<
" not available! Please check your configurables."``). o2ml trains on tree-creator columns
(``fCpa``, ``fAbsCos3PiK``, ...), so each selector below maps its names to the column that holds
the same value, computed the same way (units and signs included).

Sources (AliceO2Group/O2Physics; commits as read for this table):

- ``PWGHF/Core/HfMlResponseDsToKKPi.h`` @ bfbeadc8613979d695ee66dcd940519474c812cf
- ``PWGHF/Core/HfMlResponseLcToPKPi.h`` @ 1d80ce78193794cc3dbafa32286c06c1d105e28e
- ``PWGHF/Core/HfMlResponseDplusToPiKPi.h`` @ ca85f442b212d17d5c629a4cba579c1036f11152
- ``Tools/ML/MlResponse.h`` @ 6bb2d157888bd9e7070f91f5921bb781e2ba4fee
- the selector tasks ``PWGHF/TableProducer/candidateSelectorDsToKKPi.cxx`` @ 2617ff2f,
  ``candidateSelectorLc.cxx`` @ ece2a3de, ``candidateSelectorDplusToPiKPi.cxx`` @ b31d538c
  (task names: the struct name in kebab case, as O2's ``type_to_task_name`` makes them)
- ``Tutorials/ML/applyMlSelection.cxx`` (the O2 analysis tutorial's own task, fixed vector)
- each task's own candidate-pT cut (``ptCandMin``/``ptCandMax``, :class:`PtCut`), read on O2Physics
  master: the file, line and commit are in each selector's ``pt_cut``

A column follows O2's naming rule: ``DECLARE_SOA_COLUMN(ImpactParameter0, ...)`` is the branch
``fImpactParameter0`` in every tree that stores it. Names whose value depends on the mass
hypothesis of the row (``nSigTpcKaExpKa0``: prong 0's kaon nσ for KKπ, prong 2's for πKK) or that
no lite tree stores (KFParticle quantities) have no column: training on them needs derived
columns o2ml does not make yet, and the error says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..errors import UnsupportedFeatureError, closest

__all__ = [
    "ASSUMED_PT_CUT",
    "DPLUS_SELECTOR",
    "DS_SELECTOR",
    "LC_SELECTOR",
    "SELECTORS",
    "TUTORIAL_TASK",
    "CustomTask",
    "Feature",
    "PtCut",
    "Selector",
    "UnsupportedFeatureError",
    "find_selector",
]


@dataclass(frozen=True)
class Feature:
    """One ``namesInputFeatures`` entry of an ``MlResponse`` class."""

    name: str  #: as in ``namesInputFeatures``
    column: str | None  #: the tree column holding the same value; None: no tree column does
    computed: str  #: what the selector evaluates (O2Physics getter)


@dataclass(frozen=True)
class PtCut:
    """A task's own candidate-pT cut, applied before it calls ``MlResponse::isSelectedMl``.

    The task rejects ``pt < ptCandMin`` and ``pt <above> ptCandMax``, where ``pt`` is
    ``candidate.pt()``, a float (``hf_cand::Pt`` returns float, PWGHF/DataModel/
    CandidateReconstructionTables.h), compared with ``Configurable<double>`` limits (the float is
    promoted to double). A candidate it accepts reaches ``MlResponse::findBin``, which returns -1
    outside ``[binsPtMl.front(), binsPtMl.back())`` and the job stops (``LOG(fatal)``).
    """

    above: str  #: the upper comparison that rejects: ``">"`` (pt > ptCandMax) or ``">="``
    source: str  #: O2Physics file:line of the comparison
    commit: str  #: O2Physics commit of that file (the last one that touched it, as read)
    default_min: float | None  #: the task's default ``ptCandMin`` (a configuration without it)
    default_max: float | None  #: the task's default ``ptCandMax``
    below: str = "<"  #: the lower comparison that rejects: pt < ptCandMin
    limit_type: str = "double"  #: ``Configurable<double> ptCandMin/ptCandMax``
    pt_type: str = "float"  #: the type of ``candidate.pt()``

    def __post_init__(self) -> None:
        if self.below != "<" or self.above not in (">", ">="):
            raise ValueError(f"unsupported pT comparison: {self.below!r}, {self.above!r}")

    def describe(self) -> str:
        return (
            f"rejects pt {self.below} ptCandMin || pt {self.above} ptCandMax "
            f"({self.source} @ {self.commit[:8]})"
        )


_O2P_CXX = "PWGHF/TableProducer/"
#: O2Physics commits of the files read for the pT cuts below (``git log -1 -- FILE`` on master)
_DS_DPLUS_COMMIT = "ff48628324f122937af4ae14c0bec2793bc990f4"
_LC_COMMIT = "d5eb4215b54b0ac082975eb8ea68b937474ab241"
_TUTORIAL_COMMIT = "9ad38d0204320f6af10efc9dcb99f2cbe71a1bcb"
#: a custom task whose comparison o2ml does not know: assumed ``>`` (as the tutorial and the Ds
#: and D+ selectors), the stricter of the two for ptCandMax, so the limits written stay safe
#: under either comparison
#: (its defaults unknown: a configuration without ptCandMin/ptCandMax is read as no pT cut)
ASSUMED_PT_CUT = PtCut(
    ">", "unknown task (assumed as Tutorials/ML/applyMlSelection.cxx)", _TUTORIAL_COMMIT, None, None
)


@dataclass(frozen=True)
class Selector:
    """An O2Physics candidate selector with an ``MlResponse`` class and its feature names."""

    task: str  #: DPL task name: the top-level key of its ``dpl-config.json`` section
    ml_response: str  #: the ``MlResponse`` subclass that computes the features
    channel: str  #: decay channel, as the O2Physics training macros name it
    table: str  #: the tree creator's lite table o2ml trains on
    source: str  #: O2Physics file of the feature list
    features: tuple[Feature, ...]  #: every name the class offers, in its enum order
    default_onnx: str = ""  #: the task's default ``onnxFileNames``
    default_ccdb_path: str = ""  #: the task's default ``modelPathsCCDB``
    pt_cut: PtCut = ASSUMED_PT_CUT  #: the task's own ``ptCandMin``/``ptCandMax`` cut
    _by_column: dict = field(init=False, repr=False, compare=False)
    _by_name: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.features})
        object.__setattr__(
            self, "_by_column", {f.column: f for f in self.features if f.column is not None}
        )

    @property
    def names(self) -> list[str]:
        """Every feature name the selector offers, in the header's order."""
        return [f.name for f in self.features]

    @property
    def columns(self) -> list[str]:
        """The tree columns that have a counterpart, in the header's order."""
        return [f.column for f in self.features if f.column is not None]

    def feature(self, name: str) -> Feature:
        """The :class:`Feature` of a name (what the selector computes, its tree column)."""
        if name not in self._by_name:
            self.column_of(name)  # fails as MlResponse fails on an unknown name
        return self._by_name[name]

    def describe(self, columns: Iterable[str]) -> list[dict]:
        """One row per training column: its ``namesInputFeatures`` entry and what that computes."""
        return [
            {
                "tree column": c,
                "namesInputFeatures": n,
                "the selector computes": self._by_name[n].computed,
            }
            for c, n in zip(columns, self.names_of(columns), strict=True)
        ]

    def name_of(self, column: str) -> str:
        """The selector's name for a tree column; a clear error if it offers none."""
        if column in self._by_column:
            return self._by_column[column].name
        near = [f"{c} (as {self._by_column[c].name})" for c in closest(column, self.columns)]
        near += [n for n in closest(column.removeprefix("f"), self.names) if n not in str(near)]
        hint = f" Closest it offers: {', '.join(near)}." if near else ""
        raise UnsupportedFeatureError(
            f"{self.task} ({self.ml_response}, {self.source}) cannot compute the training column "
            f"{column!r}: none of its namesInputFeatures holds that value.{hint} Train on columns "
            "it offers, or export for a custom task of yours (task=..., selector=None), whose "
            "fixed feature vector you fill in this order."
        )

    def names_of(self, columns: Iterable[str]) -> list[str]:
        """``namesInputFeatures`` for training columns, in the same order."""
        return [self.name_of(c) for c in columns]

    def column_of(self, name: str) -> str:
        """The tree column for a ``namesInputFeatures`` entry.

        An unknown name fails as ``MlResponse::cacheInputFeaturesIndices`` fails (same message);
        a known one without a tree column says what the selector computes instead.
        """
        if name not in self._by_name:
            raise UnsupportedFeatureError(
                f"Input feature {name} not available! Please check your configurables. "
                f"({self.ml_response} of {self.task} stops here; {self.source} offers "
                f"{len(self.features)} names." + _hint(name, self.names) + ")"
            )
        feature = self._by_name[name]
        if feature.column is None:
            raise UnsupportedFeatureError(
                f"{self.task}: the feature {name!r} ({feature.computed}) is not a tree column, "
                "so o2ml cannot compute it from your files; give the tree columns yourself "
                "(features=..., --features)."
            )
        return feature.column

    def columns_of(self, names: Iterable[str]) -> list[str]:
        return [self.column_of(n) for n in names]


@dataclass(frozen=True)
class CustomTask:
    """A task of one's own that feeds ``MlResponse`` a fixed feature vector (no names to check).

    ``vector`` lists what the task computes, in order, and the tree column holding each value
    (None: no tree column does), so that a model trained on columns can be checked against it.
    """

    task: str
    source: str
    vector: tuple[Feature, ...]
    pt_cut: PtCut = ASSUMED_PT_CUT  #: the task's own ``ptCandMin``/``ptCandMax`` cut

    def check(self, columns: Sequence[str]) -> None:
        """Refuse training columns that are not exactly the task's vector, in its order."""
        expected = [f.column for f in self.vector]
        if list(columns) == expected:
            return
        problems = []
        for i, f in enumerate(self.vector):
            got = columns[i] if i < len(columns) else None
            if f.column is None:
                problems.append(
                    f"position {i}: the task feeds {f.computed}, which no tree column holds"
                )
            elif got != f.column:
                problems.append(
                    f"position {i}: the task feeds {f.computed} = {f.column}, not {got}"
                )
        if len(columns) > len(self.vector):
            problems.append(f"{len(columns) - len(self.vector)} columns more than the task feeds")
        raise UnsupportedFeatureError(
            f"{self.task} ({self.source}) feeds {len(self.vector)} values in a fixed order; the "
            f"model was trained on {list(columns)}: " + "; ".join(problems) + "."
        )


def _hint(name: str, names: Sequence[str]) -> str:
    near = closest(name, names)
    return f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""


def _f(name: str, column: str | None, computed: str) -> Feature:
    return Feature(name, column, computed)


def _same(name: str, getter: str | None = None) -> Feature:
    """A name whose tree column is ``f`` + the capitalised name (O2's branch naming)."""
    return Feature(name, "f" + name[0].upper() + name[1:], f"candidate.{getter or name}()")


def _pid(prefix: str, species: str, prong: int, column_stem: str, getter_stem: str) -> Feature:
    return Feature(
        f"{prefix}{species}{prong}",
        f"f{column_stem}{species}{prong}",
        f"candidate.{getter_stem}{species}{prong}()",
    )


def _by_hypothesis(name: str, first: str, second: str, hypotheses: str) -> Feature:
    return Feature(name, None, f"{first} or {second} by the mass hypothesis ({hypotheses})")


def _ds_features() -> tuple[Feature, ...]:
    out = [
        _same("chi2PCA"),
        _same("decayLength"),
        _same("decayLengthXY"),
        _same("decayLengthNormalised"),
        _same("decayLengthXYNormalised"),
        _same("maxNormalisedDeltaIP"),  # signed, like the tree's
        _same("cpa"),
        _same("cpaXY"),
        _same("ptProng0"),
        _same("ptProng1"),
        _same("ptProng2"),
        _same("impactParameterXY"),  # candidate-level, signed (RecoDecay::impParXY), cm
        *[
            _f(f"impactParameterXY{i}", f"fImpactParameter{i}", f"candidate.impactParameter{i}()")
            for i in range(3)
        ],
        *[_same(f"impactParameterZ{i}") for i in range(3)],
    ]
    for det, getter in (("Tpc", "nSigTpc"), ("Tof", "nSigTof")):
        for sp in ("Pi", "Ka"):
            out += [_pid(f"nSig{det}", sp, i, f"NSig{det}", getter) for i in range(3)]
    for sp in ("Pi", "Ka"):  # combined TPC+TOF (PWGHF combineNSigma: >= 0, -999 if neither)
        out += [_pid("nSigTpcTof", sp, i, "NSigTpcTof", "tpcTofNSigma") for i in range(3)]
    hypo = "KKpi / piKK"
    out += [
        _by_hypothesis("nSigTpcKaExpKa0", "nSigTpcKa0", "nSigTpcKa2", hypo),
        _by_hypothesis("nSigTpcPiExpPi2", "nSigTpcPi2", "nSigTpcPi0", hypo),
        _by_hypothesis("nSigTofKaExpKa0", "nSigTofKa0", "nSigTofKa2", hypo),
        _by_hypothesis("nSigTofPiExpPi2", "nSigTofPi2", "nSigTofPi0", hypo),
        _by_hypothesis("nSigTpcTofKaExpKa0", "tpcTofNSigmaKa0", "tpcTofNSigmaKa2", hypo),
        _by_hypothesis("nSigTpcTofPiExpPi2", "tpcTofNSigmaPi2", "tpcTofNSigmaPi0", hypo),
        # |cos^3 theta'(piK)| and |m(KK) - m(phi)| of the row's hypothesis: the tree creator
        # computes its columns with the same HfHelper functions
        _f("absCos3PiK", "fAbsCos3PiK", "HfHelper::absCos3PiKDsToKKPi / ...DsToPiKK(candidate)"),
        _f(
            "deltaMassPhi",
            "fDeltaMassPhi",
            "HfHelper::deltaMassPhiDsToKKPi / ...DsToPiKK(candidate)",
        ),
    ]
    return tuple(out)


def _lc_features() -> tuple[Feature, ...]:
    out = [
        *[_same(f"ptProng{i}") for i in range(3)],
        *[
            _f(f"impactParameterXY{i}", f"fImpactParameter{i}", f"candidate.impactParameter{i}()")
            for i in range(3)
        ],
        *[_same(f"impactParameterZ{i}") for i in range(3)],
        _same("decayLength"),
        _same("decayLengthXY"),
        _same("decayLengthXYNormalised"),
        _same("cpa"),
        _same("cpaXY"),
        _same("chi2PCA"),
    ]
    for det, stem in (("tpc", "Tpc"), ("tof", "Tof")):
        for i in range(3):
            for sp in ("Pr", "Ka", "Pi"):
                out.append(
                    _f(
                        f"{det}NSigma{sp}{i}",
                        f"fNSig{stem}{sp}{i}",
                        f"candidate.nSig{stem}{sp}{i}()",
                    )
                )
    for sp in ("Pi", "Ka", "Pr"):
        out += [_pid("tpcTofNSigma", sp, i, "NSigTpcTof", "tpcTofNSigma") for i in range(3)]
    hypo = "pKpi / piKp"
    for det, getter in (("tpc", "nSigTpc"), ("tof", "nSigTof"), ("tpcTof", "tpcTofNSigma")):
        out += [
            _by_hypothesis(f"{det}NSigmaPrExpPr0", f"{getter}Pr0", f"{getter}Pr2", hypo),
            _by_hypothesis(f"{det}NSigmaPiExpPi2", f"{getter}Pi2", f"{getter}Pi0", hypo),
        ]
    kf = "KFParticle only (VertexerType::KfParticle), no lite-tree column"
    out += [
        _f(n, None, kf)
        for n in (
            "kfChi2PrimProton", "kfChi2PrimKaon", "kfChi2PrimPion", "kfChi2GeoKaonPion",
            "kfChi2GeoProtonPion", "kfChi2GeoProtonKaon", "kfDcaKaonPion", "kfDcaProtonPion",
            "kfDcaProtonKaon", "kfChi2Geo", "kfChi2Topo", "kfDecayLengthNormalised",
        )
    ]  # fmt: skip
    return tuple(out)


def _dplus_features() -> tuple[Feature, ...]:
    out = [
        *[_same(f"ptProng{i}") for i in range(3)],
        *[
            _f(f"impactParameterXY{i}", f"fImpactParameter{i}", f"candidate.impactParameter{i}()")
            for i in range(3)
        ],
        *[_same(f"impactParameterZ{i}") for i in range(3)],
        _same("decayLength"),
        _same("decayLengthXY"),
        _same("decayLengthNormalised"),
        _same("decayLengthXYNormalised"),
        _same("cpa"),
        _same("cpaXY"),
        _same("maxNormalisedDeltaIP"),
        _same("chi2PCA"),
    ]
    for det, stem in (("tpc", "Tpc"), ("tof", "Tof")):
        for i in range(3):
            for sp in ("Pi", "Ka"):
                out.append(
                    _f(
                        f"{det}NSigma{sp}{i}",
                        f"fNSig{stem}{sp}{i}",
                        f"candidate.nSig{stem}{sp}{i}()",
                    )
                )
    for sp in ("Pi", "Ka"):
        out += [_pid("tpcTofNSigma", sp, i, "NSigTpcTof", "tpcTofNSigma") for i in range(3)]
    return tuple(out)


DS_SELECTOR = Selector(
    task="hf-candidate-selector-ds-to-k-k-pi",
    ml_response="HfMlResponseDsToKKPi",
    channel="DsToKKPi",
    table="HfCandDsLites",
    source="PWGHF/Core/HfMlResponseDsToKKPi.h",
    features=_ds_features(),
    default_onnx="ModelHandler_onnx_DsToKKPi.onnx",
    default_ccdb_path="EventFiltering/PWGHF/BDTDs",
    # Configurable<double> ptCandMin{.., 1., ..}, ptCandMax{.., 36., ..} at lines 58-59
    pt_cut=PtCut(">", _O2P_CXX + "candidateSelectorDsToKKPi.cxx:172", _DS_DPLUS_COMMIT, 1.0, 36.0),
)
LC_SELECTOR = Selector(
    task="hf-candidate-selector-lc",
    ml_response="HfMlResponseLcToPKPi",
    channel="LcToPKPi",
    table="HfCandLcLites",
    source="PWGHF/Core/HfMlResponseLcToPKPi.h",
    features=_lc_features(),
    default_onnx="ModelHandler_onnx_LcToPKPi.onnx",
    default_ccdb_path="EventFiltering/PWGHF/BDTLc",
    # Configurable<double> ptCandMin{.., 0., ..}, ptCandMax{.., 36., ..} at lines 62-63
    pt_cut=PtCut(">=", _O2P_CXX + "candidateSelectorLc.cxx:226", _LC_COMMIT, 0.0, 36.0),
)
DPLUS_SELECTOR = Selector(
    task="hf-candidate-selector-dplus-to-pi-k-pi",
    ml_response="HfMlResponseDplusToPiKPi",
    channel="DplusToPiKPi",
    table="HfCandDpLites",
    source="PWGHF/Core/HfMlResponseDplusToPiKPi.h",
    features=_dplus_features(),
    default_onnx="ModelHandler_onnx_DPlusToKPiPi.onnx",
    default_ccdb_path="EventFiltering/PWGHF/BDTDPlus",
    # Configurable<double> ptCandMin{.., 1., ..}, ptCandMax{.., 36., ..} at lines 58-59
    pt_cut=PtCut(
        ">", _O2P_CXX + "candidateSelectorDplusToPiKPi.cxx:163", _DS_DPLUS_COMMIT, 1.0, 36.0
    ),
)
SELECTORS = {s.task: s for s in (DS_SELECTOR, LC_SELECTOR, DPLUS_SELECTOR)}

#: the O2 analysis tutorial's inference task (O2Physics ``Tutorials/ML/applyMlSelection.cxx``,
#: struct ``applyMlSelection``): it feeds this vector, in this order, for each mass hypothesis.
#: It feeds the *signed* cos^3 theta' (``hfHelper.cos3PiKDsToPiKK``), which no tree column holds
#: (the tree creator writes |cos^3 theta'|): a model trained on fAbsCos3PiK would see other values.
TUTORIAL_TASK = CustomTask(
    task="apply-ml-selection",
    source="Tutorials/ML/applyMlSelection.cxx",
    vector=(
        _f("cpa", "fCpa", "candidate.cpa()"),
        _f("cpaXY", "fCpaXY", "candidate.cpaXY()"),
        _f("decayLength", "fDecayLength", "candidate.decayLength()"),
        _f("decayLengthXY", "fDecayLengthXY", "candidate.decayLengthXY()"),
        _f("deltaMassPhi", "fDeltaMassPhi", "hfHelper.deltaMassPhiDsToPiKK(candidate)"),
        _f("impactParameterXY", "fImpactParameterXY", "candidate.impactParameterXY()"),
        _f("cos3PiK", None, "hfHelper.cos3PiKDsToPiKK(candidate) (signed cos^3 theta')"),
        _f("maxNormalisedDeltaIP", "fMaxNormalisedDeltaIP", "candidate.maxNormalisedDeltaIP()"),
    ),
    # Configurable<double> ptCandMin{.., 1., ..}, ptCandMax{.., 36., ..} at lines 50-51
    pt_cut=PtCut(">", "Tutorials/ML/applyMlSelection.cxx:106", _TUTORIAL_COMMIT, 1.0, 36.0),
)


def find_selector(task: str) -> Selector | None:
    """The selector of a DPL task name (None for a task o2ml has no table of)."""
    return SELECTORS.get(task)
