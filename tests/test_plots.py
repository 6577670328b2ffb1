"""The figures of o2ml.plots: what they draw, not how they look."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd

from o2ml.workflow.figures import distributions


def test_distributions_draw_each_class_normalised_on_shared_edges():
    """One panel per column, one filled step per class, every class on the same edges (so
    classes compare bin by bin) and normalised to unit area, as the macro's density=True."""
    rng = np.random.default_rng(1)
    frames = [
        pd.DataFrame({"a": rng.normal(0, 1, 500), "b": rng.exponential(1, 500)}),
        pd.DataFrame({"a": rng.normal(2, 1, 300), "b": rng.exponential(3, 300)}),
    ]
    fig = distributions(frames, ["a", "b", "a"], ["Bkg", "Prompt"], bins=40)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["a", "b", "a"]
    assert len(fig.axes) == 4 and not fig.axes[3].get_visible()  # a 2 x 2 grid
    for ax, col in zip(panels, ["a", "b", "a"], strict=True):
        steps = list(ax.patches)
        assert len(steps) == 2 and ax.get_yscale() == "log"
        edges = [s.get_data().edges for s in steps]
        np.testing.assert_array_equal(edges[0], edges[1])
        lo = min(df[col].min() for df in frames)
        hi = max(df[col].max() for df in frames)
        assert edges[0][0] == lo and edges[0][-1] == hi and len(edges[0]) == 41
        for s, df in zip(steps, frames, strict=True):
            values, e = s.get_data().values, s.get_data().edges
            assert np.isclose(np.sum(values * np.diff(e)), 1.0)
            counts, _ = np.histogram(df[col], e)
            np.testing.assert_allclose(values, counts / counts.sum() / np.diff(e))
    assert [t.get_text() for t in panels[-1].get_legend().get_texts()] == ["Bkg", "Prompt"]


def _scan(rng, n=30, plateau=(10, 20)):
    from types import SimpleNamespace as NS

    z = rng.random(n) + 1
    return NS(thresholds=np.geomspace(1e-3, 1, n)[:, None], significance=z, significance_error=0.1 * z,
              plateau=NS(lo=1e-2, hi=1e-1, i_lo=plateau[0], i_hi=plateau[1], level=1.1, width=0.09,
                         i_most_efficient=plateau[0]),
              efficiencies={"data": np.linspace(1, 0.01, n)}, signal_efficiency=np.linspace(1, 0.1, n),
              scan_axis=0, cut_names=["score_bkg"], cut_directions=["<"])  # fmt: skip


def test_charm_figures_draw_what_the_notebooks_show():
    from types import SimpleNamespace as NS

    from o2ml.plots import corrected_yields, mass_regions, significance_scans
    from o2ml.schema import PtBin

    rng = np.random.default_rng(2)
    mass = rng.uniform(1.7, 2.2, 1000)
    fig = mass_regions(mass, sidebands=(1.75, 2.1))
    assert [t.type for t in fig.data] == ["histogram"] and len(fig.layout.shapes) == 2
    assert (fig.layout.shapes[0].x1, fig.layout.shapes[1].x0) == (1.75, 2.1)
    fig = mass_regions(mass, sidebands=(1.8, 2.0), signal_region=(1.9, 1.95), mc_mass=mass[:10])
    assert len(fig.data) == 2 and len(fig.layout.shapes) == 3
    scans = {PtBin(2, 4): NS(bdt=_scan(rng), reference=NS(significance=[1.2]), chosen_index=12)}
    fig = significance_scans(scans)
    (scan,) = [s.bdt for s in scans.values()]
    assert fig.data[0].fill == "toself" and len(fig.data[0].y) == 60  # the ±1σ band, the line
    np.testing.assert_array_equal(fig.data[1].y, scan.significance)
    assert fig.data[2].x == (scan.thresholds[12, 0],)  # the working point, starred
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [s.y0 for s in lines if s.xref == "paper"] == [1.2]  # the rectangular cuts
    assert [s.y0 for s in lines if s.xref == "x"] == [1.1]  # the plateau's level
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis.title.text == "score_bkg < threshold"
    cv = NS(thresholds=[0.1, 0.2], corrected_yield=[10.0, 11.0], corrected_yield_error=[1.0, 1.0])
    fig = corrected_yields({"2-4": cv})
    assert fig.data[0].name == "2-4 GeV/c" and list(fig.data[0].error_y.array) == [1.0, 1.0]


