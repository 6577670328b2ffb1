"""C++ selection expressions of the O2Physics configs, evaluated on columns without ROOT.

The D2H macros pass strings such as ``"fM < 1.82 || (1.92 < fM && fM < 2.00)"`` to RDataFrame's
``Filter``, which compiles them as C++ (``PWGHF/D2H/Macros/ML/prepare_samples.py``, O2Physics
58361bb9f76a, ``df.Filter(presels)``). This module parses them with C++'s grammar and precedence
(``||`` < ``&&`` < ``|`` < ``^`` < ``&`` < ``== !=`` < ``< <= > >=`` < ``<< >>`` < ``+ -`` <
``* / %`` < unary ``! compl - +``, binary operators left-associative, so that ``!fA > 1`` means
``(!fA) > 1`` and ``a < b < c`` means ``(a < b) < c``; the alternative tokens ``and or not
not_eq bitand bitor xor compl``; ``true``/``false``; not ``~``, which RDataFrame fails to
tokenize, ROOT 6.40) and evaluates them vectorised on a DataFrame's columns with C++'s types:

* a column has the C++ type of its numpy dtype (``bool``, ``int8``... ``uint64``, ``float32`` =
  ``float``, ``float64`` = ``double``); a literal has the type C++ gives it: ``3`` is ``int``
  (``long`` when it does not fit), ``3u`` ``unsigned``, ``3l``/``3ll`` ``long``, ``3ul``
  ``unsigned long``, octal ``010`` = 8, hex ``0x1F`` and binary ``0b101`` take the first of
  ``int``, ``unsigned``, ``long``, ``unsigned long`` that holds them; ``1.82`` is ``double``,
  ``1.82f`` ``float`` (rounded once, from the decimal), ``1.82L`` ``long double``;
* every operator converts its operands as C++'s usual arithmetic conversions do: ``bool``,
  ``char`` and ``short`` become ``int``; with a floating operand both become the wider floating
  type, so that a ``float`` column against a ``double`` literal is compared in ``double``
  (``fM <= 1.82`` is false for ``fM == 1.82f``, as ROOT finds: ``1.82f`` is 1.82000005 > 1.82;
  numpy alone, NEP 50, would compare in ``float32`` and keep it); integers take the wider rank,
  ``unsigned`` winning at equal rank (``-1 < 1u`` is false as in C++);
* ``/`` of integers truncates toward zero and ``%`` keeps the dividend's sign (``-7 / 2 == -3``,
  ``-7 % 2 == -1``); ``int`` arithmetic is done in 32 bits (an overflow, undefined in C++,
  wraps here, while ROOT's compiled code may give either answer); comparisons and
  ``! && ||`` give ``bool``, the type :meth:`Expression.mask` requires as ``Filter`` does; an
  integer divided by 0 (undefined in C++) gives 0.

What C++ refuses, ROOT refuses to compile and so does this module, with a
:class:`~o2ml.errors.SelectionSyntaxError` naming the expression and the position: ``%``, ``& |
^ compl << >>`` of a floating operand, ``std::min``/``std::max`` of two different types, a suffix
such as ``1.5u`` or ``2f``, an octal ``09``, and (:meth:`Expression.mask`) an expression
that is not ``bool``. Functions, with the C++ overload's result type: ``abs``/``std::abs``/
``TMath::Abs`` (the promoted argument's type), ``fabs``/``sqrt``/``exp``/``log`` (also ``std::``;
``float`` stays ``float``, an integer gives ``double``), ``TMath::Sqrt``/``TMath::Exp``/
``TMath::Log``/``TMath::Power`` (``double``), ``pow``/``std::pow`` (``float`` for two
``float``, else ``double``), ``min``/``max`` (also ``std::``). Anything else is a
:class:`~o2ml.errors.SelectionSyntaxError` too, and a column the frame lacks a
:class:`~o2ml.errors.ColumnNotFoundError`. ``tests/test_with_root.py`` compares the rows kept
with RDataFrame's ``Filter`` (ROOT 6.40).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import SelectionSyntaxError
from ..schema import require_columns

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:0[xX][0-9a-fA-F]+|0[bB][01]+"
    r"|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)\w*)"
    r"|(?P<name>(?:[A-Za-z_]\w*::)*[A-Za-z_]\w*)"
    r"|(?P<op>\|\||&&|==|!=|<=|>=|<<|>>|[-+*/%()<>!,|&^]))"
)
#: C++'s alternative tokens (ISO C++ [lex.digraph]) that may stand for an operator
_ALT = {"and": "&&", "or": "||", "not": "!", "not_eq": "!=", "bitand": "&", "bitor": "|",
        "xor": "^", "compl": "~"}  # fmt: skip
#: function name -> its C++ result-type rule (see the module docstring) and numpy function
_FUNCS = {
    "abs": ("same", np.abs), "std::abs": ("same", np.abs), "TMath::Abs": ("same", np.abs),
    "fabs": ("math", np.abs), "std::fabs": ("math", np.abs),
    "sqrt": ("math", np.sqrt), "std::sqrt": ("math", np.sqrt), "TMath::Sqrt": ("double", np.sqrt),
    "exp": ("math", np.exp), "std::exp": ("math", np.exp), "TMath::Exp": ("double", np.exp),
    "log": ("math", np.log), "std::log": ("math", np.log), "TMath::Log": ("double", np.log),
    "pow": ("math", np.power), "std::pow": ("math", np.power),
    "TMath::Power": ("double", np.power),
    "min": ("one", np.minimum), "std::min": ("one", np.minimum),
    "max": ("one", np.maximum), "std::max": ("one", np.maximum),
}  # fmt: skip
_ARITY = {"pow": 2, "min": 2, "max": 2, "Power": 2}
_BINARY = [  # lowest precedence first
    ("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="), ("<<", ">>"),
    ("+", "-"), ("*", "/", "%"),
]  # fmt: skip
_INT, _DOUBLE = np.dtype(np.int32), np.dtype(np.float64)
#: C++ names of the types, for the error messages
_CPP = {"b": "bool", "i1": "signed char", "u1": "unsigned char", "i2": "short",
        "u2": "unsigned short", "i4": "int", "u4": "unsigned int", "i8": "long",
        "u8": "unsigned long", "f4": "float", "f8": "double"}  # fmt: skip


def _cpp(dt: np.dtype) -> str:
    if dt.kind == "f" and dt.itemsize > 8:
        return "long double"
    return _CPP.get("b" if dt.kind == "b" else f"{dt.kind}{dt.itemsize}", str(dt))


@dataclass(frozen=True)
class _Node:
    kind: str  # "num", "col", "un", "bin", "call"
    value: object
    args: tuple = ()
    pos: int = 0  # the character of the expression (0-based) where the node's operator is


def _promote(dt: np.dtype) -> np.dtype:
    """C++'s integral promotion: bool, char, short -> int."""
    if dt.kind == "b" or (dt.kind in "iu" and dt.itemsize < 4):
        return _INT
    return dt


