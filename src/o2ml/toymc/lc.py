"""Synthetic Λc+ -> p K pi candidates in the ``HfCandLcLites`` layout.

The layout follows O2Physics treeCreatorLcToPKPi with the feature menu of HfMlResponseLcToPKPi.h.

Λc+ has c tau = 60.75 um, so the signal is barely displaced (<L> ~ 80 um at 3 GeV/c, vertex
resolution ~40 um): what makes it stand out of the broad combinatorial background is the
combination of a proton, a kaon and a pion that point back to one slightly displaced vertex.
Prongs are in track order: proton first for ``fCandidateSelFlag`` = 1 (pKpi), last for 2 (piKp).
"""

from __future__ import annotations

import numpy as np

from ..physics import constants
from ..schema import HF_CAND_LC_LITES
from . import _kinematics as K
from ._kinematics import PT_EDGES, CharmSample, PtSpectrum

__all__ = ["generate_lc", "lc_expected_signal"]

# ---------------------------------------------------------------- window and composition
LC_MASS_MIN = 2.14  # GeV/c2; signal region around 2.2865 plus sidebands on both sides
LC_MASS_MAX = 2.44  # GeV/c2
LC_BKG_MASS_SLOPE = 2.0  # 1/(GeV/c2); exponential background, falls 1.8x over the window
LC_SIGNAL_TO_BACKGROUND_2_4 = 1.5e-3  # Λc/bkg, 2<pT<4, whole window (choice: small)
LC_SB_PT_RANGE = (2.0, 4.0)  # GeV/c; pT range in which LC_SIGNAL_TO_BACKGROUND_2_4 holds
LC_PEAK_WINDOW = 0.025  # GeV/c2; |m - m(Λc)| window quoted in the note of expected_signal
LC_NONPROMPT_FRACTION = 0.10  # non-prompt share of Λc in 1-24 GeV/c (approx., FONLL-like)
LC_MC_PROMPT_FRACTION = 0.5  # MC file: 50 % prompt, 50 % non-prompt (enriched MC)
LC_FLAG_MC = 1 << 1  # O2Physics hf_cand_3prong::DecayType::LcToPKPi = 1 -> fFlagMc = +-2
LC_PKPI_FRACTION = 0.5  # share of candidates with the proton as prong0 (fCandidateSelFlag = 1)

# ------------------------------------------------- pT spectra: dN/dpT ∝ pT/(1+(pT/p0)^2)^n
LC_PROMPT_SPECTRUM = (3.0, 2.8)  # (p0 GeV/c, n): baryon spectrum, peak near 2.1 GeV/c (approx.)
LC_NONPROMPT_SPECTRUM = (4.2, 2.6)  # harder (from beauty)
LC_BKG_SPECTRUM = (1.3, 3.2)  # softer combinatorics

# ---------------------------------------------------------------- signal decay
LC_PRONG_ALPHA = (4.0, 2.5, 2.0)  # Dirichlet pT shares of (p, K, pi): proton hardest
LC_PRONG_OPENING = 0.30  # GeV/c; transverse decay momentum that opens the prongs (approx.)
LC_SIG_QUALITY_LOGSIGMA = 0.2  # log-normal spread of per-candidate resolutions (as for the Ds)

# ---------------------------------------------------------------- background
LC_BKG_DISPLACED_FRACTION = 0.22  # combinatorics with secondary/HF tracks (as for the Ds)
LC_BKG_DISPLACED_LENGTH = 0.025  # cm; mean pull of the fake vertex by displaced tracks
LC_BKG_DISPLACED_ANGLE = 0.45  # rad; spread of the fake flight direction around p
LC_BKG_QUALITY_LOGSIGMA = 0.2  # log-normal spread of per-candidate resolutions
LC_BKG_CHI2_FACTOR = 3.0  # chi2PCA of displaced combinations (tracks from different vertices)
LC_BKG_PRONG_OPENING = 0.40  # GeV/c; same mass window -> open like decays, a bit wider
LC_BKG_SPECIES = {"pi": 0.86, "K": 0.10, "p": 0.04}  # inclusive low-pT hadron mix in pp (approx.)

_CLASSES = ("bkg", "prompt", "nonprompt")


def _spectra() -> dict[str, PtSpectrum]:
    return {
        "bkg": PtSpectrum(*LC_BKG_SPECTRUM),
        "prompt": PtSpectrum(*LC_PROMPT_SPECTRUM),
        "nonprompt": PtSpectrum(*LC_NONPROMPT_SPECTRUM),
    }


