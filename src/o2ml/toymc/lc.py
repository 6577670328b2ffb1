"""Synthetic Λc+ -> p K pi candidates in the O2Physics ``HfCandLcLites`` layout.

The files hold what ``treeCreatorLcToPKPi`` writes (its lite table, column for column): one row
per mass hypothesis that passes (``fCandidateSelFlag`` 1 pKpi, 2 piKp); data files carry the MC
columns filled with 0 (``fChannel`` -1) and the reflections of true decays (the other
hypothesis, at its mass); MC files hold true Λc+ in both hypotheses (the wrong one is a
reflection: ``fIsCandidateSwapped`` does not match the row) and downsampled background.

Λc+ has c tau = 60.75 um, so the signal is barely displaced (<L> ~ 80 um at 3 GeV/c, vertex
resolution ~40 um): what makes it stand out of the broad combinatorial background is the
combination of a proton, a kaon and a pion that point back to one slightly displaced vertex.
Prongs are in track order: proton first for a true pKpi decay, last for piKp.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..physics import constants
from ..schema import HF_CAND_LC_LITES, DecayChannelMain, DecayChannelResonant, Origin
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
LC_PKPI_FRACTION = 0.5  # share of true decays with the proton as prong0 (pKpi track order)

# ---------------------------------------------------------------- tree-creator output (MC flags)
LC_FLAG_MC = int(DecayChannelMain.LcToPKPi)  # |fFlagMc| of Λc+ -> p K pi (17)
#: resonant channels of the MC (fChannel) and their shares among Λc -> p K pi (PDG: p K*0 1.96 %,
#: Delta++ K 1.08 %, Lambda(1520) pi ~0.6 %, of 6.28 % in all; the rest non-resonant, 0)
LC_CHANNELS = {
    int(DecayChannelResonant.LcToPKstar0): 0.31,
    int(DecayChannelResonant.LcToDeltaplusplusK): 0.17,
    int(DecayChannelResonant.LcToL1520Pi): 0.10,
    0: 0.42,
}
#: share of true decays whose other mass hypothesis also passes (a reflection row; choice)
LC_REFLECTION_FRACTION = 0.3
#: rows of the MC file that are true decays in their own hypothesis; reflections follow them
#: (LC_REFLECTION_FRACTION of those), the rest is background (choice)
LC_MC_SIGNAL_SHARE = 0.55
#: downSampleBkgFactor and downSampleBkgPtMax of the MC background (tree creator default pT max)
LC_MC_BKG_DOWNSAMPLE = (0.1, 100.0)
LC_PV_SIGMA_XY = 0.003  # cm; spread of the primary-vertex position (beam spot; choice)
LC_PV_SIGMA_Z = 6.0  # cm; spread of the primary vertex along the beam (choice)
#: probability that a prong is a primary-vertex contributor: decay prongs rarely are; prongs of
#: primary-track combinatorics often, displaced ones seldom (choices)
LC_CONTRIBUTOR_PROBABILITY = {"signal": 0.05, "primary": 0.5, "displaced": 0.1}
KSTAR0_MASS, KSTAR0_WIDTH = 0.89555, 0.0473  # GeV/c2; K*(892)0 (PDG)
ML_SCORE_UNDEFINED = -999.0  # the tree creator's fMlScore* unless it applied ML

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

#: the generator's kinds of data rows, in drawing order (the random streams depend on it): not
#: the models' classes, whose order is o2ml.schema.CharmClass
_CLASSES = ("bkg", "prompt", "nonprompt", "reflection")


def _spectra() -> dict[str, PtSpectrum]:
    return {
        "bkg": PtSpectrum(*LC_BKG_SPECTRUM),
        "prompt": PtSpectrum(*LC_PROMPT_SPECTRUM),
        "nonprompt": PtSpectrum(*LC_NONPROMPT_SPECTRUM),
    }


def lc_class_probabilities() -> dict[str, float]:
    """Per-row class probabilities of the data file, fixed by LC_SIGNAL_TO_BACKGROUND_2_4."""
    f_np = LC_NONPROMPT_FRACTION
    s = K.signal_share(
        _spectra(), LC_SB_PT_RANGE, nonprompt_fraction=f_np,
        signal_to_background=LC_SIGNAL_TO_BACKGROUND_2_4, reflection_fraction=LC_REFLECTION_FRACTION,
    )  # fmt: skip
    return {
        "bkg": 1.0 - s * (1.0 + LC_REFLECTION_FRACTION),
        "prompt": (1 - f_np) * s,
        "nonprompt": f_np * s,
        "reflection": LC_REFLECTION_FRACTION * s,
    }


def _mass_kpi(rng: np.random.Generator, m: np.ndarray, channel: np.ndarray | None) -> np.ndarray:
    """m(K pi) of the row's hypothesis: the K*0 Breit-Wigner for p K*0 decays, else flat in
    m(K pi)^2 over the 3-body range (phase space)."""
    m_k, m_pi, m_p = constants.mass("K"), constants.mass("pi"), constants.mass("p")
    lo2, hi2 = (m_k + m_pi) ** 2, np.maximum(m - m_p, m_k + m_pi + 1e-3) ** 2
    out = np.sqrt(lo2 + (hi2 - lo2) * rng.random(m.size))
    if channel is not None:
        kstar = np.flatnonzero(channel == int(DecayChannelResonant.LcToPKstar0))
        out[kstar] = K.breit_wigner(rng, kstar.size, KSTAR0_MASS, KSTAR0_WIDTH, m_k + m_pi, 1.4)
    return out


def _columns(rng, topo: dict, pt, eta, phi, species, proton_first, contributor_p) -> dict:
    """HfCandLcLites columns of a topology; prongs 0 and 2 exchanged where the proton is last."""
    pti, d0, cosh_eta, species = (
        K.swap_prongs(a, ~proton_first)
        for a in (topo["pti"], topo["d0xy"], topo["cosh_eta"], species)
    )
    tpc, tof = K.pid_nsigma(rng, pti, cosh_eta, species, ("p", "K", "pi"))
    n = pt.size
    m0 = constants.mass("Lc")
    contributes = rng.random((3, n)) < contributor_p
    bitmap = (contributes * np.array([[1], [2], [4]])).sum(axis=0)
    cols = {
        "fPosX": LC_PV_SIGMA_XY * rng.standard_normal(n),
        "fPosY": LC_PV_SIGMA_XY * rng.standard_normal(n),
        "fPosZ": LC_PV_SIGMA_Z * rng.standard_normal(n),
        "fNProngsContributorsPV": contributes.sum(axis=0),
        "fBitmapProngsContributorsPV": bitmap,
        "fPt": pt, "fEta": eta, "fPhi": phi, "fY": K.rapidity(pt, eta, m0),
        "fDecayLength": topo["L"], "fDecayLengthXY": topo["Lxy"],
        "fDecayLengthXYNormalised": topo["Lxynorm"], "fCpa": topo["cpa"], "fCpaXY": topo["cpaxy"],
        "fCt": topo["L"] * m0 / (pt * np.cosh(eta)),
        **{f"fMlScore{c}Class": np.full(n, ML_SCORE_UNDEFINED) for c in ("First", "Second", "Third")},
        "fChannel": np.full(n, -1, np.int8),
        "_pti": pti, "_cosh_eta": cosh_eta, "_prong0_pion": species[0] == 0,
    }  # fmt: skip
    for i in range(3):
        cols[f"fPtProng{i}"] = pti[i]
        cols[f"fImpactParameter{i}"] = d0[i]
    for i, sps in ((0, ("Pi", "Pr")), (1, ("Ka",)), (2, ("Pi", "Pr"))):
        for s in sps:
            h = {"Pi": "pi", "Ka": "K", "Pr": "p"}[s]
            cols[f"fNSigTpc{s}{i}"] = tpc[h][i]
            cols[f"fNSigTof{s}{i}"] = tof[h][i]
            cols[f"fNSigTpcTof{s}{i}"] = K.combine_nsigma(tpc[h][i], tof[h][i])
    return cols


def pkpi_signal(
    rng: np.random.Generator,
    pt: np.ndarray,
    nonprompt: np.ndarray,
    *,
    reflection: bool = False,
) -> dict:
    """HfCandLcLites columns of reconstructed Λc+ -> p K pi (data signal and MC alike).

    With ``reflection`` the rows are the other mass hypothesis of true decays: the prongs are the
    same, the mass is that of the swapped hypothesis and m(K pi) that of a wrong pair.
    """
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
    proton_first = rng.random(n) < LC_PKPI_FRACTION
    p_contrib = LC_CONTRIBUTOR_PROBABILITY["signal"]
    cols = _columns(rng, topo, pt, eta, phi, species, proton_first, p_contrib)
    channel = rng.choice(list(LC_CHANNELS), n, p=list(LC_CHANNELS.values())).astype(np.int8)
    mass = m0 + K.mass_sigma(pt) * rng.standard_normal(n)
    hypothesis = np.where(proton_first, 1, 2)  # fCandidateSelFlag of the true hypothesis
    if reflection:
        m_p, m_pi = constants.mass("p"), constants.mass("pi")
        true_masses = (np.where(proton_first, m_p, m_pi), np.where(proton_first, m_pi, m_p))
        mass = K.swapped_mass(mass, pt, np.cosh(eta), cols["_pti"], cols["_cosh_eta"], true_masses)
        hypothesis = 3 - hypothesis
        cols["fMassKPi"] = _mass_kpi(rng, mass, None)
    else:
        cols["fMassKPi"] = _mass_kpi(rng, mass, channel)
    cols["fM"] = mass
    cols["fCandidateSelFlag"] = hypothesis
    cols["fChi2PCA"] = K.chi2_pca(rng, topo["sig2"])
    cols["_channel"] = channel
    return cols


def pkpi_background(rng: np.random.Generator, pt: np.ndarray) -> dict:
    """HfCandLcLites columns of combinatorial p K pi background."""
    n = pt.size
    # the mass and the hypothesis first, then three tracks of that mass taken as (p, K, pi)
    # (pKpi) or (pi, K, p) (piKp), so the prong pT and openings follow the mass at fixed pT
    mass = K.sample_exp_mass(rng, n, LC_MASS_MIN, LC_MASS_MAX, LC_BKG_MASS_SLOPE)
    pkpi = rng.random(n) < LC_PKPI_FRACTION
    m_p, m_k, m_pi = constants.mass("p"), constants.mass("K"), constants.mass("pi")
    m_first = np.where(pkpi, m_p, m_pi)
    prong_masses = np.stack([m_first, np.full(n, m_k), m_p + m_pi - m_first])
    eta, phi, displaced, topo = K.combinatorial_three_prong(
        rng, pt, displaced_fraction=LC_BKG_DISPLACED_FRACTION,
        displaced_length=LC_BKG_DISPLACED_LENGTH, displaced_angle=LC_BKG_DISPLACED_ANGLE,
        mass=mass, prong_masses=prong_masses,
        quality_logsigma=LC_BKG_QUALITY_LOGSIGMA, vertex_scale=1.0, alpha=None,
        opening=LC_BKG_PRONG_OPENING, with_z=True,
    )  # fmt: skip
    species = K.species_indices(rng, (3, n), LC_BKG_SPECIES)
    p_contrib = np.where(
        displaced, LC_CONTRIBUTOR_PROBABILITY["displaced"], LC_CONTRIBUTOR_PROBABILITY["primary"]
    )
    cols = _columns(rng, topo, pt, eta, phi, species, np.ones(n, bool), p_contrib)
    cols["fCandidateSelFlag"] = np.where(pkpi, 1, 2)
    cols["fM"] = mass
    cols["fMassKPi"] = _mass_kpi(rng, cols["fM"], None)
    cols["fChi2PCA"] = K.chi2_pca(rng, topo["sig2"], np.where(displaced, LC_BKG_CHI2_FACTOR, 1.0))
    return cols


def _reflections(sp: dict, nonprompt_fraction: float):
    """``make(rng, m)``: wrong-hypothesis rows of true decays, inside the mass window."""

    def make(rng: np.random.Generator, m: int) -> dict:
        nonprompt = rng.random(m) < nonprompt_fraction
        cols = pkpi_signal(rng, K.signal_pt(rng, sp, nonprompt), nonprompt, reflection=True)
        cols["_origin"] = np.where(nonprompt, Origin.NONPROMPT, Origin.PROMPT).astype(np.int8)
        return cols

    return make


def generate_lc(
    n_data: int, n_mc: int, seed: int, *, with_truth: bool = False, progress: bool = False
) -> CharmSample:
    """Synthetic ``HfCandLcLites`` data and MC files, as the O2Physics tree creator writes them.

    Same conventions as :func:`o2ml.toymc.charm.generate_ds`: deterministic in ``seed``,
    independent streams for data and MC, truth columns ``fTruthPdgCode`` (4122/0),
    ``fTruthOrigin`` (0/1/2) and ``fTruthReflection`` on request. MC: true Λc+ (``fFlagMc`` +-17,
    ``fOriginMcRec`` 1/2, LC_MC_PROMPT_FRACTION prompt, ``fChannel`` its resonant channel) in
    their own hypothesis and, for LC_REFLECTION_FRACTION of them, in the other one
    (``fIsCandidateSwapped`` then disagrees with ``fCandidateSelFlag``), and background
    downsampled as the tree creator does (LC_MC_BKG_DOWNSAMPLE).
    """
    step = K.stage_bar(progress, 4, "Λc toy MC")
    # "centrality" last: the other streams are those of generator version 3
    seeds = K.spawn_seeds(seed, ["classes", "bkg", "signal", "mc", "centrality"])
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
    idx = np.flatnonzero((cls == 1) | (cls == 2))
    nonprompt = cls[idx] == 2
    out.put(idx, pkpi_signal(rng, K.signal_pt(rng, sp, nonprompt), nonprompt))
    refl = np.flatnonzero(cls == 3)
    window = K.in_window(LC_MASS_MIN, LC_MASS_MAX)
    cols = K.collect_rows(rng, refl.size, _reflections(sp, LC_NONPROMPT_FRACTION), window)
    out.put(refl, cols)
    origin = np.where(cls == 3, 0, cls).astype(np.int8)
    origin[refl] = cols["_origin"]
    out.put(slice(None), {
        "fTruthPdgCode": np.where(cls > 0, 4122, 0), "fTruthOrigin": origin,
        "fTruthReflection": (cls == 3).astype(np.int8),
        "fCentFT0C": _cent_ft0c(seeds["centrality"], n_data),
    })  # fmt: skip
    step("signal")
    data = out.frame()
    step("data")
    mc = _lc_mc(seeds["mc"], n_mc, sp)
    step("mc")
    return CharmSample(data=data, mc=mc, expected_signal=lc_expected_signal(n_data))


def _mc_flags(rng: np.random.Generator, cols: dict, origin: np.ndarray) -> dict:
    """O2Physics' MC columns of matched Λc rows (the matching's sign, origin, swap, channel)."""
    n = origin.size
    cols["fFlagMc"] = np.where(rng.random(n) < 0.5, -LC_FLAG_MC, LC_FLAG_MC)
    cols["fOriginMcRec"] = origin
    cols["fIsCandidateSwapped"] = cols["_prong0_pion"].astype(np.int8)
    cols["fChannel"] = cols["_channel"]
    return cols


def _lc_mc(seq: np.random.SeedSequence, n_mc: int, sp: dict) -> pd.DataFrame:
    """The MC file: true Λc in both hypotheses (the wrong one for some), downsampled background."""
    mc_out = K.Columns(HF_CAND_LC_LITES, HF_CAND_LC_LITES.column_names("mc"), n_mc)
    s_kinds, s_signal, s_refl, s_bkg, s_cent = seq.spawn(5)  # the first four as in version 3
    shares = [LC_MC_SIGNAL_SHARE, LC_MC_SIGNAL_SHARE * LC_REFLECTION_FRACTION]
    kinds = K.draw_classes(np.random.default_rng(s_kinds), n_mc, [*shares, 1 - sum(shares)])

    def mc_job(rng: np.random.Generator, rows: slice) -> None:
        sel = np.arange(rows.start, rows.stop)[kinds[rows] == 0]
        nonprompt = rng.random(sel.size) >= LC_MC_PROMPT_FRACTION
        cols = pkpi_signal(rng, K.signal_pt(rng, sp, nonprompt), nonprompt)
        origin = np.where(nonprompt, Origin.NONPROMPT, Origin.PROMPT).astype(np.int8)
        mc_out.put(sel, _mc_flags(rng, cols, origin))

    K.run_chunks(s_signal, n_mc, mc_job)
    rng = np.random.default_rng(s_refl)
    refl = np.flatnonzero(kinds == 1)
    window = K.in_window(LC_MASS_MIN, LC_MASS_MAX)
    cols = K.collect_rows(rng, refl.size, _reflections(sp, 1 - LC_MC_PROMPT_FRACTION), window)
    mc_out.put(refl, _mc_flags(rng, cols, cols["_origin"]))
    bkg = np.flatnonzero(kinds == 2)
    factor, pt_max = LC_MC_BKG_DOWNSAMPLE
    cols = K.collect_rows(
        np.random.default_rng(s_bkg), bkg.size,
        lambda rng, m: pkpi_background(rng, sp["bkg"].sample(rng, m)),
        K.downsampled(factor, pt_max), acceptance=factor,
    )  # fmt: skip
    # not matched: flags, origin, channel and isCandidateSwapped 0 (the candidate creator's
    # swapping{0}: candidateCreator3Prong.cxx @ f86101a0, lines 1062-1079; the tree creator writes
    # it for MC rows: treeCreatorLcToPKPi.cxx @ de7b76d6, line 642)
    cols["fChannel"] = np.zeros(bkg.size, np.int8)
    cols["fIsCandidateSwapped"] = np.zeros(bkg.size, np.int8)
    mc_out.put(bkg, cols)
    mc_out.put(slice(None), {"fCentFT0C": _cent_ft0c(s_cent, n_mc)})
    return mc_out.frame()


def _cent_ft0c(seq: np.random.SeedSequence, n: int) -> np.ndarray:
    """fCentFT0C of ``n`` rows: the collision's FT0C percentile, as treeCreatorLcToPKPi writes
    it with a process "WithCentrality" (processDataWithCentralityWithDCAFitterN is its default;
    O2Physics treeCreatorLcToPKPi.cxx @ de7b76d6, lines 654-657, 1202). o2ml's MC takes the
    same path (processMcWithCentralityWithDCAFitterN; choice). Own stream: the other columns
    do not move."""
    return K.centrality_percentile(np.random.default_rng(seq), n)


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
