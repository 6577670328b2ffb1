"""Synthetic TPC dE/dx skims in the layout of O2Physics' ``tpcSkimsTableCreator`` (notebook 05).

The TPC signal departs from the ALEPH Bethe-Bloch baseline of pidTPC (``physics.detectors``) in
several correlated dimensions at once, as the Run 3 TPC does (space charge grows with the
multiplicity and distorts tracks at large |tan(lambda)|, short tracks lose resolution, the gain
depends on the charge and direction of the track): the ratio r = dE/dx / expected is Gaussian with
a mean and a width given by :func:`true_response`, a smooth function of the six inputs of the pidTPC
network (p, tan(lambda), q/pT, mass, multiplicity, sqrt(152/Ncl)). Some terms are products of two
inputs, so a calibration that factorises per dimension (the Run 2 splines) cannot absorb them. The
``data`` and ``mc`` domains have different coefficients (:data:`RESPONSE`).

The clean samples are taken as ALICE takes them (``tpcSkimsTableCreator.cxx``):

* ``SkimmedTPCV0Tree``: daughters of K0S -> pi pi, Lambda -> p pi and photon conversions, with the
  combinatorial contamination under each V0 mass peak (:data:`V0_CONTAMINATION`): a contaminating
  track carries the hypothesis of its V0 but the signal of its true species;
* ``SkimmedTPCTOFTree``: tracks tagged by the TOF time of flight (the hypothesis within 3 sigma),
  whose contamination grows with the momentum where the TOF bands meet.

Momenta are drawn flat in log(p) per species, as the skim's Tsallis downsampling flattens them.
The truth (``fTruthPidIndex``) is there for closure tests only on request. Documented choices are
marked as such; the sources are in ``docs/o2physics_tpc_network.md`` and ``docs/physics.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import BadArgumentError
from ..physics import detectors as det
from ..physics.constants import O2_PID_INDEX, PID_SPECIES, mass
from ..schema import TPC_SKIM_TOF, TPC_SKIM_V0
from .pid import LEVY_N, LEVY_T, SPECIES_FRACTIONS, _levy_pt

DOMAINS = ("data", "mc")
#: o2::track::PID ids of the species in the skims (physics.constants.O2_PID_INDEX)
PID_INDEX = {s: O2_PID_INDEX[s] for s in PID_SPECIES}
#: pidTPC's cluster normalisation nClNorm (pidTPCModule.h, Response default 152)
NCL_NORMALISATION = 152.0
#: pidTPC's multiplicity normalisation (tracks / 11000, pidTPCModule.h)
MULT_NORMALISATION = 11000.0
#: value of columns that are not filled (tpcSkimsTableCreator.h UndefValueFloat)
UNDEFINED = -999.0
#: fNSigTOF of the V0 tree: photon-conversion electrons 1000 (NSigmaTofElectorn), the other
#: daughters the V0's TOF nsigma, kNoTOFValue -1e6 without a TOF match (O2Physics
#: tpcSkimsTableCreator.cxx @ 58542e4e, lines 121-124, 241-262; PWGLF/DataModel/
#: LFStrangenessPIDTables.h @ 90ebdcce, line 200). o2ml's V0 daughters have no TOF (choice).
NSIGMA_TOF_ELECTRON = 1000.0
NSIGMA_TOF_V0_UNMATCHED = -1e6

# ------------------------------------------------------------------------ the true response
#: coefficients of :func:`true_response` per domain (documented choices; the data deviate more,
#: with the cross terms that a factorising calibration misses; MC is closer to the baseline)
RESPONSE = {
    "data": {
        "bg_low": 0.05,  # Bethe-Bloch mismatch at low beta*gamma: +5 % x exp(-bg/0.8)
        "bg_rise": 0.015,  # ... and on the relativistic rise: 1.5 % x tanh(log10(bg) - 1)
        "tgl2": 0.03,  # gain vs tan^2(lambda) ...
        "tgl2_mult": 2.5,  # ... growing with the multiplicity (space charge): a cross term
        "mult": -0.04,  # gain drop with the multiplicity
        "ncl": 0.04,  # short tracks read high: x (sqrt(152/Ncl) - 1) ...
        "ncl_tgl": 1.0,  # ... more so at large |tan(lambda)|: a cross term
        "q_tgl": 0.02,  # charge x direction asymmetry, tanh(q/pT) x tan(lambda): zero on average
        "sigma0": 0.055,  # relative width at full length, no multiplicity
        "sigma_mult": 0.5,  # width grows with the multiplicity ...
        "sigma_tgl2": 0.15,  # ... and with tan^2(lambda) ...
        "sigma_tgl2_mult": 1.0,  # ... and with both at once: a cross term
        "sigma_low_bg": 0.3,  # and at low beta*gamma: x (1 + 0.3 exp(-bg/0.5))
    },
    "mc": {
        "bg_low": 0.02,
        "bg_rise": 0.0,
        "tgl2": 0.015,
        "tgl2_mult": 0.0,
        "mult": -0.01,
        "ncl": 0.02,
        "ncl_tgl": 0.0,
        "q_tgl": 0.0,
        "sigma0": 0.050,
        "sigma_mult": 0.3,
        "sigma_tgl2": 0.10,
        "sigma_tgl2_mult": 0.0,
        "sigma_low_bg": 0.2,
    },
}


def true_response(inputs: np.ndarray, *, domain: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """Mean and width of r = dE/dx / expected (Bethe-Bloch of the true mass) of tracks.

    ``inputs`` [n, 6] are the pidTPC network inputs with the true mass: momentum at the TPC inner
    wall, tan(lambda), q/pT, mass, multiplicity / 11000 and sqrt(152 / Ncl).
    """
    x = np.asarray(inputs, float)
    if x.ndim != 2 or x.shape[1] != 6:
        raise BadArgumentError(
            f"true_response: expected the 6 network inputs [n, 6], got {x.shape}."
        )
    p, tgl, signed1pt, masses, mult, ncl_norm = x.T
    c = _coefficients(domain)
    bg = np.asarray(p, float) / np.asarray(masses, float)
    t = np.asarray(tgl, float)
    t2 = t * t
    u = np.asarray(mult, float)
    nn = np.asarray(ncl_norm, float)
    mean = (
        1.0
        + c["bg_low"] * np.exp(-bg / 0.8)
        + c["bg_rise"] * np.tanh(np.log10(bg) - 1.0)
        + c["tgl2"] * t2 * (1.0 + c["tgl2_mult"] * u)
        + c["mult"] * u
        + c["ncl"] * (nn - 1.0) * (1.0 + c["ncl_tgl"] * np.abs(t))
        + c["q_tgl"] * np.tanh(np.asarray(signed1pt, float)) * t
    )
    sigma = (
        c["sigma0"]
        * nn
        * (1.0 + c["sigma_mult"] * u)
        * (1.0 + c["sigma_tgl2"] * t2)
        * (1.0 + c["sigma_tgl2_mult"] * u * t2)
        * (1.0 + c["sigma_low_bg"] * np.exp(-bg / 0.5))
    )
    return mean, sigma


def _coefficients(domain: str) -> dict[str, float]:
    if domain not in DOMAINS:
        raise BadArgumentError(f"domain must be one of {DOMAINS}, not {domain!r}.")
    return RESPONSE[domain]


# ------------------------------------------------------------------------ event and track model
#: normalised multiplicity of a track's collision: 1.05 x Beta(1.6, 1.2), a Pb-Pb-like spread over
#: centralities so that every multiplicity is populated (documented choice)
MULT_BETA = (1.6, 1.2)
MULT_MAX = 1.05
#: runs of the sample and their hadronic interaction rates in kHz (documented choice, Pb-Pb-like)
RUNS = {544091: 12.0, 544124: 24.0, 544392: 38.0}
#: FT0C occupancy ~ 60000 x multiplicity x U(0.8, 1.2); the track occupancy ~ 8 % of it (choice)
FT0_OCCUPANCY_SCALE = 60000.0
#: cluster counts: good tracks lose Exp(10) of 159, a low-quality 8 % is uniform in 60..119
#: (the choice of :mod:`o2ml.toymc.pid`)
NCLS_MAX, NCLS_LOSS_MEAN, NCLS_GOOD_MIN = 159, 10.0, 100
NCLS_LOW, LOW_QUALITY_FRACTION = (60, 119), 0.08
ETA_MAX = 0.9

#: momentum ranges (GeV/c) of the V0 daughters per species, drawn flat in log(p) (choice)
V0_P_RANGE = {"pi": (0.15, 5.0), "p": (0.3, 4.0), "e": (0.1, 2.0)}
#: share of each V0 sample in the V0 tree (choice: pions from K0S dominate, as in the skims)
V0_SHARES = {"K0S": 0.5, "Lambda": 0.25, "gamma": 0.25}
#: V0 type -> (the daughter species in the tree, V0 mass GeV/c2, decay momentum p* GeV/c, c*tau cm)
V0_TYPES = {
    "K0S": ("pi", 0.497611, 0.2061, 2.6844),
    "Lambda": ("p", 1.115683, 0.1010, 7.89),
    "gamma": ("e", 0.0, 0.0, 0.0),
}
#: combinatorial contamination under the V0 mass peaks (the choice of :mod:`o2ml.toymc.pid`)
V0_CONTAMINATION = {"K0S": 0.03, "Lambda": 0.10, "gamma": 0.05}
#: TOF tree: momentum range, pion downsampling and the tagging window (choices)
TOF_P_RANGE = (0.3, 3.0)
TOF_PION_DOWNSAMPLING = 0.15
TOF_NSIGMA_CUT = 3.0
TOF_SPECIES = ("pi", "K", "p")
#: TOF time resolution (ps) per domain and the share of wrongly matched hits (:mod:`toymc.pid`)
TOF_RESOLUTION_PS = {"data": 75.0, "mc": 65.0}
TOF_MISMATCH = 0.02


def _streams(seed: int, domain: str, what: int, n: int = 4) -> list[np.random.Generator]:
    seq = np.random.SeedSequence([int(seed), DOMAINS.index(domain), what])
    return [np.random.Generator(np.random.PCG64(s)) for s in seq.spawn(n)]


def _loguniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _tracks(
    rng: np.random.Generator, species: np.ndarray, p: np.ndarray, domain: str
) -> dict[str, np.ndarray]:
    """Track-level columns (signal from the true species) of tracks of momentum ``p``."""
    n = species.size
    eta = rng.uniform(-ETA_MAX, ETA_MAX, n)
    tgl = np.sinh(eta)
    sign = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    pt = p / np.cosh(eta)
    low = rng.random(n) < LOW_QUALITY_FRACTION
    good = np.maximum(NCLS_MAX - np.floor(rng.exponential(NCLS_LOSS_MEAN, n)), NCLS_GOOD_MIN)
    ncls = np.where(low, rng.integers(NCLS_LOW[0], NCLS_LOW[1] + 1, n), good)
    ncl_norm = np.sqrt(NCL_NORMALISATION / ncls)
    mult = MULT_MAX * rng.beta(*MULT_BETA, n)
    ft0 = FT0_OCCUPANCY_SCALE * mult * rng.uniform(0.8, 1.2, n)
    run_index = rng.integers(0, len(RUNS), n)
    masses = np.array([mass(s) for s in PID_SPECIES])[species]
    mean, sigma = true_response(
        np.column_stack([p, tgl, sign / pt, masses, mult, ncl_norm]), domain=domain
    )
    expected = det.tpc_expected_signal(p, masses)
    signal = np.maximum(expected * (mean + sigma * rng.standard_normal(n)), 1.0)
    return {
        # every run of the sample is good for hadron PID (choice): rctChecker.checkTable is true
        "fIsGoodRct": np.ones(n, bool),
        "fTPCSignal": signal,
        "fTPCInnerParam": p,
        "fTgl": tgl,
        "fSigned1Pt": sign / pt,
        "fEta": eta,
        "fPhi": rng.uniform(0.0, 2.0 * np.pi, n),
        "fY": rng.normal(0.0, 0.05, n),
        "fNormMultTPC": mult,
        "fNormNClustersTPC": ncl_norm,
        # tpcNClsPID(): the found clusters less a few not used for the dE/dx, Poisson(3) (choice)
        "fNormNClustersTPCPID": np.maximum(ncls - rng.poisson(3.0, n), 0).astype(float),
        "fRunNumber": np.array(list(RUNS))[run_index],
        "fTrackOcc": ft0 * rng.uniform(0.07, 0.09, n),
        "fFt0Occ": ft0,
        "fOccMedianTime": np.full(n, UNDEFINED),
        "fHadronicRate": np.array(list(RUNS.values()))[run_index],
        "fTPCdEdxNorm": np.full(n, UNDEFINED),
        "fTruthPidIndex": np.array([PID_INDEX[s] for s in PID_SPECIES])[species],
    }


def hypothesis_columns(
    frame: pd.DataFrame | dict, species: str | np.ndarray, nsigma_tof: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The columns of a mass hypothesis (one species name, or one per row) as the skim fills
    them (:func:`o2ml.physics.detectors.tpc_hypothesis`), TOF nsigma given or -999, no ITS."""
    cols = det.tpc_hypothesis(frame["fTPCInnerParam"], frame["fTPCSignal"], species)
    shape = cols["fMass"].shape
    cols["fNSigTOF"] = np.full(shape, UNDEFINED) if nsigma_tof is None else nsigma_tof
    cols["fNSigITS"] = np.full(shape, UNDEFINED)
    return cols


