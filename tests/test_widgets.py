"""Kernel-side tests of the dashboards: move sliders, click buttons, compare with o2ml.selection."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from dashboard_helpers import (  # noqa: F401
    TOY_BKG_CUT,
    assert_shows,
    library_point,
    toy_grid,
    toy_inputs,
)

from o2ml import apps, plots
from o2ml.errors import ColumnNotFoundError, O2mlError
from o2ml.export.o2physics import CutDirection, MlResponseConfig
from o2ml.selection import BinInputs, cut_variation, find_plateau, scan_significance
from o2ml.widgets import (
    DashboardError,
    EfficiencyCurves,
    ScanGrid,
    SignificancePlateau,
    ThresholdScanner,
    fmt,
)


def shown(widget_html: str, css: str) -> str:
    """Text of ``<span class="o2ml-<css>">`` in a widget's HTML."""
    match = re.search(rf'<span class="o2ml-{css}">([^<]*)</span>', widget_html)
    assert match, f"o2ml-{css} not in {widget_html[:300]}"
    return match.group(1)


@pytest.fixture(scope="module")
def scanner(toy_inputs, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("export")
    return ThresholdScanner(toy_grid(toy_inputs), export_dir=out)


# --------------------------------------------------------------------------------------------
# ThresholdScanner
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bin_index", "t_bkg", "t_prompt"),
    [(0, 0.3, 0.2), (0, 0.05, 0.5), (1, 0.3, 0.6), (2, 1.0, 0.0)],
)
def test_scanner_numbers_equal_scan_significance(scanner, toy_inputs, bin_index, t_bkg, t_prompt):  # noqa: F811
    scanner.bin_selector.value = bin_index
    scanner.sliders["score_bkg"].value = t_bkg
    scanner.sliders["score_prompt"].value = t_prompt
    assert scanner.thresholds == {"score_bkg": t_bkg, "score_prompt": t_prompt}
    pt = scanner.pt_bins[bin_index]
    ref = library_point(
        toy_inputs, pt, {"score_bkg": ("<", t_bkg), "score_prompt": (">", t_prompt)}
    )
    got = scanner.result
    for name in ("signal", "signal_error", "background", "background_error", "significance",
                 "significance_error", "signal_efficiency"):  # fmt: skip
        np.testing.assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-9, err_msg=name)
    for c in ("prompt", "nonprompt", "data"):
        np.testing.assert_allclose(got.efficiencies[c], ref.efficiencies[c], rtol=1e-12)
        np.testing.assert_allclose(got.efficiency_errors[c], ref.efficiency_errors[c], rtol=1e-9)
    page = scanner.readout.value
    assert shown(page, "significance") == fmt(ref.significance[0], ref.significance_error[0])
    assert shown(page, "signal") == fmt(ref.signal[0], ref.signal_error[0])
    assert shown(page, "background") == fmt(ref.background[0], ref.background_error[0])
    assert shown(page, "eff-prompt") == fmt(
        ref.efficiencies["prompt"][0], ref.efficiency_errors["prompt"][0]
    )
    figure = scanner.plot.figure
    assert figure["data"][0]["name"] == "data after cut"
    assert sum(figure["data"][0]["y"]) <= len(toy_inputs.data)


def test_scanner_snaps_to_grid_and_every_slider_move_updates(scanner, toy_inputs):  # noqa: F811
    """Each slider step shows the numbers of its own threshold (the speed is measured in
    benchmarks/bench_widgets.py, not here)."""
    scanner.bin_selector.value = 0
    assert scanner.set_thresholds(score_prompt=0.5031, score_bkg=0.2999) == {
        "score_bkg": 0.3, "score_prompt": 0.5
    }  # fmt: skip
    pt = scanner.pt_bins[0]
    for t in scanner.grids["score_prompt"][20:40:5]:
        scanner.sliders["score_prompt"].value = float(t)
        ref = library_point(
            toy_inputs, pt, {"score_bkg": ("<", 0.3), "score_prompt": (">", float(t))}
        )
        page = scanner.readout.value
        assert shown(page, "significance") == fmt(ref.significance[0], ref.significance_error[0])
    with pytest.raises(O2mlError, match="score_nonprompt"):
        scanner.set_thresholds(score_nonprompt=0.1)


