"""Synthetic Λc+ -> p K pi candidates in the O2Physics ``HfCandLcLites`` layout.

The generator of a :class:`o2ml.channels._spec.PKPiPhysics` channel (:mod:`o2ml.channels.lc`,
whose ``GENERATOR`` holds every number of the sample: window, spectra, reflections, resonant
channels, MC composition and flags, primary vertex and its contributors, background topology).

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

from types import ModuleType

import numpy as np
import pandas as pd

from ..physics import constants
from ..schema import Origin, get_table
from . import _kinematics as K
from ._kinematics import PT_EDGES, CharmSample

__all__ = [
    "class_probabilities",
    "expected_signal",
    "generate_pkpi",
    "pkpi_background",
    "pkpi_signal",
]

#: the generator's kinds of data rows, in drawing order (the random streams depend on it): not
#: the models' classes, whose order is o2ml.schema.CharmClass
_CLASSES = ("bkg", "prompt", "nonprompt", "reflection")


def class_probabilities(g) -> dict[str, float]:
    """Per-row class probabilities of the data file, fixed by ``g.signal_to_background`` (``g``:
    a :class:`~o2ml.channels._spec.PKPiPhysics`)."""
    f_np, f_refl = g.nonprompt_fraction, g.reflection_fraction
    s = K.signal_share(
        K.spectra(g), g.sb_pt_range, nonprompt_fraction=f_np,
        signal_to_background=g.signal_to_background, reflection_fraction=f_refl,
    )  # fmt: skip
    return {
        "bkg": 1.0 - s * (1.0 + f_refl),
        "prompt": (1 - f_np) * s,
        "nonprompt": f_np * s,
        "reflection": f_refl * s,
    }


def _mass_kpi(rng: np.random.Generator, g, m: np.ndarray, channel: np.ndarray | None) -> np.ndarray:
    """m(K pi) of the row's hypothesis: the K*0 Breit-Wigner for p K*0 decays, else flat in
    m(K pi)^2 over the 3-body range (phase space)."""
    m_k, m_pi, m_p = constants.mass("K"), constants.mass("pi"), constants.mass("p")
    lo2, hi2 = (m_k + m_pi) ** 2, np.maximum(m - m_p, m_k + m_pi + 1e-3) ** 2
    out = np.sqrt(lo2 + (hi2 - lo2) * rng.random(m.size))
    if channel is not None:
        kstar = np.flatnonzero(channel == g.kstar0_channel)
        out[kstar] = K.breit_wigner(rng, kstar.size, *g.kstar0, m_k + m_pi, 1.4)
    return out


def _columns(rng, g, topo: dict, pt, eta, phi, species, proton_first, contributor_p) -> dict:
    """HfCandLcLites columns of a topology; prongs 0 and 2 exchanged where the proton is last."""
    pti, d0, cosh_eta, species = (
        K.swap_prongs(a, ~proton_first)
        for a in (topo["pti"], topo["d0xy"], topo["cosh_eta"], species)
    )
    tpc, tof = K.pid_nsigma(rng, pti, cosh_eta, species, ("p", "K", "pi"))
    n = pt.size
    m0 = constants.mass(g.parent)
    contributes = rng.random((3, n)) < contributor_p
    bitmap = (contributes * np.array([[1], [2], [4]])).sum(axis=0)
    no_score = g.ml_score_undefined
    cols = {
        "fPosX": g.pv_sigma_xy * rng.standard_normal(n),
        "fPosY": g.pv_sigma_xy * rng.standard_normal(n),
        "fPosZ": g.pv_sigma_z * rng.standard_normal(n),
        "fNProngsContributorsPV": contributes.sum(axis=0),
        "fBitmapProngsContributorsPV": bitmap,
        "fPt": pt, "fEta": eta, "fPhi": phi, "fY": K.rapidity(pt, eta, m0),
        "fDecayLength": topo["L"], "fDecayLengthXY": topo["Lxy"],
        "fDecayLengthXYNormalised": topo["Lxynorm"], "fCpa": topo["cpa"], "fCpaXY": topo["cpaxy"],
        "fCt": topo["L"] * m0 / (pt * np.cosh(eta)),
        **{f"fMlScore{c}Class": np.full(n, no_score) for c in ("First", "Second", "Third")},
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
    g,
    pt: np.ndarray,
    nonprompt: np.ndarray,
    *,
    reflection: bool = False,
) -> dict:
    """HfCandLcLites columns of reconstructed Λc+ -> p K pi (data signal and MC alike; ``g``: a
    :class:`~o2ml.channels._spec.PKPiPhysics`).

    With ``reflection`` the rows are the other mass hypothesis of true decays: the prongs are the
    same, the mass is that of the swapped hypothesis and m(K pi) that of a wrong pair.
    """
    n = pt.size
    m0 = constants.mass(g.parent)
    eta, phi, topo = K.signal_decay(rng, g, pt, nonprompt, with_z=True)
    # indices into K.SPECIES of the true prongs (p, K, pi)
    species = np.array([[K.SPECIES.index(s)] for s in g.prongs], dtype=np.int8)
    proton_first = rng.random(n) < g.first_hypothesis_fraction
    p_contrib = g.contributor_probability["signal"]
    cols = _columns(rng, g, topo, pt, eta, phi, species, proton_first, p_contrib)
    channels = g.resonant_channels
    channel = rng.choice(list(channels), n, p=list(channels.values())).astype(np.int8)
    mass = m0 + K.mass_sigma(pt) * rng.standard_normal(n)
    hypothesis = np.where(proton_first, 1, 2)  # fCandidateSelFlag of the true hypothesis
    if reflection:
        m_p, m_pi = constants.mass("p"), constants.mass("pi")
        true_masses = (np.where(proton_first, m_p, m_pi), np.where(proton_first, m_pi, m_p))
        mass = K.swapped_mass(mass, pt, np.cosh(eta), cols["_pti"], cols["_cosh_eta"], true_masses)
        hypothesis = 3 - hypothesis
        cols["fMassKPi"] = _mass_kpi(rng, g, mass, None)
    else:
        cols["fMassKPi"] = _mass_kpi(rng, g, mass, channel)
    cols["fM"] = mass
    cols["fCandidateSelFlag"] = hypothesis
    cols["fChi2PCA"] = K.chi2_pca(rng, topo["sig2"])
    cols["_channel"] = channel
    return cols


def pkpi_background(rng: np.random.Generator, g, pt: np.ndarray) -> dict:
    """HfCandLcLites columns of combinatorial p K pi background (``g``: a
    :class:`~o2ml.channels._spec.PKPiPhysics`)."""
    n = pt.size
    # the mass and the hypothesis first, then three tracks of that mass taken as (p, K, pi)
    # (pKpi) or (pi, K, p) (piKp), so the prong pT and openings follow the mass at fixed pT
    mass = K.sample_exp_mass(rng, n, *g.mass_window, g.bkg_mass_slope)
    pkpi = rng.random(n) < g.first_hypothesis_fraction
    m_p, m_k, m_pi = constants.mass("p"), constants.mass("K"), constants.mass("pi")
    m_first = np.where(pkpi, m_p, m_pi)
    prong_masses = np.stack([m_first, np.full(n, m_k), m_p + m_pi - m_first])
    eta, phi, displaced, topo = K.combinatorial_three_prong(
        rng, pt, displaced_fraction=g.bkg_displaced_fraction,
        displaced_length=g.bkg_displaced_length, displaced_angle=g.bkg_displaced_angle,
        mass=mass, prong_masses=prong_masses,
        quality_logsigma=g.bkg_quality_logsigma, vertex_scale=1.0, alpha=None,
        opening=g.bkg_prong_opening, with_z=True,
    )  # fmt: skip
    species = K.species_indices(rng, (3, n), g.bkg_species)
    contributor = g.contributor_probability
    p_contrib = np.where(displaced, contributor["displaced"], contributor["primary"])
    cols = _columns(rng, g, topo, pt, eta, phi, species, np.ones(n, bool), p_contrib)
    cols["fCandidateSelFlag"] = np.where(pkpi, 1, 2)
    cols["fM"] = mass
    cols["fMassKPi"] = _mass_kpi(rng, g, cols["fM"], None)
    cols["fChi2PCA"] = K.chi2_pca(rng, topo["sig2"], np.where(displaced, g.bkg_chi2_factor, 1.0))
    return cols


def _reflections(g, sp: dict, nonprompt_fraction: float):
    """``make(rng, m)``: wrong-hypothesis rows of true decays, inside the mass window."""

    def make(rng: np.random.Generator, m: int) -> dict:
        nonprompt = rng.random(m) < nonprompt_fraction
        cols = pkpi_signal(rng, g, K.signal_pt(rng, sp, nonprompt), nonprompt, reflection=True)
        cols["_origin"] = np.where(nonprompt, Origin.NONPROMPT, Origin.PROMPT).astype(np.int8)
        return cols

    return make


def generate_pkpi(
    channel: ModuleType,
    n_data: int,
    n_mc: int,
    seed: int,
    *,
    with_truth: bool = False,
    progress: bool = False,
) -> CharmSample:
    """Synthetic data and MC files of a p K pi ``channel`` (a module of :mod:`o2ml.channels`
    whose ``GENERATOR`` is a :class:`~o2ml.channels._spec.PKPiPhysics`: the Λc), in its
    tree-creator table (``HfCandLcLites``) as the O2Physics tree creator writes it.

    Same conventions as :func:`o2ml.toymc.charm.generate_kkpi`: deterministic in ``seed``,
    independent streams for data and MC, truth columns ``fTruthPdgCode`` (4122/0),
    ``fTruthOrigin`` (0/1/2) and ``fTruthReflection`` on request. MC: true Λc+ (``fFlagMc`` +-17,
    ``fOriginMcRec`` 1/2, ``mc_prompt_fraction`` prompt, ``fChannel`` its resonant channel) in
    their own hypothesis and, for ``reflection_fraction`` of them, in the other one
    (``fIsCandidateSwapped`` then disagrees with ``fCandidateSelFlag``), and background
    downsampled as the tree creator does (``mc_bkg_downsample``).
    """
    g, table = channel.GENERATOR, get_table(channel.TABLE)
    step = K.stage_bar(progress, 4, f"{channel.PEAK_LABELS[0]} toy MC")
    # "centrality" last: the other streams are those of generator version 3
    seeds = K.spawn_seeds(seed, ["classes", "bkg", "signal", "mc", "centrality"])
    probs, sp = class_probabilities(g), K.spectra(g)
    out = K.Columns(table, table.column_names("data", truth=with_truth), n_data)
    cls = K.background_data(
        out, n_data, seeds, [probs[c] for c in _CLASSES],
        lambda rng, m: pkpi_background(rng, g, sp["bkg"].sample(rng, m)),
    )  # fmt: skip
    step("background")
    rng = np.random.default_rng(seeds["signal"])
    idx = np.flatnonzero((cls == 1) | (cls == 2))
    nonprompt = cls[idx] == 2
    out.put(idx, pkpi_signal(rng, g, K.signal_pt(rng, sp, nonprompt), nonprompt))
    refl = np.flatnonzero(cls == 3)
    window = K.in_window(*g.mass_window)
    cols = K.collect_rows(rng, refl.size, _reflections(g, sp, g.nonprompt_fraction), window)
    out.put(refl, cols)
    origin = np.where(cls == 3, 0, cls).astype(np.int8)
    origin[refl] = cols["_origin"]
    out.put(slice(None), {
        "fTruthPdgCode": np.where(cls > 0, constants.PDG[g.parent], 0), "fTruthOrigin": origin,
        "fTruthReflection": (cls == 3).astype(np.int8),
        "fCentFT0C": _cent_ft0c(seeds["centrality"], n_data),
    })  # fmt: skip
    step("signal")
    data = out.frame()
    step("data")
    mc = _pkpi_mc(seeds["mc"], n_mc, g, table, sp)
    step("mc")
    return CharmSample(data=data, mc=mc, expected_signal=expected_signal(channel, n_data))


def _mc_flags(rng: np.random.Generator, g, cols: dict, origin: np.ndarray) -> dict:
    """O2Physics' MC columns of matched rows (the matching's sign, origin, swap, channel)."""
    n = origin.size
    cols["fFlagMc"] = np.where(rng.random(n) < 0.5, -g.flag_mc, g.flag_mc)
    cols["fOriginMcRec"] = origin
    cols["fIsCandidateSwapped"] = cols["_prong0_pion"].astype(np.int8)
    cols["fChannel"] = cols["_channel"]
    return cols


def _pkpi_mc(seq: np.random.SeedSequence, n_mc: int, g, table, sp: dict) -> pd.DataFrame:
    """The MC file: true Λc in both hypotheses (the wrong one for some), downsampled background."""
    mc_out = K.Columns(table, table.column_names("mc"), n_mc)
    s_kinds, s_signal, s_refl, s_bkg, s_cent = seq.spawn(5)  # the first four as in version 3
    shares = [g.mc_signal_share, g.mc_signal_share * g.reflection_fraction]
    kinds = K.draw_classes(np.random.default_rng(s_kinds), n_mc, [*shares, 1 - sum(shares)])

    def mc_job(rng: np.random.Generator, rows: slice) -> None:
        sel = np.arange(rows.start, rows.stop)[kinds[rows] == 0]
        nonprompt = rng.random(sel.size) >= g.mc_prompt_fraction
        cols = pkpi_signal(rng, g, K.signal_pt(rng, sp, nonprompt), nonprompt)
        origin = np.where(nonprompt, Origin.NONPROMPT, Origin.PROMPT).astype(np.int8)
        mc_out.put(sel, _mc_flags(rng, g, cols, origin))

    K.run_chunks(s_signal, n_mc, mc_job)
    rng = np.random.default_rng(s_refl)
    refl = np.flatnonzero(kinds == 1)
    window = K.in_window(*g.mass_window)
    cols = K.collect_rows(rng, refl.size, _reflections(g, sp, 1 - g.mc_prompt_fraction), window)
    mc_out.put(refl, _mc_flags(rng, g, cols, cols["_origin"]))
    bkg = np.flatnonzero(kinds == 2)
    factor, pt_max = g.mc_bkg_downsample
    cols = K.collect_rows(
        np.random.default_rng(s_bkg), bkg.size,
        lambda rng, m: pkpi_background(rng, g, sp["bkg"].sample(rng, m)),
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


def expected_signal(channel: ModuleType, n_data: int) -> dict:
    """Expected (mean) numbers of candidates per fine pT bin in a data file of ``n_data`` of a
    p K pi ``channel`` (its ``GENERATOR``: a :class:`~o2ml.channels._spec.PKPiPhysics`)."""
    g = channel.GENERATOR
    probs, sp = class_probabilities(g), K.spectra(g)

    def per_bin(cls: str) -> list[float]:
        return [float(x) for x in n_data * probs[cls] * sp[cls].bin_fractions(PT_EDGES)]

    lo, hi = g.mass_window
    m0 = constants.mass(g.parent)
    w = K.exp_mass_fraction(lo, hi, g.bkg_mass_slope, m0 - g.peak_window, m0 + g.peak_window)
    return {
        "table": channel.TABLE,
        "n_data": int(n_data),
        "pt_edges": list(PT_EDGES),
        "species": {g.parent: {"prompt": per_bin("prompt"), "nonprompt": per_bin("nonprompt")}},
        "background": per_bin("bkg"),
        "note": (
            "Expected (mean) numbers of candidates per pT bin in the data file before any selection "
            f"(Lambda_c+ -> p K pi, whole mass window {lo}-{hi} GeV/c2); stand-in for "
            f"FONLL x BR x luminosity. S/B = {g.signal_to_background:g} (whole window) in "
            f"{g.sb_pt_range[0]:g} < pT < {g.sb_pt_range[1]:g} GeV/c, i.e. about "
            f"{g.signal_to_background / w:.2g} within |m - m(Lc)| < {g.peak_window} GeV/c2."
        ),
    }