def _frame(table, columns: dict, with_truth: bool) -> pd.DataFrame:
    dtypes = table.dtypes()
    names = table.column_names("data", truth=with_truth)
    return pd.DataFrame({c: np.asarray(columns[c]).astype(dtypes[c]) for c in names})


# ------------------------------------------------------------------------ the samples
def generate_tpc_tracks(
    n: int, seed: int, domain: str = "data", *, with_truth: bool = True
) -> pd.DataFrame:
    """``n`` tracks of the natural species mixture (e, pi, K, p with the spectra of
    :mod:`o2ml.toymc.pid`), with the track columns of the skim and no mass hypothesis: add one
    with :func:`with_hypothesis`. The truth is on by default (this sample is for closure)."""
    n = _check_n(n)
    _coefficients(domain)
    rng_kin, rng_trk, *_ = _streams(seed, domain, 0)
    fr = np.asarray(SPECIES_FRACTIONS, float)
    species = rng_kin.choice(len(PID_SPECIES), size=n, p=fr / fr.sum())
    pt = np.empty(n)
    for k, name in enumerate(PID_SPECIES):
        sel = species == k
        pt[sel] = _levy_pt(rng_kin, int(sel.sum()), mass(name), LEVY_T[k], LEVY_N[k])
    # the TPC track model draws eta itself; p = pT cosh(eta) with an independent eta here
    p = pt * np.cosh(rng_kin.uniform(-ETA_MAX, ETA_MAX, n))
    cols = _tracks(rng_trk, species, p, domain)
    keep = [c.name for c in TPC_SKIM_TOF.columns if c.name in cols]
    if not with_truth:
        keep.remove("fTruthPidIndex")
    return pd.DataFrame({c: cols[c] for c in keep})


