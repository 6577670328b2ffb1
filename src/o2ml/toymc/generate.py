"""Write the synthetic samples to disk: ``<sample>_<kind>.root`` + expected signal + manifest."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from .. import __version__
from ..config import fast_mode
from ..errors import O2mlError, OutputExistsError
from ..io import table_checksum, write_table
from ..schema import HF_CAND_DS_LITES, HF_CAND_LC_LITES, PID_TRACKS

SAMPLES = ("ds", "lc", "pid")
#: (data, MC) sizes. Full: >= 1M Ds data candidates (notebook 1), 207k Lc sideband candidates
#: for the autoencoder (the CHEP 2024 poster's sample), PID tracks for both domains.
DEFAULT_SIZES = {"ds": (1_000_000, 200_000), "lc": (600_000, 100_000), "pid": (400_000, 400_000)}
#: O2ML_FAST / --fast: notebooks run in about a minute
FAST_SIZES = {"ds": (200_000, 40_000), "lc": (120_000, 20_000), "pid": (60_000, 60_000)}
MANIFEST = "manifest.json"


def sample_files(sample: str) -> list[str]:
    """Names of the files a sample writes into the output directory."""
    if sample in ("ds", "lc"):
        return [f"{sample}_data.root", f"{sample}_mc.root", f"{sample}_expected_signal.json"]
    if sample == "pid":
        return ["pid_mc.root", "pid_data.root"]
    raise O2mlError(f"Unknown sample {sample!r}; expected one of {', '.join(SAMPLES)} or 'all'.")


def generate(
    sample: str,
    out: str | Path,
    seed: int = 42,
    n_data: int | None = None,
    n_mc: int | None = None,
    with_truth: bool = False,
    fast: bool | None = None,
    overwrite: bool = False,
    folders: int = 4,
    progress: bool = True,
) -> dict:
    """Generate ``sample`` (``ds``, ``lc``, ``pid`` or ``all``) into directory ``out``.

    Returns the manifest (also written to ``out/manifest.json``, merged with an existing one):
    generator version, seed, sizes and a content checksum of every table written.
    """
    samples = list(SAMPLES) if sample == "all" else [sample]
    for s in samples:
        sample_files(s)  # unknown sample -> a clear error
    for name, value in (("n_data", n_data), ("n_mc", n_mc), ("folders", folders)):
        if value is not None and value < 1:
            raise O2mlError(f"generate: {name} must be a positive number, got {value}.")
    out = Path(out)
    fast = fast_mode() if fast is None else fast
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
    manifest.update({"generator": "o2ml.toymc", "version": __version__})
    manifest.setdefault("samples", {})
    for s in samples:
        sizes = FAST_SIZES[s] if fast else DEFAULT_SIZES[s]
        nd = sizes[0] if n_data is None else n_data
        nm = sizes[1] if n_mc is None else n_mc
        files = _generate_one(s, out, seed, nd, nm, with_truth, folders, progress)
        manifest["samples"][s] = {
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
        files[name] = {"table": table.name, "entries": len(df), "sha256": table_checksum(df)}

    if sample in ("ds", "lc"):
        from . import charm

        make, table = (
            (charm.generate_ds, HF_CAND_DS_LITES)
            if sample == "ds"
            else (charm.generate_lc, HF_CAND_LC_LITES)
        )
        result = make(n_data, n_mc, seed, with_truth=truth, progress=progress)
        write(result.data, f"{sample}_data.root", table)
        write(result.mc, f"{sample}_mc.root", table)
        name = f"{sample}_expected_signal.json"
        (out / name).write_text(json.dumps(result.expected_signal, indent=1) + "\n")
        files[name] = {"table": None, "entries": None, "sha256": None}
    else:
        from .pid import generate_pid

        write(generate_pid(n_mc, seed, "mc", progress=progress), "pid_mc.root", PID_TRACKS)
        data = generate_pid(n_data, seed, "data", with_truth=truth, progress=progress)
        write(data, "pid_data.root", PID_TRACKS)
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


def ensure_sample(
    sample: str, directory: str | Path | None = None, seed: int = 42, fast: bool | None = None
) -> Sample:
    """Paths of a synthetic sample (``ds``, ``lc`` or ``pid``), generated with truth if missing.

    Safe when several notebooks ask at once (a file lock serialises generation).
    """
    fast = fast_mode() if fast is None else fast
    directory = Path(directory) if directory is not None else default_data_dir(fast)
    names = sample_files(sample)
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(directory / ".generate.lock"):  # portable (fcntl is POSIX-only)
        if not all((directory / n).exists() for n in names):
            generate(
                sample,
                directory,
                seed=seed,
                with_truth=True,
                fast=fast,
                overwrite=True,
                progress=False,
            )
    if sample == "pid":
        return Sample(directory, directory / "pid_data.root", directory / "pid_mc.root", None)
    return Sample(directory, *(directory / n for n in names))
