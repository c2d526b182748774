r"""The linear SimSiam of Tian, Chen & Ganguli (2021): why a predictor and a stop-gradient prevent collapse.

Inputs :math:`x \sim \mathcal N(0, I_d)`; two views :math:`x_1 = x + \sigma\epsilon_1`,
:math:`x_2 = x + \sigma\epsilon_2` with independent :math:`\epsilon_i \sim \mathcal N(0, I_d)`. An online
encoder :math:`W` and a predictor :math:`W_p` (both :math:`d \times d`) try to match the target
encoder's output on the other view:

.. math::
    J(W, W_p) = \tfrac12\, \mathbb E\, \big\lVert W_p W x_1 - \mathrm{sg}(W) x_2 \big\rVert^2
    + \tfrac{\omega}{2}\big(\lVert W\rVert_F^2 + \lVert W_p\rVert_F^2\big),

where :math:`\mathrm{sg}` (stop-gradient) means the target's :math:`W` is treated as a constant.
Expectations are taken exactly (:math:`\mathbb E[x_1x_1^\top] = (1+\sigma^2) I`,
:math:`\mathbb E[x_2 x_1^\top] = I`), so training is deterministic gradient descent on the population
objective: the dynamics of the paper, discretised with step ``lr``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gdlens import _checks

Array = np.ndarray


class SimSiamRun(NamedTuple):
    """Result of :func:`train_linear_simsiam`."""

    W: Array  #: final encoder
    P: Array  #: final predictor (the identity when trained without one)
    spread: Array  #: (steps + 1,) variance of the representation per dimension, :math:`\lVert W\rVert_F^2/d`
    loss: Array  #: (steps + 1,) the prediction loss :math:`J` without the weight-decay term


def simsiam_loss(W, P, *, noise: float) -> float:
    r"""The population loss (without weight decay).

    .. math:: J = \tfrac12\lVert W_pW - W\rVert_F^2 + \tfrac{\sigma^2}{2}(\lVert W_pW\rVert_F^2 + \lVert W\rVert_F^2)
    """
    W = _checks.finite_array("W", W)
    P = _checks.finite_array("P", P)
    s2 = _checks.positive("noise", noise, allow_zero=True) ** 2
    PW = P @ W
    return float(0.5 * np.sum((PW - W) ** 2) + 0.5 * s2 * (np.sum(PW**2) + np.sum(W**2)))


def simsiam_grads(W, P, *, noise: float, stop_gradient: bool = True) -> tuple[Array, Array]:
    r"""Gradients of the loss (without weight decay) with respect to :math:`W` and :math:`W_p`.

    With :math:`E = W_pW(1+\sigma^2) - W`, the online branch gives :math:`\partial_W = W_p^\top E` and
    :math:`\partial_{W_p} = E W^\top`. Without the stop-gradient the target branch adds
    :math:`-(W_pW - (1+\sigma^2) W)` to :math:`\partial_W`.
    """
    W = _checks.finite_array("W", W)
    P = _checks.finite_array("P", P)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or P.shape != W.shape:
        raise ValueError(f"W and P must be square matrices of the same shape, got {W.shape} and {P.shape}")
    s2 = _checks.positive("noise", noise, allow_zero=True) ** 2
    E = (1 + s2) * P @ W - W
    gW = P.T @ E
    if not stop_gradient:
        gW = gW - (P @ W - (1 + s2) * W)
    return gW, E @ W.T


def train_linear_simsiam(
    W0,
    P0,
    *,
    noise: float,
    weight_decay: float,
    lr: float,
    steps: int,
    stop_gradient: bool = True,
    predictor: bool = True,
) -> SimSiamRun:
    r"""Gradient descent on the linear SimSiam objective, with or without stop-gradient and predictor.

    .. math::
        W \leftarrow W - \gamma(\partial_W J + \omega W), \qquad
        W_p \leftarrow W_p - \gamma(\partial_{W_p} J + \omega W_p)

    (``predictor=False`` fixes :math:`W_p = I`). Reference: Tian, Chen & Ganguli (2021), Eqs. (3)–(4).
    """
    W = _checks.finite_array("W0", W0)
    P = _checks.finite_array("P0", P0) if predictor else np.eye(W.shape[0])
    if W.ndim != 2 or W.shape[0] != W.shape[1] or P.shape != W.shape:
        raise ValueError(f"W0 and P0 must be square matrices of the same shape, got {W.shape} and {P.shape}")
    noise = _checks.positive("noise", noise, allow_zero=True)
    eta = _checks.positive("weight_decay", weight_decay, allow_zero=True)
    lr = _checks.positive("lr", lr)
    steps = _checks.count("steps", steps)
    d = W.shape[0]
    spread = np.empty(steps + 1)
    loss = np.empty(steps + 1)
    spread[0], loss[0] = np.sum(W**2) / d, simsiam_loss(W, P, noise=noise)
    for k in range(steps):
        gW, gP = simsiam_grads(W, P, noise=noise, stop_gradient=stop_gradient)
        W = W - lr * (gW + eta * W)
        if predictor:
            P = P - lr * (gP + eta * P)
        spread[k + 1], loss[k + 1] = np.sum(W**2) / d, simsiam_loss(W, P, noise=noise)
    return SimSiamRun(W, P, spread, loss)


def simsiam_fixed_point(*, noise: float, weight_decay: float) -> float:
    r"""The non-collapsed stable fixed point of the aligned one-mode dynamics.

    For a mode with encoder singular value :math:`w` and predictor eigenvalue :math:`p`, the flow
    :math:`\dot w = -p w\,(p(1+\sigma^2) - 1) - \omega w`, :math:`\dot p = -w^2(p(1+\sigma^2) - 1) - \omega p`
    rests at :math:`|w| = p` with

    .. math:: p = \frac{1 + \sqrt{1 - 4\omega(1+\sigma^2)}}{2(1+\sigma^2)},

    which exists when :math:`4\omega(1+\sigma^2) \le 1`. Returns :math:`p` (so the spread is :math:`p^2`).
    """
    s2 = _checks.positive("noise", noise, allow_zero=True) ** 2
    eta = _checks.positive("weight_decay", weight_decay, allow_zero=True)
    disc = 1 - 4 * eta * (1 + s2)
    if disc < 0:
        raise ValueError(
            f"weight_decay too large for a non-collapsed fixed point: 4 eta (1 + noise^2) = {1 - disc!r} > 1"
        )
    return float((1 + np.sqrt(disc)) / (2 * (1 + s2)))


def simsiam_jacobian(*, noise: float, weight_decay: float) -> tuple[Array, Array]:
    r"""Jacobian of the one-mode flow at its non-collapsed fixed point, and its eigenvalues (ascending real part).

    With :math:`s = 1 + \sigma^2` and :math:`|w| = p` from :func:`simsiam_fixed_point`,

    .. math::
        J = \begin{pmatrix} 0 & \omega - p^2 s \\ 2\omega & -p^2 s - \omega \end{pmatrix}, \qquad
        \text{eigenvalues } -2\omega \text{ and } -(p^2 s - \omega),

    (:math:`\omega` the weight decay): the slow eigenvalue :math:`-2\omega` vanishes with the weight decay. At
    :math:`\omega = 0` the fixed points form a line (:math:`p = 1/s`, any :math:`w`): neutral, not attracting,
    and where training stops depends on where it started. Discretised with step :math:`\gamma`, the slow mode
    contracts by :math:`1 - 2\gamma\omega` per step.
    """
    s2 = _checks.positive("noise", noise, allow_zero=True) ** 2
    eta = _checks.positive("weight_decay", weight_decay, allow_zero=True)
    p = simsiam_fixed_point(noise=noise, weight_decay=weight_decay)
    s = 1 + s2
    J = np.array([[0.0, eta - p * p * s], [2 * eta, -p * p * s - eta]])
    ev = np.linalg.eigvals(J)
    return J, ev[np.argsort(-ev.real)]
