"""models.repeat: trainings over seeds, mean ± spread, a winner only beyond the combined spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from o2ml.errors import BadArgumentError
from o2ml.models import repeat


def test_over_seeds_calls_each_seed_once_and_summarizes():
    calls = []

    def run(seed):
        calls.append(seed)
        return {"f1": 0.9 + 0.01 * seed, "auc": 0.8}

    table = repeat.over_seeds(run, [1, 2, 3])
    assert calls == [1, 2, 3] and list(table.index) == [1, 2, 3]
    summary = repeat.summarize(table)
    assert summary[("f1", "mean")].iloc[0] == pytest.approx(0.92)
    assert summary[("f1", "std")].iloc[0] == pytest.approx(0.01)
    assert summary[("auc", "std")].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert summary[("f1", "n")].iloc[0] == 3
    with pytest.raises(BadArgumentError, match="repeat"):
        repeat.over_seeds(run, [1, 1])
    with pytest.raises(BadArgumentError, match="seed 2 returned"):
        repeat.over_seeds(lambda s: {"f1": 1.0} if s == 1 else {"auc": 1.0}, [1, 2])


def test_summarize_per_method():
    table = pd.DataFrame({"method": ["a", "a", "b", "b"], "f1": [0.9, 0.92, 0.8, 0.8]})
    s = repeat.summarize(table, by="method")
    assert s.loc["a", ("f1", "mean")] == pytest.approx(0.91)
    assert s.loc["b", ("f1", "std")] == 0.0 and s.loc["b", ("f1", "n")] == 2


def test_a_winner_only_beyond_the_combined_spread():
    rng = np.random.default_rng(1)
    a = 0.95 + 0.001 * rng.standard_normal(5)
    b = 0.90 + 0.001 * rng.standard_normal(5)
    v = repeat.compare(a, b, ("BDT", "cuts"))
    assert v.winner == "BDT" and not v.smoke and "BDT wins" in v.text
    # the same means with a spread larger than their difference: a tie
    wide = repeat.compare(a + 0.05 * rng.standard_normal(5), b, ("BDT", "cuts"))
    assert wide.spread > abs(wide.difference) or wide.winner == "BDT"
    tie = repeat.compare([0.91, 0.93, 0.92], [0.915, 0.925, 0.92], ("x", "y"))
    assert tie.winner is None and "a tie" in tie.text
    # lower is better (a loss, a bias)
    assert (
        repeat.compare([1.0, 1.1, 0.9], [5.0, 5.1, 4.9], ("x", "y"), higher_is_better=False).winner
        == "x"
    )
    # one repetition has no spread: never a winner; two are a smoke test
    assert repeat.compare([0.99], [0.1]).winner is None
    two = repeat.compare([0.99, 0.98], [0.1, 0.11])
    assert two.winner == "a" and two.smoke and "smoke test" in two.text


def test_paired_comparison_uses_the_spread_of_the_differences():
    # both move together with the seed: unpaired spreads hide a constant lead, paired ones do not
    common = np.array([0.80, 0.90, 0.85, 0.95])
    a, b = common + 0.01, common
    assert repeat.compare(a, b).winner is None
    a2 = common + np.array([0.010, 0.011, 0.009, 0.010])
    assert repeat.compare(a2, b, ("a", "b"), paired=True).winner == "a"
    # a paired difference that changes sign with the seed is a tie
    a3 = common + np.array([0.010, -0.012, 0.011, -0.008])
    assert repeat.compare(a3, b, paired=True).winner is None
    with pytest.raises(BadArgumentError, match="paired"):
        repeat.compare([1, 2, 3], [1, 2], paired=True)


def test_compare_all_names_the_best_and_says_whether_it_leads():
    table = pd.DataFrame({
        "method": ["x"] * 3 + ["y"] * 3 + ["z"] * 3,
        "seed": [1, 2, 3] * 3,
        "f1": [0.95, 0.951, 0.949, 0.90, 0.91, 0.905, 0.948, 0.952, 0.95],
    })  # fmt: skip
    out = repeat.compare_all(table, "f1")
    assert set(out["best"]) == {"x"} or set(out["best"]) == {"z"}
    verdicts = dict(zip(out["other"], out["verdict"], strict=True))
    assert verdicts["y"] == "wins" and "tie" in verdicts.values()
    assert out.attrs["leads"] is False


def test_bootstrap_resamples_the_test_set():
    values = np.r_[np.ones(50), np.zeros(50)]
    table = repeat.bootstrap(lambda rows: {"mean": values[rows].mean()}, 100, n_resamples=300)
    assert len(table) == 300 and 0.4 < table["mean"].mean() < 0.6
    assert table["mean"].std() == pytest.approx(0.05, rel=0.2)  # binomial: sqrt(.25/100)
    with pytest.raises(BadArgumentError):
        repeat.bootstrap(lambda rows: {}, 0)
