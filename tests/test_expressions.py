"""o2ml.workflow.expressions: C++ types, conversions and precedence as RDataFrame's ``Filter``
compiles them (no ROOT needed; tests/test_with_root.py compares with ROOT itself)."""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pandas as pd
import pytest

from o2ml.errors import ColumnNotFoundError, SelectionSyntaxError
from o2ml.workflow import Expression


@pytest.fixture()
def frame():
    return pd.DataFrame(
        {
            "fM": np.array([1.82, 1.75, 1.92, 2.0, 1.95, 1.81], np.float32),
            "fD": np.array([1.82, 1.75, 1.92, 2.0, np.nan, -1.0], np.float64),
            "fI": np.array([-7, 7, -1, 0, 3, -8], np.int32),
            "fL": np.array([-7, 7, -1, 0, 3, -8], np.int64),
            "fU": np.array([0, 1, 2, 255, 7, 8], np.uint8),
            "fU32": np.array([0, 1, 2, 3, 4, 5], np.uint32),
            "fB": np.array([False, True, True, False, True, False]),
        }
    )


def rows(text: str, frame) -> list[int]:
    return np.flatnonzero(Expression(text).mask(frame)).tolist()


def value(text: str, frame=None):
    frame = pd.DataFrame({"x": [0]}) if frame is None else frame
    return Expression(text).evaluate(frame)


# ---------------------------------------------------------------- integer division and modulo
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-7 / 2", -3), ("7 / -2", -3), ("-7 % 2", -1), ("7 % -2", 1), ("-8 / 3", -2),
        ("7 / 2 * 2", 6), ("7 / 2.0", 3.5), ("7.0 / 2", 3.5), ("7 / 2.f", 3.5), ("1 / 3 * 3.0", 0.0),
        ("-7 / 2u", 2147483644),  # -7 converted to unsigned: 4294967289 / 2
        ("5 / 0", 0), ("5 % 0", 0),  # undefined in C++: 0 here
    ],
)  # fmt: skip
def test_literal_arithmetic_truncates_toward_zero_as_cpp(text, expected):
    assert value(text)[0] == expected


def test_integer_columns_divide_as_cpp_and_mixed_promote_to_floating(frame):
    assert value("fI / 2", frame).tolist() == [-3, 3, 0, 0, 1, -4]
    assert value("fI % 3", frame).tolist() == [-1, 1, -1, 0, 0, -2]
    assert value("fL / 2", frame).dtype == np.int64
    assert value("fI / 2", frame).dtype == np.int32
    np.testing.assert_array_equal(value("fI / 2.0", frame), frame.fI.to_numpy() / 2.0)
    assert value("fI / 2.0", frame).dtype == np.float64
    assert value("fI / 2.f", frame).dtype == np.float32  # int with float: float, as C++
    assert value("fU / 2", frame).tolist() == [0, 0, 1, 127, 3, 4]
    assert value("fU / 2", frame).dtype == np.int32  # unsigned char promoted to int
    assert rows("fI / 2 == -3", frame) == [0]
    assert rows("fI / 2 * 2 != fI", frame) == [0, 1, 2, 4]
    assert rows("-fI / 4 == 1", frame) == [0]


# ---------------------------------------------------------------- float against double
def test_a_float_column_against_a_double_literal_is_compared_in_double(frame):
    """fM == float32(1.82) = 1.82000005: above the double 1.82, so `fM <= 1.82` is false as in
    ROOT; numpy alone (NEP 50: a Python float keeps a float32 array float32) says true."""
    assert bool(np.float32(1.82) <= 1.82)  # numpy's answer, which C++ does not give
    assert rows("fM <= 1.82", frame) == [1, 5]
    assert rows("fM <= 1.82f", frame) == [0, 1, 5]
    assert rows("fM == 1.82", frame) == []
    assert rows("fM == 1.82f", frame) == [0]
    assert rows("1.82 < fM", frame) == [0, 2, 3, 4]
    assert rows("fM * 2 == 3.64f", frame) == [0]  # float arithmetic stays float
    assert rows("fM * 2 == 3.64", frame) == []
    assert value("fM + 1.0", frame).dtype == np.float64
    assert value("fM + 1.0f", frame).dtype == np.float32
    assert value("fM * 2", frame).dtype == np.float32
    assert value("fM + fD", frame).dtype == np.float64
    assert value("fL + 1.f", frame).dtype == np.float32  # long with float: float, as C++
    # the macro's own filt_bkg_mass
    assert rows("fM < 1.82 || (1.92 < fM && fM < 2.00)", frame) == [1, 4, 5]


