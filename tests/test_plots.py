"""The figures of o2ml.plots: what they draw, not how they look."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd

from o2ml.plots.training import distributions


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
