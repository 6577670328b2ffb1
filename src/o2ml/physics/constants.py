"""Particle properties, read from the PDG tables that the `particle` package ships offline.

Masses are in GeV/c^2 and proper decay lengths (c*tau) in cm, the units of O2Physics tables.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import ArrayLike
from particle import Particle

# PDG codes of the particles o2ml deals with
PDG = {
    "Ds": 431,
    "Dplus": 411,
    "Lc": 4122,
    "Xic": 4232,
    "phi": 333,
    "e": 11,
    "mu": 13,
    "pi": 211,
    "K": 321,
    "p": 2212,
}


@cache
def mass(name: str) -> float:
    """Mass in GeV/c^2 of a particle named as in :data:`PDG` (e.g. ``"Ds"``)."""
    return Particle.from_pdgid(PDG[name]).mass / 1000.0


@cache
def width(name: str) -> float:
    """Total width in GeV of a particle named as in :data:`PDG`."""
    return Particle.from_pdgid(PDG[name]).width / 1000.0


@cache
def ctau(name: str) -> float:
    """Proper decay length c*tau in cm of a particle named as in :data:`PDG`."""
    return Particle.from_pdgid(PDG[name]).ctau / 10.0


# Light species used in PID, in the order of the class labels of the PID models
PID_SPECIES = ("e", "pi", "K", "p")


def pid_label(pdg_codes: ArrayLike) -> np.ndarray:
    """Class label 0..3 (index in :data:`PID_SPECIES`) of signed PDG codes; -1 for any other
    particle. The one map from PDG code to PID class (generator, tagging, models)."""
    codes = np.abs(np.asarray(pdg_codes))
    out = np.full(codes.shape, -1, dtype=np.int8)
    for k, s in enumerate(PID_SPECIES):
        out[codes == PDG[s]] = k
    return out


#: o2::track::PID ids (AliceO2 DataFormats/Reconstruction/include/ReconstructionDataFormats/PID.h):
#: the fPidIndex of the TPC skims and pidTPC's hypothesis index
O2_PID_INDEX = {"e": 0, "mu": 1, "pi": 2, "K": 3, "p": 4}