def test_scanner_record_and_export(scanner):
    scanner.recorded.clear()
    scanner.export_panel.output.value = ""
    scanner.bin_selector.value = 0
    scanner.record_button.click()
    scanner.export_panel.button.click()  # bins 4-6 and 6-12 missing: a message, no file
    assert "Export failed" in scanner.export_panel.output.value
    assert "record" in scanner.export_panel.output.value
    choices = {}
    for index, (tb, tp) in enumerate([(0.3, 0.4), (0.2, 0.3), (1.0, 0.1)]):
        scanner.bin_selector.value = index
        scanner.set_thresholds(score_bkg=tb, score_prompt=tp)
        scanner.record_button.click()
        choices[index] = (tb, tp)
    assert "6–12 GeV/c" in scanner.recorded_view.value
    scanner.export_panel.button.click()
    path = scanner.export_panel.path
    assert path.exists()
    assert "o2ml-export-json" in scanner.export_panel.output.value
    assert "cutsMl" in scanner.export_panel.output.value
    config = MlResponseConfig.from_json(path)
    assert config.bins_pt == [2.0, 4.0, 6.0, 12.0]
    assert config.cut_dir == [CutDirection.CutGreater, CutDirection.CutSmaller, CutDirection.CutNot]
    assert [row[:2] for row in config.cuts] == [list(choices[i]) for i in range(3)]
    assert config.class_labels == ["background", "prompt", "nonprompt"]
    # going back to a recorded bin restores its thresholds
    scanner.bin_selector.value = 1
    assert scanner.thresholds == {"score_bkg": 0.2, "score_prompt": 0.3}


# --------------------------------------------------------------------------------------------
# SignificancePlateau and EfficiencyCurves
# --------------------------------------------------------------------------------------------
def test_plateau_follows_find_plateau(toy_inputs, tmp_path):  # noqa: F811
    app = SignificancePlateau(toy_inputs.scans, export_dir=tmp_path, export_name="cfg")
    first = toy_inputs.scans[0]
    label = app.selected
    assert app.cursor[label] == first.plateau.i_most_efficient
    thr = first.thresholds[:, 1]
    for fraction in (0.95, 0.8):
        app.fraction.value = fraction
        ref = find_plateau(thr, first.significance, first.significance_error,
                           efficiency=first.signal_efficiency, fraction=fraction)  # fmt: skip
        assert app.result[label] == ref
        assert fmt(ref.width) in app.table.value or f"{ref.width:.4g}" in app.table.value
    app.criterion.value = "sigma"
    app.n_sigma.value = 2.0
    ref = find_plateau(thr, first.significance, first.significance_error,
                       efficiency=first.signal_efficiency, n_sigma=2.0)  # fmt: skip
    assert app.result[label] == ref
    # the cursor: the readout shows the stored scan's numbers
    app.slider.value = 7
    assert app.thresholds[label] == thr[7]
    assert shown(app.readout.value, "significance") == fmt(
        first.significance[7], first.significance_error[7]
    )
    assert app.plot.figure["data"]
    chosen = app.choose()
    assert chosen[label] == thr[ref.i_most_efficient]
    # export: the cursors of the three bins
    app.export_panel.button.click()
    config = MlResponseConfig.from_json(tmp_path / "cfg_001.json")
    assert config.bins_pt == [2.0, 4.0, 6.0, 12.0]
    assert [row[0] for row in config.cuts] == [TOY_BKG_CUT] * 3
    assert [row[1] for row in config.cuts] == list(chosen.values())
    app.x_axis.value = "efficiency"
    assert app.plot.figure["layout"]["xaxis"]["title"]["text"] == "signal efficiency"


def test_efficiency_curves_follow_cut_variation(toy_inputs, tmp_path):  # noqa: F811
    app = EfficiencyCurves({f"toy {s.pt_min:g}": s for s in toy_inputs.scans},
                           export_dir=tmp_path, export_name="cfg")  # fmt: skip
    scan = toy_inputs.scans[0]
    ref = cut_variation(scan)
    np.testing.assert_array_equal(app.result.corrected_yield, ref.corrected_yield)
    assert app.result.relative_rms == ref.relative_rms
    app.slider.value = 12
    page = app.readout.value
    assert shown(page, "corrected-yield") == fmt(
        ref.corrected_yield[12], ref.corrected_yield_error[12]
    )
    assert shown(page, "eff-prompt") == fmt(
        scan.efficiencies["prompt"][12], scan.efficiency_errors["prompt"][12]
    )
    bkg, sig = app.roc("toy 2")
    np.testing.assert_array_equal(sig, scan.efficiencies["prompt"])
    np.testing.assert_array_equal(bkg, scan.efficiencies["data"])
    app.scan_selector.value = "toy 4"
    assert app.slider.value == app.cursor["toy 4"]
    app.export_panel.button.click()
    assert MlResponseConfig.from_json(tmp_path / "cfg_001.json").bins_pt == [2.0, 4.0, 6.0, 12.0]


