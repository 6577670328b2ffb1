"""Λc+ -> pK-π+: the recipe of notebook 02 (BDT vs autoencoder).

The signal region (SR) and sidebands (SB) on the invariant mass, the feature menu of O2Physics
``HfMlResponseLcToPKPi.h`` that the lite table holds, the nσ clipping the autoencoder needs, and
the physics of the synthetic sample (:data:`GENERATOR`, drawn by :mod:`o2ml.toymc.lc`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..physics import constants
from ..schema import DecayChannelMain, DecayChannelResonant, Origin
from ._spec import PKPiPhysics
from .selectors import LC_SELECTOR

__all__ = [
    "FEATURES",
    "GENERATOR",
    "MACRO_CHANNEL",
    "MASS",
    "MASS_LABEL",
    "MASS_WINDOW",
    "MC_LABEL_COLUMNS",
    "NAME",
    "NSIGMA_CLIP",
    "NSIGMA_FEATURES",
    "PARTNER_PEAK",
    "PEAK_LABELS",
    "PRONG_FEATURES",
    "SAMPLE_SIZES",
    "SCAN_OPTIONS",
    "SELECTOR",
    "SIDEBANDS",
    "SIGNAL_REGION",
    "SPECIES",
    "TABLE",
    "TOPO_FEATURES",
    "is_signal",
    "nsigma_clip",
    "sidebands",
    "signal_region",
]  # fmt: skip

#: the sample name (``o2ml generate lc``)
NAME = "lc"
#: the selector that applies the exported models (hf-candidate-selector-lc)
SELECTOR = LC_SELECTOR
MACRO_CHANNEL = SELECTOR.channel  # "LcToPKPi"
#: the tree creator's table (PWGHF/TableProducer/treeCreatorLcToPKPi.cxx)
TABLE = SELECTOR.table
SPECIES = "Lc"
MASS = constants.mass(SPECIES)  # GeV/c2
MASS_LABEL = "m(pKπ) (GeV/c²)"
PARTNER_PEAK = None
#: the names of the mass peaks in figures: the Λc
PEAK_LABELS = ("Λc⁺",)
#: the candidates o2ml's generator writes: the signal region around 2.2865 plus sidebands on
#: both sides
MASS_WINDOW = (2.14, 2.44)
#: the SR: |m - m(Λc)| < 0.025 GeV/c^2 (about 3 sigma of the mass resolution at low pT)
SIGNAL_REGION = (MASS - 0.025, MASS + 0.025)
#: the SB: |m - m(Λc)| > 0.05 GeV/c^2 (about 6 sigma), up to the window edges 2.14-2.44
SIDEBANDS = (MASS - 0.05, MASS + 0.05)
#: nσ of the lite trees are unbounded and -999 when TOF is missing: clipped to +-NSIGMA_CLIP,
#: so a missing TOF becomes -NSIGMA_CLIP (a fixed value, "far from every hypothesis")
NSIGMA_CLIP = 10.0

#: the Λc lite table's columns that HfMlResponseLcToPKPi computes (o2ml.channels.LC_SELECTOR):
#: no 3-D normalised decay length or z impact parameters in HfCandLcLites, and nσ only of the
#: species each prong is taken for (p and pi for prongs 0 and 2, K for prong 1)
TOPO_FEATURES = [
    "fChi2PCA", "fDecayLength", "fDecayLengthXY", "fDecayLengthXYNormalised", "fCpa", "fCpaXY",
]  # fmt: skip
PRONG_FEATURES = [f"f{name}{i}" for i in range(3) for name in ("PtProng", "ImpactParameter")]
NSIGMA_FEATURES = [
    "fNSigTpcPi0", "fNSigTpcPr0", "fNSigTofPi0", "fNSigTofPr0", "fNSigTpcKa1", "fNSigTofKa1",
    "fNSigTpcPi2", "fNSigTpcPr2", "fNSigTofPi2", "fNSigTofPr2", "fNSigTpcTofPi0", "fNSigTpcTofPr0",
    "fNSigTpcTofKa1", "fNSigTpcTofPi2", "fNSigTpcTofPr2",
]  # fmt: skip
#: the feature menu (before the sculpting check): every one a column of HfCandLcLites
FEATURES = TOPO_FEATURES + PRONG_FEATURES + NSIGMA_FEATURES
#: the significance scans' choices (o2ml.selection.SignificanceOptions): Λc, prompt and
#: non-prompt signal, background fitted in the SB only
SCAN_OPTIONS = {
    "species": SPECIES,
    "signal_origins": ("prompt", "nonprompt"),
    "sidebands": SIDEBANDS,
}


def signal_region(mass: np.ndarray | pd.Series) -> np.ndarray:
    """Boolean mask of the candidates in the SR."""
    m = np.asarray(mass)
    return (m > SIGNAL_REGION[0]) & (m < SIGNAL_REGION[1])


def sidebands(mass: np.ndarray | pd.Series) -> np.ndarray:
    """Boolean mask of the candidates in the SB (both sides of the peak)."""
    m = np.asarray(mass)
    return (m < SIDEBANDS[0]) | (m > SIDEBANDS[1])


def nsigma_clip(features: Sequence[str], limit: float = NSIGMA_CLIP) -> dict[str, tuple]:
    """Clip ranges ``{feature: (-limit, limit)}`` of the nσ features among ``features``.

    Pass as ``clip=`` to :func:`o2ml.models.autoencoder.fit`: the clipping becomes part of the
    model (and of its ONNX graph). -999 (missing TOF) ends at -limit.
    """
    return {f: (-limit, limit) for f in features if f.startswith("fNSig")}


#: the MC columns :func:`is_signal` reads
MC_LABEL_COLUMNS = ("fFlagMc", "fOriginMcRec", "fIsCandidateSwapped", "fCandidateSelFlag")


def is_signal(df: pd.DataFrame) -> np.ndarray:
    """MC rows that are Λc signal: treeCreatorLcToPKPi.cxx's ``determineSignalBgStatus``
    (``|flagMc| == LcToPKPi`` with (swapped 0, pKpi row) or (swapped 1, piKp row)), prompt or
    non-prompt."""
    swapped = df["fIsCandidateSwapped"].to_numpy()
    hypothesis = df["fCandidateSelFlag"].to_numpy()
    return (
        (np.abs(df["fFlagMc"].to_numpy()) == DecayChannelMain.LcToPKPi)
        & np.isin(df["fOriginMcRec"].to_numpy(), (Origin.PROMPT, Origin.NONPROMPT))
        & (((swapped == 0) & (hypothesis == 1)) | ((swapped == 1) & (hypothesis == 2)))
    )


# ---------------------------------------------------------------- the synthetic sample
#: rows (data, MC) of ``o2ml generate lc``: full, 600k data candidates, 400k of them in the
#: SIDEBANDS (seed 42), more than the 207k on which the CHEP 2024 poster trained its autoencoder;
#: fast (O2ML_FAST, ``--fast``): notebooks in about a minute
SAMPLE_SIZES = {"full": (600_000, 100_000), "fast": (120_000, 20_000)}

#: the physics of o2ml's synthetic Λc sample (o2ml.toymc.lc): Λc+ -> p K π, prompt and
#: non-prompt, their reflections (the other mass hypothesis) and combinatorial background, in
#: HfCandLcLites as treeCreatorLcToPKPi writes it. The numbers are choices, approximations of pp
#: at 13.6 TeV, each with its reason.
GENERATOR = PKPiPhysics(
    # ------------------------------------------------------------ window and composition
    parent=SPECIES,
    prongs=("p", "K", "pi"),  # true species of the decay (p, K, π); rows in either hypothesis
    mass_window=MASS_WINDOW,  # GeV/c2
    bkg_mass_slope=2.0,  # 1/(GeV/c2); exponential background, falls 1.8x over the window
    signal_to_background=1.5e-3,  # Λc/bkg, 2<pT<4, whole window (choice: small)
    sb_pt_range=(2.0, 4.0),  # GeV/c; pT range in which signal_to_background holds
    peak_window=0.025,  # GeV/c2; |m - m(Λc)| window quoted in the note of expected_signal
    nonprompt_fraction=0.10,  # non-prompt share of Λc in 1-24 GeV/c (approx., FONLL-like)
    mc_prompt_fraction=0.5,  # MC file: 50 % prompt, 50 % non-prompt (enriched MC)
    first_hypothesis_fraction=0.5,  # share of true decays with the proton as prong0 (pKpi order)
    # ------------------------------------------------------------ tree-creator output (MC flags)
    flag_mc=int(DecayChannelMain.LcToPKPi),  # |fFlagMc| of Λc+ -> p K pi (17)
    # resonant channels of the MC (fChannel) and their shares among Λc -> p K pi (PDG: p K*0
    # 1.96 %, Delta++ K 1.08 %, Lambda(1520) pi ~0.6 %, of 6.28 % in all; the rest non-resonant, 0)
    resonant_channels={
        int(DecayChannelResonant.LcToPKstar0): 0.31,
        int(DecayChannelResonant.LcToDeltaplusplusK): 0.17,
        int(DecayChannelResonant.LcToL1520Pi): 0.10,
        0: 0.42,
    },
    # share of true decays whose other mass hypothesis also passes (a reflection row; choice)
    reflection_fraction=0.3,
    # rows of the MC file that are true decays in their own hypothesis; reflections follow them
    # (reflection_fraction of those), the rest is background (choice)
    mc_signal_share=0.55,
    # downSampleBkgFactor and downSampleBkgPtMax of the MC background (tree creator default pT max)
    mc_bkg_downsample=(0.1, 100.0),
    pv_sigma_xy=0.003,  # cm; spread of the primary-vertex position (beam spot; choice)
    pv_sigma_z=6.0,  # cm; spread of the primary vertex along the beam (choice)
    # probability that a prong is a primary-vertex contributor: decay prongs rarely are; prongs of
    # primary-track combinatorics often, displaced ones seldom (choices)
    contributor_probability={"signal": 0.05, "primary": 0.5, "displaced": 0.1},
    # m(K pi) of p K*0 decays: the K*(892)0 Breit-Wigner
    kstar0_channel=int(DecayChannelResonant.LcToPKstar0),
    kstar0=(0.89555, 0.0473),  # GeV/c2; K*(892)0 mass and width (PDG)
    ml_score_undefined=-999.0,  # the tree creator's fMlScore* unless it applied ML
    # -------------------------------------- pT spectra: dN/dpT ∝ pT/(1+(pT/p0)^2)^n, (p0 GeV/c, n)
    prompt_spectrum=(3.0, 2.8),  # baryon spectrum, peak near 2.1 GeV/c (approx.)
    nonprompt_spectrum=(4.2, 2.6),  # harder (from beauty)
    bkg_spectrum=(1.3, 3.2),  # softer combinatorics
    # ------------------------------------------------------------ signal decay
    prong_alpha=(4.0, 2.5, 2.0),  # Dirichlet pT shares of (p, K, pi): proton hardest
    prong_opening=0.30,  # GeV/c; transverse decay momentum that opens the prongs (approx.)
    quality_logsigma=0.2,  # log-normal spread of per-candidate resolutions (as for the Ds)
    # ------------------------------------------------------------ background
    bkg_displaced_fraction=0.22,  # combinatorics with secondary/HF tracks (as for the Ds)
    bkg_displaced_length=0.025,  # cm; mean pull of the fake vertex by displaced tracks
    bkg_displaced_angle=0.45,  # rad; spread of the fake flight direction around p
    bkg_quality_logsigma=0.2,  # log-normal spread of per-candidate resolutions
    bkg_chi2_factor=3.0,  # chi2PCA of displaced combinations (tracks from different vertices)
    bkg_prong_opening=0.40,  # GeV/c; same mass window -> open like decays, a bit wider
    bkg_species={"pi": 0.86, "K": 0.10, "p": 0.04},  # inclusive low-pT hadron mix in pp (approx.)
)
