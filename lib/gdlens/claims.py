"""Claims: a result stated in the prose, checked by the code that computes it.

A chapter states a result as ``claim(name, statement, value, expectation)``. The expectation says what
would make the statement false (a prediction with its tolerance, a bound, an interval, a monotone trend,
a fitted slope, a fraction over a threshold). A claim that does not hold raises :class:`ClaimFailed`,
so the chapter's execution, and with it nbval, the book build and CI, fails. A claim that holds glues
its measured value under ``name`` for ``{glue:text}`` and a one-line summary of the check under
``name + "_check"`` for ``{glue:md}``.

Under ``make robust`` (the environment variable ``GDLENS_CLAIMS_LOG`` names a JSON-lines file) a claim
is appended to that file instead of raising, so that every claim of a chapter is recorded at every
seed; the register then fails the run if any claim failed anywhere.

Tolerances come with their reason (``why=``). For a Monte Carlo estimate use :func:`near_se`, whose
false-alarm rate under a Gaussian error is stated: at ``k`` standard errors it is
``erfc(k / sqrt(2))`` (6.3e-5 at ``k = 4``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import _checks

__all__ = [
    "ClaimFailed",
    "Expectation",
    "above",
    "below",
    "between",
    "checked_table",
    "claim",
    "fitted_slope",
    "fraction_above",
    "monotone",
    "near",
    "near_se",
    "slope_near",
]

LOG_ENV = "GDLENS_CLAIMS_LOG"
_made: list[dict] = []  # the claims made in this process, in order (for checked_table)


class ClaimFailed(AssertionError):
    """A claim of the book did not hold: the message names it, its value and what it expected."""


@dataclass(frozen=True)
class Expectation:
    """What a claim expects: ``test(value) -> (held, measured)`` and a short text for the reader."""

    kind: str
    text: str
    test: object  # Callable[[object], tuple[bool, float]]
    why: str = ""

    def check(self, value) -> tuple[bool, float]:
        held, measured = self.test(value)
        return bool(held), float(measured)


def _why(why) -> str:
    if not isinstance(why, str):
        raise TypeError(f"why must be a string, got {why!r}")
    return why


def _scalar(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        arr = np.asarray(value)
        if arr.shape != () or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"value must be a real number for this expectation, got {value!r}")
        value = arr.item()
    return float(value)


def _within(v: float, target: float, tol: float) -> bool:
    # |v - target| <= tol, allowing the few ulps that forming the difference itself costs (1.02 - 1 > 0.02).
    slack = 4 * np.finfo(float).eps * max(abs(v), abs(target))
    return math.isfinite(v) and abs(v - target) <= tol + slack


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def near(target, *, rtol=0.0, atol=0.0, why: str = "") -> Expectation:
    """Equal to ``target`` within ``atol + rtol * |target|``: a closed form, a prediction, another method."""
    target = _checks.real("target", target)
    rtol = _checks.positive("rtol", rtol, allow_zero=True)
    atol = _checks.positive("atol", atol, allow_zero=True)
    if rtol == 0 and atol == 0:
        raise ValueError("near needs a tolerance: give rtol or atol (> 0), with its reason in why")
    tol = atol + rtol * abs(target)
    text = f"{_fmt(target)} ± " + (f"{rtol:.2g} rel" if atol == 0 else f"{_fmt(tol)}")

    def test(value):
        v = _scalar(value)
        return _within(v, target, tol), v

    return Expectation("near", text, test, _why(why))


def near_se(target, se, *, k: float = 4.0, why: str = "") -> Expectation:
    """Equal to ``target`` within ``k`` standard errors ``se`` of a Monte Carlo estimate.

    Under a Gaussian error the two-sided false-alarm rate is ``erfc(k / sqrt 2)``, stated in the text.
    """
    target = _checks.real("target", target)
    se = _checks.positive("se", se)
    k = _checks.positive("k", k)
    alarm = math.erfc(k / math.sqrt(2))
    text = f"{_fmt(target)} ± {k:g} SE (SE {se:.2g}; false alarm {alarm:.1g})"

    def test(value):
        v = _scalar(value)
        return _within(v, target, k * se), v

    return Expectation("near_se", text, test, _why(why))


def between(lo, hi, *, why: str = "") -> Expectation:
    """Inside the closed interval [lo, hi]."""
    lo, hi = _checks.real("lo", lo), _checks.real("hi", hi)
    if lo > hi:
        raise ValueError(f"between needs lo <= hi, got lo={lo!r}, hi={hi!r}")

    def test(value):
        v = _scalar(value)
        return lo <= v <= hi, v

    return Expectation("between", f"in [{_fmt(lo)}, {_fmt(hi)}]", test, _why(why))


def above(bound, *, strict: bool = True, why: str = "") -> Expectation:
    """Greater than ``bound`` (or equal, with ``strict=False``)."""
    bound = _checks.real("bound", bound)
    strict = _checks.flag("strict", strict)

    def test(value):
        v = _scalar(value)
        return (v > bound) if strict else (v >= bound), v

    return Expectation("above", ("> " if strict else "≥ ") + _fmt(bound), test, _why(why))


def below(bound, *, strict: bool = True, why: str = "") -> Expectation:
    """Less than ``bound`` (or equal, with ``strict=False``)."""
    bound = _checks.real("bound", bound)
    strict = _checks.flag("strict", strict)

    def test(value):
        v = _scalar(value)
        return (v < bound) if strict else (v <= bound), v

    return Expectation("below", ("< " if strict else "≤ ") + _fmt(bound), test, _why(why))


def _sequence(value) -> np.ndarray:
    arr = _checks.finite_array("value", value)
    if arr.ndim != 1 or arr.size < 2:
        raise ValueError(f"value must be a 1-d sequence of at least two numbers, got shape {arr.shape}")
    return arr


def monotone(direction: str, *, strict: bool = True, tol=0.0, why: str = "") -> Expectation:
    """A sequence that increases or decreases at every step (steps against the trend up to ``tol`` allowed).

    The measured value is the worst step: the largest step against the trend (negative when it holds strictly).
    """
    _checks.choice("direction", direction, {"increasing", "decreasing"})
    strict = _checks.flag("strict", strict)
    tol = _checks.positive("tol", tol, allow_zero=True)
    sign = 1.0 if direction == "decreasing" else -1.0

    def test(value):
        steps = sign * np.diff(_sequence(value))  # > 0 is a step against the trend
        worst = float(steps.max())
        return (worst < 0 or (not strict and worst <= 0)) if tol == 0 else worst <= tol, worst

    text = ("strictly " if strict and tol == 0 else "") + direction + (f" (up to {tol:.2g})" if tol else "")
    return Expectation("monotone", text, test, _why(why))


def fitted_slope(x, y) -> tuple[float, float]:
    """Least-squares slope of ``y`` against ``x`` and its standard error (residual-based)."""
    x, y = _sequence(x), _sequence(y)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    if x.size < 3:
        raise ValueError(f"a fitted slope with an uncertainty needs at least 3 points, got {x.size}")
    xc = x - x.mean()
    sxx = float(xc @ xc)
    if sxx == 0:
        raise ValueError("x must not be constant")
    slope = float(xc @ (y - y.mean())) / sxx
    resid = y - y.mean() - slope * xc
    se = math.sqrt(float(resid @ resid) / (x.size - 2) / sxx)
    return slope, se


def slope_near(expected, *, atol, log: bool = True, why: str = "") -> Expectation:
    """The fitted slope of the value ``(x, y)`` (on log–log axes when ``log``) equals ``expected`` ± ``atol``.

    The slope's own standard error is reported in the text; the tolerance ``atol`` also covers the
    bias of a fit over a finite range (pre-asymptotic terms), which the standard error does not see.
    """
    expected = _checks.real("expected", expected)
    atol = _checks.positive("atol", atol)
    log = _checks.flag("log", log)

    def test(value):
        try:
            x, y = value
        except (TypeError, ValueError) as err:
            raise TypeError("value must be a pair (x, y) for slope_near") from err
        x, y = _sequence(x), _sequence(y)
        if log:
            if np.any(x <= 0) or np.any(y <= 0):
                raise ValueError("slope_near with log=True needs positive x and y")
            x, y = np.log(x), np.log(y)
        slope, _ = fitted_slope(x, y)
        return abs(slope - expected) <= atol, slope

    text = f"slope {_fmt(expected)} ± {atol:.2g}" + (" (log–log)" if log else "")
    return Expectation("slope", text, test, _why(why))


def fraction_above(threshold, *, at_least=None, at_most=None, why: str = "") -> Expectation:
    """The fraction of the values above ``threshold`` is at least ``at_least`` and/or at most ``at_most``."""
    threshold = _checks.real("threshold", threshold)
    if at_least is None and at_most is None:
        raise ValueError("fraction_above needs at_least or at_most")
    lo = 0.0 if at_least is None else _checks.in_interval("at_least", at_least, 0.0, 1.0, closed_hi=True)
    hi = 1.0 if at_most is None else _checks.in_interval("at_most", at_most, 0.0, 1.0, closed_hi=True)
    if lo > hi:
        raise ValueError(f"at_least must not exceed at_most, got {lo!r} > {hi!r}")

    def test(value):
        arr = _checks.finite_array("value", value)
        if arr.size == 0:
            raise ValueError("value must hold at least one number")
        frac = float(np.mean(arr > threshold))
        return lo <= frac <= hi, frac

    parts = ([f"≥ {lo:.3g}"] if at_least is not None else []) + ([f"≤ {hi:.3g}"] if at_most is not None else [])
    return Expectation("fraction", f"fraction > {_fmt(threshold)} " + " and ".join(parts), test, _why(why))


def _glue(name: str, value, check_line: str) -> None:
    from IPython.display import Markdown
    from myst_nb import glue

    glue(name, value, display=False)
    glue(name + "_check", Markdown(check_line), display=False)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def claim(name: str, statement: str, value, expect: Expectation, *, glue: bool = True) -> float:
    """Check that ``value`` meets ``expect``; glue it for the prose; return the measured number.

    Parameters
    ----------
    name : a stable identifier, prefixed with the chapter slug (``deriv_gd_rate``); it is also the
        glue name of the measured value, and ``name + "_check"`` glues the check's summary.
    statement : the sentence of the prose this claim backs, in words.
    value : what was measured: a number, or what the expectation reads (a sequence for
        :func:`monotone` and :func:`fraction_above`, a pair ``(x, y)`` for :func:`slope_near`).
    expect : the expectation, from :func:`near`, :func:`near_se`, :func:`between`, :func:`above`,
        :func:`below`, :func:`monotone`, :func:`slope_near` or :func:`fraction_above`.
    glue : glue the measured value and the check line (when running in a kernel).

    Raises
    ------
    ClaimFailed : the claim does not hold (unless ``GDLENS_CLAIMS_LOG`` is set: then it is recorded).
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier-like string (a glue name), got {name!r}")
    if not isinstance(statement, str) or not statement.strip():
        raise ValueError(f"statement must be a non-empty string, got {statement!r}")
    if not isinstance(expect, Expectation):
        raise TypeError(f"expect must be an Expectation (near, near_se, between, ...), got {expect!r}")
    glue = _checks.flag("glue", glue)
    held, measured = expect.check(value)
    record = {
        "name": name,
        "statement": statement,
        "kind": expect.kind,
        "expected": expect.text,
        "why": expect.why,
        "measured": measured if math.isfinite(measured) else repr(measured),
        "held": held,
        "seed": os.environ.get("GDLENS_SEED"),
        "chapter": os.environ.get("GDLENS_CHAPTER"),
    }
    _made.append(record)
    log = os.environ.get(LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
    if not held and not log:
        raise ClaimFailed(f"claim {name!r} failed: {statement!r} measured {measured!r}, expected {expect.text}")
    if glue and _in_kernel():
        mark = "✓" if held else "✗"
        _glue(name, measured, f"{mark} checked: {_fmt(measured)}, expected {expect.text}")
    return measured


def checked_table(prefix: str = "") -> str:
    """A Markdown table of the claims made so far in this process (those whose name starts with ``prefix``)."""
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string, got {prefix!r}")
    rows = [r for r in _made if r["name"].startswith(prefix)]
    lines = ["| claim | measured | expected | held |", "|---|---|---|---|"]
    for r in rows:
        measured = r["measured"] if isinstance(r["measured"], str) else _fmt(r["measured"])
        lines.append(f"| {r['statement']} | {measured} | {r['expected']} | {'yes' if r['held'] else 'no'} |")
    return "\n".join(lines)


def read_log(path) -> Sequence[dict]:
    """The records a ``GDLENS_CLAIMS_LOG`` file holds, in order."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
