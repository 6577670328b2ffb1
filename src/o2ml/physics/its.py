"""ITS2 cluster-size PID, as O2Physics computes it (``Common/DataModel/PIDResponseITS.h``).

* ``fITSClusterSizes`` packs the cluster size of each of the 7 ITS2 layers in 4 bits, layer 0 in the
  lowest bits; 0 means no hit in that layer, 15 is the largest size that fits.
* The PID estimator is the truncated mean of the layer sizes (hit layers only, the largest dropped)
  times cos(lambda) = 1/cosh(eta), which corrects for the longer path through the sensor.
* Response: <CS> cos(lambda) = p0 / (beta*gamma)^p1 + p2, relative resolution
  r0 * erf((beta*gamma - r1) / r2); nsigma = (<CS> cos(lambda) - expected) / (expected * rel. resol.).
  Data and MC have different parameters (docs/physics.md "ITS2 cluster-size PID").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .detectors import as_float_array, as_mass

# ITS2 has 7 layers: 3 inner barrel, 4 outer barrel
N_LAYERS = 7
# bits per layer in fITSClusterSizes (O2 AnalysisDataModel, TracksExtra)
BITS_PER_LAYER = 4
# largest cluster size that fits in 4 bits
MAX_CLUSTER_SIZE = (1 << BITS_PER_LAYER) - 1


@dataclass(frozen=True)
class ITSResponseParams:
    """Parameters of the O2Physics ITS response: expected value p0..p2, relative resolution r0..r2."""

    p0: float
    p1: float
    p2: float
    r0: float
    r1: float
    r2: float


# O2Physics ITSResponse defaults for data (docs/physics.md; PIDResponseITS.h mITSRespParams/mResolutionParams)
ITS_PARAMS_DATA = ITSResponseParams(1.18941, 1.53792, 1.69961, 0.194669, -0.208616, 1.30753)
# O2Physics ITSResponse::setMCDefaultParameters (docs/physics.md)
ITS_PARAMS_MC = ITSResponseParams(1.63806, 1.58847, 2.52275, 0.140487, -0.431078, 1.50052)


def its_params(domain: str) -> ITSResponseParams:
    """The response parameters of ``"data"`` or ``"mc"``."""
    if domain == "data":
        return ITS_PARAMS_DATA
    if domain == "mc":
        return ITS_PARAMS_MC
    raise ValueError(f"domain must be 'data' or 'mc', not {domain!r}")


# ------------------------------------------------------------------------------ bit packing
def pack_cluster_sizes(sizes: ArrayLike) -> np.ndarray:
    """Pack per-layer sizes, shape (..., 7), integers 0..15, into uint32 (layer 0 in the lowest bits)."""
    sizes = np.asarray(sizes)
    if sizes.shape[-1:] != (N_LAYERS,):
        raise ValueError(f"expected {N_LAYERS} layers on the last axis, got shape {sizes.shape}")
    if sizes.size and (sizes.min() < 0 or sizes.max() > MAX_CLUSTER_SIZE):
        raise ValueError(f"cluster sizes must be in 0..{MAX_CLUSTER_SIZE}")
    # two layers per byte (even layer in the low nibble), 4 bytes read as a little-endian uint32
    nibbles = np.zeros((*sizes.shape[:-1], 8), dtype=np.uint8)
    nibbles[..., :N_LAYERS] = sizes
    packed_bytes = np.ascontiguousarray(nibbles[..., 0::2] | (nibbles[..., 1::2] << 4))
    return packed_bytes.view("<u4")[..., 0].astype(np.uint32)


def unpack_cluster_sizes(packed: ArrayLike) -> np.ndarray:
    """Per-layer sizes, shape (..., 7), uint8, from packed ``fITSClusterSizes`` values."""
    packed = np.asarray(packed).astype(np.uint32)
    shifts = np.arange(N_LAYERS, dtype=np.uint32) * BITS_PER_LAYER
    return ((packed[..., None] >> shifts) & MAX_CLUSTER_SIZE).astype(np.uint8)


def _as_sizes(sizes_or_packed: ArrayLike) -> np.ndarray:
    a = np.asarray(sizes_or_packed)
    if a.ndim >= 1 and a.shape[-1] == N_LAYERS and a.ndim >= 2:
        return a
    return unpack_cluster_sizes(a)


# ---------------------------------------------------------------------------- estimators
def n_hits(sizes_or_packed: ArrayLike) -> np.ndarray:
    """Number of layers with a cluster."""
    return np.count_nonzero(_as_sizes(sizes_or_packed), axis=-1)


def truncated_mean(sizes_or_packed: ArrayLike) -> np.ndarray:
    """Truncated mean cluster size: mean of the hit layers (size > 0) with the largest dropped.

    Takes per-layer sizes of shape (..., 7) or packed ``fITSClusterSizes``. Like
    ``ITSResponse::averageClusterSize``; where O2Physics divides 0/0 (a single hit) we return that
    size, and 0 for tracks without ITS hits.
    """
    s = _as_sizes(sizes_or_packed).astype(np.int32)
    n = np.count_nonzero(s, axis=-1)
    total = s.sum(axis=-1)
    largest = s.max(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tm = (total - largest) / (n - 1.0)
    tm = np.where(n == 1, total, tm)
    return np.where(n == 0, 0.0, tm)


def cos_lambda(eta: ArrayLike) -> np.ndarray:
    """cos(lambda) = 1/cosh(eta), lambda the dip angle."""
    return 1.0 / np.cosh(as_float_array(eta))


def mean_cluster_size_cos_lambda(sizes_or_packed: ArrayLike, eta: ArrayLike) -> np.ndarray:
    """The ITS PID estimator <CS> cos(lambda): truncated mean times 1/cosh(eta)."""
    return truncated_mean(sizes_or_packed) * cos_lambda(eta)


# ------------------------------------------------------------------------------- response
def its_expected_signal(
    p: ArrayLike, mass: float | str | ArrayLike, params: ITSResponseParams = ITS_PARAMS_DATA
) -> np.ndarray:
    """Expected <CS> cos(lambda) = p0 / (beta*gamma)^p1 + p2 at momentum p (GeV/c)."""
    bg = np.abs(as_float_array(p)) / as_mass(mass)
    return params.p0 / bg**params.p1 + params.p2


def its_expected_resolution(
    p: ArrayLike, mass: float | str | ArrayLike, params: ITSResponseParams = ITS_PARAMS_DATA
) -> np.ndarray:
    """Relative resolution r0 * erf((beta*gamma - r1) / r2)."""
    from scipy.special import erf

    bg = np.abs(as_float_array(p)) / as_mass(mass)
    return params.r0 * erf((bg - params.r1) / params.r2)


def its_expected_sigma(
    p: ArrayLike, mass: float | str | ArrayLike, params: ITSResponseParams = ITS_PARAMS_DATA
) -> np.ndarray:
    """Absolute resolution of <CS> cos(lambda): expected value times relative resolution."""
    return its_expected_signal(p, mass, params) * its_expected_resolution(p, mass, params)


def its_nsigma(
    sizes_or_packed: ArrayLike,
    p: ArrayLike,
    eta: ArrayLike,
    mass: float | str | ArrayLike,
    *,
    params: ITSResponseParams = ITS_PARAMS_DATA,
) -> np.ndarray:
    """ITS nsigma = (<CS> cos(lambda) - expected) / sigma, as ``ITSResponse::nSigmaITS``."""
    exp = its_expected_signal(p, mass, params)
    res = its_expected_resolution(p, mass, params) * exp
    return (mean_cluster_size_cos_lambda(sizes_or_packed, eta) - exp) / res


def its_separation(
    p: float,
    mass_a: float | str,
    mass_b: float | str,
    params: ITSResponseParams = ITS_PARAMS_DATA,
) -> float:
    """Separation |mu_a - mu_b| / ((sigma_a + sigma_b) / 2) of two species at momentum p."""
    mu_a, mu_b = its_expected_signal(p, mass_a, params), its_expected_signal(p, mass_b, params)
    s_a, s_b = its_expected_sigma(p, mass_a, params), its_expected_sigma(p, mass_b, params)
    return float(abs(mu_a - mu_b) / (0.5 * (s_a + s_b)))


__all__ = [
    "BITS_PER_LAYER",
    "ITS_PARAMS_DATA",
    "ITS_PARAMS_MC",
    "MAX_CLUSTER_SIZE",
    "N_LAYERS",
    "ITSResponseParams",
    "cos_lambda",
    "its_expected_resolution",
    "its_expected_sigma",
    "its_expected_signal",
    "its_nsigma",
    "its_params",
    "its_separation",
    "mean_cluster_size_cos_lambda",
    "n_hits",
    "pack_cluster_sizes",
    "truncated_mean",
    "unpack_cluster_sizes",
]
