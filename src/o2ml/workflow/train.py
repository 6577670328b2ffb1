"""``o2ml train``: the O2Physics D2H training config (``config_training_*.yml``) in o2ml.

Follows ``PWGHF/D2H/Macros/ML/train_models.py`` (O2Physics 29dabc5fb71f, the version read for
every fact below) step by step: per class the files
``<indir>/<Label>_<channel>.root`` (tree ``data_prep.tree_name``; ``.parquet.gzip`` when it is
null), pT bins ``[lo, hi)`` of ``name_pt_var``, the class balance (``equal``: every class cut to
the smallest, ``all_signal``: all signal and ``min(n_bkg, (n_prompt + n_nonprompt) x
bkg_factor[i])`` background, rows from the head as the macro takes them), labels 0/1/2, sklearn
``train_test_split(test_size=test_fraction, random_state=seed_split)``, an XGBoost classifier with
``hyper_pars[i]`` (Optuna over ``hyper_par_ranges`` first when ``hyper_pars_opt.activate``:
5-fold cross-validated ``roc_auc`` / ``roc_auc_{ovo|ovr}[_weighted]``, ``ntrials``,
``timeout``), the macro's plots in every ``plots.extension`` and its log, per bin in
``output.dir/pt{lo}_{hi}``. ``n_jobs`` of ``hyper_pars`` holds unless ``$O2ML_THREADS`` is set.

Names as the macro writes them: its ``f"pt{pt_bin[0]}_{pt_bin[1]}"`` folders and
``f"_pT_{pt_bin[0]}_{pt_bin[1]}"`` file tags (``MlTrainer.process``, ``__data_prep``,
``__train_test``) format the ``pt_bins_limits`` as the YAML gives them, so ``[1, 24]`` makes
``pt1_24`` / ``pT_1_24`` and ``[2.0, 4.5]`` makes ``pt2.0_4.5`` / ``pT_2.0_4.5``, and so does
o2ml (the log's ``{lo} < pT < {hi}`` and ``({1 - test_fraction}-{test_fraction})`` too).
``ml.raw_output``: the macro passes it as ``output_margin`` to hipe4ml's ``train_test_model``
and ``predict`` and draws ``plot_roc``, ``plot_roc_train_test`` and ``plot_precision_recall``
from those scores (and ``plot_output_train_test`` with ``raw=raw_output``); so does o2ml, and
the test set's ``ML_output*`` columns hold XGBoost's raw margins (log-odds) when it is true.
The log's ROC AUC is that of the same scores; with three classes and raw outputs, sklearn's
``roc_auc_score`` takes probabilities only and the macro stops with a ValueError there, while
o2ml takes their softmax (XGBoost's probabilities).

Seeds: o2ml seeds what the macro leaves to chance or to a default, from ``seed_split``, so
that the same config on the same inputs gives the same models, scores and figures (a
re-run, a resumed bin and a dask worker agree; ``train_test_split`` is seeded by both):

* XGBoost: the macro builds ``xgb.XGBClassifier(use_label_encoder=False)`` with no
  ``random_state`` (XGBoost's default seed, 0); o2ml sets ``random_state = seed_split``
  unless ``hyper_pars`` sets one, so ``subsample`` / ``colsample_*`` < 1 draw from the
  config's seed (a config's own ``random_state`` is used as the macro uses it).
* Optuna's sampler: hipe4ml's ``optimize_params_optuna`` (hipe4ml 0.0.21) creates the study
  with ``sampler=None``, an unseeded TPE sampler, and runs ``njobs`` threads: the macro's
  trials differ from run to run. o2ml's TPE sampler is seeded by ``seed_split``, the study's
  name and the trials it already holds (:func:`o2ml.models.bdt.open_study`); a ``timeout``
  that stops the study early, or trials shared by several dask tasks, can still change which
  trials run.
* Cross-validation folds: hipe4ml passes ``cv=nfold`` to ``cross_val_score``, sklearn's
  ``StratifiedKFold`` without shuffling (folds in the order of the already shuffled training
  set); o2ml's :func:`o2ml.models.bdt.optimize` shuffles them with ``seed_split``
  (``StratifiedKFold(shuffle=True, random_state=seed_split)``), so a trial's score differs
  from the macro's for the same parameters, reproducibly.

Different on purpose: the model is stored as ONNX (input ``input``
``[batch, n]``, o2ml's metadata) and XGBoost JSON, never as a pickle; the test set's parquet is
gzip-compressed as its name says; the Optuna study is stored (``optuna.db`` in ``output.dir``)
so that a re-run resumes it; and the channel's selector gets its ``MlResponse`` configuration
(``o2physics/dpl-config_<task>.json`` with the ONNX files, each converted once and copied to
its bin's folder), with cuts that keep every candidate until thresholds are chosen. The feature
distributions are drawn by :func:`o2ml.workflow.figures.distributions` (the same panels as
hipe4ml's ``plot_distr``, one artist per class instead of one bar per bin, edges shared by the
classes). The model's figures are hipe4ml's (``plot_output_train_test``, ``plot_roc``,
``plot_roc_train_test``, ``plot_precision_recall``) and shap's ``summary_plot`` figures that
hipe4ml's ``plot_feature_imp`` draws, from scores and SHAP values computed once with the
model (:func:`_train_bin`): ``plot_output_train_test`` gets the scores of its rows instead of
predicting them again, and the SHAP values are XGBoost's ``pred_contribs`` with
``approx_contribs`` (what ``shap.TreeExplainer(...).shap_values(approximate=True)``, as
hipe4ml calls it, returns for an XGBoost model), on a sample drawn with ``seed_split`` and
jitter seeded by it (unseeded in hipe4ml): the same quantities, reproducible figures.

Scale-out: ``workers`` / ``scheduler`` run each pT bin as four dask tasks (a local cluster, or
an existing one joined by address): the input figures, the training with its files (and the
scores and SHAP values), the score figures, the SHAP figures; and, when
``hyper_pars_opt.activate``, the Optuna trials of a bin as ``njobs`` tasks sharing its stored
study. With fewer bins than ``workers`` and no ``scheduler`` (a single bin: the macro's D+
config), no dask cluster: ``workers`` processes of a multiprocessing fork server run the
training (one thread) beside the input figures, then the scores and SHAP values on ``workers``
threads, then the figures side by side (one task per SHAP figure); the local cluster's
workers and the fork server wait for OpenMP work passively (``OMP_WAIT_POLICY=passive``
unless set). Every finished bin writes a marker last (:data:`DONE`); ``resume=True``
(``--resume``) keeps those bins and trains the others again, so a killed worker costs only
its unfinished bin.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import channels, io
from .. import config as o2ml_config
from .._atomic import replacing
from ..errors import ConfigError, EmptySelectionError, UnsupportedFeatureError
from ..schema import PtBin
from ._dask import client
from .config import Config, load_config

_S, _L, _D, _B, _N = (str,), (list,), (dict,), (bool,), (int, float)
_NONE = type(None)
#: the keys train_models.py reads (types, required)
TRAIN_SCHEMA = {
    "channel": (_S, True),
    "seed_split": ((int,), True),
    "labels": (_L, True),
    "data_prep": {
        "indirs": (_D, True),
        "tree_name": ((str, _NONE), True),
        "pt_bins_limits": (_L, True),
        "name_pt_var": (_S, True),
        "downsample_bkg_factor": (_N, True),
        "class_balance": {"share": (_S, True), "bkg_factor": (_L, True)},
        "test_fraction": ((float,), True),
    },
    "ml": {
        "raw_output": (_B, True),
        "roc_auc_approach": (_S, True),
        "roc_auc_average": (_S, True),
        "training_vars": (_L, True),
        "hyper_pars": (_L, True),
        "hyper_pars_opt": {
            "activate": (_B, True),
            "ntrials": ((int,), True),
            "njobs": ((int,), True),
            "timeout": ((int, float, _NONE), True),
            "hyper_par_ranges": (_D, True),
        },
    },
    "output": {"dir": (_S, True), "log_file": (_S, True), "column_to_save_list": (_L, True)},
    "plots": {"extra_columns": (_L, True), "extension": (_L, True)},
}
#: a pT bin's folder holds this file once the bin is finished (what a resumed run keeps)
DONE = "o2ml_bin_done.json"
#: the folder in ``output.dir`` of the selector's MlResponse configuration and model files
O2PHYSICS = "o2physics"
#: the macro's figures that it saves as pdf only (ROCCurveTrainTest, PrecisionRecallAll)
PDF_ONLY = ("ROCCurveTrainTest", "PrecisionRecallAll")


@dataclass
class BinResult:
    lo: float
    hi: float
    folder: Path
    n_train: dict[str, int]
    roc_auc_test: float
    roc_auc_train: float
    params: dict
    files: list[Path] = field(default_factory=list)


@dataclass
class TrainReport:
    config: Config
    bins: list[BinResult] = field(default_factory=list)
    mlresponse: Path | None = None
    note: str = ""

    def summary(self) -> str:
        lines = [
            f"pT {b.lo:g}-{b.hi:g}: train {b.n_train}, ROC AUC test {b.roc_auc_test:.4f} "
            f"(train {b.roc_auc_train:.4f}), {len(b.files)} files in {b.folder}"
            for b in self.bins
        ]
        if self.mlresponse is not None:
            lines.append(f"MlResponse configuration: {self.mlresponse}")
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)


def _path(config: Config, text: str) -> Path:
    p = Path(os.path.expandvars(os.path.expanduser(str(text))))
    return p if p.is_absolute() else config.path.parent / p


def _read_class(config: Config, label: str, dirs, tree: str | None, columns) -> pd.DataFrame:
    channel = config.get("channel")
    key = f"data_prep.indirs.{label}"
    if not isinstance(dirs, list) or not dirs:
        raise config.error(key, f"expected a list of folders, found {dirs!r}.")
    suffix = ".root" if tree is not None else ".parquet.gzip"
    files = [_path(config, d) / f"{label}_{channel}{suffix}" for d in dirs]
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise config.error(
            key, f"expected the files {missing} (o2ml prepare writes them), not found."
        )
    if tree is None:
        import pyarrow.parquet as pq

        for f in files:  # a clear error, not pyarrow's, for a column the file lacks
            have = pq.read_schema(f).names
            missing = [c for c in columns if c not in have]
            if missing:
                raise config.error(key, f"{f} has no columns {missing}.")
        frames = [pd.read_parquet(f, columns=list(columns)) for f in files]
        return pd.concat(frames, ignore_index=True)
    return io.read_table(files, tree, columns=list(columns))


def _save(fig, folder: Path, stem: str, extensions, files: list[Path]) -> None:
    for ext in extensions:
        p = folder / f"{stem}.{ext}"
        fig.savefig(p)
        files.append(p)


def _scorer(approach: str, average: str, binary: bool) -> str:
    if binary:
        return "roc_auc"
    return f"roc_auc_{approach}" + ("_weighted" if average == "weighted" else "")


def _settings(config: Config) -> dict:
    """The checked settings of a training configuration (errors name key, file and line)."""
    get = config.get
    labels = list(get("labels"))
    indirs = get("data_prep.indirs")
    binary = indirs.get(labels[2]) is None if len(labels) > 2 else True
    if not binary and len(labels) != 3:
        raise config.error("labels", f"expected [Bkg, Prompt, Nonprompt], found {labels}.")
    classes = labels[:2] if binary else labels
    for lab in labels:
        if lab not in indirs:
            raise config.error("data_prep.indirs", f"expected an entry for the label {lab!r}.")
    written = list(get("data_prep.pt_bins_limits"))
    try:
        limits = [float(x) for x in written]
    except (TypeError, ValueError):
        raise config.error(
            "data_prep.pt_bins_limits", f"expected a list of numbers, found {written}."
        ) from None
    bins = list(itertools.pairwise(limits))
    names = [(str(a), str(b)) for a, b in itertools.pairwise(written)]  # as written: 1, 2.0
    share = get("data_prep.class_balance.share")
    if share not in ("equal", "all_signal"):
        raise config.error(
            "data_prep.class_balance.share", f"expected 'equal' or 'all_signal', found {share!r}."
        )
    bkg_factor = get("data_prep.class_balance.bkg_factor")
    if share == "all_signal" and len(bkg_factor) != len(bins):
        raise config.error(
            "data_prep.class_balance.bkg_factor",
            f"expected one factor per pT bin ({len(bins)}), found {bkg_factor}.",
        )
    test_frac = float(get("data_prep.test_fraction"))
    if not 0 < test_frac < 1:
        raise config.error(
            "data_prep.test_fraction", f"expected a number in ]0, 1[, found {test_frac}."
        )
    hyper = get("ml.hyper_pars")
    if len(hyper) != len(bins) or not all(isinstance(h, dict) for h in hyper):
        raise config.error(
            "ml.hyper_pars", f"expected one mapping per pT bin ({len(bins)}), found {len(hyper)}."
        )
    features = list(get("ml.training_vars"))
    pt_var = get("data_prep.name_pt_var")
    save_cols = list(get("output.column_to_save_list"))
    draw = list(dict.fromkeys([*get("plots.extra_columns"), *features]))
    columns = list(dict.fromkeys([pt_var, *features, *save_cols, *draw]))
    tree = get("data_prep.tree_name")
    out = _path(config, get("output.dir"))
    extensions = list(get("plots.extension"))
    opt = get("ml.hyper_pars_opt")
    for name, pair in opt["hyper_par_ranges"].items():
        ok = isinstance(pair, (list, tuple)) and len(pair) == 2
        ok = ok and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
        if not (ok and pair[0] <= pair[1]):
            raise config.error(
                "ml.hyper_pars_opt.hyper_par_ranges",
                f"expected {name!r}: (low, high) with low <= high, found {pair!r}.",
            )
    seed = int(get("seed_split"))
    folders = [out / f"pt{a}_{b}" for a, b in names]
    return {
        "classes": classes, "binary": binary, "share": share, "bkg_factor": bkg_factor,
        "test_frac": test_frac, "seed": seed, "features": features, "draw": draw,
        "extensions": extensions, "save_cols": save_cols, "hyper": hyper, "opt": opt, "out": out,
        "bins": bins, "folders": folders, "columns": columns, "tree": tree, "pt_var": pt_var,
        "indirs": indirs, "names": names, "tags": [f"pT_{a}_{b}" for a, b in names],
        "raw_output": bool(get("ml.raw_output")),
    }  # fmt: skip


def _split(config: Config, st: dict, i: int, sliced: dict):
    """The macro's class balance and train/test split of pT bin ``i``: (x_tr, x_te, y_tr,
    y_te, log lines)."""
    from sklearn.model_selection import train_test_split

    get = config.get
    classes, share, bkg_factor = st["classes"], st["share"], st["bkg_factor"]
    test_frac, seed = st["test_frac"], st["seed"]
    lo, hi = st["bins"][i]
    name_lo, name_hi = st["names"][i]
    n = {lab: len(df) for lab, df in sliced.items()}
    if min(n.values()) == 0:
        raise EmptySelectionError(
            f"{config.path}: pT {lo:g}-{hi:g}: no candidates of {[k for k, v in n.items() if v == 0]}."
        )
    bkg_lab, sig_labs = classes[0], classes[1:]
    log = [
        f"\nNumber of available candidates in {name_lo} < pT < {name_hi} GeV/c: \n"
        + "".join(f"   {k}: {v}\n" for k, v in n.items())
    ]
    if share == "equal":
        keep = {lab: min(n.values()) for lab in classes}
        log.append(
            "\nKeep the same number of candidates for each class, chosen as the minimal number of candidates among all classes."
        )
    else:
        n_bkg = int(min(n[bkg_lab], sum(n[s] for s in sig_labs) * float(bkg_factor[i])))
        keep = {bkg_lab: n_bkg, **{s: n[s] for s in sig_labs}}
        log.append(
            f"\nKeep all {' and '.join(sig_labs)} and use {n_bkg} bkg candidates for training and testing ({1 - test_frac}-{test_frac})"
        )
    bkg_fraction = keep[bkg_lab] / n[bkg_lab] * float(get("data_prep.downsample_bkg_factor"))
    log.append(
        f"\nFraction of original (i.e. from original dataset) bkg candidates used for ML: {100 * bkg_fraction:.2f}%"
    )
    tot = pd.concat([sliced[lab].iloc[: keep[lab]] for lab in classes], ignore_index=True)
    y = np.concatenate([np.full(keep[lab], k) for k, lab in enumerate(classes)])
    x_tr, x_te, y_tr, y_te = train_test_split(tot, y, test_size=test_frac, random_state=seed)
    if len(np.unique(y_te)) != len(classes):
        raise EmptySelectionError(
            f"{config.path}: pT {lo:g}-{hi:g}: the test set lacks a class; more candidates needed."
        )
    log.append(
        "\nNumber of candidates used for training and testing: \n"
        + "".join(f"   {lab}: {keep[lab]}\n" for lab in classes)
    )
    return x_tr, x_te, y_tr, y_te, log


def _tune(config: Config, st: dict, i: int, handler, tt, *, progress=False, worker=0, share=None):
    """The Optuna study of pT bin ``i`` (``optuna.db`` beside the bins: an RDB study that tasks
    share and a re-run resumes); runs the trials it still lacks, or ``share`` of them at most
    (one of several tasks on the same study): :func:`o2ml.models.training.tune`, as notebook 01
    tunes its bins. Sets the best parameters; returns the study."""
    from ..models import bdt, training

    get, opt, seed = config.get, st["opt"], st["seed"]
    lo, hi = st["bins"][i]
    x_tr, y_tr = tt[0], tt[1]
    ranges = {k: tuple(v) for k, v in opt["hyper_par_ranges"].items()}
    key = {"train": bdt.fingerprint(x_tr[st["features"]], y_tr), "ranges": ranges, "seed": seed}
    search = bdt.Search(
        n_trials=int(opt["ntrials"]), storage=st["out"] / "optuna.db",
        study_name=f"{get('channel')}_pT_{lo:g}_{hi:g}", seed=seed, timeout=opt["timeout"],
        ranges=ranges, nfold=5, progress=progress,
    )  # fmt: skip
    return training.tune(
        handler, tt, search, key=key, worker=worker, limit=share,
        scoring=_scorer(get("ml.roc_auc_approach"), get("ml.roc_auc_average"), st["binary"]),
    )  # fmt: skip


def _handler(st: dict, i: int, n_jobs: int | None):
    """hipe4ml's ModelHandler of bin ``i`` with exactly the config's hyper-parameters (XGBoost
    defaults for the rest), as the macro; ``random_state`` is ``seed_split`` unless
    ``hyper_pars`` sets one (see "Seeds" in the module docstring)."""
    import xgboost as xgb
    from hipe4ml.model_handler import ModelHandler

    params = dict(st["hyper"][i])
    if n_jobs is not None:  # bins in parallel share the cores
        params["n_jobs"] = n_jobs
    elif os.environ.get("O2ML_THREADS") or "n_jobs" not in params:  # $O2ML_THREADS wins
        params["n_jobs"] = o2ml_config.threads()
    params.setdefault("random_state", st["seed"])  # the config's own seed wins, as in the macro
    return ModelHandler(
        xgb.XGBClassifier(random_state=params["random_state"]), st["features"], params
    )


def _scores(handler, x: pd.DataFrame, raw_output: bool) -> np.ndarray:
    """The scores the macro saves and draws: ``train_test_model(..., output_margin=raw_output)``
    and ``predict(train_set, raw_output)`` of hipe4ml (train_models.py, O2Physics 29dabc5fb71f,
    ``MlTrainer.__train_test``): XGBoost's raw margins when ``ml.raw_output`` (log-odds; per
    class for several classes), else probabilities (of the signal class when binary)."""
    return handler.predict(x, output_margin=raw_output)


def _init_storage(out: Path) -> None:
    import optuna

    out.mkdir(parents=True, exist_ok=True)
    optuna.storages.RDBStorage(f"sqlite:///{(out / 'optuna.db').resolve()}")


def _tune_task(config: Config, i: int, sliced: dict, worker: int, n_tasks: int) -> int:
    """One of ``n_tasks`` dask tasks sharing the Optuna study of bin ``i``: its share of the
    trials; returns the trials the study holds after it."""
    st = _settings(config)
    x_tr, x_te, y_tr, y_te, _ = _split(config, st, i, sliced)
    n = int(st["opt"]["ntrials"])
    share = n // n_tasks + (worker < n % n_tasks)
    study = _tune(
        config, st, i, _handler(st, i, 1), [x_tr, y_tr, x_te, y_te], worker=worker, share=share
    )
    return len(study.trials)


def _plot_inputs(config: Config, i: int, sliced: dict) -> list[Path]:
    """The figures of pT bin ``i`` that need no model (feature distributions and correlations
    per class): a task of its own, so that on a cluster they fill the cores the trainings leave."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from hipe4ml import plot_utils

    from . import figures as plots

    st = _settings(config)
    classes, draw, extensions = st["classes"], st["draw"], st["extensions"]
    folder, tag, files = st["folders"][i], st["tags"][i], []
    df_list = [sliced[lab] for lab in classes]
    _save(plots.distributions(df_list, draw, classes), folder, f"DistributionsAll_{tag}",
          extensions, files)  # fmt: skip
    plt.close("all")
    for fig, lab in zip(plot_utils.plot_corr(df_list, draw, classes), classes, strict=True):
        _save(fig, folder, f"CorrMatrix{lab}_{tag}", extensions, files)
    plt.close("all")
    return files


