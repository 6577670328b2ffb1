"""Purity at equal efficiency and the statistics of many bins (o2ml.physics.pid_performance):
interpolation and errors by hand, the look-elsewhere correction and the count of wins calibrated
on bins with no real difference, and the combination of several training seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, norm

from o2ml.errors import BadArgumentError, ColumnNotFoundError
from o2ml.physics import pid_performance as perf


def _curve(method: str, eff, pur, n_sel, species: str = "K", p: float = 0.4) -> pd.DataFrame:
    eff, pur, n_sel = (np.asarray(v, dtype=float) for v in (eff, pur, n_sel))
    return pd.DataFrame({
        "method": method, "species": species, "p": p, "cut": np.arange(eff.size, dtype=float),
        "efficiency": eff, "purity": pur, "purity_err": 0.0, "n_selected": n_sel,
    })  # fmt: skip


def _laplace_err(purity: float, n: float) -> float:
    q = (purity * n + 1.0) / (n + 2.0)
    return float(np.sqrt(q * (1.0 - q) / (n + 2.0)))


def test_purity_at_efficiency_by_hand():
    curves = pd.concat([
        _curve("A", [0.5, 0.75, 0.95, 1.0], [0.99, 0.95, 0.85, 0.5], [100, 200, 400, 1000]),
        _curve("B", [0.6, 0.75], [0.9, 0.8], [300, 500]),  # never reaches 90 %
    ])  # fmt: skip
    t = perf.purity_at_efficiency(curves, (0.8, 0.9)).set_index(["method", "efficiency"])
    # 80 %: a quarter of the way from (0.75, 0.95) to (0.95, 0.85), the error at the nearer
    assert t.loc[("A", 0.8), "purity"] == pytest.approx(0.925)
    assert t.loc[("A", 0.8), "purity_err"] == pytest.approx(_laplace_err(0.925, 200))
    assert t.loc[("A", 0.9), "purity"] == pytest.approx(0.875)
    assert t.loc[("A", 0.9), "purity_err"] == pytest.approx(_laplace_err(0.875, 400))
    assert np.isnan(t.loc[("B", 0.8), "purity"]) and np.isnan(t.loc[("B", 0.9), "purity_err"])
    # a purity of exactly 1 keeps an error of about 1/n, not 0
    one = perf.purity_at_efficiency(_curve("A", [0.5, 1.0], [1.0, 1.0], [100, 100]), (0.8,))
    assert 0.005 < one["purity_err"].iloc[0] < 0.02


def test_compare_at_efficiency_p_values():
    curves = pd.concat([
        _curve("A", [0.7, 0.9], [0.95, 0.95], [10_000, 10_000]),
        _curve("B", [0.7, 0.9], [0.90, 0.90], [10_000, 10_000]),
    ])  # fmt: skip
    row = perf.compare_at_efficiency(curves, "A", "B", 0.8).iloc[0]
    err = np.hypot(_laplace_err(0.95, 10_000), _laplace_err(0.90, 10_000))
    assert row["efficiency"] == 0.8
    assert row["difference"] == pytest.approx(0.05)
    assert row["difference_err"] == pytest.approx(err)
    assert row["z"] == pytest.approx(0.05 / err)
    assert row["p_value"] == pytest.approx(2 * norm.sf(0.05 / err))
    assert row["winner"] == "A"


def _null_table(z: np.ndarray, efficiency: float = 0.8) -> pd.DataFrame:
    """A comparison table of len(z) bins whose differences are z errors of 0.01."""
    return pd.DataFrame({
        "species": "K", "p": np.arange(z.size) * 0.05, "efficiency": efficiency,
        "difference": 0.01 * z, "difference_err": 0.01, "z": z, "p_value": 2 * norm.sf(np.abs(z)),
        "winner": np.where(z > 2, "A", np.where(z < -2, "B", "tie")),
    })  # fmt: skip


def test_look_elsewhere_by_hand():
    z = np.array([0.0, 2.2, -4.0, np.nan])
    t = _null_table(z)
    bon = perf.look_elsewhere(t, "A", "B")
    p = 2 * norm.sf(np.abs(z[:3]))
    assert bon.attrs["n_trials"] == {0.8: 3}
    np.testing.assert_allclose(bon["p_value_global"].to_numpy()[:3], np.minimum(1, 3 * p))
    assert list(bon["winner_global"]) == ["tie", "tie", "B", "n/a"]  # 2.2σ locally is not enough
    sid = perf.look_elsewhere(t, "A", "B", method="sidak")
    np.testing.assert_allclose(sid["p_value_global"].to_numpy()[:3], 1 - (1 - p) ** 3)
    assert (sid["p_value_global"].to_numpy()[:3] <= bon["p_value_global"].to_numpy()[:3]).all()
    assert bon["z_global"].iloc[2] == pytest.approx(norm.isf(bon["p_value_global"].iloc[2] / 2))
    # two efficiencies: two families, each corrected for its own bins
    two = perf.look_elsewhere(pd.concat([t, _null_table(z, 0.9)]), "A", "B")
    assert two.attrs["n_trials"] == {0.8: 3, 0.9: 3}
    with pytest.raises(BadArgumentError, match="method"):
        perf.look_elsewhere(t, "A", "B", method="holm")


def test_look_elsewhere_and_win_count_are_calibrated_on_null_bins():
    """51 bins with no real difference, 1000 times: uncorrected 2σ verdicts name a winner in
    most families, Bonferroni in about 4.5 % (its bound, within 3 standard deviations of 1000
    trials); the binomial count test rejects at most at its nominal rate."""
    rng = np.random.default_rng(1)
    any_local = any_global = count_rejects = 0
    for _ in range(1000):
        t = perf.look_elsewhere(_null_table(rng.normal(size=51)), "A", "B")
        any_local += (t["winner"] != "tie").any()
        any_global += (t["winner_global"] != "tie").any()
        count_rejects += perf.wins_significance(t, "A").p_value < 0.0455
    assert any_local / 1000 > 0.8  # 1 - (1 - 0.0455)^51 = 0.91
    assert any_global / 1000 < 0.0455 + 3 * 0.0066
    assert count_rejects / 1000 < 0.0455 + 3 * 0.0066


def test_wins_significance_by_hand():
    z = np.array([3.0, 2.5, 2.1, 0.0, -1.0, -2.5, 10.0, *np.zeros(44)])
    t = perf.look_elsewhere(_null_table(z), "A", "B")
    w = perf.wins_significance(t, "A")
    p0 = norm.sf(2.0)
    assert (w.k, w.n, w.k_global) == (4, 51, 1)  # only z = 10 survives ×51
    assert w.expected == pytest.approx(51 * p0)
    assert w.p_value == pytest.approx(binom.sf(3, 51, p0))
    assert w.significance == pytest.approx(norm.isf(w.p_value))
    assert "A wins 4 of 51 bins" in w.text
    none = perf.wins_significance(_null_table(np.zeros(5)), "A")
    assert none.p_value == 1.0 and none.significance == 0.0
    with pytest.raises(ColumnNotFoundError, match=r"missing \['winner'\].*'winner_global'"):
        perf.wins_significance(t.drop(columns="winner"), "A")


def _seed_table(seed: int, diffs, errs) -> pd.DataFrame:
    diffs, errs = np.asarray(diffs, float), np.asarray(errs, float)
    return pd.DataFrame({
        "seed": seed, "species": "K", "p": [0.3, 0.4, 0.5], "efficiency": 0.8,
        "A": 0.5 + diffs, "A err": errs / np.sqrt(2), "B": 0.5, "B err": errs / np.sqrt(2),
        "difference": diffs, "difference_err": errs,
    })  # fmt: skip


def test_combine_seeds():
    # bin 0.3: a large, stable gain; 0.4: 2.5 errors on average but it flips sign with the
    # seed; 0.5: no gain
    per_seed = pd.concat([
        _seed_table(1, [0.10, 0.060, 0.0], [0.01, 0.01, 0.01]),
        _seed_table(2, [0.11, -0.010, 0.0], [0.01, 0.01, 0.01]),
        _seed_table(3, [0.12, 0.025, 0.0], [0.01, 0.01, 0.01]),
    ])  # fmt: skip
    c = perf.combine_seeds(per_seed, "A", "B").set_index("p")
    assert c.loc[0.3, "difference"] == pytest.approx(0.11)
    assert c.loc[0.3, "seed_spread"] == pytest.approx(0.01)
    assert c.loc[0.3, "stat_err"] == pytest.approx(0.01)  # averaging seeds does not reduce it
    assert c.loc[0.3, "difference_err"] == pytest.approx(np.hypot(0.01, 0.01))
    assert c.loc[0.3, "A std"] == pytest.approx(0.01) and c.loc[0.3, "n_seeds"] == 3
    assert c.loc[0.3, "winner"] == "A" and c.loc[0.3, "winner_global"] == "A"
    assert c.loc[0.4, "winner"] == "tie"  # does not hold over the seeds
    assert c.loc[0.5, "winner"] == "tie" and c.loc[0.5, "z"] == 0.0
    # one seed has no spread: a tie, whatever the gain (as models.repeat.compare)
    one = perf.combine_seeds(per_seed[per_seed["seed"] == 1], "A", "B")
    assert (one["winner"] == "tie").all() and (one["n_seeds"] == 1).all()
    with pytest.raises(ColumnNotFoundError, match=r"combine_seeds: .*missing \['seed'\]"):
        perf.combine_seeds(per_seed.drop(columns="seed"), "A", "B")


def test_losses_lists_the_bins_lost():
    t = pd.DataFrame({
        "species": ["pi", "pi", "K", "p"], "p": [0.15, 0.2, 0.4, 0.95],
        "winner": ["B", "B", "A", "B"],
    })  # fmt: skip
    assert perf.losses(t, "A") == "pi 0.15, 0.20; p 0.95"
    assert perf.losses(t.iloc[2:3], "A") == "none"
