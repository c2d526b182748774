"""Input validation shared by the library: every error names the parameter and the value."""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np


def finite_array(name: str, value, *, ndim_min: int = 0) -> np.ndarray:
    """Return ``value`` as a float64 array, rejecting non-numeric or non-finite entries."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {value!r}") from err
    if arr.ndim < ndim_min:
        raise ValueError(f"{name} must have at least {ndim_min} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


def positive(name: str, value, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, requiring it to be finite and > 0 (or >= 0)."""
    real(name, value)
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return value


def real(name: str, value) -> float:
    """Return ``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    if not np.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def in_interval(name: str, value, lo: float, hi: float, *, closed_hi: bool = False) -> float:
    """Return ``value`` as a float in [lo, hi) (or [lo, hi] when ``closed_hi``)."""
    value = real(name, value)
    if value < lo or value > hi or (value == hi and not closed_hi):
        bracket = "]" if closed_hi else ")"
        raise ValueError(f"{name} must lie in [{lo}, {hi}{bracket}, got {value!r}")
    return value


def count(name: str, value, *, minimum: int = 0) -> int:
    """Return ``value`` as an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def function(name: str, value) -> Callable:
    """Require a callable."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {value!r}")
    return value


def generator(name: str, value) -> np.random.Generator:
    """Require a numpy Generator, so that every random draw is seeded by the caller."""
    if not isinstance(value, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator (np.random.default_rng(seed)), got {value!r}")
    return value


def choice(name: str, value, options) -> str:
    """Require one of ``options``."""
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")
    return value


def flag(name: str, value) -> bool:
    """Require a bool (numpy bools too): a string such as "False" is not a flag."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {value!r}")
    return bool(value)