def test_float_literals_are_rounded_once_from_the_decimal():
    assert value("1.82f")[0] == np.float32(1.82) and value("1.82f").dtype == np.float32
    assert value("1.82")[0] == 1.82 and value("1.82").dtype == np.float64
    assert value("1.82L").dtype == np.longdouble
    assert value("1.82L")[0] == np.longdouble("1.82")
    # 1 + 2^-24 + 2^-60 (written out exactly) is just above a float32 midpoint: rounded to a
    # double first it lands on the midpoint 1 + 2^-24, then rounds to even (1.0); C++ rounds
    # the decimal once, up
    with localcontext() as ctx:
        ctx.prec = 80
        text = str(Decimal(1) + Decimal(2) ** -24 + Decimal(2) ** -60)
    assert len(text) > 60 and np.float32(float(text)) == np.float32(1.0)
    assert value(text + "f")[0] == np.nextafter(np.float32(1), np.float32(2))


# ---------------------------------------------------------------- integer literals
@pytest.mark.parametrize(
    ("text", "dtype", "expected"),
    [
        ("7", np.int32, 7), ("2147483647", np.int32, 2147483647),
        ("2147483648", np.int64, 2147483648), ("7u", np.uint32, 7), ("7U", np.uint32, 7),
        ("4294967296u", np.uint64, 4294967296), ("7l", np.int64, 7), ("7LL", np.int64, 7),
        ("7ul", np.uint64, 7), ("7LU", np.uint64, 7), ("0x7F", np.int32, 127),
        ("0x80000000", np.uint32, 2147483648), ("0x100000000", np.int64, 4294967296),
        ("010", np.int32, 8), ("0b101", np.int32, 5), ("0", np.int32, 0),
        ("true", np.bool_, True), ("false", np.bool_, False), ("true + true", np.int32, 2),
    ],
)  # fmt: skip
def test_integer_literals_have_their_cpp_types(text, dtype, expected):
    out = value(text)
    assert out.dtype == np.dtype(dtype) and out[0] == expected


def test_signed_and_unsigned_convert_as_cpp(frame):
    assert not value("-1 < 1u")[0]  # -1 becomes 4294967295
    assert value("-1 < 1l")[0] and value("-1 < 1")[0]
    assert value("-1l < 1u")[0]  # long holds every unsigned int: compared as long
    assert not value("-1l < 1ul")[0]
    assert rows("fU > -1", frame) == [0, 1, 2, 3, 4, 5]  # unsigned char promoted to int
    assert rows("fU32 > -1", frame) == []  # unsigned int: -1 is 4294967295
    assert rows("fI < 1u", frame) == [3]
    assert value("fU * 300", frame).dtype == np.int32
    assert rows("fU * 300 > 70000", frame) == [3]


# ---------------------------------------------------------------- precedence and logic
@pytest.mark.parametrize(
    ("text", "python"),
    [
        ("!fB", lambda d: ~d.fB),
        ("!fI && fB", lambda d: (d.fI == 0) & d.fB),
        ("!fI > 0", lambda d: (d.fI == 0).astype(int) > 0),  # (!fI) > 0
        ("-(fI + 1) > 0", lambda d: -(d.fI + 1) > 0),
        ("-(fM - 2.0) * 10 > 0.5", lambda d: -(d.fM.astype(float) - 2.0) * 10 > 0.5),
        ("- -fI > 0", lambda d: d.fI > 0),
        ("fI < fM < 2", lambda d: pd.Series(True, index=d.index)),  # (fI < fM) < 2: 0 or 1 < 2
        ("3 > fI > 0", lambda d: (3 > d.fI).astype(int) > 0),  # (3 > fI) > 0
        ("fI > 0 == fB", lambda d: (d.fI > 0) == d.fB),  # == below >
        ("fI > 0 == true", lambda d: d.fI > 0),
        ("fB + fB == 2", lambda d: d.fB),
        ("fI <= -1 || fI >= 5 && fB", lambda d: (d.fI <= -1) | ((d.fI >= 5) & d.fB)),
        ("(fI <= -1 || fI >= 5) && fB", lambda d: ((d.fI <= -1) | (d.fI >= 5)) & d.fB),
        ("(fI & 1) == 1", lambda d: (d.fI & 1) == 1),
        ("fI & 1 == 1 || fB", lambda d: (d.fI & 1).astype(bool) | d.fB),  # fI & (1 == 1)
        ("(fI | 4 ^ 1) == 5", lambda d: (d.fI | (4 ^ 1)) == 5),  # ^ binds tighter than |
        ("fI >> 1 == -4", lambda d: pd.Series(d.fI.to_numpy() >> 1) == -4),  # shift tighter than ==
        ("1 << 2 + 1 == 8", lambda d: pd.Series(True, index=d.index)),  # + tighter than <<
        ("fI + 2 * 3 == 13", lambda d: d.fI + 6 == 13),
        ("fM > 1.8 and not fB", lambda d: (d.fM > 1.8) & ~d.fB),
        ("fI not_eq 0 or fB", lambda d: (d.fI != 0) | d.fB),
        ("(fI bitand 1) == 1", lambda d: (d.fI & 1) == 1),
        ("(compl fI) == 6", lambda d: d.fI == -7),
        ("fD != fD", lambda d: d.fD.isna()),  # NaN compares unequal
        ("fD > 0 || fD < 0", lambda d: d.fD.notna() & (d.fD != 0)),
    ],
)  # fmt: skip
def test_precedence_and_logical_operators_are_cpp(frame, text, python):
    np.testing.assert_array_equal(Expression(text).mask(frame), python(frame).to_numpy(bool))