def _train_bin(
    config: Config,
    i: int,
    sliced: dict,
    plan=None,
    progress: bool = False,
    n_jobs: int | None = None,
    predict_jobs: int | None = None,
):
    """Train and test pT bin ``i`` (a dask task when bins run in parallel) and write its log,
    test set, model files; returns the fitted hipe4ml ModelHandler and the bin's
    :class:`BinResult` (figures not included: :func:`_plot_inputs`, :func:`_plot_model`).
    ``plan``: the MlResponse configuration (:func:`o2ml.export.model_dir.plan_model_dir`)
    whose files of this bin the task writes too."""
    from sklearn.metrics import roc_auc_score

    from .. import onnx as onnx_export
    from ..export import model_dir
    from ..models import bdt

    get = config.get
    st = _settings(config)
    classes, binary, seed, features = st["classes"], st["binary"], st["seed"], st["features"]
    save_cols, opt = st["save_cols"], st["opt"]
    lo, hi = st["bins"][i]
    folder = st["folders"][i]
    x_tr, x_te, y_tr, y_te, log = _split(config, st, i, sliced)
    files: list[Path] = []
    tag = st["tags"][i]
    handler = _handler(st, i, n_jobs)
    tt = [x_tr, y_tr, x_te, y_te]
    if opt["activate"]:
        study = _tune(config, st, i, handler, tt, progress=progress)
        log.append(
            f"\nOptuna hyper-parameters optimisation: {len(study.trials)} trials, best cross-validated score {study.best_value:.4f}"
        )
    handler.fit(x_tr[features], y_tr)
    log.append(f"\nModel hyperparameters:\n {handler.get_model_params()}")
    clf = handler.get_original_model()
    fit_jobs = clf.get_params()["n_jobs"]
    if predict_jobs is not None:  # the predictions and SHAP values (row-parallel) on more threads
        clf.set_params(n_jobs=predict_jobs)
    p_te, p_tr = _scores(handler, x_te, st["raw_output"]), _scores(handler, x_tr, st["raw_output"])
    # what the figures need from the model, computed here: the scores drawn (the same arrays as
    # saved) and the SHAP values of the importance figures
    cache = {"p_te": p_te, "p_tr": p_tr, **_shap_values(st, x_te, y_te, clf)}
    clf.set_params(n_jobs=fit_jobs)
    auc = dict(
        average=get("ml.roc_auc_average"),
        **({} if binary else {"multi_class": get("ml.roc_auc_approach")}),
    )
    # the AUC of the scores the macro's train_test_model takes (raw margins for raw_output);
    # of several classes, sklearn takes probabilities only (the macro stops there with a
    # ValueError): their softmax, which is the probabilities
    a_te, a_tr = (p_te, p_tr) if binary or not st["raw_output"] else (
        handler.predict(x_te, output_margin=False), handler.predict(x_tr, output_margin=False)
    )  # fmt: skip
    auc_te, auc_tr = roc_auc_score(y_te, a_te, **auc), roc_auc_score(y_tr, a_tr, **auc)
    log.append(f"\nROC AUC: test {auc_te:.4f}, train {auc_tr:.4f}")
    (folder / get("output.log_file")).write_text("".join(log) + "\n", encoding="utf-8")
    files.append(folder / get("output.log_file"))

    test_df = x_te.loc[:, save_cols].copy()
    test_df["Labels"] = y_te
    if binary:
        test_df["ML_output"] = p_te
    else:
        for k, lab in enumerate(classes):
            test_df[f"ML_output_{lab}"] = p_te[:, k]
    pq = folder / f"{get('channel')}_ModelApplied_{tag}.parquet.gzip"
    test_df.to_parquet(pq, compression="gzip")
    files.append(pq)
    pt_bin = PtBin(lo, hi)
    model = bdt.save_model(clf, folder / f"ModelHandler_{get('channel')}_{tag}.json",
                           features=features, class_labels=classes, pt_bin=pt_bin, seed=seed,
                           overwrite=True)  # fmt: skip
    files += [model, model.with_suffix(".meta.json")]  # the model and its metadata sidecar
    onnx_path = folder / f"ModelHandler_onnx_{get('channel')}_{tag}.onnx"
    if plan is not None:  # converted once: the selector's file (its metadata added), copied here
        o2p = model_dir.write_bin_model(plan, pt_bin, clf, st["out"] / O2PHYSICS, seed=seed,
                                        overwrite=True)  # fmt: skip
        shutil.copyfile(o2p, onnx_path)
    else:
        onnx_export.xgboost_to_onnx(
            clf, features, onnx_path, class_labels=classes, pt_bin=[lo, hi], seed=seed,
            overwrite=True,
        )  # fmt: skip
    files.append(onnx_path)

    result = BinResult(
        lo, hi, folder, {lab: int((y_tr == k).sum()) for k, lab in enumerate(classes)},
        float(auc_te), float(auc_tr), handler.get_model_params(), files,
    )  # fmt: skip
    return handler, result, cache


