"""The package's house rules, read from the source (AST): layers, no cycles (between modules and
between subpackages), no private reach-ins.

Layers, lowest first; a module may import its own layer and those below, never above. Imports
inside functions count (they are imports all the same); ``if TYPE_CHECKING:`` blocks do not run
and do not count.
"""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "o2ml"

LAYERS = [
    # shared concepts: errors, settings, the O2Physics tables, PtBin, score columns, origins
    {"o2ml", "o2ml.errors", "o2ml.config", "o2ml.schema", "o2ml.profiling"},
    {"o2ml.io"},
    # physics and data: detector responses, mass fits, the generators, the O2Physics channels;
    # and the ONNX format (converters, metadata, batch-1 latency in onnxruntime), through which
    # every model converts itself and the cost-aware search measures its models
    {"o2ml.physics", "o2ml.toymc", "o2ml.channels", "o2ml.onnx"},
    {"o2ml.selection", "o2ml.models"},
    # what leaves o2ml and what runs models
    {"o2ml.export", "o2ml.inference"},
    {"o2ml.plots", "o2ml.widgets"},
    # the workflows: the configuration-file commands, the apps
    {"o2ml.workflow", "o2ml.apps", "o2ml.cli"},
]


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(SRC.rglob("*.py"))}
#: every module's syntax tree, parsed once for all the rules below
TREES = {m: ast.parse(p.read_text(encoding="utf-8"), filename=str(p)) for m, p in MODULES.items()}


def layer(module: str) -> int:
    """The layer of a module: that of its most specific listed prefix."""
    parts = module.split(".")
    for k in range(len(parts), 0, -1):
        for i, members in enumerate(LAYERS):
            if ".".join(parts[:k]) in members:
                return i
    raise KeyError(module)


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _package(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def _from_target(package: str, node: ast.ImportFrom) -> str:
    """The absolute module of ``from X import ...`` written in ``package``."""
    if not node.level:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports(module: str) -> list[tuple[str, str, int]]:
    """(imported o2ml module, imported name or '', line) of every runtime import of ``module``."""
    package, out = _package(module), []
    for node in _runtime_nodes(TREES[module]):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names if a.name.startswith("o2ml")]
        elif isinstance(node, ast.ImportFrom):
            target = _from_target(package, node)
            if not target.startswith("o2ml"):
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.append(
                    (sub, "", node.lineno) if sub in MODULES else (target, a.name, node.lineno)
                )
    return out


def edges() -> dict[str, set[str]]:
    return {
        m: {t for t, _, _ in imports(m) if t in MODULES and t != m and t != "o2ml"} for m in MODULES
    }


def test_every_module_has_a_layer():
    for m in MODULES:
        layer(m)  # raises KeyError for a module no layer lists


def test_no_module_imports_a_higher_layer():
    """The package ``o2ml`` itself (its ``__init__``) is the exception: it imports every public
    subpackage, and no module imports it back (``from .. import __version__`` reads a name set
    before those imports)."""
    bad = [
        f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)}), line {line}"
        for m in MODULES
        if m != "o2ml"
        for t, _, line in imports(m)
        if t in MODULES and t != "o2ml" and layer(t) > layer(m)
    ]
    assert not bad, "\n".join(bad)


def cycles(graph: dict[str, set[str]]) -> list[str]:
    """Import cycles of ``graph`` (``a -> b -> a``), at least one through each set of nodes that
    reach each other."""
    seen, found = {}, []

    def visit(m: str, path: list[str]) -> None:
        seen[m] = "open"
        for t in sorted(graph.get(m, ())):
            if seen.get(t) == "open":
                found.append(" -> ".join([*path[path.index(t) :], t]))
            elif t not in seen:
                visit(t, [*path, t])
        seen[m] = "done"

    for m in sorted(graph):
        if m not in seen:
            visit(m, [m])
    return found


def test_no_import_cycles():
    found = cycles(edges())
    assert not found, "\n".join(found)


def subpackage(module: str) -> str:
    """``o2ml.<name>``: the subpackage (or top-level module) that ``module`` belongs to."""
    return ".".join(module.split(".")[:2])


def subpackage_edges() -> dict[str, set[str]]:
    """Which subpackages (and top-level modules) of o2ml import which others."""
    graph: dict[str, set[str]] = {}
    for m, targets in edges().items():
        a = subpackage(m)
        graph.setdefault(a, set()).update(subpackage(t) for t in targets if subpackage(t) != a)
    return graph