def with_hypothesis(tracks: pd.DataFrame, species: str) -> pd.DataFrame:
    """Tracks of :func:`generate_tpc_tracks` (or any frame with the skim's track columns) as rows
    of the TOF skim with the mass hypothesis ``species`` (``"e"``, ``"pi"``, ``"K"``, ``"p"``)."""
    cols = {
        **{c: tracks[c].to_numpy() for c in tracks.columns},
        **hypothesis_columns(tracks, species),
    }
    return _frame(TPC_SKIM_TOF, cols, "fTruthPidIndex" in tracks)


def generate_tpc_skims(
    n: int, seed: int, domain: str = "data", *, with_truth: bool = False
) -> dict[str, pd.DataFrame]:
    """The two clean samples, ``n`` rows each: ``{"SkimmedTPCV0Tree": ..., "SkimmedTPCTOFTree":
    ...}`` in the schema's layout (:data:`o2ml.schema.TPC_SKIM_V0`, :data:`~o2ml.schema.TPC_SKIM_TOF`).

    The same (n, seed, domain) gives identical frames; ``with_truth`` adds ``fTruthPidIndex``.
    """
    n = _check_n(n)
    _coefficients(domain)
    return {
        TPC_SKIM_V0.name: _v0_tree(n, seed, domain, with_truth),
        TPC_SKIM_TOF.name: _tof_tree(n, seed, domain, with_truth),
    }


