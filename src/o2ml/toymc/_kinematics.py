"""Shared, vectorised building blocks of the charm-candidate generators (Ds/D+ and Λc).

Everything works on whole arrays (float64 inside); nothing loops over candidates. Geometry: the
true primary vertex (PV) is at the origin, the candidate flies along the unit vector ``u`` of its
momentum; ``e1`` (in XY) and ``e2`` complete an orthonormal frame. Lengths in cm, momenta in
GeV/c, masses in GeV/c², as in O2Physics tables. Per-prong arrays have shape (3, n).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from particle import Particle

from ..physics import constants
from ..physics import detectors as det
from ..schema import Table

# ---------------------------------------------------------------- acceptance and binning
PT_MIN = 1.0  # GeV/c; lowest candidate pT written (choice: 1-24 GeV/c)
PT_MAX = 24.0  # GeV/c; highest candidate pT written
ETA_MAX = 0.8  # ALICE central barrel |eta| < 0.8
PT_EDGES = tuple(float(x) for x in np.arange(0.0, 24.0 + 1e-9, 0.5))  # fine bins of expected_signal
PRONG_PT_MIN = 0.2  # GeV/c; track pT preselection of HF 3-prongs (approx.; configurable)

# ---------------------------------------------------------------- beauty parent of non-prompt charm
_B = (Particle.from_pdgid(521), Particle.from_pdgid(511))
B_MASS = 0.5 * (_B[0].mass + _B[1].mass) / 1000.0  # GeV/c2; PDG, mean of B+ and B0
B_CTAU = 0.5 * (_B[0].ctau + _B[1].ctau) / 10.0  # cm; PDG, mean of B+ and B0
B_TO_D_Z = (5.0, 2.5)  # Beta(a, b) of p(charm)/p(B) in B -> charm X (mean 0.67; approx.)
B_TO_D_QT = 0.9  # GeV/c; Rayleigh scale of the charm momentum transverse to the B flight (approx.)

# ---------------------------------------------------------------- detector response
# (sources and ranges of these numbers: docs/physics.md, "Particles" and "TPC dE/dx and TOF")
VTX_SIGMA_LONG_CONST = 30e-4  # cm; SV resolution along the flight at high pT (30-60 um)
VTX_SIGMA_LONG_INVPT = 30e-4  # cm GeV/c; 1/pT term: 60 um at 1 GeV/c, 37.5 um at 4 GeV/c
VTX_SIGMA_TRANS_RATIO = 0.5  # SV resolution across / along the flight (approx.)
VTX_REPORT_LOGSIGMA = 0.1  # log-normal mis-estimate of the reported vertex uncertainty (approx.)
PV_SIGMA_XY = 15e-4  # cm; primary-vertex resolution in XY (pp, beam-spot constrained; approx.)
PV_SIGMA_Z = 25e-4  # cm; primary-vertex resolution in Z (approx.)
D0_SIGMA_CONST = 12e-4  # cm; ITS2 track d0(XY) resolution at high pT (approx.)
D0_SIGMA_INVPT = 30e-4  # cm GeV/c; multiple-scattering term of the d0 resolution (32 um at 1 GeV/c)
D0Z_SIGMA_RATIO = 1.3  # d0(Z) resolution / d0(XY) resolution (approx.)
MASS_SIGMA_LOW = 7.0e-3  # GeV/c2; peak width at PT_MIN (7-12 MeV/c2, grows with pT)
MASS_SIGMA_HIGH = 12.0e-3  # GeV/c2; peak width at pT = PT_MAX
TOF_MATCH_PLATEAU = 0.80  # TOF matching efficiency at high pT (approx. ALICE Run 3)
TOF_MATCH_PT_THRESHOLD = 0.3  # GeV/c; no TOF below (docs/physics.md: mostly none below 0.5 GeV/c)
TOF_MATCH_PT_SCALE = 0.25  # GeV/c; turn-on scale of the TOF matching above the threshold
TOF_MISMATCH_FRACTION = 0.03  # share of TOF-matched tracks with a wrong hit (flat time; approx.)
NSIGMA_MISSING = -999.0  # O2Physics default of a missing PID signal

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


# ---------------------------------------------------------------- random streams, chunks, progress
CHUNK_SIZE = 1 << 14  # candidates per chunk (own random stream each; temporaries fit cache)


def spawn_seeds(seed: int, names: Sequence[str]) -> dict[str, np.random.SeedSequence]:
    """One independent seed sequence per name, derived from ``seed`` (the order of names matters)."""
    children = np.random.SeedSequence(seed).spawn(len(names))
    return dict(zip(names, children, strict=True))


def run_chunks(
    seq: np.random.SeedSequence, n: int, job: Callable[[np.random.Generator, slice], None]
) -> None:
    """Call ``job(rng, rows)`` for consecutive chunks of ``n`` rows, chunk i with the i-th child
    stream of ``seq`` (so results do not depend on the threads). Chunks run on a thread pool:
    numpy releases the GIL in its array loops."""
    starts = range(0, n, CHUNK_SIZE)
    rngs = [np.random.default_rng(s) for s in seq.spawn(len(starts))]
    tasks = [(r, slice(a, min(a + CHUNK_SIZE, n))) for r, a in zip(rngs, starts, strict=True)]
    workers = min(len(tasks), os.cpu_count() or 1, 4)
    if workers <= 1:
        for r, rows in tasks:
            job(r, rows)
        return
    with ThreadPoolExecutor(workers) as pool:
        for f in [pool.submit(job, r, rows) for r, rows in tasks]:
            f.result()


def stage_bar(progress: bool, total: int, desc: str) -> Callable[[str], None]:
    """A tqdm.auto bar over ``total`` generation stages; returns ``step(name)``."""
    if not progress:
        return lambda name: None
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="stage")

    def step(name: str) -> None:
        bar.set_postfix_str(name, refresh=False)
        bar.update(1)
        if bar.n >= total:
            bar.close()

    return step


def draw_classes(rng: np.random.Generator, n: int, probs: Sequence[float]) -> np.ndarray:
    """Class index per candidate (multinomial with ``probs``), as int8."""
    cum = np.cumsum(np.asarray(probs, dtype=float))
    u = rng.random(n) * cum[-1]
    idx = np.zeros(n, dtype=np.int8)
    for c in cum[:-1]:  # a few classes: comparisons are cheaper than a search
        idx += u >= c
    return idx


def signed_exponential(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """An Exp(1) variate and an independent random sign from a single uniform draw."""
    u = rng.random(n)
    return -np.log1p(-np.abs(2.0 * u - 1.0)), np.where(u < 0.5, -1.0, 1.0)


# ---------------------------------------------------------------- spectra and masses
class PtSpectrum:
    """dN/dpT ∝ pT (1 + (pT/p0)²)^-n on [PT_MIN, PT_MAX]: Lévy-like, ~pT^(1-2n) at high pT.

    With x = 1 + (pT/p0)² the density is ∝ x^-n, so both sampling and bin fractions are analytic.
    """

    def __init__(self, p0: float, n: float):
        self.p0, self.n = p0, n
        self._a, self._b = self._g(PT_MIN), self._g(PT_MAX)

    def _g(self, pt):
        return (1.0 + (np.asarray(pt, dtype=float) / self.p0) ** 2) ** (1.0 - self.n)

    def cdf(self, pt) -> np.ndarray:
        pt = np.clip(np.asarray(pt, dtype=float), PT_MIN, PT_MAX)
        return (self._a - self._g(pt)) / (self._a - self._b)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        x = (self._a - rng.random(n) * (self._a - self._b)) ** (1.0 / (1.0 - self.n))
        return self.p0 * np.sqrt(x - 1.0)

    def fraction(self, lo: float, hi: float) -> float:
        """Probability that pT falls in [lo, hi)."""
        return float(self.cdf(hi) - self.cdf(lo))

    def bin_fractions(self, edges: Sequence[float]) -> np.ndarray:
        return np.diff(self.cdf(edges))


def spectra(g) -> dict[str, PtSpectrum]:
    """The pT spectra (``bkg``, ``prompt``, ``nonprompt``) of a channel's physics ``g``."""
    return {
        "bkg": PtSpectrum(*g.bkg_spectrum),
        "prompt": PtSpectrum(*g.prompt_spectrum),
        "nonprompt": PtSpectrum(*g.nonprompt_spectrum),
    }


