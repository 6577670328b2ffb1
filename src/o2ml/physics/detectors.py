"""TPC and TOF particle-identification responses, as O2Physics computes them.

* TPC: the ALEPH parametrisation of the Bethe-Bloch curve (``o2::tpc::BetheBlochAleph``) with the
  O2Physics Run 3 defaults; expected signal = MIP * f(beta*gamma) * z^2.3; a relative resolution that
  grows for tracks with few clusters; nsigma = (signal - expected) / (expected * resolution).
* TOF: expected beta and time of flight of a mass hypothesis over a track length, the measured beta,
  nsigma = (time - expected time) / time resolution. Times in ps, lengths in cm (O2Physics units).

All functions are vectorised over numpy arrays. ``mass`` may be a number (GeV/c^2), an array, or a
species name known to :mod:`o2ml.physics.constants` (``"e"``, ``"pi"``, ``"K"``, ``"p"``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..errors import BadArgumentError
from .constants import O2_PID_INDEX
from .constants import mass as _particle_mass

# ALEPH parameters kp1..kp5, O2Physics Run 3 defaults (docs/physics.md "TPC dE/dx and TOF")
ALEPH_PARAMS = (0.0320981, 19.9768, 2.52666e-16, 2.72123, 6.08092)
# dE/dx of a minimum-ionising particle in TPC units, O2Physics default (docs/physics.md)
TPC_MIP = 50.0
# the expected dE/dx scales with charge^2.3 (docs/physics.md: dE/dx = MIP * f * z^2.3)
TPC_CHARGE_EXPONENT = 2.3
# relative dE/dx resolution, O2Physics default (docs/physics.md: 7 %; measured 5.2 % pp, 6.5 % Pb-Pb)
TPC_RELATIVE_RESOLUTION = 0.07
# clusters at which a track has the nominal resolution; resolution ~ 1/sqrt(Ncl) (documented choice)
TPC_NCLS_REFERENCE = 150
# speed of light in cm/ps (exact, SI definition), the O2Physics unit for TOF
SPEED_OF_LIGHT_CM_PS = 0.0299792458
# radius of the TOF detector in cm (docs/physics.md: track length ~ 3.7 m)
TOF_RADIUS_CM = 370.0
# ALICE solenoid field in T (L3 magnet, 0.5 T nominal)
MAGNETIC_FIELD_T = 0.5
# TOF time resolution in ps, Run 3 (docs/physics.md: approx. 75 ps)
TOF_TIME_RESOLUTION_PS = 75.0


def as_float_array(x: ArrayLike) -> np.ndarray:
    """``x`` as a float array: float32 stays float32 (fast hypothesis loops), anything else float64."""
    a = np.asarray(x)
    return a if a.dtype == np.float32 else a.astype(np.float64, copy=False)


def as_mass(mass: float | str | ArrayLike) -> float | np.ndarray:
    """A mass in GeV/c^2 from a number, an array or a species name (``"pi"``, ``"K"``, ...)."""
    if isinstance(mass, str):
        return _particle_mass(mass)
    return float(mass) if np.isscalar(mass) else as_float_array(mass)


def beta_gamma(p: ArrayLike, mass: float | str | ArrayLike) -> np.ndarray:
    """beta*gamma = p/m."""
    return as_float_array(p) / as_mass(mass)


def expected_beta(p: ArrayLike, mass: float | str | ArrayLike) -> np.ndarray:
    """Velocity beta = p / sqrt(p^2 + m^2) of a particle of momentum p (GeV/c)."""
    p = as_float_array(p)
    m = as_mass(mass)
    return p / np.sqrt(p * p + m * m)


# --------------------------------------------------------------------------------------- TPC
def bethe_bloch_aleph(bg: ArrayLike, params: tuple[float, ...] = ALEPH_PARAMS) -> np.ndarray:
    """ALEPH form f(beta*gamma) = kp1/beta^kp4 * (kp2 - beta^kp4 - ln(kp3 + (beta*gamma)^-kp5)).

    Same arithmetic as ``o2::tpc::BetheBlochAleph`` (O2 DataFormatsTPC/BetheBlochAleph.h).
    """
    kp1, kp2, kp3, kp4, kp5 = params
    bg = as_float_array(bg)
    beta = bg / np.sqrt(1.0 + bg * bg)
    aa = beta**kp4
    bb = np.log(kp3 + bg ** (-kp5))
    return (kp2 - aa - bb) * kp1 / aa


def tpc_expected_signal(
    p: ArrayLike,
    mass: float | str | ArrayLike,
    charge: float = 1.0,
    *,
    mip: float = TPC_MIP,
    params: tuple[float, ...] = ALEPH_PARAMS,
) -> np.ndarray:
    """Expected TPC dE/dx: MIP * f_ALEPH(p/m) * |z|^2.3 (p is the momentum, GeV/c)."""
    bg = np.abs(as_float_array(p)) * abs(charge) / as_mass(mass)
    return mip * bethe_bloch_aleph(bg, params) * abs(charge) ** TPC_CHARGE_EXPONENT


def tpc_relative_resolution(
    ncls: ArrayLike | None = None,
    *,
    resolution: float = TPC_RELATIVE_RESOLUTION,
    ncls_reference: float = TPC_NCLS_REFERENCE,
) -> np.ndarray | float:
    """Relative dE/dx resolution: ``resolution`` at ``ncls_reference`` clusters, ~ 1/sqrt(Ncl).

    With ``ncls=None`` the constant ``resolution`` is returned (the O2Physics default form).
    """
    if ncls is None:
        return resolution
    ncls = np.maximum(np.asarray(ncls, dtype=float), 1.0)
    return resolution * np.sqrt(ncls_reference / ncls)


def tpc_expected_sigma(
    p: ArrayLike,
    mass: float | str | ArrayLike,
    ncls: ArrayLike | None = None,
    *,
    resolution: float = TPC_RELATIVE_RESOLUTION,
    ncls_reference: float = TPC_NCLS_REFERENCE,
    mip: float = TPC_MIP,
) -> np.ndarray:
    """Expected absolute dE/dx resolution = expected signal * relative resolution."""
    rel = tpc_relative_resolution(ncls, resolution=resolution, ncls_reference=ncls_reference)
    return tpc_expected_signal(p, mass, mip=mip) * rel


def tpc_nsigma(
    signal: ArrayLike,
    p: ArrayLike,
    mass: float | str | ArrayLike,
    ncls: ArrayLike | None = None,
    *,
    resolution: float = TPC_RELATIVE_RESOLUTION,
    ncls_reference: float = TPC_NCLS_REFERENCE,
    mip: float = TPC_MIP,
) -> np.ndarray:
    """TPC nsigma = (signal - expected) / (expected * relative resolution)."""
    exp = tpc_expected_signal(p, mass, mip=mip)
    rel = tpc_relative_resolution(ncls, resolution=resolution, ncls_reference=ncls_reference)
    return (as_float_array(signal) - exp) / (exp * rel)


def tpc_hypothesis(
    p: ArrayLike,
    signal: ArrayLike,
    species: str | ArrayLike,
    *,
    resolution: float = TPC_RELATIVE_RESOLUTION,
) -> dict[str, np.ndarray]:
    """What pidTPC (no network) and the TPC skims store for a mass hypothesis (one species name,
    or one per track): ``fInvDeDxExpTPC`` = 1 / expected, ``fMass``, ``fBetaGamma`` = p / mass,
    ``fPidIndex`` (o2::track::PID id) and ``fNSigTPC`` = (signal - E) / (``resolution`` x E)."""
    p = as_float_array(p)
    names = np.broadcast_to(np.asarray(species, dtype=object), p.shape).tolist()
    unknown = sorted(set(names) - set(O2_PID_INDEX))
    if unknown:
        raise BadArgumentError(f"Unknown species {unknown}; known: {list(O2_PID_INDEX)}.")
    masses = np.array([_particle_mass(s) for s in names], float)
    expected = tpc_expected_signal(p, masses)
    return {
        "fInvDeDxExpTPC": 1.0 / expected,
        "fMass": masses,
        "fBetaGamma": p / masses,
        "fPidIndex": np.array([O2_PID_INDEX[s] for s in names], np.uint8),
        "fNSigTPC": (as_float_array(signal) - expected) / (resolution * expected),
    }


# --------------------------------------------------------------------------------------- TOF
def tof_track_length(
    pt: ArrayLike,
    eta: ArrayLike,
    *,
    radius: float = TOF_RADIUS_CM,
    bfield: float = MAGNETIC_FIELD_T,
) -> np.ndarray:
    """Helix path length (cm) from the primary vertex to a cylinder of ``radius``.

    Transverse arc 2R*asin(r/2R) with R[m] = pT/(0.3 B), times cosh(eta) for the longitudinal part.
    Tracks that curl up before the radius (2R < r) get NaN.
    """
    pt = as_float_array(pt)
    r_curv = pt / (0.299792458 * bfield) * 100.0  # cm
    with np.errstate(invalid="ignore"):
        arc = 2.0 * r_curv * np.arcsin(radius / (2.0 * r_curv))
    return arc * np.cosh(as_float_array(eta))


def tof_expected_time(p: ArrayLike, mass: float | str | ArrayLike, length: ArrayLike) -> np.ndarray:
    """Expected time of flight (ps) of a mass hypothesis over ``length`` (cm)."""
    return as_float_array(length) / (SPEED_OF_LIGHT_CM_PS * expected_beta(p, mass))


def tof_beta(length: ArrayLike, time: ArrayLike) -> np.ndarray:
    """Measured beta = length / (c * time) (length in cm, time in ps, event time 0)."""
    return as_float_array(length) / (SPEED_OF_LIGHT_CM_PS * as_float_array(time))


def tof_nsigma(
    time: ArrayLike,
    p: ArrayLike,
    mass: float | str | ArrayLike,
    length: ArrayLike,
    *,
    sigma_time: float = TOF_TIME_RESOLUTION_PS,
) -> np.ndarray:
    """TOF nsigma = (time - expected time) / sigma_time (ps)."""
    return (as_float_array(time) - tof_expected_time(p, mass, length)) / sigma_time


__all__ = [
    "ALEPH_PARAMS",
    "MAGNETIC_FIELD_T",
    "SPEED_OF_LIGHT_CM_PS",
    "TOF_RADIUS_CM",
    "TOF_TIME_RESOLUTION_PS",
    "TPC_CHARGE_EXPONENT",
    "TPC_MIP",
    "TPC_NCLS_REFERENCE",
    "TPC_RELATIVE_RESOLUTION",
    "as_float_array",
    "as_mass",
    "beta_gamma",
    "bethe_bloch_aleph",
    "expected_beta",
    "tof_beta",
    "tof_expected_time",
    "tof_nsigma",
    "tof_track_length",
    "tpc_expected_sigma",
    "tpc_expected_signal",
    "tpc_hypothesis",
    "tpc_nsigma",
    "tpc_relative_resolution",
]
