"""Counting machinery behind every scan: one pass over the candidates, then cumulative sums.

Each candidate is given, per cut, the index of its score among the sorted thresholds; one
``np.bincount`` fills an N-dimensional histogram (optionally with a mass-bin or class axis);
cumulative sums along the threshold axes turn it into "candidates passing the cut at every
threshold". Cost: O(N) for the pass plus O(size of the histogram), never O(N x thresholds).

Written by hand (not ``np.histogramdd``) because we need exact ``<``/``<=`` semantics at the
thresholds and because ``np.searchsorted`` of 10^7 values costs ~1 s; :func:`count_below` gets
the same answer from a lookup table in a fraction of that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: the largest histogram (number of cells) a scan may fill, ~130 MB of float64
MAX_CELLS = 2**24

_MAX_LUT = 2**18  # cells of a lookup table (fits in L2 cache)
_MAX_PASSES = 8
_LOW63 = np.int64(0x7FFFFFFFFFFFFFFF)


def _ordered_bits(x: np.ndarray, signed: bool) -> np.ndarray:
    """int64 keys with the order of the float64 values (+0.0 and -0.0 aside)."""
    bits = x.view(np.int64)
    if not signed:
        return bits
    return bits ^ ((bits >> 63) & _LOW63)


def _linear_table(edges: np.ndarray) -> tuple[int, object]:
    """Lookup table on a uniform grid of the score axis: (passes needed, table)."""
    lo, hi = float(edges[0]), float(edges[-1])
    with np.errstate(over="ignore"):
        span = hi - lo
    cells = min(16 * len(edges), _MAX_LUT)
    width = span / cells
    if not np.isfinite(span) or width < 1e-9 * max(abs(lo), abs(hi)):
        return _MAX_PASSES + 1, None
    k = np.arange(cells + 1, dtype=np.float64)
    # lower bound of the answer in each cell, with one cell of margin for rounding
    lut = np.searchsorted(edges, lo + (k - 1) * width, side="left")
    upper = np.searchsorted(edges, lo + (k + 2) * width, side="right")
    return int((upper - lut).max()), (lo, cells / span, cells, lut)


def _bits_table(edges: np.ndarray, signed: bool) -> tuple[int, object]:
    """Lookup table on the leading bits of the float64 representation (a log-like grid)."""
    keys = _ordered_bits(edges, signed)
    kmin, kmax = int(keys[0]), int(keys[-1])
    shift = 0
    while ((kmax >> shift) - (kmin >> shift) + 3) > _MAX_LUT:
        shift += 1
    cmin = kmin >> shift
    n = (kmax >> shift) - cmin + 3
    starts = (np.arange(n + 2, dtype=np.int64) + cmin) << shift
    lut = np.searchsorted(keys, starts, side="left")  # exact lower bounds: keys are integers
    # passes: thresholds in a cell and in the next one (covers x = -0.0 against 0.0)
    passes = int((lut[2:] - lut[:-2]).max())
    return passes, (shift, cmin, n, lut[:-2])


def count_below(edges: np.ndarray, x: np.ndarray, side: str = "left") -> np.ndarray:
    """``np.searchsorted(edges, x, side)`` for many ``x``, via a lookup table.

    ``edges`` must be sorted, unique and finite. With ``side="left"`` the result is the number
    of edges strictly below each ``x``; with ``side="right"`` the number of edges <= ``x``.
    Comparisons are done in float64, whatever the dtype of ``x``; ``x`` must hold no NaN.

    Each ``x`` gets a lower bound of the answer from a lookup table -- on a uniform grid of the
    score axis, or on the leading bits of its float representation when the thresholds are
    unevenly spaced (e.g. log-spaced) -- that a few vectorised comparisons with the true edges
    make exact. Binary search (``np.searchsorted``) is the fall-back for pathological spacing.
    """
    edges = np.asarray(edges, dtype=np.float64) + 0.0  # +0.0 turns -0.0 into 0.0
    x = np.asarray(x)
    n = len(edges)
    if n == 0:
        return np.zeros(x.shape, dtype=np.intp)
    if n == 1:
        hit = x > edges[0] if side == "left" else x >= edges[0]
        return hit.astype(np.intp)
    x = np.ascontiguousarray(x, dtype=np.float64)
    p_lin, lin = _linear_table(edges)
    p_bits, bits, signed = _MAX_PASSES + 1, None, False
    if p_lin > 1:
        signed = bool(edges[0] < 0) or bool((x.view(np.int64) < 0).any())
        p_bits, bits = _bits_table(edges, signed)
    if min(p_lin, p_bits) > _MAX_PASSES:
        return np.searchsorted(edges, x, side=side)
    if p_lin <= p_bits:
        passes = p_lin
        lo, inv_width, cells, lut = lin
        cell = x - lo
        cell *= inv_width
        np.clip(cell, 0, cells, out=cell)
        index = lut[cell.astype(np.intp)]
    else:
        passes = p_bits
        shift, cmin, n_cells, lut = bits
        cell = _ordered_bits(x, signed) >> shift
        cell -= cmin
        np.clip(cell, 0, n_cells - 1, out=cell)
        index = lut[cell]
    padded = np.append(edges, np.nan)  # comparisons with NaN are False: never past the end
    for _ in range(passes):
        if side == "left":
            index += padded[index] < x
        else:
            index += padded[index] <= x
    return index


def threshold_index(edges: np.ndarray, scores: np.ndarray, direction: str) -> np.ndarray:
    """Per candidate, the histogram index along a cut axis (0 ... len(edges)).

    For ``>``/``>=`` the candidate passes the thresholds with index below the result; for
    ``<``/``<=`` those with index at or above it.
    """
    side = "left" if direction in (">", "<=") else "right"
    return count_below(edges, scores, side)


def cumulate(hist: np.ndarray, axis: int, direction: str) -> np.ndarray:
    """Turn counts per threshold index into counts passing the cut at each threshold."""
    if direction in (">", ">="):
        # passing at threshold j: every index > j
        rev = np.flip(np.cumsum(np.flip(hist, axis), axis=axis), axis)
        return np.delete(rev, 0, axis=axis)
    return np.delete(np.cumsum(hist, axis=axis), -1, axis=axis)


def passing_histogram(
    indices: Sequence[np.ndarray],
    sizes: Sequence[int],
    directions: Sequence[str | None],
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of weights and of squared weights passing, on the grid of all axes.

    Parameters
    ----------
    indices : per axis, the candidates' index (0 <= index < size)
    sizes : per axis, the number of index values (thresholds + 1 on a cut axis)
    directions : per axis, the cut direction, or None for a plain axis (mass bin, class)
    weights : optional candidate weights

    Returns
    -------
    (sumw, sumw2)
        Arrays of shape ``sizes`` with every cut axis one shorter (one entry per threshold).
        Without weights both are the counts.
    """
    flat = indices[0]
    for idx, size in zip(indices[1:], sizes[1:], strict=True):
        flat = flat * size
        flat += idx
    n_cells = int(np.prod(sizes))
    sumw = np.bincount(flat, weights=weights, minlength=n_cells).astype(np.float64)
    if weights is None:
        sumw2 = sumw
    else:
        sumw2 = np.bincount(flat, weights=weights * weights, minlength=n_cells)
    out = []
    for h in (sumw, sumw2):
        h = h.reshape(tuple(sizes))
        for axis, direction in enumerate(directions):
            if direction is not None:
                h = cumulate(h, axis, direction)
        out.append(h)
    if weights is None:
        return out[0], out[0]
    return out[0], out[1]
