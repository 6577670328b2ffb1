"""The pidTPC network contract: inputs, target and nsigma, as O2Physics evaluates the network.

From ``Common/Tools/PID/pidTPCModule.h`` (``createNetworkPrediction``, ``makePidTables``; summary
and commits in ``docs/o2physics_tpc_network.md``):

* one row per track and mass hypothesis: ``[tpcInnerParam, tgl, signed1Pt, mass, multTPC / 11000,
  sqrt(152 / tpcNClsFound)]`` (the 6-input network, the only width a local ``networkPathLocally``
  file gets right: 7 and 8 inputs need the CCDB ``NN-Version`` header);
* two outputs: o0 = mean of dE/dx / expected, o1 = mean + 1 sigma, so that
  nsigma = (dE/dx / expected - o0) / (o1 - o0);
* the network is used above beta*gamma = tpcInnerParam / mass > 0.45 (``networkBetaGammaCutoff``);
  below, pidTPC keeps the Bethe-Bloch nsigma.

The skim columns map onto the inputs one to one (``tpcSkimsTableCreator.cxx`` fills them with the
same normalisations), and the target is r = fTPCSignal x fInvDeDxExpTPC.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import BadArgumentError, ModelFileError
from ...schema import require_columns

#: the skim columns of the six network inputs, in the order of pidTPCModule.h
INPUT_COLUMNS = (
    "fTPCInnerParam",
    "fTgl",
    "fSigned1Pt",
    "fMass",
    "fNormMultTPC",
    "fNormNClustersTPC",
)
#: the same inputs as pidTPCModule.h computes them (written into the ONNX metadata)
INPUT_DEFINITIONS = (
    "tpcInnerParam",
    "tgl",
    "signed1Pt",
    "mass of the hypothesis (GeV/c2)",
    "multTPC / 11000",
    "sqrt(152 / tpcNClsFound)",
)
#: the two outputs (pidTPCModule.h, 2-output branch)
OUTPUT_DEFINITIONS = ("mean of dE/dx / expected", "mean + 1 sigma of dE/dx / expected")
#: pidTPC's networkBetaGammaCutoff default: below it the Bethe-Bloch nsigma is kept
BETA_GAMMA_CUTOFF = 0.45
#: columns the target needs
TARGET_COLUMNS = ("fTPCSignal", "fInvDeDxExpTPC")


def network_inputs(frame: pd.DataFrame, *, source: str = "tracks") -> np.ndarray:
    """The float32 input matrix [n, 6] of skim rows (columns :data:`INPUT_COLUMNS`)."""
    require_columns(frame, INPUT_COLUMNS, f"{source}: the pidTPC network inputs")
    return np.ascontiguousarray(frame[list(INPUT_COLUMNS)].to_numpy(np.float32))


def target_ratio(frame: pd.DataFrame, *, source: str = "tracks") -> np.ndarray:
    """r = dE/dx / expected = fTPCSignal x fInvDeDxExpTPC (float64)."""
    require_columns(frame, TARGET_COLUMNS, f"{source}: the target dE/dx / expected")
    return frame["fTPCSignal"].to_numpy(float) * frame["fInvDeDxExpTPC"].to_numpy(float)


def usable(frame: pd.DataFrame) -> np.ndarray:
    """Rows the network applies to: beta*gamma above the cut-off and a valid expected signal
    (pidTPC writes -999 for S < 0 or E < 0; those rows give a wrong 1/expected)."""
    bg = frame["fTPCInnerParam"].to_numpy(float) / frame["fMass"].to_numpy(float)
    inv = frame["fInvDeDxExpTPC"].to_numpy(float)
    return (bg > BETA_GAMMA_CUTOFF) & (inv > 0) & (frame["fTPCSignal"].to_numpy(float) > 0)


def nsigma(ratio: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """pidTPC's nsigma from the two outputs: (r - o0) / (o1 - o0)."""
    outputs = np.asarray(outputs, float)
    if outputs.ndim != 2 or outputs.shape[1] != 2 or len(outputs) != len(ratio):
        raise BadArgumentError(
            f"nsigma: expected outputs [n, 2] for {len(ratio)} tracks, got {outputs.shape}."
        )
    return (np.asarray(ratio, float) - outputs[:, 0]) / (outputs[:, 1] - outputs[:, 0])


def bethe_bloch_outputs(n: int, resolution: float = 0.07) -> np.ndarray:
    """The outputs that reproduce pidTPC without the network: mean 1, width ``resolution``."""
    return np.tile(np.array([[1.0, 1.0 + resolution]]), (int(n), 1))


def check_onnx_contract(path) -> dict:
    """Check that the ONNX file at ``path`` is what pidTPC can run (``Tools/ML/model.h``): exactly
    one float32 input [batch, 6] and one float32 output [batch, 2], the batch dimension dynamic.
    Returns the shapes read; a file that breaks the contract is a :class:`ModelFileError` that
    says which part."""
    from ...onnx import session

    sess = session(path)
    found = {"inputs": [(i.name, i.type, i.shape) for i in sess.get_inputs()],
             "outputs": [(o.name, o.type, o.shape) for o in sess.get_outputs()]}  # fmt: skip
    for what, items, width in (("input", found["inputs"], len(INPUT_COLUMNS)),
                               ("output", found["outputs"], len(OUTPUT_DEFINITIONS))):  # fmt: skip
        if len(items) != 1:
            raise ModelFileError(
                f"{path}: pidTPC reads exactly one {what}; the model has {len(items)}."
            )
        name, kind, shape = items[0]
        if (
            kind != "tensor(float)"
            or len(shape) != 2
            or shape[1] != width
            or isinstance(shape[0], int)
        ):
            raise ModelFileError(
                f"{path}: pidTPC expects the {what} as float32 [batch, {width}] with a dynamic "
                f"batch; {name!r} is {kind} {shape}."
            )
    return found


__all__ = [
    "BETA_GAMMA_CUTOFF",
    "INPUT_COLUMNS",
    "INPUT_DEFINITIONS",
    "OUTPUT_DEFINITIONS",
    "TARGET_COLUMNS",
    "bethe_bloch_outputs",
    "check_onnx_contract",
    "network_inputs",
    "nsigma",
    "target_ratio",
    "usable",
]