def test_scan_dashboards_refuse_grids_and_mixed_exports(toy_inputs, tmp_path):  # noqa: F811
    d = toy_inputs.data[(toy_inputs.data["fPt"] >= 2) & (toy_inputs.data["fPt"] < 4)]
    m = toy_inputs.mc[(toy_inputs.mc["fPt"] >= 2) & (toy_inputs.mc["fPt"] < 4)]
    grid = scan_significance(
        d["fM"], d, {"prompt": m[m["fOriginMcRec"] == 1]},
        {"score_bkg": ("<", [0.1, 0.3]), "score_prompt": (">", [0.2, 0.5])}, grid=True,
        inputs=BinInputs(toy_inputs.expected, (2, 4), peak=(1.9683, 0.01)),
    )  # fmt: skip
    with pytest.raises(DashboardError, match="1-D scan"):
        SignificancePlateau([grid])
    twice = SignificancePlateau([toy_inputs.scans[0], toy_inputs.scans[0]], export_dir=tmp_path)
    assert twice.export() is None
    assert "two scans" in twice.export_panel.output.value


# --------------------------------------------------------------------------------------------
# o2ml.apps: files, parameters, error panels
# --------------------------------------------------------------------------------------------
def test_apps_build_from_files(toy_inputs, tmp_path):  # noqa: F811
    app = apps.threshold_scan_app(toy_inputs.candidates, export_dir=tmp_path, query="")
    assert isinstance(app, ThresholdScanner)  # the expected-signal file came from the metadata
    assert isinstance(
        apps.significance_plateau_app(toy_inputs.directory, query=""), SignificancePlateau
    )
    glob_app = apps.efficiency_curves_app(str(toy_inputs.directory / "scan_toy_pt*.json"), query="")
    assert isinstance(glob_app, EfficiencyCurves)
    assert len(glob_app.scans) == 3
    data, mc, expected_path = apps.load_candidates(toy_inputs.candidates)
    assert len(data) == len(toy_inputs.data) and len(mc) == len(toy_inputs.mc)
    assert expected_path.resolve() == toy_inputs.expected_path.resolve()


def test_bad_inputs_give_a_readable_panel(toy_inputs, tmp_path):  # noqa: F811
    bad_json = tmp_path / "scan_bad.json"
    bad_json.write_text('{"format": "o2ml.ScanResult", "version": 1}')
    bad_parquet = tmp_path / "bad.parquet"
    bad_parquet.write_bytes(b"not parquet at all")
    cases = [
        (apps.significance_plateau_app, tmp_path / "missing.json", "found no file"),
        (apps.efficiency_curves_app, bad_json, "expected a field"),
        (apps.threshold_scan_app, bad_parquet, "unreadable"),
        (apps.threshold_scan_app, tmp_path / "nope.parquet", "found no file"),
    ]
    for app, path, message in cases:
        panel = app(path, query="")
        assert "o2ml-error" in panel.value, path
        assert str(path) in panel.value and message in panel.value, panel.value
        assert "Traceback" not in panel.value
    toy_inputs.data[["fM", "fPt"]].to_parquet(tmp_path / "cols.parquet")
    with pytest.raises(ColumnNotFoundError, match="score_bkg"):
        apps.load_candidates(tmp_path / "cols.parquet")


