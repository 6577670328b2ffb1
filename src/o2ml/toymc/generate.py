"""Write the synthetic samples to disk: ``<sample>_<kind>.root`` + expected signal + manifest."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from filelock import FileLock

from .. import __version__
from ..channels import CHANNELS
from ..config import fast_mode
from ..errors import (
    BadArgumentError,
    OutputExistsError,
    SampleMismatchError,
)
from ..io import table_checksum, write_table
from ..schema import get_table

if TYPE_CHECKING:
    from ._kinematics import CharmSample

#: the charm channels of o2ml.channels (``ds``, ``lc``, ``dplus``), then the PID and TPC samples
SAMPLES = (*CHANNELS, "pid", "tpc")
#: (data, MC) sizes: a channel's are its ``SAMPLE_SIZES``; PID tracks for both domains, TPC
#: skims: rows per tree (V0, TOF) in data and in MC (notebook 05)
DEFAULT_SIZES = {
    **{name: c.SAMPLE_SIZES["full"] for name, c in CHANNELS.items()},
    "pid": (400_000, 400_000),
    "tpc": (400_000, 100_000),
}
#: O2ML_FAST / --fast: notebooks run in about a minute
FAST_SIZES = {
    **{name: c.SAMPLE_SIZES["fast"] for name, c in CHANNELS.items()},
    "pid": (60_000, 60_000),
    "tpc": (100_000, 25_000),
}
#: the TPC skim files: {kind: {tree: file name}} (one table per file)
TPC_FILES = {
    kind: {tree: f"tpc_{tree}_{kind}.root" for tree in ("v0", "tof")} for kind in ("data", "mc")
}
MANIFEST = "manifest.json"
#: bumped whenever the generator writes other content for the same seed and sizes: samples
#: written by another version are made again (:func:`ensure_sample`)
GENERATOR_VERSION = 6  # 2: lite tables, MC flags, reflections, MC bkg; 3: V0 tags of the PID tracks
# 4 (#31, tables of O2Physics master 9647b514, schema.TABLES[...].commit): Ds fPdgBhadMotherPart,
# fCentrality -1, fY with the row's mass; Λc fCentFT0C; unmatched MC candidates
# fIsCandidateSwapped 0; TPC skims fIsGoodRct, fNormNClustersTPCPID = tpcNClsPID, V0 fNSigTOF;
# the PID files hold the O2 tables (TracksIU, TracksExtra_002, V0Bits, MC labels and particles,
# PIDML) instead of a table of o2ml's own; 5 (#32): Ds combinatorial background built from three tracks
# of the row's mass (_kinematics.prongs_at_mass), so prong pT, openings and d0 follow the mass;
# 6 (#32): the same for the Λc combinatorial background (p K pi or pi K p at the row's mass);
# the D+ -> pi K pi sample (HfCandDpLites, o2ml.toymc.three_prong) is new in version 6


def generator_of(physics) -> Callable[..., CharmSample]:
    """The generator that draws a channel's sample from its physics spec (``channel.GENERATOR``),
    chosen by the spec's type, the most specific first: ``generator(channel, n_data, n_mc, seed,
    *, with_truth, progress)``. A type of no generator is a :class:`BadArgumentError`."""
    from ..channels import KKPiPhysics, PKPiPhysics, ThreeProngPhysics
    from . import charm, lc, three_prong

    generators = {
        ThreeProngPhysics: three_prong.generate,  # one hypothesis per candidate (D+ -> π K π)
        KKPiPhysics: charm.generate_kkpi,  # K K π with φ, a partner peak and reflections (Ds)
        PKPiPhysics: lc.generate_pkpi,  # p K π with reflections (Λc)
    }
    for kind in type(physics).__mro__:
        if kind in generators:
            return generators[kind]
    raise BadArgumentError(
        f"no generator draws a sample from a {type(physics).__name__}; o2ml's generators take "
        + ", ".join(k.__name__ for k in generators)
        + "."
    )


def draw(
    channel: str | ModuleType,
    n_data: int,
    n_mc: int,
    seed: int,
    *,
    with_truth: bool = False,
    progress: bool = False,
) -> CharmSample:
    """The data and MC frames and expected signal of a charm channel's sample, in memory:
    ``channel`` is a module of :mod:`o2ml.channels` or a name :func:`o2ml.channels.get` knows
    (``"ds"``, ``"Lc"``, ``"DplusToPiKPi"``), drawn by :func:`generator_of` its ``GENERATOR``.
    Same arguments, bit-identical frames (what :func:`generate` writes for that seed and sizes)."""
    from ..channels import get

    module = channel if hasattr(channel, "GENERATOR") else get(channel)
    generator = generator_of(module.GENERATOR)
    return generator(module, n_data, n_mc, seed, with_truth=with_truth, progress=progress)


def sample_files(sample: str) -> list[str]:
    """Names of the files a sample writes into the output directory."""
    if sample in CHANNELS:
        return [f"{sample}_data.root", f"{sample}_mc.root", f"{sample}_expected_signal.json"]
    if sample == "pid":
        return ["pid_mc.root", "pid_data.root"]
    if sample == "tpc":
        return [name for files in TPC_FILES.values() for name in files.values()]
    raise BadArgumentError(
        f"Unknown sample {sample!r}; expected one of {', '.join(SAMPLES)} or 'all'."
    )


def generate(
    sample: str,
    out: str | Path,
    seed: int = 42,
    *,
    sizes: str | tuple | None = None,
    with_truth: bool = False,
    overwrite: bool = False,
    folders: int = 4,
    progress: bool = True,
) -> dict:
    """Generate ``sample`` (``ds``, ``lc``, ``dplus``, ``pid``, ``tpc`` or ``all``) into ``out``.

    ``sizes``: ``"full"`` or ``"fast"`` (the default sizes of each sample, or the small ones of
    O2ML_FAST); ``(n_data, n_mc)`` (candidates or tracks; a None entry takes the default of the
    mode :func:`o2ml.config.fast_mode` says); ``("fast" or "full", n_data, n_mc)`` (a None entry
    takes that mode's default: ``o2ml generate --fast --n-data N``); or None (``"fast"`` in fast
    mode, else ``"full"``).

    Returns the manifest (also written to ``out/manifest.json``, merged with an existing one):
    generator version, seed, sizes and a content checksum of every table written.
    """
    samples = list(SAMPLES) if sample == "all" else [sample]
    for s in samples:
        sample_files(s)  # unknown sample -> a clear error
    modes = ("fast", "full")
    if sizes is None or sizes in modes:
        sizes = ("fast" if sizes is None and fast_mode() else sizes or "full", None, None)
    elif isinstance(sizes, tuple | list) and len(sizes) == 2:
        sizes = ("fast" if fast_mode() else "full", *sizes)
    if not (isinstance(sizes, tuple | list) and len(sizes) == 3 and sizes[0] in modes):
        raise BadArgumentError(
            "generate: sizes must be 'fast', 'full', (n_data, n_mc) or ('fast' or 'full', n_data, "
            f"n_mc), got {sizes!r}."
        )
    fast, n_data, n_mc = sizes[0] == "fast", sizes[1], sizes[2]
    for name, value in (("n_data", n_data), ("n_mc", n_mc), ("folders", folders)):
        if value is not None and value < 1:
            raise BadArgumentError(f"generate: {name} must be a positive number, got {value}.")
    out = Path(out)
    targets = [out / name for s in samples for name in sample_files(s)]
    if not overwrite:
        existing = [str(t) for t in targets if t.exists()]
        if existing:
            raise OutputExistsError(
                f"{', '.join(existing)}: already there; pass --overwrite (overwrite=True) to replace."
            )
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest.update(
        {"generator": "o2ml.toymc", "version": __version__, "generator_version": GENERATOR_VERSION}
    )
    manifest.setdefault("samples", {})
    for s in samples:
        sizes = FAST_SIZES[s] if fast else DEFAULT_SIZES[s]
        nd = sizes[0] if n_data is None else n_data
        nm = sizes[1] if n_mc is None else n_mc
        files = _generate_one(s, out, seed, nd, nm, with_truth, folders, progress)
        manifest["samples"][s] = {
            "generator_version": GENERATOR_VERSION,
            "seed": seed,
            "n_data": nd,
            "n_mc": nm,
            "with_truth": with_truth,
            "fast": fast,
            "files": files,
        }
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    tmp.replace(manifest_path)
    return manifest


def _generate_one(
    sample: str,
    out: Path,
    seed: int,
    n_data: int,
    n_mc: int,
    truth: bool,
    folders: int,
    progress: bool,
) -> dict:
    files = {}

    def write(df, name, table):
        write_table(df, out / name, table, folders=folders, overwrite=True)
        files[name] = {
            "table": table.name,
            "entries": len(df),
            "sha256": table_checksum(df),
            "file_sha256": file_checksum(out / name),
        }

    if sample in CHANNELS:
        channel = CHANNELS[sample]
        table = get_table(channel.TABLE)
        result = draw(channel, n_data, n_mc, seed, with_truth=truth, progress=progress)
        write(result.data, f"{sample}_data.root", table)
        write(result.mc, f"{sample}_mc.root", table)
        name = f"{sample}_expected_signal.json"
        (out / name).write_text(json.dumps(result.expected_signal, indent=1) + "\n")
        files[name] = {
            "table": None,
            "entries": None,
            "sha256": None,
            "file_sha256": file_checksum(out / name),
        }
    elif sample == "tpc":
        from ..schema import TPC_SKIM_TOF, TPC_SKIM_V0
        from .tpc import generate_tpc_skims

        for kind, n in (("data", n_data), ("mc", n_mc)):
            skims = generate_tpc_skims(n, seed, kind, with_truth=truth)
            write(skims[TPC_SKIM_V0.name], TPC_FILES[kind]["v0"], TPC_SKIM_V0)
            write(skims[TPC_SKIM_TOF.name], TPC_FILES[kind]["tof"], TPC_SKIM_TOF)
    else:
        from ..io import write_aod
        from .pid import generate_pid
        from .pid_tables import pid_tables, split_folders

        for kind, n in (("mc", n_mc), ("data", n_data)):
            # the truth sets the detector responses; it is written only on request
            tracks = generate_pid(n, seed, kind, with_truth=True, progress=progress)
            tables = pid_tables(tracks, seed, kind, with_truth=truth)
            name = f"pid_{kind}.root"
            write_aod(out / name, split_folders(tables, folders), overwrite=True)
            sums = {
                t: table_checksum(df.drop(columns="_track", errors="ignore"))
                for t, df in tables.items()
            }
            files[name] = {
                "tables": {t: {"entries": len(tables[t]), "sha256": d} for t, d in sums.items()},
                # the file's content: the checksums of its tables, in a fixed order
                "sha256": hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest(),
                "file_sha256": file_checksum(out / name),
            }
    return files


@dataclass(frozen=True)
class Sample:
    """Paths of a generated sample."""

    directory: Path
    data: Path
    mc: Path
    expected_signal: Path | None


def default_data_dir(fast: bool | None = None) -> Path:
    """Where the bundled synthetic sample lives: ``$O2ML_DATA``, else ``data/`` of this checkout
    (``data/fast`` in fast mode), else ``~/.cache/o2ml/data``."""
    fast = fast_mode() if fast is None else fast
    if os.environ.get("O2ML_DATA"):
        base = Path(os.environ["O2ML_DATA"])
    else:
        checkout = Path(__file__).resolve().parents[3]
        base = (
            checkout / "data"
            if (checkout / "pyproject.toml").exists()
            else Path.home() / ".cache/o2ml/data"
        )
    return base / "fast" if fast else base


def file_checksum(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manifest_entry(directory: Path, sample: str) -> dict | None:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if manifest.get("generator") != "o2ml.toymc":
        return None
    return manifest.get("samples", {}).get(sample)


def sample_differences(
    sample: str, directory: str | os.PathLike, *, seed: int = 42, fast: bool = False
) -> list[str]:
    """How the ``sample`` in ``directory`` differs from the one asked for (empty: it matches).

    Compared with ``directory/manifest.json``: generator version, seed, sizes (the default ones of
    ``fast``), truth, and the SHA-256 of every file's bytes (a file changed since it was written).
    """
    directory = Path(directory)
    names = sample_files(sample)
    missing = [n for n in names if not (directory / n).exists()]
    if missing:
        return [f"missing {', '.join(missing)}"]
    entry = _manifest_entry(directory, sample)
    if entry is None:
        return [f"{directory / MANIFEST} does not list the {sample!r} sample"]
    n_data, n_mc = FAST_SIZES[sample] if fast else DEFAULT_SIZES[sample]
    wanted = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "n_data": n_data,
        "n_mc": n_mc,
        "with_truth": True,
    }
    out = [f"{k} {entry.get(k)!r}, expected {v!r}" for k, v in wanted.items() if entry.get(k) != v]
    out += _changed_files(directory, entry, names)
    return out


def _changed_files(directory: Path, entry: dict, names: list[str]) -> list[str]:
    out = []
    for name in names:
        recorded = entry.get("files", {}).get(name, {}).get("file_sha256")
        if recorded is not None and (directory / name).exists():
            if file_checksum(directory / name) != recorded:
                out.append(f"{name} changed since it was generated (SHA-256 differs)")
    return out


def ensure_sample(
    sample: str, directory: str | Path | None = None, seed: int = 42, fast: bool | None = None
) -> Sample:
    """Paths of a synthetic sample (``ds``, ``lc``, ``pid`` or ``tpc``), generated with truth if needed.

    The sample in ``directory`` is used only if its manifest matches what is asked
    (:func:`sample_differences`: generator version, seed, sizes, truth, file checksums). A sample
    that o2ml wrote with other settings is made again, with a warning naming the difference;
    files that o2ml did not write (not in the manifest) or that changed since are never replaced:
    :class:`~o2ml.errors.SampleMismatchError` names the difference. Safe when several notebooks
    ask at once (a file lock serialises generation).
    """
    fast = fast_mode() if fast is None else fast
    directory = Path(directory) if directory is not None else default_data_dir(fast)
    names = sample_files(sample)
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(directory / ".generate.lock"):  # portable (fcntl is POSIX-only)
        differences = sample_differences(sample, directory, seed=seed, fast=fast)
        present = [n for n in names if (directory / n).exists()]
        if differences and present:
            entry = _manifest_entry(directory, sample)
            foreign = entry is None or set(present) - set(entry.get("files", {}))
            changed = entry is not None and _changed_files(directory, entry, present)
            if foreign or changed:
                raise SampleMismatchError(
                    f"{directory}: expected the o2ml {sample!r} sample (seed {seed}, "
                    f"{'fast' if fast else 'full'} sizes), found {'; '.join(differences)}. "
                    f"These files were not written by o2ml or changed since, so they are not "
                    "replaced: move them, or choose another directory."
                )
            warnings.warn(
                f"{directory}: making the {sample!r} sample again ({'; '.join(differences)}).",
                stacklevel=2,
            )
        if differences:
            generate(
                sample,
                directory,
                seed=seed,
                sizes="fast" if fast else "full",
                with_truth=True,
                overwrite=True,
                progress=False,
            )
    if sample == "pid":
        return Sample(directory, directory / "pid_data.root", directory / "pid_mc.root", None)
    if sample == "tpc":  # the V0 trees; the TOF trees sit next to them (TPC_FILES)
        files = {k: directory / TPC_FILES[k]["v0"] for k in ("data", "mc")}
        return Sample(directory, files["data"], files["mc"], None)
    return Sample(directory, *(directory / n for n in names))