def test_functions_give_their_cpp_overload_types(frame):
    assert value("abs(fI)", frame).tolist() == [7, 7, 1, 0, 3, 8]
    assert value("abs(fI)", frame).dtype == np.int32
    assert value("std::abs(fM)", frame).dtype == np.float32
    assert value("fabs(fI)", frame).dtype == np.float64
    assert value("sqrt(fM)", frame).dtype == np.float32
    assert value("TMath::Sqrt(fM)", frame).dtype == np.float64
    assert value("sqrt(fU)", frame).dtype == np.float64
    assert value("pow(fM, 2.f)", frame).dtype == np.float32
    assert value("pow(fM, 2)", frame).dtype == np.float64
    assert value("std::min(fI, 3)", frame).tolist() == [-7, 3, -1, 0, 3, -8]
    assert value("max(fM, 1.9f)", frame).dtype == np.float32
    assert rows("std::abs(fI) / 3 == 2", frame) == [0, 1, 5]


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("fM <", "end of the expression"),
        ("foo(fM) > 1", "unknown function 'foo' at character 1"),
        ("fM $ 2", "character 4"),
        ("(fM > 1", r"expected '\)'"),
        ("", "empty"),
        ("2f < fM", "invalid suffix 'f' of a C\\+\\+ integer literal: '2f' at character 1"),
        ("fM < 1.5u", "invalid suffix 'u' of a C\\+\\+ floating literal: '1.5u' at character 6"),
        ("fI == 09", "octal literal.*character 7"),
        ("~fI == 6", "cannot read '~fI == 6' at character 1"),  # RDataFrame cannot either
        ("pow(fM) > 1", "wrong number of arguments"),
        ("99999999999999999999 > fI", "too large"),
    ],
)
def test_syntax_errors_name_the_expression_and_position(frame, text, match):
    with pytest.raises(SelectionSyntaxError, match=match):
        Expression(text).mask(frame)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("fM % 2 == 0", "'%' of float and int at character 4"),
        ("(fD & 1) == 1", "'&' of double and int at character 5"),
        ("(fI << 1.5) > 0", "'<<' of int and double"),
        ("std::min(fM, 1.9) > 1", r"std::min\(float, double\) of two different types"),
        ("fM", "C\\+\\+ type float, not bool"),
        ("fI & 1", "C\\+\\+ type int, not bool"),
        ("fI ^ 1 == 6", "C\\+\\+ type int, not bool"),  # fI ^ (1 == 6)
    ],
)
def test_what_cpp_or_filter_refuses_is_an_error(frame, text, match):
    with pytest.raises(SelectionSyntaxError, match=match):
        Expression(text).mask(frame)


def test_a_missing_column_is_named_with_a_suggestion(frame):
    with pytest.raises(ColumnNotFoundError, match=r"\['fMM'\].*Did you mean .fM."):
        Expression("fMM > 1").mask(frame)
    assert Expression("fB > 0 && fM < 2 || fI").columns == ["fB", "fI", "fM"]
