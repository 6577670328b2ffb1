"""Ds+ -> K+K-π+ (and D+ -> K+K-π+ in the same spectrum): the recipe of notebook 01.

Everything a Ds analysis fixes once: the tree-creator table, the O2Physics selector that applies
the models, the tutorial's feature set, the mass sidebands that stand for background, the
rectangular cuts that a BDT must beat, and the physics of the synthetic sample
(:data:`GENERATOR`, drawn by :mod:`o2ml.toymc.charm`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import BadArgumentError
from ..physics import constants
from ..schema import DecayChannelMain, DecayChannelResonant, Origin
from ._spec import KKPiPhysics, PartnerPeak
from ._track_pid import status_tpc_or_tof
from .selectors import DS_SELECTOR

__all__ = [
    "FEATURES",
    "GENERATOR",
    "MACRO_CHANNEL",
    "MASS",
    "MASS_LABEL",
    "MASS_WINDOW",
    "MC_LABEL_COLUMNS",
    "NAME",
    "PARTNER_PEAK",
    "PEAK_LABELS",
    "REFERENCE_COLUMN",
    "REFERENCE_COLUMNS",
    "REFERENCE_CUTS",
    "SAMPLE_SIZES",
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
#: the names of the mass peaks in figures: the Ds and its D+ -> KKπ partner
PEAK_LABELS = ("Ds⁺", "D⁺")
#: the candidates o2ml's generator writes: covers the tutorial sidebands (< 1.75, > 2.1) and the
#: D+ peak
MASS_WINDOW = (1.65, 2.25)
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


# ---------------------------------------------------------------- the synthetic sample
#: rows (data, MC) of ``o2ml generate ds``: full, >= 1M data candidates (notebook 01's BDT and
#: its scans); fast (O2ML_FAST, ``--fast``): notebooks in about a minute
SAMPLE_SIZES = {"full": (1_000_000, 200_000), "fast": (200_000, 40_000)}

#: the physics of o2ml's synthetic Ds sample (o2ml.toymc.charm): Ds+ and D+ -> φπ -> K K π,
#: prompt and non-prompt, their reflections (the other mass hypothesis) and combinatorial
#: background, in HfCandDsLites as treeCreatorDsToKKPi writes it. The numbers are choices,
#: approximations of pp at 13.6 TeV, each with its reason.
GENERATOR = KKPiPhysics(
    # ------------------------------------------------------------ window and composition
    parent=SPECIES,
    prongs=("K", "K", "pi"),  # true species of the decay (K, K, π); rows in either hypothesis
    mass_window=MASS_WINDOW,  # GeV/c2
    bkg_mass_slope=2.5,  # 1/(GeV/c2); exponential background, falls 4.5x over the window
    signal_to_background=3e-3,  # Ds/bkg, 2<pT<4, whole window; choice in 1e-3..1e-2
    peak_window=0.025,  # GeV/c2; |m - m(Ds)| window (about 3 sigma at 2<pT<4) quoted in the note
    sb_pt_range=(2.0, 4.0),  # GeV/c; pT range in which signal_to_background holds
    nonprompt_fraction=0.10,  # non-prompt share of Ds/D+ in 1-24 GeV/c (approx., FONLL-like)
    mc_prompt_fraction=0.5,  # MC file: 50 % prompt, 50 % non-prompt (enriched MC)
    # -------------------------------------- pT spectra: dN/dpT ∝ pT/(1+(pT/p0)^2)^n, (p0 GeV/c, n)
    prompt_spectrum=(2.6, 2.7),  # peak 1.9 GeV/c, ~pT^-4.4 at high pT (FONLL-like)
    nonprompt_spectrum=(4.0, 2.6),  # harder (from beauty): peak near 2.8 GeV/c, ~pT^-4.2
    bkg_spectrum=(1.3, 3.2),  # softer combinatorics: ~pT^-5.4 at high pT
    # ------------------------------------------------------------ signal decay
    phi_fraction=1.0,  # Ds -> phi pi -> KKpi only, as O2Physics MC (decayChannel DsToPhiPi)
    phi_mkk_sigma=1.0e-3,  # GeV/c2; m(KK) resolution, convolved with the phi Breit-Wigner (approx.)
    prong_alpha=(3.0, 3.0, 2.5),  # Dirichlet shares of pT for (K, K, pi) of the decay (approx.)
    prong_opening=0.35,  # GeV/c; transverse decay momentum that opens the prongs (q* ~ 0.7 GeV/c)
    first_hypothesis_fraction=0.5,  # rows in the KKpi (prong0 = K) rather than piKK hypothesis
    quality_logsigma=0.2,  # log-normal spread of per-candidate resolutions, signal (approx.)
    # ------------------------------------------------------------ the D+ -> K K pi partner
    partner=PartnerPeak(
        parent=PARTNER_PEAK,
        ratio=0.25,  # N(D+)/N(Ds), phi pi -> KKpi: ~2 (sigma) x 0.28 %/2.24 % (PDG BR)
        phi_fraction=1.0,  # D+ -> phi pi -> K K pi only (same channel as the Ds)
        flag_mc=int(DecayChannelMain.DplusToPiKK),  # |fFlagMcMatchRec| of D+ -> K K pi (4)
        # fFlagMcDecayChanRec of D+ -> phi pi (1)
        resonant_channels={int(DecayChannelResonant.DplusToPhiPi): 1.0},
        # reconstructed D+ -> phi pi in the MC file (written as background by the tree creator
        # unless fillDplusMc; choice)
        mc_share=0.10,
    ),
    # ------------------------------------------------------------ tree-creator output (MC flags)
    flag_mc=int(DecayChannelMain.DsToPiKK),  # |fFlagMcMatchRec| of Ds -> K K pi (5)
    # fFlagMcDecayChanRec of Ds -> phi pi (6)
    resonant_channels={int(DecayChannelResonant.DsToPhiPi): 1.0},
    # fIsSelDsTo*: the selector's status bits of a passing hypothesis (RecoSkims, RecoTopol,
    # RecoPID: 1 + 2 + 4; choice, the tree creator keeps rows >= selectionFlagDs = 1); -1 for the
    # other row
    selected_flag=7,
    # share of true Ds and D+ whose other mass hypothesis also passes the selection and gives a
    # second row (a reflection, at the mass of the swapped hypothesis; choice)
    reflection_fraction=0.3,
    # rows of the MC file: reconstructed Ds -> phi pi (the partner's share above; the rest
    # combinatorial background; choice)
    mc_signal_share=0.70,
    # downSampleBkgFactor and ptMaxForDownSample of the MC background (the tree creator's
    # pseudo-random rule on ptProng0; its default pT maximum, a factor typical of ML productions:
    # choice)
    mc_bkg_downsample=(0.1, 10.0),
    # b-hadron mothers of non-prompt Ds and D+ (fPdgBhadMotherPart, MC): B0, B+, Bs0 and Λb0 in
    # the b-hadron production fractions (f_d ~ f_u ~ 0.4, f_s ~ 0.1, baryons ~ 0.1; PDG review
    # "Production and decay of b-flavored hadrons", approx.), not weighted by BR(b-hadron -> D X)
    # (choice). The codes are those of the b-quark hadrons (anti-B0 -511, B- -521, anti-Bs0 -531,
    # Λb0 5122), whose b -> c decay gives a charm hadron of charge +1; multiplied by the
    # candidate's charge (o2ml models no D from the W -> c sbar vertex, which has the other sign;
    # choice).
    bhad_mothers={-511: 0.4, -521: 0.4, -531: 0.1, 5122: 0.1},
    # ------------------------------------------------------------ background topology
    bkg_displaced_fraction=0.22,  # combinatorics with secondary/HF tracks (approx.; tuned: AUC)
    bkg_displaced_length=0.025,  # cm; mean pull of the fake vertex by displaced tracks (approx.)
    bkg_displaced_angle=0.45,  # rad; spread of the fake flight direction around p (approx.)
    bkg_vertex_scale=1.0,  # primary-track triplets meet at the PV: resolution as for a decay
    bkg_quality_logsigma=0.2,  # same as the signal's (primary tracks as well measured)
    bkg_chi2_factor=3.0,  # chi2PCA of displaced combinations (no common vertex) / decays
    bkg_deltaip_sigma=2.0,  # normalised (measured - expected) prong d0 scale, displaced combos
    bkg_phi_fraction=0.45,  # background with a real phi -> KK plus a random pion (approx.)
    bkg_mkk_gamma=(1.5, 0.10),  # (shape, scale GeV/c2) of m(KK) - 2 m(K) for random kaon pairs
    bkg_prong_alpha=None,  # random tracks: Dirichlet(1, 1, 1), more asymmetric than decays
    bkg_prong_opening=0.40,  # GeV/c; same mass window -> open like decays, a bit wider
    bkg_species={"pi": 0.65, "K": 0.25, "p": 0.10},  # background prongs (after loose K PID)
)