def sample_exp_mass(
    rng: np.random.Generator, n: int, lo: float, hi: float, slope: float
) -> np.ndarray:
    """Mass from dN/dm ∝ exp(-slope (m - lo)) on [lo, hi] (analytic inverse CDF)."""
    span = -np.expm1(-slope * (hi - lo))
    return lo - np.log1p(-rng.random(n) * span) / slope


def exp_mass_fraction(lo: float, hi: float, slope: float, a: float, b: float) -> float:
    """Fraction of the shape of :func:`sample_exp_mass` that falls in [a, b]."""
    span = -np.expm1(-slope * (hi - lo))
    return float((np.exp(-slope * (a - lo)) - np.exp(-slope * (b - lo))) / span)


def mass_sigma(pt: np.ndarray) -> np.ndarray:
    """Invariant-mass resolution, linear in pT from MASS_SIGMA_LOW to MASS_SIGMA_HIGH."""
    return MASS_SIGMA_LOW + (MASS_SIGMA_HIGH - MASS_SIGMA_LOW) * (pt - PT_MIN) / (PT_MAX - PT_MIN)


def breit_wigner(
    rng: np.random.Generator, n: int, m0: float, gamma: float, lo: float, hi: float
) -> np.ndarray:
    """Non-relativistic Breit-Wigner (Cauchy) truncated to [lo, hi] (inverse CDF)."""
    a, b = (np.arctan((x - m0) / (0.5 * gamma)) for x in (lo, hi))
    return m0 + 0.5 * gamma * np.tan(a + (b - a) * rng.random(n))


def rapidity(pt: np.ndarray, eta: np.ndarray, m: float | np.ndarray) -> np.ndarray:
    """Rapidity from pT, eta and a mass (per row or one): the Λc tree creator uses the PDG mass
    (HfHelper::yLc), the Ds tree creator the row's invariant mass (``candidate.y(invMassDs)``)."""
    pz = pt * np.sinh(eta)
    e = np.sqrt(m * m + pt * pt + pz * pz)
    return 0.5 * np.log((e + pz) / (e - pz))


