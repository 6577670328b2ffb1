"""What o2ml's generic three-prong generator needs to know of a channel (pure data).

A channel module (:mod:`o2ml.channels.dplus`) fills one :class:`ThreeProngPhysics`;
:mod:`o2ml.toymc.three_prong` draws the candidates of its tree-creator table from it with the
shared detector model of :mod:`o2ml.toymc._kinematics`. Nothing here imports the generator, so
the channels stay below it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ThreeProngPhysics"]


@dataclass(frozen=True)
class ThreeProngPhysics:
    """The physics choices of a three-prong channel's synthetic sample (numbers, no code).

    Spectra are ``(p0, n)`` of dN/dpT ∝ pT / (1 + (pT/p0)²)ⁿ. Background shapes, fractions and
    resolutions are choices (approximations); each channel module says where its numbers come
    from.
    """

    parent: str  #: particle name in :data:`o2ml.physics.constants.PDG` (mass, c tau)
    prongs: tuple[str, str, str]  #: true species of the prongs in track order ("pi", "K", "pi")
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
    bkg_deltaip_sigma: float  #: normalised (measured - expected) d0 scale of displaced combos
    bkg_prong_opening: float  #: GeV/c
    bkg_species: dict[str, float]  #: true species mix of background tracks
    flag_mc: int  #: |fFlagMcMatchRec| of the signal (hf_decay DecayChannelMain)
    resonant_channels: dict[int, float]  #: fFlagMcDecayChanRec -> share among signal (0 none)
    selected_flag: int  #: the selector's status bits of a kept candidate
    mc_signal_share: float  #: rows of the MC file that are signal; the rest background
    mc_prompt_fraction: float  #: prompt share of the MC signal (enriched MC)
    mc_bkg_downsample: tuple[float, float]  #: (downSampleBkgFactor, pT max of the downsampling)
    bhad_mothers: dict[int, float] = field(default_factory=dict)  #: fPdgBhadMotherPart mix
