"""`make lab` on this checkout serves JupyterLab with the o2ml kernel, seen in a real browser."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, free_port, running_server

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_make_lab_serves_notebooks_folder(tmp_path, browser, artifacts):
    port = free_port()
    lab_args = (
        f"--no-browser --port {port} --ServerApp.ip=127.0.0.1 --ServerApp.port_retries=0 "
        "--IdentityProvider.token= --ServerApp.open_browser=False"
    )
    cmd = [
        "make",
        "-s",
        "lab",
        f"DATA={tmp_path / 'data'}",
        "GENERATE_ARGS=--fast --quiet",
        f"LAB_ARGS={lab_args}",
    ]
    base = f"http://127.0.0.1:{port}"
    with running_server(cmd, f"{base}/api/status", timeout=300):
        with urllib.request.urlopen(f"{base}/api/kernelspecs") as r:
            specs = json.load(r)
        python3 = specs["kernelspecs"]["python3"]["spec"]
        assert Path(python3["argv"][0]).resolve().parent == Path(sys.executable).resolve().parent
        assert python3["display_name"] == "Python 3 (o2ml)"

        page = browser.new_page()
        page.goto(f"{base}/lab", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-DirListing-itemText", timeout=90_000)
        names = page.locator(".jp-DirListing-itemText").all_inner_texts()
        listed = {n.strip() for n in names}
        expected = {p.name for p in (REPO / "notebooks").iterdir() if not p.name.startswith(".")}
        assert expected and expected <= listed, (expected, listed)
        page.screenshot(path=str(artifacts / "jupyterlab.png"))
        page.close()


def test_an_answer_starts_collapsed_in_jupyterlab_and_opens(tmp_path, browser, artifacts):
    """A question of notebook 05 with its answers, as the notebook holds them, in JupyterLab:
    the prose answer's <details> is closed (its text hidden), the code answer's source is
    collapsed; a click on "Show the answer" opens it."""
    import nbformat

    from o2ml import answers

    nb = nbformat.read(REPO / "notebooks" / "05_tpc_dedx_calibration.ipynb", as_version=4)
    i = next(k for k, c in enumerate(nb.cells) if "question" in c.metadata.get("tags", []))
    cells = [nb.cells[i]]
    for c in nb.cells[i + 1 :]:
        if answers.TAG not in c.metadata.get("tags", []):
            break
        cells.append(c)
    assert {c.cell_type for c in cells[1:]} == {"markdown", "code"}
    nb.cells = cells
    nbformat.write(nb, tmp_path / "question.ipynb")
    port = free_port()
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
           f"--ServerApp.root_dir={tmp_path}", *(["--allow-root"] if os.geteuid() == 0 else [])]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with running_server(cmd, f"{base}/api/status", timeout=120):
        page = browser.new_page()
        page.goto(f"{base}/lab/tree/question.ipynb", wait_until="domcontentloaded")
        details = page.locator(
            ".jp-RenderedMarkdown details.o2ml-answer, .jp-RenderedMarkdown details"
        )
        details.first.wait_for(state="attached", timeout=90_000)
        assert details.first.get_attribute("open") is None
        body = details.first.locator("p").first
        assert not body.is_visible()
        assert page.locator(".jp-InputPlaceholder").count() >= 1  # the code answer's source
        page.screenshot(path=str(artifacts / "answer-collapsed.png"))
        details.first.locator("summary").click()
        page.wait_for_function("() => document.querySelector('.jp-RenderedMarkdown details').open")
        assert body.is_visible()
        page.screenshot(path=str(artifacts / "answer-open.png"))
        page.close()
