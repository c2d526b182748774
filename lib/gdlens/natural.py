r"""Natural gradient: KL divergences, Fisher information, and steepest descent in the model's geometry.

The natural gradient {Amari 1998} measures a step by the change it makes to the model's
distribution, :math:`\mathrm{KL}(p_\theta \,\|\, p_{\theta+d}) \approx \tfrac12 d^\top F(\theta) d`, with
the Fisher information :math:`F(\theta) = \mathbb{E}_{z \sim p_\theta}[\nabla \log p_\theta(z)\,
\nabla \log p_\theta(z)^\top]`. Steepest descent under that metric is
:math:`\theta_{t+1} = \theta_t - \gamma F(\theta_t)^{-1} \nabla L(\theta_t)`.

This module holds the two models of the chapter: a univariate Gaussian written in four
parametrisations, and softmax (multinomial logistic) regression, with its true and empirical Fisher,
Fisher-vector products and a hand-written conjugate-gradient solver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gdlens import _checks
from gdlens.optimizers import Optimizer

Array = np.ndarray

#: The four ways of writing the scale of a Gaussian: θ = (μ, σ), (μ, log σ), (μ, σ²), (μ, 1/σ²).
PARAMETRIZATIONS = ("sigma", "log_sigma", "variance", "precision")

#: Parametrisations that mix μ and σ: the natural parameters η = (μ/σ², −1/(2σ²)), the expectation
#: parameters (E x, E x²) = (μ, μ² + σ²), and an affine mixing θ = A (μ, σ) + b (``MIXING``, ``OFFSET``).
MIXED_PARAMETRIZATIONS = ("natural", "expectation", "affine")

#: Every parametrisation :func:`to_params` knows.
ALL_PARAMETRIZATIONS = PARAMETRIZATIONS + MIXED_PARAMETRIZATIONS

#: The affine mixing of the ``"affine"`` parametrisation, θ = MIXING @ (μ, σ) + OFFSET.
MIXING = np.array([[1.0, 0.8], [-0.5, 1.5]])
OFFSET = np.array([0.3, -0.2])


def _positive_array(name: str, value) -> Array:
    arr = _checks.finite_array(name, value)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return arr


def to_params(mu, sigma, parametrization: str) -> Array:
    r"""The parameter vector θ of :math:`N(\mu, \sigma^2)`, shape ``(..., 2)``.

    For the four scale parametrisations θ = (μ, s(σ)) with s(σ) = σ, log σ, σ² or 1/σ² (``"sigma"``,
    ``"log_sigma"``, ``"variance"``, ``"precision"``); ``"natural"`` gives η = (μ/σ², −1/(2σ²)),
    ``"expectation"`` gives (μ, μ² + σ²), ``"affine"`` gives ``MIXING @ (μ, σ) + OFFSET``.
    """
    _checks.choice("parametrization", parametrization, ALL_PARAMETRIZATIONS)
    mu = _checks.finite_array("mu", mu)
    sigma = _positive_array("sigma", sigma)
    mu, sigma = np.broadcast_arrays(mu, sigma)
    if parametrization == "natural":
        return np.stack([mu / sigma**2, -0.5 / sigma**2], axis=-1)
    if parametrization == "expectation":
        return np.stack([mu, mu**2 + sigma**2], axis=-1)
    if parametrization == "affine":
        return np.stack([mu, sigma], axis=-1) @ MIXING.T + OFFSET
    second = {"sigma": sigma, "log_sigma": np.log(sigma), "variance": sigma**2, "precision": sigma**-2.0}
    return np.stack([mu, second[parametrization]], axis=-1)


def from_params(theta, parametrization: str) -> tuple[Array, Array]:
    """Inverse of :func:`to_params`: ``(mu, sigma)`` from θ of shape ``(..., 2)``.

    Raises ``ValueError`` if θ lies outside the parametrisation's domain (σ, σ², 1/σ² positive;
    η₂ < 0; μ² < E x²; the affine image of σ > 0).
    """
    _checks.choice("parametrization", parametrization, ALL_PARAMETRIZATIONS)
    theta = _checks.finite_array("theta", theta, ndim_min=1)
    if theta.shape[-1] != 2:
        raise ValueError(f"theta must have last axis of length 2, got shape {theta.shape}")
    a, s = theta[..., 0], theta[..., 1]
    if parametrization == "log_sigma":
        return a, np.exp(s)
    if parametrization == "natural":
        if np.any(s >= 0):
            raise ValueError(f"theta[..., 1] must be < 0 for parametrization 'natural', got {s!r}")
        return -a / (2 * s), 1 / np.sqrt(-2 * s)
    if parametrization == "expectation":
        var = s - a**2
        if np.any(var <= 0):
            raise ValueError(f"theta must have theta[..., 1] > theta[..., 0]**2 for 'expectation', got {theta!r}")
        return a, np.sqrt(var)
    if parametrization == "affine":
        ms = np.linalg.solve(MIXING, (theta - OFFSET)[..., None])[..., 0]
        if np.any(ms[..., 1] <= 0):
            raise ValueError(f"theta maps to sigma <= 0 for parametrization 'affine', got {theta!r}")
        return ms[..., 0], ms[..., 1]
    if np.any(s <= 0):
        raise ValueError(f"theta[..., 1] must be > 0 for parametrization {parametrization!r}, got {s!r}")
    sigma = {"sigma": s, "variance": np.sqrt(np.abs(s)), "precision": 1 / np.sqrt(np.abs(s))}[parametrization]
    return a, sigma


def dsigma_dparam(sigma, parametrization: str) -> Array:
    r"""The Jacobian :math:`d\sigma / d\theta_2` of a scale parametrisation: 1, σ, 1/(2σ) or −σ³/2."""
    _checks.choice("parametrization", parametrization, PARAMETRIZATIONS)
    sigma = _positive_array("sigma", sigma)
    return {"sigma": np.ones_like(sigma), "log_sigma": sigma, "variance": 0.5 / sigma, "precision": -0.5 * sigma**3}[
        parametrization
    ]


def jacobian_musigma(mu, sigma, parametrization: str) -> Array:
    r"""The Jacobian :math:`J = \partial(\mu, \sigma)/\partial\theta`, shape ``(..., 2, 2)`` (rows μ, σ).

    Scale parametrisations: :math:`\mathrm{diag}(1, d\sigma/d\theta_2)`. Natural parameters
    (:math:`\mu = -\eta_1/2\eta_2`, :math:`\sigma = (-2\eta_2)^{-1/2}`):
    :math:`J = \begin{pmatrix}\sigma^2 & 2\mu\sigma^2\\ 0 & \sigma^3\end{pmatrix}`. Expectation parameters
    (:math:`\sigma = (m_2 - m_1^2)^{1/2}`): :math:`J = \begin{pmatrix}1 & 0\\ -\mu/\sigma & 1/(2\sigma)\end{pmatrix}`.
    Affine: :math:`J = A^{-1}`.
    """
    _checks.choice("parametrization", parametrization, ALL_PARAMETRIZATIONS)
    mu = _checks.finite_array("mu", mu)
    sigma = _positive_array("sigma", sigma)
    mu, sigma = np.broadcast_arrays(mu, sigma)
    J = np.zeros((*sigma.shape, 2, 2))
    if parametrization == "natural":
        J[..., 0, 0], J[..., 0, 1], J[..., 1, 1] = sigma**2, 2 * mu * sigma**2, sigma**3
    elif parametrization == "expectation":
        J[..., 0, 0], J[..., 1, 0], J[..., 1, 1] = 1.0, -mu / sigma, 0.5 / sigma
    elif parametrization == "affine":
        J[...] = np.linalg.inv(MIXING)
    else:
        J[..., 0, 0], J[..., 1, 1] = 1.0, dsigma_dparam(sigma, parametrization)
    return J


def _pull_back(vec_musigma: Array, mu, sigma, parametrization: str) -> Array:
    """Covectors from (μ, σ) to θ: :math:`J^\\top v`."""
    J = jacobian_musigma(mu, sigma, parametrization)
    return np.einsum("...ji,...j->...i", J, vec_musigma)


def kl_gaussian(mu0, sigma0, mu1, sigma1) -> Array:
    r"""KL divergence between univariate Gaussians, broadcast over its arguments.

    .. math::
        \mathrm{KL}\big(N(\mu_0, \sigma_0^2) \,\|\, N(\mu_1, \sigma_1^2)\big)
        = \log\frac{\sigma_1}{\sigma_0} + \frac{\sigma_0^2 + (\mu_0 - \mu_1)^2}{2\sigma_1^2} - \frac12

    Reference: Kullback & Leibler (1951); Cover & Thomas, *Elements of Information Theory* (2006), ch. 8.
    """
    mu0, mu1 = _checks.finite_array("mu0", mu0), _checks.finite_array("mu1", mu1)
    sigma0, sigma1 = _positive_array("sigma0", sigma0), _positive_array("sigma1", sigma1)
    return np.log(sigma1 / sigma0) + (sigma0**2 + (mu0 - mu1) ** 2) / (2 * sigma1**2) - 0.5


def gaussian_logpdf(x, mu, sigma) -> Array:
    r"""Log-density :math:`-\tfrac12 \log(2\pi\sigma^2) - (x-\mu)^2 / (2\sigma^2)`, broadcast."""
    x, mu = _checks.finite_array("x", x), _checks.finite_array("mu", mu)
    sigma = _positive_array("sigma", sigma)
    return -0.5 * np.log(2 * np.pi * sigma**2) - (x - mu) ** 2 / (2 * sigma**2)


def gaussian_score(x, mu, sigma, parametrization: str) -> Array:
    r"""Score :math:`\nabla_\theta \log N(x; \mu, \sigma^2)`, shape ``(..., 2)``: :math:`J^\top` times the (μ, σ) score

    .. math::
        \partial_\mu \log p = \frac{x-\mu}{\sigma^2}, \qquad
        \partial_\sigma \log p = \frac{(x-\mu)^2}{\sigma^3} - \frac1\sigma .
    """
    x, mu = _checks.finite_array("x", x), _checks.finite_array("mu", mu)
    sigma = _positive_array("sigma", sigma)
    r = x - mu
    s_ms = np.stack(np.broadcast_arrays(r / sigma**2, (r**2) / sigma**3 - 1 / sigma), axis=-1)
    return _pull_back(s_ms, mu, sigma, parametrization)


def fisher_gaussian(mu, sigma, parametrization: str) -> Array:
    r"""The 2×2 Fisher information :math:`\mathcal I(\theta)` of :math:`N(\mu, \sigma^2)`, shape ``(..., 2, 2)``.

    In (μ, σ) it is :math:`\mathrm{diag}(1/\sigma^2,\ 2/\sigma^2)`; in another parametrisation it
    transforms as a metric, :math:`\mathcal I_\theta = J^\top \mathcal I_{(\mu,\sigma)} J` with
    :math:`J = \partial(\mu, \sigma)/\partial\theta` (:func:`jacobian_musigma`). For the scale
    parametrisations the second slot is :math:`2`, :math:`1/(2\sigma^4)`, :math:`\sigma^4/2` (log σ, σ², 1/σ²);
    for the natural parameters it is the covariance of the sufficient statistics (x, x²), which is not diagonal.

    Reference: Amari, *Information Geometry and Its Applications* (2016), ch. 2.
    """
    mu = _checks.finite_array("mu", mu)
    sigma = _positive_array("sigma", sigma)
    mu, sigma = np.broadcast_arrays(mu, sigma)
    J = jacobian_musigma(mu, sigma, parametrization)
    base = np.zeros((*sigma.shape, 2, 2))
    base[..., 0, 0] = 1 / sigma**2
    base[..., 1, 1] = 2 / sigma**2
    return np.einsum("...ki,...kl,...lj->...ij", J, base, J)


def _direction(direction: str) -> str:
    return _checks.choice("direction", direction, ("forward", "reverse"))


def gaussian_fit_loss(theta, target: tuple[float, float], parametrization: str, direction: str = "forward") -> Array:
    r"""The loss of fitting :math:`p_\theta` to a target, :math:`\mathrm{KL}(p_{\text{target}} \,\|\, p_\theta)`.

    The forward KL is the expected negative log-likelihood of data drawn from the target, minus its entropy
    (the part that does not depend on θ). ``direction="reverse"`` gives :math:`\mathrm{KL}(p_\theta \,\|\,
    p_{\text{target}})` instead, the free energy of the gradient-flow chapter at T = 1 (up to a constant).
    Vectorised over leading axes of ``theta``.
    """
    direction = _direction(direction)
    mu, sigma = from_params(theta, parametrization)
    m0, s0 = _target(target)
    if direction == "reverse":
        return kl_gaussian(mu, sigma, m0, s0)
    return kl_gaussian(m0, s0, mu, sigma)


def gaussian_fit_grad(theta, target: tuple[float, float], parametrization: str, direction: str = "forward") -> Array:
    r"""Gradient of :func:`gaussian_fit_loss` in θ, shape ``(..., 2)``: :math:`J^\top \nabla_{(\mu,\sigma)} L`, with

    .. math::
        \text{forward: } \partial_\mu L = \frac{\mu - \mu_0}{\sigma^2}, \
        \partial_\sigma L = \frac1\sigma - \frac{\sigma_0^2 + (\mu - \mu_0)^2}{\sigma^3}; \qquad
        \text{reverse: } \partial_\mu L = \frac{\mu - \mu_0}{\sigma_0^2}, \
        \partial_\sigma L = \frac{\sigma}{\sigma_0^2} - \frac1\sigma .
    """
    direction = _direction(direction)
    mu, sigma = from_params(theta, parametrization)
    m0, s0 = _target(target)
    if direction == "reverse":
        g = np.stack(np.broadcast_arrays((mu - m0) / s0**2, sigma / s0**2 - 1 / sigma), axis=-1)
    else:
        g = np.stack(np.broadcast_arrays((mu - m0) / sigma**2, 1 / sigma - (s0**2 + (mu - m0) ** 2) / sigma**3), -1)
    return _pull_back(g, mu, sigma, parametrization)


def gaussian_fit_hessian_musigma(mu, sigma, target: tuple[float, float]) -> Array:
    r"""Hessian of the forward :func:`gaussian_fit_loss` in (μ, σ), shape ``(..., 2, 2)``.

    .. math::
        H = \begin{pmatrix} 1/\sigma^2 & -2(\mu-\mu_0)/\sigma^3 \\
        -2(\mu-\mu_0)/\sigma^3 & -1/\sigma^2 + 3(\sigma_0^2 + (\mu-\mu_0)^2)/\sigma^4 \end{pmatrix},
        \qquad \det H = \frac{3\sigma_0^2 - (\mu-\mu_0)^2 - \sigma^2}{\sigma^6}.

    It equals the Fisher :math:`\mathrm{diag}(1/\sigma^2, 2/\sigma^2)` at the optimum only; since
    :math:`H_{11} > 0`, it is indefinite exactly where :math:`(\mu-\mu_0)^2 + \sigma^2 > 3\sigma_0^2`.
    """
    mu = _checks.finite_array("mu", mu)
    sigma = _positive_array("sigma", sigma)
    m0, s0 = _target(target)
    mu, sigma = np.broadcast_arrays(mu, sigma)
    d = mu - m0
    h = np.empty((*mu.shape, 2, 2))
    h[..., 0, 0] = 1 / sigma**2
    h[..., 0, 1] = h[..., 1, 0] = -2 * d / sigma**3
    h[..., 1, 1] = -1 / sigma**2 + 3 * (s0**2 + d**2) / sigma**4
    return h


def _target(target) -> tuple[float, float]:
    if not isinstance(target, tuple | list) or len(target) != 2:
        raise TypeError(f"target must be a pair (mu0, sigma0), got {target!r}")
    return _checks.real("target[0]", target[0]), _checks.positive("target[1]", target[1])


def fit_gaussian(
    target: tuple[float, float],
    start: tuple[float, float],
    parametrization: str,
    *,
    method: str = "natural",
    lr: float,
    steps: int,
    solve: str = "full",
    direction: str = "forward",
) -> Array:
    r"""Fit :math:`N(\mu, \sigma^2)` to ``target`` by plain or natural gradient descent in one parametrisation.

    .. math::
        \theta_{t+1} = \theta_t - \gamma\, \nabla L(\theta_t) \quad\text{or}\quad
        \theta_{t+1} = \theta_t - \gamma\, \mathcal I(\theta_t)^{-1} \nabla L(\theta_t),

    with :math:`L` from :func:`gaussian_fit_loss` (``direction``) and :math:`\mathcal I` from
    :func:`fisher_gaussian`, solved in full (``solve="full"``, the natural gradient) or by dividing by the
    Fisher's diagonal only (``solve="diagonal"``: right only where the Fisher is diagonal, i.e. for the four
    scale parametrisations; kept as the control that shows why the full solve is needed).

    Returns
    -------
    ndarray, shape ``(steps + 1, 2)``
        The path as (μ, σ), comparable across parametrisations. If a step leaves the domain or overflows,
        that row and all later rows are nan.
    """
    _checks.choice("method", method, ("natural", "gd"))
    _checks.choice("parametrization", parametrization, ALL_PARAMETRIZATIONS)
    _checks.choice("solve", solve, ("full", "diagonal"))
    direction = _direction(direction)
    lr = _checks.positive("lr", lr)
    steps = _checks.count("steps", steps)
    _target(target)
    if not isinstance(start, tuple | list) or len(start) != 2:
        raise TypeError(f"start must be a pair (mu, sigma), got {start!r}")
    theta = to_params(start[0], start[1], parametrization)
    out = np.full((steps + 1, 2), np.nan)
    out[0] = start
    mu, sigma = start
    with np.errstate(all="ignore"):
        for t in range(steps):
            g = gaussian_fit_grad(theta, target, parametrization, direction)
            if method == "natural":
                fisher = fisher_gaussian(mu, sigma, parametrization)
                g = np.linalg.solve(fisher, g) if solve == "full" else g / np.diagonal(fisher)
            theta = theta - lr * g
            if not np.all(np.isfinite(theta)):
                break
            try:
                mu, sigma = from_params(theta, parametrization)
            except ValueError:  # left the domain
                break
            if not (np.isfinite(sigma) and 0 < sigma < 1e150 and np.isfinite(mu)):
                break
            out[t + 1] = mu, sigma
    return out


def gaussian_flow(mu0: float, sigma0: float, t, *, metric: str, target: tuple[float, float] = (0.0, 1.0)) -> Array:
    r"""Exact gradient flow of :math:`L = \mathrm{KL}(N(\mu,\sigma^2) \,\|\, N(\mu_0, \sigma_0^2))` on Gaussians.

    ``metric="wasserstein"``: on the Gaussians of one dimension the 2-Wasserstein metric is Euclidean in
    (μ, σ), :math:`W_2^2 = \Delta\mu^2 + \Delta\sigma^2`, so the flow is :math:`\dot\mu = -\partial_\mu L`,
    :math:`\dot\sigma = -\partial_\sigma L`:

    .. math:: \mu_t - \mu_0 = (\mu - \mu_0) e^{-t/\sigma_0^2}, \qquad
        \sigma_t^2 = \sigma_0^2 + (\sigma^2 - \sigma_0^2)\, e^{-2t/\sigma_0^2},

    the law of an Ornstein–Uhlenbeck process (Fokker–Planck at T = 1; Jordan, Kinderlehrer & Otto 1998).

    ``metric="fisher_rao"``: the natural-gradient flow :math:`\dot\theta = -\mathcal I^{-1}\nabla L`. In the
    natural parameters the gradient of this KL is :math:`\mathcal I(\eta)(\eta - \eta_\star)`, so the flow is
    linear, :math:`\eta_t = \eta_\star + (\eta - \eta_\star) e^{-t}`: the geometric mixture
    :math:`p_t \propto p^{e^{-t}} p_\star^{1 - e^{-t}}` (Amari 2016, ch. 2).

    Returns ``(len(t), 2)``: (μ_t, σ_t).
    """
    _checks.choice("metric", metric, ("wasserstein", "fisher_rao"))
    t = _checks.finite_array("t", t, ndim_min=1)
    if np.any(t < 0):
        raise ValueError(f"t must be non-negative, got {t!r}")
    mu0 = _checks.real("mu0", mu0)
    sigma0 = _checks.positive("sigma0", sigma0)
    m, s = _target(target)
    if metric == "wasserstein":
        mu_t = m + (mu0 - m) * np.exp(-t / s**2)
        sigma_t = np.sqrt(s**2 + (sigma0**2 - s**2) * np.exp(-2 * t / s**2))
        return np.stack([mu_t, sigma_t], axis=-1)
    eta0, eta_star = to_params(mu0, sigma0, "natural"), to_params(m, s, "natural")
    eta_t = eta_star + (eta0 - eta_star) * np.exp(-t)[:, None]
    return np.stack(from_params(eta_t, "natural"), axis=-1)


def gaussian_distance(a: tuple[float, float], b: tuple[float, float], *, metric: str) -> float:
    r"""Geodesic distance between :math:`N(a_0, a_1^2)` and :math:`N(b_0, b_1^2)` in the Fisher–Rao or W2 metric.

    Wasserstein: :math:`\sqrt{\Delta\mu^2 + \Delta\sigma^2}`. Fisher–Rao, :math:`ds^2 = (d\mu^2 + 2 d\sigma^2)/\sigma^2`
    (a hyperbolic half-plane in :math:`(\mu/\sqrt2, \sigma)` scaled by √2):
    :math:`\sqrt2\, \mathrm{arccosh}\big(1 + \frac{\Delta\mu^2/2 + \Delta\sigma^2}{2 a_1 b_1}\big)`.
    Reference: Costa, Santos & Strapasson (2015), *Fisher information distance*.
    """
    _checks.choice("metric", metric, ("wasserstein", "fisher_rao"))
    (m1, s1), (m2, s2) = (_target(a), _target(b))
    if metric == "wasserstein":
        return float(np.hypot(m1 - m2, s1 - s2))
    return float(np.sqrt(2) * np.arccosh(1 + ((m1 - m2) ** 2 / 2 + (s1 - s2) ** 2) / (2 * s1 * s2)))


# --- softmax regression ----------------------------------------------------------------------


def softmax(z) -> Array:
    r"""Softmax over the last axis, :math:`p_c = e^{z_c} / \sum_{c'} e^{z_{c'}}`, computed stably."""
    z = _checks.finite_array("z", z, ndim_min=1)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class SoftmaxRegression:
    r"""Multinomial logistic regression: :math:`p(y = c \mid x) = \mathrm{softmax}(W^\top x)_c`.

    The parameters are the flattened ``(d, k)`` weight matrix, :math:`w = \mathrm{vec}(W)`, of size
    ``p = d k`` (row-major: ``w.reshape(d, k)``). The loss is the mean negative log-likelihood of the
    labels plus :math:`\tfrac{\lambda}{2}\|w\|^2`. With :math:`r_i = p_i - e_{y_i}` and
    :math:`\Lambda_i = \mathrm{diag}(p_i) - p_i p_i^\top`,

    .. math::
        \nabla L = \frac1n \sum_i x_i \otimes r_i + \lambda w, \quad
        F = \frac1n \sum_i (x_i x_i^\top) \otimes \Lambda_i, \quad
        \tilde F = \frac1n \sum_i (x_i \otimes r_i)(x_i \otimes r_i)^\top .

    :math:`F` (the true Fisher: labels drawn from the model) is also the generalised Gauss–Newton
    matrix and, for this model, the Hessian of the likelihood term; :math:`\tilde F` (the empirical
    Fisher: the data's labels) is neither. Reference: Martens (2020), *New insights and perspectives
    on the natural gradient method*; Kunstner, Hennig & Balles (2019).
    """

    def __init__(self, X, y, classes: int, *, l2: float = 0.0):
        self.X = _checks.finite_array("X", X)
        if self.X.ndim != 2:
            raise ValueError(f"X must be an (n, d) matrix, got shape {self.X.shape}")
        self.k = _checks.count("classes", classes, minimum=2)
        y = np.asarray(y)
        if y.shape != (self.X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"y must be n = {self.X.shape[0]} integer labels, got {y!r}")
        if y.min() < 0 or y.max() >= self.k:
            raise ValueError(f"y must lie in 0..{self.k - 1}, got values from {y.min()} to {y.max()}")
        self.y = y
        self.l2 = _checks.positive("l2", l2, allow_zero=True)
        self.n, self.d = self.X.shape
        self.size = self.d * self.k
        self.onehot = np.eye(self.k)[y]

    def _w(self, w) -> Array:
        w = _checks.finite_array("w", w, ndim_min=1)
        if w.shape[-1] != self.size:
            raise ValueError(f"w must have last axis of length {self.size} (= d k), got shape {w.shape}")
        return w

    def probs(self, w) -> Array:
        """Predicted class probabilities, shape ``(..., n, k)``."""
        w = self._w(w)
        return softmax(self.X @ w.reshape(*w.shape[:-1], self.d, self.k))

    def loss(self, w) -> Array:
        r"""Mean negative log-likelihood plus :math:`\tfrac\lambda2\|w\|^2`, vectorised over leading axes."""
        w = self._w(w)
        z = self.X @ w.reshape(*w.shape[:-1], self.d, self.k)
        zmax = z.max(axis=-1, keepdims=True)
        lse = (zmax + np.log(np.exp(z - zmax).sum(axis=-1, keepdims=True)))[..., 0]
        nll = np.mean(lse - np.sum(z * self.onehot, axis=-1), axis=-1)
        return nll + 0.5 * self.l2 * np.sum(w**2, axis=-1)

    def per_sample_grads(self, w) -> Array:
        r"""Each sample's gradient of its negative log-likelihood, :math:`x_i \otimes (p_i - e_{y_i})`, ``(n, p)``."""
        w = self._w(w)
        r = self.probs(w) - self.onehot
        return (self.X[:, :, None] * r[:, None, :]).reshape(self.n, self.size)

    def grad(self, w, batch=None) -> Array:
        """Gradient of the loss (over ``batch`` indices if given), vectorised over leading axes of ``w``."""
        w = self._w(w)
        X, onehot = (self.X, self.onehot) if batch is None else (self.X[batch], self.onehot[batch])
        r = softmax(X @ w.reshape(*w.shape[:-1], self.d, self.k)) - onehot
        g = np.swapaxes(X, -1, -2) @ r / X.shape[0]
        return g.reshape(*w.shape[:-1], self.size) + self.l2 * w

    def fisher(self, w) -> Array:
        r"""The true Fisher :math:`\frac1n\sum_i (x_i x_i^\top) \otimes \Lambda_i` (+ λI), shape ``(p, p)``.

        Forming it costs :math:`O(n p^2 / k)` multiply-adds and :math:`O(p^2)` memory.
        """
        w = self._w(w)
        if w.ndim != 1:
            raise ValueError(f"w must be a single parameter vector, got shape {w.shape}")
        p = self.probs(w)
        lam = p[:, :, None] * np.eye(self.k) - p[:, :, None] * p[:, None, :]
        f = np.empty((self.d, self.k, self.d, self.k))
        for c in range(self.k):  # k^2 matrix products X^T diag(Lambda_cd) X, each O(n d^2)
            for e in range(c, self.k):
                block = (self.X * lam[:, c, e, None]).T @ self.X
                f[:, c, :, e] = block
                f[:, e, :, c] = block.T
        return f.reshape(self.size, self.size) / self.n + self.l2 * np.eye(self.size)

    def empirical_fisher(self, w) -> Array:
        r"""The empirical Fisher :math:`\frac1n \sum_i g_i g_i^\top` of the per-sample gradients (+ λI)."""
        g = self.per_sample_grads(w)
        return g.T @ g / self.n + self.l2 * np.eye(self.size)

    def sampled_fisher(self, w, rng: np.random.Generator, samples: int = 1) -> Array:
        r"""Monte Carlo true Fisher: labels :math:`\hat y_i \sim p_\theta(\cdot \mid x_i)`, averaged outer products."""
        rng = _checks.generator("rng", rng)
        samples = _checks.count("samples", samples, minimum=1)
        w = self._w(w)
        p = self.probs(w)
        total = np.zeros((self.size, self.size))
        cum = np.cumsum(p, axis=1)
        for _ in range(samples):
            u = rng.random((self.n, 1))
            yhat = np.minimum((u > cum).sum(axis=1), self.k - 1)
            r = p - np.eye(self.k)[yhat]
            g = (self.X[:, :, None] * r[:, None, :]).reshape(self.n, self.size)
            total += g.T @ g
        return total / (self.n * samples) + self.l2 * np.eye(self.size)

    def fvp(self, w, v) -> Array:
        r"""Fisher-vector product :math:`F v = \frac1n J^\top \Lambda J v + \lambda v` without forming F.

        :math:`J v` is the change of the logits, :math:`u_i = V^\top x_i` with :math:`V` = ``v.reshape(d, k)``;
        then :math:`\Lambda_i u_i = p_i \odot u_i - p_i (p_i^\top u_i)`, and :math:`J^\top` maps back with
        :math:`X^\top`. Cost :math:`O(n p)`, about two gradients. Reference: Schraudolph (2002); Martens (2010).
        """
        w = self._w(w)
        v = _checks.finite_array("v", v)
        if v.shape != (self.size,):
            raise ValueError(f"v must have shape {(self.size,)}, got {v.shape}")
        p = self.probs(w)
        u = self.X @ v.reshape(self.d, self.k)
        r = p * u - p * np.sum(p * u, axis=1, keepdims=True)
        return (self.X.T @ r).reshape(self.size) / self.n + self.l2 * v

    def hessian_fd(self, w, eps: float = 1e-5) -> Array:
        """Hessian of :meth:`loss` by central differences of :meth:`grad` (an independent check, O(p) gradients)."""
        w = self._w(w)
        eps = _checks.positive("eps", eps)
        basis = np.eye(self.size) * eps
        h = (self.grad(w + basis) - self.grad(w - basis)) / (2 * eps)
        return 0.5 * (h + h.T)


def softmax_data(
    n: int, d: int, classes: int, *, rng: np.random.Generator, scales=None, weight_scale: float = 1.0
) -> tuple[Array, Array, Array]:
    r"""A well-specified classification set: :math:`x \sim N(0, \mathrm{diag}(s^2))`, labels from the model.

    The labels are drawn as :math:`y \sim \mathrm{softmax}(W_\star^\top x)`.

    ``scales`` (length d, default ones) stretches the features; unequal scales make the problem
    ill-conditioned. Returns ``(X, y, w_star)`` with ``w_star`` flattened, the true weights.
    """
    n = _checks.count("n", n, minimum=1)
    d = _checks.count("d", d, minimum=1)
    k = _checks.count("classes", classes, minimum=2)
    rng = _checks.generator("rng", rng)
    s = np.ones(d) if scales is None else _positive_array("scales", scales)
    if s.shape != (d,):
        raise ValueError(f"scales must have length d = {d}, got shape {s.shape}")
    weight_scale = _checks.positive("weight_scale", weight_scale)
    X = rng.standard_normal((n, d)) * s
    W = rng.standard_normal((d, k)) * weight_scale / s[:, None] / np.sqrt(d)
    p = softmax(X @ W)
    y = np.minimum((rng.random((n, 1)) > np.cumsum(p, axis=1)).sum(axis=1), k - 1)
    return X, y, W.reshape(-1)


# --- solvers and steps -----------------------------------------------------------------------


class CGResult(NamedTuple):
    """Result of :func:`conjugate_gradient`: the solution, the products used, the final residual norm."""

    x: Array
    iterations: int
    residual: float


def conjugate_gradient(
    matvec: Callable[[Array], Array], b, *, tol: float = 1e-10, maxiter: int | None = None, damping: float = 0.0
) -> CGResult:
    r"""Solve :math:`(A + \lambda I) x = b` for symmetric positive definite A, given only ``matvec(v) = A v``.

    .. math::
        \alpha_k = \frac{r_k^\top r_k}{p_k^\top (A+\lambda I) p_k},\quad x_{k+1} = x_k + \alpha_k p_k,\quad
        r_{k+1} = r_k - \alpha_k (A+\lambda I) p_k,\quad
        p_{k+1} = r_{k+1} + \frac{r_{k+1}^\top r_{k+1}}{r_k^\top r_k} p_k

    from :math:`x_0 = 0`, stopping when :math:`\|r\| \le \text{tol}\,\|b\|`. In exact arithmetic it ends in at
    most n steps, and in k steps when A has k distinct eigenvalues. Reference: Hestenes & Stiefel (1952);
    Nocedal & Wright (2006), alg. 5.2.
    """
    _checks.function("matvec", matvec)
    b = _checks.finite_array("b", b, ndim_min=1)
    if b.ndim != 1:
        raise ValueError(f"b must be a vector, got shape {b.shape}")
    tol = _checks.positive("tol", tol)
    damping = _checks.positive("damping", damping, allow_zero=True)
    maxiter = 10 * b.size if maxiter is None else _checks.count("maxiter", maxiter, minimum=1)
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = float(r @ r)
    target = tol * np.sqrt(rr)
    k = 0
    while np.sqrt(rr) > target and k < maxiter:
        ap = np.asarray(matvec(p), dtype=np.float64) + damping * p
        curv = float(p @ ap)
        if curv <= 0:
            raise ValueError(f"matvec is not positive definite: found p^T A p = {curv!r}")
        alpha = rr / curv
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
        k += 1
    return CGResult(x, k, float(np.sqrt(rr)))


def natural_gradient_step(theta, grad, fisher, *, lr: float, damping: float = 0.0) -> Array:
    r"""One damped natural-gradient step, :math:`\theta - \gamma (F + \lambda I)^{-1} \nabla L`.

    Damping :math:`\lambda > 0` bounds the step where F is singular or poorly estimated, and
    interpolates between the natural gradient (:math:`\lambda \to 0`) and gradient descent with step
    :math:`\gamma/\lambda` (:math:`\lambda \to \infty`). Reference: Martens & Grosse (2015), sec. 6.
    """
    theta = _checks.finite_array("theta", theta, ndim_min=1)
    grad = _checks.finite_array("grad", grad, ndim_min=1)
    fisher = _checks.finite_array("fisher", fisher, ndim_min=2)
    lr = _checks.positive("lr", lr)
    damping = _checks.positive("damping", damping, allow_zero=True)
    n = theta.shape[-1]
    if grad.shape != theta.shape or fisher.shape[-2:] != (n, n):
        raise ValueError(f"need grad {theta.shape}, fisher (..., {n}, {n}); got {grad.shape}, {fisher.shape}")
    try:
        step = np.linalg.solve(fisher + damping * np.eye(n), grad[..., None])[..., 0]
    except np.linalg.LinAlgError as err:
        raise ValueError("fisher + damping * I is singular: increase damping") from err
    return theta - lr * step


def natural_descent(
    model: SoftmaxRegression,
    w0,
    *,
    lr: float,
    steps: int,
    damping: float = 1e-4,
    fisher: str = "true",
) -> Array:
    r"""Iterate :func:`natural_gradient_step` on a :class:`SoftmaxRegression` with its true or empirical Fisher.

    Returns the path, shape ``(steps + 1, p)``; non-finite rows (a diverging run) are nan.
    """
    if not isinstance(model, SoftmaxRegression):
        raise TypeError(f"model must be a SoftmaxRegression, got {model!r}")
    _checks.choice("fisher", fisher, ("true", "empirical"))
    steps = _checks.count("steps", steps)
    w = model._w(w0).astype(np.float64)
    path = np.full((steps + 1, w.size), np.nan)
    path[0] = w
    metric = model.fisher if fisher == "true" else model.empirical_fisher
    with np.errstate(all="ignore"):
        for t in range(steps):
            w = natural_gradient_step(w, model.grad(w), metric(w), lr=lr, damping=damping)
            if not np.all(np.isfinite(w)) or np.max(np.abs(w)) > 1e12:
                break
            path[t + 1] = w
    return path


class CGDescent(NamedTuple):
    """Result of :func:`natural_descent_cg`: the path, the CG iterations per step, the relative residuals."""

    path: Array
    iterations: Array
    residual: Array


def natural_descent_cg(
    model: SoftmaxRegression,
    w0,
    *,
    lr: float,
    steps: int,
    damping: float = 1e-4,
    tol: float = 1e-6,
    maxiter: int | None = None,
) -> CGDescent:
    r"""Natural gradient descent with each step solved by conjugate gradient on Fisher-vector products.

    .. math::
        \theta_{t+1} = \theta_t - \gamma x_t, \qquad (\mathcal I(\theta_t) + \rho I)\, x_t \approx \nabla L(\theta_t),

    with :math:`x_t` from :func:`conjugate_gradient` on :meth:`SoftmaxRegression.fvp` (the Fisher is never
    formed), stopped at :math:`\|(\mathcal I + \rho I)x - \nabla L\| \le \text{tol}\,\|\nabla L\|`.
    Reference: Martens (2010), *Deep learning via Hessian-free optimization*.

    Returns
    -------
    CGDescent
        ``path`` ``(steps + 1, p)``; ``iterations`` ``(steps,)``, the Fisher-vector products of each solve;
        ``residual`` ``(steps,)``, the *true* relative residual :math:`\|(\mathcal I + \rho I)x_t - \nabla L\| /
        \|\nabla L\|` recomputed with a fresh product (not CG's recursively updated one).
    """
    if not isinstance(model, SoftmaxRegression):
        raise TypeError(f"model must be a SoftmaxRegression, got {model!r}")
    lr = _checks.positive("lr", lr)
    steps = _checks.count("steps", steps)
    damping = _checks.positive("damping", damping, allow_zero=True)
    w = model._w(w0).astype(np.float64)
    path = np.full((steps + 1, w.size), np.nan)
    path[0] = w
    iters, resid = np.zeros(steps, dtype=int), np.full(steps, np.nan)
    for t in range(steps):
        g = model.grad(w)
        if not np.any(g):
            path[t + 1 :] = w
            break
        sol = conjugate_gradient(lambda v, w=w: model.fvp(w, v), g, tol=tol, maxiter=maxiter, damping=damping)
        iters[t] = sol.iterations
        resid[t] = float(np.linalg.norm(model.fvp(w, sol.x) + damping * sol.x - g) / np.linalg.norm(g))
        w = w - lr * sol.x
        path[t + 1] = w
    return CGDescent(path, iters, resid)


def steps_to_reach(losses, target: float) -> int:
    """The first index at which ``losses`` is at most ``target``, or ``len(losses)`` if never (nan counts as never)."""
    losses = np.asarray(losses, dtype=np.float64)
    target = _checks.real("target", target)
    hit = np.flatnonzero(np.nan_to_num(losses, nan=np.inf) <= target)
    return int(hit[0]) if hit.size else int(losses.size)


def track_second_moment(rule: Optimizer, grad: Callable[[Array], Array], x0, *, steps: int) -> tuple[Array, Array]:
    r"""Run an RMSprop or Adam rule from :mod:`gdlens.optimizers`; return its final point and second moment.

    Both rules keep :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2`, an exponential moving average of
    the squared gradients, coordinate by coordinate: the optimiser's own estimate of
    :math:`\mathbb{E}[g^2]`. After many more than :math:`1/(1-\beta_2)` steps its start-up bias is gone.
    Reference: Kingma & Ba (2015).

    Returns ``(x, v)``: the last iterate and :math:`v_t`.
    """
    if not isinstance(rule, Optimizer):
        raise TypeError(f"rule must be an Optimizer, got {rule!r}")
    _checks.function("grad", grad)
    x = _checks.finite_array("x0", x0, ndim_min=1)
    steps = _checks.count("steps", steps, minimum=1)
    state = rule.init(x)
    if not hasattr(state, "square"):
        raise TypeError("rule must keep a second moment (rmsprop_rule or adam_rule)")
    for _ in range(steps):
        updates, state = rule.update(np.asarray(grad(x), dtype=np.float64), state, x)
        x = x + updates
    return x, state.square


def operation_counts(n: int, p: int, k: int, cg_iterations: int) -> dict[str, int]:
    r"""Multiply-add counts for one step of softmax regression with n samples, p = d k parameters, k classes.

    - gradient: :math:`2 n p` (the logits, then the back-projection);
    - forming the Fisher: :math:`n p^2 (k+1)/(2k)` (as :meth:`SoftmaxRegression.fisher` does it: the
      :math:`k(k+1)/2` distinct blocks :math:`X^\top \mathrm{diag}(\Lambda_{cc'}) X`, :math:`n d^2` each);
    - dense solve: :math:`p^3 / 3` (Cholesky);
    - conjugate gradient: ``cg_iterations`` Fisher-vector products of about :math:`4 n p` each.
    """
    n = _checks.count("n", n, minimum=1)
    p = _checks.count("p", p, minimum=1)
    k = _checks.count("k", k, minimum=1)
    cg_iterations = _checks.count("cg_iterations", cg_iterations)
    return {
        "gradient": 2 * n * p,
        "form_fisher": n * p * p * (k + 1) // (2 * k),
        "solve": p**3 // 3,
        "cg": cg_iterations * 4 * n * p,
        "memory_fisher": p * p,
    }


# --- a small MLP: the exact Fisher, the sampled Fisher, and K-FAC ----------------------------


class TinyMLP:
    r"""A one-hidden-layer tanh classifier, :math:`z = [\tanh(\bar x W_1), 1]\, W_2`, :math:`\bar x = [x, 1]`.

    The parameters are :math:`\theta = (\mathrm{vec}\,W_1, \mathrm{vec}\,W_2)` (row-major, biases as the
    last row of each matrix), of size :math:`(d+1)h + (h+1)k`. For it the module computes

    - the exact Fisher :math:`\mathcal I = \frac1n\sum_i J_i^\top \Lambda_i J_i` (:math:`J_i` the Jacobian
      of the logits, :math:`\Lambda_i = \mathrm{diag}(p_i) - p_ip_i^\top`): the expectation over labels is done
      in closed form;
    - the sampled Fisher, which needs only first derivatives: the mean outer product of per-sample gradients
      :math:`\nabla_\theta \log p(\hat y_i \mid x_i)` at labels :math:`\hat y_i` drawn from the model;
    - K-FAC {Martens & Grosse 2015}: per layer l, the block :math:`\mathbb E[(a a^\top) \otimes (\delta \delta^\top)]`
      (a the layer's input, δ the gradient of the log-likelihood at its pre-activations) is approximated by
      the Kronecker product :math:`A_l \otimes G_l = \mathbb E[a a^\top] \otimes \mathbb E[\delta \delta^\top]`,
      and blocks between layers are dropped.
    """

    def __init__(self, X, W1, W2):
        self.X = _checks.finite_array("X", X)
        if self.X.ndim != 2:
            raise ValueError(f"X must be an (n, d) matrix, got shape {self.X.shape}")
        self.W1 = _checks.finite_array("W1", W1)
        self.W2 = _checks.finite_array("W2", W2)
        self.n, self.d = self.X.shape
        if self.W1.ndim != 2 or self.W1.shape[0] != self.d + 1:
            raise ValueError(f"W1 must have shape ({self.d + 1}, h), got {self.W1.shape}")
        self.h = self.W1.shape[1]
        if self.W2.ndim != 2 or self.W2.shape[0] != self.h + 1 or self.W2.shape[1] < 2:
            raise ValueError(f"W2 must have shape ({self.h + 1}, k >= 2), got {self.W2.shape}")
        self.k = self.W2.shape[1]
        self.sizes = ((self.d + 1) * self.h, (self.h + 1) * self.k)
        self.size = sum(self.sizes)

    def _forward(self):
        a0 = np.hstack([self.X, np.ones((self.n, 1))])
        hid = np.tanh(a0 @ self.W1)
        a1 = np.hstack([hid, np.ones((self.n, 1))])
        return a0, hid, a1, softmax(a1 @ self.W2)

    def probs(self) -> Array:
        """Predicted class probabilities, ``(n, k)``."""
        return self._forward()[3]

    def _backprop(self):
        """Per layer: inputs a ``(n, width_in)`` and B = ∂z/∂s ``(n, k, width_out)``, the logits' sensitivity."""
        a0, hid, a1, p = self._forward()
        b2 = np.broadcast_to(np.eye(self.k), (self.n, self.k, self.k))
        b1 = self.W2[:-1].T[None, :, :] * (1 - hid**2)[:, None, :]  # (n, k, h)
        return (a0, b1), (a1, b2), p

    def logit_jacobian(self) -> Array:
        r"""The per-sample Jacobians :math:`J_i = \partial z_i / \partial\theta`, shape ``(n, k, p)``."""
        (a0, b1), (a1, b2), _ = self._backprop()
        j1 = (b1[:, :, None, :] * a0[:, None, :, None]).reshape(self.n, self.k, -1)
        j2 = (b2[:, :, None, :] * a1[:, None, :, None]).reshape(self.n, self.k, -1)
        return np.concatenate([j1, j2], axis=-1)

    def fisher(self) -> Array:
        r"""The exact Fisher :math:`\frac1n \sum_i J_i^\top \Lambda_i J_i`, ``(p, p)``."""
        J = self.logit_jacobian()
        p = self.probs()
        lam = p[:, :, None] * np.eye(self.k) - p[:, :, None] * p[:, None, :]
        return np.einsum("nki,nkl,nlj->ij", J, lam, J) / self.n

    def sampled_fisher(self, rng: np.random.Generator, samples: int = 1) -> Array:
        r"""Monte Carlo Fisher from first derivatives only: labels :math:`\hat y \sim p_\theta(\cdot\mid x_i)`."""
        rng = _checks.generator("rng", rng)
        samples = _checks.count("samples", samples, minimum=1)
        J = self.logit_jacobian()
        p = self.probs()
        cum = np.cumsum(p, axis=1)
        total = np.zeros((self.size, self.size))
        for _ in range(samples):
            yhat = np.minimum((rng.random((self.n, 1)) > cum).sum(axis=1), self.k - 1)
            g = np.einsum("nki,nk->ni", J, p - np.eye(self.k)[yhat])  # per-sample gradients of -log p(yhat)
            total += g.T @ g
        return total / (self.n * samples)

    def kfac_factors(self) -> list[tuple[Array, Array]]:
        r"""Per layer, :math:`(A_l, G_l) = (\mathbb E[a a^\top], \mathbb E[\delta\delta^\top])`, with
        :math:`\mathbb E_{\hat y}[\delta\delta^\top] = B_i^\top \Lambda_i B_i` averaged over the inputs."""
        layers, p = self._backprop()[:2], self._backprop()[2]
        lam = p[:, :, None] * np.eye(self.k) - p[:, :, None] * p[:, None, :]
        out = []
        for a, b in layers:
            A = a.T @ a / self.n
            G = np.einsum("nki,nkl,nlj->ij", b, lam, b) / self.n
            out.append((A, G))
        return out

    def kfac(self) -> Array:
        r"""The K-FAC approximation: block-diagonal, :math:`\mathrm{blockdiag}(A_1 \otimes G_1, A_2 \otimes G_2)`."""
        out = np.zeros((self.size, self.size))
        start = 0
        for A, G in self.kfac_factors():
            m = A.shape[0] * G.shape[0]
            out[start : start + m, start : start + m] = np.kron(A, G)
            start += m
        return out


# --- KL between a Gaussian mixture and a Gaussian (the asymmetry) ----------------------------


def _mixture(weights, means, sigmas) -> tuple[Array, Array, Array]:
    w = _checks.finite_array("weights", weights, ndim_min=1)
    m = _checks.finite_array("means", means, ndim_min=1)
    s = _positive_array("sigmas", sigmas)
    if not (w.shape == m.shape == s.shape) or w.ndim != 1:
        raise ValueError(f"weights, means, sigmas must be vectors of one length, got {w.shape}, {m.shape}, {s.shape}")
    if np.any(w < 0) or not np.isclose(w.sum(), 1.0):
        raise ValueError(f"weights must be non-negative and sum to 1, got {weights!r}")
    return w, m, s


def mixture_logpdf(x, weights, means, sigmas) -> Array:
    r"""Log-density of the mixture :math:`\sum_j w_j N(x; m_j, s_j^2)`, broadcast over ``x``."""
    w, m, s = _mixture(weights, means, sigmas)
    x = _checks.finite_array("x", x)
    comp = gaussian_logpdf(x[..., None], m, s) + np.log(np.where(w > 0, w, 1.0)) + np.where(w > 0, 0.0, -np.inf)
    top = comp.max(axis=-1, keepdims=True)
    return (top + np.log(np.exp(comp - top).sum(axis=-1, keepdims=True)))[..., 0]


def kl_mixture_gaussian(weights, means, sigmas, mu, sigma, *, direction: str, nodes: int = 2001) -> Array:
    r"""KL between a Gaussian mixture p and :math:`q = N(\mu, \sigma^2)`, broadcast over ``mu``, ``sigma``.

    ``direction="forward"`` gives :math:`\mathrm{KL}(p \| q)` (minimised by matching p's mean and
    variance: mass-covering); ``"reverse"`` gives :math:`\mathrm{KL}(q \| p)` (mode-seeking). The
    expectations over a Gaussian are trapezoid sums on ``nodes`` points of :math:`z \in [-10, 10]`
    standard deviations (the integrand is smooth and decays like :math:`e^{-z^2/2}`).
    """
    _checks.choice("direction", direction, ("forward", "reverse"))
    w, m, s = _mixture(weights, means, sigmas)
    mu = _checks.finite_array("mu", mu)
    sigma = _positive_array("sigma", sigma)
    nodes = _checks.count("nodes", nodes, minimum=3)
    z = np.linspace(-10.0, 10.0, nodes)
    h = np.exp(-0.5 * z**2) / np.sqrt(2 * np.pi) * (z[1] - z[0])
    h[[0, -1]] *= 0.5
    mu, sigma = np.broadcast_arrays(mu, sigma)
    if direction == "reverse":
        x = mu[..., None] + sigma[..., None] * z
        cross = (mixture_logpdf(x, w, m, s) * h).sum(axis=-1)
        return -0.5 * np.log(2 * np.pi * np.e * sigma**2) - cross
    xs = m[:, None] + s[:, None] * z  # (components, nodes)
    neg_entropy = float(np.sum(w[:, None] * h * mixture_logpdf(xs, w, m, s)))
    second = np.sum(w * (s**2 + (m - mu[..., None]) ** 2), axis=-1)  # E_p[(x - mu)^2]
    return neg_entropy + 0.5 * np.log(2 * np.pi * sigma**2) + second / (2 * sigma**2)