def test_dashboard_notebooks_are_thin_and_clean():
    from conftest import REPO

    for name in ("threshold_scan", "significance_plateau", "efficiency_curves"):
        nb = json.loads((REPO / "notebooks" / "dashboards" / f"{name}.ipynb").read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert "parameters" in code[0]["metadata"].get("tags", [])
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
        assert nb["cells"][0]["cell_type"] == "markdown"
        assert "".join(nb["cells"][0]["source"]).startswith("# ")


@pytest.mark.slow
def test_demo_inputs_from_the_generated_sample(tmp_path):
    demo = apps.ensure_demo_inputs(tmp_path / "demo", fast=True)
    assert demo.candidates.exists() and demo.expected_signal.exists()
    scans = apps.load_scans(demo.scans)
    assert list(scans) == ["BDT 2–4 GeV/c", "BDT 4–6 GeV/c", "BDT 6–12 GeV/c"]
    for s in scans.values():
        assert np.isfinite(s.significance).any()
        assert s.metadata["features"][0] == "fCpa"
    again = apps.ensure_demo_inputs(tmp_path / "demo", fast=True)  # made once
    assert again.candidates.stat().st_mtime == demo.candidates.stat().st_mtime
    data, mc, _ = apps.load_candidates(demo.candidates)
    assert {"score_bkg", "score_prompt", "score_nonprompt"} <= set(data.columns)
    np.testing.assert_allclose(
        data[["score_bkg", "score_prompt", "score_nonprompt"]].sum(axis=1), 1, rtol=1e-5
    )
    assert set(mc["fOriginMcRec"]) == {1, 2}
    # trained on one half of the sample, scored and scanned on the other: B scaled by ~2
    scale = apps.candidates_scale(demo.candidates)
    assert 1.9 < scale < 2.1
    assert all(s.metadata["scale"] == scale for s in scans.values())
    app = apps.threshold_scan_app(demo.candidates, export_dir=tmp_path, query="")
    assert isinstance(app, ThresholdScanner)
    assert all(b.settings.scale == scale for b in app.grid.bins)


@pytest.mark.slow  # builds the dashboards' demo (a quick BDT per pT bin on the fast sample)
def test_dashboard_exports_name_the_onnx_files_the_demo_wrote(tmp_path):
    """Every export names ONNX files that exist: the demo writes its models with write_model_dir,
    and the scans and the threshold scanner use the same names."""
    from o2ml.apps import load_candidates, load_scans
    from o2ml.apps.demo_inputs import ensure_demo_inputs
    from o2ml.selection import load_expected_signal

    demo = ensure_demo_inputs(tmp_path / "demo", fast=True)
    models = demo.directory / "models"
    scans = load_scans(demo.scans)
    for widget in (
        SignificancePlateau(scans, export_dir=tmp_path),
        EfficiencyCurves(scans, export_dir=tmp_path),
    ):
        config = widget.export_config()
        assert config.onnx_files and all((models / f).exists() for f in config.onnx_files), config
    data, mc, _ = load_candidates(demo.candidates)
    expected = load_expected_signal(demo.expected_signal)
    bins = [BinInputs(expected, pt) for pt in ((2, 4), (4, 6), (6, 12))]
    scanner = ThresholdScanner(ScanGrid(data, mc, bins), export_dir=tmp_path)
    for index in range(len(scanner.pt_bins)):
        scanner.bin_selector.value = index
        scanner.record_button.click()
    config = scanner.export_config()
    assert [(models / f).exists() for f in config.onnx_files] == [True] * 3, config.onnx_files
    assert config.names == ["cpa", "cpaXY", "decayLength", "decayLengthXY", "deltaMassPhi",
                            "impactParameterXY", "absCos3PiK"]  # fmt: skip


def test_the_dashboards_draw_their_figures_with_the_plots_functions(scanner, toy_inputs, tmp_path):  # noqa: F811
    """One function draws each figure: the threshold scanner's mass panel is
    plots.mass_after_cut (a slider move replaces only the curves' values), the plateau
    dashboard's figure is plots.significance_vs_threshold plus the cursor line."""
    scanner.bin_selector.value = 0
    scanner.set_thresholds(score_bkg=0.3, score_prompt=0.5)
    b, point = scanner.bins[0], scanner._point()
    drawn = plots.mass_after_cut([scanner._after_cut(b, point)], channel="ds").to_plotly_json()
    figure = scanner.plot.figure
    assert [t["name"] for t in figure["data"]] == [t["name"] for t in drawn["data"]]
    for got, want in zip(figure["data"], drawn["data"], strict=True):
        assert got["y"] == want["y"] and got["mode"] == want["mode"]
    assert figure["layout"]["xaxis"] == drawn["layout"]["xaxis"]
    base = scanner._base
    scanner.set_thresholds(score_prompt=0.6)  # same bin: the figure is updated, not drawn again
    assert scanner._base is base and scanner.plot.figure["data"][0]["y"] != figure["data"][0]["y"]

    app = SignificancePlateau(toy_inputs.scans, export_dir=tmp_path)
    drawn = plots.significance_vs_threshold(
        app.scans, plateaus=app.result, x="threshold"
    ).to_plotly_json()
    figure = app.plot.figure
    assert [t.get("name") for t in figure["data"]] == [t.get("name") for t in drawn["data"]]
    assert [t["y"] for t in figure["data"]] == [t["y"] for t in drawn["data"]]
    assert figure["layout"]["shapes"][:-1] == list(drawn["layout"]["shapes"])  # + the cursor
    base = app._base
    app.slider.value = 3  # a cursor move redraws only the cursor line
    assert app._base is base and app.plot.figure["layout"]["shapes"][-1]["type"] == "line"
