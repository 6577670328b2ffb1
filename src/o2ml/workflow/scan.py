"""``o2ml scan``: expected significance vs threshold per pT bin for a deployable model.

Scores data and MC candidates with any model ``o2ml apply`` takes (an o2ml model folder or an
O2Physics ``MlResponse`` configuration with its ONNX files), then, per bin of ``binsPtMl``, scans
the background-score threshold as notebook 01 does (:func:`o2ml.analysis.scan_bin`: MC
efficiencies, background from a fit of the data sidebands, the expected signal table) and saves
one scan file per bin (``scan_pt<lo>_<hi>.json``), which the dashboards and ``o2ml export``
open. Candidates are read into memory here; streaming them in chunks is the next step.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from .. import analysis, channels, selection
from ..errors import ConfigError, OutputExistsError
from ..inference import BinnedModel
from ..models.bdt import PtBin

#: the tree creator's table and the species of each selector channel
CHANNEL_TABLES = {"DsToKKPi": ("HfCandDsLites", "Ds"), "LcToPKPi": ("HfCandLcLites", "Lc")}
#: model output i is this score column (O2Physics and o2ml order: background, prompt, non-prompt)
POSITIONAL = ("score_bkg", "score_prompt", "score_nonprompt")


def scan(
    model: str | os.PathLike,
    data,
    mc,
    out: str | os.PathLike,
    *,
    expected_signal: str | os.PathLike,
    task: str | None = None,
    features=None,
    table: str | None = None,
    backend: str = "auto",
    overwrite: bool = False,
) -> list[Path]:
    """Scan every pT bin of ``model`` on ``data`` / ``mc`` files and write the scan files."""
    binned = BinnedModel.load(model, task, features=features)
    selector = channels.find_selector(binned.config.task)
    channel = selector.channel if selector is not None else None
    if channel not in CHANNEL_TABLES:  # the MC signal definition and the peaks are per channel
        raise ConfigError(
            f"{binned.config_path}: task {binned.config.task!r}: o2ml scans the channels "
            f"{sorted(CHANNEL_TABLES)} (their tree creators' MC labels and mass peaks)."
        )
    table = table or CHANNEL_TABLES[channel][0]
    species = CHANNEL_TABLES[channel][1]
    extra = list(selection.DS_REFERENCE_CUTS) if species == "Ds" else []
    data_df = analysis.read_candidates(data, table, binned.features, extra)
    mc_df = analysis.read_candidates(mc, table, binned.features, extra, kind="mc")
    scorers = binned.scorers(backend)
    for df in (data_df, mc_df):
        scores = binned.score(df, scorers)
        for i, col in enumerate(scores.columns[: len(POSITIONAL)]):
            df[POSITIONAL[i]] = scores[col].to_numpy()
    expected = selection.load_expected_signal(expected_signal)
    out = Path(out)
    edges = binned.config.bins_pt
    targets = [out / f"scan_pt{lo:g}_{hi:g}.json" for lo, hi in itertools.pairwise(edges)]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{existing}: the scan files exist; pass --overwrite to replace them."
        )
    written = []
    for i, target in enumerate(targets):
        b = PtBin(edges[i], edges[i + 1])
        about = {
            "features": binned.features, "task": binned.config.task,
            "onnx_file": binned.onnx_paths[i].name, "model": str(model),
            "class_columns": list(POSITIONAL[: binned.config.n_classes]),
        }  # fmt: skip
        result = analysis.scan_bin(
            data_df, mc_df, expected, b, species=species, metadata=about,
            reference_cuts=selection.DS_REFERENCE_CUTS if species == "Ds" else None,
        )  # fmt: skip
        written.append(result.bdt.save(target, overwrite=True))
    return written


__all__ = ["CHANNEL_TABLES", "scan"]
