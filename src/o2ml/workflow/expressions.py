"""C++ selection expressions of the O2Physics configs, evaluated on columns without ROOT.

The D2H macros pass strings such as ``"fM < 1.82 || (1.92 < fM && fM < 2.00)"`` to RDataFrame's
``Filter`` (``PWGHF/D2H/Macros/ML/prepare_samples.py``). This module parses them with C++'s
grammar and precedence (``||`` < ``&&`` < ``|`` < ``^`` < ``&`` < ``== !=`` < ``< <= > >=`` <
``+ -`` < ``* / %`` < unary ``! - +``), so that ``!fA > 1`` means ``(!fA) > 1`` as in C++, and
evaluates them vectorised on a DataFrame's columns. Functions: ``abs``/``fabs``/``std::abs``/
``TMath::Abs``, ``sqrt``, ``exp``, ``log``, ``pow``, ``min``/``max`` (also ``std::``). Anything
else is a :class:`~o2ml.errors.SelectionSyntaxError` naming the expression and the position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import ColumnNotFoundError, SelectionSyntaxError, did_you_mean

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[fFlLuU]*)"
    r"|(?P<name>(?:[A-Za-z_]\w*::)*[A-Za-z_]\w*)"
    r"|(?P<op>\|\||&&|==|!=|<=|>=|[-+*/%()<>!,|&^]))"
)
_FUNCS = {
    "abs": np.abs, "fabs": np.abs, "std::abs": np.abs, "std::fabs": np.abs, "TMath::Abs": np.abs,
    "sqrt": np.sqrt, "std::sqrt": np.sqrt, "TMath::Sqrt": np.sqrt,
    "exp": np.exp, "std::exp": np.exp, "log": np.log, "std::log": np.log,
    "pow": np.power, "std::pow": np.power, "TMath::Power": np.power,
    "min": np.minimum, "std::min": np.minimum, "max": np.maximum, "std::max": np.maximum,
}  # fmt: skip
_BINARY = [  # lowest precedence first
    ("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"),
    ("*", "/", "%"),
]  # fmt: skip


@dataclass(frozen=True)
class _Node:
    kind: str  # "num", "col", "un", "bin", "call"
    value: object
    args: tuple = ()


def _truth(x):
    return np.asarray(x) != 0


def _apply(op: str, a, b):
    if op == "||":
        return _truth(a) | _truth(b)
    if op == "&&":
        return _truth(a) & _truth(b)
    if op in ("|", "&", "^"):
        a, b = np.asarray(a).astype(np.int64), np.asarray(b).astype(np.int64)
        return {"|": np.bitwise_or, "&": np.bitwise_and, "^": np.bitwise_xor}[op](a, b)
    ops = {
        "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
        ">": np.greater, ">=": np.greater_equal, "+": np.add, "-": np.subtract,
        "*": np.multiply, "/": np.true_divide, "%": np.fmod,
    }  # fmt: skip
    return ops[op](a, b)


class Expression:
    """A parsed C++ expression: ``columns`` it reads, ``evaluate(frame)`` -> numpy array."""

    def __init__(self, text: str, what: str = "selection") -> None:
        self.text, self.what = text, what
        self._tokens = self._tokenize(text)
        self._i = 0
        self.tree = self._binary(0)
        if self._i != len(self._tokens):
            self._fail("unexpected", self._tokens[self._i])
        self.columns = sorted(self._names(self.tree))

    # ---------------------------------------------------------------- parsing
    def _fail(self, why: str, tok=None) -> None:
        where = f" {tok[1]!r} at character {tok[2] + 1}" if tok else " end of the expression"
        raise SelectionSyntaxError(f"{self.what} {self.text!r}: {why}{where}.")

    def _tokenize(self, text: str) -> list[tuple[str, str, int]]:
        out, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                start = len(text) - len(text[pos:].lstrip())
                raise SelectionSyntaxError(
                    f"{self.what} {text!r}: cannot read {text[start : start + 10]!r} at "
                    f"character {start + 1} (C++ operators, numbers, column names and "
                    f"{', '.join(sorted(set(_FUNCS)))} are understood)."
                )
            kind = m.lastgroup
            out.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        if not out:
            raise SelectionSyntaxError(f"{self.what}: the expression is empty.")
        return out

    def _peek(self):
        return self._tokens[self._i] if self._i < len(self._tokens) else None

    def _take(self, value: str | None = None):
        tok = self._peek()
        if tok is None or (value is not None and tok[1] != value):
            self._fail(f"expected {value!r}, found" if value else "expected more, found", tok)
        self._i += 1
        return tok

    def _binary(self, level: int) -> _Node:
        if level == len(_BINARY):
            return self._unary()
        left = self._binary(level + 1)
        while (tok := self._peek()) is not None and tok[0] == "op" and tok[1] in _BINARY[level]:
            self._i += 1
            left = _Node("bin", tok[1], (left, self._binary(level + 1)))
        return left

    def _unary(self) -> _Node:
        tok = self._peek()
        if tok is not None and tok[0] == "op" and tok[1] in ("!", "-", "+"):
            self._i += 1
            return _Node("un", tok[1], (self._unary(),))
        return self._primary()

    def _primary(self) -> _Node:
        tok = self._take()
        kind, value, _ = tok
        if kind == "num":
            return _Node("num", float(value.rstrip("fFlLuU")))
        if kind == "name":
            if value in ("true", "false"):
                return _Node("num", 1.0 if value == "true" else 0.0)
            nxt = self._peek()
            if nxt is not None and nxt[1] == "(":
                if value not in _FUNCS:
                    self._fail("unknown function", tok)
                self._i += 1
                args = [self._binary(0)]
                while self._peek() is not None and self._peek()[1] == ",":
                    self._i += 1
                    args.append(self._binary(0))
                self._take(")")
                return _Node("call", value, tuple(args))
            if "::" in value:
                self._fail("unknown name", tok)
            return _Node("col", value)
        if value == "(":
            node = self._binary(0)
            self._take(")")
            return node
        self._fail("unexpected", tok)
        raise AssertionError  # unreachable

    def _names(self, node: _Node) -> set[str]:
        own = {node.value} if node.kind == "col" else set()
        return own.union(*(self._names(a) for a in node.args)) if node.args else own

    # ---------------------------------------------------------------- evaluation
    def evaluate(self, frame: Mapping) -> np.ndarray:
        """The expression's value per row of ``frame`` (a DataFrame or a dict of arrays)."""
        missing = [c for c in self.columns if c not in frame]
        if missing:
            known = list(frame.keys())
            raise ColumnNotFoundError(
                f"{self.what} {self.text!r}: expected the columns {missing}, not found."
                + "".join(did_you_mean(c, known) for c in missing)
            )
        n = len(frame[next(iter(frame.keys()))]) if len(frame.keys()) else 0
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self._eval(self.tree, frame)
        return np.broadcast_to(np.asarray(out), (n,)) if np.ndim(out) == 0 else np.asarray(out)

    def _eval(self, node: _Node, frame):
        if node.kind == "num":
            return node.value
        if node.kind == "col":
            return np.asarray(frame[node.value])
        if node.kind == "un":
            x = self._eval(node.args[0], frame)
            return ~_truth(x) if node.value == "!" else (-np.asarray(x) if node.value == "-" else x)
        if node.kind == "call":
            return _FUNCS[node.value](*(self._eval(a, frame) for a in node.args))
        a, b = (self._eval(x, frame) for x in node.args)
        return _apply(node.value, a, b)

    def mask(self, frame: Mapping) -> np.ndarray:
        """Rows where the expression is true (non-zero), as RDataFrame's ``Filter`` keeps them."""
        return _truth(self.evaluate(frame))


def conjunction(parts, what: str = "preselections") -> Expression | None:
    """The macro's join of a list of selections: ``" && ".join(parts)`` (None for no parts)."""
    if not parts:
        return None
    return Expression(" && ".join(f"({p})" for p in parts), what)


__all__ = ["Expression", "conjunction"]
