"""D+ -> π+ K- π+: the channel of the O2Physics D2H ML macros' own example configurations.

Everything o2ml knows of this channel: the tree-creator table, the selector that applies the
models, what counts as signal in MC, the mass window and the sidebands the macro takes as
background, the macro's feature set, the selector's rectangular cuts per pT bin, and the physics
of the synthetic sample (:data:`GENERATOR`, drawn by :mod:`o2ml.toymc.three_prong`).

Sources (AliceO2Group/O2Physics master 9647b514; each file at its last commit):

- table ``HfCandDpLites``: ``PWGHF/TableProducer/treeCreatorDplusToPiKPi.cxx`` @ 55f4caa7
  (declared in :data:`o2ml.schema.HF_CAND_DP_LITES`, where :mod:`o2ml.io` finds it by name);
- selector ``hf-candidate-selector-dplus-to-pi-k-pi`` and its features:
  ``PWGHF/Core/HfMlResponseDplusToPiKPi.h`` (:data:`o2ml.channels.DPLUS_SELECTOR`);
- cuts per pT bin: ``PWGHF/Core/SelectorCuts.h`` @ 16e80cb8 (``hf_cuts_dplus_to_pi_k_pi``), PID
  and their use: ``PWGHF/TableProducer/candidateSelectorDplusToPiKPi.cxx`` @ ff486283;
- MC flags: ``PWGHF/Core/DecayChannels.h`` @ c61b3566 (DplusToPiKPi = 1; its resonant D+
  channels are φπ, K̄*⁰K, K̄*⁰(1430)K, ρ⁰π and f₂π, none a π K π final state, so
  fFlagMcDecayChanRec is 0 for this channel);
- the macro configurations: ``PWGHF/D2H/Macros/ML/config_preparation_DplusToPiKPi.yml`` and
  ``config_training_DplusToPiKPi.yml`` (copied in ``examples/``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..physics import constants
from ..schema import HF_CAND_DP_LITES, DecayChannelMain, Origin
from ._spec import ThreeProngPhysics
from ._track_pid import status_tpc_or_tof
from .selectors import DPLUS_SELECTOR

__all__ = [
    "BKG_FILTER",
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
    "is_signal",
    "passes_reference_cuts",
]  # fmt: skip

#: the sample name (``o2ml generate dplus``) and the macros' channel name
NAME = "dplus"
SELECTOR = DPLUS_SELECTOR
MACRO_CHANNEL = SELECTOR.channel  # "DplusToPiKPi"
TABLE = HF_CAND_DP_LITES.name
#: the signal species of expected-signal tables and mass fits (o2ml.physics.constants.PDG)
SPECIES = "Dplus"
MASS = constants.mass(SPECIES)  # GeV/c2
MASS_LABEL = "m(πKπ) (GeV/c²)"
#: no second peak in the π K π spectrum that o2ml models (the Ds -> KKπ window has the D+)
PARTNER_PEAK = None
#: the names of the mass peaks in figures: the D+
PEAK_LABELS = ("D⁺",)
#: the candidates o2ml's generator writes (choice: covers the macro's sidebands)
MASS_WINDOW = (1.65, 2.10)
#: config_preparation_DplusToPiKPi.yml, ``filt_bkg_mass``: the background of the training
BKG_FILTER = "fM < 1.82 || (1.92 < fM && fM < 2.00)"
#: the same sidebands as o2ml's significance scans take them (background fitted in m < 1.82 and
#: m > 1.92 GeV/c2, whole window)
SIDEBANDS = (1.82, 1.92)
#: config_training_DplusToPiKPi.yml, ``ml.training_vars``
FEATURES = [
    "fPtProng0", "fImpactParameter0", "fPtProng1", "fImpactParameter1", "fPtProng2",
    "fImpactParameter2", "fDecayLength", "fCpa", "fCpaXY", "fNSigTpcTofPi0", "fNSigTpcTofKa0",
    "fNSigTpcTofPi1", "fNSigTpcTofKa1", "fNSigTpcTofPi2", "fNSigTpcTofKa2",
]  # fmt: skip
#: the significance scans' choices (o2ml.selection.SignificanceOptions)
SCAN_OPTIONS = {"species": SPECIES, "signal_origins": ("prompt",), "sidebands": SIDEBANDS}

# ---------------------------------------------------------------- MC signal
#: the MC columns :func:`is_signal` reads
MC_LABEL_COLUMNS = ("fFlagMcMatchRec", "fOriginMcRec")


def is_signal(df: pd.DataFrame) -> np.ndarray:
    """MC rows that are D+ -> π K π signal: the tree creator's signal partition
    (``|flagMcMatchRec| == DplusToPiKPi``, treeCreatorDplusToPiKPi.cxx @ 55f4caa7), prompt or
    non-prompt. One mass hypothesis: no reflections."""
    return (np.abs(df["fFlagMcMatchRec"].to_numpy()) == DecayChannelMain.DplusToPiKPi) & np.isin(
        df["fOriginMcRec"].to_numpy(), (Origin.PROMPT, Origin.NONPROMPT)
    )


# ---------------------------------------------------------------- the selector's cuts per pT bin
#: the O2Physics commit of PWGHF/Core/SelectorCuts.h whose D+ cuts are copied below
SELECTOR_CUTS_COMMIT = "16e80cb81f680b9fb40a85306a6ed2d3d86c1b84"
#: hf_cuts_dplus_to_pi_k_pi::BinsPt (SelectorCuts.h @ 16e80cb8, lines 620-633)
SELECTOR_CUTS_PT_EDGES = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 16.0, 24.0, 36.0)
#: hf_cuts_dplus_to_pi_k_pi::labelsCutVar (line 667)
SELECTOR_CUTS_VARS = (
    "deltaM", "pT Pi", "pT K", "decay length", "normalized decay length XY", "cos pointing angle",
    "cos pointing angle XY", "max normalized deltaIP",
)  # fmt: skip
#: hf_cuts_dplus_to_pi_k_pi::Cuts, one row per pT bin (lines 638-649; pp 5 TeV 2017 analysis)
SELECTOR_CUTS = (
    (0.2, 0.3, 0.3, 0.07, 6.0, 0.96, 0.985, 2.5),  # 1 < pT < 2
    (0.2, 0.3, 0.3, 0.07, 5.0, 0.96, 0.985, 2.5),  # 2 < pT < 3
    (0.2, 0.3, 0.3, 0.10, 5.0, 0.96, 0.980, 2.5),  # 3 < pT < 4
    *[(0.2, 0.3, 0.3, 0.10, 5.0, 0.96, 0.000, 2.5)] * 4,  # 4-5, 5-6, 6-7, 7-8
    *[(0.2, 0.3, 0.3, 0.12, 5.0, 0.96, 0.000, 2.5)] * 4,  # 8-10, 10-12, 12-16, 16-24
    (0.2, 0.3, 0.3, 0.20, 5.0, 0.94, 0.000, 2.5),  # 24 < pT < 36
)
#: the tree columns :func:`passes_reference_cuts` reads
REFERENCE_COLUMNS = [
    "fPt", "fDecayLength", "fDecayLengthXYNormalised", "fCpa", "fCpaXY", "fMaxNormalisedDeltaIP",
    *[f"fPtProng{i}" for i in range(3)],
    *[f"fNSig{d}{h}{i}" for i in range(3) for d in ("Tpc", "Tof") for h in ("Pi", "Ka")],
]  # fmt: skip
#: the column a notebook adds (1.0: the candidate passes the reference cuts) and cuts on
REFERENCE_COLUMN = "o2mlPassesSelectorCuts"


def passes_reference_cuts(df: pd.DataFrame, *, pid: bool = True) -> np.ndarray:
    """Whether each candidate passes the O2Physics D+ selector's rectangular selection with the
    SelectorCuts.h cuts of its own pT bin and, with ``pid``, the selector's default TPC-or-TOF
    PID (prongs 0 and 2 pions, prong 1 a kaon; a prong is lost only if "rejected").

    Every cut of candidateSelectorDplusToPiKPi.cxx::selection (@ ff486283, lines 155-192) but
    "deltaM" (|m - m(D+)| < 0.2 GeV/c2, which would remove the sidebands) and the optional
    trigger mass cut. Candidates outside 1-36 GeV/c fail (the selector finds no bin).
    """
    pt = df["fPt"].to_numpy(np.float64)
    i = np.searchsorted(SELECTOR_CUTS_PT_EDGES, pt, side="right") - 1
    inside = (i >= 0) & (i < len(SELECTOR_CUTS))
    cut = np.asarray(SELECTOR_CUTS)[np.clip(i, 0, len(SELECTOR_CUTS) - 1)].T
    c = dict(zip(SELECTOR_CUTS_VARS, cut, strict=True))

    def col(name):
        return df[name].to_numpy(np.float64)

    pt_prong = [col(f"fPtProng{k}") for k in range(3)]
    ok = (
        inside
        & (pt_prong[0] >= c["pT Pi"]) & (pt_prong[1] >= c["pT K"]) & (pt_prong[2] >= c["pT Pi"])
        & (col("fDecayLength") >= c["decay length"])
        & (col("fDecayLengthXYNormalised") >= c["normalized decay length XY"])
        & (col("fCpa") >= c["cos pointing angle"]) & (col("fCpaXY") >= c["cos pointing angle XY"])
        & (np.abs(col("fMaxNormalisedDeltaIP")) <= c["max normalized deltaIP"])
    )  # fmt: skip
    if pid:
        for k, h in enumerate(("Pi", "Ka", "Pi")):
            ok &= (
                status_tpc_or_tof(pt_prong[k], col(f"fNSigTpc{h}{k}"), col(f"fNSigTof{h}{k}")) >= 0
            )
    return ok


# ---------------------------------------------------------------- the synthetic sample
#: rows (data, MC) of ``o2ml generate dplus``: full, as the Ds sample; fast (O2ML_FAST,
#: ``--fast``)
SAMPLE_SIZES = {"full": (1_000_000, 200_000), "fast": (200_000, 40_000)}

#: the physics of o2ml's synthetic D+ sample (o2ml.toymc.three_prong). Detector model and
#: vertexing are those of the Ds and Λc samples (o2ml.toymc._kinematics); the numbers below are
#: choices, approximations of pp at 13.6 TeV, each with its reason.
GENERATOR = ThreeProngPhysics(
    parent=SPECIES,
    prongs=("pi", "K", "pi"),
    mass_window=MASS_WINDOW,
    bkg_mass_slope=2.5,  # 1/(GeV/c2), as the Ds KKπ background
    # D+ -> K π π has BR 9.4 % (PDG), 4x that of Ds -> φπ -> KKπ: S/B 4x the Ds sample's 3e-3
    signal_to_background=1.2e-2,
    sb_pt_range=(2.0, 4.0),
    nonprompt_fraction=0.08,  # FONLL-like, a little below the Ds (approx.)
    prompt_spectrum=(2.6, 2.7),  # as the Ds: peak near 1.9 GeV/c (approx.)
    nonprompt_spectrum=(4.0, 2.6),
    bkg_spectrum=(1.3, 3.2),
    prong_alpha=(2.5, 3.0, 2.5),  # the kaon (heavier) a little harder (approx.)
    prong_opening=0.40,  # GeV/c; Q = 1.09 GeV, more than Ds -> φπ's (approx.)
    quality_logsigma=0.2,
    bkg_displaced_fraction=0.22,  # as the Ds and Λc samples
    bkg_displaced_length=0.025,
    bkg_displaced_angle=0.45,
    bkg_quality_logsigma=0.2,
    bkg_chi2_factor=3.0,
    bkg_deltaip_sigma=2.0,
    bkg_prong_opening=0.45,
    bkg_species={"pi": 0.75, "K": 0.18, "p": 0.07},  # pion-rich, after the loose kaon PID
    flag_mc=int(DecayChannelMain.DplusToPiKPi),
    resonant_channels={0: 1.0},  # DecayChannels.h: no resonant channel of this final state
    selected_flag=7,  # RecoSkims | RecoTopol | RecoPID (candidateSelectorDplusToPiKPi.cxx)
    mc_signal_share=0.8,  # the MC file: true D+ and downsampled background (choice)
    mc_prompt_fraction=0.5,  # enriched MC: half prompt, half non-prompt
    mc_bkg_downsample=(0.1, 10.0),  # downSampleBkgFactor (choice), ptMaxForDownSample default
    # b-hadron mothers of non-prompt D+ (as the Ds sample: production fractions, approx.)
    bhad_mothers={-511: 0.4, -521: 0.4, -531: 0.1, 5122: 0.1},
)
