"""Shared, vectorised building blocks of the charm-candidate generators (Ds/D+ and Λc).

Everything here works on whole arrays (float64 inside); nothing loops over candidates.
Geometry convention: the primary vertex (PV) is at the origin, the candidate flies along the unit
vector ``u`` of its momentum, ``e1``/``e2`` complete an orthonormal frame (``e1`` in the XY plane).
Lengths are in cm, momenta in GeV/c, masses in GeV/c², as in O2Physics tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from particle import Particle

from ..physics import constants
from ..schema import Table

# ---------------------------------------------------------------- global acceptance / binning
PT_MIN = 1.0  # GeV/c; lowest candidate pT written (brief: about 1-24 GeV/c)
PT_MAX = 24.0  # GeV/c; highest candidate pT written
ETA_MAX = 0.8  # ALICE central barrel acceptance |eta| < 0.8
PT_EDGES = tuple(np.round(np.arange(0.0, 24.0 + 1e-9, 0.5), 6))  # fine bins of expected_signal
_PT_GRID_STEP = 0.005  # GeV/c; tabulation step of the pT spectra (bin edges fall on grid points)

# ---------------------------------------------------------------- beauty parent of non-prompt charm
B_MASS = 0.5 * (Particle.from_pdgid(521).mass + Particle.from_pdgid(511).mass) / 1000.0  # GeV, PDG B+/B0
B_CTAU = 0.5 * (Particle.from_pdgid(521).ctau + Particle.from_pdgid(511).ctau) / 10.0  # cm, PDG B+/B0
B_TO_D_Z_BETA = (5.0, 2.5)  # Beta(a, b) of p_D/p_B in b -> D X (mean 0.67; approx. b-quark fragmentation x decay)
B_TO_D_QT = 0.9  # GeV/c; Rayleigh scale of D momentum transverse to the B flight (B -> D X decay kinematics)

# ---------------------------------------------------------------- detector response
VTX_SIGMA_LONG_CONST = 30e-4  # cm; SV resolution along the flight at high pT (PHYSICS.md: 30-60 um)
VTX_SIGMA_LONG_INVPT = 30e-4  # cm*GeV/c; 1/pT term: 60 um at 1 GeV/c, 37.5 um at 4 GeV/c
VTX_SIGMA_TRANS_RATIO = 0.6  # SV resolution transverse / along the flight (tracks nearly collinear)
VTX_QUALITY_LOGSIGMA = 0.3  # log-normal spread of the per-candidate vertex resolution (track quality)
VTX_SIGMA_REPORT_LOGSIGMA = 0.1  # log-normal mis-estimate of the reported uncertainty vs the true one
PV_SIGMA_XY = 15e-4  # cm; primary-vertex resolution in XY (pp, beam-spot constrained; approx.)
PV_SIGMA_Z = 25e-4  # cm; primary-vertex resolution in Z (approx.)
D0_SIGMA_CONST = 12e-4  # cm; ITS2 track d0(XY) resolution at high pT (approx.)
D0_SIGMA_INVPT = 30e-4  # cm*GeV/c; multiple-scattering term of the d0 resolution (32 um at 1 GeV/c)
D0Z_SIGMA_RATIO = 1.3  # d0(Z) resolution / d0(XY) resolution (approx.)
MASS_SIGMA_LOW = 7.0e-3  # GeV/c2; peak width at pT = PT_MIN (PHYSICS.md: 7-12 MeV/c2, growing with pT)
MASS_SIGMA_HIGH = 12.0e-3  # GeV/c2; peak width at pT = PT_MAX
TPC_MIP = 50.0  # PHYSICS.md: O2Physics Run 3 MIP dE/dx
TPC_ALEPH = (0.0320981, 19.9768, 2.52666e-16, 2.72123, 6.08092)  # PHYSICS.md: O2Physics Run 3 ALEPH kp1..kp5
TPC_RESOLUTION = 0.07  # PHYSICS.md: relative dE/dx resolution 7 %
TOF_SIGMA_PS = 75.0  # ps; PHYSICS.md: approx. 75 ps in Run 3
TOF_RADIUS_CM = 370.0  # cm; PHYSICS.md: track length about 3.7 m at eta = 0
TOF_MATCH_PLATEAU = 0.70  # TOF matching efficiency at high pT (approx. ALICE Run 3)
TOF_MATCH_PT_THRESHOLD = 0.3  # GeV/c; below this no TOF signal (PHYSICS.md: mostly none below 0.5)
TOF_MATCH_PT_SCALE = 0.25  # GeV/c; turn-on scale of the TOF matching
TOF_MISMATCH_FRACTION = 0.03  # wrong TOF hit attached to the track (approx.)
NSIGMA_MISSING = -999.0  # O2Physics default of a missing PID signal
SPEED_OF_LIGHT_CM_PER_PS = 2.99792458e-2  # exact (SI definition)

LIGHT_MASSES = {s: constants.mass(s) for s in ("pi", "K", "p")}


@dataclass
class CharmSample:
    """A synthetic data file, its MC file and the expected signal per pT bin.

    ``data`` and ``mc`` have exactly the columns (order and dtypes) of the O2Physics table;
    ``expected_signal`` is JSON-serialisable (the stand-in for FONLL x BR x luminosity).
    """

    data: pd.DataFrame
    mc: pd.DataFrame
    expected_signal: dict = field(default_factory=dict)


# ---------------------------------------------------------------- random streams, progress
def spawn_streams(seed: int, names: Sequence[str]) -> dict[str, np.random.Generator]:
    """One independent generator per name, derived from ``seed`` (order of names matters)."""
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(s) for n, s in zip(names, children, strict=True)}


def stage_bar(progress: bool, total: int, desc: str) -> Callable[[str], None]:
    """A tqdm.auto bar over ``total`` generation stages; returns ``step(name)``."""
    if not progress:
        return lambda name: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="stage")

    def step(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)
        if bar.n >= total:
            bar.close()

    return step


# ---------------------------------------------------------------- spectra and masses
class PtSpectrum:
    """dN/dpT ∝ pT / (1 + (pT/p0)²)^n on [PT_MIN, PT_MAX] (power law at high pT, Lévy-like).

    Sampled by inverting the tabulated CDF, which is piecewise linear between grid points, so
    :meth:`bin_fractions` gives the exact expected fraction per bin for edges on the grid.
    """

    def __init__(self, p0: float, n: float):
        self.p0, self.n = p0, n
        npts = round((PT_MAX - PT_MIN) / _PT_GRID_STEP) + 1
        self.grid = np.linspace(PT_MIN, PT_MAX, npts)
        pdf = self.grid / (1.0 + (self.grid / p0) ** 2) ** n
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(self.grid))])
        self.cdf = cdf / cdf[-1]

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.interp(rng.random(n), self.cdf, self.grid)

    def fraction(self, lo: float, hi: float) -> float:
        """Probability that pT falls in [lo, hi)."""
        return float(np.interp(hi, self.grid, self.cdf) - np.interp(lo, self.grid, self.cdf))

    def bin_fractions(self, edges: Sequence[float]) -> np.ndarray:
        return np.diff(np.interp(np.asarray(edges, dtype=float), self.grid, self.cdf))


def sample_exp_mass(rng: np.random.Generator, n: int, lo: float, hi: float, slope: float) -> np.ndarray:
    """Mass from dN/dm ∝ exp(-slope (m - lo)) on [lo, hi] (analytic inverse CDF)."""
    span = 1.0 - np.exp(-slope * (hi - lo))
    return lo - np.log1p(-rng.random(n) * span) / slope


def exp_mass_fraction(lo: float, hi: float, slope: float, a: float, b: float) -> float:
    """Fraction of the exponential mass shape of :func:`sample_exp_mass` in [a, b]."""
    span = 1.0 - np.exp(-slope * (hi - lo))
    return float((np.exp(-slope * (a - lo)) - np.exp(-slope * (b - lo))) / span)


def mass_sigma(pt: np.ndarray) -> np.ndarray:
    """Invariant-mass resolution: linear in pT from MASS_SIGMA_LOW to MASS_SIGMA_HIGH."""
    return MASS_SIGMA_LOW + (MASS_SIGMA_HIGH - MASS_SIGMA_LOW) * (pt - PT_MIN) / (PT_MAX - PT_MIN)


def rapidity(pt: np.ndarray, eta: np.ndarray, m: float) -> np.ndarray:
    """Rapidity from pT, eta and the mass hypothesis (O2Physics uses the PDG mass)."""
    pz = pt * np.sinh(eta)
    e = np.sqrt(m * m + pt * pt + pz * pz)
    return 0.5 * np.log((e + pz) / (e - pz))


def sample_direction(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform eta in |eta| < ETA_MAX and phi in [0, 2 pi)."""
    return rng.uniform(-ETA_MAX, ETA_MAX, n), rng.uniform(0.0, 2.0 * np.pi, n)


