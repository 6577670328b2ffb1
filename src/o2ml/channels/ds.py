"""Ds+ -> K+K-π+ (and D+ -> K+K-π+ in the same spectrum): the recipe of notebook 01.

Everything a Ds analysis fixes once: the tree-creator table, the O2Physics selector that applies
the models, the tutorial's feature set, the mass sidebands that stand for background, and the
rectangular cuts that a BDT must beat.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import BadArgumentError
from ..physics import constants
from ..schema import DecayChannelMain, DecayChannelResonant, Origin
from ._track_pid import status_tpc_or_tof
from .selectors import DS_SELECTOR

__all__ = [
    "FEATURES",
    "MACRO_CHANNEL",
    "MASS",
    "MASS_LABEL",
    "MC_LABEL_COLUMNS",
    "NAME",
    "PARTNER_PEAK",
    "REFERENCE_COLUMN",
    "REFERENCE_COLUMNS",
    "REFERENCE_CUTS",
    "SCAN_OPTIONS",
    "SELECTOR",
    "SELECTOR_CUTS",
    "SELECTOR_CUTS_COMMIT",
    "SELECTOR_CUTS_PT_EDGES",
    "SELECTOR_CUTS_VARS",
    "SIDEBANDS",
    "SPECIES",
    "TABLE",
    "TUTORIAL_FEATURES",
    "is_signal",
    "passes_reference_cuts",
    "row_hypothesis",
    "selector_cuts",
]  # fmt: skip

#: the sample name (``o2ml generate ds``)
NAME = "ds"
#: the selector that applies the exported models (hf-candidate-selector-ds-to-k-k-pi)
SELECTOR = DS_SELECTOR
MACRO_CHANNEL = SELECTOR.channel  # "DsToKKPi", as the D2H macros name it
#: the tree creator's table (PWGHF/TableProducer/treeCreatorDsToKKPi.cxx)
TABLE = SELECTOR.table
#: the signal species of expected-signal tables and mass fits
SPECIES = "Ds"
MASS = constants.mass(SPECIES)  # GeV/c2
MASS_LABEL = "m(KKπ) (GeV/c²)"
#: the second peak of the KKπ spectrum, D+ -> KKπ, fitted or left out next to the Ds
PARTNER_PEAK = "Dplus"
#: the 7 features of the ALICE O2 Ds tutorial (mass and pT are never features)
TUTORIAL_FEATURES = [
    "fCpa", "fCpaXY", "fDecayLength", "fDecayLengthXY", "fDeltaMassPhi", "fImpactParameterXY",
    "fAbsCos3PiK",
]  # fmt: skip
#: the tutorial's background: data below 1.75 and above 2.1 GeV/c^2 (the D+ peak sits left of
#: the Ds, at 1.87, inside the excluded range)
SIDEBANDS = (1.75, 2.1)
#: the default feature set: the tutorial's
FEATURES = TUTORIAL_FEATURES
#: the significance scans' choices (o2ml.selection.SignificanceOptions): the tutorial's
SCAN_OPTIONS = {"species": SPECIES, "signal_origins": ("prompt",), "sidebands": SIDEBANDS}
#: Ds+ -> KKpi rectangular cuts, 2 < pT < 4 GeV/c (O2Physics PWGHF/Core/SelectorCuts.h; the
#: topological ones of its bins 2-3 and 3-4; all bins and the PID: :func:`passes_reference_cuts`)
REFERENCE_CUTS: dict[str, tuple[str, float]] = {
    "fDecayLength": (">", 0.02),
    "fDecayLengthXYNormalised": (">", 4.0),
    "fCpa": (">", 0.92),
    "fCpaXY": (">", 0.92),
    "fImpactParameterXY": ("abs<", 0.014),
    "fDeltaMassPhi": ("abs<", 0.010),
    "fAbsCos3PiK": (">", 0.10),
    "fChi2PCA": ("<", 5.0),
}

# ---------------------------------------------------------------- the selector's cuts per pT bin
#: the O2Physics commit of PWGHF/Core/SelectorCuts.h whose Ds cuts are copied below
SELECTOR_CUTS_COMMIT = "16e80cb81f680b9fb40a85306a6ed2d3d86c1b84"
#: hf_cuts_ds_to_k_k_pi::BinsPt (SelectorCuts.h @ 16e80cb8, lines 675-684)
SELECTOR_CUTS_PT_EDGES = (2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 12.0, 16.0, 24.0)
#: hf_cuts_ds_to_k_k_pi::labelsCutVar (line 710)
SELECTOR_CUTS_VARS = (
    "deltaM", "pT Pi", "pT K", "decay length", "normalized decay length XY", "cos pointing angle",
    "cos pointing angle XY", "impact parameter XY", "deltaM Phi", "cos^3 theta_PiK", "chi2PCA",
)  # fmt: skip
#: hf_cuts_ds_to_k_k_pi::Cuts, one row per pT bin (lines 689-696; pp 5 TeV 2017 analysis)
SELECTOR_CUTS = (
    (0.2, 0.3, 0.3, 0.02, 4.0, 0.92, 0.92, 0.014, 0.010, 0.10, 5.0),  # 2 < pT < 3
    (0.2, 0.3, 0.3, 0.02, 4.0, 0.92, 0.92, 0.014, 0.010, 0.10, 5.0),  # 3 < pT < 4
    (0.2, 0.3, 0.3, 0.03, 4.0, 0.90, 0.90, 0.012, 0.010, 0.05, 5.0),  # 4 < pT < 5
    (0.2, 0.3, 0.3, 0.03, 4.0, 0.90, 0.90, 0.012, 0.010, 0.05, 5.0),  # 5 < pT < 6
    (0.2, 0.3, 0.3, 0.03, 4.0, 0.90, 0.90, 0.012, 0.010, 0.05, 5.0),  # 6 < pT < 8
    (0.2, 0.3, 0.3, 0.03, 4.0, 0.90, 0.90, 0.012, 0.010, 0.00, 5.0),  # 8 < pT < 12
    (0.2, 0.3, 0.3, 0.05, 4.0, 0.85, 0.85, 0.012, 0.015, 0.00, 5.0),  # 12 < pT < 16
    (0.2, 0.3, 0.3, 0.05, 4.0, 0.85, 0.85, 0.012, 0.015, 0.00, 5.0),  # 16 < pT < 24
)
#: the selector's PID defaults (candidateSelectorDsToKKPi.cxx @ ff486283, lines 61-71; logic of
#: Common/Core/TrackSelectorPID.h @ b617ecdc, statusTpc/statusTof/statusTpcOrTof): TPC and TOF
#: in 0.15 < pT < 5 GeV/c, accepted within 3 sigma, "conditional" within 5, TPC or TOF
PID_PT_RANGE, PID_NSIGMA, PID_NSIGMA_COMBINED = (0.15, 5.0), 3.0, 5.0
#: the tree columns :func:`passes_reference_cuts` reads
REFERENCE_COLUMNS = [
    "fDecayLength", "fDecayLengthXYNormalised", "fCpa", "fCpaXY", "fImpactParameterXY",
    "fDeltaMassPhi", "fAbsCos3PiK", "fChi2PCA", "fIsSelDsToKKPi",
    *[f"fPtProng{i}" for i in range(3)],
    *[f"fNSig{d}{h}{i}" for i in range(3) for d in ("Tpc", "Tof") for h in ("Pi", "Ka")],
]  # fmt: skip
#: the column notebook 01 adds (1.0: the candidate passes the reference cuts) and cuts on
REFERENCE_COLUMN = "o2mlPassesSelectorCuts"


def selector_cuts(pt: float) -> dict[str, float]:
    """The SelectorCuts.h cuts of the pT bin holding ``pt`` (a row of :data:`SELECTOR_CUTS`)."""
    i = int(np.searchsorted(SELECTOR_CUTS_PT_EDGES, pt, side="right")) - 1
    if not 0 <= i < len(SELECTOR_CUTS):
        raise BadArgumentError(
            f"pT {pt} GeV/c is outside the SelectorCuts.h bins {SELECTOR_CUTS_PT_EDGES}."
        )
    return dict(zip(SELECTOR_CUTS_VARS, SELECTOR_CUTS[i], strict=True))


def _pid_status(pt, tpc, tof) -> np.ndarray:
    """TrackSelectorPID::statusTpcOrTof with the Ds selector's defaults."""
    return status_tpc_or_tof(
        pt, tpc, tof, pt_range=PID_PT_RANGE, nsigma=PID_NSIGMA, nsigma_combined=PID_NSIGMA_COMBINED
    )