def test_no_two_subpackages_import_each_other():
    """Not directly and not through a chain (imports inside functions count, ``if TYPE_CHECKING:``
    blocks do not): of two subpackages, one sits wholly below the other. The models convert
    themselves through ``o2ml.onnx``, which imports no model, and ``o2ml.export`` writes models."""
    graph, why = subpackage_edges(), {}
    for m, targets in edges().items():
        for t in targets:
            why.setdefault((subpackage(m), subpackage(t)), f"{m} imports {t}")
    found = [
        c + " (" + "; ".join(why[a, b] for a, b in itertools.pairwise(c.split(" -> "))) + ")"
        for c in cycles(graph)
    ]
    assert not found, "\n".join(found)


def test_the_cycle_finder_finds_cycles():
    """The rule's own reading of cycles, so that the tests above can fail."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]
    assert cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []
    assert subpackage("o2ml.models.tpc.network") == "o2ml.models"
    assert subpackage("o2ml.onnx") == "o2ml.onnx"


def _private_owner(module: str, name: str) -> str | None:
    """The package that owns the first private part of ``module.name``, or None."""
    parts = module.split(".") + ([name] if name else [])
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            owner = ".".join(parts[:i])
            if owner in MODULES and MODULES[owner].name != "__init__.py" and owner.count(".") > 1:
                # a module's private name: its package owns it (a top-level module is its own
                # package: o2ml.io's private names are io's, not every top-level module's)
                owner = owner.rpartition(".")[0]
            return owner
    return None


def module_aliases(module: str) -> dict[str, str]:
    """Names that ``module`` binds to o2ml modules (``from . import io``, ``import o2ml.io as
    io``), mapped to the module."""
    package, out = _package(module), {}
    for node in ast.walk(TREES[module]):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in MODULES and a.asname:
                    out[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            target = _from_target(package, node)
            for a in node.names:
                if f"{target}.{a.name}" in MODULES:
                    out[a.asname or a.name] = f"{target}.{a.name}"
    return out


def private_attributes(module: str) -> list[tuple[str, str, int]]:
    """(o2ml module, private attribute, line) of every ``alias._name`` read in ``module``."""
    aliases = module_aliases(module)
    tree = TREES[module]
    return [
        (aliases[n.value.id], n.attr, n.lineno)
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id in aliases
        and n.attr.startswith("_")
        and not n.attr.startswith("__")
    ]


def test_nothing_private_is_used_from_outside_its_package():
    """Neither imported (``from ..io import _resolve``) nor read as an attribute
    (``io._resolve``)."""
    bad = []
    for m in MODULES:
        for t, name, line in [*imports(m), *private_attributes(m)]:
            owner = _private_owner(t, name)
            if owner is not None and not (m == owner or m.startswith(owner + ".")):
                bad.append(f"{m} line {line}: {t}{'.' + name if name else ''} (private to {owner})")
    assert not bad, "\n".join(bad)


def test_the_attribute_reader_sees_module_aliases():
    assert module_aliases("o2ml.workflow.scan")["io"] == "o2ml.io"
    assert module_aliases("o2ml.workflow.scan")["selection"] == "o2ml.selection"
    # the rule reads what it should: io's own private helpers are read inside io's package only
    assert all(t != "o2ml.io" for t, _, _ in private_attributes("o2ml.workflow.scan"))


@pytest.mark.parametrize(
    ("module", "name", "owner"),
    [
        ("o2ml.selection._estimate", "x", "o2ml.selection"),
        ("o2ml.export.o2physics", "_write", "o2ml.export"),
        ("o2ml.selection", "_binning", "o2ml.selection"),
        ("o2ml.io", "read_table", None),
        ("o2ml.io", "_resolve", "o2ml.io"),
    ],
)
def test_private_owner(module, name, owner):
    """The rule's own reading of names, so that the test above can fail."""
    assert _private_owner(module, name) == owner


def test_the_reader_sees_imports_inside_functions_and_skips_type_checking():
    graph = edges()
    assert "o2ml.models.bdt" in graph["o2ml.inference.model"]  # imported inside a method
    assert "o2ml.selection.result" not in graph["o2ml.selection._result_io"]  # TYPE_CHECKING only
    assert layer("o2ml.models.tpc.network") == layer("o2ml.models") == 3


def test_o2ml_gives_its_subpackages_and_their_public_names():
    """``import o2ml`` imports every public subpackage and top-level module but the CLI
    (``o2ml.<name>`` is there, :func:`test_import_o2ml_gives_every_subpackage_and_no_heavy_library`
    checks that it loads nothing heavy); every name a package's ``__all__`` lists exists (the
    curated ``dir()`` and the one ``__init__`` style: the tests further down)."""
    import importlib

    import o2ml

    public = {
        p.name if p.is_dir() else p.stem
        for p in SRC.iterdir()
        if not p.name.startswith("_") and ((p / "__init__.py").exists() or p.suffix == ".py")
    }
    assert public - {"cli"} <= set(o2ml.__all__), sorted(public - set(o2ml.__all__))
    for m, path in MODULES.items():
        if path.name == "__init__.py":
            package = importlib.import_module(m)
            missing = [n for n in package.__all__ if not hasattr(package, n)]
            assert not missing, (m, missing)
    with pytest.raises(AttributeError, match="no attribute 'analysiss'"):
        o2ml.analysiss  # noqa: B018


