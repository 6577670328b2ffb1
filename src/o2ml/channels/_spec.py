"""What o2ml's generators need to know of a channel's synthetic sample (pure data).

Each channel module fills one spec object, its ``GENERATOR``: :mod:`o2ml.channels.dplus` a
:class:`ThreeProngPhysics`, :mod:`o2ml.channels.ds` a :class:`KKPiPhysics`,
:mod:`o2ml.channels.lc` a :class:`PKPiPhysics`. :mod:`o2ml.toymc` picks the generator by the
spec's type (:func:`o2ml.toymc.generate.generator_of`: :mod:`o2ml.toymc.three_prong`,
:mod:`o2ml.toymc.charm`, :mod:`o2ml.toymc.lc`), which draws the candidates of the channel's
tree-creator table with the shared detector model of :mod:`o2ml.toymc._kinematics`. Nothing here
imports a generator, so the channels stay below them.

Spectra are ``(p0, n)`` of dN/dpT ∝ pT / (1 + (pT/p0)²)ⁿ. Background shapes, fractions and
resolutions are choices (approximations); each channel module says where its numbers come from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CharmPhysics", "KKPiPhysics", "PKPiPhysics", "PartnerPeak", "ThreeProngPhysics"]


@dataclass(frozen=True, kw_only=True)
class CharmPhysics:
    """The physics choices every synthetic three-prong charm sample makes (numbers, no code)."""

    parent: str  #: particle name in :data:`o2ml.physics.constants.PDG` (mass, c tau)
    prongs: tuple[str, str, str]  #: true species of the decay prongs ("pi", "K", "pi")
    mass_window: tuple[float, float]  #: GeV/c2, the candidates written
    bkg_mass_slope: float  #: 1/(GeV/c2), exponential combinatorial background
    signal_to_background: float  #: signal / background in ``sb_pt_range``, whole window
    sb_pt_range: tuple[float, float]  #: GeV/c
    nonprompt_fraction: float  #: non-prompt share of the signal in data
    prompt_spectrum: tuple[float, float]
    nonprompt_spectrum: tuple[float, float]
    bkg_spectrum: tuple[float, float]
    prong_alpha: tuple[float, float, float]  #: Dirichlet pT shares of the decay prongs
    prong_opening: float  #: GeV/c, transverse decay momentum that opens the prongs
    quality_logsigma: float  #: log-normal spread of per-candidate resolutions (signal)
    bkg_displaced_fraction: float  #: combinatorics with displaced (secondary, HF) tracks
    bkg_displaced_length: float  #: cm, mean pull of the fake vertex by displaced tracks
    bkg_displaced_angle: float  #: rad, spread of the fake flight direction around p
    bkg_quality_logsigma: float
    bkg_chi2_factor: float  #: chi2PCA of displaced combinations / that of decays
    bkg_prong_opening: float  #: GeV/c
    bkg_species: dict[str, float]  #: true species mix of background tracks
    flag_mc: int  #: |MC match flag| of the signal (hf_decay DecayChannelMain)
    resonant_channels: dict[int, float]  #: resonant-channel flag -> share among signal (0 none)
    mc_signal_share: float  #: rows of the MC file that are signal; the rest background
    mc_prompt_fraction: float  #: prompt share of the MC signal (enriched MC)
    mc_bkg_downsample: tuple[float, float]  #: (downSampleBkgFactor, pT max of the downsampling)


@dataclass(frozen=True, kw_only=True)
class ThreeProngPhysics(CharmPhysics):
    """A three-prong channel of one mass hypothesis per candidate, in a table with
    ``fMaxNormalisedDeltaIP``, the selector's status bits and the b-hadron mother
    (:mod:`o2ml.toymc.three_prong`; the D+ -> π K π sample)."""

    bkg_deltaip_sigma: float  #: normalised (measured - expected) d0 scale of displaced combos
    selected_flag: int  #: the selector's status bits of a kept candidate
    bhad_mothers: dict[int, float] = field(default_factory=dict)  #: fPdgBhadMotherPart mix


@dataclass(frozen=True, kw_only=True)
class PartnerPeak:
    """A second signal species in the same spectrum and table as the main one (D+ -> K K π
    next to the Ds), decaying and reconstructed as it, with MC flags of its own."""

    parent: str  #: particle name in :data:`o2ml.physics.constants.PDG`
    ratio: float  #: N(partner) / N(main signal) in data
    phi_fraction: float  #: share of the decays via φ π (the rest K*0 K / non-resonant)
    flag_mc: int  #: |fFlagMcMatchRec| (hf_decay DecayChannelMain)
    resonant_channels: dict[int, float]  #: fFlagMcDecayChanRec -> share (one channel)
    mc_share: float  #: rows of the MC file that are true partner decays


@dataclass(frozen=True, kw_only=True)
class KKPiPhysics(ThreeProngPhysics):
    """A K K π final state (:mod:`o2ml.toymc.charm`): the main signal and a partner peak decay
    via φ -> K K (or not), each candidate is written in the K K π and/or π K K mass hypothesis
    (reflections), and part of the background holds a real φ."""

    partner: PartnerPeak  #: the second peak of the spectrum
    phi_fraction: float  #: share of the main signal's decays via φ π
    phi_mkk_sigma: float  #: GeV/c2, m(KK) resolution, convolved with the φ Breit-Wigner
    first_hypothesis_fraction: float  #: rows in the K K π (prong 0 a kaon) hypothesis
    reflection_fraction: float  #: true decays whose other hypothesis also gives a row
    peak_window: float  #: GeV/c2, |m - m(parent)| window quoted in the expected-signal note
    bkg_vertex_scale: float  #: vertex resolution of primary-track triplets / that of decays
    bkg_phi_fraction: float  #: background with a real φ -> K K plus a random pion
    bkg_mkk_gamma: tuple[float, float]  #: (shape, scale GeV/c2) of m(KK) - 2 m(K), random pairs
    bkg_prong_alpha: tuple[float, float, float] | None  #: None: Dirichlet(1, 1, 1)


@dataclass(frozen=True, kw_only=True)
class PKPiPhysics(CharmPhysics):
    """A p K π final state (:mod:`o2ml.toymc.lc`): each candidate in the p K π and/or π K p
    mass hypothesis (reflections), m(K π) with a K*0 resonance, primary-vertex position and
    contributors."""

    first_hypothesis_fraction: float  #: true decays with the proton as prong 0 (p K π order)
    reflection_fraction: float  #: true decays whose other hypothesis also passes (a row)
    peak_window: float  #: GeV/c2, |m - m(parent)| window quoted in the expected-signal note
    kstar0_channel: int  #: resonant-channel flag of the decays whose m(K π) is the K*0's
    kstar0: tuple[float, float]  #: GeV/c2, (mass, width) of the K*(892)0
    pv_sigma_xy: float  #: cm, spread of the primary-vertex position (beam spot)
    pv_sigma_z: float  #: cm, spread of the primary vertex along the beam
    #: probability that a prong is a primary-vertex contributor ("signal", "primary" and
    #: "displaced" background prongs)
    contributor_probability: dict[str, float]
    ml_score_undefined: float  #: the tree creator's fMlScore* of rows it did not score
