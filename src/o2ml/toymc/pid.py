"""Synthetic charged tracks with TPC, TOF and ITS2 PID information.

:func:`generate_pid` draws a frame of PID tracks (the columns of
:data:`o2ml.physics.pid_tracks.TRACK_DTYPES`, what ``read_aod_tracks`` reads back);
:mod:`o2ml.toymc.pid_tables` writes it as the tables O2 and O2Physics write.

Two domains share one event model (species mixture, spectra, acceptance) and differ in the detector
response, the way real data differ from their simulation:

* ``mc``: ITS2 response with the O2Physics MC parameters, nominal TPC response, TOF with the MC time
  resolution; carries the true PDG code ``fPdgCode``.
* ``data``: ITS2 response with the O2Physics data parameters, TPC dE/dx with a calibration offset and
  a worse resolution, TOF with the Run 3 time resolution; the true PDG code only on request, in the
  clearly named ``fTruthPdgCode`` column, for closure tests.

The nsigma columns of both domains are computed with the nominal (MC) response, so in ``data`` they
are shifted and wider: part of the domain gap that the DANN notebook closes.

ITS2 cluster sizes are integers per layer, whose truncated mean times cos(lambda) follows the
O2Physics response of the domain. A track gets a latent per-layer mean size ``a`` (larger for longer
paths, ~1/cos(lambda)); each layer fluctuates around it (Gaussian, rounded stochastically, at least 1,
at most 15), with a small tail of large clusters and a few missing layers. How the truncated mean of
such layers depends on ``a`` (mean and intrinsic spread) is tabulated once by a seeded simulation
(:func:`its_layer_calibration`); the generator inverts it, so the realised mean equals the response,
and gives the latent ``a`` just the extra spread that makes the realised width match it.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..physics import detectors as det
from ..physics import its
from ..physics.constants import PDG, PID_SPECIES, mass, pid_label
from ..physics.pid_tracks import (
    NOMINAL_TOF_RESOLUTION_PS,
    NOMINAL_TPC_RESOLUTION,
    TRACK_DTYPES,
    TRUTH_DTYPES,
)

# ------------------------------------------------------------------------ event model
# Species in the order of o2ml.physics.constants.PID_SPECIES (e, pi, K, p) and their PDG codes
SPECIES = PID_SPECIES
# Fractions of e, pi, K, p among tracks with 0.1 < pT < 10 GeV/c (choice within the
# ranges: pi 75-80 %, K ~12 %, p 6-8 %, e 1-3 %; ALICE pp K/pi ~ 0.13-0.15, p/pi ~ 0.06-0.08)
SPECIES_FRACTIONS = (0.02, 0.78, 0.13, 0.07)
# Levy-Tsallis temperature T (GeV) per species; close to ALICE pp Levy fits (EPJC 71 (2011) 1655:
# T ~ 0.13 pi, 0.17 K, 0.18 p); electrons (mostly conversions) softer, a documented choice
LEVY_T = (0.10, 0.126, 0.168, 0.184)
# Levy-Tsallis exponent n per species (same source: n ~ 7-8 for pi, K, p; e a documented choice)
LEVY_N = (7.0, 7.8, 6.6, 7.3)
# generated transverse-momentum range in GeV/c (tracking acceptance ~0.1 GeV/c upwards)
PT_RANGE = (0.1, 10.0)
# pseudorapidity acceptance |eta| < 0.9 of the central barrel (ITS+TPC+TOF); dN/deta flat
ETA_MAX = 0.9

# ------------------------------------------------------------------------ TPC
# relative dE/dx resolution in MC at the reference cluster count (choice within 5-7 %, docs/physics.md);
# the nominal response of o2ml's nsigma (physics.pid_tracks, as pidTPC computes them)
TPC_RESOLUTION_MC = NOMINAL_TPC_RESOLUTION
# data resolution is 10 % worse than MC (documented choice: a shift, not a scramble)
TPC_RESOLUTION_DATA = TPC_RESOLUTION_MC * 1.10
# data dE/dx calibration offset relative to the nominal response (choice: +2-4 %)
TPC_SIGNAL_OFFSET_DATA = 0.03
# resolution ~ sqrt(reference/Ncl) (detectors.TPC_NCLS_REFERENCE = 150 clusters)
TPC_NCLS_REFERENCE = det.TPC_NCLS_REFERENCE
# maximum number of TPC clusters (159 pad rows)
TPC_NCLS_MAX = 159
# good tracks lose Exp(mean 10) clusters below 159, at most down to this value (documented choice)
TPC_NCLS_GOOD_MIN = 100
# mean number of clusters lost by a good track (documented choice: median ~152, most above 120)
TPC_NCLS_LOSS_MEAN = 10.0
# fraction of low-quality tracks, whose cluster count is uniform in TPC_NCLS_LOW (documented choice)
TPC_LOW_QUALITY_FRACTION = 0.08
# cluster-count range of low-quality tracks (both ends included)
TPC_NCLS_LOW = (60, 119)

# ------------------------------------------------------------------------ TOF
# TOF time resolution in data, ps (docs/physics.md: approx. 75 ps in Run 3, incl. event time)
TOF_RESOLUTION_DATA_PS = 75.0
# TOF time resolution in MC, ps (choice in 60-65 ps: MC slightly optimistic); the nominal one of
# o2ml's TOF nsigma (physics.pid_tracks)
TOF_RESOLUTION_MC_PS = NOMINAL_TOF_RESOLUTION_PS
# largest TOF matching efficiency: ~10 % of high-pT tracks have no TOF hit (choice; dead zones)
TOF_EFFICIENCY_MAX = 0.90
# pT (GeV/c) where the matching efficiency reaches half of its maximum (docs/physics.md: ~0.5 GeV/c)
TOF_TURN_ON_PT = 0.55
# width (GeV/c) of the logistic turn-on in pT (documented choice: smooth, missing not at random);
# tracks with pT < 0.3 B r / 2 ~ 0.28 GeV/c curl up before the TOF radius and never reach it
TOF_TURN_ON_WIDTH = 0.07
# share of TOF hits matched to the wrong track (a random time: the non-Gaussian tail of TOF PID;
# documented choice, ALICE quotes a few per cent in pp); drawn from its own random stream
TOF_MISMATCH = 0.02
# value of the TOF columns for tracks without a TOF signal (O2Physics convention, schema)
MISSING = -999.0

# ------------------------------------------------------------------------ ITS2
# relative Gaussian spread of one layer's size around the track's latent mean (documented choice:
# small enough that the truncated mean is never wider than the response's resolution)
ITS_LAYER_SPREAD = 0.10
# probability that a layer has an unusually large cluster (delta ray, merged clusters; documented)
ITS_TAIL_PROBABILITY = 0.02
# mean extra size of such a large cluster (exponential, rounded up; documented choice)
ITS_TAIL_MEAN = 4.0
# probability that a layer has no cluster (dead chips, inefficiency; documented choice ~3 %)
ITS_MISSING_PROBABILITY = 0.03
# tracks with fewer hit layers than this keep all 7 layers (tracking requires several ITS hits)
ITS_MIN_HITS = 4
# latent per-layer means where the truncated-mean response is tabulated (covers 1..15 and beyond)
ITS_CALIBRATION_GRID = np.geomspace(0.5, 20.0, 48)
# tracks simulated per grid point to tabulate the response (seeded, deterministic)
ITS_CALIBRATION_TRACKS = 4000
# seed of the tabulation (fixed, so every call of generate_pid sees the same table)
ITS_CALIBRATION_SEED = 20240917

# ------------------------------------------------------------------------ V0 daughters
# Share of each true species that is the daughter of a selected V0 candidate (documented choices:
# pions from K0S decays, protons from Lambda, photon-conversion electrons; the pion of a Lambda
# decay is rarer), and the combinatorial contamination of each V0 sample under its mass peak
# (choices close to ALICE Run 3 V0 selections: K0S ~97 % pure, Lambda ~90 %, conversions ~95 %)
V0_FRACTIONS = {"K0S": {"pi": 0.06}, "Lambda": {"p": 0.12, "pi": 0.01}, "gamma": {"e": 0.45}}
V0_CONTAMINATION = {"K0S": 0.03, "Lambda": 0.10, "gamma": 0.05}
#: fV0Tag codes
V0_CODES = {"none": 0, "K0S": 1, "Lambda": 2, "antiLambda": 3, "gamma": 4}
DOMAINS = ("mc", "data")

_STAGES = ("kinematics", "TPC", "TOF", "ITS2", "table")  # progress-bar stages
#: one random stream each; streams added later go at the end, so earlier ones keep their draws
_STREAMS = (*_STAGES, "V0", "TOF mismatch")
_NS = ("El", "Pi", "Ka", "Pr")  # suffixes of the nsigma columns, in SPECIES order
_N_QUANTILES = 16384  # points of the tabulated pT quantile functions


# ============================================================================== helpers
def _levy_pt(rng: np.random.Generator, n: int, m: float, t: float, nexp: float) -> np.ndarray:
    """pT drawn from dN/dpT ~ pT (1 + (mT - m)/(n T))^-n by inverting a tabulated CDF."""
    grid = np.geomspace(*PT_RANGE, 8192)
    mt = np.sqrt(grid * grid + m * m)
    pdf = grid * (1.0 + (mt - m) / (nexp * t)) ** (-nexp)
    cdf = np.concatenate(([0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))))
    cdf /= cdf[-1]
    # quantile function on a uniform grid of u: sampling is then a lookup, not a binary search
    quantile = np.interp(np.linspace(0.0, 1.0, _N_QUANTILES), cdf, grid)
    x = rng.random(n) * (_N_QUANTILES - 1)
    i = np.minimum(x.astype(np.int64), _N_QUANTILES - 2)
    frac = x - i
    return quantile[i] * (1.0 - frac) + quantile[i + 1] * frac


def _draw_layers(rng: np.random.Generator, a: np.ndarray) -> np.ndarray:
    """Integer cluster sizes (n, 7) around latent per-layer means ``a`` (n,)."""
    shape = (a.shape[0], its.N_LAYERS)
    x = rng.standard_normal(shape, dtype=np.float32)  # in place below: 7 values per track
    x *= np.float32(ITS_LAYER_SPREAD)
    x += np.float32(1.0)
    x *= a[:, None].astype(np.float32)
    # + U(0,1), then truncate below: a stochastic rounding that keeps the mean
    x += rng.random(shape, dtype=np.float32)
    np.clip(x, 1.0, its.MAX_CLUSTER_SIZE + 0.5, out=x)
    sizes = x.astype(np.uint8)
    flat = sizes.reshape(-1)
    # one uniform per layer decides the tail (low u) and the missing layers (high u)
    u = rng.random(flat.size, dtype=np.float32)
    tail = np.flatnonzero(u < ITS_TAIL_PROBABILITY)
    extra = np.ceil(rng.exponential(ITS_TAIL_MEAN, tail.size))
    flat[tail] = np.minimum(flat[tail] + extra, its.MAX_CLUSTER_SIZE)
    missing = (u > 1.0 - ITS_MISSING_PROBABILITY).reshape(shape)
    missing[np.count_nonzero(missing, axis=1) > its.N_LAYERS - ITS_MIN_HITS] = False
    sizes[missing] = 0
    return sizes


@cache
def its_layer_calibration() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tabulated response of the layer model: latent mean a -> (a, E[truncated mean], Var).

    Seeded, so deterministic; cached, so computed once per process (~0.1 s).
    """
    rng = np.random.default_rng(ITS_CALIBRATION_SEED)
    grid = ITS_CALIBRATION_GRID
    a = np.repeat(grid, ITS_CALIBRATION_TRACKS)
    tm = its.truncated_mean(_draw_layers(rng, a)).reshape(grid.size, ITS_CALIBRATION_TRACKS)
    mean = np.maximum.accumulate(tm.mean(axis=1))  # monotonic, so that it can be inverted
    var = tm.var(axis=1)
    return grid, mean, var


