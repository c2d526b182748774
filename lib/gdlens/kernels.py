r"""Path kernels and tangent kernels: a model trained by gradient descent as a kernel machine.

Train a model :math:`f(x; \theta)` on the squared loss :math:`L = \frac1{2n}\sum_i (f(x_i) - y_i)^2` by
gradient descent with step :math:`\gamma`. A first-order Taylor expansion of each step gives

.. math::
    f(x; \theta_{t+1}) - f(x; \theta_t) = -\frac{\gamma}{n}\sum_i r_i(t)\, k_t(x, x_i) + O(\gamma^2),
    \qquad k_t(x, x') = \nabla_\theta f(x;\theta_t) \cdot \nabla_\theta f(x';\theta_t),

with residuals :math:`r_i(t) = f(x_i;\theta_t) - y_i`. Summed over the path,

.. math::
    f(x; \theta_T) = \sum_i a_i(x)\, K(x, x_i) + b(x), \qquad K(x, x') = \sum_t \gamma\, k_t(x, x'),

with :math:`a_i(x) = -\frac1n \sum_t \gamma\, r_i(t) k_t(x, x_i) / K(x, x_i)` (a kernel-weighted average
of the residuals along the path) and :math:`b = f(x; \theta_0)`: Domingos (2020)'s "every model
learned by gradient descent is approximately a kernel machine", with the **path kernel** :math:`K`.
The identity is exact for a model linear in its parameters; otherwise its error is the sum of the
per-step Taylor remainders, :math:`O(\gamma)` at fixed training time :math:`T\gamma`.

The **neural tangent kernel** is :math:`k_0`, frozen at initialisation (Jacot, Gabriel & Hongler 2018).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from gdlens import _checks

Array = np.ndarray


class TanhNet:
    r"""A one-hidden-layer tanh network with scalar output, in the NTK parametrisation.

    .. math:: f(x; \theta) = \frac{1}{\sqrt m}\sum_{j=1}^m a_j \tanh(w_j^\top x + b_j) + c,
        \qquad \theta = (W, b, a, c),

    :math:`W \in \mathbb R^{m \times d}`. Parameters are one flat vector (``W`` row-major, then ``b``,
    ``a``, ``c``), inputs an array ``(n, d)``; :meth:`predict` and :meth:`param_grad` are vectorised
    over the ``n`` inputs, and the gradient is written out by hand.
    """

    def __init__(self, width: int, dim: int = 1):
        self.width = _checks.count("width", width, minimum=1)
        self.dim = _checks.count("dim", dim, minimum=1)
        self.size = self.width * (self.dim + 2) + 1

    def init(self, rng: np.random.Generator, *, weight_scale: float = 1.5, bias_scale: float = 0.5) -> Array:
        """Draw :math:`W_{jk} \\sim N(0, s_w^2/d)`, :math:`b_j \\sim N(0, s_b^2)`, :math:`a_j \\sim N(0, 1)`, c = 0."""
        _checks.generator("rng", rng)
        sw = _checks.positive("weight_scale", weight_scale)
        sb = _checks.positive("bias_scale", bias_scale, allow_zero=True)
        m, d = self.width, self.dim
        W = rng.standard_normal((m, d)) * sw / np.sqrt(d)
        b = rng.standard_normal(m) * sb
        a = rng.standard_normal(m)
        return np.concatenate([W.ravel(), b, a, [0.0]])

    def _unpack(self, theta):
        theta = _checks.finite_array("theta", theta)
        if theta.shape != (self.size,):
            raise ValueError(f"theta must have shape ({self.size},), got {theta.shape}")
        m, d = self.width, self.dim
        return theta[: m * d].reshape(m, d), theta[m * d : m * d + m], theta[m * d + m : m * d + 2 * m], theta[-1]

    def _inputs(self, X):
        X = _checks.finite_array("X", X)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"X must have shape (n, {self.dim}), got {X.shape}")
        return X

    def predict(self, theta, X) -> Array:
        """:math:`f(x_i; \\theta)` for every row of ``X``; shape ``(n,)``."""
        W, b, a, c = self._unpack(theta)
        return np.tanh(self._inputs(X) @ W.T + b) @ a / np.sqrt(self.width) + c

    def param_grad(self, theta, X) -> Array:
        r""":math:`\nabla_\theta f(x_i;\theta)` for every row of ``X``; shape ``(n, size)``.

        :math:`\partial f/\partial a_j = \phi_j/\sqrt m`, :math:`\partial f/\partial b_j = a_j(1-\phi_j^2)/\sqrt m`,
        :math:`\partial f/\partial w_j = a_j(1-\phi_j^2)\,x/\sqrt m`, :math:`\partial f/\partial c = 1`,
        with :math:`\phi_j = \tanh(w_j^\top x + b_j)`.
        """
        W, b, a, c = self._unpack(theta)
        X = self._inputs(X)
        n, m = X.shape[0], self.width
        phi = np.tanh(X @ W.T + b)
        db = a * (1 - phi * phi) / np.sqrt(m)
        dW = (db[:, :, None] * X[:, None, :]).reshape(n, -1)
        return np.hstack([dW, db, phi / np.sqrt(m), np.ones((n, 1))])


class LinearModel:
    r"""A model linear in its parameters, :math:`f(x;\theta) = \varphi(x)^\top\theta`.

    ``features(X)`` returns the features :math:`\varphi`, shape ``(n, size)``.

    Its tangent kernel :math:`\varphi(x)^\top\varphi(x')` never moves, and the path-kernel identity is exact.
    """

    def __init__(self, features: Callable[[Array], Array], size: int):
        self.features = _checks.function("features", features)
        self.size = _checks.count("size", size, minimum=1)

    def param_grad(self, theta, X) -> Array:
        """:math:`\\varphi(x_i)` for every row of ``X``; shape ``(n, size)``."""
        Phi = np.asarray(self.features(np.asarray(X, dtype=np.float64)), dtype=np.float64)
        if Phi.ndim != 2 or Phi.shape[1] != self.size:
            raise ValueError(f"features must return shape (n, {self.size}), got {Phi.shape}")
        return Phi

    def predict(self, theta, X) -> Array:
        """:math:`\\varphi(x_i)^\\top\\theta`; shape ``(n,)``."""
        theta = _checks.finite_array("theta", theta)
        if theta.shape != (self.size,):
            raise ValueError(f"theta must have shape ({self.size},), got {theta.shape}")
        return self.param_grad(theta, X) @ theta


class PathKernelRun(NamedTuple):
    """Result of :func:`train_with_path_kernel` (``m`` evaluation points, ``n`` training points)."""

    theta: Array  #: final parameters
    initial: Array  #: (m,) :math:`b(x) = f(x;\theta_0)` at the evaluation points
    final: Array  #: (m,) :math:`f(x;\theta_T)`, the trained model
    kernel: Array  #: (m, n) the path kernel :math:`K(x, x_i)`
    weighted: Array  #: (m, n) :math:`\sum_t \gamma\, r_i(t)\, k_t(x, x_i)`
    ntk_initial: Array  #: (m, n) tangent kernel at initialisation :math:`k_0(x, x_i)`
    ntk_final: Array  #: (m, n) tangent kernel at the end :math:`k_T(x, x_i)`
    loss: Array  #: (steps + 1,) training loss

    @property
    def kernel_machine(self) -> Array:
        r""":math:`\sum_i a_i(x) K(x, x_i) + b(x) = b(x) - \frac1n\sum_i \sum_t \gamma r_i(t) k_t(x, x_i)`."""
        return self.initial - self.weighted.mean(axis=1)

    @property
    def coefficients(self) -> Array:
        r""":math:`a_i(x) = -\frac1n \sum_t\gamma r_i(t)k_t(x,x_i)/K(x,x_i)`, shape ``(m, n)`` (0 where K = 0)."""
        n = self.kernel.shape[1]
        out = np.zeros_like(self.kernel)
        np.divide(-self.weighted / n, self.kernel, out=out, where=self.kernel != 0)
        return out


def coefficient_variation(run: PathKernelRun) -> Array:
    r"""How much each coefficient :math:`a_i(x)` of the path-kernel machine varies with the input :math:`x`.

    For each training example :math:`i`, :math:`(\max_x a_i(x) - \min_x a_i(x)) / \operatorname{mean}_x |a_i(x)|`
    over the evaluation points. A kernel machine proper has constant coefficients (0 here); for a model
    linear in its parameters they are constant exactly. Returns shape ``(n,)``.
    """
    a = run.coefficients
    scale = np.abs(a).mean(axis=0)
    return np.ptp(a, axis=0) / np.where(scale > 0, scale, 1.0)


def constant_coefficient_machine(run: PathKernelRun) -> Array:
    r"""The path-kernel machine with each :math:`a_i(x)` replaced by its mean over the evaluation points.

    :math:`b(x) + \sum_i \bar a_i K(x, x_i)`: a kernel machine with constant coefficients, the object
    Domingos' statement names. Its gap to the trained model measures what the :math:`x`-dependence carries.
    """
    return run.initial + run.kernel @ run.coefficients.mean(axis=0)


def train_with_path_kernel(model, theta0, X, y, X_eval, *, lr: float, steps: int) -> PathKernelRun:
    r"""Full-batch gradient descent on :math:`\frac1{2n}\sum_i (f(x_i) - y_i)^2`, accumulating the path kernel.

    At every step, with :math:`G = \nabla_\theta f(X;\theta_t)` and :math:`G_* = \nabla_\theta f(X_*;\theta_t)`:
    :math:`k_t = G_* G^\top`, :math:`K \mathrel{+}= \gamma k_t`, and
    :math:`\theta_{t+1} = \theta_t - \frac\gamma n G^\top r`.

    Parameters
    ----------
    model
        An object with ``predict(theta, X) -> (n,)``, ``param_grad(theta, X) -> (n, P)`` and ``size``
        (:class:`TanhNet`, :class:`LinearModel`).
    theta0 : array_like, shape ``(P,)``
    X, y : training inputs ``(n, d)`` and targets ``(n,)``.
    X_eval : evaluation inputs ``(m, d)`` (held-out points).
    lr, steps : step size > 0 and number of steps >= 0.

    Reference: Domingos (2020), Theorem 1.
    """
    theta = _checks.finite_array("theta0", theta0)
    if theta.shape != (model.size,):
        raise ValueError(f"theta0 must have shape ({model.size},), got {theta.shape}")
    X = _checks.finite_array("X", X, ndim_min=2)
    y = _checks.finite_array("y", y, ndim_min=1)
    X_eval = _checks.finite_array("X_eval", X_eval, ndim_min=2)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
    lr = _checks.positive("lr", lr)
    steps = _checks.count("steps", steps)
    n = X.shape[0]
    initial = model.predict(theta, X_eval)
    kernel = np.zeros((X_eval.shape[0], n))
    weighted = np.zeros_like(kernel)
    loss = np.empty(steps + 1)
    ntk0 = None
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            for t in range(steps + 1):
                G = model.param_grad(theta, X)
                G_eval = model.param_grad(theta, X_eval)
                k = G_eval @ G.T
                if ntk0 is None:
                    ntk0 = k
                r = model.predict(theta, X) - y
                loss[t] = 0.5 * np.mean(r * r)
                if t == steps:
                    break
                kernel += lr * k
                weighted += lr * k * r
                theta = theta - lr * G.T @ r / n
    except FloatingPointError as err:
        raise ValueError(f"gradient descent overflowed at lr={lr!r}: lower lr") from err
    return PathKernelRun(theta, initial, model.predict(theta, X_eval), kernel, weighted, ntk0, k, loss)


def tangent_kernel(model, theta, X1, X2) -> Array:
    r"""The tangent kernel :math:`k(x, x') = \nabla_\theta f(x;\theta)\cdot\nabla_\theta f(x';\theta)`, ``(n1, n2)``."""
    return model.param_grad(theta, X1) @ model.param_grad(theta, X2).T


def ntk_predict(model, theta0, X, y, X_eval, *, time: float) -> Array:
    r"""Prediction of the model linearised at :math:`\theta_0`, trained by gradient flow for ``time``.

    With :math:`\Theta = k_0(X, X)`, :math:`\Theta_* = k_0(X_*, X)` and :math:`f_0` the initial outputs,

    .. math::
        f_t(X_*) = f_0(X_*) - \Theta_*\,\Theta^{-1}\big(I - e^{-\Theta t/n}\big)\big(f_0(X) - y\big)

    (Jacot, Gabriel & Hongler 2018; Lee et al. 2019), computed through the eigen-decomposition of
    :math:`\Theta`, with the limit :math:`t/n` for zero eigenvalues. Gradient descent with step
    :math:`\gamma` for :math:`T` steps corresponds to ``time`` :math:`= T\gamma`.
    """
    time = _checks.positive("time", time, allow_zero=True)
    X = _checks.finite_array("X", X, ndim_min=2)
    y = _checks.finite_array("y", y, ndim_min=1)
    n = X.shape[0]
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {y.shape}")
    G = model.param_grad(theta0, X)
    G_eval = model.param_grad(theta0, X_eval)
    lam, V = np.linalg.eigh(G @ G.T)
    lam = np.maximum(lam, 0.0)
    scaled = lam * time / n
    safe = np.where(lam > 0, lam, 1.0)
    factor = np.where(lam > 0, -np.expm1(-scaled) / safe, time / n)
    r0 = model.predict(theta0, X) - y
    return model.predict(theta0, X_eval) - (G_eval @ G.T) @ (V @ (factor * (V.T @ r0)))