def _shap_values(st: dict, x_te: pd.DataFrame, y_te: np.ndarray, clf) -> dict:
    """The SHAP values that hipe4ml's ``plot_feature_imp`` (hipe4ml 0.0.21, as train_models.py
    calls it: ``n_sample=10000``, ``approximate=True``) computes: ``min(10000, smallest class)``
    test candidates per class, ``shap.TreeExplainer(model).shap_values(df, approximate=True)``,
    which for an XGBoost model is XGBoost's own ``Booster.predict(DMatrix, pred_contribs=True,
    approx_contribs=True)`` without its last (bias) column: called here directly, on the
    model's threads. The sample is drawn with ``random_state=seed_split`` (hipe4ml's
    ``DataFrame.sample`` is unseeded). {"shap_index": rows of ``x_te``, "shap": values
    (class, row, feature) for several classes, (row, feature) for two}."""
    import xgboost as xgb

    labels, counts = np.unique(y_te, return_counts=True)
    n_sample = min(10000, int(counts.min()))
    index = pd.Index(np.concatenate([
        x_te.index[y_te == lab].to_series().sample(n_sample, random_state=st["seed"]).to_numpy()
        for lab in labels
    ]))  # fmt: skip
    sub = x_te.loc[index, st["features"]]
    phi = clf.get_booster().predict(
        xgb.DMatrix(sub), pred_contribs=True, approx_contribs=True, validate_features=False
    )
    values = phi[:, :, :-1].transpose(1, 0, 2) if phi.ndim == 3 else phi[:, :-1]
    return {"shap_index": index, "shap": values}


