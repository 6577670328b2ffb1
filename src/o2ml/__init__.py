"""o2ml: a Jupyter-first machine-learning environment for ALICE O2 physics analyses.

``import o2ml`` imports every public subpackage (``o2ml.selection.scan_significance`` works
after it) and stays cheap: no module imports torch, XGBoost, hipe4ml, scikit-learn, Optuna,
onnxruntime, SciPy, iminuit, uproot, matplotlib, plotly, ipywidgets or dask when it is imported,
only inside the functions that use them (the optional extras through :func:`o2ml._extras.load`,
a :class:`~o2ml.errors.MissingExtraError` at first use where one is missing). The README's Layout
section lists what each subpackage holds.
"""

__version__ = "0.1.0"

# after __version__, which the submodules read (``from .. import __version__``)
from . import (
    answers,
    apps,
    channels,
    config,
    errors,
    export,
    inference,
    io,
    models,
    onnx,
    physics,
    plots,
    profiling,
    schema,
    selection,
    toymc,
    widgets,
    workflow,
)

__all__ = [
    "__version__",
    "answers",
    "apps",
    "channels",
    "config",
    "errors",
    "export",
    "inference",
    "io",
    "models",
    "onnx",
    "physics",
    "plots",
    "profiling",
    "schema",
    "selection",
    "toymc",
    "widgets",
    "workflow",
]