def passes_reference_cuts(df: pd.DataFrame, *, pid: bool = True) -> np.ndarray:
    """Whether each candidate passes the O2Physics Ds selector's rectangular selection with the
    SelectorCuts.h cuts of its own pT bin (``fPt``) and, with ``pid``, the selector's default
    track PID (each prong of the row's mass hypothesis, ``fIsSelDsToKKPi``: K K pi, else pi K K;
    TPC or TOF, a prong is lost only if "rejected").

    Every cut of candidateSelectorDsToKKPi.cxx (@ ff486283, lines 175-228) but "deltaM"
    (|m - m(Ds)| < 0.2 GeV/c2): the mass window would remove the sidebands the background is
    estimated from; the significance is taken in the signal window anyway. Candidates outside
    2-24 GeV/c fail (the selector finds no bin).
    """
    pt = df["fPt"].to_numpy(np.float64)
    i = np.searchsorted(SELECTOR_CUTS_PT_EDGES, pt, side="right") - 1
    inside = (i >= 0) & (i < len(SELECTOR_CUTS))
    cut = np.asarray(SELECTOR_CUTS)[np.clip(i, 0, len(SELECTOR_CUTS) - 1)].T
    c = dict(zip(SELECTOR_CUTS_VARS, cut, strict=True))

    def col(name):
        return df[name].to_numpy(np.float64)

    kkpi = col("fIsSelDsToKKPi") >= 1
    pt_prong = [col(f"fPtProng{i}") for i in range(3)]
    # prong 1 is the opposite-sign kaon; prongs 0 and 2 are K and pi (KKpi) or pi and K (piKK)
    pt_min_0 = np.where(kkpi, c["pT K"], c["pT Pi"])
    pt_min_2 = np.where(kkpi, c["pT Pi"], c["pT K"])
    ok = (
        inside
        & (pt_prong[0] >= pt_min_0) & (pt_prong[1] >= c["pT K"]) & (pt_prong[2] >= pt_min_2)
        & (col("fDecayLength") >= c["decay length"])
        & (col("fDecayLengthXYNormalised") >= c["normalized decay length XY"])
        & (col("fCpa") >= c["cos pointing angle"]) & (col("fCpaXY") >= c["cos pointing angle XY"])
        & (np.abs(col("fImpactParameterXY")) <= c["impact parameter XY"])
        & (col("fDeltaMassPhi") <= c["deltaM Phi"])
        & (col("fAbsCos3PiK") >= c["cos^3 theta_PiK"])
        & (col("fChi2PCA") <= c["chi2PCA"])
    )  # fmt: skip
    if pid:
        for i in range(3):
            st = {
                h: _pid_status(pt_prong[i], col(f"fNSigTpc{h}{i}"), col(f"fNSigTof{h}{i}"))
                for h in ("Ka", "Pi")
            }
            if i == 1:
                ok &= st["Ka"] >= 0
            else:
                kaon = kkpi if i == 0 else ~kkpi
                ok &= np.where(kaon, st["Ka"], st["Pi"]) >= 0
    return ok


