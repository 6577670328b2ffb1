"""Synthetic three-prong candidates of any channel that describes itself with
:class:`o2ml.channels._spec.ThreeProngPhysics` (today D+ -> π+ K- π+, :mod:`o2ml.channels.dplus`).

One row per candidate, in the channel's tree-creator table (``channel.TABLE``), as its tree
creator writes it: data files mix combinatorial background with prompt and non-prompt signal,
MC columns 0; MC files hold true decays with O2Physics' MC flags and combinatorial background
downsampled as the tree creator does (its ``ptProng0`` rule). Signal and background come from
the same functions in data and MC. The detector model, vertexing, PID response and the
background built from three tracks of the row's mass are those of the Ds and Λc samples
(:mod:`o2ml.toymc._kinematics`); only the channel's numbers differ. Channels with one mass
hypothesis per candidate (no reflections).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pandas as pd

from ..physics import constants
from ..schema import Origin, get_table
from . import _kinematics as K
from ._kinematics import PT_EDGES, CharmSample, PtSpectrum

__all__ = ["background_columns", "expected_signal", "generate", "signal_columns"]

_CLASSES = ("bkg", "prompt", "nonprompt")


def class_probabilities(g) -> dict[str, float]:
    """Per-row class probabilities of the data file, fixed by ``g.signal_to_background``."""
    s = K.signal_share(
        K.spectra(g), g.sb_pt_range, nonprompt_fraction=g.nonprompt_fraction,
        signal_to_background=g.signal_to_background, reflection_fraction=0.0,
    )  # fmt: skip
    f_np = g.nonprompt_fraction
    return {"bkg": 1.0 - s, "prompt": (1 - f_np) * s, "nonprompt": f_np * s}


def _species(names) -> np.ndarray:
    return np.array([[K.SPECIES.index(s)] for s in names], dtype=np.int8)


def _columns(rng, g, topo: dict, pt, eta, phi, species, dmax) -> dict:
    """Table columns of a topology: prongs in track order, PID of pions and kaons."""
    tpc, tof = K.pid_nsigma(rng, topo["pti"], topo["cosh_eta"], species, ("pi", "K", "p"))
    n = pt.size
    cols = {
        **K.topology_columns(topo, pt, eta, phi, dmax),
        "fCandidateSelFlag": np.full(n, g.selected_flag),
        "fY": K.rapidity(pt, eta, constants.mass(g.parent)),  # with the parent's PDG mass
        "_sign": np.where(rng.random(n) < 0.5, -1, 1).astype(np.int8),
        **K.event_columns(rng, n),
        **K.nsigma_columns(tpc, tof, (("pi", "Pi"), ("K", "Ka"), ("p", "Pr"))),
    }  # fmt: skip
    for i in range(3):
        cols[f"fPtProng{i}"] = topo["pti"][i]
        cols[f"fImpactParameter{i}"] = topo["d0xy"][i]
        cols[f"fImpactParameterZ{i}"] = topo["d0z"][i]
    return cols


def signal_columns(rng: np.random.Generator, g, pt: np.ndarray, nonprompt: np.ndarray) -> dict:
    """Columns of reconstructed signal decays (data and MC alike), prongs ``g.prongs``."""
    n = pt.size
    m0 = constants.mass(g.parent)
    eta, phi, topo = K.signal_decay(rng, g, pt, nonprompt, with_z=True)
    dmax = K.max_normalised_delta_ip(rng, n)
    cols = _columns(rng, g, topo, pt, eta, phi, _species(g.prongs), dmax)
    cols["fM"] = m0 + K.mass_sigma(pt) * rng.standard_normal(n)
    cols["fChi2PCA"] = K.chi2_pca(rng, topo["sig2"])
    return cols


def background_columns(rng: np.random.Generator, g, pt: np.ndarray) -> dict:
    """Columns of combinatorial background: the mass first, then three tracks of that mass
    taken as ``g.prongs``, so prong pT and openings follow the mass at fixed pT."""
    n = pt.size
    lo, hi = g.mass_window
    mass = K.sample_exp_mass(rng, n, lo, hi, g.bkg_mass_slope)
    prong_masses = np.repeat(np.array([[constants.mass(s)] for s in g.prongs]), n, axis=1)  # (3, n)
    eta, phi, displaced, topo = K.combinatorial_three_prong(
        rng, pt, displaced_fraction=g.bkg_displaced_fraction,
        displaced_length=g.bkg_displaced_length, displaced_angle=g.bkg_displaced_angle,
        mass=mass, prong_masses=prong_masses, quality_logsigma=g.bkg_quality_logsigma,
        vertex_scale=1.0, alpha=None, opening=g.bkg_prong_opening, with_z=True,
    )  # fmt: skip
    species = K.species_indices(rng, (3, n), g.bkg_species)
    dmax = K.max_normalised_delta_ip(rng, n, np.where(displaced, g.bkg_deltaip_sigma, 1.0))
    cols = _columns(rng, g, topo, pt, eta, phi, species, dmax)
    cols["fM"] = mass
    cols["fChi2PCA"] = K.chi2_pca(rng, topo["sig2"], np.where(displaced, g.bkg_chi2_factor, 1.0))
    return cols


def generate(
    channel: ModuleType,
    n_data: int,
    n_mc: int,
    seed: int,
    *,
    with_truth: bool = False,
    progress: bool = False,
) -> CharmSample:
    """Synthetic data and MC files of ``channel`` (a module of :mod:`o2ml.channels` with
    ``TABLE``, ``SPECIES`` and ``GENERATOR``). Same arguments, bit-identical frames; data and MC
    use independent random streams. ``with_truth`` adds ``fTruthPdgCode``, ``fTruthOrigin`` and
    ``fTruthReflection`` (0: one hypothesis) to the data file."""
    g, table = channel.GENERATOR, get_table(channel.TABLE)
    step = K.stage_bar(progress, 3, f"{channel.PEAK_LABELS[0]} toy MC")
    seeds = K.spawn_seeds(seed, ["classes", "bkg", "signal", "mc"])
    probs, sp = class_probabilities(g), K.spectra(g)
    out = K.Columns(table, table.column_names("data", truth=with_truth), n_data)
    cls = K.background_data(
        out, n_data, seeds, list(probs.values()),
        lambda rng, m: background_columns(rng, g, sp["bkg"].sample(rng, m)),
    )  # fmt: skip
    rng = np.random.default_rng(seeds["signal"])
    idx = np.flatnonzero(cls > 0)
    nonprompt = cls[idx] == 2
    out.put(idx, signal_columns(rng, g, K.signal_pt(rng, sp, nonprompt), nonprompt))
    truth = np.zeros(n_data, np.int32)
    truth[idx] = constants.PDG[g.parent]
    out.put(slice(None), {
        "fTruthPdgCode": truth, "fTruthOrigin": cls.astype(np.int8),
        "fTruthReflection": np.zeros(n_data, np.int8),
    })  # fmt: skip
    step("data")
    mc = _mc(seeds["mc"], n_mc, g, table)
    step("mc")
    return CharmSample(data=out.frame(), mc=mc, expected_signal=expected_signal(channel, n_data))


def _mc(seq: np.random.SeedSequence, n_mc: int, g, table) -> pd.DataFrame:
    """The MC file: true decays with MC flags, downsampled background with flags 0."""
    out = K.Columns(table, table.column_names("mc"), n_mc)
    s_kinds, s_signal, s_bkg, s_extra = seq.spawn(4)
    is_sig = np.random.default_rng(s_kinds).random(n_mc) < g.mc_signal_share
    sig = np.flatnonzero(is_sig)
    rng = np.random.default_rng(s_signal)
    nonprompt = rng.random(sig.size) >= g.mc_prompt_fraction
    cols = signal_columns(rng, g, K.signal_pt(rng, K.spectra(g), nonprompt), nonprompt)
    channels = np.array(list(g.resonant_channels), dtype=np.int8)
    kind = K.draw_classes(rng, sig.size, list(g.resonant_channels.values()))
    cols["fFlagMcMatchRec"] = cols["_sign"] * g.flag_mc
    cols["fFlagMcDecayChanRec"] = channels[kind]
    cols["fOriginMcRec"] = np.where(nonprompt, Origin.NONPROMPT, Origin.PROMPT)
    out.put(sig, cols)
    bkg = np.flatnonzero(~is_sig)
    factor, pt_max = g.mc_bkg_downsample
    spectrum = PtSpectrum(*g.bkg_spectrum)
    out.put(bkg, K.collect_rows(
        np.random.default_rng(s_bkg), bkg.size,
        lambda r, m: background_columns(r, g, spectrum.sample(r, m)),
        K.downsampled(factor, pt_max), acceptance=factor,
    ))  # fmt: skip
    # non-prompt matched candidates: the signed PDG code of their b-hadron mother
    # (candidateCreator3Prong.cxx @ f86101a0, lines 1353-1365), 0 for the others
    if g.bhad_mothers:
        c = out.cols
        np_rows = np.flatnonzero(c["fOriginMcRec"] == Origin.NONPROMPT)
        codes = np.array(list(g.bhad_mothers), dtype=np.int32)
        k = K.draw_classes(
            np.random.default_rng(s_extra), np_rows.size, list(g.bhad_mothers.values())
        )
        c["fPdgBhadMotherPart"][np_rows] = codes[k] * np.sign(c["fFlagMcMatchRec"][np_rows])
    return out.frame()


def expected_signal(channel: ModuleType, n_data: int) -> dict:
    """Expected (mean) numbers of candidates per fine pT bin in a data file of ``n_data``."""
    g = channel.GENERATOR
    probs, sp = class_probabilities(g), K.spectra(g)

    def per_bin(cls: str) -> list[float]:
        spec = "bkg" if cls == "bkg" else cls
        return [float(x) for x in n_data * probs[cls] * sp[spec].bin_fractions(PT_EDGES)]

    lo, hi = g.mass_window
    return {
        "table": channel.TABLE,
        "n_data": int(n_data),
        "pt_edges": list(PT_EDGES),
        "species": {
            channel.SPECIES: {"prompt": per_bin("prompt"), "nonprompt": per_bin("nonprompt")}
        },
        "background": per_bin("bkg"),
        "note": (
            "Expected (mean) numbers of candidates per pT bin in the data file before any "
            f"selection ({channel.SPECIES}, whole mass window {lo}-{hi} GeV/c2); stand-in for "
            f"FONLL x BR x luminosity. S/B = {g.signal_to_background:g} (whole window) in "
            f"{g.sb_pt_range[0]:g} < pT < {g.sb_pt_range[1]:g} GeV/c."
        ),
    }