def frame(eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit flight direction u and two unit vectors e1 (in XY), e2 orthogonal to it; shape (n, 3)."""
    st, ct = 1.0 / np.cosh(eta), np.tanh(eta)
    cp, sp = np.cos(phi), np.sin(phi)
    u = np.stack([cp * st, sp * st, ct], axis=1)
    e1 = np.stack([-sp, cp, np.zeros_like(cp)], axis=1)
    e2 = np.stack([cp * ct, sp * ct, -st], axis=1)
    return u, e1, e2


# ---------------------------------------------------------------- flight and vertexing
def charm_flight(
    rng: np.random.Generator,
    p: np.ndarray,
    frame_: tuple[np.ndarray, np.ndarray, np.ndarray],
    m: float,
    ctau: float,
    nonprompt: np.ndarray,
) -> np.ndarray:
    """True flight vector PV -> decay vertex, shape (n, 3).

    Charm decay length L = (p/M) c tau Exp(1) along u; non-prompt candidates first fly with
    their B parent (p_B = p/z, L_B = (p_B/M_B) c tau_B Exp(1)) along a direction tilted from u by
    the decay angle atan(q_T/p), so they are displaced and do not point back to the PV.
    """
    u, e1, e2 = frame_
    flight = ((p / m) * ctau * rng.standard_exponential(p.size))[:, None] * u
    idx = np.flatnonzero(nonprompt)
    if idx.size:
        pp = p[idx]
        z = rng.beta(*B_TO_D_Z_BETA, idx.size)
        lb = (pp / z / B_MASS) * B_CTAU * rng.standard_exponential(idx.size)
        theta = np.arctan(B_TO_D_QT * np.sqrt(-2.0 * np.log1p(-rng.random(idx.size))) / pp)
        psi = rng.uniform(0.0, 2.0 * np.pi, idx.size)
        sth = np.sin(theta)[:, None]
        ub = np.cos(theta)[:, None] * u[idx] + sth * (
            np.cos(psi)[:, None] * e1[idx] + np.sin(psi)[:, None] * e2[idx]
        )
        flight[idx] += lb[:, None] * ub
    return flight


def vertex_sigmas(rng: np.random.Generator, pt: np.ndarray, scale: np.ndarray | float = 1.0):
    """Per-candidate SV resolution along / across the flight (cm) and the reporting mis-estimate."""
    quality = np.exp(VTX_QUALITY_LOGSIGMA * rng.standard_normal(pt.size)) * scale
    s_long = (VTX_SIGMA_LONG_CONST + VTX_SIGMA_LONG_INVPT / pt) * quality
    report = np.exp(VTX_SIGMA_REPORT_LOGSIGMA * rng.standard_normal(pt.size))
    return s_long, VTX_SIGMA_TRANS_RATIO * s_long, report


def _noise(rng: np.random.Generator, shape, nu: float | None) -> np.ndarray:
    """Standard normal, or unit-scale Student-t with ``nu`` dof (tails of badly measured tracks)."""
    if nu is None:
        return rng.standard_normal(shape)
    return rng.standard_t(nu, shape) * np.sqrt((nu - 2.0) / nu)


def vertex_observables(
    rng: np.random.Generator,
    pt: np.ndarray,
    frame_: tuple[np.ndarray, np.ndarray, np.ndarray],
    flight: np.ndarray,
    s_long: np.ndarray,
    s_trans: np.ndarray,
    report: np.ndarray,
    nu: float | None = None,
) -> dict[str, np.ndarray]:
    """Measured decay-vertex quantities, computed as O2Physics does from the smeared vertices.

    Returns decay length (3D, XY), their normalised values (L / sigma_L from the rotated SV+PV
    covariance), cos pointing angle (3D, XY), candidate impact parameter XY (signed) and the PV
    smearing (needed for the prong impact parameters).
    """
    u, e1, e2 = frame_
    n = pt.size
    z = _noise(rng, (n, 3), nu)
    d_sv = (s_long * z[:, 0])[:, None] * u + (s_trans * z[:, 1])[:, None] * e1 + (s_trans * z[:, 2])[:, None] * e2
    pv = rng.standard_normal((n, 3)) * np.array([PV_SIGMA_XY, PV_SIGMA_XY, PV_SIGMA_Z])
    d = flight + d_sv - pv
    lxy = np.hypot(d[:, 0], d[:, 1])
    length = np.sqrt(lxy * lxy + d[:, 2] ** 2)
    uxy = np.hypot(u[:, 0], u[:, 1])
    cpa = np.einsum("ij,ij->i", d, u) / length
    cpaxy = (d[:, 0] * u[:, 0] + d[:, 1] * u[:, 1]) / (lxy * uxy)
    sl2, st2 = (s_long * report) ** 2, (s_trans * report) ** 2
    var_l = st2 + (sl2 - st2) * cpa**2 + PV_SIGMA_XY**2 * (lxy / length) ** 2 + PV_SIGMA_Z**2 * (d[:, 2] / length) ** 2
    # XY: project on the unit vector of d_xy; u . d_xy_hat = cpaxy * |u_xy|
    var_lxy = st2 + (sl2 - st2) * (cpaxy * uxy) ** 2 + PV_SIGMA_XY**2
    d0xy = (d[:, 0] * u[:, 1] - d[:, 1] * u[:, 0]) / uxy
    return {
        "L": length,
        "Lxy": lxy,
        "Lnorm": length / np.sqrt(var_l),
        "Lxynorm": lxy / np.sqrt(var_lxy),
        "cpa": cpa,
        "cpaxy": cpaxy,
        "d0xy": d0xy,
        "pv": pv,
    }


# ---------------------------------------------------------------- prongs
def d0_sigma(pt: np.ndarray) -> np.ndarray:
    """Track impact-parameter (XY) resolution of ITS2 vs pT (cm)."""
    return np.sqrt(D0_SIGMA_CONST**2 + (D0_SIGMA_INVPT / pt) ** 2)


def prong_kinematics(
    rng: np.random.Generator,
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    alpha: Sequence[float],
    q_open: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prong pT, phi, eta (each (n, 3)).

    Momentum fractions ~ Dirichlet(alpha); each prong opens by an angle ~ N(0, q_open/pT_i) in phi
    and eta around the candidate; pT are rescaled so that the sum of the prongs' pT projected on the
    candidate direction equals the candidate pT (the scalar sum is then slightly larger).
    """
    g = rng.standard_gamma(np.asarray(alpha, dtype=float), (pt.size, len(alpha)))
    frac = g / g.sum(axis=1, keepdims=True)
    pti = pt[:, None] * frac
    width = np.minimum(q_open / np.maximum(pti, 1e-3), 1.0)
    dphi = np.clip(rng.standard_normal(pti.shape) * width, -1.4, 1.4)
    deta = np.clip(rng.standard_normal(pti.shape) * width, -1.0, 1.0)
    pti = pti / np.einsum("ij,ij->i", frac, np.cos(dphi))[:, None]
    return pti, phi[:, None] + dphi, eta[:, None] + deta


def prong_impact_parameters(
    rng: np.random.Generator,
    flight: np.ndarray,
    pv: np.ndarray,
    pti: np.ndarray,
    phii: np.ndarray,
    etai: np.ndarray,
    nu: float | None = None,
    scale: np.ndarray | float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Signed prong impact parameters XY and Z (cm) of straight tracks from the true decay point."""
    rel = flight - pv  # decay point seen from the measured PV
    cp, sp = np.cos(phii), np.sin(phii)
    d0xy = rel[:, 0:1] * sp - rel[:, 1:2] * cp
    along = rel[:, 0:1] * cp + rel[:, 1:2] * sp
    d0z = rel[:, 2:3] - along * np.sinh(etai)
    sig = d0_sigma(pti) * scale
    d0xy = d0xy + sig * _noise(rng, pti.shape, nu)
    d0z = d0z + D0Z_SIGMA_RATIO * sig * _noise(rng, pti.shape, nu)
    return d0xy, d0z


def chi2_pca(rng: np.random.Generator, pti: np.ndarray, factor: np.ndarray | float = 1.0) -> np.ndarray:
    """Sum of squared prong distances to the fitted vertex (cm²): 3 dof left of 6 measured."""
    var = (d0_sigma(pti) ** 2).sum(axis=1) * (1.0 + D0Z_SIGMA_RATIO**2) / 3.0
    return var * rng.chisquare(3, pti.shape[0]) * factor


# ---------------------------------------------------------------- PID
def _aleph(bg: np.ndarray) -> np.ndarray:
    """ALEPH Bethe-Bloch (PHYSICS.md): O2Physics' TPC response, written out to stay vectorised."""
    kp1, kp2, kp3, kp4, kp5 = TPC_ALEPH
    beta = bg / np.sqrt(1.0 + bg * bg)
    bp = beta**kp4
    return TPC_MIP * kp1 / bp * (kp2 - bp - np.log(kp3 + bg ** (-kp5)))


def pid_nsigma(
    rng: np.random.Generator,
    pti: np.ndarray,
    etai: np.ndarray,
    true_mass: np.ndarray,
    hypotheses: Sequence[str],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """TPC and TOF n-sigma of every prong for each mass hypothesis; (n, 3) arrays each.

    One dE/dx and one TOF time are drawn per prong from its true species, then compared with the
    expectation of each hypothesis (as the PID response does). Missing TOF is NSIGMA_MISSING.
    """
    p = pti * np.cosh(etai)
    dedx = _aleph(p / true_mass) * (1.0 + TPC_RESOLUTION * rng.standard_normal(p.shape))
    length = TOF_RADIUS_CM * np.cosh(etai)
    t_true = length / SPEED_OF_LIGHT_CM_PER_PS * np.sqrt(1.0 + (true_mass / p) ** 2)
    t_meas = t_true + TOF_SIGMA_PS * rng.standard_normal(p.shape)
    mismatch = rng.random(p.shape) < TOF_MISMATCH_FRACTION
    t_meas = np.where(mismatch, t_true + rng.uniform(-2000.0, 2000.0, p.shape), t_meas)
    eff = TOF_MATCH_PLATEAU * (1.0 - np.exp(-(pti - TOF_MATCH_PT_THRESHOLD) / TOF_MATCH_PT_SCALE))
    has_tof = rng.random(p.shape) < eff  # eff < 0 below threshold: never matched
    tpc, tof = {}, {}
    for h in hypotheses:
        m = LIGHT_MASSES[h]
        expected = _aleph(p / m)
        tpc[h] = (dedx - expected) / (TPC_RESOLUTION * expected)
        t_exp = length / SPEED_OF_LIGHT_CM_PER_PS * np.sqrt(1.0 + (m / p) ** 2)
        tof[h] = np.where(has_tof, (t_meas - t_exp) / TOF_SIGMA_PS, NSIGMA_MISSING)
    return tpc, tof


def combine_nsigma(tpc: np.ndarray, tof: np.ndarray) -> np.ndarray:
    """O2Physics pid_tpc_tof_utils::combineNSigma: sqrt((tpc² + tof²)/2), or |tpc| without TOF."""
    return np.where(tof > NSIGMA_MISSING + 0.1, np.sqrt(0.5 * (tpc * tpc + tof * tof)), np.abs(tpc))


def species_masses(rng: np.random.Generator, shape, fractions: dict[str, float]) -> np.ndarray:
    """True masses of background tracks drawn from a species mixture."""
    names = list(fractions)
    probs = np.array([fractions[s] for s in names], dtype=float)
    idx = np.searchsorted(np.cumsum(probs / probs.sum()), rng.random(shape), side="right")
    return np.array([LIGHT_MASSES[s] for s in names])[np.minimum(idx, len(names) - 1)]


# ---------------------------------------------------------------- assembly
def draw_classes(rng: np.random.Generator, n: int, probs: Sequence[float]) -> np.ndarray:
    """Class index per candidate (multinomial with ``probs``)."""
    cum = np.cumsum(np.asarray(probs, dtype=float))
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(probs) - 1)


def to_frame(table: Table, columns: dict[str, np.ndarray], names: Sequence[str]) -> pd.DataFrame:
    """DataFrame with exactly ``names`` (in that order), each cast to the schema dtype."""
    return pd.DataFrame(
        {c: np.ascontiguousarray(columns[c], dtype=table[c].dtype) for c in names}, copy=False
    )


def empty_columns(n: int) -> dict[str, np.ndarray]:
    """Helper for n = 0 edge cases."""
    return {"n": np.zeros(n)}