def _check_n(n: int) -> int:
    n = int(n)
    if n < 0:
        raise BadArgumentError(f"n must be >= 0, not {n}.")
    return n


def _v0_tree(n: int, seed: int, domain: str, with_truth: bool) -> pd.DataFrame:
    rng, rng_trk, rng_v0, _ = _streams(seed, domain, 1)
    names = list(V0_SHARES)
    v0 = rng.choice(len(names), size=n, p=np.array(list(V0_SHARES.values())))
    tagged = np.array([V0_TYPES[v][0] for v in names], dtype=object)[v0]  # the row's hypothesis
    p = np.empty(n)
    for s, (lo, hi) in V0_P_RANGE.items():
        sel = tagged == s
        p[sel] = _loguniform(rng, lo, hi, int(sel.sum()))
    # contamination: a random track of the natural mixture under the V0 peak
    fake = rng.random(n) < np.array([V0_CONTAMINATION[v] for v in names])[v0]
    fr = np.asarray(SPECIES_FRACTIONS, float)
    true = np.array([PID_SPECIES.index(s) for s in tagged.tolist()])
    true[fake] = rng.choice(len(PID_SPECIES), size=int(fake.sum()), p=fr / fr.sum())
    cols = _tracks(rng_trk, true, p, domain)
    cols.update(hypothesis_columns(cols, tagged))
    cols["fNSigTOF"] = np.where(tagged == "e", NSIGMA_TOF_ELECTRON, NSIGMA_TOF_V0_UNMATCHED)
    cols.update(_v0_topology(rng_v0, np.array(names, dtype=object)[v0], cols))
    return _frame(TPC_SKIM_V0, cols, with_truth)


