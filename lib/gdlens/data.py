r"""Seeded toy data sets for the geometric view of deep learning: two classes on intertwined manifolds.

Chollet's picture of classification is a ball of two crumpled sheets of paper, one red and one blue,
that a network must uncrumple until the colours can be told apart by a flat cut. The data sets here
make that picture concrete:

* :func:`two_spirals` — two interleaved spiral arms in the plane (the 2-D version);
* :func:`crumpled_sheets` — two parallel sheets of paper rolled up together and rippled, in 3-D;
  :func:`sheet_map` is the crumpling map itself, so a grid drawn on the flat paper can be followed.

Every function takes the number of points ``n`` and a ``numpy.random.Generator`` and returns
``(X, y)``: float64 inputs of shape ``(n, dim)`` and integer labels in ``{0, 1}`` of shape ``(n,)``,
balanced (``n // 2`` and ``n - n // 2`` points) and shuffled.

Reference: F. Chollet, *Deep Learning with Python* (2nd ed., 2021), §2.4; K. Lang and M. Witbrock,
"Learning to tell two spirals apart" (1988) for the spirals.
"""

from __future__ import annotations

import numpy as np

from gdlens import _checks

Array = np.ndarray

#: innermost radius of the spirals, as a fraction of the outermost radius 1
SPIRAL_R_MIN = 0.1


def _labels(n: int, rng: np.random.Generator) -> Array:
    return rng.permutation(np.arange(n) % 2)


def two_spirals(n: int, *, rng: np.random.Generator, turns: float = 1.5, noise: float = 0.03) -> tuple[Array, Array]:
    r"""Two interleaved spiral arms in the plane, one per class.

    A point of class :math:`c \in \{0, 1\}` at radius :math:`r \in [0.1, 1]` sits at angle

    .. math:: \varphi = 2\pi \cdot \text{turns} \cdot r + c\,\pi, \qquad x = r(\cos\varphi, \sin\varphi) + \sigma\xi,

    with :math:`\xi \sim N(0, I_2)`. The radii are drawn with density proportional to :math:`r`, so the
    points are spread evenly along the arms. Without noise the two arms never meet: at every radius
    they are half a turn apart.

    Parameters
    ----------
    n : int
        Number of points, >= 2.
    rng : numpy.random.Generator
        Source of randomness.
    turns : float
        Number of turns of each arm, > 0 (1.5 by default).
    noise : float
        Standard deviation :math:`\sigma` of the Gaussian noise added to each coordinate, >= 0.

    Returns
    -------
    X : ndarray, shape (n, 2), float64
    y : ndarray, shape (n,), int64, values in {0, 1}

    Reference: Lang & Witbrock (1988).
    """
    n = _checks.count("n", n, minimum=2)
    rng = _checks.generator("rng", rng)
    turns = _checks.positive("turns", turns)
    noise = _checks.positive("noise", noise, allow_zero=True)
    y = _labels(n, rng)
    r = np.sqrt(rng.uniform(SPIRAL_R_MIN**2, 1.0, n))  # density proportional to r: even along the arm
    phi = 2 * np.pi * turns * r + np.pi * y
    X = r[:, None] * np.stack([np.cos(phi), np.sin(phi)], axis=1)
    return X + noise * rng.standard_normal((n, 2)), y


def sheet_map(u, v, side, *, turns: float = 1.5) -> Array:
    r"""The crumpling map: a point :math:`(u, v)` of sheet ``side`` of the flat paper, sent to 3-D.

    The paper is :math:`u \in [0, 1]` (along the roll) by :math:`v \in [-1, 1]` (across it). The two
    sheets, ``side = 0`` (one colour) and ``side = 1`` (the other), lie on top of each other and are
    rolled up together into a double spiral of ``turns`` turns, then rippled:

    .. math::
        t = 2\pi(1 + \text{turns}\cdot u), \quad
        \rho = c\,t + (2\,\text{side} - 1)\,\tfrac{\pi c}{2} + a \sin(3 v), \quad
        (x_1, x_2, x_3) = \big(\rho \cos t,\; v + a \sin(2 t),\; \rho \sin t\big),

    with :math:`c = 1/(2\pi(1 + \text{turns}))` (so the outer radius is about 1) and ripple amplitude
    :math:`a = 0.3\,\pi c`. Successive layers of the roll alternate between the sheets and are
    :math:`\pi c` apart along the radius, so the sheets never touch.

    Parameters
    ----------
    u, v, side : array_like, broadcastable
        Paper coordinates and the sheet (0 or 1).
    turns : float
        Number of turns of the roll, > 0.

    Returns
    -------
    ndarray, shape ``broadcast_shape + (3,)``, float64
    """
    turns = _checks.positive("turns", turns)
    u = _checks.finite_array("u", u)
    v = _checks.finite_array("v", v)
    side = _checks.finite_array("side", side)
    if not np.all((side == 0) | (side == 1)):
        raise ValueError(f"side must be 0 or 1, got {np.unique(side)!r}")
    c = 1.0 / (2 * np.pi * (1 + turns))
    a = 0.3 * np.pi * c
    t = 2 * np.pi * (1 + turns * u)
    rho = c * t + (2 * side - 1) * (np.pi * c / 2) + a * np.sin(3 * v)
    return np.stack(np.broadcast_arrays(rho * np.cos(t), v + a * np.sin(2 * t), rho * np.sin(t)), axis=-1)


def crumpled_sheets(
    n: int, *, rng: np.random.Generator, turns: float = 1.5, noise: float = 0.01
) -> tuple[Array, Array]:
    r"""A red and a blue sheet of paper, rolled up together and rippled: two classes in 3-D.

    Points are drawn uniformly on the flat paper, :math:`u \sim U(0, 1)`, :math:`v \sim U(-1, 1)`, one
    sheet per class, and sent to 3-D by :func:`sheet_map`; then Gaussian noise of standard deviation
    ``noise`` is added to each coordinate.

    Parameters
    ----------
    n : int
        Number of points, >= 2.
    rng : numpy.random.Generator
        Source of randomness.
    turns : float
        Number of turns of the roll, > 0 (1.5 by default).
    noise : float
        Standard deviation of the noise, >= 0 (small against the gap between layers, about 0.2 for
        1.5 turns).

    Returns
    -------
    X : ndarray, shape (n, 3), float64
    y : ndarray, shape (n,), int64, values in {0, 1} (the sheet)

    Reference: Chollet, *Deep Learning with Python* (2021), §2.4.
    """
    n = _checks.count("n", n, minimum=2)
    rng = _checks.generator("rng", rng)
    turns = _checks.positive("turns", turns)
    noise = _checks.positive("noise", noise, allow_zero=True)
    y = _labels(n, rng)
    u = rng.uniform(0.0, 1.0, n)
    v = rng.uniform(-1.0, 1.0, n)
    X = sheet_map(u, v, y, turns=turns)
    return X + noise * rng.standard_normal((n, 3)), y
