"""The YAML configurations of the O2Physics D2H ML macros, read safely and checked key by key.

The macros load them with ``yaml.load(f, yaml.FullLoader)`` because the training config writes
Optuna ranges as ``!!python/tuple [lo, hi]`` (``PWGHF/D2H/Macros/ML/config_training_*.yml``).
o2ml reads them with a *safe* loader that knows that one tag (a tuple of plain values, nothing
executable), keeps the line of every key, and checks the keys against a schema: a missing or
mistyped key is a :class:`~o2ml.errors.ConfigError` naming the key, the file and the line; a key
the schema does not know is reported (:attr:`Config.unknown`), never silently used or dropped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, InputFileNotFoundError, did_you_mean


class _Loader(yaml.SafeLoader):
    """SafeLoader + ``!!python/tuple`` (a sequence of plain scalars) + the line of each key."""


def _tuple(loader: _Loader, node: yaml.SequenceNode) -> tuple:
    return tuple(loader.construct_sequence(node, deep=True))


_Loader.add_constructor("tag:yaml.org,2002:python/tuple", _tuple)


def _lines(node: yaml.Node, prefix: str, out: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{prefix}.{key.value}" if prefix else str(key.value)
            out[name] = key.start_mark.line + 1
            _lines(value, name, out)


#: a schema leaf: (accepted types, required); a nested Mapping is a sub-section
Leaf = tuple[tuple[type, ...], bool]


@dataclass
class Config:
    """A loaded configuration: its values, the line of each key, and the keys it did not expect."""

    path: Path
    data: dict
    lines: dict[str, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        return f"{self.path}, line {line}" if line else str(self.path)

    def get(self, key: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return node

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: key {key!r}: {message}")


def load_config(path: str | os.PathLike, schema: Mapping, what: str) -> Config:
    """Read ``path`` (YAML) and check it against ``schema`` ({key: Leaf or sub-schema})."""
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such {what} file.")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: nothing executable
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not a valid YAML {what}: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a {what} is a YAML mapping of keys; found {type(data).__name__}."
        )
    lines: dict[str, int] = {}
    if node is not None:
        _lines(node, "", lines)
    config = Config(path, data, lines)
    _check(config, data, schema, "")
    return config


def _type_names(types: tuple[type, ...]) -> str:
    names = {type(None): "null", str: "a string", list: "a list", dict: "a mapping",
             bool: "true/false", int: "an integer", float: "a number", tuple: "a tuple"}  # fmt: skip
    return " or ".join(names.get(t, t.__name__) for t in types)


def _check(config: Config, data: Mapping, schema: Mapping, prefix: str) -> None:
    for key, rule in schema.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(rule, Mapping):
            if key not in data or not isinstance(data[key], Mapping):
                where = config.where(prefix) if prefix else str(config.path)
                found = "missing" if key not in data else f"found {data[key]!r}"
                raise ConfigError(f"{where}: expected the section {name!r} (a mapping), {found}.")
            _check(config, data[key], rule, name)
            continue
        types, required = rule
        if key not in data:
            if required:
                where = config.where(prefix) if prefix else str(config.path)
                raise ConfigError(
                    f"{where}: expected the key {name!r} ({_type_names(types)}), not found."
                    + did_you_mean(key, [k for k in data if k not in schema])
                )
            continue
        value = data[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise config.error(name, f"expected {_type_names(types)}, found {value!r}.")
    for key in data:
        if key not in schema:
            name = f"{prefix}.{key}" if prefix else str(key)
            config.unknown.append(
                f"{config.where(name)}: unknown key {name!r}" + did_you_mean(str(key), schema)
            )


__all__ = ["Config", "load_config"]