def _plot_model(
    config: Config, i: int, sliced: dict, fitted, part: str = "all", shap_figs=None
) -> list[Path]:
    """The figures of pT bin ``i``'s trained model (``fitted``: what :func:`_train_bin`
    returned, its scores and SHAP values included): ``part`` "scores" (scores of train and
    test sets, ROC, precision-recall), "importance" (SHAP feature importance; ``shap_figs``: the
    indices of those figures to draw, all when None) or "all"; tasks of their own after the
    training."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from hipe4ml import plot_utils

    get = config.get
    st = _settings(config)
    classes, binary, extensions = st["classes"], st["binary"], st["extensions"]
    folder, tag, files = st["folders"][i], st["tags"][i], []
    x_tr, x_te, y_tr, y_te, _ = _split(config, st, i, sliced)
    tt, handler = [x_tr, y_tr, x_te, y_te], fitted[0]
    if len(fitted) > 2:
        cache = fitted[2]
    else:  # a (handler, result) pair: the model's scores and SHAP values computed here
        p_te, p_tr = (_scores(handler, x, st["raw_output"]) for x in (x_te, x_tr))
        cache = {"p_te": p_te, "p_tr": p_tr,
                 **_shap_values(st, x_te, y_te, handler.get_original_model())}  # fmt: skip

    def save(fig, stem, exts=extensions):
        _save(fig, folder, stem, exts, files)

    if part == "importance":
        _plot_importance(config, st, x_te, cache, save, shap_figs)
        return files
    # the macro's y_pred_test / y_pred_train: raw margins when ml.raw_output (plot_roc turns the
    # raw outputs of several classes into probabilities itself, plot_precision_recall does not);
    # plot_output_train_test predicts them again per class and set: the same rows of these
    p_te, p_tr = cache["p_te"], cache["p_tr"]
    scored = _Scored(st["raw_output"], (x_te, p_te), (x_tr, p_tr))

    figs = plot_utils.plot_output_train_test(
        scored, tt, 80, get("ml.raw_output"), classes, True, density=True
    )
    for fig, lab in zip(
        figs if isinstance(figs, list) else [figs],
        classes if not binary else [""],
        strict=False,
    ):
        save(fig, f"MLOutputDistr{lab}_{tag}")
    save(
        plot_utils.plot_roc(
            y_te, p_te, None, classes, get("ml.roc_auc_average"), get("ml.roc_auc_approach")
        ),
        f"ROCCurveAll_{tag}",
    )
    save(
        plot_utils.plot_roc_train_test(
            y_te,
            p_te,
            y_tr,
            p_tr,
            None,
            classes,
            get("ml.roc_auc_average"),
            get("ml.roc_auc_approach"),
        ),
        f"ROCCurveTrainTest_{tag}",
        ["pdf"],
    )
    save(
        plot_utils.plot_precision_recall(y_te, p_te, classes),
        f"PrecisionRecallAll_{tag}",
        ["pdf"],
    )
    plt.close("all")
    if part == "all":
        _plot_importance(config, st, x_te, cache, save, shap_figs)
    return files


class _Scored:
    """The fitted model's scores of the training and test sets, for hipe4ml's
    ``plot_output_train_test``, which calls ``model.predict(rows, output_margin)`` per class
    and set: the scores of those rows (the same values as a prediction: computed once)."""

    def __init__(self, raw_output: bool, *sets):
        self.raw_output = raw_output
        self.index = pd.Index(np.concatenate([x.index.to_numpy() for x, _ in sets]))
        self.scores = np.concatenate([p for _, p in sets])

    def predict(self, x: pd.DataFrame, output_margin: bool = True) -> np.ndarray:
        if bool(output_margin) != self.raw_output:
            raise ValueError(f"scores with output_margin={self.raw_output} only")
        return self.scores[self.index.get_indexer(x.index)]


def _plot_importance(config: Config, st: dict, x_te, cache: dict, save, figs=None) -> None:
    """hipe4ml's ``plot_feature_imp`` as train_models.py calls it (hipe4ml 0.0.21: SHAP on
    10000 test candidates per class): a ``shap.summary_plot`` beeswarm per class (one for two
    classes), then the bar plot of the mean absolute values, each an 18 x 9 figure, from the
    SHAP values :func:`_shap_values` computed with the model (the same values;
    ``rng=seed_split`` for the beeswarm's jitter, unseeded in hipe4ml). ``figs``: the indices
    of the figures to draw (all when None)."""
    import matplotlib.pyplot as plt
    import shap

    classes, binary, seed = st["classes"], st["binary"], st["seed"]
    df_subs = x_te.loc[cache["shap_index"], st["features"]]
    values = cache["shap"]
    per_class = [values] if binary else list(values)
    n_plot = len(per_class)
    channel = config.get("channel")
    for k in range(n_plot + 1) if figs is None else figs:
        fig = plt.figure(figsize=(18, 9))
        if k < n_plot:
            shap.summary_plot(per_class[k], df_subs, plot_size=(18, 9), class_names=classes,
                              show=False, rng=seed)  # fmt: skip
            name = f"FeatureImportance_{classes[k] if not binary else ''}_{channel}"
        else:
            shap.summary_plot(values if binary else per_class, df_subs, plot_type="bar",
                              plot_size=(18, 9), class_names=classes, show=False, rng=seed)  # fmt: skip
            name = f"FeatureImportanceAll_{channel}"
        save(fig, name)
        plt.close("all")


def _fingerprint(config: Config) -> str:
    import hashlib

    return hashlib.sha256(Path(config.path).read_bytes()).hexdigest()[:16]


def _mark_done(config: Config, r: BinResult, before: list[Path], after: list[Path]) -> None:
    """Add the figures of :func:`_plot_inputs` and :func:`_plot_model` to the bin's files and
    write its marker, last: a bin without it is unfinished (a killed worker's)."""
    r.files[:] = [*before, *r.files, *after]
    doc = {
        "config": _fingerprint(config), "lo": r.lo, "hi": r.hi, "n_train": r.n_train,
        "roc_auc_test": r.roc_auc_test, "roc_auc_train": r.roc_auc_train,
        "params": r.params, "files": [f.name for f in r.files],
    }  # fmt: skip
    with replacing(r.folder / DONE) as tmp:
        tmp.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")


def _finished(config: Config, st: dict, i: int):
    """(classifier, BinResult) of a bin an earlier run of the same config finished, or None."""
    from ..models import bdt

    folder = st["folders"][i]
    try:
        doc = json.loads((folder / DONE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if doc.get("config") != _fingerprint(config):
        return None
    lo, hi = st["bins"][i]
    model = folder / f"ModelHandler_{config.get('channel')}_{st['tags'][i]}.json"
    files = [folder / name for name in doc["files"]]
    if not all(f.exists() for f in files):
        return None
    clf, _ = bdt.load_model(model)
    result = BinResult(lo, hi, folder, doc["n_train"], doc["roc_auc_test"],
                       doc["roc_auc_train"], doc["params"], files)  # fmt: skip
    return clf, result


def train(
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    progress: bool = False,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
) -> TrainReport:
    """Run a training configuration; see the module docstring.

    ``workers`` > 1 trains the pT bins in parallel on a local dask cluster of that many
    processes (one thread each), or, with fewer bins than ``workers``, on that many processes
    of a fork server (no cluster); ``scheduler`` (an address) runs them on an existing dask
    cluster instead. On a cluster, Optuna's trials of a bin run as ``hyper_pars_opt.njobs``
    tasks sharing the bin's study (``optuna.db``, an RDB storage). ``resume``: keep the bins an
    earlier run of the same config finished (their marker file), train the others again; the
    Optuna studies keep their finished trials too."""
    config = load_config(path, TRAIN_SCHEMA, "training config")
    st = _settings(config)
    done = {i: _finished(config, st, i) for i in range(len(st["bins"]))} if resume else {}
    done = {i: r for i, r in done.items() if r is not None}
    used = [
        str(f) for i, f in enumerate(st["folders"])
        if i not in done and f.exists() and any(f.iterdir())
    ]  # fmt: skip
    if used and not (overwrite or resume):  # checked before any file is written
        raise ConfigError(
            f"{config.where('output.dir')}: {used} not empty; pass --overwrite to replace their "
            "files, or --resume to keep the bins an earlier run finished."
        )
    todo = [i for i in range(len(st["bins"])) if i not in done]
    opt = st["opt"]
    # fewer bins than workers and no cluster asked for: processes of a fork server, started
    # now (its imports while the inputs are read)
    solo = 0 < len(todo) < workers
    forked = solo and scheduler is None and not opt["activate"] and _can_fork_server()
    ctx = _fork_server() if forked else None
    frames = {
        lab: _read_class(config, lab, st["indirs"][lab], st["tree"], st["columns"])
        for lab in st["classes"]
    }
    pt = st["pt_var"]
    slices = [
        {lab: df[(df[pt] >= lo) & (df[pt] < hi)] for lab, df in frames.items()}
        for lo, hi in st["bins"]
    ]
    plan, note = _plan(config, st)
    n_tasks = max(1, int(opt["njobs"])) if opt["activate"] else 1
    for i in todo:  # a bin is finished when its marker is written
        st["folders"][i].mkdir(parents=True, exist_ok=True)
        (st["folders"][i] / DONE).unlink(missing_ok=True)
    trained = {}
    # a bin is four tasks (input figures, training, score figures, SHAP figures), each on one
    # thread (a training on more threads next to a figure task oversubscribes the cores: OpenMP
    # threads spin-wait, and the training took 4x longer here; with OMP_WAIT_POLICY=passive
    # a 2-thread training was still 2-9x slower than on one thread on a loaded 2-core machine).
    # Fewer bins than workers: the scores and SHAP values (row-parallel) on workers // bins
    # threads after each training, the SHAP figures one task each, and no dask cluster
    # unless Optuna's trials need one (:func:`_train_forked`)
    n_parts = 4 if not opt["activate"] else n_tasks
    threads = max(1, workers // len(todo)) if solo else 1
    cluster = (contextlib.nullcontext() if forked
               else client(min(workers, max(len(todo), 1) * n_parts), scheduler))  # fmt: skip
    with _passive_workers(1 if forked else workers, scheduler), cluster as c:
        if forked:
            trained = _train_forked(ctx, config, st, todo, slices, plan, workers, threads)
        elif c is None:
            for i in todo:
                before = _plot_inputs(config, i, slices[i])
                fitted = _train_bin(config, i, slices[i], plan, progress)
                _mark_done(config, fitted[1], before, _plot_model(config, i, slices[i], fitted))
                trained[i] = fitted[0].get_original_model(), fitted[1]
        else:
            from dask.distributed import as_completed

            data = dict(zip(todo, c.scatter([slices[i] for i in todo]), strict=True))
            if n_tasks > 1:  # the trials of a bin: n_tasks tasks on the bin's one stored study
                _init_storage(st["out"])  # created once here, not by tasks at the same time
                c.gather([
                    c.submit(_tune_task, config, i, data[i], k, n_tasks, pure=False)
                    for i in todo for k in range(n_tasks)
                ])  # fmt: skip
            # the trainings first (the longest), so that the figures fill the cores the
            # trainings leave: input figures, training, then the model's score figures and its
            # SHAP figures side by side
            fits = {i: c.submit(_train_bin, config, i, data[i], plan, False, 1, threads,
                                pure=False) for i in todo}  # fmt: skip
            tasks = {f: (i, "fit") for i, f in fits.items()}
            jobs = _figure_jobs(st, solo)
            for fn, args, kind in jobs[::-1] if solo else jobs:  # solo: the longest first
                tasks |= {c.submit(fn, config, i, data[i], *(() if args is None else (f, *args)),
                                   pure=False): (i, kind)
                          for i, f in fits.items()}  # fmt: skip
            parts: dict[int, dict] = {i: {} for i in todo}
            for future, value in as_completed(tasks, with_results=True):
                i, kind = tasks[future]
                parts[i][kind] = value
                if len(parts[i]) == 1 + len(jobs):  # every part: mark the bin finished now
                    handler, result = parts[i]["fit"][:2]
                    after = [f for _, _, k in jobs[1:] for f in parts[i][k]]
                    _mark_done(config, result, parts[i]["before"], after)
                    trained[i] = handler.get_original_model(), result
    results = [done[i] if i in done else trained[i] for i in range(len(slices))]
    report = TrainReport(config, [result for _, result in results], note=note)
    if plan is not None:
        from ..export import model_dir

        o2p = st["out"] / O2PHYSICS
        for clf, r in done.values():  # bins finished by an o2ml that wrote these files last
            if not (o2p / model_dir.onnx_name(plan.task, PtBin(r.lo, r.hi))).exists():
                model_dir.write_bin_model(plan, PtBin(r.lo, r.hi), clf, o2p, seed=st["seed"],
                                          overwrite=True)  # fmt: skip
        report.mlresponse = plan.to_json(o2p / model_dir.config_file_name(plan.task),
                                         overwrite=True)  # fmt: skip
    return report


def _figure_jobs(st: dict, solo: bool) -> list[tuple]:
    """The figure tasks of a bin: (function, its arguments after the fitted model or none,
    name); the SHAP figures one task each when ``solo`` (the bar plot with the last class)."""
    n_shap = 2 if st["binary"] else len(st["classes"]) + 1  # per class and the bar
    groups = [[k] for k in range(n_shap - 2)] + [[n_shap - 2, n_shap - 1]] if solo else [None]
    jobs = [(_plot_inputs, None, "before"), (_plot_model, ("scores",), "scores")]
    return jobs + [(_plot_model, ("importance", g), f"importance{k}") for k, g in enumerate(groups)]


def _train_forked(ctx, config, st, todo, slices, plan, workers: int, threads: int) -> dict:
    """Fewer bins than ``workers`` and no cluster asked for: ``workers`` processes forked
    from a fork server (``ctx``, :func:`_fork_server`: modules imported once, no OpenMP run
    before a fork) instead of a dask cluster's (its start and its workers' imports cost a
    bin seconds). The trainings (one thread each) and the input figures first; as a training
    ends, its scores and SHAP values on ``threads``, then its figures side by side, the SHAP
    figures one task each. {bin: (None, BinResult)}, each bin marked finished."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    jobs = _figure_jobs(st, solo=True)
    trained, parts, fitted = {}, {i: {} for i in todo}, {}
    with ProcessPoolExecutor(workers, mp_context=ctx) as ex:
        tasks = {ex.submit(_train_bin_figures, config, i, slices[i], plan, threads): (i, "fit")
                 for i in todo}  # fmt: skip
        tasks |= {ex.submit(_plot_inputs, config, i, slices[i]): (i, "before") for i in todo}
        while tasks:
            finished, _ = wait(tasks, return_when=FIRST_COMPLETED)
            for future in finished:
                i, kind = tasks.pop(future)
                parts[i][kind] = value = future.result()
                if kind == "fit":  # its figures, the SHAP figures (the longest) first
                    fitted[i] = value
                    tasks |= {ex.submit(_plot_model, config, i, slices[i], value, *args): (i, k)
                              for _, args, k in jobs[::-1] if args is not None}  # fmt: skip
                if len(parts[i]) == 1 + len(jobs):
                    after = [f for _, _, k in jobs[1:] for f in parts[i][k]]
                    _mark_done(config, fitted[i][1], parts[i]["before"], after)
                    trained[i] = None, fitted[i][1]  # the model: in its files
    return trained


def _train_bin_figures(config: Config, i: int, sliced: dict, plan, threads: int) -> tuple:
    """:func:`_train_bin` on one thread (``threads`` for its scores and SHAP values) in a
    forked process: (None, BinResult, scores and SHAP values), what the figures need, so that
    the parent process unpickles no model (its first XGBoost import cost a bin 0.8 s)."""
    _, result, cache = _train_bin(config, i, sliced, plan, False, 1, threads)
    return None, result, cache


#: what the fork server imports before it forks a training or figure process
_PRELOAD = ["o2ml.workflow.train", "xgboost", "sklearn.model_selection", "sklearn.metrics",
            "hipe4ml.model_handler", "hipe4ml.plot_utils", "o2ml.onnx", "o2ml.export.model_dir"]  # fmt: skip


def _can_fork_server() -> bool:
    import multiprocessing as mp

    return "forkserver" in mp.get_all_start_methods()  # not on Windows


def _fork_server():
    """The multiprocessing "forkserver" context, its server importing :data:`_PRELOAD` once
    (and with ``OMP_WAIT_POLICY=passive`` unless set, as :func:`_passive_workers`): its
    processes start at once, and none is forked from a process that ran OpenMP threads
    (GNU OpenMP hangs in such a child)."""
    import multiprocessing as mp
    from multiprocessing import forkserver

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    if "OMP_WAIT_POLICY" in os.environ:
        forkserver.ensure_running()
        return ctx
    os.environ["OMP_WAIT_POLICY"] = "passive"  # the server's environment, read at its start
    try:
        forkserver.ensure_running()
    finally:
        os.environ.pop("OMP_WAIT_POLICY", None)
    return ctx


def _passive_workers(workers: int, scheduler: str | None):
    """The local dask cluster's workers wait for OpenMP work passively
    (``OMP_WAIT_POLICY=passive`` unless set): a training's threads next to another process
    then yield the core instead of spinning on it (here 45 s instead of 12 s for a 2-thread
    training on a loaded 2-core machine)."""
    if scheduler is not None or workers <= 1:
        return contextlib.nullcontext()
    try:
        import dask
        import distributed  # noqa: F401  (its defaults in dask's config, not replaced here)
    except ImportError:  # client() says what is missing
        return contextlib.nullcontext()
    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    env.setdefault("OMP_WAIT_POLICY", os.environ.get("OMP_WAIT_POLICY", "passive"))
    return dask.config.set({"distributed.nanny.pre-spawn-environ": env})


def _plan(config: Config, st: dict):
    """(MlResponse configuration of the channel's selector, None) or (None, why there is none);
    checked before any model is trained. Its cuts keep every candidate until thresholds are
    chosen."""
    from ..export import model_dir

    channel = config.get("channel")
    selector = next((s for s in channels.SELECTORS.values() if s.channel == channel), None)
    if selector is None:
        return None, (f"no O2Physics selector of channel {channel!r} is known to o2ml: "
                      "no MlResponse configuration written.")  # fmt: skip
    n_cls = len(st["classes"])
    try:
        plan = model_dir.plan_model_dir(
            [PtBin(lo, hi) for lo, hi in st["bins"]], st["features"],
            cuts=[[1.0] + [0.0] * (n_cls - 1)] * len(st["bins"]),
            cut_dir=model_dir.BACKGROUND_CUT[:n_cls], class_labels=st["classes"],
            task=selector.task,
        )  # fmt: skip
    except UnsupportedFeatureError as err:
        return None, f"no MlResponse configuration for {selector.task}: {err}"
    return plan, ""


__all__ = ["TRAIN_SCHEMA", "TrainReport", "train"]
