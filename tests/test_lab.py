"""`make lab` on this checkout serves JupyterLab with the o2ml kernel, seen in a real browser."""

from __future__ import annotations

import json
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