def _v0_topology(rng: np.random.Generator, v0: np.ndarray, cols: dict) -> dict[str, np.ndarray]:
    """Armenteros alpha and qT of an isotropic two-body decay (ultra-relativistic limit), the V0
    pT, radius (exponential in the lab decay length; conversions uniform in the material up to
    60 cm), cos(PA) and psi_pair (documented choices)."""
    n = v0.size
    cos_star = rng.uniform(-1.0, 1.0, n)
    m_v0 = np.array([V0_TYPES[v][1] for v in v0.tolist()])
    p_star = np.array([V0_TYPES[v][2] for v in v0.tolist()])
    ctau = np.array([V0_TYPES[v][3] for v in v0.tolist()])
    gamma = v0 == "gamma"
    with np.errstate(divide="ignore", invalid="ignore"):
        # alpha = (m+^2 - m-^2)/M^2 + 2 p* cos(theta*)/M; Lambda: p+ pi-, so + for the proton
        m_p, m_pi = mass("p"), mass("pi")
        asym = np.where(v0 == "Lambda", (m_p**2 - m_pi**2) / np.maximum(m_v0, 1e-9) ** 2, 0.0)
        alpha = np.where(gamma, rng.uniform(-0.9, 0.9, n), asym + 2.0 * p_star * cos_star / m_v0)
    sign = np.sign(cols["fSigned1Pt"])
    # an anti-Lambda's antiproton is the negative daughter: its alpha has the other sign
    alpha = np.clip(np.where(v0 == "Lambda", sign * alpha, alpha), -0.95, 0.95)
    qt = np.where(gamma, np.abs(rng.normal(0.0, 0.005, n)), p_star * np.sqrt(1.0 - cos_star**2))
    # the daughter carries (1 +- alpha)/2 of the V0 momentum (+ for the positive daughter)
    share = 0.5 * (1.0 + sign * alpha)
    pt_v0 = np.abs(1.0 / cols["fSigned1Pt"]) / np.maximum(share, 0.05)
    bg_v0 = pt_v0 / np.where(gamma, 1.0, m_v0)  # unused for conversions
    radius = np.where(
        gamma, rng.uniform(1.0, 60.0, n), rng.exponential(np.maximum(ctau * bg_v0, 0.5))
    )
    return {
        "fAlphaV0": alpha,
        "fQtV0": qt,
        "fCosPAV0": 1.0 - rng.exponential(3e-4, n),
        "fPtV0": pt_v0,
        "fRadiusV0": np.clip(radius, 0.5, 90.0),
        "fGammaPsiPair": np.where(gamma, rng.normal(0.0, 0.02, n), rng.normal(0.0, 0.5, n)),
    }