def _its_cluster_sizes(
    rng: np.random.Generator,
    p: np.ndarray,
    eta: np.ndarray,
    masses: np.ndarray,
    params: its.ITSResponseParams,
) -> np.ndarray:
    """Packed cluster sizes whose truncated mean x cos(lambda) follows the response ``params``.

    ``masses`` holds each track's true mass. Returns uint32 ``fITSClusterSizes``.
    """
    grid, g_mean, g_var = its_layer_calibration()
    inv_cosl = np.cosh(eta)
    target = its.its_expected_signal(p, masses, params) * inv_cosl  # in cluster-size units
    sigma = its.its_expected_resolution(p, masses, params) * target
    intrinsic = np.interp(target, g_mean, g_var)  # variance of the layer model at this mean
    latent_rel = np.sqrt(np.maximum(sigma * sigma - intrinsic, 0.0)) / target
    wanted = target * (1.0 + latent_rel * rng.standard_normal(p.size, dtype=np.float32))
    a = np.interp(wanted, g_mean, grid)
    return its.pack_cluster_sizes(_draw_layers(rng, a))


def _pdg_codes(species_idx: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """Signed PDG codes: particles positive, antiparticles negative (e- is +11, e+ is -11)."""
    codes = np.array([PDG[s] for s in SPECIES], dtype=np.int32)[species_idx]
    lepton = species_idx == SPECIES.index("e")
    return np.where(lepton, -sign, sign).astype(np.int32) * codes


# ============================================================================== generator
def generate_pid(
    n: int,
    seed: int,
    domain: str = "mc",
    *,
    with_truth: bool = False,
    fractions: tuple[float, float, float, float] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Generate ``n`` charged tracks with TPC, TOF and ITS2 PID information.

    Parameters
    ----------
    n
        Number of tracks.
    seed
        Seed; the same (n, seed, domain) gives a bit-identical frame. ``mc`` and ``data`` use
        different random streams for the same seed.
    domain
        ``"mc"`` (simulation response, with ``fPdgCode``) or ``"data"``.
    with_truth
        For ``data``: add the hidden truth column ``fTruthPdgCode``. Ignored for ``mc``.
    fractions
        Species abundances e, π, K, p (default :data:`SPECIES_FRACTIONS`): other values make a
        sample with *label shift* (other abundances, the same detector response).
    progress
        Show a progress bar over the generation stages.

    Returns
    -------
    pandas.DataFrame
        The columns and types of :data:`o2ml.physics.pid_tracks.TRACK_DTYPES`, then
        ``fPdgCode`` (``mc``) or, on request, ``fTruthPdgCode`` (``data``). Tracks without TOF
        have -999 in ``fBeta``, ``fTOFSignal`` and ``fTOFNSigma*``.
    """
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, not {domain!r}")
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, not {n}")
    is_data = domain == "data"
    streams = [
        np.random.Generator(np.random.PCG64(s))
        for s in np.random.SeedSequence([int(seed), DOMAINS.index(domain)]).spawn(len(_STREAMS))
    ]
    bar = tqdm(total=len(_STAGES), desc=f"generate_pid({domain})", disable=not progress)
    species_masses = [mass(s) for s in SPECIES]

    # ---- kinematics
    rng = streams[0]
    fr = np.asarray(SPECIES_FRACTIONS if fractions is None else fractions, float)
    if fr.shape != (len(SPECIES),) or (fr < 0).any() or not fr.sum() > 0:
        raise ValueError(
            f"fractions: expected {len(SPECIES)} non-negative abundances, not {fractions}"
        )
    species = rng.choice(len(SPECIES), size=n, p=fr / fr.sum()).astype(np.int8)
    pt = np.empty(n)
    for k in range(len(SPECIES)):  # loop over 4 species, not over tracks
        sel = species == k
        pt[sel] = _levy_pt(rng, int(sel.sum()), species_masses[k], LEVY_T[k], LEVY_N[k])
    eta = rng.uniform(-ETA_MAX, ETA_MAX, n)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    sign = np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8)
    tgl = np.sinh(eta)
    p = pt * np.cosh(eta)
    bar.update()

    # Expected signals of the 4 mass hypotheses, in float32 (the columns are float32): the true
    # species' row is the response, all 4 rows give the nsigma columns.
    p32 = p.astype(np.float32)
    rows = np.arange(n)

    # ---- TPC
    rng = streams[1]
    low = rng.random(n) < TPC_LOW_QUALITY_FRACTION
    ncls_good = TPC_NCLS_MAX - np.floor(rng.exponential(TPC_NCLS_LOSS_MEAN, n))
    ncls_low = rng.integers(TPC_NCLS_LOW[0], TPC_NCLS_LOW[1] + 1, n)
    ncls = np.where(low, ncls_low, np.maximum(ncls_good, TPC_NCLS_GOOD_MIN)).astype(np.float32)
    tpc_exp = np.stack([det.tpc_expected_signal(p32, mk) for mk in species_masses])
    resolution = TPC_RESOLUTION_DATA if is_data else TPC_RESOLUTION_MC
    offset = TPC_SIGNAL_OFFSET_DATA if is_data else 0.0
    rel_nominal = det.tpc_relative_resolution(
        ncls, resolution=TPC_RESOLUTION_MC, ncls_reference=TPC_NCLS_REFERENCE
    )
    rel = rel_nominal * np.float32(resolution / TPC_RESOLUTION_MC)
    smear = 1.0 + rel * rng.standard_normal(n, dtype=np.float32)
    tpc_signal = np.maximum(tpc_exp[species, rows] * np.float32(1.0 + offset) * smear, 1.0)
    # nsigma with the nominal (MC) response, as det.tpc_nsigma(..., resolution=TPC_RESOLUTION_MC)
    tpc_nsigma = {
        s: (tpc_signal - e) / (e * rel_nominal) for s, e in zip(_NS, tpc_exp, strict=True)
    }
    bar.update()

    # ---- TOF
    rng = streams[2]
    length = det.tof_track_length(pt, eta)
    efficiency = TOF_EFFICIENCY_MAX / (1.0 + np.exp(-(pt - TOF_TURN_ON_PT) / TOF_TURN_ON_WIDTH))
    has_tof = (rng.random(n) < efficiency) & np.isfinite(length)
    length = np.where(has_tof, length, 1.0)
    sigma_t = TOF_RESOLUTION_DATA_PS if is_data else TOF_RESOLUTION_MC_PS
    # 1/beta of each hypothesis from the stored (float32) momentum; times themselves in float64
    inv_beta = np.stack([1.0 / det.expected_beta(p32, mk) for mk in species_masses])
    t_per_beta = length / det.SPEED_OF_LIGHT_CM_PS
    time = t_per_beta * inv_beta[species, rows] + sigma_t * rng.standard_normal(n)
    mismatch_rng = streams[6]  # its own stream: the other tracks keep their times
    mismatch = mismatch_rng.random(n) < TOF_MISMATCH
    time = np.where(mismatch, t_per_beta * mismatch_rng.uniform(1.0, 1.6, n), time)
    beta = np.where(has_tof, det.tof_beta(length, time), MISSING)
    tof_signal = np.where(has_tof, time, MISSING)
    # nsigma with the nominal (MC) time resolution, as det.tof_nsigma
    tof_nsigma = {
        s: np.where(has_tof, (time - t_per_beta * ib) / TOF_RESOLUTION_MC_PS, MISSING)
        for s, ib in zip(_NS, inv_beta, strict=True)
    }
    bar.update()

    # ---- ITS2
    rng = streams[3]
    params = its.its_params(domain)
    masses32 = np.asarray(species_masses, dtype=np.float32)[species]
    cluster_sizes = _its_cluster_sizes(rng, p32, eta.astype(np.float32), masses32, params)
    bar.update()

    # ---- V0 daughters (own random stream: the other columns do not change)
    v0_tag = _v0_tags(streams[5], species, sign)

    # ---- table
    pdg = _pdg_codes(species, sign)
    values = {
        "fP": p,
        "fPt": pt,
        "fEta": eta,
        "fPhi": phi,
        "fTgl": tgl,
        "fSign": sign,
        "fITSClusterSizes": cluster_sizes,
        "fTPCSignal": tpc_signal,
        "fTpcNClsFound": ncls,
        "fBeta": beta,
        "fTOFSignal": tof_signal,
        **{f"fTPCNSigma{s}": v for s, v in tpc_nsigma.items()},
        **{f"fTOFNSigma{s}": v for s, v in tof_nsigma.items()},
        "fV0Tag": v0_tag,
        "fPdgCode": pdg,
        "fTruthPdgCode": pdg,
    }
    dtypes = dict(TRACK_DTYPES)
    if domain == "mc":
        dtypes["fPdgCode"] = TRUTH_DTYPES["fPdgCode"]
    elif with_truth:
        dtypes["fTruthPdgCode"] = TRUTH_DTYPES["fTruthPdgCode"]
    frame = pd.DataFrame(
        {c: np.asarray(values[c]).astype(t, copy=False) for c, t in dtypes.items()}
    )
    bar.update()
    bar.close()
    return frame


def _v0_tags(rng: np.random.Generator, species: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """fV0Tag of each track: true V0 daughters (V0_FRACTIONS) plus, per V0 type, random tracks
    of any species (the combinatorial background under the V0 mass peak, V0_CONTAMINATION)."""
    n = len(species)
    tag = np.zeros(n, np.int8)
    k = {s: SPECIES.index(s) for s in SPECIES}
    u = rng.random(n)
    for v0, shares in V0_FRACTIONS.items():
        for s, share in shares.items():
            sel = (species == k[s]) & (tag == 0) & (u < share)
            if v0 == "Lambda":  # Lambda -> p+ pi-, anti-Lambda -> p- pi+
                positive_lambda = (sign > 0) == (s == "p")
                tag[sel] = np.where(
                    positive_lambda[sel], V0_CODES["Lambda"], V0_CODES["antiLambda"]
                )
            else:
                tag[sel] = V0_CODES[v0]
            u = rng.random(n)
    for v0, contamination in V0_CONTAMINATION.items():
        codes = (V0_CODES["Lambda"], V0_CODES["antiLambda"]) if v0 == "Lambda" else (V0_CODES[v0],)
        for code in codes:
            n_true = int((tag == code).sum())
            n_fake = round(n_true * contamination / (1.0 - contamination))
            free = np.flatnonzero(tag == 0)
            tag[rng.choice(free, size=min(n_fake, free.size), replace=False)] = code
    return tag


#: Whole detectors lost on top of what the PIDML tables already lack (documented choices; the
#: pattern of the study, Kabus CHEP 2023: the TPC always there, the TOF and the TRD missing): TOF
#: hits lost (mismatch rejection, dead strips) with a probability that grows with pT, and TRD
#: tracks lost (chambers off, tracklets not attached) at a flat rate. Data lose more than MC, as
#: real data do against their simulation. Shares of the tracks that had the detector.
MISSING_DETECTORS = {
    "mc": {"TOF": 0.02, "TRD": 0.03},
    "data": {"TOF": 0.06, "TRD": 0.08},
}
#: a TOF hit is lost with probability 2 x rate x min(pT / TOF_LOSS_PT, 1): rising with pT up to
#: this value (GeV/c), flat above (documented choice: the gap is not at random)
TOF_LOSS_PT = 2.0
#: the PIDML columns with_missing_detectors reads and writes
_PIDML_PID = ("fPt", "fBeta", "fTOFSignal", "fTRDSignal", "fTRDPattern")


def with_missing_detectors(frame: pd.DataFrame, seed: int, domain: str = "mc") -> pd.DataFrame:
    """A copy of PIDML rows (``PidTracksMcMl`` / ``PidTracksDataMl``) in which more TOF and TRD
    measurements are missing (:data:`MISSING_DETECTORS`), written as pidMlProducer writes a
    missing detector: a lost TOF hit has ``fBeta`` and ``fTOFSignal`` NaN, a lost TRD track
    ``fTRDSignal`` NaN and ``fTRDPattern`` 0. The TOF loss probability rises linearly with pT up
    to :data:`TOF_LOSS_PT` (momentum dependent), the TRD loss is flat. The TPC, which every
    PIDML row (a global track) has, is kept. Columns and dtypes do not change. Its own random
    stream: the same ``seed`` and ``domain`` give the same pattern."""
    from ..schema import require_columns

    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, not {domain!r}")
    require_columns(frame, _PIDML_PID, "with_missing_detectors (a PIDML table)")
    rates = MISSING_DETECTORS[domain]
    rng = np.random.default_rng([int(seed), DOMAINS.index(domain), 7])
    n = len(frame)
    out = frame.copy()
    u = rng.random((n, 2))
    pt = np.abs(frame["fPt"].to_numpy(float))
    # a measurement is there unless NaN (pidMlProducer) or -999 (pidUtils.h, older files)
    has_tof = (frame["fBeta"].to_numpy(float) > MISSING / 2) & (
        frame["fTOFSignal"].to_numpy(float) > MISSING / 2
    )
    has_trd = (frame["fTRDPattern"].to_numpy() > 0) & (
        frame["fTRDSignal"].to_numpy(float) > MISSING / 2
    )
    lose_tof = has_tof & (u[:, 0] < rates["TOF"] * 2.0 * np.minimum(pt / TOF_LOSS_PT, 1.0))
    lose_trd = has_trd & (u[:, 1] < rates["TRD"])
    out.loc[lose_tof, ["fBeta", "fTOFSignal"]] = np.nan
    out.loc[lose_trd, "fTRDSignal"] = np.nan
    out.loc[lose_trd, "fTRDPattern"] = 0
    return out


#: class label 0..3 (e, pi, K, p as in :data:`SPECIES`) of signed PDG codes; -1 for others
species_index = pid_label


__all__ = [
    "DOMAINS",
    "MISSING_DETECTORS",
    "SPECIES",
    "generate_pid",
    "its_layer_calibration",
    "species_index",
    "with_missing_detectors",
]
