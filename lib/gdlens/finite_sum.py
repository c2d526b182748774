r"""Losses that are averages over a data set, and their full, per-sample and mini-batch gradients.

A training loss is a finite sum, :math:`L(\theta) = \frac1n \sum_{i=1}^n \ell_i(\theta)`; its full
gradient touches all n samples, a mini-batch gradient only B of them. The least-squares problem here is
the book's simplest such loss, with closed-form minimiser and Hessian.
"""

from __future__ import annotations

import numpy as np

from gdlens import _checks

Array = np.ndarray


class LeastSquares:
    r"""Mean squared error of a linear model, :math:`L(\theta) = \frac{1}{2n} \|X\theta - y\|^2`.

    Its gradient is :math:`\frac1n X^\top (X\theta - y)`, its Hessian :math:`\frac1n X^\top X`, and
    the per-sample losses :math:`\ell_i = \tfrac12 (x_i^\top\theta - y_i)^2` average to it.
    """

    def __init__(self, X, y):
        self.X = _checks.finite_array("X", X)
        self.y = _checks.finite_array("y", y)
        if self.X.ndim != 2 or self.y.shape != (self.X.shape[0],):
            raise ValueError(f"X must be (n, d) and y (n,), got shapes {self.X.shape} and {self.y.shape}")
        self.n, self.dim = self.X.shape

    def _theta(self, theta) -> Array:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape[-1:] != (self.dim,):
            raise ValueError(f"theta must have last axis of length {self.dim}, got shape {theta.shape}")
        return theta

    def loss(self, theta) -> Array:
        """Full loss, vectorised over leading axes of ``theta``."""
        r = self._theta(theta) @ self.X.T - self.y
        return 0.5 * np.mean(r**2, axis=-1)

    def grad(self, theta, batch=None) -> Array:
        """Gradient of the mean loss over ``batch`` (indices into the data; all samples if None)."""
        theta = self._theta(theta)
        X, y = (self.X, self.y) if batch is None else (self.X[batch], self.y[batch])
        return (theta @ X.T - y) @ X / len(y)

    def per_sample_grads(self, theta) -> Array:
        """Every sample's gradient, shape ``(n, d)``: their mean is :meth:`grad`."""
        theta = self._theta(theta)
        return (self.X @ theta - self.y)[:, None] * self.X

    def hessian(self) -> Array:
        return self.X.T @ self.X / self.n

    def minimizer(self) -> Array:
        """The least-squares solution (normal equations)."""
        return np.linalg.solve(self.X.T @ self.X, self.X.T @ self.y)


def linear_regression(n: int, dim: int, *, noise: float, rng: np.random.Generator) -> tuple[Array, Array, Array]:
    r"""Synthetic data :math:`y = X\theta^\star + \sigma\varepsilon` with standard normal X and noise.

    Returns ``(X, y, theta_star)``.
    """
    n = _checks.count("n", n, minimum=1)
    dim = _checks.count("dim", dim, minimum=1)
    noise = _checks.positive("noise", noise, allow_zero=True)
    rng = _checks.generator("rng", rng)
    theta_star = rng.standard_normal(dim)
    X = rng.standard_normal((n, dim))
    y = X @ theta_star + noise * rng.standard_normal(n)
    return X, y, theta_star


def sgd_epochs(
    problem: LeastSquares, theta0, *, lr: float, epochs: int, batch_size: int, rng: np.random.Generator
) -> Array:
    r"""Mini-batch SGD, :math:`\theta \leftarrow \theta - \gamma \nabla L_B(\theta)`, over shuffled epochs.

    Each epoch visits every sample once in a fresh random order, in batches of ``batch_size``
    (``batch_size = n`` is full-batch gradient descent, ``1`` is plain SGD). Returns the full loss
    after every epoch, shape ``(epochs + 1,)``; a diverging run fills the rest with nan.
    Reference: Robbins & Monro (1951); Bottou, Curtis & Nocedal (2018).
    """
    lr = _checks.positive("lr", lr)
    epochs = _checks.count("epochs", epochs)
    batch_size = _checks.count("batch_size", batch_size, minimum=1)
    if batch_size > problem.n:
        raise ValueError(f"batch_size must be <= n = {problem.n}, got {batch_size}")
    rng = _checks.generator("rng", rng)
    theta = _checks.finite_array("theta0", theta0).copy()
    losses = np.full(epochs + 1, np.nan)
    losses[0] = problem.loss(theta)
    with np.errstate(all="ignore"):
        for e in range(epochs):
            order = rng.permutation(problem.n)
            for start in range(0, problem.n, batch_size):
                theta -= lr * problem.grad(theta, order[start : start + batch_size])
            if not np.all(np.isfinite(theta)):
                break
            losses[e + 1] = problem.loss(theta)
    return losses


