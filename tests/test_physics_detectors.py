"""TPC, TOF and ITS2 responses against the numbers of docs/physics.md and O2Physics conventions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from o2ml.physics import detectors as det
from o2ml.physics import its
from o2ml.physics.constants import mass

# ---------------------------------------------------------------------------------- TPC


@pytest.mark.parametrize(
    ("species", "expected"), [("e", 88.0), ("pi", 47.7), ("K", 79.6), ("p", 200.0)]
)
def test_aleph_dedx_at_half_gev(species, expected):
    # docs/physics.md: values (MIP 50) at p = 0.5 GeV/c
    value = float(det.tpc_expected_signal(0.5, species))
    assert value == pytest.approx(expected, rel=0.02)


def test_aleph_pion_kaon_crossing_near_1_gev():
    def diff(p):
        return float(det.tpc_expected_signal(p, "pi") - det.tpc_expected_signal(p, "K"))

    assert diff(0.6) < 0 < diff(2.0)  # kaons above pions at low p, below on the relativistic rise
    crossing = brentq(diff, 0.6, 2.0)
    assert crossing == pytest.approx(1.0, abs=0.1)


def test_aleph_mip_and_charge_scaling():
    # minimum of MIP * f near beta*gamma ~ 3.5-4 is ~ MIP
    bg = np.geomspace(0.5, 100, 2000)
    f = det.TPC_MIP * det.bethe_bloch_aleph(bg)
    assert 2.5 < bg[np.argmin(f)] < 5.0
    assert f.min() == pytest.approx(det.TPC_MIP, rel=0.05)
    # z^2.3 scaling at the same beta*gamma
    one = det.tpc_expected_signal(1.0, 1.0, charge=1)
    two = det.tpc_expected_signal(0.5, 1.0, charge=2)
    assert two / one == pytest.approx(2**2.3, rel=1e-9)


def test_aleph_keeps_float32():
    p = np.array([0.3, 0.5, 1.0], dtype=np.float32)
    out = det.tpc_expected_signal(p, mass("pi"))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, det.tpc_expected_signal(p.astype(float), "pi"), rtol=1e-5)


def test_tpc_nsigma_and_resolution():
    exp = det.tpc_expected_signal(0.5, "K")
    assert float(det.tpc_nsigma(exp, 0.5, "K")) == pytest.approx(0.0, abs=1e-12)
    assert float(det.tpc_nsigma(exp * 1.07, 0.5, "K")) == pytest.approx(1.0)  # 7 % default
    # resolution ~ 1/sqrt(Ncl), nominal at the reference cluster count
    ref = det.TPC_NCLS_REFERENCE
    assert det.tpc_relative_resolution(ref) == pytest.approx(det.TPC_RELATIVE_RESOLUTION)
    assert det.tpc_relative_resolution(ref / 4) == pytest.approx(2 * det.TPC_RELATIVE_RESOLUTION)
    sigma = det.tpc_expected_sigma(0.5, "K", ref / 4)
    assert float(det.tpc_nsigma(exp + sigma, 0.5, "K", ref / 4)) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------- TOF


def test_tof_time_and_beta():
    beta_pi = float(det.expected_beta(1.0, "pi"))
    assert beta_pi == pytest.approx(1.0 / np.hypot(1.0, mass("pi")))
    t = float(det.tof_expected_time(1.0, "pi", 370.0))
    assert t == pytest.approx(370.0 / 29.9792458 / beta_pi * 1000.0)  # ps
    assert 12_000 < t < 12_600
    assert float(det.tof_beta(370.0, t)) == pytest.approx(beta_pi)
    assert float(det.tof_nsigma(t + 75.0, 1.0, "pi", 370.0)) == pytest.approx(1.0)
    # 75 ps over ~3.7 m at beta ~ 1: sigma_beta/beta ~ 0.6 % (docs/physics.md: 0.5-0.65 %)
    assert 0.005 < det.TOF_TIME_RESOLUTION_PS / t < 0.0065


def test_tof_track_length():
    high = det.tof_track_length(np.array([50.0, 50.0]), np.array([0.0, 0.8]))
    np.testing.assert_allclose(high, det.TOF_RADIUS_CM * np.cosh([0.0, 0.8]), rtol=1e-3)
    low = det.tof_track_length(np.array([0.2, 0.3, 0.5]), np.zeros(3))
    assert np.isnan(low[0])  # curls up before 3.7 m at 0.5 T
    assert low[1] > low[2] > det.TOF_RADIUS_CM


# ---------------------------------------------------------------------------------- ITS2

# docs/physics.md: <CS> cos(lambda) (data), e/pi/K/p at p = 0.3, 0.5, 1.0 GeV/c
ITS_TABLE = {
    0.3: (1.70, 2.07, 4.26, 8.57),
    0.5: (1.70, 1.87, 2.87, 4.83),
    1.0: (1.70, 1.76, 2.10, 2.78),
}
# docs/physics.md: separation pi-K and K-p at those momenta
ITS_SEPARATION = {0.3: (4.8, 7.0), 0.5: (2.5, 3.9), 1.0: (0.9, 1.6)}


@pytest.mark.parametrize("p", sorted(ITS_TABLE))
def test_its_response_reproduces_physics_table(p):
    for species, expected in zip(("e", "pi", "K", "p"), ITS_TABLE[p], strict=True):
        value = float(its.its_expected_signal(p, species, its.ITS_PARAMS_DATA))
        assert value == pytest.approx(expected, rel=0.02), species


@pytest.mark.parametrize("p", sorted(ITS_SEPARATION))
def test_its_separation_reproduces_physics_table(p):
    pi_k, k_p = ITS_SEPARATION[p]
    assert its.its_separation(p, "pi", "K") == pytest.approx(pi_k, rel=0.05)
    assert its.its_separation(p, "K", "p") == pytest.approx(k_p, rel=0.05)


def test_its_mc_parameters_differ_from_data():
    # MIP plateau p2: 2.52 in MC vs 1.70 in data (the built-in data/MC gap of docs/physics.md)
    assert float(its.its_expected_signal(1e4, "pi", its.ITS_PARAMS_MC)) == pytest.approx(
        2.52, rel=0.01
    )
    assert its.its_params("data") is its.ITS_PARAMS_DATA
    assert its.its_params("mc") is its.ITS_PARAMS_MC
    with pytest.raises(ValueError):
        its.its_params("sim")
    # resolution: r0 erf((bg - r1)/r2) -> r0 at high beta*gamma
    assert float(its.its_expected_resolution(1e3, "pi")) == pytest.approx(0.194669)


def test_pack_unpack_round_trip():
    rng = np.random.default_rng(5)
    sizes = rng.integers(0, 16, size=(1000, 7))
    packed = its.pack_cluster_sizes(sizes)
    assert packed.dtype == np.uint32
    np.testing.assert_array_equal(its.unpack_cluster_sizes(packed), sizes)
    # layer 0 in the lowest 4 bits, as in O2Physics
    assert int(its.pack_cluster_sizes([1, 0, 0, 0, 0, 0, 0])) == 1
    assert int(its.pack_cluster_sizes([0, 2, 0, 0, 0, 0, 0])) == 2 << 4
    assert int(its.pack_cluster_sizes([0, 0, 0, 0, 0, 0, 15])) == 15 << 24
    assert int(its.pack_cluster_sizes([1, 2, 3, 4, 5, 6, 7])) == 0x7654321
    assert its.pack_cluster_sizes(np.ones((2, 3, 7), dtype=int)).shape == (2, 3)
    assert its.unpack_cluster_sizes(np.zeros((2, 3), dtype=np.uint32)).shape == (2, 3, 7)
    with pytest.raises(ValueError):
        its.pack_cluster_sizes([16, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError):
        its.pack_cluster_sizes([1, 2, 3])


def test_truncated_mean_drops_largest_and_ignores_empty_layers():
    sizes = np.array(
        [
            [3, 0, 5, 2, 0, 9, 1],  # hits 3 5 2 9 1 -> drop 9 -> 11/4
            [2, 2, 2, 2, 2, 2, 2],
            [0, 0, 0, 4, 0, 0, 0],  # one hit: nothing to truncate, its size
            [0, 0, 0, 0, 0, 0, 0],  # no hit: 0
            [7, 7, 1, 1, 0, 0, 0],  # only one of the two largest is dropped -> 9/3
        ]
    )
    expected = [11 / 4, 2.0, 4.0, 0.0, 3.0]
    np.testing.assert_allclose(its.truncated_mean(sizes), expected)
    np.testing.assert_allclose(its.truncated_mean(its.pack_cluster_sizes(sizes)), expected)
    np.testing.assert_array_equal(its.n_hits(sizes), [5, 7, 1, 0, 4])
    eta = np.full(5, 0.5)
    np.testing.assert_allclose(
        its.mean_cluster_size_cos_lambda(sizes, eta), np.array(expected) / np.cosh(0.5)
    )


def test_its_nsigma():
    # a track whose <CS> cos(lambda) is one sigma above the pion expectation
    p, eta = 0.5, 0.0
    exp = float(its.its_expected_signal(p, "pi"))
    sigma = float(its.its_expected_sigma(p, "pi"))
    sizes = np.array([[3, 3, 3, 3, 3, 3, 9]])
    value = its.truncated_mean(sizes)[0]
    ns = float(its.its_nsigma(sizes, p, eta, "pi")[0])
    assert ns == pytest.approx((value - exp) / sigma)
    assert ns == pytest.approx((3.0 - 1.867) / (1.867 * 0.1947 * 0.9999), rel=0.01)


def test_one_map_from_pdg_code_to_pid_class():
    """e, π, K, p of either charge get 0..3 (the order of PID_SPECIES); anything else -1; the
    generator, the tagging and the models all use this one map."""
    from o2ml.models.pid.tagging import species_from_pdg
    from o2ml.physics.constants import PID_SPECIES, pid_label
    from o2ml.toymc.pid import species_index

    codes = [11, -11, 211, -211, 321, -321, 2212, -2212, 13, 22, 0, 3122]
    assert pid_label(codes).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, -1, -1, -1, -1]
    assert PID_SPECIES == ("e", "pi", "K", "p")
    assert species_index is pid_label and species_from_pdg is pid_label
