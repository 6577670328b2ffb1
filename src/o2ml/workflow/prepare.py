"""``o2ml prepare``: the O2Physics D2H sample preparation, in pure Python (uproot, no ROOT).

Reproduces ``PWGHF/D2H/Macros/ML/prepare_samples.py`` for its YAML configuration
(``config_preparation_*.yml``): per input file, the tree ``prepare_samples.input.tree_name``, the
``preselections`` joined with ``&&``, one class per entry of ``labels`` selected by
``{col_tag} == {position in labels}`` (the first, background, also by ``filt_bkg_mass``), the
columns without ``cols_to_remove``, written as the flat tree ``output.tree_name`` in
``{output.dirs[k]}/{label}_{channel}.root``. The C++ expressions are evaluated with C++'s
grammar (:mod:`o2ml.workflow.expressions`).

Where o2ml differs, on purpose:

* every ``DF_`` folder of a file is read (the macro stops with "too many DFs" unless the file
  was merged into one);
* ``output.dirs`` holds one folder per input file, or one for all of them (the macro writes
  every file's output into the first folder, each replacing the previous one);
* relative input and output paths are relative to the configuration file's folder;
* an existing output is replaced only with ``overwrite`` (the macro overwrites with a warning),
  and it is written under a temporary name first.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import io
from ..errors import ConfigError
from ..schema import CharmClass
from .config import Config, load_config
from .expressions import Expression, conjunction

_STR, _LIST, _NONE = (str,), (list,), type(None)
#: the keys prepare_samples.py reads (types, required)
PREPARE_SCHEMA = {
    "channel": (_STR, True),
    "labels": (_LIST, True),
    "col_tag": (_STR, True),
    "prepare_samples": {"input": {"files": (_LIST, True), "tree_name": (_STR, True)}},
    "preselections": ((list, _NONE), False),
    "cols_to_remove": ((list, _NONE), False),
    "filt_bkg_mass": (_STR, True),
    "output": {"dirs": (_LIST, True), "tree_name": (_STR, True)},
}


@dataclass
class PrepareReport:
    """What ``prepare`` wrote: per output file its label and number of candidates."""

    config: Config
    outputs: list[tuple[Path, str, int]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{n:>10,}  {label:<10} {path}" for path, label, n in self.outputs]
        return "\n".join(lines)


def _strings(config: Config, key: str, allow_empty: bool = False) -> list[str]:
    value = config.get(key) or []
    if not all(isinstance(v, str) for v in value) or (not value and not allow_empty):
        raise config.error(key, f"expected a list of strings, found {value!r}.")
    return list(value)


def _path(config: Config, text: str) -> Path:
    p = Path(os.path.expandvars(os.path.expanduser(text)))
    return p if p.is_absolute() else config.path.parent / p


def prepare(path: str | os.PathLike, *, overwrite: bool = False) -> PrepareReport:
    """Run a preparation configuration; see the module docstring."""
    config = load_config(path, PREPARE_SCHEMA, "preparation config")
    labels = _strings(config, "labels")
    if len(labels) < 2:
        raise config.error("labels", f"expected at least 2 classes, found {labels}.")
    files = [_path(config, f) for f in _strings(config, "prepare_samples.input.files")]
    dirs = [_path(config, d) for d in _strings(config, "output.dirs")]
    if len(dirs) not in (1, len(files)):
        raise config.error(
            "output.dirs",
            f"expected one folder per input file ({len(files)}) or one for all, found {len(dirs)}.",
        )
    tree = config.get("prepare_samples.input.tree_name")
    col_tag, channel = config.get("col_tag"), config.get("channel")
    pre = conjunction(_strings(config, "preselections", allow_empty=True), "preselections")
    bkg = Expression(config.get("filt_bkg_mass"), "filt_bkg_mass")
    remove = _strings(config, "cols_to_remove", allow_empty=True)
    groups = (
        [(dirs[0], files)]
        if len(dirs) == 1
        else [(d, [f]) for d, f in zip(dirs, files, strict=True)]
    )
    targets = [(d / f"{label}_{channel}.root") for d, _ in groups for label in labels]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not overwrite:
        raise ConfigError(
            f"{config.where('output.dirs')}: the outputs {existing} exist; pass overwrite "
            "(--overwrite) to replace them."
        )
    report = PrepareReport(config)
    for out_dir, inputs in groups:
        df = io.read_table(inputs, tree)
        where = f"{', '.join(map(str, inputs))} (tree {tree})"
        if col_tag not in df.columns:
            raise config.error("col_tag", f"{where} has no column {col_tag!r}.")
        missing = [c for c in remove if c not in df.columns]
        if missing:
            raise config.error("cols_to_remove", f"{where} has no columns {missing}.")
        keep = [c for c in df.columns if c not in remove]
        selected = pre.mask(df) if pre is not None else np.ones(len(df), bool)
        tag = df[col_tag].to_numpy()
        for idx, label in enumerate(labels):
            sel = selected & (tag == idx)
            if idx == CharmClass.BACKGROUND:  # ID_BKG = 0 in the macro
                sel &= bkg.mask(df)
            target = out_dir / f"{label}_{channel}.root"
            io.write_table(
                df.loc[sel, keep], target, output_tree(config), folders=0, overwrite=True
            )
            report.outputs.append((target, label, int(sel.sum())))
    return report


def output_tree(config: Config) -> str:
    return str(config.get("output.tree_name"))


__all__ = ["PREPARE_SCHEMA", "PrepareReport", "prepare"]
