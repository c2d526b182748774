r"""Optimizers as ordinary differential equations, and the rates of their discretisations.

Gradient descent is the Euler scheme of the gradient flow :math:`\dot\theta = -\nabla L(\theta)`.
Heavy-ball momentum discretises the damped oscillator :math:`\ddot\theta + \gamma\dot\theta +
\nabla L(\theta) = 0`; Nesterov's accelerated gradient, with momentum :math:`(k-1)/(k+2)`, follows
:math:`\ddot X + \tfrac{3}{t}\dot X + \nabla f(X) = 0` (Su, Boyd & Candès 2016); RMSprop is the Euler
scheme of a flow whose time runs at a different speed in every coordinate. This module holds those
ODEs (integrated by a hand-written Runge–Kutta scheme, or in closed form on quadratics), the
dictionary between an ODE's constants and an optimizer's hyper-parameters, and the exact convergence
rates of the discretisations on quadratics.

The optimizers themselves live in :mod:`gdlens.optimizers`; the one rule added here is Nesterov's
accelerated gradient with its growing momentum, which that module does not provide.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gdlens import _checks

Array = np.ndarray
Field = Callable[[float, Array], Array]


# --- a Runge–Kutta integrator ------------------------------------------------------------------


def integrate(field: Field, y0, t, *, substeps: int = 1) -> Array:
    r"""Integrate :math:`\dot y = F(t, y)` with the classical fourth-order Runge–Kutta scheme.

    Parameters
    ----------
    field : callable
        ``field(t, y)`` returns :math:`F(t, y)` with the shape of ``y``.
    y0 : array_like
        State at ``t[0]``, any shape (leading axes are independent copies, if ``field`` allows).
    t : array_like, shape ``(m,)``
        Increasing output times, ``m >= 1``.
    substeps : int
        RK4 steps between consecutive output times (>= 1); the global error is
        :math:`O(h^4)` in the step :math:`h = \Delta t / \text{substeps}`.

    Returns
    -------
    ndarray, shape ``(m, *y0.shape)``
        The state at every output time; rows after an overflow are nan.

    Reference: Hairer, Nørsett & Wanner, *Solving Ordinary Differential Equations I* (1993), II.1.
    """
    _checks.function("field", field)
    y = _checks.finite_array("y0", y0)
    t = _checks.finite_array("t", t, ndim_min=1)
    if t.ndim != 1 or np.any(np.diff(t) <= 0):
        raise ValueError(f"t must be a strictly increasing 1-D array, got {t!r}")
    substeps = _checks.count("substeps", substeps, minimum=1)
    out = np.full((t.size, *y.shape), np.nan)
    out[0] = y
    with np.errstate(all="ignore"):
        for k in range(t.size - 1):
            h = (t[k + 1] - t[k]) / substeps
            s = t[k]
            for j in range(substeps):
                s = t[k] + j * h
                k1 = field(s, y)
                k2 = field(s + h / 2, y + h / 2 * k1)
                k3 = field(s + h / 2, y + h / 2 * k2)
                k4 = field(s + h, y + h * k3)
                y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            if not np.all(np.isfinite(y)):
                break
            out[k + 1] = y
    return out


# --- heavy ball --------------------------------------------------------------------------------


def heavy_ball_flow(grad: Callable[[Array], Array], x0, t, *, damping: float, v0=None, substeps: int = 4) -> Array:
    r"""Solve the damped oscillator :math:`\ddot\theta + \gamma\dot\theta + \nabla L(\theta) = 0`.

    Starts at ``x0`` with velocity ``v0`` (zero by default) and returns :math:`\theta(t)`, shape
    ``(len(t), *x0.shape)``, by :func:`integrate`. Reference: Polyak (1964).
    """
    _checks.function("grad", grad)
    damping = _checks.positive("damping", damping, allow_zero=True)
    x0 = _checks.finite_array("x0", x0)
    v0 = np.zeros_like(x0) if v0 is None else _checks.finite_array("v0", v0)
    if v0.shape != x0.shape:
        raise ValueError(f"v0 must have the shape of x0 {x0.shape}, got {v0.shape}")

    def field(s, y):
        x, v = y[0], y[1]
        return np.stack([v, -damping * v - grad(x)])

    return integrate(field, np.stack([x0, v0]), t, substeps=substeps)[:, 0]


def damped_oscillator(curvature: float, damping: float, x0: float, t, *, v0: float = 0.0) -> Array:
    r"""Closed-form solution of :math:`\ddot x + \gamma \dot x + \lambda x = 0`, :math:`x(0)=x_0, \dot x(0)=v_0`.

    With :math:`\omega^2 = \lambda - \gamma^2/4`: oscillating (:math:`\omega^2>0`), critically damped
    (:math:`=0`) or overdamped (:math:`<0`), the envelope decaying like :math:`e^{-\gamma t/2}` in the
    first two cases. Used to test :func:`heavy_ball_flow`.
    """
    lam = _checks.positive("curvature", curvature)
    g = _checks.positive("damping", damping, allow_zero=True)
    x0 = _checks.real("x0", x0)
    v0 = _checks.real("v0", v0)
    t = _checks.finite_array("t", t)
    w2 = lam - g * g / 4
    decay = np.exp(-g * t / 2)
    c = v0 + g * x0 / 2
    if w2 > 0:
        w = np.sqrt(w2)
        return decay * (x0 * np.cos(w * t) + c / w * np.sin(w * t))
    if w2 == 0:
        return decay * (x0 + c * t)
    w = np.sqrt(-w2)
    return decay * (x0 * np.cosh(w * t) + c / w * np.sinh(w * t))


def momentum_from_ode(damping: float, h: float) -> tuple[float, float]:
    r"""Hyper-parameters of heavy-ball momentum that discretise the damped oscillator with time step ``h``.

    Central differences in :math:`\ddot\theta` and backward ones in :math:`\dot\theta` give
    :math:`\theta_{k+1} = \theta_k + (1-\gamma h)(\theta_k - \theta_{k-1}) - h^2\nabla L(\theta_k)`,
    that is PyTorch's momentum with ``lr = h**2`` and ``beta = 1 - damping * h``.

    Returns ``(lr, beta)``; requires ``0 < damping * h <= 1``.
    """
    damping = _checks.positive("damping", damping)
    h = _checks.positive("h", h)
    if damping * h > 1:
        raise ValueError(f"damping * h must be <= 1 so that beta >= 0, got {damping * h!r}")
    return h * h, 1.0 - damping * h


def ode_from_momentum(lr: float, beta: float) -> tuple[float, float]:
    r"""The inverse of :func:`momentum_from_ode`: ``(damping, h) = ((1 - beta) / sqrt(lr), sqrt(lr))``."""
    lr = _checks.positive("lr", lr)
    beta = _checks.in_interval("beta", beta, 0.0, 1.0)
    h = np.sqrt(lr)
    return (1.0 - beta) / h, float(h)


# --- exact rates on quadratics -------------------------------------------------------------------


def _largest_root(p, q):
    """max |z| over the roots of z^2 - p z + q (p, q real, broadcast), without warnings."""
    disc = p * p - 4 * q
    s = np.sqrt(np.abs(disc))
    real_case = np.maximum(np.abs(p + s), np.abs(p - s)) / 2
    complex_case = np.sqrt(np.abs(q))
    return np.where(disc >= 0, real_case, complex_case)


def quadratic_rate(lr, eigenvalues, *, beta=0.0, nesterov: bool = False) -> Array:
    r"""Spectral radius of (heavy-ball or Nesterov) momentum on a quadratic with Hessian eigenvalues ``eigenvalues``.

    With :math:`a = \gamma\lambda`, each eigen-direction of PyTorch's momentum obeys a two-term
    recurrence with characteristic polynomial

    .. math::
        z^2 - (1 + \beta - a) z + \beta \quad\text{(heavy ball)}, \qquad
        z^2 - (1 + \beta)(1 - a) z + \beta (1 - a) \quad\text{(Nesterov)},

    and the error shrinks like :math:`\rho^t`, :math:`\rho = \max_\lambda \max |z|`. ``beta = 0`` gives
    gradient descent, :math:`\max_\lambda |1 - \gamma\lambda|`.

    Parameters
    ----------
    lr, beta : array_like
        Learning rate(s) > 0 and momentum(s) in [0, 1), broadcast together (a grid of them is fine).
    eigenvalues : array_like, shape ``(n,)``
        Hessian eigenvalues, > 0.

    Returns
    -------
    ndarray
        :math:`\rho` with the broadcast shape of ``lr`` and ``beta``.

    Reference: Polyak (1964); Goh, "Why momentum really works", Distill (2017).
    """
    lr = _checks.finite_array("lr", lr)
    beta = _checks.finite_array("beta", beta)
    lam = _checks.finite_array("eigenvalues", eigenvalues, ndim_min=1)
    if np.any(lr <= 0):
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if np.any((beta < 0) | (beta >= 1)):
        raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
    if lam.ndim != 1 or np.any(lam <= 0):
        raise ValueError(f"eigenvalues must be a 1-D array of positive numbers, got {eigenvalues!r}")
    a = lr[..., None] * lam
    b = beta[..., None]
    if nesterov:
        p, q = (1 + b) * (1 - a), b * (1 - a)
    else:
        p, q = 1 + b - a, b + 0 * a
    return _largest_root(p, q).max(axis=-1)


def polyak_parameters(mu: float, L: float) -> tuple[float, float, float]:
    r"""Polyak's tuned heavy ball for eigenvalues in :math:`[\mu, L]`: ``(lr, beta, rate)``.

    .. math::
        \gamma^\star = \frac{4}{(\sqrt L + \sqrt\mu)^2}, \qquad
        \beta^\star = \Big(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\Big)^2, \qquad
        \rho^\star = \sqrt{\beta^\star} = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}.

    Reference: Polyak (1964), Theorem 9.
    """
    mu = _checks.positive("mu", mu)
    L = _checks.positive("L", L)
    if L < mu:
        raise ValueError(f"L must be >= mu, got L={L!r}, mu={mu!r}")
    root = np.sqrt(L / mu)
    rate = (root - 1) / (root + 1)
    return float(4 / (np.sqrt(L) + np.sqrt(mu)) ** 2), float(rate**2), float(rate)


def stability_limit(method: str, *, beta: float = 0.0, curvature: float = 1.0) -> float:
    r"""Largest stable learning rate on a quadratic of top curvature :math:`L` (``curvature``).

    * ``"gd"``: :math:`\gamma < 2/L`;
    * ``"heavy_ball"``: :math:`\gamma < 2(1+\beta)/L`;
    * ``"nesterov"``: :math:`\gamma < 2(1+\beta)/\big((1+2\beta)L\big)`;
    * ``"nesterov_growing"``: :math:`s < 4/(3L)`, the constant-:math:`\beta` limit as
      :math:`\beta_k = (k-1)/(k+2) \to 1`;
    * ``"adam"``: :math:`\gamma < 2(1+\beta_1)/\big((1-\beta_1)L\big)`, with a frozen preconditioner and
      :math:`L` the preconditioned curvature.

    Each is where a root of the characteristic polynomial of :func:`quadratic_rate` crosses
    :math:`z = -1`. For Adam with frozen second moments, the step is heavy ball with learning rate
    :math:`\gamma(1-\beta_1)` on the preconditioned problem (Cohen et al. 2022). For Nesterov's
    accelerated gradient with growing momentum (:func:`nesterov_accelerated`) the step map tends to the
    constant-:math:`\beta` map with :math:`\beta = 1`, whose polynomial :math:`z^2 - 2(1-a)z + (1-a)` has a root
    at :math:`-1` when :math:`a = s\lambda = 4/3`; ``beta`` is ignored there. (The condition :math:`s \le 1/L`
    of Su, Boyd & Candès is the one for the :math:`O(1/k^2)` guarantee, not for stability.)
    """
    _checks.choice("method", method, {"gd", "heavy_ball", "nesterov", "nesterov_growing", "adam"})
    beta = _checks.in_interval("beta", beta, 0.0, 1.0)
    L = _checks.positive("curvature", curvature)
    limits = {
        "gd": 2.0,
        "heavy_ball": 2 * (1 + beta),
        "nesterov": 2 * (1 + beta) / (1 + 2 * beta),
        "nesterov_growing": 4.0 / 3.0,
        "adam": 2 * (1 + beta) / (1 - beta),
    }
    return limits[method] / L


# --- Nesterov's accelerated gradient and its ODE ---------------------------------------------


def nesterov_accelerated(grad: Callable[[Array], Array], x0, *, lr: float, steps: int) -> Array:
    r"""Nesterov's accelerated gradient for convex functions, in the form of Su, Boyd & Candès (2016).

    .. math::
        x_k = y_{k-1} - s \nabla f(y_{k-1}), \qquad y_k = x_k + \frac{k-1}{k+2}(x_k - x_{k-1}),
        \qquad y_0 = x_0,

    with step :math:`s` = ``lr``. Unlike ``gdlens.optimizers.momentum(nesterov=True)``, whose momentum
    is a constant :math:`\beta`, the momentum here grows towards one. Returns the :math:`x_k`, shape
    ``(steps + 1, *x0.shape)`` (nan after an overflow).
    """
    _checks.function("grad", grad)
    x = _checks.finite_array("x0", x0)
    s = _checks.positive("lr", lr)
    steps = _checks.count("steps", steps)
    out = np.full((steps + 1, *x.shape), np.nan)
    out[0] = x
    y = x.copy()
    with np.errstate(all="ignore"):
        for k in range(1, steps + 1):
            x_new = y - s * np.asarray(grad(y), dtype=np.float64)
            y = x_new + (k - 1) / (k + 2) * (x_new - x)
            x = x_new
            if not np.all(np.isfinite(x)):
                break
            out[k] = x
    return out


def nesterov_flow(grad: Callable[[Array], Array], x0, t, *, substeps: int = 8) -> Array:
    r"""Solve :math:`\ddot X + \frac{3}{t}\dot X + \nabla f(X) = 0`, :math:`X(0) = x_0`, :math:`\dot X(0) = 0`.

    At :math:`t = 0` the damping term is replaced by its limit, :math:`\tfrac3t\dot X \to 3\ddot X(0)`,
    so :math:`\ddot X(0) = -\nabla f(x_0)/4`. Nesterov's iterates with step :math:`s` track
    :math:`X(k\sqrt s)` (Su, Boyd & Candès 2016, Theorem 2). ``t`` must start at 0.
    """
    _checks.function("grad", grad)
    x0 = _checks.finite_array("x0", x0)
    t = _checks.finite_array("t", t, ndim_min=1)
    if t.size == 0 or t[0] != 0:
        raise ValueError(f"t must start at 0, got {t!r}")

    def field(s, y):
        x, v = y[0], y[1]
        acc = -grad(x) / 4 if s == 0 else -3 / s * v - grad(x)
        return np.stack([v, acc])

    return integrate(field, np.stack([x0, np.zeros_like(x0)]), t, substeps=substeps)[:, 0]


def nesterov_flow_quadratic(A, x0, t) -> Array:
    r"""Closed form of :func:`nesterov_flow` for :math:`f(x) = \tfrac12 x^\top A x`.

    In each eigen-direction :math:`(\lambda, v)` of :math:`A`,
    :math:`X(t)^\top v = \frac{2 J_1(\sqrt\lambda\, t)}{\sqrt\lambda\, t}\, x_0^\top v`, with :math:`J_1` the
    Bessel function of the first kind (Su, Boyd & Candès 2016, Section 3.2). Returns shape
    ``(len(t), n)``.
    """
    from scipy.special import j1  # a special function: scipy is the right tool

    A = _checks.finite_array("A", A)
    x0 = _checks.finite_array("x0", x0, ndim_min=1)
    t = _checks.finite_array("t", t, ndim_min=1)
    if A.ndim != 2 or A.shape != (x0.size, x0.size) or not np.allclose(A, A.T):
        raise ValueError(f"A must be symmetric with shape {(x0.size, x0.size)}, got {A.shape}")
    lam, V = np.linalg.eigh(A)
    if lam[0] <= 0:
        raise ValueError(f"A must be positive definite, got eigenvalues {lam!r}")
    u = np.sqrt(lam) * t[:, None]
    safe = np.where(u > 0, u, 1.0)
    factor = np.where(u > 0, 2 * j1(safe) / safe, 1.0)
    return (factor * (V.T @ x0)) @ V.T


# --- RMSprop as a flow with a clock per coordinate ----------------------------------------------


def rmsprop_flow(
    grad: Callable[[Array], Array], x0, v0, t, *, lr: float, alpha: float = 0.99, eps: float = 1e-8, substeps: int = 4
) -> tuple[Array, Array]:
    r"""The ODE whose Euler scheme with step :math:`\gamma` = ``lr`` is RMSprop.

    .. math::
        \dot\theta = -\frac{\nabla L(\theta)}{\sqrt{v} + \epsilon}, \qquad
        \tau\, \dot v = \nabla L(\theta)^{\odot 2} - v, \qquad \tau = \frac{\gamma}{1 - \alpha},

    in the time :math:`t = n\gamma` of the iterates. Coordinate :math:`i` follows the gradient flow on
    its own clock, :math:`dt_i = dt / (\sqrt{v_i} + \epsilon)`. ``v0`` (> 0) is the starting second
    moment. Returns ``(theta, v)``, each of shape ``(len(t), *x0.shape)``.
    """
    _checks.function("grad", grad)
    x0 = _checks.finite_array("x0", x0)
    v0 = _checks.finite_array("v0", v0)
    if v0.shape != x0.shape or np.any(v0 <= 0):
        raise ValueError(f"v0 must be positive with the shape of x0 {x0.shape}, got {v0!r}")
    lr = _checks.positive("lr", lr)
    alpha = _checks.in_interval("alpha", alpha, 0.0, 1.0)
    eps = _checks.positive("eps", eps, allow_zero=True)
    tau = lr / (1 - alpha)

    def field(s, y):
        g = grad(y[0])
        return np.stack([-g / (np.sqrt(np.abs(y[1])) + eps), (g * g - y[1]) / tau])

    out = integrate(field, np.stack([x0, v0]), t, substeps=substeps)
    return out[:, 0], out[:, 1]


def adam_flow(
    grad: Callable[[Array], Array], x0, t, *, tau1: float, tau2: float, eps: float = 1e-8, substeps: int = 4
) -> Array:
    r"""The ODE whose Euler scheme with step :math:`\gamma` is Adam with :math:`\beta_i = 1 - \gamma/\tau_i`.

    In the time :math:`t = k\gamma` of the iterates, with :math:`m(0) = v(0) = 0`,

    .. math::
        \tau_1 \dot m = \nabla L(\theta) - m, \qquad \tau_2 \dot v = \nabla L(\theta)^{\odot 2} - v, \qquad
        \dot\theta = -\frac{\hat m}{\sqrt{\hat v} + \epsilon}, \quad
        \hat m = \frac{m}{1 - e^{-t/\tau_1}}, \ \hat v = \frac{v}{1 - e^{-t/\tau_2}},

    the bias corrections :math:`1 - \beta_i^k` becoming :math:`1 - e^{-t/\tau_i}`. At :math:`t = 0` the
    corrected moments take their limits :math:`\hat m = \nabla L(\theta_0)`,
    :math:`\hat v = \nabla L(\theta_0)^{\odot 2}`.
    Held at fixed :math:`\tau_i` the limit :math:`\gamma \to 0` is regular and Adam is a first-order scheme of it;
    at fixed :math:`\beta_i` instead, :math:`\tau_i = \gamma/(1-\beta_i) \to 0` with the step (a singular limit:
    the moments follow the gradient instantly and the flow tends to sign descent).
    ``t`` must start at 0. Returns :math:`\theta(t)`, shape ``(len(t), *x0.shape)``.
    Reference: Kingma & Ba (2015); da Silva & Gazeau (2020), "A general system of differential equations to
    model first-order adaptive algorithms", JMLR 21.
    """
    _checks.function("grad", grad)
    x0 = _checks.finite_array("x0", x0)
    t = _checks.finite_array("t", t, ndim_min=1)
    if t.size == 0 or t[0] != 0:
        raise ValueError(f"t must start at 0, got {t!r}")
    tau1 = _checks.positive("tau1", tau1)
    tau2 = _checks.positive("tau2", tau2)
    eps = _checks.positive("eps", eps, allow_zero=True)

    def field(s, y):
        x, m, v = y[0], y[1], y[2]
        g = grad(x)
        if s == 0:
            m_hat, v_hat = g, g * g
        else:
            m_hat, v_hat = m / -np.expm1(-s / tau1), v / -np.expm1(-s / tau2)
        return np.stack([-m_hat / (np.sqrt(np.abs(v_hat)) + eps), (g - m) / tau1, (g * g - v) / tau2])

    zeros = np.zeros_like(x0)
    return integrate(field, np.stack([x0, zeros, zeros]), t, substeps=substeps)[:, 0]


# --- beyond quadratics: Lessard, Recht & Packard's counterexample; the Chebyshev bound --------------


def lessard_loss(x) -> Array:
    r"""The strongly convex function of Lessard, Recht & Packard (2016), with :math:`1 \le L'' \le 25`.

    .. math::
        L(x) = \begin{cases} \tfrac{25}{2}x^2 & x < 1 \\ \tfrac12 x^2 + 24x - 12 & 1 \le x < 2 \\
        \tfrac{25}{2}x^2 - 24x + 36 & x \ge 2 \end{cases}

    Its gradient is continuous and piecewise linear with slopes 25, 1, 25. Heavy ball with Polyak's
    tuning for :math:`[1, 25]` falls into a cycle from some starts (Section 4.6 of the paper).
    """
    x = _checks.finite_array("x", x)
    return np.where(x < 1, 12.5 * x * x, np.where(x < 2, 0.5 * x * x + 24 * x - 12, 12.5 * x * x - 24 * x + 36))


def lessard_grad(x) -> Array:
    r"""The gradient of :func:`lessard_loss`: :math:`25x`, :math:`x + 24`, :math:`25x - 24` on the three pieces."""
    x = _checks.finite_array("x", x)
    return np.where(x < 1, 25 * x, np.where(x < 2, x + 24, 25 * x - 24))


def chebyshev_bound(steps, mu: float, L: float) -> Array:
    r"""The least worst-case error factor of any Krylov method after ``steps`` steps, eigenvalues in :math:`[\mu, L]`.

    After :math:`k` steps a method whose iterates lie in :math:`x_0 + \operatorname{span}\{\nabla L(x_j)\}`
    has error :math:`P_k(A) e_0` with :math:`P_k` of degree :math:`k`, :math:`P_k(0) = 1`. The best worst case
    over :math:`[\mu, L]` is the scaled Chebyshev polynomial, with value

    .. math::
        \min_{P_k} \max_{\lambda \in [\mu, L]} |P_k(\lambda)|
        = \frac{1}{T_k\big(\frac{\kappa + 1}{\kappa - 1}\big)}
        = \frac{2\rho^k}{1 + \rho^{2k}}, \qquad \rho = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1},

    so :math:`(\sqrt\kappa-1)/(\sqrt\kappa+1)` is the best rate any first-order method can guarantee on
    quadratics (Nesterov 2018, Theorem 2.1.13, gives the matching lower bound for all such methods).
    Reference: Saad, *Iterative Methods for Sparse Linear Systems* (2003), Section 6.11.
    """
    k = _checks.finite_array("steps", steps)
    if np.any(k < 0):
        raise ValueError(f"steps must be >= 0, got {steps!r}")
    mu = _checks.positive("mu", mu)
    L = _checks.positive("L", L)
    if L <= mu:
        raise ValueError(f"L must be > mu, got L={L!r}, mu={mu!r}")
    rho = (np.sqrt(L / mu) - 1) / (np.sqrt(L / mu) + 1)
    return 2 * rho**k / (1 + rho ** (2 * k))


def momentum_residuals(lr: float, beta: float, eigenvalues, steps: int, *, nesterov: bool = False) -> Array:
    r"""The error factor :math:`|P_k(\lambda)|` of momentum after :math:`k = 0..` ``steps`` steps, for each eigenvalue.

    Runs the recurrence of :func:`quadratic_rate` (PyTorch's momentum, :math:`\theta_1 = \theta_0 - \gamma g_0`)
    on :math:`\tfrac\lambda2 e^2` from :math:`e_0 = 1`. Returns shape ``(steps + 1, len(eigenvalues))``.
    """
    lr = _checks.positive("lr", lr)
    beta = _checks.in_interval("beta", beta, 0.0, 1.0)
    lam = _checks.finite_array("eigenvalues", eigenvalues, ndim_min=1)
    steps = _checks.count("steps", steps)
    from gdlens.optimizers import momentum

    return np.abs(momentum(lambda e: lam * e, np.ones_like(lam), lr=lr, beta=beta, steps=steps, nesterov=nesterov))


# --- mini-batch noise, and flooding ---------------------------------------------------------------


def sgd_quadratic_chains(centers, *, curvature: float, lr: float, batch: int, steps: int, chains: int, rng) -> Array:
    r"""SGD on the finite sum :math:`L(\theta) = \frac1n \sum_i \tfrac\lambda2(\theta - c_i)^2`, many chains at once.

    Each step draws a mini-batch of ``batch`` indices with replacement and moves
    :math:`\theta \leftarrow \theta - \gamma\lambda(\theta - \bar c_B)`. Started at the minimiser
    :math:`\bar c`, the chains' variance tends to

    .. math::
        \operatorname{Var}_\infty = \frac{\gamma\lambda\, s^2}{B\,(2 - \gamma\lambda)}, \qquad
        s^2 = \frac1n\sum_i (c_i - \bar c)^2

    (:func:`sgd_stationary_variance`). Returns the final positions, shape ``(chains,)``.
    """
    c = _checks.finite_array("centers", centers, ndim_min=1)
    lam = _checks.positive("curvature", curvature)
    lr = _checks.positive("lr", lr)
    batch = _checks.count("batch", batch, minimum=1)
    steps = _checks.count("steps", steps)
    chains = _checks.count("chains", chains, minimum=1)
    _checks.generator("rng", rng)
    if not 0 < lr * lam < 2:
        raise ValueError(f"lr * curvature must lie in (0, 2) for a stationary law, got {lr * lam!r}")
    theta = np.full(chains, c.mean())
    for _ in range(steps):
        theta = theta - lr * lam * (theta - c[rng.integers(c.size, size=(chains, batch))].mean(axis=1))
    return theta


def sgd_stationary_variance(*, curvature: float, lr: float, batch: int, spread: float) -> float:
    r"""The stationary variance of :func:`sgd_quadratic_chains`, :math:`\gamma\lambda s^2 / (B(2 - \gamma\lambda))`.

    From :math:`V = (1-\gamma\lambda)^2 V + \gamma^2\lambda^2 s^2/B`. To first order in :math:`\gamma\lambda` it
    depends on :math:`\gamma` and :math:`B` only through :math:`\gamma/B` (the linear scaling rule).
    """
    lam = _checks.positive("curvature", curvature)
    lr = _checks.positive("lr", lr)
    batch = _checks.count("batch", batch, minimum=1)
    s2 = _checks.positive("spread", spread, allow_zero=True)
    if not 0 < lr * lam < 2:
        raise ValueError(f"lr * curvature must lie in (0, 2), got {lr * lam!r}")
    return float(lr * lam * s2 / (batch * (2 - lr * lam)))


def flooding_gd(
    loss: Callable[[Array], float], grad: Callable[[Array], Array], x0, *, lr: float, flood: float, steps: int
) -> Array:
    r"""Gradient descent on the flooded loss :math:`|L(\theta) - b| + b` (Ishida et al. 2020).

    .. math:: \theta_{k+1} = \theta_k - \gamma\, \operatorname{sign}\big(L(\theta_k) - b\big)\, \nabla L(\theta_k).

    Below the flood level :math:`b` the step is an ascent. Once the loss hovers at :math:`b` the steps
    alternate, and a descent followed by an ascent moves by
    :math:`-\gamma g + \gamma g(\theta - \gamma g) = -\gamma^2 H g + O(\gamma^3)
    = -\tfrac{\gamma^2}{2}\nabla\lVert\nabla L\rVert^2 + O(\gamma^3)`:
    a gradient-norm penalty, the regulariser that implicit gradient regularisation finds in GD itself.
    Returns the iterates, shape ``(steps + 1, *x0.shape)``.
    """
    _checks.function("loss", loss)
    _checks.function("grad", grad)
    x = _checks.finite_array("x0", x0)
    lr = _checks.positive("lr", lr)
    flood = _checks.positive("flood", flood, allow_zero=True)
    steps = _checks.count("steps", steps)
    out = np.full((steps + 1, *x.shape), np.nan)
    out[0] = x
    with np.errstate(all="ignore"):
        for k in range(steps):
            x = x - lr * np.sign(float(loss(x)) - flood) * np.asarray(grad(x), dtype=np.float64)
            if not np.all(np.isfinite(x)):
                break
            out[k + 1] = x
    return out


# --- Adam's counterexample ---------------------------------------------------------------------


def cyclic_linear_grads(steps: int, C: float = 3.0) -> Array:
    r"""Gradients of Reddi, Kale & Kumar's online problem: :math:`f_t(x) = Cx` if :math:`t \bmod 3 = 1`, else -x.

    Over each period of three steps the sum is :math:`(C-2)x`, minimised on :math:`[-1, 1]` at
    :math:`x = -1` when :math:`C > 2`. Returns the gradient sequence :math:`g_1, \dots, g_T`, shape
    ``(steps,)``. Reference: Reddi, Kale & Kumar (2018), Section 3.
    """
    steps = _checks.count("steps", steps, minimum=1)
    C = _checks.positive("C", C)
    t = np.arange(1, steps + 1)
    return np.where(t % 3 == 1, C, -1.0)


def run_projected(rule, grads, x0: float, *, lo: float = -1.0, hi: float = 1.0) -> Array:
    r"""Run an optimizer rule on a scalar with a given gradient sequence, projecting onto :math:`[lo, hi]`.

    :math:`x_{t+1} = \Pi_{[lo, hi]}(x_t + u_t)` where ``u_t`` is the rule's update for gradient
    ``grads[t]`` (online convex optimisation: the gradient depends on the step, not on :math:`x`).
    ``rule`` is a :class:`gdlens.optimizers.Optimizer`. Returns ``(len(grads) + 1,)`` iterates.
    """
    from gdlens.optimizers import Optimizer

    if not isinstance(rule, Optimizer):
        raise TypeError(f"rule must be a gdlens.optimizers.Optimizer, got {rule!r}")
    grads = _checks.finite_array("grads", grads, ndim_min=1)
    lo, hi = _checks.real("lo", lo), _checks.real("hi", hi)
    if not lo < hi:
        raise ValueError(f"lo must be < hi, got lo={lo!r}, hi={hi!r}")
    x = np.array(_checks.real("x0", x0))
    out = np.empty(grads.size + 1)
    out[0] = x
    state = rule.init(x)
    for k, g in enumerate(grads):
        u, state = rule.update(np.array(g), state, x)
        x = np.clip(x + u, lo, hi)
        out[k + 1] = x
    return out
