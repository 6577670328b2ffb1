"""o2ml.io: round trips, DF_ merging, ROOT cycles and every user error."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest
import uproot

from o2ml import cli, errors, io
from o2ml.schema import HF_CAND_DS_LITES, TRACKS_EXTRA

TREE = HF_CAND_DS_LITES.tree_name


def make_ds(n: int, seed: int = 1, kind: str = "data") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = HF_CAND_DS_LITES.column_names(kind)
    df = pd.DataFrame({c: rng.normal(size=n).astype(HF_CAND_DS_LITES[c].dtype) for c in cols})
    df["fPt"] = rng.uniform(1, 12, n).astype(np.float32)
    return df


@pytest.fixture
def ds() -> pd.DataFrame:
    return make_ds(1000)


@pytest.mark.parametrize("ext", ["root", "parquet"])
def test_round_trip(tmp_path, ds, ext):
    path = io.write_table(ds, tmp_path / f"ds_data.{ext}", HF_CAND_DS_LITES, folders=3)
    back = io.read_table(path, "HfCandDsLites")
    pd.testing.assert_frame_equal(back, ds)
    assert io.content_checksum(path, HF_CAND_DS_LITES) == io.table_checksum(ds)


def test_mc_columns_and_integer_dtypes_round_trip(tmp_path):
    mc = make_ds(50, kind="mc")
    mc["fOriginMcRec"] = np.int8(2)
    path = io.write_table(mc, tmp_path / "ds_mc.root", HF_CAND_DS_LITES)
    back = io.read_table(path, HF_CAND_DS_LITES, columns=["fOriginMcRec", "fM"])
    assert back["fOriginMcRec"].dtype == np.int8
    assert (back["fOriginMcRec"] == 2).all()


def test_df_folders_are_merged_in_order(tmp_path, ds):
    path = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES, folders=4)
    with uproot.open(path) as f:
        folders = sorted(k for k, v in f.classnames().items() if v == "TDirectory")
        sizes = [f[f"{d.split(';')[0]}/{TREE}"].num_entries for d in folders]
    assert len(folders) == 4 and sum(sizes) == len(ds) and min(sizes) > 0
    back = io.read_table(path, TREE, columns=["fPt"])
    np.testing.assert_array_equal(back["fPt"].to_numpy(), ds["fPt"].to_numpy())


def test_natural_folder_order_and_last_cycle_only(tmp_path):
    """DF_10 comes after DF_2, and of two cycles of a key only the last one is read."""
    path = tmp_path / "cycles.root"
    with uproot.recreate(path) as f:
        for folder, values in [("DF_10", [3.0]), ("DF_2", [1.0, 2.0])]:
            f.mktree(f"{folder}/{TREE}", {"fPt": "f4"}).extend({"fPt": np.array(values, "f4")})
        # an older cycle of DF_2's tree, then the newer one that must win
        f.mktree(f"DF_2/{TREE}", {"fPt": "f4"}).extend({"fPt": np.array([1.0, 2.0, 9.0], "f4")})
    back = io.read_table(path, HF_CAND_DS_LITES)
    np.testing.assert_array_equal(back["fPt"].to_numpy(), [1.0, 2.0, 9.0, 3.0])


def test_rntuple_folders_are_read_like_trees(tmp_path, ds, capsys):
    """uproot >= 5.7 writes an RNTuple for a plain dict (and ROOT 6.34+ can): read it the same."""
    path = tmp_path / "rntuple.root"
    half = len(ds) // 2
    with uproot.recreate(path) as f:
        for folder, part in (("DF_1", ds.iloc[:half]), ("DF_2", ds.iloc[half:])):
            f[f"{folder}/{TREE}"] = {c: part[c].to_numpy() for c in ("fM", "fPt", "fCpa")}
    with uproot.open(path) as f:
        assert set(f.classnames(recursive=True).values()) == {"TDirectory", "ROOT::RNTuple"}
    (info,) = io.describe(path)
    assert (info.tree, info.kind, info.entries) == (TREE, "RNTuple", len(ds))
    assert info.columns == {"fM": "float32", "fPt": "float32", "fCpa": "float32"}
    back = io.read_table(path, HF_CAND_DS_LITES, columns=["fPt", "fCpa"], selection="fPt > 2")
    expected = ds.loc[ds["fPt"] > 2, ["fPt", "fCpa"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(back, expected)
    assert cli.main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{TREE} (table HfCandDsLites) (RNTuple): {len(ds)} entries in 2 DF_ folders" in out


def test_file_without_tables_says_what_it_holds(tmp_path):
    path = tmp_path / "histograms.root"
    with uproot.recreate(path) as f:
        f["hMass"] = np.histogram(np.arange(10.0), bins=5)
    with pytest.raises(
        errors.TableNotFoundError, match=r"no TTree or RNTuple \(found TH1D 'hMass'\)"
    ):
        io.read_table(path, HF_CAND_DS_LITES)


def test_glob_and_list_of_files(tmp_path, ds):
    for i in range(3):
        io.write_table(
            ds.iloc[i * 100 : (i + 1) * 100], tmp_path / f"part{i}.root", HF_CAND_DS_LITES
        )
    by_glob = io.read_table(str(tmp_path / "part*.root"), HF_CAND_DS_LITES, columns=["fPt"])
    by_list = io.read_table(sorted(tmp_path.glob("part*.root")), HF_CAND_DS_LITES, columns=["fPt"])
    np.testing.assert_array_equal(by_glob["fPt"].to_numpy(), ds["fPt"].to_numpy()[:300])
    pd.testing.assert_frame_equal(by_glob, by_list)


def test_selection_with_columns_not_requested(tmp_path, ds):
    path = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES, folders=2)
    got = io.read_table(path, HF_CAND_DS_LITES, columns=["fM"], selection="fPt > 4 and fPt < 6")
    want = ds.loc[(ds.fPt > 4) & (ds.fPt < 6), ["fM"]].reset_index(drop=True)
    assert list(got.columns) == ["fM"]
    pd.testing.assert_frame_equal(got, want)


def test_undeclared_tree_read_by_its_name(tmp_path):
    path = tmp_path / "other.root"
    with uproot.recreate(path) as f:
        f.mktree("DF_1/O2mytable", {"fX": "i4"}).extend({"fX": np.arange(4, dtype="i4")})
    assert io.read_table(path, "O2mytable")["fX"].tolist() == [0, 1, 2, 3]


def test_pid_packed_cluster_sizes_are_unsigned(tmp_path):
    n = 10
    df = pd.DataFrame({c.name: np.zeros(n, c.numpy_dtype) for c in TRACKS_EXTRA.columns})
    df["fITSClusterSizes"] = np.uint32(0xFFFFFFF)
    path = io.write_table(df, tmp_path / "pid_mc.root", TRACKS_EXTRA)
    assert io.read_table(path, TRACKS_EXTRA)["fITSClusterSizes"].dtype == np.uint32


# ------------------------------------------------------------------------------------ errors


def test_missing_file(tmp_path):
    with pytest.raises(errors.InputFileNotFoundError, match="nope.root: no such file"):
        io.read_table(tmp_path / "nope.root", HF_CAND_DS_LITES)


def test_glob_matching_nothing(tmp_path):
    with pytest.raises(errors.InputFileNotFoundError, match="matches no file"):
        io.read_table(str(tmp_path / "*.root"), HF_CAND_DS_LITES)


def test_not_a_root_or_parquet_file(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(errors.BadFileError, match="notes.txt: expected a ROOT .* or parquet"):
        io.read_table(bad, HF_CAND_DS_LITES)
    fake = tmp_path / "fake.root"
    fake.write_text("definitely not ROOT")
    with pytest.raises(errors.BadFileError, match="fake.root: not a readable ROOT file"):
        io.read_table(fake, HF_CAND_DS_LITES)
    fake_pq = tmp_path / "fake.parquet"
    fake_pq.write_bytes(b"PAR1 garbage")
    with pytest.raises(errors.BadFileError, match="fake.parquet: not a readable parquet file"):
        io.read_table(fake_pq, HF_CAND_DS_LITES)


@pytest.mark.parametrize("ext", ["root", "parquet"])
def test_truncated_file(tmp_path, ds, ext):
    path = io.write_table(make_ds(20000), tmp_path / f"full.{ext}", HF_CAND_DS_LITES, folders=2)
    cut = tmp_path / f"cut.{ext}"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.BadFileError, match="cut"):
        io.read_table(cut, HF_CAND_DS_LITES)


def test_table_not_found_lists_tables(tmp_path, ds):
    path = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES)
    with pytest.raises(
        errors.TableNotFoundError, match=r"HfCandLcLites .*the file holds: O2hfcanddslite"
    ):
        io.read_table(path, "HfCandLcLites")
    pq = io.write_table(ds, tmp_path / "x.parquet", HF_CAND_DS_LITES)
    with pytest.raises(errors.TableNotFoundError, match="the file holds: HfCandDsLites"):
        io.read_table(pq, "HfCandLcLites")


def test_missing_column_names_closest(tmp_path, ds):
    path = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES)
    with pytest.raises(
        errors.ColumnNotFoundError, match=r"x.root: .*no column 'fDecayLenght'.*'fDecayLength'"
    ):
        io.read_table(path, HF_CAND_DS_LITES, columns=["fPt", "fDecayLenght"])


@pytest.mark.parametrize("ext", ["root", "parquet"])
def test_file_of_an_older_producer_is_read_and_a_needed_column_is_named(tmp_path, ext):
    """A Ds file written before O2Physics added fPdgBhadMotherPart (treeCreatorDsToKKPi.cxx,
    9beb96e7; o2ml follows schema.HF_CAND_DS_LITES.commit): read as it is; asking for the column
    names the file, the table and the column."""
    old = make_ds(500, kind="mc").drop(columns=["fPdgBhadMotherPart"])
    path = io.write_table(old, tmp_path / f"old.{ext}", HF_CAND_DS_LITES, conform=False)
    df = io.read_table(path, HF_CAND_DS_LITES)
    assert list(df.columns) == list(old.columns) and len(df) == 500
    assert cli.missing_columns(HF_CAND_DS_LITES, df.columns) == ["fPdgBhadMotherPart"]
    pattern = rf"old.{ext}: table HfCandDsLites has no column 'fPdgBhadMotherPart'"
    with pytest.raises(errors.ColumnNotFoundError, match=pattern):
        io.read_table(path, HF_CAND_DS_LITES, columns=["fPt", "fPdgBhadMotherPart"])
    with pytest.raises(errors.ColumnNotFoundError, match=pattern):
        next(io.iter_table(path, HF_CAND_DS_LITES, ["fPdgBhadMotherPart"]))


def test_empty_after_selection(tmp_path, ds):
    path = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES)
    with pytest.raises(errors.EmptySelectionError, match="empty after selection 'fPt > 100'"):
        io.read_table(path, HF_CAND_DS_LITES, selection="fPt > 100")


def test_bad_selection(tmp_path, ds):
    path = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES)
    with pytest.raises(errors.SelectionSyntaxError, match=r"'fPtt' is not in the table.*'fPt'"):
        io.read_table(path, HF_CAND_DS_LITES, selection="fPtt > 2")


def test_nan_and_inf_in_features(tmp_path, ds):
    ds.loc[[3, 7], "fCpa"] = np.nan
    ds.loc[5, "fDecayLength"] = np.inf
    path = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES)
    io.read_table(path, HF_CAND_DS_LITES)  # not a feature: fine
    with pytest.raises(
        errors.NonFiniteError, match=r"'fCpa': 2 of 1000; 'fDecayLength': 1 of 1000"
    ):
        io.read_table(path, HF_CAND_DS_LITES, finite=["fPt", "fCpa", "fDecayLength"])


def test_reading_never_writes_next_to_input(tmp_path, ds):
    path = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES, folders=2)
    before = sorted(os.listdir(tmp_path)), path.stat().st_mtime_ns
    io.read_table(path, HF_CAND_DS_LITES, selection="fPt > 3")
    io.describe(path)
    with pytest.raises(errors.ColumnNotFoundError):
        io.read_table(path, HF_CAND_DS_LITES, columns=["nope"])
    assert (sorted(os.listdir(tmp_path)), path.stat().st_mtime_ns) == before


def test_write_refuses_to_overwrite(tmp_path, ds):
    path = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES)
    before = path.read_bytes()
    with pytest.raises(errors.OutputExistsError, match="x.root: the file exists"):
        io.write_table(ds.iloc[:10], path, HF_CAND_DS_LITES)
    assert path.read_bytes() == before
    io.write_table(ds.iloc[:10], path, HF_CAND_DS_LITES, overwrite=True)
    assert len(io.read_table(path, HF_CAND_DS_LITES)) == 10
    assert sorted(os.listdir(tmp_path)) == ["x.root"]  # no temporary file left


def test_write_rejects_unknown_column_and_keeps_old_file(tmp_path, ds):
    path = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES)
    before = path.read_bytes()
    bad = ds.rename(columns={"fCpa": "fCPA"})
    with pytest.raises(
        errors.SchemaError, match=r"column 'fCPA' is not part of table HfCandDsLites.*'fCpa'"
    ):
        io.write_table(bad, path, HF_CAND_DS_LITES, overwrite=True)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["x.root"]


def test_write_unknown_extension(tmp_path, ds):
    with pytest.raises(errors.O2mlError, match="use a .root or .parquet extension"):
        io.write_table(ds, tmp_path / "x.csv", HF_CAND_DS_LITES)


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(errors.BadFileError, match="expected a file, found a directory"):
        io.read_table(tmp_path, HF_CAND_DS_LITES)


def test_read_only_input_is_fine(tmp_path, ds):
    src = io.write_table(ds, tmp_path / "x.root", HF_CAND_DS_LITES)
    ro = tmp_path / "ro"
    ro.mkdir()
    shutil.copy(src, ro / "x.root")
    os.chmod(ro / "x.root", 0o444)
    os.chmod(ro, 0o555)
    try:
        assert len(io.read_table(ro / "x.root", HF_CAND_DS_LITES)) == len(ds)
    finally:
        os.chmod(ro, 0o755)


@pytest.mark.parametrize("suffix", [".root", ".parquet"])
def test_metadata_travels_with_the_file(tmp_path, suffix):
    df = pd.DataFrame({"fM": np.linspace(1.7, 2.1, 50), "fPt": np.linspace(1, 10, 50)})
    meta = {"o2ml_apply": {"entries": 50, "input": "/data/run1/AO2D.root", "note": "Λc → pKπ"}}
    path = io.write_table(df, tmp_path / f"out{suffix}", "Scores", folders=2, metadata=meta)
    assert io.file_metadata(path) == meta
    assert [i.tree for i in io.describe(path)] == ["Scores"]  # the metadata is not a table
    pd.testing.assert_frame_equal(io.read_table(path, "Scores"), df)
    plain = io.write_table(df, tmp_path / f"plain{suffix}", "Scores")
    assert io.file_metadata(plain) is None
    with pytest.raises(errors.InputFileNotFoundError, match="no such file"):
        io.file_metadata(tmp_path / f"missing{suffix}")


def test_iter_table_reads_every_folder_in_chunks_and_checks_columns(tmp_path):
    """iter_table gives the rows of read_table (all DF_ folders, ROOT and parquet) in chunks of
    at most `step`; a missing column names the file and the table."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"fM": rng.random(2500), "fPt": rng.random(2500) * 10})
    root = io.write_table(df, tmp_path / "c.root", HF_CAND_DS_LITES, folders=3, conform=False)
    pq = io.write_table(df, tmp_path / "c.parquet", HF_CAND_DS_LITES, conform=False)
    for path in (root, pq):
        chunks = list(io.iter_table(path, HF_CAND_DS_LITES, ["fM", "fPt"], step=400))
        assert max(len(c) for c in chunks) <= 400 and len(chunks) >= 7
        pd.testing.assert_frame_equal(
            pd.concat(chunks, ignore_index=True),
            io.read_table(path, HF_CAND_DS_LITES, columns=["fM", "fPt"]),
            check_dtype=False,
        )
        with pytest.raises(errors.ColumnNotFoundError, match="has no column 'fCpa'"):
            next(io.iter_table(path, HF_CAND_DS_LITES, ["fM", "fCpa"]))