# ---------------------------------------------------------------- flight
def frame(eta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit flight direction u, e1 (in XY) and e2 completing the frame; each shape (3, n)."""
    ex = np.exp(eta)
    st = 2.0 / (ex + 1.0 / ex)  # 1/cosh
    ct = (ex - 1.0 / ex) * (0.5 * st)  # tanh
    cp = np.cos(phi)
    sp = np.sqrt(1.0 - cp * cp) * np.where(phi < np.pi, 1.0, -1.0)  # phi in [0, 2 pi)
    u = np.stack([cp * st, sp * st, ct])
    e1 = np.stack([-sp, cp, np.zeros_like(cp)])
    e2 = np.stack([cp * ct, sp * ct, -st])
    return u, e1, e2


def tilt(fr, theta: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """Unit vector at angle theta from u, azimuth psi around it; shape (3, n)."""
    u, e1, e2 = fr
    s = np.sin(theta)
    return np.cos(theta) * u + (s * np.cos(psi)) * e1 + (s * np.sin(psi)) * e2


def charm_flight(
    rng, p: np.ndarray, fr, m: float, ctau: float, nonprompt: np.ndarray
) -> np.ndarray:
    """True flight vector PV -> decay vertex, shape (3, n).

    L = (p/M) c tau Exp(1) along u. Non-prompt candidates first fly with their B parent
    (p_B = p/z, L_B = (p_B/M_B) c tau_B Exp(1)) along a direction tilted from u by the decay
    angle atan(q_T/p), so they are farther displaced and do not point back to the PV.
    """
    flight = (p / m) * ctau * rng.standard_exponential(p.size) * fr[0]
    idx = np.flatnonzero(nonprompt)
    if idx.size:
        pp = p[idx]
        p_b = pp / rng.beta(*B_TO_D_Z, idx.size)
        lb = p_b / B_MASS * B_CTAU * rng.standard_exponential(idx.size)
        theta = np.arctan(B_TO_D_QT * np.sqrt(2.0 * rng.standard_exponential(idx.size)) / pp)
        sub = tuple(v[:, idx] for v in fr)
        flight[:, idx] += lb * tilt(sub, theta, rng.uniform(0.0, 2.0 * np.pi, idx.size))
    return flight


def fake_flight(rng, fr, displaced_fraction: float, length: float, angle: float):
    """Flight of a combinatorial 'vertex' and the mask of displaced combinations.

    Triplets of primary tracks meet at the PV (flight 0). A ``displaced_fraction`` contains
    secondary / heavy-flavour tracks that pull the fitted vertex away by Exp(length) at an angle
    ~|N(0, angle)| from the candidate momentum (such tracks do not share one vertex).
    """
    n = fr[0].shape[1]
    flight = np.zeros((3, n))
    displaced = rng.random(n) < displaced_fraction
    idx = np.flatnonzero(displaced)
    if idx.size:
        sub = tuple(v[:, idx] for v in fr)
        theta = np.abs(angle * rng.standard_normal(idx.size))
        w = tilt(sub, theta, rng.uniform(0.0, 2.0 * np.pi, idx.size))
        flight[:, idx] = length * rng.standard_exponential(idx.size) * w
    return flight, displaced


# ---------------------------------------------------------------- vertexing and prongs
def d0_sigma(pt: np.ndarray) -> np.ndarray:
    """Track impact-parameter (XY) resolution of ITS2 vs pT (cm)."""
    return np.sqrt(D0_SIGMA_CONST**2 + (D0_SIGMA_INVPT / pt) ** 2)


def signal_decay(
    rng: np.random.Generator,
    g,
    pt: np.ndarray,
    nonprompt: np.ndarray,
    *,
    parent: str | None = None,
    with_z: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(eta, phi, topology) of reconstructed three-prong decays of ``parent`` (default
    ``g.parent``) at ``pt``: direction, flight (from a b hadron where ``nonprompt``), and the
    prongs with the track quality and prong kinematics of the channel's physics ``g``."""
    parent = g.parent if parent is None else parent
    m0, n = constants.mass(parent), pt.size
    eta = rng.uniform(-ETA_MAX, ETA_MAX, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    fr = frame(eta, phi)
    flight = charm_flight(rng, pt * np.cosh(eta), fr, m0, constants.ctau(parent), nonprompt)
    topo = three_prong(
        rng, pt, eta, phi, flight, fr, quality_logsigma=g.quality_logsigma, vertex_scale=1.0,
        alpha=g.prong_alpha, opening=g.prong_opening, with_z=with_z,
    )  # fmt: skip
    return eta, phi, topo


def three_prong(
    rng: np.random.Generator,
    pt: np.ndarray,
    eta: np.ndarray,
    phi: np.ndarray,
    flight: np.ndarray,
    fr,
    *,
    quality_logsigma: float,
    vertex_scale: float,
    alpha: Sequence[float] | None,
    opening: float,
    with_z: bool = False,
    prongs: tuple[np.ndarray, ...] | None = None,
) -> dict[str, np.ndarray]:
    """Measured topology of a 3-prong candidate with true flight ``flight``.

    The secondary vertex is smeared (along / across the flight), the PV too; decay lengths,
    their uncertainties (rotated SV + PV covariance, as O2Physics computes them), pointing angles
    and the candidate d0 follow from the smeared vertices. Prong pT share a Dirichlet(alpha),
    open by ~opening/pT_i around the candidate and carry their own d0 resolution. A per-candidate
    log-normal quality factor scales all resolutions (badly measured tracks -> tails).
    ``prongs``: ``(pti, sin dphi, cos dphi, etai)`` of prongs built elsewhere
    (:func:`prongs_at_mass`) instead of the Dirichlet shares and openings.
    """
    n = pt.size
    u, e1, e2 = fr
    cosh_eta = 1.0 / np.sqrt(u[0] * u[0] + u[1] * u[1])
    quality = np.exp(quality_logsigma * rng.standard_normal(n))
    s_long = (VTX_SIGMA_LONG_CONST + VTX_SIGMA_LONG_INVPT / pt) * quality * vertex_scale
    s_trans = VTX_SIGMA_TRANS_RATIO * s_long
    z = rng.standard_normal((6, n))
    pv = z[3:] * np.array([[PV_SIGMA_XY], [PV_SIGMA_XY], [PV_SIGMA_Z]])
    d = flight + (s_long * z[0]) * u + (s_trans * z[1]) * e1 + (s_trans * z[2]) * e2 - pv
    lxy2 = d[0] * d[0] + d[1] * d[1]
    lxy = np.sqrt(lxy2)
    length = np.sqrt(lxy2 + d[2] * d[2])
    uxy = 1.0 / cosh_eta
    cpa = (d[0] * u[0] + d[1] * u[1] + d[2] * u[2]) / length
    cpaxy = (d[0] * u[0] + d[1] * u[1]) / (lxy * uxy)
    report = np.exp((2.0 * VTX_REPORT_LOGSIGMA) * rng.standard_normal(n))  # squared mis-estimate
    sl2, st2 = s_long * s_long * report, s_trans * s_trans * report
    var_l = (
        st2
        + (sl2 - st2) * cpa * cpa
        + (PV_SIGMA_XY * lxy / length) ** 2
        + (PV_SIGMA_Z * d[2] / length) ** 2
    )
    var_lxy = (
        st2 + (sl2 - st2) * (cpaxy * uxy) ** 2 + PV_SIGMA_XY**2
    )  # u . (d_xy/|d_xy|) = cpaxy |u_xy|

    # prongs: Dirichlet shares above PRONG_PT_MIN, opening angles, scalar sum ~ candidate pT
    if prongs is not None:
        pti, sd, cd = prongs[:3]
    elif alpha is None:  # Dirichlet(1, 1, 1): uniform spacings, cheaper than gamma variates
        a, b = rng.random((2, n))
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        frac = np.stack([lo, hi - lo, 1.0 - hi])
    else:
        g = rng.standard_gamma(np.asarray(alpha, dtype=float)[:, None], (3, n))
        frac = g / g.sum(axis=0)
    if prongs is None:
        pmin = np.minimum(PRONG_PT_MIN, pt / 4.0)
        pti = pmin + (pt - 3.0 * pmin) * frac
        # sin of the prong opening angle in phi ~ N(0, opening/pT_i), |.| <= 0.93 (< 1.2 rad)
        sd = np.clip(rng.standard_normal((3, n)) * np.minimum(opening / pti, 1.0), -0.93, 0.93)
        cd = np.sqrt(1.0 - sd * sd)
        pti *= pt / (pti * cd).sum(axis=0)
    cphi, sphi = u[0] * cosh_eta, u[1] * cosh_eta  # cos(phi), sin(phi) of the candidate
    cp, sp = cphi * cd - sphi * sd, sphi * cd + cphi * sd  # cos, sin of prong phi
    sig = d0_sigma(pti) * quality
    rel = flight - pv  # true decay point seen from the measured PV
    d0xy = rel[0] * sp - rel[1] * cp + sig * rng.standard_normal((3, n))
    out = {
        "L": length,
        "Lxy": lxy,
        "Lnorm": length / np.sqrt(var_l),
        "Lxynorm": lxy / np.sqrt(var_lxy),
        "cpa": cpa,
        "cpaxy": cpaxy,
        "d0": (d[0] * u[1] - d[1] * u[0]) / uxy,
        "pti": pti,
        "etai": eta,
        "cosh_eta": cosh_eta,
        "d0xy": d0xy,
        "sig2": (sig * sig).sum(axis=0),
    }
    if with_z:
        if prongs is not None:
            etai = prongs[3]
        else:
            etai = eta + rng.standard_normal((3, n)) * np.minimum(opening / pti, 1.0)
        ex = np.exp(etai)
        along = rel[0] * cp + rel[1] * sp
        out["etai"], out["cosh_eta"] = etai, 0.5 * (ex + 1.0 / ex)
        out["d0z"] = (
            rel[2]
            - along * 0.5 * (ex - 1.0 / ex)
            + D0Z_SIGMA_RATIO * sig * rng.standard_normal((3, n))
        )
    return out


SHARE_ROUNDS = 12  # redraws of a triplet that misses its mass or the track pT preselection
NEWTON_STEPS = 6  # Newton steps of the transverse-momentum scale (relative mass error < 1e-6)


def prongs_at_mass(
    rng: np.random.Generator, pt: np.ndarray, fr, mass: np.ndarray, prong_masses: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Three random tracks whose invariant mass (with ``prong_masses``, shape (3, n)) is ``mass``
    and whose momenta add up to the candidate's (pT ``pt``, direction ``fr[0]``).

    Each track carries a share x_i of the momentum P along the flight (uniform spacings) and a
    transverse momentum lambda q_i across it (q_i Gaussian, sum zero). With lambda = 0 the mass
    is its minimum, sqrt((sum E_i)^2 - P^2) >= sum m_i (equal speeds); lambda is solved (Newton
    in lambda^2, concave: no overshoot) so that the mass is ``mass``. Triplets that cannot reach
    ``mass`` or hold a track below the pT preselection (PRONG_PT_MIN, or pT/4) are redrawn
    (SHARE_ROUNDS; the few left get shares of equal speed above the preselection and openings
    in the bending plane). So at fixed pT a heavier triplet opens wider and its prongs carry more
    pT (sum E_i = sqrt(M^2 + P^2)), and asymmetric shares need a large mass (M^2 ~ sum
    (m_i^2 + lambda^2 q_i^2) / x_i): softer soft prongs, worse d0 resolution. Returns
    ``(pti, sin dphi_i, cos dphi_i, eta_i)``, each (3, n).
    """
    n = pt.size
    u, e1, e2 = fr
    cosh_eta = 1.0 / np.sqrt(u[0] * u[0] + u[1] * u[1])
    cphi, sphi = u[0] * cosh_eta, u[1] * cosh_eta
    p = pt * cosh_eta
    pmin = np.minimum(PRONG_PT_MIN, pt / 4.0)
    xmin = pmin / pt
    out = [np.empty((3, n)) for _ in range(4)]

    def build(idx: np.ndarray, last: bool) -> np.ndarray:
        """Triplets for rows ``idx``; stores them and returns the rows to redraw."""
        m2, pp, mm = prong_masses[:, idx] ** 2, p[idx], mass[idx]
        xm = xmin[idx]
        if last:  # equal speeds (the lightest mass), above the preselection
            x = np.maximum(prong_masses[:, idx] / prong_masses[:, idx].sum(axis=0), xm)
            x /= x.sum(axis=0)
        else:
            a, b = rng.random((2, idx.size))
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            x = xm + (1.0 - 3.0 * xm) * np.stack([lo, hi - lo, 1.0 - hi])
        g = rng.standard_normal((2, 3, idx.size))
        g -= g.mean(axis=1, keepdims=True)  # transverse momenta add up to zero
        if last:
            g[1] = 0.0  # in the bending plane: the track pT only grow
        aa, bb = m2 + (x * pp) ** 2, g[0] * g[0] + g[1] * g[1]
        target = np.sqrt(mm * mm + pp * pp)
        e_min = np.sqrt(aa).sum(axis=0)
        # start: M^2 ~ sum (m_i^2 + s b_i) / x_i at large P
        s = np.maximum((mm * mm - (m2 / x).sum(axis=0)) / (bb / x).sum(axis=0), 0.0)
        for _ in range(NEWTON_STEPS):
            r = np.sqrt(aa + s * bb)
            s = np.maximum(s - (r.sum(axis=0) - target) / (0.5 * (bb / r).sum(axis=0)), 0.0)
        lam = np.sqrt(s)
        sub = [v[:, idx][:, None, :] for v in (u, e1, e2)]
        mom = (x * pp) * sub[0] + lam * (g[0] * sub[1] + g[1] * sub[2])
        pti = np.sqrt(mom[0] ** 2 + mom[1] ** 2)
        c, sn = cphi[idx], sphi[idx]
        for k, v in enumerate(
            (pti, (c * mom[1] - sn * mom[0]) / pti, (c * mom[0] + sn * mom[1]) / pti,
             np.arcsinh(mom[2] / pti))
        ):  # fmt: skip
            out[k][:, idx] = v
        bad = (e_min > target) | (pti.min(axis=0) < pmin[idx])
        return idx[bad] if not last else idx[:0]

    todo = np.arange(n)
    for _ in range(SHARE_ROUNDS):
        todo = build(todo, False)
        if not todo.size:
            break
    if todo.size:
        build(todo, True)
    return tuple(out)


def combinatorial_three_prong(
    rng: np.random.Generator,
    pt: np.ndarray,
    *,
    displaced_fraction: float,
    displaced_length: float,
    displaced_angle: float,
    mass: np.ndarray | None = None,
    prong_masses: np.ndarray | None = None,
    **three_prong_options,
) -> tuple:
    """The geometry of combinatorial three-prong background: uniform eta in +-ETA_MAX and phi,
    a fake vertex (:func:`fake_flight`) and the prongs (:func:`three_prong` with
    ``three_prong_options``). With ``mass`` and ``prong_masses`` the prongs are three tracks of
    that invariant mass (:func:`prongs_at_mass`), so their pT, openings and impact-parameter
    resolutions follow the mass. Returns ``(eta, phi, displaced, topo)``."""
    n = pt.size
    eta = rng.uniform(-ETA_MAX, ETA_MAX, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    fr = frame(eta, phi)
    flight, displaced = fake_flight(rng, fr, displaced_fraction, displaced_length, displaced_angle)
    if mass is not None:
        three_prong_options["prongs"] = prongs_at_mass(rng, pt, fr, mass, prong_masses)
    topo = three_prong(rng, pt, eta, phi, flight, fr, **three_prong_options)
    return eta, phi, displaced, topo


def topology_columns(topo: dict, pt, eta, phi, dmax) -> dict[str, np.ndarray]:
    """The candidate columns the HF lite tables take from a topology (:func:`three_prong`), by
    their O2Physics names; ``dmax``: fMaxNormalisedDeltaIP."""
    return {
        "fPt": pt, "fEta": eta, "fPhi": phi,
        "fCpa": topo["cpa"], "fCpaXY": topo["cpaxy"],
        "fDecayLength": topo["L"], "fDecayLengthXY": topo["Lxy"],
        "fDecayLengthNormalised": topo["Lnorm"], "fDecayLengthXYNormalised": topo["Lxynorm"],
        "fImpactParameterXY": topo["d0"], "fMaxNormalisedDeltaIP": dmax,
    }  # fmt: skip


def nsigma_columns(tpc: dict, tof: dict, species=(("pi", "Pi"), ("K", "Ka"))) -> dict:
    """fNSigTpc/Tof/TpcTof{Pi,Ka,...}{i} of every prong from :func:`pid_nsigma`'s output
    (``species``: (hypothesis, column stem) pairs)."""
    cols = {}
    for i in range(3):
        for h, s in species:
            cols[f"fNSigTpc{s}{i}"] = tpc[h][i]
            cols[f"fNSigTof{s}{i}"] = tof[h][i]
            cols[f"fNSigTpcTof{s}{i}"] = combine_nsigma(tpc[h][i], tof[h][i])
    return cols


def chi2_pca(
    rng: np.random.Generator, sig2: np.ndarray, factor: np.ndarray | float = 1.0
) -> np.ndarray:
    """Sum of squared prong distances to the fitted vertex (cm²): sum sigma_i² (1 + r_z²)/3 x chi2,
    with the chi2 of 2 dof scaled to mean 3 (3 of 6 measured coordinates are fitted)."""
    return sig2 * (1.0 + D0Z_SIGMA_RATIO**2) * rng.standard_exponential(sig2.size) * factor


def max_normalised_delta_ip(
    rng: np.random.Generator, n: int, scale: float | np.ndarray = 1.0
) -> np.ndarray:
    """Signed largest normalised (measured - expected) prong d0: |.| ~ max of three |N(0, 1)|
    (approximated by sqrt(0.6 + 1.4 Exp(1)): mean 1.35, like the max of three), random sign."""
    e, sign = signed_exponential(rng, n)
    return sign * np.sqrt(0.6 + 1.4 * e) * scale


# ---------------------------------------------------------------- PID
# PID response: physics.detectors (ALEPH Bethe-Bloch, TOF) tabulated for speed
_LOG_BG_MIN, _LOG_BG_STEP = np.log(0.05), 2e-4  # grid in log(beta gamma): rel. error < 2e-4
_ALEPH_TABLE = det.TPC_MIP * det.bethe_bloch_aleph(
    np.exp(_LOG_BG_MIN + _LOG_BG_STEP * np.arange(int(12.0 / _LOG_BG_STEP)))
)
_INV_ALEPH_TABLE = 1.0 / _ALEPH_TABLE
SPECIES = ("pi", "K", "p")  # order of the species indices used for PID
_SPECIES_MASS = np.array([LIGHT_MASSES[s] for s in SPECIES])
_SPECIES_LOG_INDEX = np.log(_SPECIES_MASS) / _LOG_BG_STEP  # log(m) in units of table steps


def _aleph_index(x0: np.ndarray, log_m_steps: np.ndarray | float) -> np.ndarray:
    """Table index of log(p/m) given x0 = (log p - log bg_min)/step + 0.5 (nearest neighbour)."""
    i = (x0 - log_m_steps).astype(np.intp)
    return np.clip(i, 0, _ALEPH_TABLE.size - 1, out=i)


def pid_nsigma(
    rng: np.random.Generator,
    pti: np.ndarray,
    cosh_eta: np.ndarray,
    species: np.ndarray,
    hypotheses: Sequence[str],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """TPC and TOF n-sigma of every prong for each mass hypothesis; arrays shaped like ``pti``.

    ``species`` holds the true species of each prong as an index into SPECIES. One dE/dx and one
    TOF time are drawn per prong from its true species and compared with the expectation of each
    hypothesis, as the PID response does. TOF is missing (NSIGMA_MISSING) below
    TOF_MATCH_PT_THRESHOLD and for unmatched tracks; a few matches take a wrong hit.
    """
    res, sigma_t = det.TPC_RELATIVE_RESOLUTION, det.TOF_TIME_RESOLUTION_PS
    p = pti * cosh_eta
    x0 = (np.log(p) - _LOG_BG_MIN) * (1.0 / _LOG_BG_STEP) + 0.5
    z = rng.standard_normal((2, *p.shape))
    true_m = _SPECIES_MASS.take(species)
    dedx = _ALEPH_TABLE.take(_aleph_index(x0, _SPECIES_LOG_INDEX.take(species)))
    dedx *= (1.0 + res * z[0]) * (1.0 / res)  # measured dE/dx, in units of the resolution
    t0 = det.TOF_RADIUS_CM / det.SPEED_OF_LIGHT_CM_PS / sigma_t * cosh_eta  # beta = 1, in sigma_t
    inv_p2 = 1.0 / (p * p)
    t_meas = t0 * np.sqrt(1.0 + true_m * true_m * inv_p2) + z[1]
    above = np.maximum(pti - TOF_MATCH_PT_THRESHOLD, -1.0)
    eff = TOF_MATCH_PLATEAU * -np.expm1(-above / TOF_MATCH_PT_SCALE)
    u = rng.random(p.shape)
    missing = u >= eff  # eff < 0 below the threshold: never matched
    wrong = np.flatnonzero(u < eff * TOF_MISMATCH_FRACTION)  # among the matched; u/(eff f) uniform
    if wrong.size:  # a wrong hit: time uniform in [t(beta = 1), +4 ns]
        uw = u.ravel()[wrong] / (eff.ravel()[wrong] * TOF_MISMATCH_FRACTION)
        t_meas.ravel()[wrong] = np.broadcast_to(t0, p.shape).ravel()[wrong] + uw * (
            4000.0 / sigma_t
        )
    tpc, tof = {}, {}
    for h in hypotheses:
        m = LIGHT_MASSES[h]
        tpc[h] = (
            dedx * _INV_ALEPH_TABLE.take(_aleph_index(x0, np.log(m) / _LOG_BG_STEP)) - 1.0 / res
        )
        t = t_meas - t0 * np.sqrt(1.0 + (m * m) * inv_p2)
        t[missing] = NSIGMA_MISSING
        tof[h] = t
    return tpc, tof


def combine_nsigma(tpc: np.ndarray, tof: np.ndarray) -> np.ndarray:
    """O2Physics pid_tpc_tof_utils::combineNSigma: sqrt((tpc² + tof²)/2), or |tpc| without TOF."""
    out = tpc * tpc
    out += tof * tof
    out *= 0.5
    np.sqrt(out, out=out)
    np.copyto(out, np.abs(tpc), where=tof < NSIGMA_MISSING + 0.1)
    return out


def species_indices(rng: np.random.Generator, shape, fractions: dict[str, float]) -> np.ndarray:
    """True species (indices into SPECIES) of background tracks drawn from a mixture."""
    probs = [fractions.get(s, 0.0) for s in SPECIES]
    return draw_classes(rng, int(np.prod(shape)), probs).reshape(shape)


def swap_prongs(arr: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Exchange prongs 0 and 2 where ``mask`` (the other mass hypothesis / track order)."""
    out = np.array(np.broadcast_to(arr, (3, mask.size)), copy=True)
    out[0, mask], out[2, mask] = out[2, mask], out[0, mask]
    return out


# ---------------------------------------------------------------- event, hypotheses, MC output
NUM_CONTRIB_MEAN = (
    25.0  # mean primary-vertex contributors of a pp collision with a candidate (choice)
)
NUM_CONTRIB_SHAPE = 2.0  # negative-binomial shape of that distribution (choice: broad, as pp)


#: the centrality the HF tree creators write without a centrality table (O2Physics
#: PWGHF/Core/CentralityEstimation.h @ a61c3c1a, getCentralityColl, lines 121-128;
#: treeCreatorLcToPKPi.cxx @ de7b76d6, lines 654-657)
CENTRALITY_NONE = -1.0


def centrality_percentile(rng: np.random.Generator, n: int) -> np.ndarray:
    """Centrality percentile (%) of the collisions of ``n`` candidates: uniform in 0-100 (choice:
    percentiles are uniform over collisions; no bias to high multiplicities is modelled)."""
    return rng.uniform(0.0, 100.0, n)


def event_columns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Collision columns of the Ds lite table: fCentrality and the PV contributors.

    fCentrality is -1 as treeCreatorDsToKKPi writes it with its default process functions (no
    centrality table; O2Physics treeCreatorDsToKKPi.cxx @ 55f4caa7, lines 372, 666, 706). The
    collision's percentile is still drawn (``_centrality``, o2ml's event model), so the random
    stream of the columns after it is that of generator version 3.
    """
    p = NUM_CONTRIB_SHAPE / (NUM_CONTRIB_SHAPE + NUM_CONTRIB_MEAN)
    return {
        "_centrality": centrality_percentile(rng, n),
        "fCentrality": np.full(n, CENTRALITY_NONE),
        "fNumContrib": 2 + rng.negative_binomial(NUM_CONTRIB_SHAPE, p, n),
    }


def swapped_mass(
    m: np.ndarray,
    pt: np.ndarray,
    cosh_eta: np.ndarray,
    pti: np.ndarray,
    prong_cosh_eta: np.ndarray,
    true_masses: tuple[float, float],
) -> np.ndarray:
    """Invariant mass of a 3-prong with the masses of prongs 0 and 2 exchanged (the other mass
    hypothesis of the same tracks): the momenta do not change, the energies of prongs 0 and 2 do,
    m'^2 = m^2 + 2 E dE + dE^2 with E the candidate's energy and dE the change of their sum.

    ``true_masses`` are the masses of prongs 0 and 2 in the true hypothesis (floats or arrays).
    """
    m0, m2 = true_masses
    pc = np.broadcast_to(prong_cosh_eta, pti.shape)  # per prong, or the candidate's for all
    p0, p2 = pti[0] * pc[0], pti[2] * pc[2]
    d_e = (np.sqrt(p0 * p0 + m2 * m2) - np.sqrt(p0 * p0 + m0 * m0)) + (
        np.sqrt(p2 * p2 + m0 * m0) - np.sqrt(p2 * p2 + m2 * m2)
    )
    p = pt * cosh_eta
    e = np.sqrt(p * p + m * m)
    return np.sqrt(np.maximum(m * m + 2.0 * e * d_e + d_e * d_e, 0.0))


def collect_rows(
    rng: np.random.Generator,
    n: int,
    make: Callable[[np.random.Generator, int], dict],
    keep: Callable[[dict], np.ndarray],
    acceptance: float = 1.0,
) -> dict[str, np.ndarray]:
    """``n`` rows of ``make(rng, m)`` that pass ``keep(columns)`` (a boolean mask): drawn in
    rounds of about ``n / acceptance`` candidates until enough pass, in drawing order."""
    parts, have = [], 0
    while have < n:
        cols = make(rng, int((n - have) / max(acceptance, 1e-3) * 1.2) + 64)
        chosen = np.flatnonzero(keep(cols))[: n - have]
        parts.append({k: np.asarray(v)[..., chosen] for k, v in cols.items()})
        have += chosen.size
    if not parts:
        return make(rng, 0)
    return {k: np.concatenate([p[k] for p in parts], axis=-1) for k in parts[0]}


def downsampled(factor: float, pt_max: float) -> Callable[[dict], np.ndarray]:
    """An O2Physics tree creator's background downsampling as a ``keep`` rule: a candidate below
    ``pt_max`` is written only if ``ptProng0 * 1000 - int(ptProng0 * 1000) < factor``
    (``downSampleBkgFactor``; its pseudo-random number from the prong pT)."""

    def keep(cols: dict) -> np.ndarray:
        # on the float32 values the table stores, as the tree creator reads them
        frac = cols["fPtProng0"].astype(np.float32).astype(np.float64) * 1000.0
        return (cols["fPt"].astype(np.float32) >= pt_max) | (frac - np.floor(frac) < factor)

    return keep


def in_window(lo: float, hi: float) -> Callable[[dict], np.ndarray]:
    """A ``keep`` rule: the candidate's mass inside the window the candidate creator keeps."""
    return lambda cols: (cols["fM"] >= lo) & (cols["fM"] <= hi)


# ---------------------------------------------------------------- assembly
class Columns:
    """Preallocated columns of a table, in the schema dtypes; components fill rows by slice/index."""

    def __init__(self, table: Table, names: Sequence[str], n: int):
        self.names = list(names)
        # zeros: a column no component fills (an MC flag in data) holds 0, as O2Physics writes it
        self.cols = {c: np.zeros(n, dtype=table[c].dtype) for c in self.names}

    def put(self, rows: slice | np.ndarray, part: dict[str, np.ndarray]) -> None:
        for c in self.names:
            if c in part:
                self.cols[c][rows] = part[c]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.cols, columns=self.names, copy=False)


def background_data(
    out: Columns,
    n: int,
    seeds: dict[str, np.random.SeedSequence],
    probs: Sequence[float],
    background: Callable[[np.random.Generator, int], dict],
) -> np.ndarray:
    """The start of a charm generator's data file: the kind of each of its ``n`` rows (an index
    into ``probs``, drawn with the ``"classes"`` stream of ``seeds``), returned, and
    ``background(rng, m)`` put into every row of ``out``, chunk by chunk with the ``"bkg"``
    stream (> 99 % of the rows are background; the generator overwrites the signal rows)."""
    kinds = draw_classes(np.random.default_rng(seeds["classes"]), n, probs)

    def job(rng: np.random.Generator, rows: slice) -> None:
        out.put(rows, background(rng, rows.stop - rows.start))

    run_chunks(seeds["bkg"], n, job)
    return kinds


def signal_pt(rng: np.random.Generator, spectra: dict, nonprompt: np.ndarray) -> np.ndarray:
    """pT of signal candidates from the ``prompt`` or ``nonprompt`` spectrum of ``spectra``."""
    n = nonprompt.size
    return np.where(
        nonprompt, spectra["nonprompt"].sample(rng, n), spectra["prompt"].sample(rng, n)
    )


def signal_share(
    spectra: dict,
    pt_range: tuple[float, float],
    *,
    nonprompt_fraction: float,
    signal_to_background: float,
    reflection_fraction: float,
    partner_ratio: float = 0.0,
) -> float:
    """Per-row probability s of the main signal species, so that S/B in ``pt_range`` is
    ``signal_to_background``; a partner peak (D+ next to the Ds) adds ``partner_ratio`` x s and
    each true decay also gives ``reflection_fraction`` wrong-hypothesis rows. Solves
    s a = t (1 - s (1 + r) (1 + f_refl)), a the signal's pT fraction in the range and t = S/B x
    the background's."""
    lo, hi = pt_range
    f_np = nonprompt_fraction
    a = (1 - f_np) * spectra["prompt"].fraction(lo, hi) + f_np * spectra["nonprompt"].fraction(
        lo, hi
    )
    t = signal_to_background * spectra["bkg"].fraction(lo, hi)
    return t / (a + t * (1.0 + partner_ratio) * (1.0 + reflection_fraction))