def _common(a: np.dtype, b: np.dtype) -> np.dtype:
    """C++'s usual arithmetic conversions of two operand types (LP64: long = long long)."""
    a, b = _promote(a), _promote(b)
    if a.kind == "f" or b.kind == "f":
        return max((d for d in (a, b) if d.kind == "f"), key=lambda d: d.itemsize)
    if a == b:
        return a
    if a.kind == b.kind:
        return max(a, b, key=lambda d: d.itemsize)
    signed, unsigned = (a, b) if a.kind == "i" else (b, a)
    return signed if signed.itemsize > unsigned.itemsize else unsigned


def _dtype(x) -> np.dtype:
    return np.asarray(x).dtype


def _as(x, dt: np.dtype):
    """``x`` converted to ``dt`` as C++ converts (integers wrap into an unsigned type)."""
    x = np.asarray(x)
    return x if x.dtype == dt else x.astype(dt)


def _truth(x):
    return np.asarray(x) != 0


def _float32(text: str) -> np.float32:
    """The ``float`` nearest to the decimal ``text`` (ties to even), rounded once as a C++
    compiler rounds ``1.82f`` (not decimal -> double -> float)."""
    exact = Fraction(text)
    guess = np.float32(float(exact))
    cands = [
        guess,
        np.nextafter(guess, np.float32(-np.inf)),
        np.nextafter(guess, np.float32(np.inf)),
    ]
    cands = [c for c in cands if np.isfinite(c)] or [guess]
    return min(cands, key=lambda c: (abs(Fraction(float(c)) - exact), int(c.view(np.uint32)) & 1))