def minibatch_covariance(problem: LeastSquares, theta, *, batch_size: int, replace: bool = False) -> Array:
    r"""The exact covariance of the mini-batch gradient :math:`g_B` over uniformly drawn batches of size B.

    With per-sample gradients :math:`g_i`, their mean :math:`\bar g = \nabla L(\theta)` and
    :math:`S = \frac{1}{n-1} \sum_i (g_i - \bar g)(g_i - \bar g)^\top` (divisor :math:`n - 1`), the mean of B
    of them drawn **without** replacement has

    .. math:: \operatorname{Cov}(g_B) = \Big(1 - \frac{B}{n}\Big) \frac{S}{B},

    the finite-population correction (Cochran 1977, Thm 2.2); drawn **with** replacement it has
    :math:`\frac{n-1}{n} \frac{S}{B} = \Sigma / B`, with :math:`\Sigma` the covariance of divisor n. The trace
    is the mean squared error :math:`\mathbb{E}\lVert g_B - \nabla L \rVert^2`. Returns a ``(d, d)`` array.
    """
    if not isinstance(problem, LeastSquares):
        raise TypeError(f"problem must be a LeastSquares, got {problem!r}")
    theta = problem._theta(theta)
    if theta.ndim != 1:
        raise ValueError(f"theta must be one point of shape ({problem.dim},), got shape {theta.shape}")
    batch_size = _checks.count("batch_size", batch_size, minimum=1)
    replace = _checks.flag("replace", replace)
    n = problem.n
    if n < 2:
        raise ValueError(f"a covariance needs n >= 2 samples, got n = {n}")
    if not replace and batch_size > n:
        raise ValueError(f"batch_size must be <= n = {n} without replacement, got {batch_size}")
    r = problem.X @ theta - problem.y
    G = r[:, None] * problem.X
    Gc = G - G.mean(axis=0)
    S = Gc.T @ Gc / (n - 1)
    factor = (n - 1) / n if replace else 1.0 - batch_size / n
    return factor * S / batch_size


def minibatch_grads(
    problem: LeastSquares, theta, *, batch_size: int, draws: int, rng: np.random.Generator, replace: bool = False
) -> Array:
    r"""``draws`` independent mini-batch gradients :math:`g_B = \frac1B \sum_{i \in \mathcal B} \nabla \ell_i(\theta)`.

    Each batch :math:`\mathcal B` is B indices drawn uniformly, without replacement (a uniformly random
    subset, as one batch of a shuffled epoch) or with replacement. Their mean is :math:`\nabla L(\theta)`
    and their covariance :func:`minibatch_covariance`. Returns shape ``(draws, d)``.
    """
    if not isinstance(problem, LeastSquares):
        raise TypeError(f"problem must be a LeastSquares, got {problem!r}")
    theta = problem._theta(theta)
    if theta.ndim != 1:
        raise ValueError(f"theta must be one point of shape ({problem.dim},), got shape {theta.shape}")
    batch_size = _checks.count("batch_size", batch_size, minimum=1)
    draws = _checks.count("draws", draws, minimum=1)
    rng = _checks.generator("rng", rng)
    replace = _checks.flag("replace", replace)
    n, d = problem.n, problem.dim
    if not replace and batch_size > n:
        raise ValueError(f"batch_size must be <= n = {n} without replacement, got {batch_size}")
    G = (problem.X @ theta - problem.y)[:, None] * problem.X
    out = np.empty((draws, d))
    chunk = max(1, min(draws, 2**22 // max(n, batch_size * d)))
    for lo in range(0, draws, chunk):
        m = min(chunk, draws - lo)
        if replace:
            idx = rng.integers(n, size=(m, batch_size))
            out[lo : lo + m] = G[idx].mean(axis=1)
        else:  # the B smallest of n uniform keys are a uniformly random B-subset
            keys = rng.random((m, n))
            if batch_size == n:
                mask = np.ones((m, n))
            else:
                kth = np.partition(keys, batch_size - 1, axis=1)[:, batch_size - 1 : batch_size]
                mask = (keys <= kth).astype(np.float64)
            out[lo : lo + m] = mask @ G / batch_size
    return out