#: positional parameters a public function may take (self and cls not counted); the rest are
#: keyword-only, so that a call reads what each value is (``train_bin(data, mc, bin, features,
#: seed=1)``, never ``bdt.optimize(m, tt, 20, None, "s", ...)``)
MAX_POSITIONAL = 4


def test_public_functions_take_at_most_four_positional_arguments():
    bad = []
    for m, tree in TREES.items():
        if any(part.startswith("_") for part in m.split(".")):
            continue
        for node in tree.body:
            funcs = [(node, "")] if isinstance(node, ast.FunctionDef) else []
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                funcs += [(f, node.name + ".") for f in node.body if isinstance(f, ast.FunctionDef)]
            for f, owner in funcs:
                if f.name.startswith("_"):
                    continue
                positional = [a.arg for a in f.args.posonlyargs + f.args.args]
                positional = [a for a in positional if a not in ("self", "cls")]
                if len(positional) > MAX_POSITIONAL:
                    bad.append(f"{m}.{owner}{f.name}({', '.join(positional)})")
    assert not bad, "\n".join(bad)


def test_every_error_class_lives_in_errors_and_none_is_raised_bare():
    """One module holds every error class (``o2ml.errors``), and each error raised says what
    kind it is: no bare ``O2mlError``."""
    defined, bare = [], []
    for m, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and m != "o2ml.errors":
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Exception", "Warning")) for b in bases):
                    defined.append(f"{m}.{node.name}({', '.join(bases)})")
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                if ast.unparse(node.exc.func) in ("O2mlError", "errors.O2mlError"):
                    bare.append(f"{m} line {node.lineno}")
    assert not defined, f"error classes outside o2ml.errors: {defined}"
    assert not bare, f"bare O2mlError raised: {bare}"


def test_a_moved_module_names_its_new_home():
    """o2ml.export.onnx moved to o2ml.onnx: its old name is an error that says where, no alias."""
    with pytest.raises(ImportError, match="o2ml.export.onnx moved to o2ml.onnx"):
        import o2ml.export.onnx  # noqa: F401


def test_a_concept_taught_by_a_re_export_names_its_home():
    """bdt.pt_bins, bdt.PtBin, bdt.CharmClass and bdt.CLASS_LABELS live in o2ml.schema: the old
    names are an error that says so (one release), not a second home."""
    from o2ml import schema
    from o2ml.models import bdt

    for name in ("pt_bins", "PtBin", "CharmClass", "CLASS_LABELS"):
        with pytest.raises(AttributeError, match=f"moved to o2ml.schema.{name}"):
            getattr(bdt, name)
        assert getattr(schema, name) is not None


# ---------------------------------------------------------------- the API a physicist holds (#34)
#: the most names ``o2ml.selection`` exports: one entry point per job
MAX_SELECTION_NAMES = 25
#: the most parameters a public callable takes (self and cls not counted): parameters that
#: travel together are one object (SignificanceOptions, CandidateColumns, ExportSettings, ...)
MAX_PARAMETERS = 8
#: what ``import o2ml`` must not load: the extras and the heavy libraries, imported inside the
#: functions that need them (as uproot does for its optional dependencies)
HEAVY = (
    "torch", "xgboost", "hipe4ml", "sklearn", "optuna", "onnxruntime", "onnx", "onnxmltools",
    "plotly", "ipywidgets", "dask", "distributed", "matplotlib", "scipy", "iminuit", "uproot",
    "hummingbird", "shap", "voila",
)  # fmt: skip


def _is_record(node: ast.ClassDef) -> bool:
    """A dataclass: a record of named fields (its constructor is the parameter object)."""
    return any("dataclass" in ast.unparse(d) for d in node.decorator_list)


def public_callables() -> list[tuple[str, ast.FunctionDef]]:
    out = []
    for m, tree in TREES.items():
        if any(part.startswith("_") for part in m.split(".")):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                out.append((f"{m}.{node.name}", node))
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for f in node.body:
                    if not isinstance(f, ast.FunctionDef):
                        continue
                    if not f.name.startswith("_") or f.name == "__init__":
                        if f.name == "__init__" and _is_record(node):
                            continue
                        out.append((f"{m}.{node.name}.{f.name}", f))
    return out


def _parameters(f: ast.FunctionDef) -> list[str]:
    a = f.args
    return [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]


