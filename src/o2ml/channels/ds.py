"""Ds+ -> K+K-π+ (and D+ -> K+K-π+ in the same spectrum): the recipe of notebook 01.

Everything a Ds analysis fixes once: the tree-creator table, the O2Physics selector that applies
the models, the tutorial's feature set, the mass sidebands that stand for background, and the
rectangular cuts that a BDT must beat.
"""

from __future__ import annotations

from .selectors import DS_SELECTOR

__all__ = ["REFERENCE_CUTS", "SELECTOR", "SIDEBANDS", "TABLE", "TUTORIAL_FEATURES"]

#: the selector that applies the exported models (hf-candidate-selector-ds-to-k-k-pi)
SELECTOR = DS_SELECTOR
#: the tree creator's table (PWGHF/TableProducer/treeCreatorDsToKKPi.cxx)
TABLE = SELECTOR.table
#: the 7 features of the ALICE O2 Ds tutorial (mass and pT are never features)
TUTORIAL_FEATURES = [
    "fCpa", "fCpaXY", "fDecayLength", "fDecayLengthXY", "fDeltaMassPhi", "fImpactParameterXY",
    "fAbsCos3PiK",
]  # fmt: skip
#: the tutorial's background: data below 1.75 and above 2.1 GeV/c^2 (the D+ peak sits left of
#: the Ds, at 1.87, inside the excluded range)
SIDEBANDS = (1.75, 2.1)
#: Ds+ -> KKpi rectangular cuts, 2 < pT < 4 GeV/c (O2Physics PWGHF/Core/SelectorCuts.h)
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