# ---------------------------------------------------------------- MC signal
#: the MC columns :func:`is_signal` reads
MC_LABEL_COLUMNS = (
    "fFlagMcMatchRec", "fFlagMcDecayChanRec", "fOriginMcRec", "fIsCandidateSwapped",
    "fIsSelDsToKKPi",
)  # fmt: skip


def row_hypothesis(df: pd.DataFrame) -> np.ndarray:
    """The mass hypothesis of each Ds row: 0 KKpi (``fIsSelDsToKKPi`` >= 0), 1 piKK."""
    return np.where(df["fIsSelDsToKKPi"].to_numpy() >= 0, 0, 1)


def is_signal(df: pd.DataFrame) -> np.ndarray:
    """MC rows that are Ds signal: treeCreatorDsToKKPi.cxx's signal partition
    (``|flagMcMatchRec| == DsToPiKK && flagMcDecayChanRec == DsToPhiPi``), prompt or non-prompt,
    in the true mass hypothesis (``fIsCandidateSwapped`` is the row's; else a reflection).
    D+ -> KKπ rows are not signal."""
    return (
        (np.abs(df["fFlagMcMatchRec"].to_numpy()) == DecayChannelMain.DsToPiKK)
        & (df["fFlagMcDecayChanRec"].to_numpy() == DecayChannelResonant.DsToPhiPi)
        & np.isin(df["fOriginMcRec"].to_numpy(), (Origin.PROMPT, Origin.NONPROMPT))
        & (df["fIsCandidateSwapped"].to_numpy() == row_hypothesis(df))
    )
