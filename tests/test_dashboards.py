"""The Voila dashboards in a real browser: render, keyboard on a slider, export, errors, 4 sessions.

One Voila server per module (stopped at the end, also on failure) serves notebooks/dashboards on
toy inputs; each test opens pages in headless Chromium through Playwright.
"""

from __future__ import annotations

import json
import time

import pytest
from dashboard_helpers import (  # noqa: F401
    assert_shows,
    library_point,
    toy_inputs,
    voila_url,
)

from o2ml.export.o2physics import MlResponseConfig
from o2ml.selection import ScanResult, cut_variation

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RENDER_TIMEOUT = 120_000  # ms: kernel start and the notebook under a loaded CI machine
UPDATE_TIMEOUT = 20_000


def open_dashboard(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, wait_until="commit")
    return page


def wait_rendered(page, css: str = ".o2ml-significance") -> None:
    page.wait_for_selector(css, timeout=RENDER_TIMEOUT)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=RENDER_TIMEOUT)


def press_right(page, slider_class: str) -> float:
    """Focus a slider's handle, press ArrowRight; the seconds until the shown significance changed."""
    number = ".o2ml-significance"
    before = page.locator(number).first.inner_text()
    page.locator(f".{slider_class} .noUi-handle").first.focus()
    start = time.perf_counter()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "([css, before]) => document.querySelector(css).innerText !== before",
        arg=[number, before], polling="raf", timeout=UPDATE_TIMEOUT,
    )  # fmt: skip
    return time.perf_counter() - start


def click_export(page) -> str:
    from playwright.sync_api import expect

    page.locator(".o2ml-export").click()
    shown = page.locator(".o2ml-export-json")
    expect(shown).to_contain_text("cutsMl", timeout=UPDATE_TIMEOUT)
    return shown.inner_text()


