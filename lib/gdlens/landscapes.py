r"""The book's shared test problems: value, gradient and Hessian, vectorised over leading axes.

A point is an array whose last axis holds the coordinates: ``value(x)`` has shape ``x.shape[:-1]``,
``grad(x)`` the shape of ``x``, ``hess(x)`` the shape ``(*x.shape, dim)``. The same few problems come
back in every chapter: an ill-conditioned quadratic, Rosenbrock's valley, and the tilted double well,
the common thread of the book.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gdlens import _checks

Array = np.ndarray


class Landscape:
    """Base class: a smooth function of ``dim`` coordinates with its gradient and Hessian."""

    dim: int

    def value(self, x) -> Array:
        raise NotImplementedError

    def grad(self, x) -> Array:
        raise NotImplementedError

    def hess(self, x) -> Array:
        raise NotImplementedError

    def __call__(self, x) -> Array:
        return self.value(x)

    def _points(self, x) -> Array:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"x must have last axis of length {self.dim}, got shape {x.shape}")
        return x


class Quadratic(Landscape):
    r"""The quadratic :math:`L(x) = \tfrac12 x^\top A x - b^\top x` with symmetric positive definite ``A``.

    Its gradient is :math:`Ax - b`, its Hessian :math:`A`, its minimiser :math:`A^{-1} b`.
    """

    def __init__(self, A, b=None):
        A = _checks.finite_array("A", A)
        if A.ndim != 2 or A.shape[0] != A.shape[1] or not np.allclose(A, A.T):
            raise ValueError(f"A must be a symmetric square matrix, got {A!r}")
        eig = np.linalg.eigvalsh(A)
        if eig[0] <= 0:
            raise ValueError(f"A must be positive definite, got eigenvalues {eig!r}")
        self.A, self.dim, self.eigenvalues = A, A.shape[0], eig
        self.b = np.zeros(self.dim) if b is None else _checks.finite_array("b", b)
        if self.b.shape != (self.dim,):
            raise ValueError(f"b must have shape {(self.dim,)}, got {self.b.shape}")
        self.minimizer = np.linalg.solve(A, self.b)

    @property
    def smoothness(self) -> float:
        """L, the largest eigenvalue of A."""
        return float(self.eigenvalues[-1])

    @property
    def strong_convexity(self) -> float:
        """mu, the smallest eigenvalue of A."""
        return float(self.eigenvalues[0])

    @property
    def condition(self) -> float:
        """kappa = L / mu."""
        return self.smoothness / self.strong_convexity

    def value(self, x):
        x = self._points(x)
        return 0.5 * np.einsum("...i,ij,...j->...", x, self.A, x) - x @ self.b

    def grad(self, x):
        return self._points(x) @ self.A - self.b

    def hess(self, x):
        x = self._points(x)
        return np.broadcast_to(self.A, (*x.shape, self.dim)).copy()


def ill_conditioned(condition: float, *, smoothness: float = 1.0, dim: int = 2, angle: float = np.pi / 6) -> Quadratic:
    r"""A quadratic with eigenvalues from ``smoothness / condition`` to ``smoothness``, minimiser at 0.

    In 2-D the eigenvectors are rotated by ``angle`` so that neither axis is special; in higher
    dimension the eigenvalues are spaced geometrically along the coordinate axes.
    """
    kappa = _checks.positive("condition", condition)
    if kappa < 1:
        raise ValueError(f"condition must be >= 1, got {condition!r}")
    L = _checks.positive("smoothness", smoothness)
    dim = _checks.count("dim", dim, minimum=1)
    eig = np.geomspace(L / kappa, L, dim)
    if dim == 2:
        c, s = np.cos(angle), np.sin(angle)
        Q = np.array([[c, -s], [s, c]])
        A = Q @ np.diag(eig) @ Q.T
        return Quadratic(0.5 * (A + A.T))
    return Quadratic(np.diag(eig))


class Rosenbrock(Landscape):
    r"""Rosenbrock's valley :math:`(a - x)^2 + b (y - x^2)^2`, minimum 0 at :math:`(a, a^2)`."""

    dim = 2

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a = _checks.real("a", a)
        self.b = _checks.positive("b", b)
        self.minimizer = np.array([self.a, self.a**2])

    def value(self, x):
        x = self._points(x)
        u, v = x[..., 0], x[..., 1]
        return (self.a - u) ** 2 + self.b * (v - u**2) ** 2

    def grad(self, x):
        x = self._points(x)
        u, v = x[..., 0], x[..., 1]
        r = v - u**2
        return np.stack([-2 * (self.a - u) - 4 * self.b * u * r, 2 * self.b * r], axis=-1)

    def hess(self, x):
        x = self._points(x)
        u, v = x[..., 0], x[..., 1]
        huu = 2 - 4 * self.b * (v - u**2) + 8 * self.b * u**2
        huv = -4 * self.b * u
        hvv = np.full_like(u, 2 * self.b)
        return np.stack([np.stack([huu, huv], -1), np.stack([huv, hvv], -1)], -2)


