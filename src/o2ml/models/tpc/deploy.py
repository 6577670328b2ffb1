"""The ``dpl-config`` section that makes O2Physics' pidTPC run an o2ml network from a local file.

pidTPC applies its network to all nine mass hypotheses unless told otherwise (``useNetworkEl`` ...
``useNetworkAl`` default to 1), so a network trained on e, pi, K and p would also set the nsigma
of muons, deuterons, tritons, helium-3 and alphas, far outside what it has seen.
:func:`write_pidtpc_config` writes, next to the ONNX file, the section that switches the network
on for the species it was trained on and off for the others, and sets every other configurable
that decides whether and how the network is loaded and applied.

Read from O2Physics (``AliceO2Group/O2Physics``):

* ``Common/Tools/PID/pidTPCModule.h`` @ fbbe84842db067d1dc663e19a66f04b10f52e382:
  ``struct pidTPCConfigurables : o2::framework::ConfigurableGroup`` with
  ``std::string prefix = "pidTPC"``, its configurables :data:`PIDTPC_CONFIGURABLES`;
  ``speciesNetworkFlags[0..8] = useNetworkEl, Mu, Pi, Ka, Pr, De, Tr, He, Al`` (the index is the
  ``o2::track::PID`` id); ``init``: with ``useNetworkCorrection`` and ``autofetchNetworks`` off,
  ``ccdb-timestamp > 0`` downloads the network from ``networkPathCCDB`` *into*
  ``networkPathLocally``, otherwise the local file is loaded (``initModel(networkPathLocally,
  enableNetworkOptimizations, networkSetNumThreads)``); with ``autofetchNetworks`` on, every new
  run fetches the CCDB network into ``networkPathLocally``, replacing the file; ``useCorrecteddEdx``
  is fatal unless the CCDB header ``NN-Version`` is "5", which a local file never has;
  ``makePidTables``: the network's nsigma only where ``useNetworkCorrection &&
  speciesNetworkFlags[pid] && has_collision && bg > networkBetaGammaCutoff``.
* ``Common/TableProducer/PID/pidTPCService.cxx`` @ 5c80dd96246b6f69ce104ef7fa231044ed4fceba:
  ``struct pidTpcService`` holds ``pidTPCConfigurables pidTPCopts``; DPL names a task after its
  struct (``type_to_task_name``, Framework ``TypeIdHelpers``): ``pid-tpc-service``
  (``o2-analysis-pid-tpc-service``, CMake ``o2physics_add_dpl_workflow(pid-tpc-service``).

A ``dpl-config.json`` nests a group's configurables under its prefix (as O2Physics'
``Tutorials/PWGHF/dpl-config_task.json`` does), values as strings the way O2 writes them
(bools ``"true"``/``"false"``).
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..._atomic import replacing
from ...errors import BadArgumentError, OutputExistsError
from ...physics.constants import O2_PID_INDEX
from .inputs import BETA_GAMMA_CUTOFF, check_onnx_contract

#: where the configurables were read: repository, files and the commits of them o2ml follows
PIDTPC_SOURCE = {
    "repository": "AliceO2Group/O2Physics",
    "file": "Common/Tools/PID/pidTPCModule.h",
    "commit": "fbbe84842db067d1dc663e19a66f04b10f52e382",
    "task_file": "Common/TableProducer/PID/pidTPCService.cxx",
    "task_commit": "5c80dd96246b6f69ce104ef7fa231044ed4fceba",
}
#: the DPL task that runs pidTPCModule (struct pidTpcService)
PIDTPC_TASK = "pid-tpc-service"
#: the ConfigurableGroup's prefix (``pidTPCConfigurables::prefix``)
PIDTPC_GROUP = "pidTPC"
#: every configurable of ``pidTPCConfigurables`` @ PIDTPC_SOURCE["commit"], in declaration
#: order: name -> (C++ type, default)
PIDTPC_CONFIGURABLES: dict[str, tuple[str, object]] = {
    "param-file": ("std::string", ""),
    "ccdbPath": ("std::string", "Analysis/PID/TPC/Response"),
    "recoPass": ("std::string", ""),
    "ccdb-timestamp": ("int64_t", 0),
    "useNetworkCorrection": ("bool", False),
    "autofetchNetworks": ("bool", True),
    "skipTPCOnly": ("int", -1),
    "devicesRequiringTPCOnlyPID": ("std::vector<std::string>", ["photon-conversion-builder"]),
    "networkPathLocally": ("std::string", "network.onnx"),
    "networkPathCCDB": ("std::string", "Analysis/PID/TPC/ML"),
    "enableNetworkOptimizations": ("bool", True),
    "networkSetNumThreads": ("int", 0),
    "savedEdxsCorrected": ("int", -1),
    "useCorrecteddEdx": ("bool", False),
    "pid-full-el": ("int", -1),
    "pid-full-mu": ("int", -1),
    "pid-full-pi": ("int", -1),
    "pid-full-ka": ("int", -1),
    "pid-full-pr": ("int", -1),
    "pid-full-de": ("int", -1),
    "pid-full-tr": ("int", -1),
    "pid-full-he": ("int", -1),
    "pid-full-al": ("int", -1),
    "pid-tiny-el": ("int", -1),
    "pid-tiny-mu": ("int", -1),
    "pid-tiny-pi": ("int", -1),
    "pid-tiny-ka": ("int", -1),
    "pid-tiny-pr": ("int", -1),
    "pid-tiny-de": ("int", -1),
    "pid-tiny-tr": ("int", -1),
    "pid-tiny-he": ("int", -1),
    "pid-tiny-al": ("int", -1),
    "enableTuneOnDataTable": ("int", -1),
    "useNetworkEl": ("int", 1),
    "useNetworkMu": ("int", 1),
    "useNetworkPi": ("int", 1),
    "useNetworkKa": ("int", 1),
    "useNetworkPr": ("int", 1),
    "useNetworkDe": ("int", 1),
    "useNetworkTr": ("int", 1),
    "useNetworkHe": ("int", 1),
    "useNetworkAl": ("int", 1),
    "networkBetaGammaCutoff": ("float", 0.45),
    "ccdb-path-grplhcif": ("std::string", "GLO/Config/GRPLHCIF"),
}
#: the species of ``speciesNetworkFlags``, by o2::track::PID id (0 e ... 8 alpha)
SPECIES = ("El", "Mu", "Pi", "Ka", "Pr", "De", "Tr", "He", "Al")
#: the configurables that decide whether and how the network is loaded and applied: all of them
#: are in the section :func:`pidtpc_section` writes
NETWORK_CONFIGURABLES = (
    "useNetworkCorrection",
    "autofetchNetworks",
    "networkPathLocally",
    "networkPathCCDB",
    "enableNetworkOptimizations",
    "networkSetNumThreads",
    "networkBetaGammaCutoff",
    "ccdb-timestamp",  # > 0 with autofetchNetworks off: the CCDB network replaces the local file
    "useCorrecteddEdx",  # fatal with a local network (no NN-Version "5")
    *(f"useNetwork{s}" for s in SPECIES),
)


def _species_index(s) -> int:
    if isinstance(s, numbers.Integral) and not isinstance(s, bool) and 0 <= int(s) < len(SPECIES):
        return int(s)
    if isinstance(s, str):
        by_name = {n.lower(): i for i, n in enumerate(SPECIES)}
        if s.lower() in by_name:
            return by_name[s.lower()]
        if s in O2_PID_INDEX:
            return O2_PID_INDEX[s]
    raise BadArgumentError(
        f"pidTPC species: expected an o2::track::PID id 0-8 (fPidIndex), one of {list(SPECIES)} "
        f"or {list(O2_PID_INDEX)}; found {s!r}."
    )


def _value(name: str, value) -> str:
    """``value`` as O2 writes the configurable ``name`` in a dpl-config (a string)."""
    kind = PIDTPC_CONFIGURABLES[name][0]
    if kind == "bool":
        return "true" if value else "false"
    if kind in ("int", "int64_t"):
        return str(int(value))
    if kind == "float":
        return repr(float(value))
    return str(value)


def pidtpc_section(
    species: Iterable,
    *,
    network_path: str,
    beta_gamma_cutoff: float = BETA_GAMMA_CUTOFF,
    threads: int = 0,
    optimizations: bool = True,
) -> dict:
    """``{"pid-tpc-service": {"pidTPC": {...}}}``: the network in ``network_path`` (a local file,
    opened by pidTPC relative to the job's working directory) switched on for ``species`` (PID
    ids as in ``fPidIndex``, or names: ``"Pi"``, ``"pi"``, ...) and off for the other hypotheses,
    with every configurable of :data:`NETWORK_CONFIGURABLES` set: no CCDB fetch
    (``autofetchNetworks`` off, ``ccdb-timestamp`` 0, so nothing replaces the file),
    ``useCorrecteddEdx`` off, the beta*gamma cut-off the network was trained above, and
    ``networkSetNumThreads`` (0: ONNX Runtime's default; 1 on the grid anyway)."""
    on = sorted({_species_index(s) for s in species})
    if not on:
        raise BadArgumentError("pidTPC species: expected at least one species the network knows.")
    if not str(network_path):
        raise BadArgumentError("pidTPC: networkPathLocally must name the ONNX file.")
    if not beta_gamma_cutoff > 0 or int(threads) < 0:
        raise BadArgumentError(
            f"pidTPC: expected beta_gamma_cutoff > 0 and threads >= 0; got {beta_gamma_cutoff}, "
            f"{threads}."
        )
    values = {
        "useNetworkCorrection": True,
        "autofetchNetworks": False,
        "networkPathLocally": str(network_path),
        "networkPathCCDB": PIDTPC_CONFIGURABLES["networkPathCCDB"][1],
        "enableNetworkOptimizations": bool(optimizations),
        "networkSetNumThreads": int(threads),
        "networkBetaGammaCutoff": float(beta_gamma_cutoff),
        "ccdb-timestamp": 0,
        "useCorrecteddEdx": False,
        **{f"useNetwork{s}": int(i in on) for i, s in enumerate(SPECIES)},
    }
    return {PIDTPC_TASK: {PIDTPC_GROUP: {k: _value(k, v) for k, v in values.items()}}}


def network_species(document: Mapping) -> list[str]:
    """The species (:data:`SPECIES` names) a dpl-config switches pidTPC's network on for: none
    unless ``useNetworkCorrection`` is on; a species the section leaves out keeps pidTPC's
    default, on. Reads the nested and the flat (``"pidTPC.useNetworkPi"``) forms."""
    task = document.get(PIDTPC_TASK, {})
    group = dict(task.get(PIDTPC_GROUP, {}))
    group.update({k[len(PIDTPC_GROUP) + 1 :]: v for k, v in task.items()
                  if k.startswith(PIDTPC_GROUP + ".")})  # fmt: skip

    def flag(name: str) -> bool:
        value = group.get(name, PIDTPC_CONFIGURABLES[name][1])
        return str(value).strip().lower() not in ("0", "false", "")

    if not flag("useNetworkCorrection"):
        return []
    return [s for s in SPECIES if flag(f"useNetwork{s}")]


def write_pidtpc_config(
    onnx_path: str | os.PathLike,
    species: Iterable,
    *,
    path: str | os.PathLike | None = None,
    network_path: str | None = None,
    overwrite: bool = False,
    beta_gamma_cutoff: float = BETA_GAMMA_CUTOFF,
    threads: int = 0,
    optimizations: bool = True,
) -> Path:
    """Check that ``onnx_path`` is a network pidTPC can run (:func:`~.inputs.check_onnx_contract`:
    six inputs, the only width a local file gets right), then write :func:`pidtpc_section` for it
    to ``path`` (default: ``<onnx stem>.dpl-config.json`` next to it), ready to merge into the
    ``dpl-config.json`` of the workflow that runs ``o2-analysis-pid-tpc-service``.

    ``network_path`` is what pidTPC opens (default: the ONNX file's name, so the file must sit in
    the job's working directory); ``beta_gamma_cutoff``, ``threads`` (``networkSetNumThreads``)
    and ``optimizations`` (``enableNetworkOptimizations``) are :func:`pidtpc_section`'s.
    Returns the path."""
    onnx_path = Path(onnx_path)
    check_onnx_contract(onnx_path)
    section = pidtpc_section(
        species, network_path=network_path or onnx_path.name,
        beta_gamma_cutoff=beta_gamma_cutoff, threads=threads, optimizations=optimizations,
    )  # fmt: skip
    path = onnx_path.with_name(f"{onnx_path.stem}.dpl-config.json") if path is None else Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: the file exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        tmp.write_text(json.dumps(section, indent=2) + "\n", encoding="utf-8")
    return path


__all__ = [
    "NETWORK_CONFIGURABLES",
    "PIDTPC_CONFIGURABLES",
    "PIDTPC_GROUP",
    "PIDTPC_SOURCE",
    "PIDTPC_TASK",
    "SPECIES",
    "network_species",
    "pidtpc_section",
    "write_pidtpc_config",
]
