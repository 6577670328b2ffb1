"""Λc+ -> pK-π+: the recipe of notebook 02 (BDT vs autoencoder).

The signal region (SR) and sidebands (SB) on the invariant mass, the feature menu of O2Physics
``HfMlResponseLcToPKPi.h`` that the lite table holds, and the nσ clipping the autoencoder needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..physics import constants
from ..schema import DecayChannelMain, Origin
from .selectors import LC_SELECTOR

__all__ = [
    "FEATURES",
    "MACRO_CHANNEL",
    "MASS",
    "MASS_LABEL",
    "MC_LABEL_COLUMNS",
    "NAME",
    "NSIGMA_CLIP",
    "NSIGMA_FEATURES",
    "PARTNER_PEAK",
    "PRONG_FEATURES",
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