def test_threshold_scan(browser, voila_url, toy_inputs, artifacts, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    export = tmp_path / "scan_config.json"
    page = open_dashboard(browser, f"{voila_url}/threshold_scan.ipynb?export={export}")
    try:
        wait_rendered(page)
        # initial thresholds: the middle of each grid, read back from the slider readouts
        t_bkg = float(page.locator(".o2ml-slider-score_bkg .widget-readout").inner_text())
        t_prompt = float(page.locator(".o2ml-slider-score_prompt .widget-readout").inner_text())
        ref = library_point(
            toy_inputs, (2, 4), {"score_bkg": ("<", t_bkg), "score_prompt": (">", t_prompt)}
        )
        assert_shows(
            page.locator(".o2ml-significance").inner_text(),
            ref.significance[0],
            ref.significance_error[0],
        )

        latency = press_right(page, "o2ml-slider-score_prompt")
        new_prompt = float(page.locator(".o2ml-slider-score_prompt .widget-readout").inner_text())
        assert new_prompt == pytest.approx(t_prompt + 0.01)
        ref = library_point(
            toy_inputs, (2, 4), {"score_bkg": ("<", t_bkg), "score_prompt": (">", new_prompt)}
        )
        assert_shows(
            page.locator(".o2ml-significance").inner_text(),
            ref.significance[0],
            ref.significance_error[0],
        )
        assert_shows(page.locator(".o2ml-eff-prompt").inner_text(), ref.efficiencies["prompt"][0],
                     ref.efficiency_errors["prompt"][0])  # fmt: skip
        print(f"threshold_scan: slider -> number {1000 * latency:.0f} ms")

        for label in ("2–4 GeV/c", "4–6 GeV/c", "6–12 GeV/c"):
            page.get_by_role("button", name=label, exact=True).click()
            page.locator(".o2ml-record").click()
            expect(page.locator(".o2ml-readout").last).to_contain_text(
                label, timeout=UPDATE_TIMEOUT
            )
        text = click_export(page)
        assert json.loads(text)["hf-candidate-selector-ds-to-k-k-pi"]["binsPtMl"]["values"] == [
            "2.0", "4.0", "6.0", "12.0"
        ]  # fmt: skip
        config = MlResponseConfig.from_json(export)
        assert config.cuts[0][:2] == [t_bkg, new_prompt]
        page.screenshot(path=str(artifacts / "dashboard_threshold_scan.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize("name", ["significance_plateau", "efficiency_curves"])
def test_scan_dashboards(browser, voila_url, toy_inputs, artifacts, tmp_path, name):  # noqa: F811
    export = tmp_path / f"{name}.json"
    page = open_dashboard(browser, f"{voila_url}/{name}.ipynb?export={export}")
    try:
        wait_rendered(page)
        scans = {
            s.pt_min: ScanResult.load(p)
            for s, p in zip(toy_inputs.scans, toy_inputs.scan_paths, strict=True)
        }
        first = scans[2.0]
        i = first.plateau.i_most_efficient
        assert_shows(
            page.locator(".o2ml-significance").inner_text(),
            first.significance[i],
            first.significance_error[i],
        )
        latency = press_right(page, "o2ml-slider-threshold")
        assert_shows(page.locator(".o2ml-significance").inner_text(), first.significance[i + 1],
                     first.significance_error[i + 1], rtol=0)  # fmt: skip
        if name == "efficiency_curves":
            cv = cut_variation(first)
            assert_shows(page.locator(".o2ml-corrected-yield").inner_text(), cv.corrected_yield[i + 1],
                         cv.corrected_yield_error[i + 1], rtol=0)  # fmt: skip
        print(f"{name}: slider -> number {1000 * latency:.0f} ms")
        text = click_export(page)
        cuts = json.loads(text)["hf-candidate-selector-ds-to-k-k-pi"]["cutsMl"]["values"]
        assert float(cuts[0][1]) == first.thresholds[i + 1, 1]
        assert MlResponseConfig.from_json(export).cuts[0][1] == first.thresholds[i + 1, 1]
        page.screenshot(path=str(artifacts / f"dashboard_{name}.png"), full_page=True)
    finally:
        page.close()


def test_bad_inputs_show_a_readable_error(browser, voila_url, toy_inputs, tmp_path, artifacts):  # noqa: F811
    malformed = tmp_path / "scan_malformed.json"
    malformed.write_text('{"format": "o2ml.ScanResult", "version": 1, "species": "Ds"}')
    cases = {
        "significance_plateau.ipynb?scan=" + str(tmp_path / "missing.json"): "found no file",
        "efficiency_curves.ipynb?scan=" + str(malformed): "expected a field",
    }
    pages = {url: open_dashboard(browser, f"{voila_url}/{url}") for url in cases}
    try:
        for url, message in cases.items():
            page = pages[url]
            page.wait_for_selector(".o2ml-error-message", timeout=RENDER_TIMEOUT)
            text = page.locator(".o2ml-error-message").inner_text()
            assert message in text and url.split("=", 1)[1] in text, text
            body = page.locator("body").inner_text()
            assert "Traceback" not in body and "error when executing" not in body, body[-500:]
        pages[next(iter(cases))].screenshot(path=str(artifacts / "dashboard_error.png"))
    finally:
        for page in pages.values():
            page.close()


def test_four_concurrent_sessions(browser, voila_url):  # noqa: F811
    start = time.perf_counter()
    pages = [open_dashboard(browser, f"{voila_url}/threshold_scan.ipynb") for _ in range(4)]
    try:
        rendered = []
        for page in pages:
            wait_rendered(page)
            rendered.append(time.perf_counter() - start)
        latencies = [press_right(page, "o2ml-slider-score_prompt") for page in pages]
        print(f"4 sessions: all rendered after {max(rendered):.1f} s; "
              f"slider -> number {[round(1000 * t) for t in latencies]} ms")  # fmt: skip
        for page in pages:
            assert page.locator(".o2ml-slider-score_prompt .widget-readout").inner_text() != "0.49"
    finally:
        for page in pages:
            page.close()
