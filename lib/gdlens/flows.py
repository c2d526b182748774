r"""Gradient flows: of points (the ODE that gradient descent discretises) and of densities (Fokker–Planck).

* :func:`gradient_flow` solves :math:`\dot\theta = -\nabla L(\theta)` accurately (classical RK4 with
  small substeps): the reference against which gradient descent, its explicit Euler scheme, is measured.
* :func:`implicit_euler` is the backward Euler scheme, i.e. the proximal point method.
* :class:`ModifiedLoss` is the loss :math:`\tilde L = L + \tfrac{\gamma}{4}\|\nabla L\|^2` whose flow gradient
  descent follows to second order (implicit gradient regularisation); :class:`SharpFlat` is a landscape
  with a sharp and a flat minimum of equal depth, and :func:`gd_outcomes` sorts where many runs of gradient
  descent end (a minimum, a period-two cycle, neither).
* :func:`fokker_planck_1d` solves :math:`\partial_t p = \partial_x(p\,E') + T\,\partial_x^2 p` on a grid,
  :func:`free_energy` and :func:`dissipation` measure its Lyapunov functional and the rate at which it falls,
  :func:`boltzmann_1d` and :func:`kl_divergence_1d` write it as :math:`F = T\,\mathrm{KL}(p\Vert p_\infty) - T\log Z`,
  and :func:`jko_1d` computes the same evolution as a sequence of Wasserstein proximal steps (JKO), with
  :func:`quantiles_1d`, :func:`wasserstein_1d`, :func:`ks_distance_1d` and :func:`particle_density` to compare them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gdlens import _checks, odes
from gdlens.landscapes import Landscape

Array = np.ndarray
Grad = Callable[[Array], Array]


# --- linear algebra ------------------------------------------------------------------------------


def solve_tridiagonal(lower, diag, upper, rhs) -> Array:
    r"""Solve a tridiagonal system :math:`T x = r` by the Thomas algorithm (Gaussian elimination, no pivoting).

    Row i reads :math:`l_{i-1} x_{i-1} + d_i x_i + u_i x_{i+1} = r_i`.

    Parameters
    ----------
    lower, upper : array_like, shape (n - 1,)
        Sub- and super-diagonal.
    diag : array_like, shape (n,)
        Diagonal; the matrix should be diagonally dominant (e.g. an M-matrix), for which elimination
        without pivoting is stable.
    rhs : array_like, shape (n,) or (n, k)
        One right-hand side or k of them as columns.

    Returns
    -------
    ndarray, the shape of ``rhs``.

    Reference: L. H. Thomas (1949); Golub & Van Loan, *Matrix Computations*, §4.3.
    """
    d = _checks.finite_array("diag", diag, ndim_min=1)
    lo = _checks.finite_array("lower", lower, ndim_min=1)
    up = _checks.finite_array("upper", upper, ndim_min=1)
    r = _checks.finite_array("rhs", rhs, ndim_min=1)
    n = d.shape[0]
    if d.ndim != 1 or lo.shape != (n - 1,) or up.shape != (n - 1,) or r.shape[0] != n or r.ndim > 2:
        raise ValueError(
            f"need diag (n,), lower and upper (n-1,), rhs (n,) or (n, k); got shapes "
            f"{d.shape}, {lo.shape}, {up.shape}, {r.shape}"
        )
    c = np.empty(max(n - 1, 0))
    y = np.empty_like(r)
    denom = d[0]
    if denom == 0:
        raise ValueError("diag[0] is zero: the system needs pivoting, which this solver does not do")
    if n > 1:
        c[0] = up[0] / denom
    y[0] = r[0] / denom
    for i in range(1, n):
        denom = d[i] - lo[i - 1] * c[i - 1]
        if denom == 0:
            raise ValueError(f"zero pivot at row {i}: the system needs pivoting, which this solver does not do")
        if i < n - 1:
            c[i] = up[i] / denom
        y[i] = (r[i] - lo[i - 1] * y[i - 1]) / denom
    for i in range(n - 2, -1, -1):
        y[i] = y[i] - c[i] * y[i + 1]
    return y


# --- gradient flow of points -----------------------------------------------------------------------


def _times(t) -> Array:
    t = _checks.finite_array("t", t, ndim_min=1)
    if t.ndim != 1 or t[0] < 0 or np.any(np.diff(t) < 0):
        raise ValueError(f"t must be a 1-D array of non-negative, non-decreasing times, got {t!r}")
    return t


def gradient_flow(grad: Grad, x0, *, t, max_step: float = 1e-2) -> Array:
    r"""The gradient flow :math:`\dot\theta = -\nabla L(\theta)`, :math:`\theta(0) = \theta_0`, by classical RK4.

    A thin layer over :func:`gdlens.odes.integrate`: the RK4 substeps are equal and no longer than
    ``max_step``, so the global error, :math:`O(h^4)` in the substep h, is far below the :math:`O(\gamma)`
    error of gradient descent that this solution serves as a reference for.

    Parameters
    ----------
    grad : callable
        ``grad(x)`` returns :math:`\nabla L(x)` with the shape of ``x`` (vectorised over leading axes,
        so many starting points are integrated at once).
    x0 : array_like
        Starting point(s) at time 0, finite, any shape.
    t : array_like, shape (m,)
        Output times, non-negative and strictly increasing.
    max_step : float
        Longest RK4 substep, > 0.

    Returns
    -------
    ndarray, shape ``(m, *np.shape(x0))``
        The solution at each time in ``t``. If it overflows, that row and all later rows are nan.

    Reference: Hairer, Nørsett & Wanner, *Solving Ordinary Differential Equations I* (1993), §II.1.
    """
    _checks.function("grad", grad)
    x = _checks.finite_array("x0", x0)
    t = _times(t)
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"t must be strictly increasing, got {t!r}")
    h_max = _checks.positive("max_step", max_step)
    grid = t if t[0] == 0 else np.concatenate([[0.0], t])
    substeps = max(1, int(np.ceil(np.max(np.diff(grid), initial=0.0) / h_max - 1e-9)))

    def field(s, y):
        g = np.asarray(grad(y), dtype=np.float64)
        if g.shape != y.shape:
            raise ValueError(f"grad must return an array of shape {y.shape}, got shape {g.shape}")
        return -g

    if grid.size == 1:  # only t = 0 asked for
        return x[None].copy()
    out = odes.integrate(field, x, grid, substeps=substeps)
    return out if t[0] == 0 else out[1:]


def implicit_euler(
    grad: Grad, hess: Callable[[Array], Array], x0, *, lr: float, steps: int, tol: float = 1e-12, max_iter: int = 50
) -> Array:
    r"""Backward Euler for the gradient flow, which is the proximal point method.

    .. math::
        \theta_{k+1} = \theta_k - \gamma \nabla L(\theta_{k+1})
        \iff \theta_{k+1} \in \arg\min_\theta\ L(\theta) + \frac{1}{2\gamma}\|\theta - \theta_k\|^2
        \quad(\text{when the right side is strictly convex}).

    Each implicit equation is solved by Newton's method on
    :math:`r(\theta) = \theta - \theta_k + \gamma\nabla L(\theta)`, with Jacobian :math:`I + \gamma\nabla^2 L`,
    started from :math:`\theta_k` (exact in one iteration on a quadratic).

    Parameters
    ----------
    grad, hess : callable
        Gradient (shape of x) and Hessian (shape ``(*x.shape, d)``), vectorised over leading axes.
    x0 : array_like, shape (..., d)
        Starting point(s).
    lr : float
        Step :math:`\gamma > 0`; any size is allowed (on a convex loss the scheme is stable for all of them).
    steps : int
        Number of steps.
    tol, max_iter : float, int
        Newton stops when its update is below ``tol`` times the size of the iterate plus that of the step.

    Returns
    -------
    ndarray, shape ``(steps + 1, *np.shape(x0))``
        Row 0 is ``x0``. If Newton fails (singular Jacobian, no convergence, overflow), that row and the
        later rows are nan.

    Reference: Rockafellar (1976), *Monotone operators and the proximal point algorithm*.
    """
    _checks.function("grad", grad)
    _checks.function("hess", hess)
    x = _checks.finite_array("x0", x0, ndim_min=1)
    lr = _checks.positive("lr", lr)
    steps = _checks.count("steps", steps)
    tol = _checks.positive("tol", tol)
    max_iter = _checks.count("max_iter", max_iter, minimum=1)
    d = x.shape[-1]
    out = np.full((steps + 1, *x.shape), np.nan)
    out[0] = x
    eye = np.eye(d)
    with np.errstate(all="ignore"):
        for k in range(steps):
            prev, y, ok = x, x.copy(), False
            for _ in range(max_iter):
                r = y - prev + lr * np.asarray(grad(y), dtype=np.float64)
                J = eye + lr * np.asarray(hess(y), dtype=np.float64)
                try:
                    delta = np.linalg.solve(J, r[..., None])[..., 0]
                except np.linalg.LinAlgError:
                    break
                y = y - delta
                if not np.all(np.isfinite(y)):
                    break
                # relative to the size of the iterate and of the step, so that it works at every scale
                if np.max(np.abs(delta)) <= tol * (np.max(np.abs(y)) + np.max(np.abs(y - prev))):
                    ok = True
                    break
            if not ok:
                break
            x = y
            out[k + 1] = x
    return out


# --- implicit gradient regularisation --------------------------------------------------------------


class ModifiedLoss(Landscape):
    r"""The modified loss of gradient descent with learning rate :math:`\gamma`:

    .. math::
        \tilde L(\theta) = L(\theta) + \frac{\gamma}{4}\|\nabla L(\theta)\|^2, \qquad
        \nabla\tilde L(\theta) = \nabla L(\theta) + \frac{\gamma}{2}\nabla^2 L(\theta)\,\nabla L(\theta).

    Gradient descent on L stays within :math:`O(\gamma^2)` of the gradient flow of :math:`\tilde L` over a
    fixed time, against :math:`O(\gamma)` for the flow of L itself. The Hessian of :math:`\tilde L` would
    need third derivatives of L and is not provided.

    Parameters
    ----------
    landscape : Landscape
        The loss L, with ``value``, ``grad`` and ``hess``.
    lr : float
        The learning rate :math:`\gamma > 0`.

    Reference: Barrett & Dherin (2021), *Implicit Gradient Regularization*, ICLR.
    """

    def __init__(self, landscape: Landscape, lr: float):
        if not isinstance(landscape, Landscape):
            raise TypeError(f"landscape must be a gdlens Landscape, got {landscape!r}")
        self.base = landscape
        self.dim = landscape.dim
        self.lr = _checks.positive("lr", lr)

    def value(self, x):
        g = self.base.grad(self._points(x))
        return self.base.value(x) + 0.25 * self.lr * np.sum(g * g, axis=-1)

    def grad(self, x):
        x = self._points(x)
        g = self.base.grad(x)
        return g + 0.5 * self.lr * np.einsum("...ij,...j->...i", self.base.hess(x), g)


class SharpFlat(Landscape):
    r"""A sharp and a flat minimum of equal depth (zero), as two quadratics in parallel.

    .. math::
        L(x) = \frac{q_s(x)\, q_f(x)}{q_s(x) + q_f(x)}, \quad
        q_s = \tfrac{\lambda_s}{2}\|x - a\|^2,\ q_f = \tfrac{\lambda_f}{2}\|x - b\|^2,\ a = -e_1,\ b = +e_1.

    Since :math:`1/L = 1/q_s + 1/q_f`, L vanishes exactly at a and b, its Hessian there is
    :math:`\lambda_s I` and :math:`\lambda_f I`, and nowhere does its Hessian exceed :math:`\max(\lambda_s, \lambda_f)`:

    .. math::
        \nabla L = \frac{q_f^2 \nabla q_s + q_s^2 \nabla q_f}{s^2},\quad
        \nabla^2 L = \frac{q_f^2 \lambda_s + q_s^2 \lambda_f}{s^2} I - \frac{2}{s^3} d d^\top,\quad
        s = q_s + q_f,\ d = q_s\nabla q_f - q_f \nabla q_s.

    Parameters
    ----------
    sharpness, flatness : float
        The curvatures (Hessian eigenvalues) :math:`\lambda_s > \lambda_f > 0` of the two minima; gradient
        descent can converge to the sharp one only for :math:`\gamma < 2/\lambda_s`.
    dim : int
        Number of coordinates, >= 1.
    """

    def __init__(self, sharpness: float = 20.0, flatness: float = 1.0, *, dim: int = 1):
        self.sharpness = _checks.positive("sharpness", sharpness)
        self.flatness = _checks.positive("flatness", flatness)
        if self.flatness >= self.sharpness:
            raise ValueError(f"flatness must be below sharpness ({sharpness!r}), got {flatness!r}")
        self.dim = _checks.count("dim", dim, minimum=1)
        self.sharp_minimum = np.zeros(self.dim)
        self.sharp_minimum[0] = -1.0
        self.flat_minimum = -self.sharp_minimum

    def _parts(self, x):
        x = self._points(x)
        us, uf = x - self.sharp_minimum, x - self.flat_minimum
        qs = 0.5 * self.sharpness * np.sum(us * us, axis=-1)
        qf = 0.5 * self.flatness * np.sum(uf * uf, axis=-1)
        return qs, qf, self.sharpness * us, self.flatness * uf

    def value(self, x):
        qs, qf, _, _ = self._parts(x)
        return qs * qf / (qs + qf)

    def grad(self, x):
        qs, qf, gs, gf = self._parts(x)
        s = (qs + qf)[..., None]
        return (qf[..., None] ** 2 * gs + qs[..., None] ** 2 * gf) / s**2

    def hess(self, x):
        qs, qf, gs, gf = self._parts(x)
        s = qs + qf
        scale = (qf**2 * self.sharpness + qs**2 * self.flatness) / s**2
        d = qs[..., None] * gf - qf[..., None] * gs
        eye = np.eye(self.dim)
        return scale[..., None, None] * eye - (2 / s**3)[..., None, None] * d[..., :, None] * d[..., None, :]


class Outcomes(NamedTuple):
    """Where runs of gradient descent end: see :func:`gd_outcomes`."""

    minimum: Array  # int, shape (n,): index of the minimum the run converged to, -1 for none
    period_two: Array  # bool, shape (n,): at no minimum, back within tol after two steps, not after one
    last: Array  # shape (3, n, d): the iterates K-2, K-1 and K


def gd_outcomes(grad: Grad, x0, *, lr: float, steps: int, minima, tol: float = 1e-6) -> Outcomes:
    r"""Gradient descent :math:`\theta_{k+1} = \theta_k - \gamma\nabla L(\theta_k)` from many starts: where runs end.

    A run *converged to minimum i* when its last two iterates both lie within ``tol`` of ``minima[i]``; it
    is on a *period-two cycle* when it converged to no minimum, :math:`\|\theta_K - \theta_{K-2}\| \le` ``tol``
    and :math:`\|\theta_K - \theta_{K-1}\| >` ``tol``. Anything else (still moving, longer cycles, chaotic
    bouncing, a run that overflowed) is neither. Only the last three iterates are kept, so many starts and
    long runs cost no memory.

    Near a minimum with Hessian eigenvalue :math:`\lambda`, GD multiplies the error along that eigenvector by
    :math:`1 - \gamma\lambda`, so it can converge there only if :math:`\gamma\lambda < 2` (Euler's stability
    limit); past it, runs that stay near the minimum cycle or bounce.

    Parameters
    ----------
    grad : callable
        ``grad(x)`` returns :math:`\nabla L(x)` with the shape of ``x``, vectorised over leading axes.
    x0 : array_like, shape (n, d)
        The starts.
    lr : float
        Learning rate :math:`\gamma > 0`.
    steps : int
        Number of steps K >= 2.
    minima : array_like, shape (m, d)
        The minima to test for.
    tol : float
        Distance threshold, > 0.

    Returns
    -------
    Outcomes
        ``minimum`` (index or -1), ``period_two`` (bool) and the ``last`` three iterates.

    Reference: Hairer, Nørsett & Wanner (1993), §IV.2 for the stability region; Cohen et al. (2021) for
    GD beyond it.
    """
    _checks.function("grad", grad)
    x = _checks.finite_array("x0", x0, ndim_min=2)
    if x.ndim != 2:
        raise ValueError(f"x0 must have shape (n, d), got {x.shape}")
    lr = _checks.positive("lr", lr)
    steps = _checks.count("steps", steps, minimum=2)
    mins = _checks.finite_array("minima", minima, ndim_min=2)
    if mins.ndim != 2 or mins.shape[1] != x.shape[1]:
        raise ValueError(f"minima must have shape (m, {x.shape[1]}), got {mins.shape}")
    tol = _checks.positive("tol", tol)
    keep = [x, x, x]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            g = np.asarray(grad(keep[-1]), dtype=np.float64)
            if g.shape != x.shape:
                raise ValueError(f"grad must return an array of shape {x.shape}, got shape {g.shape}")
            keep = [keep[1], keep[2], keep[2] - lr * g]
    last = np.stack(keep)
    ok = np.all(np.isfinite(last), axis=(0, 2))
    dist = np.linalg.norm(last[1:, :, None, :] - mins[None, None], axis=-1)  # (2, n, m)
    near_min = ok[:, None] & np.all(dist <= tol, axis=0)
    minimum = np.where(near_min.any(axis=1), np.argmax(near_min, axis=1), -1)
    back = np.linalg.norm(last[2] - last[0], axis=-1) <= tol
    moved = np.linalg.norm(last[2] - last[1], axis=-1) > tol
    return Outcomes(minimum, ok & (minimum < 0) & back & moved, np.where(ok[None, :, None], last, np.nan))


# --- Fokker–Planck on a grid ----------------------------------------------------------------------


def _grid(x) -> tuple[Array, float]:
    x = _checks.finite_array("x", x, ndim_min=1)
    if x.ndim != 1 or x.size < 3:
        raise ValueError(f"x must be a 1-D grid of at least 3 points, got shape {x.shape}")
    dx = x[1] - x[0]
    if dx <= 0 or not np.allclose(np.diff(x), dx, rtol=1e-8, atol=0):
        raise ValueError(
            f"x must be uniform and increasing, got spacings from {np.diff(x).min()} to {np.diff(x).max()}"
        )
    return x, float(dx)


def _energy_on(energy, x) -> Array:
    _checks.function("energy", energy)
    e = np.asarray(energy(x), dtype=np.float64)
    if e.shape != x.shape or not np.all(np.isfinite(e)):
        raise ValueError(f"energy(x) must return finite values of shape {x.shape}, got shape {e.shape}")
    return e


def _density(name, p, n) -> Array:
    p = _checks.finite_array(name, p, ndim_min=1)
    if p.shape[-1] != n:
        raise ValueError(f"{name} must have last axis of length {n} (the grid), got shape {p.shape}")
    if np.any(p < 0):
        raise ValueError(f"{name} must be non-negative, got minimum {p.min()!r}")
    return p


def _sg_coefficients(e: Array, temperature: float) -> tuple[Array, Array]:
    r"""Scharfetter–Gummel face coefficients: flux :math:`J_{i+1/2} = (a_i p_i - b_i p_{i+1})/h`.

    :math:`a = T B(\Delta E/T)`, :math:`b = T B(-\Delta E/T)` with :math:`B(z) = z/(e^z - 1)`; at T = 0 the
    limit, upwinding, :math:`a = \max(-\Delta E, 0)`, :math:`b = \max(\Delta E, 0)`.
    """
    de = np.diff(e)
    if temperature == 0:
        return np.maximum(-de, 0.0), np.maximum(de, 0.0)
    with np.errstate(over="ignore"):  # |dE/T| may overflow to inf at tiny T: the limits below still hold
        z = de / temperature

    def t_bern(d, z):
        # T B(z) with z = d/T, written through d so that z = +-inf gives the upwind limits 0 and -d
        pos = z > 0
        zp, zn = np.where(pos, z, 1.0), np.where(pos, -1.0, z)
        out = np.where(pos, d * np.exp(-zp) / -np.expm1(-zp), d / np.expm1(zn))
        return np.where(z == 0, temperature, out)

    return t_bern(de, z), t_bern(-de, -z)


def fokker_planck_1d(
    energy: Callable[[Array], Array], p0, x, *, temperature: float, t, max_step: float = 1e-3
) -> Array:
    r"""The Fokker–Planck equation in 1-D with no-flux walls, by a Scharfetter–Gummel finite-volume scheme.

    .. math::
        \partial_t p = \partial_x\bigl(p\, E'(x)\bigr) + T\, \partial_x^2 p,
        \qquad J = -(p E' + T p') = 0 \text{ at both ends.}

    Cell i (centre :math:`x_i`, width h) exchanges mass with its neighbours through the fluxes
    :math:`J_{i+1/2} = \bigl(T B(\Delta E_i/T)\, p_i - T B(-\Delta E_i/T)\, p_{i+1}\bigr)/h`,
    :math:`B(z) = z/(e^z-1)`, which vanish exactly at the discrete Boltzmann law :math:`p_i\propto e^{-E_i/T}`.
    Time steps are implicit (backward Euler): :math:`(I - \delta A)\,p^{n+1} = p^n`, solved with the Thomas
    algorithm. By construction: mass :math:`\sum_i p_i h` is conserved (the columns of :math:`I-\delta A`
    sum to one), p stays non-negative (:math:`I-\delta A` is an M-matrix, its inverse is non-negative), and
    the discrete free energy :func:`free_energy` falls at every step for any :math:`\delta` (the inverse is a
    Markov kernel that keeps the discrete Boltzmann law, and relative entropy to it can only fall). The
    error is :math:`O(h^2)` in space and :math:`O(\delta)` in time. At T = 0 the scheme is first-order upwind
    for the continuity equation :math:`\partial_t p = \partial_x(p E')`.

    Parameters
    ----------
    energy : callable
        ``energy(x)`` returns E at the grid points, shape ``(n,)``.
    p0 : array_like, shape (..., n)
        Initial density (or several, along leading axes), non-negative.
    x : array_like, shape (n,)
        Uniform grid of cell centres, n >= 3.
    temperature : float
        T >= 0.
    t : array_like, shape (m,)
        Output times, non-negative and non-decreasing.
    max_step : float
        Longest time step δ > 0; each interval between output times is cut into equal steps.

    Returns
    -------
    ndarray, shape ``(m, *np.shape(p0))``
        The density at each time in ``t``.

    References: Scharfetter & Gummel (1969); Jordan, Kinderlehrer & Otto (1998) for the free energy.
    """
    x, h = _grid(x)
    e = _energy_on(energy, x)
    p = _density("p0", p0, x.size)
    T = _checks.positive("temperature", temperature, allow_zero=True)
    t = _times(t)
    delta_max = _checks.positive("max_step", max_step)
    a, b = _sg_coefficients(e, T)
    n = x.size
    inverses: dict[float, Array] = {}

    def propagator(dt: float) -> Array:
        # (I - dt A)^{-1}, one Thomas solve with the identity's n columns; dense, so each step is a matvec
        key = float(f"{dt:.12g}")
        if key not in inverses:
            c = dt / h**2
            diag = 1 + c * (np.concatenate([[0.0], b]) + np.concatenate([a, [0.0]]))
            inverses[key] = solve_tridiagonal(-c * a, diag, -c * b, np.eye(n))
        return inverses[key]

    out = np.empty((t.size, *p.shape))
    now = 0.0
    for i, target in enumerate(t):
        span = target - now
        steps = int(np.ceil(span / delta_max - 1e-9)) if span > 0 else 0
        if steps:
            M = propagator(span / steps).T
            for _ in range(steps):
                p = p @ M
        out[i] = p
        now = target
    return out


def _plogp(p: Array) -> Array:
    safe = np.where(p > 0, p, 1.0)
    return np.where(p > 0, p * np.log(safe), 0.0)


def free_energy(energy: Callable[[Array], Array], p, x, *, temperature: float) -> Array:
    r"""The free energy :math:`F[p] = \int E\,p\,dx + T\int p\log p\,dx` of a density on a uniform grid (midpoint rule).

    F is the Lyapunov functional of the Fokker–Planck equation, which is its Wasserstein-2 gradient flow;
    its minimiser is the Boltzmann law :math:`p \propto e^{-E/T}`. Here :math:`0\log 0 = 0`.

    Returns an array of shape ``np.shape(p)[:-1]``. Reference: Jordan, Kinderlehrer & Otto (1998).
    """
    x, h = _grid(x)
    e = _energy_on(energy, x)
    p = _density("p", p, x.size)
    T = _checks.positive("temperature", temperature, allow_zero=True)
    return h * np.sum(e * p + T * _plogp(p), axis=-1)


def boltzmann_1d(energy: Callable[[Array], Array], x, *, temperature: float) -> tuple[Array, float]:
    r"""The Boltzmann law :math:`p_\infty = e^{-E/T}/Z` on a uniform grid, and :math:`\log Z` (midpoint rule).

    :math:`\log Z = \log \sum_i e^{-E_i/T} h` is computed with the minimum of E factored out, so it does not
    overflow at small T. With it the free energy of any density of unit mass is
    :math:`F[p] = T\,\mathrm{KL}(p\,\Vert\,p_\infty) - T\log Z`, minimal (:math:`-T\log Z`) at :math:`p_\infty`.

    Returns ``(p_inf, log_Z)``; ``p_inf`` has the shape of x. Reference: Jordan, Kinderlehrer & Otto (1998).
    """
    x, h = _grid(x)
    e = _energy_on(energy, x)
    T = _checks.positive("temperature", temperature)
    w = np.exp(-(e - e.min()) / T)
    z = w.sum() * h
    return w / z, float(np.log(z) - e.min() / T)


def kl_divergence_1d(p, q, x) -> Array:
    r"""The relative entropy :math:`\mathrm{KL}(p\,\Vert\,q) = \int p \log(p/q)\,dx` of densities on a uniform grid.

    Midpoint rule, :math:`0 \log 0 = 0`; q must be positive wherever p is. Vectorised over leading axes of p
    (q has the grid's shape or broadcasts against p). Returns an array of shape ``np.shape(p)[:-1]``.
    Reference: Cover & Thomas, *Elements of Information Theory* (2006), §2.3.
    """
    x, h = _grid(x)
    p = _density("p", p, x.size)
    q = _density("q", q, x.size)
    if np.any((p > 0) & (q <= 0)):
        raise ValueError("q must be positive wherever p is (otherwise the KL divergence is infinite)")
    safe_q = np.where(q > 0, q, 1.0)
    return h * np.sum(_plogp(p) - np.where(p > 0, p * np.log(safe_q), 0.0), axis=-1)


def dissipation(energy: Callable[[Array], Array], p, x, *, temperature: float) -> Array:
    r"""The rate :math:`-\frac{dF}{dt}` of the Scharfetter–Gummel semi-discretisation, a discrete Fisher information.

    .. math::
        -\frac{dF}{dt} = \sum_{i} J_{i+1/2}\,(\mu_i - \mu_{i+1}) \;\xrightarrow[h\to0]{}\;
        \int p\,\bigl|\partial_x(E + T\log p)\bigr|^2 dx, \qquad \mu = E + T\log p,

    non-negative term by term. Densities should be positive on the grid where T > 0 (zeros are
    clipped to the smallest positive float). Returns an array of shape ``np.shape(p)[:-1]``.

    Reference: Jordan, Kinderlehrer & Otto (1998); Santambrogio (2017), §4.
    """
    x, h = _grid(x)
    e = _energy_on(energy, x)
    p = _density("p", p, x.size)
    T = _checks.positive("temperature", temperature, allow_zero=True)
    a, b = _sg_coefficients(e, T)
    flux = (a * p[..., :-1] - b * p[..., 1:]) / h
    mu = e + T * np.log(np.maximum(p, np.finfo(float).tiny)) if T > 0 else np.broadcast_to(e, p.shape)
    return np.sum(flux * (mu[..., :-1] - mu[..., 1:]), axis=-1)


# --- Wasserstein distance and the JKO scheme in 1-D -----------------------------------------------


def mass_levels(n: int) -> Array:
    """The n equally spaced mass levels :math:`(j + 1/2)/n`, at which quantiles are taken."""
    n = _checks.count("n", n, minimum=1)
    return (np.arange(n) + 0.5) / n


def quantiles_1d(p, x, n: int) -> Array:
    r"""Quantiles of a density on a uniform grid at the mass levels :math:`(j+\tfrac12)/n`.

    The grid density is read as piecewise constant on cells :math:`[x_i - h/2, x_i + h/2]`, so the
    distribution function is piecewise linear and its inverse exact. Vectorised over leading axes of p;
    returns shape ``(*np.shape(p)[:-1], n)``.
    """
    x, h = _grid(x)
    p = _density("p", p, x.size)
    n = _checks.count("n", n, minimum=1)
    mass = np.sum(p, axis=-1, keepdims=True) * h
    if np.any(mass <= 0):
        raise ValueError("p must have positive mass")
    cdf = np.concatenate([np.zeros((*p.shape[:-1], 1)), np.cumsum(p, axis=-1) * h], axis=-1) / mass
    edges = np.concatenate([x - h / 2, [x[-1] + h / 2]])
    levels = mass_levels(n)
    flat_cdf = cdf.reshape(-1, x.size + 1)
    q = np.array([_inverse_cdf(c, edges, levels) for c in flat_cdf])
    return q.reshape(*p.shape[:-1], n)


def _inverse_cdf(cdf: Array, edges: Array, levels: Array) -> Array:
    # cdf is non-decreasing; flat stretches (zero density) are skipped by keeping strictly increasing points
    keep = np.concatenate([[True], np.diff(cdf) > 0])
    return np.interp(levels, cdf[keep], edges[keep])


def wasserstein_1d(u, v) -> float:
    r"""The Wasserstein-2 distance between two equal-weight samples of the same size in 1-D.

    In 1-D the optimal plan is monotone, so the distance is explicit through the quantile functions:

    .. math:: W_2^2(\mu, \nu) = \int_0^1 |F_\mu^{-1}(m) - F_\nu^{-1}(m)|^2 dm
        \approx \frac1n\sum_j (u_{(j)} - v_{(j)})^2.

    ``u`` and ``v`` are samples or quantiles at the same mass levels (sorted here). Reference:
    Santambrogio, *Optimal Transport for Applied Mathematicians* (2015), §2.2.
    """
    u = np.sort(_checks.finite_array("u", u, ndim_min=1).ravel())
    v = np.sort(_checks.finite_array("v", v, ndim_min=1).ravel())
    if u.size != v.size:
        raise ValueError(f"u and v must have the same size, got {u.size} and {v.size}")
    return float(np.sqrt(np.mean((u - v) ** 2)))


def ks_distance_1d(sample, p, x) -> float:
    r"""The Kolmogorov–Smirnov distance between a sample and a density on a uniform grid.

    .. math:: D_n = \sup_z \lvert F_n(z) - F(z)\rvert,

    with :math:`F_n` the empirical distribution function of the n values and F that of the grid density read
    as piecewise constant on cells :math:`[x_i - h/2, x_i + h/2]` (so F is piecewise linear, as in
    :func:`quantiles_1d`). If the sample is drawn from the density, :math:`\sqrt n\,D_n` follows Kolmogorov's
    law for large n: :math:`P(\sqrt n D_n > 1.95) \approx 10^{-3}` (``scipy.special.kolmogi``).

    Reference: Kolmogorov (1933); Massey (1951), *The Kolmogorov–Smirnov test for goodness of fit*.
    """
    x, h = _grid(x)
    p = _density("p", p, x.size)
    if p.ndim != 1:
        raise ValueError(f"p must be one density of shape ({x.size},), got shape {p.shape}")
    z = np.sort(_checks.finite_array("sample", sample, ndim_min=1).ravel())
    if z.size == 0:
        raise ValueError("sample must hold at least one value")
    cdf = np.concatenate([[0.0], np.cumsum(p) * h])
    if cdf[-1] <= 0:
        raise ValueError("p must have positive mass")
    edges = np.concatenate([x - h / 2, [x[-1] + h / 2]])
    F = np.interp(z, edges, cdf / cdf[-1])
    n = z.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))


def particle_density(y) -> tuple[Array, Array]:
    r"""The density of equal-mass particles read as piecewise constant between neighbours.

    Each gap :math:`[y_j, y_{j+1}]` holds mass 1/n, so the density there is :math:`1/(n\,(y_{j+1}-y_j))`.
    Returns (gap midpoints, densities), each of shape (n - 1,).
    """
    y = np.sort(_checks.finite_array("y", y, ndim_min=1).ravel())
    gaps = np.diff(y)
    if y.size < 2 or np.any(gaps <= 0):
        raise ValueError("y must hold at least 2 distinct particles")
    return 0.5 * (y[1:] + y[:-1]), 1.0 / (y.size * gaps)


def _jko_objective(landscape, y, prev, T, tau):
    gaps = np.diff(y)
    return np.sum((y - prev) ** 2) / (2 * tau) + np.sum(landscape.value(y[:, None])) - T * np.sum(np.log(gaps))


def jko_step_1d(
    landscape: Landscape, y, *, temperature: float, tau: float, tol: float = 1e-10, max_iter: int = 100
) -> Array:
    r"""One step of the Jordan–Kinderlehrer–Otto scheme in 1-D, on the quantile function.

    .. math::
        p_{k+1} = \arg\min_p\ \frac{1}{2\tau} W_2^2(p, p_k) + \int E\,p + T\int p\log p .

    A density is represented by n equal-mass particles :math:`y_j` at the mass levels :math:`(j+\tfrac12)/n`
    (its quantiles); then :math:`W_2^2(p, p_k) = \frac1n\sum_j (y_j - y^k_j)^2`, :math:`\int E p = \frac1n\sum_j E(y_j)`
    and, with density :math:`1/(n\,(y_{j+1} - y_j))` between neighbours,
    :math:`\int p\log p = -\frac1n\sum_j \log(y_{j+1}-y_j) - \log n\,(1 - \frac1n)`. Up to the factor 1/n
    and a constant the step minimises

    .. math::
        \Phi(y) = \sum_j \frac{(y_j - y^k_j)^2}{2\tau} + E(y_j) \;-\; T \sum_j \log(y_{j+1} - y_j),

    which is strictly convex when :math:`1/\tau + \min E'' > 0`; its Hessian is tridiagonal, so each Newton
    step is a Thomas solve, damped by backtracking so that the particles stay ordered and Φ falls.

    Parameters
    ----------
    landscape : Landscape
        The energy E, a 1-D landscape (``dim == 1``) with ``value``, ``grad`` and ``hess``.
    y : array_like, shape (n,)
        The particles of :math:`p_k`, strictly increasing, n >= 2.
    temperature, tau : float
        T >= 0 and the time step τ > 0.

    Returns
    -------
    ndarray, shape (n,): the particles of :math:`p_{k+1}`.

    References: Jordan, Kinderlehrer & Otto (1998); Blanchet, Calvez & Carrillo (2008) for this Lagrangian
    discretisation.
    """
    if not isinstance(landscape, Landscape) or landscape.dim != 1:
        raise TypeError(f"landscape must be a 1-D gdlens Landscape, got {landscape!r}")
    prev = _checks.finite_array("y", y, ndim_min=1)
    if prev.ndim != 1 or prev.size < 2 or np.any(np.diff(prev) <= 0):
        raise ValueError("y must be a strictly increasing 1-D array of at least 2 particles")
    T = _checks.positive("temperature", temperature, allow_zero=True)
    tau = _checks.positive("tau", tau)
    tol = _checks.positive("tol", tol)
    max_iter = _checks.count("max_iter", max_iter, minimum=1)
    cur = prev.copy()
    phi = _jko_objective(landscape, cur, prev, T, tau)
    for _ in range(max_iter):
        inv = 1.0 / np.diff(cur)
        g = (cur - prev) / tau + landscape.grad(cur[:, None])[:, 0]
        g[:-1] += T * inv
        g[1:] -= T * inv
        if np.max(np.abs(g)) * tau <= tol * (1 + np.max(np.abs(cur))):
            return cur
        c = T * inv**2
        own = 1 / tau + landscape.hess(cur[:, None])[:, 0, 0]
        if np.all(own > 0):  # positive diagonal part plus the entropy's positive semi-definite part
            diag = own.copy()
            diag[:-1] += c
            diag[1:] += c
            step = solve_tridiagonal(-c, diag, -c, g)
        else:  # not convex here: a gradient step scaled by tau
            step = tau * g
        if step @ g <= 0:
            step = tau * g
        s = 1.0
        while s > 1e-12:
            trial = cur - s * step
            if np.all(np.diff(trial) > 0):
                phi_trial = _jko_objective(landscape, trial, prev, T, tau)
                if phi_trial <= phi - 1e-4 * s * (step @ g):
                    break
            s *= 0.5
        else:
            return cur  # no further decrease possible at machine precision
        cur, phi = trial, phi_trial
    return cur


def jko_1d(landscape: Landscape, y0, *, temperature: float, tau: float, steps: int) -> Array:
    r"""Iterate :func:`jko_step_1d`: the JKO scheme from the particles ``y0``.

    The particles after k steps approximate the quantiles of the Fokker–Planck solution at time
    :math:`k\tau`, with an error :math:`O(\tau)` (and :math:`O(1/n)` from the particles).

    Returns an array of shape ``(steps + 1, n)``; row 0 is ``y0``.
    Reference: Jordan, Kinderlehrer & Otto (1998), Theorem 5.1.
    """
    steps = _checks.count("steps", steps)
    y = _checks.finite_array("y0", y0, ndim_min=1)
    out = np.empty((steps + 1, *y.shape))
    out[0] = y
    for k in range(steps):
        y = jko_step_1d(landscape, y, temperature=temperature, tau=tau)
        out[k + 1] = y
    return out