def _tof_tree(n: int, seed: int, domain: str, with_truth: bool) -> pd.DataFrame:
    rng, rng_trk, _, _ = _streams(seed, domain, 2)
    wanted = [PID_SPECIES.index(s) for s in TOF_SPECIES]
    weights = np.array([SPECIES_FRACTIONS[k] for k in wanted])
    weights[TOF_SPECIES.index("pi")] *= TOF_PION_DOWNSAMPLING
    masses = {s: mass(s) for s in TOF_SPECIES}
    sigma_t = TOF_RESOLUTION_PS[domain]
    chunks, have = [], 0
    while have < n or n == 0:  # draw candidates until n are tagged (deterministic for a seed)
        m = max(2 * (n - have), 1000)
        species = np.array(wanted)[rng.choice(len(wanted), size=m, p=weights / weights.sum())]
        p = _loguniform(rng, *TOF_P_RANGE, m)
        cols = _tracks(rng_trk, species, p, domain)
        pt = np.abs(1.0 / cols["fSigned1Pt"])
        length = det.tof_track_length(pt, cols["fEta"])
        m_true = np.array([mass(s) for s in PID_SPECIES])[species]
        t = det.tof_expected_time(p, m_true, length) + sigma_t * rng.standard_normal(m)
        wrong = rng.random(m) < TOF_MISMATCH
        t = np.where(
            wrong, det.tof_expected_time(p, masses["pi"], length) * rng.uniform(1, 1.6, m), t
        )
        ns = np.stack(
            [(t - det.tof_expected_time(p, masses[s], length)) / sigma_t for s in TOF_SPECIES]
        )
        best = np.argmin(np.abs(ns), axis=0)
        nsig = ns[best, np.arange(m)]
        ok = np.isfinite(length) & (np.abs(nsig) < TOF_NSIGMA_CUT)
        hyp = np.array(TOF_SPECIES, dtype=object)[best]
        cols.update(hypothesis_columns(cols, hyp, nsigma_tof=nsig))
        chunks.append({k: v[ok] for k, v in cols.items()})
        have += int(ok.sum())
        if n == 0:
            break
    cols = {k: np.concatenate([c[k] for c in chunks])[:n] for k in chunks[0]}
    return _frame(TPC_SKIM_TOF, cols, with_truth)


def truth_species(frame: pd.DataFrame) -> np.ndarray:
    """True species names of skim rows (needs ``fTruthPidIndex``)."""
    if "fTruthPidIndex" not in frame:
        raise BadArgumentError("fTruthPidIndex: not in the frame; generate it with_truth=True.")
    by_id = {v: k for k, v in PID_INDEX.items()}
    return np.array([by_id[int(i)] for i in frame["fTruthPidIndex"].to_numpy()], dtype=object)


def true_ratio_response(frame: pd.DataFrame, domain: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """The true mean and width of r = fTPCSignal x fInvDeDxExpTPC of skim rows, in the row's
    hypothesis: the true response of the true species, rescaled from its expected signal to the
    hypothesis' (rows whose truth is the hypothesis: exactly :func:`true_response`)."""
    true = truth_species(frame)
    m_true = np.array([mass(s) for s in true.tolist()])
    cols = ["fTPCInnerParam", "fTgl", "fSigned1Pt", "fMass", "fNormMultTPC", "fNormNClustersTPC"]
    x = frame[cols].to_numpy(float, copy=True)
    x[:, 3] = m_true
    mean, sigma = true_response(x, domain=domain)
    p = x[:, 0]
    scale = det.tpc_expected_signal(p, m_true) * frame["fInvDeDxExpTPC"].to_numpy(float)
    return mean * scale, sigma * scale


__all__ = [
    "DOMAINS",
    "PID_INDEX",
    "RESPONSE",
    "generate_tpc_skims",
    "generate_tpc_tracks",
    "hypothesis_columns",
    "true_ratio_response",
    "true_response",
    "truth_species",
    "with_hypothesis",
]