def lc_class_probabilities() -> dict[str, float]:
    """Per-candidate class probabilities of the data file, fixed by LC_SIGNAL_TO_BACKGROUND_2_4."""
    sp = _spectra()
    lo, hi = LC_SB_PT_RANGE
    f_np = LC_NONPROMPT_FRACTION
    a = (1 - f_np) * sp["prompt"].fraction(lo, hi) + f_np * sp["nonprompt"].fraction(lo, hi)
    t = LC_SIGNAL_TO_BACKGROUND_2_4 * sp["bkg"].fraction(lo, hi)
    s = t / (a + t)  # solves s a = t (1 - s)
    return {"bkg": 1.0 - s, "prompt": (1 - f_np) * s, "nonprompt": f_np * s}


def _columns(rng, topo: dict, pt, eta, phi, species, pkpi) -> dict:
    """HfCandLcLites columns from a topology; prongs 0 and 2 exchanged for the piKp hypothesis."""
    swap = ~pkpi
    pti, d0, d0z, cosh_eta, species = (
        K.swap_prongs(a, swap)
        for a in (topo["pti"], topo["d0xy"], topo["d0z"], topo["cosh_eta"], species)
    )
    tpc, tof = K.pid_nsigma(rng, pti, cosh_eta, species, ("p", "K", "pi"))
    cols = {
        "fPt": pt, "fEta": eta, "fPhi": phi, "fY": K.rapidity(pt, eta, constants.mass("Lc")),
        "fDecayLength": topo["L"], "fDecayLengthXY": topo["Lxy"],
        "fDecayLengthNormalised": topo["Lnorm"], "fDecayLengthXYNormalised": topo["Lxynorm"],
        "fCpa": topo["cpa"], "fCpaXY": topo["cpaxy"], "fCandidateSelFlag": np.where(pkpi, 1, 2),
    }  # fmt: skip
    for i in range(3):
        cols[f"fPtProng{i}"] = pti[i]
        cols[f"fImpactParameter{i}"] = d0[i]
        cols[f"fImpactParameterZ{i}"] = d0z[i]
        for h, s in (("p", "Pr"), ("K", "Ka"), ("pi", "Pi")):
            cols[f"fNSigTpc{s}{i}"] = tpc[h][i]
            cols[f"fNSigTof{s}{i}"] = tof[h][i]
    return cols


