"""The Voila dashboards in a real browser: render, keyboard on a slider, export, errors, 4 sessions.

One Voila server per module (stopped at the end, also on failure) serves notebooks/dashboards on
toy inputs; each test opens pages in headless Chromium through Playwright.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from dashboard_helpers import (  # noqa: F401
    assert_shows,
    library_point,
    served_export_dir,
    toy_inputs,
    voila_default_url,
    voila_url,
)

from o2ml.export.o2physics import MlResponseConfig
from o2ml.selection import ScanResult, cut_variation

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RENDER_TIMEOUT = (
    240_000  # ms: kernel start and the notebook (the demo inputs: ~1 min, once), loaded CI
)
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


def record_every_bin(page, labels=("2–4 GeV/c", "4–6 GeV/c", "6–12 GeV/c")) -> None:
    """Select each pT bin, wait until the kernel has switched to it, record, wait for the row."""
    import re

    from playwright.sync_api import expect

    for label in labels:
        button = page.get_by_role("button", name=label, exact=True)
        button.click()
        expect(button).to_have_class(re.compile(r"\bmod-active\b"), timeout=UPDATE_TIMEOUT)
        page.locator(".o2ml-record").click()
        expect(page.locator(".o2ml-readout").last).to_contain_text(label, timeout=UPDATE_TIMEOUT)


def click_export(page) -> tuple[str, Path]:
    """Press Export: the JSON shown in the page and the file the page says it wrote."""
    from playwright.sync_api import expect

    before = page.locator(".o2ml-export-output").inner_text()
    page.locator(".o2ml-export").click()
    page.wait_for_function(
        "([css, before]) => document.querySelector(css).innerText !== before",
        arg=[".o2ml-export-output", before], polling="raf", timeout=UPDATE_TIMEOUT,
    )  # fmt: skip
    shown = page.locator(".o2ml-export-json")
    expect(shown).to_contain_text("cutsMl", timeout=UPDATE_TIMEOUT)
    return shown.inner_text(), Path(page.locator(".o2ml-export-path").inner_text())


def test_threshold_scan(browser, voila_url, toy_inputs, artifacts):  # noqa: F811

    page = open_dashboard(browser, f"{voila_url}/threshold_scan.ipynb")
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

        record_every_bin(page)
        text, export = click_export(page)
        assert export.parent == served_export_dir(toy_inputs).resolve()
        assert json.loads(text)["hf-candidate-selector-ds-to-k-k-pi"]["binsPtMl"]["values"] == [
            "2.0", "4.0", "6.0", "12.0"
        ]  # fmt: skip
        config = MlResponseConfig.from_json(export)
        assert config.cuts[0][:2] == [t_bkg, new_prompt]
        first = export.read_bytes()
        _, second = click_export(page)  # a second export is a new file; the first is kept
        assert second != export and second.parent == export.parent
        assert export.read_bytes() == first == second.read_bytes()
        page.screenshot(path=str(artifacts / "dashboard_threshold_scan.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize("name", ["significance_plateau", "efficiency_curves"])
def test_scan_dashboards(browser, voila_url, toy_inputs, artifacts, name):  # noqa: F811
    page = open_dashboard(browser, f"{voila_url}/{name}.ipynb")
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
        text, export = click_export(page)
        cuts = json.loads(text)["hf-candidate-selector-ds-to-k-k-pi"]["cutsMl"]["values"]
        assert float(cuts[0][1]) == first.thresholds[i + 1, 1]
        assert MlResponseConfig.from_json(export).cuts[0][1] == first.thresholds[i + 1, 1]
        page.screenshot(path=str(artifacts / f"dashboard_{name}.png"), full_page=True)
    finally:
        page.close()


def test_bad_inputs_show_a_readable_error(browser, voila_url, toy_inputs, artifacts):  # noqa: F811
    # inside the data root (the folder of the default inputs); not named scan* so that the
    # folder's own scans stay valid for the other tests
    malformed = toy_inputs.directory / "malformed.json"
    malformed.write_text('{"format": "o2ml.ScanResult", "version": 1, "species": "Ds"}')
    bad_candidates = toy_inputs.directory / "malformed.parquet"
    bad_candidates.write_bytes(b"PAR1 but not a parquet file")
    missing = toy_inputs.directory / "missing.json"
    cases = {
        f"significance_plateau.ipynb?scan={missing}": "found no file",
        f"efficiency_curves.ipynb?scan={malformed}": "expected a field",
        f"threshold_scan.ipynb?candidates={bad_candidates}": "unreadable",
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


# --------------------------------------------------------------------------------------------
# served to others: a link chooses inputs inside the data root only, never where Export writes
# --------------------------------------------------------------------------------------------
def test_a_crafted_export_link_cannot_touch_a_file(browser, voila_url, toy_inputs, tmp_path):  # noqa: F811
    victims = {}
    for name in ("threshold_scan", "significance_plateau"):
        victim = tmp_path / f"{name}_thesis.txt"
        victim.write_bytes(b"a user's own file, not JSON\n")
        victims[name] = victim
    threshold = open_dashboard(
        browser, f"{voila_url}/threshold_scan.ipynb?export={victims['threshold_scan']}"
    )
    plateau = open_dashboard(
        browser, f"{voila_url}/significance_plateau.ipynb?export={victims['significance_plateau']}"
    )
    try:
        wait_rendered(threshold)
        record_every_bin(threshold)
        wait_rendered(plateau)
        for page in (threshold, plateau):
            shown = page.locator(".o2ml-export-dir").inner_text()
            assert shown.startswith(str(served_export_dir(toy_inputs).resolve())), shown
            _, written = click_export(page)
            assert written.parent == served_export_dir(toy_inputs).resolve()
        for victim in victims.values():
            assert victim.read_bytes() == b"a user's own file, not JSON\n"
    finally:
        threshold.close()
        plateau.close()


def refusal(page) -> str:
    page.wait_for_selector(".o2ml-error-message", timeout=RENDER_TIMEOUT)
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and "error when executing" not in body, body[-500:]
    return page.locator(".o2ml-error-message").inner_text()


def test_links_outside_the_data_root_are_refused_alike(browser, voila_url, toy_inputs, tmp_path):  # noqa: F811
    outside = tmp_path / "other_user"
    outside.mkdir()
    (outside / "scored.parquet").write_bytes(toy_inputs.candidates.read_bytes())
    (outside / "scan_x.json").write_text(toy_inputs.scan_paths[0].read_text())
    root = toy_inputs.directory
    link = root / "link_out.parquet"  # a symbolic link inside the root pointing out
    link.unlink(missing_ok=True)
    link.symlink_to(outside / "scored.parquet")
    escape = "../" * len(root.resolve().parts) + str(outside.resolve()).lstrip("/")
    cases = {
        "existing": ("threshold_scan", "candidates", str(outside / "scored.parquet")),
        "missing": ("threshold_scan", "candidates", str(outside / "no_such.parquet")),
        "dotdot": ("threshold_scan", "candidates", escape + "/scored.parquet"),
        "symlink": ("threshold_scan", "candidates", link.name),
        "scan existing": ("significance_plateau", "scan", str(outside / "scan_x.json")),
        "scan missing": ("efficiency_curves", "scan", str(outside / "scan_none.json")),
        "scan folder": ("efficiency_curves", "scan", str(outside)),
        "passwd": ("threshold_scan", "expected_signal", "/etc/passwd"),
    }
    pages = {
        key: open_dashboard(browser, f"{voila_url}/{app}.ipynb?{param}={value}")
        for key, (app, param, value) in cases.items()
    }
    try:
        messages = {}
        for key, (_, _, value) in cases.items():
            text = refusal(pages[key])
            assert "not opened" in text and str(root.resolve()) in text, (key, text)
            messages[key] = text.replace(value, "<path>")
        # one message whatever the path is: it never tells whether the file exists
        assert len(set(messages.values())) == 1, messages
        assert "found no file" not in messages["missing"]
    finally:
        for page in pages.values():
            page.close()
        link.unlink(missing_ok=True)


def test_a_token_server_answers_only_with_the_token():
    """The README's way to serve a group: ``--Voila.token``; without it a page is not served."""
    import urllib.error
    import urllib.request

    from conftest import REPO, free_port, running_server
    from dashboard_helpers import KERNELS_OVER_IPC, VOILA

    port, token = free_port(), "o2ml-test-token"
    cmd = [
        VOILA, str(REPO / "notebooks" / "dashboards"), "--Voila.ip=127.0.0.1",
        f"--port={port}", "--Voila.port_retries=0", "--no-browser", f"--Voila.token={token}",
        KERNELS_OVER_IPC,
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with running_server(cmd, f"{base}/?token={token}", timeout=120):

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        for path in ("/", "/voila/render/threshold_scan.ipynb"):
            with pytest.raises(urllib.error.HTTPError) as err:
                opener.open(base + path, timeout=10)
            assert err.value.code in (302, 403), (path, err.value.code)
            assert "login" in err.value.headers.get("Location", "login"), err.value.headers


def test_preheated_kernels_show_the_starters_page_and_still_read_the_url(browser, toy_inputs):  # noqa: F811
    """`make dashboards` pre-heats (voila --preheat_kernel): the pool kernel builds the page of
    the starter's inputs before it is asked for; a URL that chooses other inputs gets them."""
    from dashboard_helpers import toy_environment, voila_server

    scans = {s.pt_min: s for s in toy_inputs.scans}
    second = toy_inputs.scan_paths[[s.pt_min for s in toy_inputs.scans].index(4.0)]
    args = ("--preheat_kernel=True", "--pool_size=1")
    with voila_server(toy_environment(toy_inputs), args) as url:
        for query, shown in (("", scans[2.0]), (f"?scan={second.name}", scans[4.0])):
            page = open_dashboard(browser, f"{url}/significance_plateau.ipynb{query}")
            try:
                wait_rendered(page)
                i = shown.plateau.i_most_efficient
                assert_shows(page.locator(".o2ml-significance").inner_text(),
                             shown.significance[i], shown.significance_error[i])  # fmt: skip
                bins = page.locator(".o2ml-scan-selector option").all_inner_texts()
                assert len(bins) == (3 if not query else 1), bins
            finally:
                page.close()


@pytest.mark.parametrize("name", ["threshold_scan", "significance_plateau", "efficiency_curves"])
def test_default_inputs_render(browser, voila_default_url, artifacts, name):  # noqa: F811
    """No ?scan=, no $O2ML_*: each dashboard opens the demo inputs (made on first use)."""
    page = open_dashboard(browser, f"{voila_default_url}/{name}.ipynb")
    try:
        wait_rendered(page)
        assert page.locator(".o2ml-error").count() == 0
        body = page.locator("body").inner_text()
        assert "Traceback" not in body and "error when executing" not in body, body[-500:]
        value = page.locator(".o2ml-significance").first.inner_text()
        assert float(value.split("±")[0]) > 0, value
        page.screenshot(path=str(artifacts / f"dashboard_default_{name}.png"), full_page=True)
    finally:
        page.close()
