"""Shared fixtures: free ports, servers that always stop, a headless Chromium."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

# Two pytest-xdist workers share two cores: OpenMP threads (XGBoost, torch) that spin while
# waiting slow each other down by orders of magnitude; passive waiting avoids that.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
# ... and with passive waiting a 1-thread XGBoost fit beats a 2-thread one there (o2ml.config.threads)
os.environ.setdefault("O2ML_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(
    cmd: list[str], url: str, cwd: Path = REPO, timeout: float = 180
) -> Iterator[subprocess.Popen]:
    """Start ``cmd`` in its own process group, wait until ``url`` answers, stop it at the end."""
    log = open(ARTIFACTS.joinpath(f"server-{os.getpid()}-{time.time_ns()}.log"), "w+")
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                log.seek(0)
                raise TimeoutError(
                    f"{url} did not answer within {timeout} s:\n{log.read()[-3000:]}"
                )
            time.sleep(0.5)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser(artifacts):
    """Headless Debian Chromium driven by Playwright (Playwright cannot download browsers here)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("O2ML_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs it")
        pytest.skip(f"{CHROMIUM} not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


#: what `make check` (`-m "not browser and not slow"`) leaves out, for a loop under 2 minutes:
#: the end-to-end workflows, the cross-checks with real ROOT, the generators' large samples, the
#: trained networks and the dask clusters. `make test` runs everything.
SLOW_MODULES = {
    "test_workflow", "test_workflow_macro", "test_with_root", "test_tpc_calibration",
    "test_toymc_charm", "test_combined_pid", "test_models_dann", "test_models_pid",
    "test_cost_aware", "test_models_autoencoder", "test_pid_performance", "test_toymc_pid",
}  # fmt: skip
SLOW_TESTS = {
    "test_the_core_runs_without_any_extra", "test_unreachable_scheduler_is_a_clear_error_not_a_hang",
    "test_local_dask_cluster_and_root_output", "test_killed_worker_loses_and_corrupts_nothing",
    "test_backends_agree_on_100k_candidates", "test_same_seed_same_content_other_seed_differs",
}  # fmt: skip


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__ if getattr(item, "module", None) else ""
        name = getattr(item, "originalname", None)  # nbmake's notebook items have none
        if module.rsplit(".", 1)[-1] in SLOW_MODULES or name in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