def _integer(text: str, value: int, suffix: str, fail) -> np.generic:
    """The C++ type of an integer literal ([lex.icon] table 8, LP64)."""
    decimal = not (text[:1] == "0" and len(text) > 1)
    unsigned, longs = "u" in suffix, suffix.count("l")
    if decimal:
        order = [np.uint32, np.uint64] if unsigned else [np.int32, np.int64]
    elif unsigned:
        order = [np.uint32, np.uint64]
    else:
        order = [np.int32, np.uint32, np.int64, np.uint64]
    if longs:
        order = [t for t in order if np.dtype(t).itemsize == 8]
    for t in order:
        if value <= np.iinfo(t).max:
            return t(value)
    fail("integer literal too large for any C++ integer type:")
    raise AssertionError  # unreachable


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
            value = m.group(kind)
            if kind == "name" and value in _ALT:
                kind, value = "op", _ALT[value]
            out.append((kind, value, m.start(kind)))
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
            left = _Node("bin", tok[1], (left, self._binary(level + 1)), tok[2])
        return left

    def _unary(self) -> _Node:
        tok = self._peek()
        if tok is not None and tok[0] == "op" and tok[1] in ("!", "~", "-", "+"):
            self._i += 1
            return _Node("un", tok[1], (self._unary(),), tok[2])
        return self._primary()

    def _number(self, tok) -> np.generic:
        text = tok[1]
        m = re.fullmatch(r"(0[xX][0-9a-fA-F]+|0[bB][01]+|[\d.]+(?:[eE][+-]?\d+)?)(\w*)", text)
        body, suffix = m.group(1), m.group(2).lower()

        def fail(why):
            self._fail(why, tok)

        is_float = body[:2].lower() not in ("0x", "0b") and ("." in body or "e" in body.lower())
        if is_float:
            if suffix == "f":
                return _float32(body)
            if suffix == "l":
                return np.longdouble(body)
            if suffix == "":
                return np.float64(body)
            fail(f"invalid suffix {suffix!r} of a C++ floating literal:")
        if suffix not in ("", "u", "l", "ll", "ul", "lu", "ull", "llu"):
            fail(f"invalid suffix {suffix!r} of a C++ integer literal:")
        if body[:2].lower() in ("0x", "0b"):
            value = int(body[2:], 16 if body[1] in "xX" else 2)
        elif body[:1] == "0" and len(body) > 1:
            if not re.fullmatch(r"[0-7]+", body):
                fail("invalid digit in the C++ octal literal (a leading 0 means octal):")
            value = int(body, 8)
        else:
            value = int(body)
        return _integer(body, value, suffix, fail)

    def _primary(self) -> _Node:
        tok = self._take()
        kind, value, pos = tok
        if kind == "num":
            return _Node("num", self._number(tok), (), pos)
        if kind == "name":
            if value in ("true", "false"):
                return _Node("num", np.bool_(value == "true"), (), pos)
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
                if len(args) != _ARITY.get(value.rsplit("::", 1)[-1], 1):
                    self._fail(f"wrong number of arguments ({len(args)}) of", tok)
                return _Node("call", value, tuple(args), pos)
            if "::" in value:
                self._fail("unknown name", tok)
            return _Node("col", value, (), pos)
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
        """The expression's value per row of ``frame`` (a DataFrame or a dict of arrays), of the
        numpy dtype of its C++ type."""
        require_columns(frame, self.columns, f"{self.what} {self.text!r}")
        n = len(frame[next(iter(frame.keys()))]) if len(frame.keys()) else 0
        with np.errstate(all="ignore"):
            out = np.asarray(self._eval(self.tree, frame))
        return np.broadcast_to(out, (n,)) if out.ndim == 0 else out

    def _type_error(self, node: _Node, why: str) -> None:
        raise SelectionSyntaxError(
            f"{self.what} {self.text!r}: {why} at character {node.pos + 1} (C++ does not "
            "allow it, and ROOT's Filter does not compile it)."
        )

    def _column(self, node: _Node, frame):
        x = frame[node.value]
        x = x.to_numpy() if hasattr(x, "to_numpy") else np.asarray(x)
        if x.dtype.kind not in "biuf":
            try:
                x = x.astype(np.float64)
            except (TypeError, ValueError):
                self._type_error(node, f"column {node.value!r} of type {x.dtype} is not a number")
        return x

    def _eval(self, node: _Node, frame):
        if node.kind == "num":
            return node.value
        if node.kind == "col":
            return self._column(node, frame)
        if node.kind == "un":
            return self._unary_op(node, self._eval(node.args[0], frame))
        if node.kind == "call":
            return self._call(node, [self._eval(a, frame) for a in node.args])
        a, b = (self._eval(x, frame) for x in node.args)
        return self._binary_op(node, a, b)

    def _unary_op(self, node: _Node, x):
        if node.value == "!":
            return np.logical_not(_truth(x))
        dt = _promote(_dtype(x))
        if node.value == "~":
            if dt.kind == "f":
                self._type_error(node, f"'~' of a {_cpp(dt)}")
            return np.invert(_as(x, dt))
        return np.negative(_as(x, dt)) if node.value == "-" else _as(x, dt)

    def _binary_op(self, node: _Node, a, b):
        op = node.value
        if op == "||":
            return _truth(a) | _truth(b)
        if op == "&&":
            return _truth(a) & _truth(b)
        da, db = _dtype(a), _dtype(b)
        if op in ("<<", ">>"):  # the type of the promoted left operand
            if da.kind == "f" or db.kind == "f":
                self._type_error(node, f"{op!r} of {_cpp(da)} and {_cpp(db)}")
            dt = _promote(da)
            shift = np.left_shift if op == "<<" else np.right_shift
            return shift(_as(a, dt), _as(b, dt))
        dt = _common(da, db)
        if op in ("|", "&", "^", "%") and dt.kind == "f":
            self._type_error(node, f"{op!r} of {_cpp(da)} and {_cpp(db)}")
        a, b = _as(a, dt), _as(b, dt)
        if op == "/" and dt.kind in "iu":  # C++: the quotient truncated toward zero
            zero = b == 0  # undefined in C++; 0 here, as numpy (and ``%`` by 0 gives 0)
            rem = np.fmod(a, b)
            quot = np.floor_divide(a - rem, np.where(zero, 1, b)).astype(dt, copy=False)
            return np.where(zero, np.zeros((), dt), quot)
        ops = {
            "==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal,
            ">": np.greater, ">=": np.greater_equal, "+": np.add, "-": np.subtract,
            "*": np.multiply, "/": np.true_divide, "%": np.fmod,
            "|": np.bitwise_or, "&": np.bitwise_and, "^": np.bitwise_xor,
        }  # fmt: skip
        return ops[op](a, b)

    def _call(self, node: _Node, args):
        rule, fn = _FUNCS[node.value]
        types = [_promote(_dtype(a)) for a in args]
        if rule == "one":  # std::min/max: a template of one type, deduced from both arguments
            raw = [_dtype(a) for a in args]
            if raw[0] != raw[1]:
                self._type_error(
                    node, f"{node.value}({_cpp(raw[0])}, {_cpp(raw[1])}) of two different types"
                )
            dt = raw[0]
        elif rule == "same":
            dt = types[0]
        elif rule == "double":
            dt = max([_DOUBLE, *(t for t in types if t.kind == "f")], key=lambda d: d.itemsize)
        else:  # "math": float stays float (both float for pow), an integer makes double
            floats = [t for t in types if t.kind == "f"]
            if len(floats) == len(types):
                dt = max(floats, key=lambda d: d.itemsize)
            else:
                dt = max([_DOUBLE, *floats], key=lambda d: d.itemsize)
        out = fn(*(_as(a, dt) for a in args))
        return _as(out, dt)

    def mask(self, frame: Mapping) -> np.ndarray:
        """Rows where the expression is true, as RDataFrame's ``Filter`` keeps them; like
        ``Filter`` (ROOT 6.40: "Filter: the following expression does not evaluate to bool"),
        an expression whose C++ type is not ``bool`` (``fM``, ``fFlag & 1``) is an error."""
        out = self.evaluate(frame)
        if out.dtype.kind != "b":
            raise SelectionSyntaxError(
                f"{self.what} {self.text!r}: the expression is of C++ type {_cpp(out.dtype)}, "
                "not bool, and RDataFrame's Filter refuses it (compare it: '... != 0')."
            )
        return np.asarray(out)


def conjunction(parts, what: str = "preselections") -> Expression | None:
    """The macro's join of a list of selections: ``" && ".join(parts)`` (None for no parts)."""
    if not parts:
        return None
    return Expression(" && ".join(f"({p})" for p in parts), what)


__all__ = ["Expression", "conjunction"]
