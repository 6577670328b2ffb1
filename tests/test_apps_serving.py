"""Served dashboards: a URL chooses inputs only inside the data root and never where Export writes.

Kernel-side: the apps are called with a ``query`` string as Voila would pass it. The same attacks
in a real browser on a real Voila server are in ``tests/test_dashboards_serving.py``.
"""

from __future__ import annotations

import html
import os
import urllib.parse
from pathlib import Path

import pytest
from dashboard_helpers import make_toy_inputs

from o2ml import apps
from o2ml.apps.serving import DataRoot, export_directory, starter_parameter, url_parameters
from o2ml.errors import O2mlError, PathNotAllowedError
from o2ml.export.files import write_numbered
from o2ml.export.o2physics import MlResponseConfig
from o2ml.widgets import EfficiencyCurves, SignificancePlateau, ThresholdScanner


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Toy inputs in a data root, a folder outside it with a secret, and links that point out."""
    base = tmp_path_factory.mktemp("served")
    root = base / "root"
    inputs = make_toy_inputs(root / "toy", n_data=20_000, n_mc=6_000)
    outside = base / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("a user's own file\n")
    (outside / "scan_secret.json").write_text(inputs.scan_paths[0].read_text())
    (root / "link_to_secret.parquet").symlink_to(secret)
    (root / "link_dir").symlink_to(outside, target_is_directory=True)
    return inputs, root, outside, secret


def query(**params: str) -> str:
    return urllib.parse.urlencode(params)


def refusal_text(panel) -> str:
    assert "o2ml-error" in panel.value, panel.value[:500]
    return panel.value


# --------------------------------------------------------------------------------------------
# DataRoot
# --------------------------------------------------------------------------------------------
def test_inside_the_root_is_allowed(served):
    inputs, root, _, _ = served
    data_root = DataRoot.choose(root, "/ignored")
    assert data_root.path == root.resolve()
    assert data_root.confine(str(inputs.candidates)) == str(inputs.candidates.resolve())
    relative = inputs.candidates.relative_to(root)
    assert data_root.confine(str(relative)) == str(inputs.candidates.resolve())
    # a missing file inside the root passes the check (the loader then says "found no file")
    assert data_root.confine("toy/missing.parquet") == str((root / "toy/missing.parquet").resolve())
    pattern = data_root.confine("toy/scan_toy_pt*.json")
    data_root.confine_files("toy/scan_toy_pt*.json", apps.files.scan_files(pattern))


@pytest.mark.parametrize(
    "value",
    [
        "{outside}/secret.txt",  # absolute, exists
        "{outside}/no_such_file.txt",  # absolute, missing
        "/etc/passwd",
        "../outside/secret.txt",  # relative, climbs out
        "toy/../../outside/secret.txt",
        "{root}/toy/../../outside/secret.txt",
        "link_to_secret.parquet",  # a symbolic link inside the root pointing out
        "link_dir/secret.txt",  # through a linked folder
        "link_dir",
        "toy/*/../../../outside/scan*.json",  # a glob that climbs out
        "{outside}/scan*.json",
        "",
    ],
)
def test_outside_the_root_is_refused_alike(served, value):
    _, root, outside, _ = served
    data_root = DataRoot(root.resolve())
    value = value.format(outside=outside, root=root)
    with pytest.raises(PathNotAllowedError) as err:
        data_root.confine(value)
    # one message for every refused path: it does not depend on whether the path exists
    assert str(err.value) == str(data_root.refusal(value))
    assert "not opened" in str(err.value) and str(root.resolve()) in str(err.value)


def test_a_glob_inside_the_root_may_not_expand_through_a_link_out(served):
    _, root, _, _ = served
    data_root = DataRoot(root.resolve())
    pattern = data_root.confine("link_*/scan*.json")  # the literal part, the root, is inside
    files = apps.files.scan_files(pattern)
    assert files, "the linked folder's scan file matches"
    with pytest.raises(PathNotAllowedError):
        data_root.confine_files("link_*/scan*.json", files)


def test_starter_parameters_come_from_the_cell_then_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("O2ML_SCAN", raising=False)
    monkeypatch.delenv("O2ML_DATA_ROOT", raising=False)
    monkeypatch.delenv("O2ML_EXPORT_DIR", raising=False)
    assert starter_parameter("scan", "cell.json") == "cell.json"
    assert starter_parameter("scan") is None
    monkeypatch.setenv("O2ML_SCAN", "/env/scan.json")
    assert starter_parameter("scan") == "/env/scan.json"
    assert starter_parameter("scan", "cell.json") == "cell.json"
    assert DataRoot.choose(None, tmp_path).path == tmp_path.resolve()
    monkeypatch.setenv("O2ML_DATA_ROOT", str(tmp_path / "env_root"))
    assert DataRoot.choose(None, "/default").path == (tmp_path / "env_root").resolve()
    assert DataRoot.choose(tmp_path / "cell", "/default").path == (tmp_path / "cell").resolve()
    assert export_directory(None, tmp_path) == tmp_path.resolve()
    monkeypatch.setenv("O2ML_EXPORT_DIR", str(tmp_path / "exports"))
    assert export_directory(None, "/default") == (tmp_path / "exports").resolve()
    monkeypatch.setenv("QUERY_STRING", "scan=%2Fq%2Fscan.json&export=x.json")
    assert url_parameters() == {"scan": "/q/scan.json", "export": "x.json"}
    assert url_parameters("") == {}


def test_a_preheated_kernel_reads_the_url_once_its_page_is_requested(monkeypatch):
    """voila --preheat_kernel: the kernel runs the dashboard before any request; the URL's
    parameters are read after Voila hands the request over (voila.utils.wait_for_request),
    once per kernel; an ordinary kernel never waits."""
    import voila.utils

    from o2ml.apps import serving

    waits = []

    def request_arrives():  # what Voila does when the page is opened: the request's variables
        waits.append(1)
        os.environ["QUERY_STRING"] = "scan=runs%2Fa"

    monkeypatch.setattr(voila.utils, "wait_for_request", request_arrives)
    monkeypatch.setattr(serving, "_requested", False)
    monkeypatch.setenv("QUERY_STRING", "")
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    assert url_parameters() == {} and waits == []  # not pre-heated: the environment as it is
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    assert url_parameters("scan=b") == {"scan": "b"} and waits == []  # a given query: no wait
    assert url_parameters() == {"scan": "runs/a"} and waits == [1]
    assert url_parameters() == {"scan": "runs/a"} and waits == [1]  # one request per kernel


@pytest.mark.parametrize("url", ["", "scan=toy%2Fscan_toy_pt2_4.json"])
def test_a_preheated_kernel_builds_the_starters_page_before_the_request(
    served, tmp_path, monkeypatch, url
):
    """voila --preheat_kernel: the page of the starter's inputs is ready before the request, and
    shown as is unless the URL chooses other inputs; then it is built for the URL, and the
    widgets made for nothing are closed (no state for the browser to fetch, no memory held)."""
    import voila.utils
    from ipywidgets.widgets.widget import _instances

    import o2ml.widgets
    from o2ml.apps import serving

    inputs, root, _, _ = served
    events = []
    built = []

    def request_arrives():
        events.append(("request", len(built)))
        os.environ["QUERY_STRING"] = url

    class Recorder(SignificancePlateau):
        def __init__(self, scans, **kwargs):
            super().__init__(scans, **kwargs)
            built.append(self)

    monkeypatch.setattr(voila.utils, "wait_for_request", request_arrives)
    monkeypatch.setattr(serving, "_requested", False)
    monkeypatch.setattr(o2ml.widgets, "SignificancePlateau", Recorder)  # what the app builds
    monkeypatch.setenv("QUERY_STRING", "")  # restored after the test: the request sets it
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    page = apps.significance_plateau_app(inputs.directory, data_root=root, export_dir=tmp_path)
    assert events == [("request", 1)]  # the starter's page was built before the request
    first = built[0]
    if not url:
        assert page is first and len(built) == 1 and len(page.scans) == 3
        assert first.widget.model_id in _instances
    else:
        assert len(built) == 2 and page is built[1] and len(page.scans) == 1
        assert first.widget.comm is None  # closed
        assert all(child.comm is None for child in first.widget.children)
        assert page.widget.model_id in _instances


# --------------------------------------------------------------------------------------------
# exports: numbered files, nothing replaced
# --------------------------------------------------------------------------------------------
def test_write_numbered_keeps_every_export_and_replaces_nothing(tmp_path):
    first = write_numbered(tmp_path, "ml_config", '{"a": 1}\n')
    second = write_numbered(tmp_path, "ml_config", '{"a": 2}\n')
    assert (first.name, second.name) == ("ml_config_001.json", "ml_config_002.json")
    assert first.read_text() == '{"a": 1}\n' and second.read_text() == '{"a": 2}\n'
    # a foreign file and a planted link at the next names are skipped, their targets untouched
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    (tmp_path / "ml_config_003.json").symlink_to(victim)
    (tmp_path / "ml_config_004.json").symlink_to(tmp_path / "dangling")
    third = write_numbered(tmp_path, "ml_config", "{}\n")
    assert third.name == "ml_config_005.json"
    assert victim.read_bytes() == b"precious\n" and not (tmp_path / "dangling").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert oct(third.stat().st_mode & 0o777) == "0o644"


def test_write_numbered_bad_destination_is_a_clear_error(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(O2mlError, match="cannot write an export there"):
        write_numbered(a_file / "sub", "ml_config", "{}")
    with pytest.raises(O2mlError, match="file stem"):
        write_numbered(tmp_path, "../escape", "{}")
    assert a_file.read_text() == "x"


# --------------------------------------------------------------------------------------------
# the apps, as Voila calls them
# --------------------------------------------------------------------------------------------
def test_url_cannot_choose_where_export_writes(served, tmp_path):
    inputs, root, _, secret = served
    before = secret.read_bytes()
    app = apps.threshold_scan_app(
        inputs.candidates, data_root=root, export_dir=tmp_path / "exports",
        query=query(export=str(secret)),
    )  # fmt: skip
    assert isinstance(app, ThresholdScanner)
    assert str(tmp_path / "exports") in app.export_panel.output.value  # the page says where
    for i, label in enumerate(app.pt_bins):
        app.bin_selector.value = i
        app.record()
        assert label in app.recorded
    first = app.export()
    second = app.export()
    assert secret.read_bytes() == before
    assert first.parent == (tmp_path / "exports").resolve() and first != second
    assert MlResponseConfig.from_json(first).bins_pt == [2.0, 4.0, 6.0, 12.0]
    assert first.read_text() == second.read_text()  # the first export is still there


@pytest.mark.parametrize("kind", ["exists", "missing", "dotdot", "link"])
def test_url_inputs_outside_the_root_are_refused_alike(served, tmp_path, kind):
    inputs, root, outside, secret = served
    value = {
        "exists": str(secret),
        "missing": str(outside / "nothing_here.parquet"),
        "dotdot": "toy/../../outside/secret.txt",
        "link": "link_to_secret.parquet",
    }[kind]
    common = {"data_root": root, "export_dir": tmp_path}
    panels = [
        apps.threshold_scan_app(inputs.candidates, query=query(candidates=value), **common),
        apps.threshold_scan_app(inputs.candidates, query=query(expected_signal=value), **common),
        apps.significance_plateau_app(inputs.directory, query=query(scan=value), **common),
        apps.efficiency_curves_app(inputs.directory, query=query(scan=value), **common),
    ]
    message = str(DataRoot(root.resolve()).refusal(value))
    for panel in panels:
        text = refusal_text(panel)
        assert html.escape(message) in text, text
        assert "found no file" not in text and "unreadable" not in text


def test_url_inputs_inside_the_root_open(served, tmp_path):
    inputs, root, _, _ = served
    common = {"data_root": root, "export_dir": tmp_path}
    rel = str(inputs.candidates.relative_to(root))
    assert isinstance(
        apps.threshold_scan_app(query=query(candidates=rel), **common), ThresholdScanner
    )
    plateau = apps.significance_plateau_app(query=query(scan="toy"), **common)
    assert isinstance(plateau, SignificancePlateau) and len(plateau.scans) == 3
    curves = apps.efficiency_curves_app(query=query(scan="toy/scan_toy_pt2*.json"), **common)
    assert isinstance(curves, EfficiencyCurves) and len(curves.scans) == 1
    missing = apps.significance_plateau_app(query=query(scan="toy/nope.json"), **common)
    assert "found no file" in refusal_text(missing)  # inside the root, the loader's own message


def test_a_candidates_file_may_not_name_an_expected_signal_outside(served, tmp_path):
    inputs, root, outside, _ = served
    rogue = root / "rogue.parquet"
    apps.write_candidates(rogue, inputs.data, inputs.mc, expected_signal=outside / "secret.txt")
    panel = apps.threshold_scan_app(
        query=query(candidates="rogue.parquet"), data_root=root, export_dir=tmp_path
    )
    assert "not opened" in refusal_text(panel)
    # the starter's own file may name any (the starter is trusted): the loader reads it
    started = refusal_text(
        apps.threshold_scan_app(rogue, data_root=root, export_dir=tmp_path, query="")
    )
    assert "not opened" not in started and "secret.txt" in started


def test_environment_sets_the_roots(served, tmp_path, monkeypatch):
    inputs, _, outside, secret = served
    monkeypatch.setenv("O2ML_CANDIDATES", str(inputs.candidates))
    monkeypatch.setenv("O2ML_EXPORT_DIR", str(tmp_path / "env_exports"))
    monkeypatch.setenv("QUERY_STRING", query(candidates=str(secret), export=str(secret)))
    panel = apps.threshold_scan_app()
    # default data root: the folder of the default inputs (root/toy), so the secret is refused
    assert "not opened" in refusal_text(panel) and str(inputs.directory.resolve()) in panel.value
    monkeypatch.setenv("QUERY_STRING", query(export=str(secret)))
    app = apps.threshold_scan_app()
    assert isinstance(app, ThresholdScanner)
    assert app.export_panel.directory == (tmp_path / "env_exports").resolve()
    monkeypatch.setenv("O2ML_DATA_ROOT", str(outside))  # the starter may widen the root
    monkeypatch.setenv("QUERY_STRING", query(candidates=str(secret)))
    assert "unreadable" in refusal_text(apps.threshold_scan_app())
    assert Path(secret).read_text() == "a user's own file\n"