def test_no_public_callable_takes_more_than_eight_parameters():
    bad = [f"{name}: {len(p)} ({', '.join(p)})" for name, f in public_callables()
           if len(p := _parameters(f)) > MAX_PARAMETERS]  # fmt: skip
    assert not bad, "\n".join(bad)


def test_the_parameter_counter_counts_keyword_only_and_skips_self():
    tree = ast.parse("class A:\n    def f(self, a, b=1, *, c, d=2, **kw): pass")
    assert _parameters(tree.body[0].body[0]) == ["a", "b", "c", "d"]


#: the public callables whose ``**kwargs`` are data or another callable's arguments, not
#: parameters of their own
KWARGS_ALLOWED = {
    "o2ml.selection.options.SignificanceOptions.replace": "the record's fields (dataclasses.replace)",
    "o2ml.selection.options.BinInputs.replace": "the record's fields (dataclasses.replace)",
    "o2ml.physics.pid_response.same_length": "named arrays to check (data)",
    "o2ml.profiling.measure": "the arguments of the measured function fn(*args, **kwargs)",
    "o2ml.profiling.CostTable.measure": "the arguments of the measured function",
    "o2ml.widgets.scanner.ThresholdScanner.set_thresholds": "score column -> threshold (data)",
}


def test_no_public_callable_hides_parameters_in_kwargs():
    """``**kwargs`` pass-throughs (config fields, another function's options) are not a way
    under the limit: such parameters are one object (a config) or named."""
    bad = [name for name, f in public_callables()
           if f.args.kwarg is not None and name not in KWARGS_ALLOWED]  # fmt: skip
    assert not bad, "\n".join(bad)
    assert set(KWARGS_ALLOWED) <= {name for name, _ in public_callables()}, "stale allowance"


def test_selection_has_one_entry_point_per_job():
    from o2ml import selection

    assert len(selection.__all__) <= MAX_SELECTION_NAMES, sorted(selection.__all__)


def _init_modules() -> dict[str, ast.Module]:
    return {m: TREES[m] for m, p in MODULES.items() if p.name == "__init__.py"}


def test_every_package_has_one_init_style():
    """Explicit imports and a literal ``__all__``: no lazy attributes (a ``__getattr__`` may
    only raise, naming where a moved name went), no ``__dir__``, no ``import *``."""
    bad = []
    for m, tree in _init_modules().items():
        names = [n for n in tree.body if isinstance(n, ast.Assign)
                 and any(getattr(t, "id", "") == "__all__" for t in n.targets)]  # fmt: skip
        if not names or not isinstance(names[0].value, ast.List):
            bad.append(f"{m}: no literal __all__ list")
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names):
                bad.append(f"{m} line {n.lineno}: import *")
            if isinstance(n, ast.FunctionDef) and n.name == "__dir__":
                bad.append(f"{m} line {n.lineno}: __dir__")
            if isinstance(n, ast.FunctionDef) and n.name == "__getattr__":
                # only one kind is allowed: it raises (a moved name says where it went)
                if any(isinstance(r, ast.Return) for r in ast.walk(n)):
                    bad.append(f"{m} line {n.lineno}: __getattr__ returns (a lazy attribute)")
            if isinstance(n, ast.ImportFrom) and (n.module or "").endswith("_lazy"):
                bad.append(f"{m} line {n.lineno}: _lazy")
    assert "o2ml._lazy" not in MODULES
    assert not bad, "\n".join(bad)


def test_dir_of_a_package_shows_its_curated_names():
    """``dir()`` of every package shows ``__all__`` and no other public name but its
    submodules (no helper such as ``np`` or ``importlib``)."""
    import importlib
    import types

    bad = []
    for m in _init_modules():
        package = importlib.import_module(m)
        shown = {n for n in dir(package) if not n.startswith("_") and n != "annotations"}
        extra = {n for n in shown - set(package.__all__)
                 if not isinstance(getattr(package, n), types.ModuleType)}  # fmt: skip
        missing = {n for n in package.__all__ if not n.startswith("_")} - shown
        if extra or missing:
            bad.append(f"{m}: not in __all__ {sorted(extra)}, not shown {sorted(missing)}")
    assert not bad, "\n".join(bad)


def test_import_o2ml_gives_every_subpackage_and_no_heavy_library():
    code = (
        f"import sys; import o2ml; print(sorted(m for m in {HEAVY!r} if m in sys.modules)); "
        "print(sorted(n for n in o2ml.__all__ if n[0] != '_' and 'o2ml.' + n not in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, not_loaded = out.stdout.splitlines()
    assert heavy == "[]", f"import o2ml loads {heavy}"
    assert not_loaded == "[]", f"import o2ml does not load {not_loaded}"