def test_the_mass_panel_names_the_axis_and_the_peaks_of_its_channel():
    """mass_after_cut takes the axis label and the peak names from the channel module (Ds⁺ and
    its D⁺ partner, Λc⁺), generic names without a channel: nothing Ds-specific in plots."""
    from types import SimpleNamespace as NS

    from o2ml.plots import mass_after_cut
    from o2ml.schema import PtBin

    edges = np.linspace(1.7, 2.2, 51)
    flat = np.full(50, 3.0)
    fit = NS(predict=lambda: {"background": flat, "signal": flat, "dplus": flat})
    after = NS(pt_bin=PtBin(2, 4), edges=edges, counts=flat * 3, fit=fit, window=(1.95, 1.99))
    names = {c: [t.name for t in mass_after_cut([after], channel=c).data]
             for c in ("ds", "lc", None)}  # fmt: skip
    assert names["ds"][-2:] == ["Ds⁺", "D⁺"]
    assert names["lc"][-1] == "Λc⁺" and "Ds⁺" not in names["lc"]
    assert names[None][-2:] == ["signal", "partner peak"]
    lc = mass_after_cut([after], channel="lc")
    assert lc.layout.xaxis.title.text == "m(pKπ) (GeV/c²)"


def test_model_figures_draw_both_models_and_their_rocs():
    from sklearn.metrics import roc_auc_score

    from o2ml.plots import cost_pareto, loss_curves, plateau_comparison, score_distributions

    rng = np.random.default_rng(3)
    assert [t.name for t in loss_curves({"train_loss": [3, 2], "val_loss": [3, 2.5]}).data] == [
        "train", "validation"
    ]  # fmt: skip
    y = np.r_[np.ones(300), np.zeros(700)]
    test = pd.DataFrame(
        {"y": y, "p": rng.random(1000) * 0.5 + 0.5 * y, "mse": rng.exponential(1 + y)}
    )
    fig = score_distributions(test, {"BDT": ("p", "BDT", False), "AE": ("mse", "AE MSE", True)})
    hists = [t for t in fig.data if t.type == "histogram"]
    assert len(hists) == 4 and [h.name for h in hists[:2]] == ["signal", "background"]
    np.testing.assert_allclose(
        hists[3].x, np.log10(test.loc[y == 0, "mse"])
    )  # log axis for the MSE
    rocs = [t.name for t in fig.data if t.type == "scatter"]
    assert rocs == [
        f"BDT (AUC {roc_auc_score(y, test.p):.3f})",
        f"AE (AUC {roc_auc_score(y, test.mse):.3f})",
    ]
    fig = plateau_comparison({"BDT": _scan(rng), "AE": _scan(rng, plateau=(3, 5))})
    plateaus = [t for t in fig.data if t.name.endswith("plateau")]
    assert len(fig.data) == 8 and [len(t.x) for t in plateaus] == [11, 11, 3, 3]
    trials = pd.DataFrame({"trial": [0, 1, 2], "n_trees": [10, 50, 500], "latency_us": [1.0, 3.0, 9.0],
                           "roc_auc": [0.8, 0.9, 0.91], "pareto": [True, True, True],
                           "reference": [False, False, True], "max_depth": [2, 3, 5]})  # fmt: skip
    fig = cost_pareto(trials, title="t", hover_columns=["max_depth"])
    assert [len(t.x) for t in fig.data] == [3, 3, 1] and "max_depth 5" in fig.data[2].text[0]