class TiltedDoubleWell(Landscape):
    r"""The book's common thread: two wells of unequal depth.

    .. math:: E(x) = (x_1^2 - 1)^2 - \tau x_1 + \tfrac{k}{2} \sum_{i > 1} x_i^2

    With tilt :math:`\tau > 0` the right well (near :math:`x_1 = 1`) is the global minimum and the
    left one a local minimum; the other coordinates, if any, sit in a harmonic valley of stiffness k.
    """

    def __init__(self, tilt: float = 0.3, *, dim: int = 1, stiffness: float = 2.0):
        self.tilt = _checks.real("tilt", tilt)
        if abs(self.tilt) >= 4 / np.sqrt(27):  # beyond this the left well disappears
            raise ValueError(f"tilt must satisfy |tilt| < 4/sqrt(27) so both wells exist, got {tilt!r}")
        self.dim = _checks.count("dim", dim, minimum=1)
        self.stiffness = _checks.positive("stiffness", stiffness)
        # stationary points along x1: roots of 4x^3 - 4x - tilt, sorted (left min, saddle, right min)
        roots = np.sort(np.roots([4.0, 0.0, -4.0, -self.tilt]).real)
        self.stationary = roots

    def _point(self, x1: float) -> Array:
        p = np.zeros(self.dim)
        p[0] = x1
        return p

    @property
    def global_minimum(self) -> Array:
        """Location of the deeper well."""
        return self._point(self.stationary[2] if self.tilt >= 0 else self.stationary[0])

    @property
    def local_minimum(self) -> Array:
        """Location of the shallower well."""
        return self._point(self.stationary[0] if self.tilt >= 0 else self.stationary[2])

    @property
    def saddle(self) -> Array:
        """The top of the barrier between the wells."""
        return self._point(self.stationary[1])

    @property
    def barriers(self) -> tuple[float, float]:
        """Energy to climb from (local minimum, global minimum) to the saddle."""
        top = float(self.value(self.saddle))
        return top - float(self.value(self.local_minimum)), top - float(self.value(self.global_minimum))

    def value(self, x):
        x = self._points(x)
        x1 = x[..., 0]
        return (x1**2 - 1) ** 2 - self.tilt * x1 + 0.5 * self.stiffness * np.sum(x[..., 1:] ** 2, axis=-1)

    def grad(self, x):
        x = self._points(x)
        g = self.stiffness * x.copy()
        g[..., 0] = 4 * x[..., 0] * (x[..., 0] ** 2 - 1) - self.tilt
        return g

    def hess(self, x):
        x = self._points(x)
        h = np.zeros((*x.shape, self.dim))
        idx = np.arange(1, self.dim)
        h[..., idx, idx] = self.stiffness
        h[..., 0, 0] = 12 * x[..., 0] ** 2 - 4
        return h


def numerical_grad(f: Callable[[Array], Array], x, *, eps: float = 1e-6) -> Array:
    """Central finite differences of a scalar function ``f`` (vectorised over leading axes of ``x``)."""
    _checks.function("f", f)
    x = _checks.finite_array("x", x, ndim_min=1)
    eps = _checks.positive("eps", eps)
    g = np.empty_like(x)
    for i in range(x.shape[-1]):
        e = np.zeros(x.shape[-1])
        e[i] = eps
        g[..., i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def check_grad(f: Callable[[Array], Array], grad: Callable[[Array], Array], x, *, eps: float = 1e-6) -> float:
    """Largest absolute difference between ``grad(x)`` and central differences of ``f``.

    Like ``scipy.optimize.check_grad``; the truncation error is O(eps^2) and the rounding error
    O(machine epsilon * abs(f) / eps), so about 1e-8 at the default eps for values of order one.
    """
    return float(np.max(np.abs(np.asarray(grad(x)) - numerical_grad(f, x, eps=eps))))
