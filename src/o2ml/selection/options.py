"""How S, B and S/sqrt(S+B) are estimated in a pT bin: two small objects for every estimator.

:class:`SignificanceOptions` holds the choices of the estimate (species, signal origins, window,
background model...), :class:`BinInputs` what one pT bin brings (expected-signal table, pT range,
signal peak, scale to the full sample, mass binning).
:func:`~o2ml.selection.scan_significance`, :func:`~o2ml.selection.scan_candidates`,
:func:`~o2ml.selection.scan_bin`, :func:`~o2ml.selection.scan.scan_histograms` and the dashboards'
:class:`~o2ml.widgets.ScanGrid` / :class:`~o2ml.widgets.ThresholdScanner` take ``options=``; a
one-off change is ``options.replace(...)``::

    opts = selection.SignificanceOptions(species="Lc", sidebands=(2.18, 2.39))
    bin_2_4 = selection.BinInputs(table, (2, 4), scale=n_full / len(data))
    scan = selection.scan_candidates(data, mc, cuts, bin_2_4, options=opts)
    loose = selection.scan_candidates(data, mc, cuts, bin_2_4, options=opts.replace(n_sigma=3.0))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ScanInputError, did_you_mean
from ..physics.massfit import BACKGROUND_MODELS, BackgroundModel, PeakFit, SignalShape

__all__ = ["BinInputs", "DplusMode", "SignificanceOptions", "significance_options"]

DplusMode = Literal["exclude", "gauss", "none"]
DPLUS_MODES = ("exclude", "gauss", "none")
RAW_YIELD_SHAPES = ("fixed", "constrained", "free")


@dataclass(frozen=True)
class SignificanceOptions:
    """The choices of an S/B/significance estimate (every field has the default of the ALICE
    Ds tutorial).

    Attributes
    ----------
    species : str
        Species of the signal in the expected-signal table (``"Ds"``, ``"Lc"``).
    signal_origins : tuple of str
        Origins counted as signal S (``("prompt",)`` or ``("prompt", "nonprompt")``).
    n_sigma : float
        Signal window: mean +- n_sigma x sigma of the peak.
    background : {"expo", "pol2"}
        Background model of the sideband fit.
    dplus : {"exclude", "gauss", "none"} or None
        The D+ -> KKpi peak next to the Ds: left out of the fit, modelled as a Gaussian, or
        ignored; None: "exclude" where the channel has that peak (species "Ds"), else "none".
    dplus_peak : (mean, sigma) or None
        The D+ peak; None: the PDG mass shifted like the Ds peak, sigma scaled by the masses.
    sidebands : (lo, hi) or None
        Fit only mass < lo and mass > hi (e.g. (1.75, 2.1) as in the ALICE tutorial); None:
        leave out mean +- exclude_nsigma x sigma.
    exclude_nsigma : float
        Half-width, in sigmas, of the regions left out around the Ds (and D+) peaks.
    min_sideband_counts : float
        Points with fewer candidates in the sidebands get NaN background (and significance).
    fit_raw_yield : bool
        Also fit signal + background at every point (for :func:`~o2ml.selection.cut_variation`).
    raw_yield_shape : {"fixed", "constrained", "free"}
        Peak mean and sigma in the raw-yield fit: fixed to the peak, constrained, or free.
    plateau_fraction, plateau_nsigma : float
        Plateau criterion of 1-D scans (see :func:`~o2ml.selection.find_plateau`).
    """

    species: str = "Ds"
    signal_origins: tuple[str, ...] = ("prompt",)
    n_sigma: float = 2.0
    background: BackgroundModel = "expo"
    dplus: DplusMode | None = None
    dplus_peak: tuple[float, float] | None = None
    sidebands: tuple[float, float] | None = None
    exclude_nsigma: float = 3.0
    min_sideband_counts: float = 1.0
    fit_raw_yield: bool = False
    raw_yield_shape: SignalShape = "fixed"
    plateau_fraction: float = 0.95
    plateau_nsigma: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.signal_origins, str):
            raise ScanInputError(
                "signal_origins: expected a sequence of origins, found the string "
                f"{self.signal_origins!r}."
            )
        object.__setattr__(self, "signal_origins", tuple(str(o) for o in self.signal_origins))
        if not self.signal_origins:
            raise ScanInputError("signal_origins: expected at least one origin, found none.")
        if self.background not in BACKGROUND_MODELS:
            raise ScanInputError(
                f"background: expected one of {BACKGROUND_MODELS}, found {self.background!r}."
            )
        if self.dplus is not None and self.dplus not in DPLUS_MODES:
            raise ScanInputError(
                f"dplus: expected 'exclude', 'gauss' or 'none', found {self.dplus!r}."
            )
        if self.raw_yield_shape not in RAW_YIELD_SHAPES:
            raise ScanInputError(
                "raw_yield_shape: expected 'fixed', 'constrained' or 'free', found "
                f"{self.raw_yield_shape!r}."
            )
        if not (self.n_sigma > 0 and self.exclude_nsigma > 0):
            raise ScanInputError(
                "expected n_sigma and exclude_nsigma > 0, found "
                f"{self.n_sigma!r}, {self.exclude_nsigma!r}."
            )
        for name in ("dplus_peak", "sidebands"):
            pair = getattr(self, name)
            if pair is not None:
                if len(pair) != 2:
                    raise ScanInputError(f"{name}: expected a pair of numbers, found {pair!r}.")
                object.__setattr__(self, name, (float(pair[0]), float(pair[1])))

    @property
    def dplus_mode(self) -> str:
        """``dplus`` with its default resolved for the species."""
        if self.dplus is not None:
            return self.dplus
        return "exclude" if self.partner_peak is not None else "none"

    @property
    def partner_peak(self) -> str | None:
        """The species of the second peak next to the signal in its channel's mass spectrum
        (``"Dplus"`` next to the Ds; ``PARTNER_PEAK`` of :mod:`o2ml.channels`), or None."""
        from ..channels import CHANNELS

        return next((c.PARTNER_PEAK for c in CHANNELS.values() if c.SPECIES == self.species), None)

    def replace(self, **changes: Any) -> SignificanceOptions:
        """A copy with ``changes``; a name that is not a field is a :class:`TypeError` that
        suggests the closest field."""
        return significance_options(self, changes, "SignificanceOptions.replace")

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
        }


FIELDS = tuple(f.name for f in dataclasses.fields(SignificanceOptions))


def significance_options(
    options: SignificanceOptions | None,
    changes: Mapping[str, Any],
    caller: str,
) -> SignificanceOptions:
    """``options`` (default :class:`SignificanceOptions()`) with the keyword ``changes`` of a
    call to ``caller``; an unknown keyword is a :class:`TypeError` naming ``caller``."""
    if options is not None and not isinstance(options, SignificanceOptions):
        raise TypeError(
            f"{caller}(): options: expected a SignificanceOptions, found {type(options).__name__}."
        )
    unknown = [k for k in changes if k not in FIELDS]
    if unknown:
        hint = did_you_mean(unknown[0], FIELDS)
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}.{hint}")
    base = options if options is not None else SignificanceOptions()
    if not changes:
        return base
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True, eq=False)
class BinInputs:
    """What the estimate of one pT bin needs besides its candidates and the
    :class:`SignificanceOptions`.

    Attributes
    ----------
    expected : mapping
        Expected-signal table (:func:`~o2ml.selection.load_expected_signal`).
    pt_range : (float, float) or PtBin
        The pT bin; its edges must be fine-bin edges of ``expected``.
    peak : PeakFit or (mean, sigma[, mean_error, sigma_error]), optional
        Signal peak, usually ``fit_peak(mc_mass)``; None: the functions that get the MC
        candidates (:func:`~o2ml.selection.scan_candidates`, :func:`~o2ml.selection.scan_bin`)
        fit it on the MC of the signal origins in the bin.
    scale : float
        Full-sample size / scanned-sample size: S and B refer to the full sample.
    mass_edges : array-like, optional
        Mass bin edges; default 100 bins over the data range.
    """

    expected: Mapping[str, Any]
    pt_range: tuple[float, float]
    peak: PeakFit | Sequence[float] | None = None
    scale: float = 1.0
    mass_edges: Any = None

    def __post_init__(self) -> None:
        pt = self.pt_range
        if hasattr(pt, "lo") and hasattr(pt, "hi"):  # a PtBin
            pt = (pt.lo, pt.hi)
        if isinstance(pt, str) or len(pt) != 2 or not float(pt[0]) < float(pt[1]):
            raise ScanInputError(f"pt_range: expected (lo, hi) with lo < hi, found {pt!r}.")
        object.__setattr__(self, "pt_range", (float(pt[0]), float(pt[1])))
        if not float(self.scale) > 0:
            raise ScanInputError(f"scale: expected > 0, found {self.scale!r}.")
        object.__setattr__(self, "scale", float(self.scale))

    @property
    def label(self) -> str:
        """``"lo < pT < hi GeV/c"`` (for messages)."""
        lo, hi = self.pt_range
        return f"{lo:g} < pT < {hi:g} GeV/c"

    def replace(self, **changes: Any) -> BinInputs:
        """A copy with ``changes`` (``peak=...``, ``scale=...``)."""
        return dataclasses.replace(self, **changes)

    def require_peak(self, caller: str) -> PeakFit | Sequence[float]:
        """The peak; None is a :class:`ScanInputError` naming ``caller``."""
        if self.peak is None:
            raise ScanInputError(
                f"{caller}: expected the signal peak of {self.label} in BinInputs(peak=...), "
                "found None (scan_candidates and scan_bin fit it on the MC)."
            )
        return self.peak


def _options(options: SignificanceOptions | None, caller: str) -> SignificanceOptions:
    """``options`` checked (default ``SignificanceOptions()``)."""
    return significance_options(options, {}, caller)


def _bin_inputs(inputs: Any, caller: str) -> BinInputs:
    if not isinstance(inputs, BinInputs):
        raise TypeError(
            f"{caller}(): inputs: expected a selection.BinInputs(expected, pt_range, peak=..., "
            f"scale=...), found {type(inputs).__name__}."
        )
    return inputs