def pkpi_signal(rng: np.random.Generator, pt: np.ndarray, nonprompt: np.ndarray) -> dict:
    """HfCandLcLites feature columns of reconstructed Λc+ -> p K pi (data signal and MC alike)."""
    n = pt.size
    m0 = constants.mass("Lc")
    eta = rng.uniform(-K.ETA_MAX, K.ETA_MAX, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    fr = K.frame(eta, phi)
    flight = K.charm_flight(rng, pt * np.cosh(eta), fr, m0, constants.ctau("Lc"), nonprompt)
    topo = K.three_prong(
        rng, pt, eta, phi, flight, fr, quality_logsigma=LC_SIG_QUALITY_LOGSIGMA, vertex_scale=1.0,
        alpha=LC_PRONG_ALPHA, opening=LC_PRONG_OPENING, with_z=True,
    )  # fmt: skip
    species = np.array([[2], [1], [0]], dtype=np.int8)  # p, K, pi (indices into K.SPECIES)
    cols = _columns(rng, topo, pt, eta, phi, species, rng.random(n) < LC_PKPI_FRACTION)
    cols["fM"] = m0 + K.mass_sigma(pt) * rng.standard_normal(n)
    cols["fChi2PCA"] = K.chi2_pca(rng, topo["sig2"])
    return cols


def pkpi_background(rng: np.random.Generator, pt: np.ndarray) -> dict:
    """HfCandLcLites feature columns of combinatorial p K pi background."""
    n = pt.size
    eta = rng.uniform(-K.ETA_MAX, K.ETA_MAX, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    fr = K.frame(eta, phi)
    flight, displaced = K.fake_flight(
        rng, fr, LC_BKG_DISPLACED_FRACTION, LC_BKG_DISPLACED_LENGTH, LC_BKG_DISPLACED_ANGLE
    )
    topo = K.three_prong(
        rng, pt, eta, phi, flight, fr, quality_logsigma=LC_BKG_QUALITY_LOGSIGMA, vertex_scale=1.0,
        alpha=None, opening=LC_BKG_PRONG_OPENING, with_z=True,
    )  # fmt: skip
    species = K.species_indices(rng, (3, n), LC_BKG_SPECIES)
    cols = _columns(rng, topo, pt, eta, phi, species, rng.random(n) < LC_PKPI_FRACTION)
    cols["fM"] = K.sample_exp_mass(rng, n, LC_MASS_MIN, LC_MASS_MAX, LC_BKG_MASS_SLOPE)
    cols["fChi2PCA"] = K.chi2_pca(rng, topo["sig2"], np.where(displaced, LC_BKG_CHI2_FACTOR, 1.0))
    return cols


def generate_lc(
    n_data: int, n_mc: int, seed: int, *, with_truth: bool = False, progress: bool = False
) -> CharmSample:
    """Synthetic ``HfCandLcLites`` data (background + Λc) and MC (reconstructed Λc) files.

    Same conventions as :func:`o2ml.toymc.charm.generate_ds`: deterministic in ``seed``,
    independent streams for data and MC, truth columns ``fTruthPdgCode`` (4122/0) and
    ``fTruthOrigin`` (0/1/2) on request. MC: ``fOriginMcRec`` 1 prompt / 2 non-prompt
    (LC_MC_PROMPT_FRACTION prompt), ``fFlagMc`` = +-LC_FLAG_MC (random sign).
    """
    step = K.stage_bar(progress, 4, "Λc toy MC")
    seeds = K.spawn_seeds(seed, ["classes", "bkg", "signal", "mc"])
    probs, sp = lc_class_probabilities(), _spectra()
    cls = K.draw_classes(
        np.random.default_rng(seeds["classes"]), n_data, [probs[c] for c in _CLASSES]
    )
    names = HF_CAND_LC_LITES.column_names("data", truth=with_truth)
    out = K.Columns(HF_CAND_LC_LITES, names, n_data)

    # background is generated for every row (>99 % of them); signal rows are overwritten below
    def bkg_job(rng: np.random.Generator, rows: slice) -> None:
        out.put(rows, pkpi_background(rng, sp["bkg"].sample(rng, rows.stop - rows.start)))

    K.run_chunks(seeds["bkg"], n_data, bkg_job)
    step("background")
    rng = np.random.default_rng(seeds["signal"])
    idx = np.flatnonzero(cls > 0)
    nonprompt = cls[idx] == 2
    out.put(idx, pkpi_signal(rng, _signal_pt(rng, sp, nonprompt), nonprompt))
    out.put(slice(None), {"fTruthPdgCode": np.where(cls > 0, 4122, 0), "fTruthOrigin": cls})
    step("signal")
    data = out.frame()
    step("data")

    mc_out = K.Columns(HF_CAND_LC_LITES, HF_CAND_LC_LITES.column_names("mc"), n_mc)

    def mc_job(rng: np.random.Generator, rows: slice) -> None:
        m = rows.stop - rows.start
        nonprompt = rng.random(m) >= LC_MC_PROMPT_FRACTION
        cols = pkpi_signal(rng, _signal_pt(rng, sp, nonprompt), nonprompt)
        cols["fFlagMc"] = np.where(rng.random(m) < 0.5, LC_FLAG_MC, -LC_FLAG_MC)
        cols["fOriginMcRec"] = np.where(nonprompt, 2, 1)
        mc_out.put(rows, cols)

    K.run_chunks(seeds["mc"], n_mc, mc_job)
    step("mc")
    return CharmSample(data=data, mc=mc_out.frame(), expected_signal=lc_expected_signal(n_data))


def _signal_pt(rng: np.random.Generator, sp: dict, nonprompt: np.ndarray) -> np.ndarray:
    n = nonprompt.size
    return np.where(nonprompt, sp["nonprompt"].sample(rng, n), sp["prompt"].sample(rng, n))


def lc_expected_signal(n_data: int) -> dict:
    """Expected (mean) numbers of candidates per fine pT bin in a data file of ``n_data``."""
    probs, sp = lc_class_probabilities(), _spectra()

    def per_bin(cls: str) -> list[float]:
        return [float(x) for x in n_data * probs[cls] * sp[cls].bin_fractions(PT_EDGES)]

    m0 = constants.mass("Lc")
    w = K.exp_mass_fraction(
        LC_MASS_MIN, LC_MASS_MAX, LC_BKG_MASS_SLOPE, m0 - LC_PEAK_WINDOW, m0 + LC_PEAK_WINDOW
    )
    return {
        "table": HF_CAND_LC_LITES.name,
        "n_data": int(n_data),
        "pt_edges": list(PT_EDGES),
        "species": {"Lc": {"prompt": per_bin("prompt"), "nonprompt": per_bin("nonprompt")}},
        "background": per_bin("bkg"),
        "note": (
            "Expected (mean) numbers of candidates per pT bin in the data file before any selection "
            f"(Lambda_c+ -> p K pi, whole mass window {LC_MASS_MIN}-{LC_MASS_MAX} GeV/c2); stand-in for "
            f"FONLL x BR x luminosity. S/B = {LC_SIGNAL_TO_BACKGROUND_2_4:g} (whole window) in "
            f"{LC_SB_PT_RANGE[0]:g} < pT < {LC_SB_PT_RANGE[1]:g} GeV/c, i.e. about "
            f"{LC_SIGNAL_TO_BACKGROUND_2_4 / w:.2g} within |m - m(Lc)| < {LC_PEAK_WINDOW} GeV/c2."
        ),
    }
