"""AO2D files with several joinable tables: the O2 tree layout, joins, index following, PIDML."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import uproot

from o2ml import io
from o2ml.errors import ColumnNotFoundError, JoinError, TableNotFoundError
from o2ml.schema import (
    MC_PARTICLES,
    MC_TRACK_LABELS,
    PID_TRACKS_DATA_ML,
    PID_TRACKS_MC_ML,
    TRACKS,
    TRACKS_EXTRA,
    TRACKS_IU,
)
from o2ml.toymc.generate import generate

#: the ROOT types O2 gives these branches (AliceO2 AnalysisDataModel.h: int32 indices, uint8
#: track type and TPC counts, uint32 cluster sizes, O2's int[2] slice and variable-size array)
O2_BRANCH_TYPES = {
    "O2track_iu": {"fIndexCollisions": "int32_t", "fTrackType": "uint8_t", "fSigned1Pt": "float"},
    "O2trackextra_002": {
        "fITSClusterSizes": "uint32_t",
        "fTPCNClsFindable": "uint8_t",
        "fTPCNClsFindableMinusFound": "int8_t",
        "fTPCNClsFindableMinusPID": "int8_t",
        "fTRDPattern": "uint8_t",
        "fFlags": "uint32_t",
        "fTPCSignal": "float",
    },
    "O2mctracklabel": {"fIndexMcParticles": "int32_t", "fMcMask": "uint16_t"},
    "O2mcparticle_001": {
        "fPdgCode": "int32_t",
        "fIndexArray_Mothers_size": "int32_t",
        "fIndexArray_Mothers": "int32_t[]",
        "fIndexSlice_Daughters": "int32_t[2]",
    },
}


def _aod_folder(rng: np.random.Generator, n_tracks: int, n_particles: int) -> dict:
    """One DF_ folder: tracks (TracksIU + TracksExtra_002 + McTrackLabels) and MC particles."""
    iu = pd.DataFrame({c.name: rng.random(n_tracks) for c in TRACKS_IU.columns})
    iu["fIndexCollisions"] = 0
    extra = pd.DataFrame({c.name: rng.random(n_tracks) for c in TRACKS_EXTRA.columns})
    extra["fITSClusterSizes"] = rng.integers(0, 2**28, n_tracks)
    labels = pd.DataFrame(
        {"fIndexMcParticles": rng.integers(-1, n_particles, n_tracks), "fMcMask": 0}
    )
    particles = pd.DataFrame({c.name: rng.random(n_particles) for c in MC_PARTICLES.columns})
    particles["fPdgCode"] = rng.choice([211, -321, 2212, 11], n_particles)
    particles["fIndexArray_Mothers"] = [np.arange(k % 3) for k in range(n_particles)]
    particles["fIndexSlice_Daughters"] = [np.array([-1, -1])] * n_particles
    return {TRACKS_IU: iu, TRACKS_EXTRA: extra, MC_TRACK_LABELS: labels, MC_PARTICLES: particles}


@pytest.fixture(scope="module")
def aod(tmp_path_factory):
    """An AO2D with three DF_ folders of different sizes, and the frames written into it."""
    rng = np.random.default_rng(7)
    folders = [_aod_folder(rng, n, m) for n, m in ((50, 30), (20, 8), (35, 40))]
    path = tmp_path_factory.mktemp("aod") / "AO2D.root"
    io.write_aod(path, folders)
    return path, folders


def test_the_tree_layout_is_that_of_o2(aod):
    path, folders = aod
    with uproot.open(path) as f:
        assert sorted(k.split(";")[0] for k in f.keys(recursive=False)) == ["DF_1", "DF_2", "DF_3"]
        for d, folder in zip(("DF_1", "DF_2", "DF_3"), folders, strict=True):
            assert sorted(f[d].keys(cycle=False)) == sorted(O2_BRANCH_TYPES)
            assert f[f"{d}/O2track_iu"].num_entries == len(folder[TRACKS_IU])
        for tree, types in O2_BRANCH_TYPES.items():
            t = f[f"DF_1/{tree}"]
            assert type(t).__name__.startswith("Model_TTree"), tree  # TTrees, as O2 writes
            assert {b: t[b].typename for b in types} == types, tree
        declared = [c.name for c in TRACKS_EXTRA.columns]
        assert list(f["DF_2/O2trackextra_002"].keys()) == declared  # O2's column order


def test_a_join_puts_the_tables_of_each_folder_side_by_side(aod):
    path, folders = aod
    joined = io.read_table(path, ["TracksIU", "O2trackextra_002", "McTrackLabels"])
    assert len(joined) == sum(len(f[TRACKS_IU]) for f in folders)
    for table in (TRACKS_IU, TRACKS_EXTRA, MC_TRACK_LABELS):
        for c in table.columns:
            expected = np.concatenate([f[table][c.name].to_numpy() for f in folders])
            np.testing.assert_array_equal(joined[c.name], expected.astype(c.numpy_dtype))
    # a column the caller asks for, with a selection on another one
    some = io.read_table(
        path, ["TracksIU", "McTrackLabels"], ["fSigned1Pt"], selection="fIndexMcParticles >= 0"
    )
    assert list(some.columns) == ["fSigned1Pt"] and 0 < len(some) < len(joined)


def test_a_name_two_joined_tables_share_is_kept_from_both(tmp_path):
    """Tracks (propagated) and TracksIU (innermost update) share their parameter names."""
    rng = np.random.default_rng(3)
    folder = _aod_folder(rng, 12, 4)
    folder[TRACKS] = folder[TRACKS_IU].assign(fX=0.0, fTrackType=1)
    path = io.write_aod(tmp_path / "AO2D.root", [folder, folder])
    joined = io.read_table(path, ["TracksIU", "Tracks", "TracksExtra_002"])
    assert {"TracksIU.fX", "Tracks.fX"} <= set(joined.columns)
    assert "fX" not in joined and "fITSClusterSizes" in joined  # a name only one table has
    assert (joined["Tracks.fX"] == 0).all() and (joined["TracksIU.fX"] != 0).any()
    with pytest.raises(ColumnNotFoundError, match="TracksIU.fX"):
        io.read_table(path, ["TracksIU", "Tracks"], ["fX"])


def test_following_an_index_gives_each_track_its_particle(aod):
    path, folders = aod
    pdg = io.follow_index(path, "McTrackLabels", "fIndexMcParticles", "McParticles_001",
                          columns=["fPdgCode", "fPx"])  # fmt: skip
    expected_pdg, expected_px = [], []
    for f in folders:  # indices count rows of the particle table of the same folder
        idx = f[MC_TRACK_LABELS]["fIndexMcParticles"].to_numpy()
        parts = f[MC_PARTICLES]
        expected_pdg.append(np.where(idx >= 0, parts["fPdgCode"].to_numpy()[idx], 0))
        px = parts["fPx"].to_numpy(np.float32)[idx]
        expected_px.append(np.where(idx >= 0, px, np.nan))
    np.testing.assert_array_equal(pdg["fPdgCode"], np.concatenate(expected_pdg))
    np.testing.assert_array_equal(pdg["fPx"], np.concatenate(expected_px))
    assert (pdg["fPdgCode"] == 0).any()  # fake tracks (index -1) are in the sample


def _listing(folder):
    return sorted((p.name, p.stat().st_mtime_ns) for p in folder.iterdir())


def test_tables_of_different_lengths_are_a_clear_error(aod):
    path, _ = aod
    before = _listing(path.parent)
    with pytest.raises(JoinError) as err:
        io.read_table(path, ["TracksIU", "McParticles_001"])
    text = str(err.value)
    assert str(path) in text and "TracksIU" in text and "McParticles_001" in text
    assert "DF_1" in text and "50 rows" in text and "30" in text
    assert _listing(path.parent) == before  # nothing written


def test_an_index_outside_its_table_is_a_clear_error(tmp_path):
    rng = np.random.default_rng(1)
    folders = [_aod_folder(rng, 10, 5), _aod_folder(rng, 10, 5)]
    folders[1][MC_TRACK_LABELS].loc[3, "fIndexMcParticles"] = 5  # one past the last particle
    path = io.write_aod(tmp_path / "AO2D.root", folders)
    before = _listing(tmp_path)
    with pytest.raises(JoinError) as err:
        io.follow_index(
            path, "McTrackLabels", "fIndexMcParticles", "McParticles_001", columns=["fPdgCode"]
        )
    text = str(err.value)
    assert str(path) in text and "DF_2" in text and "fIndexMcParticles = 5" in text
    assert "McParticles_001" in text and "5 rows" in text
    assert _listing(tmp_path) == before


def test_tables_in_different_folders_are_a_clear_error(tmp_path):
    rng = np.random.default_rng(2)
    first = _aod_folder(rng, 10, 5)
    second = {TRACKS_IU: _aod_folder(rng, 10, 5)[TRACKS_IU]}  # DF_2 has no McTrackLabels
    path = io.write_aod(tmp_path / "AO2D.root", [first, second])
    with pytest.raises(JoinError, match=r"only TracksIU: \['DF_2'\]"):
        io.read_table(path, ["TracksIU", "McTrackLabels"])


def test_pidml_tables_as_the_producer_fills_them(tmp_path):
    generate("pid", tmp_path, seed=4, sizes=(6000, 6000), with_truth=True, progress=False)
    mc = io.read_table(tmp_path / "pid_mc.root", PID_TRACKS_MC_ML)
    data = io.read_table(tmp_path / "pid_data.root", PID_TRACKS_DATA_ML)
    assert list(mc.columns) == PID_TRACKS_MC_ML.column_names("mc")
    assert list(data.columns) == PID_TRACKS_DATA_ML.column_names("data", truth=True)
    for frame, table in ((mc, PID_TRACKS_MC_ML), (data, PID_TRACKS_DATA_ML)):
        assert {c: frame[c].dtype for c in frame} == {c: table[c].numpy_dtype for c in frame}
        # pidMlProducer: NaN TOF without TOF; NaN TRD signal and pattern 0 without TRD
        no_tof, no_trd = np.isnan(frame["fTOFSignal"]), np.isnan(frame["fTRDSignal"])
        assert (np.isnan(frame["fBeta"]) == no_tof).all() and 0.2 < no_tof.mean() < 0.95
        assert ((frame["fTRDPattern"] == 0) == no_trd).all() and 0.05 < no_trd.mean() < 0.9
        assert not frame[["fTPCSignal", "fP", "fPx", "fPy", "fPz", "fDcaXY"]].isna().any().any()
        np.testing.assert_allclose(np.hypot(frame["fPx"], frame["fPy"]), frame["fPt"], rtol=1e-5)
        assert (np.abs(np.arcsinh(frame["fPz"] / frame["fPt"])) < 0.8).all()  # global tracks
        assert set(np.unique(frame["fSign"])) == {-1.0, 1.0} and (frame["fTrackType"] == 1).all()
    assert set(np.unique(np.abs(mc["fPdgCode"]))) == {11, 211, 321, 2212}
    # the AO2D tables beside them: a detector that did not see the track has O2's -999
    extra = io.read_table(tmp_path / "pid_mc.root", TRACKS_EXTRA)
    no_tof = extra["fTOFChi2"] < 0
    assert (extra.loc[no_tof, "fLength"] == -999).all() and (
        extra.loc[~no_tof, "fLength"] > 0
    ).all()
    assert ((extra["fTRDPattern"] == 0) == (extra["fTRDSignal"] == -999)).all()


def test_a_data_pidml_file_where_mc_truth_is_needed_is_a_clear_error(tmp_path):
    generate("pid", tmp_path, seed=5, sizes=(1000, 1000), progress=False)
    before = _listing(tmp_path)
    with pytest.raises(TableNotFoundError) as err:
        io.read_table(tmp_path / "pid_data.root", "PidTracksMcMl")
    text = str(err.value)
    assert "pid_data.root" in text and "PidTracksMcMl" in text and "O2pidtracksdataml" in text
    assert _listing(tmp_path) == before


def test_a_pidml_file_of_an_older_layout_names_the_missing_column(tmp_path):
    generate("pid", tmp_path, seed=6, sizes=(1000, 1000), progress=False)
    old = io.read_table(tmp_path / "pid_mc.root", "PidTracksMcMl").drop(columns=["fTRDPattern"])
    path = io.write_table(old, tmp_path / "old.root", "PidTracksMcMl", conform=False)
    assert len(io.read_table(path, "PidTracksMcMl")) == len(old)  # still read
    with pytest.raises(ColumnNotFoundError) as err:
        io.read_table(path, "PidTracksMcMl", ["fTPCSignal", "fTRDPattern"])
    text = str(err.value)
    assert "old.root" in text and "PidTracksMcMl" in text and "fTRDPattern" in text


def test_tracks_derived_from_the_aod_are_the_generated_tracks(tmp_path):
    """physics.pid_tracks joins TracksIU + TracksExtra_002 + V0Bits (+ the MC labels), derives
    p, η, φ as O2's dynamic columns do and computes nσ as pidTPC / pidTOF do: on the synthetic
    files that gives back the tracks the generator drew, to float precision."""
    from o2ml.physics.pid_tracks import columns, read_aod_tracks
    from o2ml.toymc.pid import generate_pid

    generate("pid", tmp_path, seed=8, sizes=(4000, 4000), with_truth=True, folders=3,
             progress=False)  # fmt: skip
    for kind, truth in (("mc", "fPdgCode"), ("data", "fTruthPdgCode")):
        tracks = read_aod_tracks(tmp_path / f"pid_{kind}.root")
        drawn = generate_pid(4000, 8, kind, with_truth=True)
        assert list(tracks.columns) == [*columns(), truth]
        np.testing.assert_array_equal(tracks[truth], drawn[truth])
        for c in ("fITSClusterSizes", "fTpcNClsFound", "fV0Tag"):
            np.testing.assert_array_equal(tracks[c], drawn[c], err_msg=c)
        for c in columns():
            atol = 1e-3 if "NSigma" in c else 1e-6  # nσ from float32 inputs, like pidTPC's
            np.testing.assert_allclose(tracks[c], drawn[c], rtol=1e-5, atol=atol, err_msg=c)
    data = read_aod_tracks(tmp_path / "pid_data.root", truth=False)
    assert "fTruthPdgCode" not in data
    generate("pid", tmp_path / "real", seed=8, sizes=(1000, 1000), progress=False)
    with pytest.raises(TableNotFoundError, match="pid_data.root: the true species need MC"):
        read_aod_tracks(tmp_path / "real" / "pid_data.root", truth=True)
