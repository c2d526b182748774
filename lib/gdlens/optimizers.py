r"""Optimizers as pure update rules, and the trajectories they trace.

Each rule is an :class:`Optimizer`, a pair of pure functions in the spirit of optax:
``init(params) -> state`` and ``update(grads, state, params) -> (updates, state)``; the new
parameters are ``params + updates``. :func:`run` iterates a rule from a starting point and returns
the whole trajectory. The helpers :func:`gd`, :func:`momentum`, :func:`adagrad`, :func:`rmsprop`,
:func:`adam` and :func:`newton` do both at once.

The update rules are PyTorch's documented ones (``torch.optim``), exactly, so that a reader's
numbers carry over between the book and a framework.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from gdlens import _checks

Array = np.ndarray
Grad = Callable[[Array], Array]


class Optimizer(NamedTuple):
    """A pure update rule: ``init(params) -> state``, ``update(grads, state, params) -> (updates, state)``."""

    init: Callable[[Array], Any]
    update: Callable[[Array, Any, Array], tuple[Array, Any]]


class MomentumState(NamedTuple):
    buffer: Array
    first: bool


class MomentsState(NamedTuple):
    step: int
    mean: Array
    square: Array
    max_square: Array


# --- rules -----------------------------------------------------------------------------------


def gd_rule(lr: float) -> Optimizer:
    r"""Gradient descent, :math:`\theta_{t+1} = \theta_t - \gamma\, g_t`."""
    lr = _checks.positive("lr", lr)
    return Optimizer(lambda params: None, lambda g, state, params: (-lr * g, state))


def momentum_rule(lr: float, beta: float = 0.9, nesterov: bool = False) -> Optimizer:
    r"""Heavy-ball momentum as ``torch.optim.SGD(momentum=beta, dampening=0, nesterov=...)``.

    .. math::
        b_t = \beta b_{t-1} + g_t \ (b_1 = g_1), \qquad
        \theta_{t+1} = \theta_t - \gamma \begin{cases} g_t + \beta b_t & \text{Nesterov} \\
        b_t & \text{otherwise.} \end{cases}

    Reference: Polyak (1964); Sutskever et al. (2013) for the Nesterov form.
    """
    lr = _checks.positive("lr", lr)
    beta = _checks.in_interval("beta", beta, 0.0, 1.0)

    def update(g, state, params):
        buffer = g.copy() if state.first else beta * state.buffer + g
        direction = g + beta * buffer if nesterov else buffer
        return -lr * direction, MomentumState(buffer, False)

    return Optimizer(lambda params: MomentumState(np.zeros_like(params), True), update)


def _moments_init(params: Array) -> MomentsState:
    zeros = np.zeros_like(params)
    return MomentsState(0, zeros, zeros, zeros)


def adagrad_rule(lr: float, eps: float = 1e-10) -> Optimizer:
    r"""AdaGrad as ``torch.optim.Adagrad`` (no learning-rate decay, zero initial accumulator).

    .. math:: s_t = s_{t-1} + g_t^2, \qquad \theta_{t+1} = \theta_t - \gamma\, g_t / (\sqrt{s_t} + \epsilon)

    Reference: Duchi, Hazan & Singer (2011).
    """
    lr = _checks.positive("lr", lr)
    eps = _checks.positive("eps", eps, allow_zero=True)

    def update(g, state, params):
        square = state.square + g * g
        return -lr * g / (np.sqrt(square) + eps), state._replace(step=state.step + 1, square=square)

    return Optimizer(_moments_init, update)


def rmsprop_rule(lr: float, alpha: float = 0.99, eps: float = 1e-8) -> Optimizer:
    r"""RMSprop as ``torch.optim.RMSprop`` (eps added after the square root, no momentum).

    .. math::
        v_t = \alpha v_{t-1} + (1-\alpha) g_t^2, \qquad
        \theta_{t+1} = \theta_t - \gamma\, g_t / (\sqrt{v_t} + \epsilon)

    Reference: Tieleman & Hinton (2012), lecture 6.5.
    """
    lr = _checks.positive("lr", lr)
    alpha = _checks.in_interval("alpha", alpha, 0.0, 1.0)
    eps = _checks.positive("eps", eps, allow_zero=True)

    def update(g, state, params):
        square = alpha * state.square + (1 - alpha) * g * g
        return -lr * g / (np.sqrt(square) + eps), state._replace(step=state.step + 1, square=square)

    return Optimizer(_moments_init, update)


def adam_rule(
    lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, amsgrad: bool = False
) -> Optimizer:
    r"""Adam as ``torch.optim.Adam`` (bias-corrected; ``amsgrad`` keeps the running maximum of :math:`v`).

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        \theta_{t+1} = \theta_t - \frac{\gamma}{1-\beta_1^t}\, \frac{m_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}

    References: Kingma & Ba (2015); Reddi, Kale & Kumar (2018) for AMSGrad.
    """
    lr = _checks.positive("lr", lr)
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    b1 = _checks.in_interval("betas[0]", betas[0], 0.0, 1.0)
    b2 = _checks.in_interval("betas[1]", betas[1], 0.0, 1.0)
    eps = _checks.positive("eps", eps, allow_zero=True)

    def update(g, state, params):
        t = state.step + 1
        mean = b1 * state.mean + (1 - b1) * g
        square = b2 * state.square + (1 - b2) * g * g
        max_square = np.maximum(state.max_square, square) if amsgrad else square
        denom = np.sqrt(max_square) / np.sqrt(1 - b2**t) + eps
        return -lr / (1 - b1**t) * mean / denom, MomentsState(t, mean, square, max_square)

    return Optimizer(_moments_init, update)


def newton_rule(hess: Callable[[Array], Array], lr: float = 1.0) -> Optimizer:
    r"""Damped Newton's method, :math:`\theta_{t+1} = \theta_t - \gamma\, H(\theta_t)^{-1} g_t`.

    ``hess(params)`` returns the Hessian as an ``(n, n)`` array, ``n = params.size``.
    Reference: Nocedal & Wright, *Numerical Optimization* (2006), ch. 3.
    """
    lr = _checks.positive("lr", lr)
    _checks.function("hess", hess)

    def update(g, state, params):
        h = np.asarray(hess(params), dtype=np.float64)
        if h.shape != (params.size, params.size):
            raise ValueError(f"hess must return shape {(params.size, params.size)}, got {h.shape}")
        try:
            step = np.linalg.solve(h, g.reshape(-1))
        except np.linalg.LinAlgError:  # singular Hessian: no Newton step exists
            step = np.full(params.size, np.nan)
        return -lr * step.reshape(params.shape), state

    return Optimizer(lambda params: None, update)


# --- trajectories ----------------------------------------------------------------------------


def run(rule: Optimizer, grad: Grad, x0, *, steps: int) -> Array:
    """Iterate ``rule`` from ``x0`` for ``steps`` steps with gradients from ``grad``.

    Parameters
    ----------
    rule : Optimizer
        The update rule.
    grad : callable
        ``grad(x)`` returns the (possibly stochastic) gradient at ``x``, with the shape of ``x``.
    x0 : array_like
        Starting point, of any shape, finite.
    steps : int
        Number of updates, >= 0.

    Returns
    -------
    ndarray, shape ``(steps + 1, *np.shape(x0))``, float64
        Row 0 is ``x0``. If the iterates overflow, the run stops: the first non-finite row and all
        later rows are nan (see :func:`diverged`), and no numpy warning is emitted.
    """
    if not isinstance(rule, Optimizer):
        raise TypeError(f"rule must be an Optimizer, got {rule!r}")
    _checks.function("grad", grad)
    x = _checks.finite_array("x0", x0)
    steps = _checks.count("steps", steps)
    path = np.full((steps + 1, *x.shape), np.nan)
    path[0] = x
    state = rule.init(x)
    with np.errstate(all="ignore"):
        for k in range(steps):
            g = np.asarray(grad(x), dtype=np.float64)
            if g.shape != x.shape:
                raise ValueError(f"grad must return an array of shape {x.shape}, got shape {g.shape}")
            updates, state = rule.update(g, state, x)
            x = x + updates
            if not np.all(np.isfinite(x)):
                break
            path[k + 1] = x
    return path


def diverged(trajectory) -> bool:
    """True when a trajectory from :func:`run` stopped because its iterates overflowed."""
    return not bool(np.all(np.isfinite(np.asarray(trajectory, dtype=np.float64))))


def gd(grad: Grad, x0, *, lr: float, steps: int) -> Array:
    r"""Gradient descent :math:`\theta_{t+1} = \theta_t - \gamma \nabla L(\theta_t)`; see :func:`run`."""
    return run(gd_rule(lr), grad, x0, steps=steps)


def momentum(grad: Grad, x0, *, lr: float, steps: int, beta: float = 0.9, nesterov: bool = False) -> Array:
    """Heavy-ball or Nesterov momentum (:func:`momentum_rule`); see :func:`run`."""
    return run(momentum_rule(lr, beta, nesterov), grad, x0, steps=steps)


def adagrad(grad: Grad, x0, *, lr: float, steps: int, eps: float = 1e-10) -> Array:
    """AdaGrad (:func:`adagrad_rule`); see :func:`run`."""
    return run(adagrad_rule(lr, eps), grad, x0, steps=steps)


def rmsprop(grad: Grad, x0, *, lr: float, steps: int, alpha: float = 0.99, eps: float = 1e-8) -> Array:
    """RMSprop (:func:`rmsprop_rule`); see :func:`run`."""
    return run(rmsprop_rule(lr, alpha, eps), grad, x0, steps=steps)


def adam(
    grad: Grad,
    x0,
    *,
    lr: float,
    steps: int,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    amsgrad: bool = False,
) -> Array:
    """Adam or AMSGrad (:func:`adam_rule`); see :func:`run`."""
    return run(adam_rule(lr, betas, eps, amsgrad), grad, x0, steps=steps)


def newton(grad: Grad, hess: Callable[[Array], Array], x0, *, lr: float = 1.0, steps: int) -> Array:
    """Newton's method (:func:`newton_rule`); see :func:`run`."""
    return run(newton_rule(hess, lr), grad, x0, steps=steps)


# --- line search -----------------------------------------------------------------------------


class LineSearchPath(NamedTuple):
    """The result of :func:`armijo_gd`: the iterates, the accepted steps and the work done."""

    path: Array  # shape (steps + 1, *x0.shape); nan rows after an early stop
    lrs: Array  # the accepted step gamma_t of each update, shape (steps,); nan where none was taken
    value_evals: int  # evaluations of the loss (one per trial step, plus one per iterate)
    grad_evals: int  # evaluations of the gradient (one per iterate)


def armijo_gd(
    value: Callable[[Array], Array],
    grad: Grad,
    x0,
    *,
    steps: int,
    lr0: float = 1.0,
    shrink: float = 0.5,
    c: float = 1e-4,
    max_backtracks: int = 60,
    grow: float | None = None,
) -> LineSearchPath:
    r"""Gradient descent with a backtracking (Armijo) line search.

    At each iterate the trial steps :math:`\gamma = \gamma_0, \gamma_0 s, \gamma_0 s^2, \dots` are tried in
    turn, and the first one with sufficient decrease,

    .. math:: L(\theta_t - \gamma \nabla L(\theta_t)) \le L(\theta_t) - c\, \gamma\, \lVert \nabla L(\theta_t) \rVert^2,

    is taken: :math:`\theta_{t+1} = \theta_t - \gamma \nabla L(\theta_t)`. On a function whose gradient is
    :math:`\lambda_{\max}`-Lipschitz every :math:`\gamma \le 2(1-c)/\lambda_{\max}` passes, so the accepted
    step is at least :math:`\min(\gamma_0, 2 s (1-c)/\lambda_{\max})`, and no bound on the curvature has to
    be known in advance. Reference: Armijo (1966); Nocedal & Wright (2006), Algorithm 3.1.

    Parameters
    ----------
    value, grad : the loss and its gradient at one point.
    x0 : starting point, finite.
    steps : number of updates, >= 0. The run stops early (remaining rows nan) at a stationary point
        (zero gradient) or when no trial step within ``max_backtracks`` halvings passes.
    lr0 : first trial step, > 0.
    shrink : factor s in (0, 1) between trial steps.
    c : sufficient-decrease constant in (0, 1).
    max_backtracks : largest number of shrinkings per step, >= 1.
    grow : if given (>= 1), the first trial step of each iterate after the first is
        ``min(lr0, grow * gamma_prev)`` instead of ``lr0``: a warm start that saves loss evaluations.
    """
    _checks.function("value", value)
    _checks.function("grad", grad)
    x = _checks.finite_array("x0", x0)
    steps = _checks.count("steps", steps)
    lr0 = _checks.positive("lr0", lr0)
    shrink = _checks.in_interval("shrink", shrink, 0.0, 1.0)
    c = _checks.in_interval("c", c, 0.0, 1.0)
    if shrink == 0.0 or c == 0.0:
        raise ValueError(f"shrink and c must lie in the open interval (0, 1), got shrink={shrink!r}, c={c!r}")
    max_backtracks = _checks.count("max_backtracks", max_backtracks, minimum=1)
    if grow is not None:
        grow = _checks.positive("grow", grow)
        if grow < 1:
            raise ValueError(f"grow must be >= 1, got {grow!r}")
    path = np.full((steps + 1, *x.shape), np.nan)
    lrs = np.full(steps, np.nan)
    path[0] = x
    fx = float(value(x))
    n_value, n_grad = 1, 0
    with np.errstate(all="ignore"):
        for k in range(steps):
            g = np.asarray(grad(x), dtype=np.float64)
            n_grad += 1
            if g.shape != x.shape:
                raise ValueError(f"grad must return an array of shape {x.shape}, got shape {g.shape}")
            gg = float(np.sum(g * g))
            if gg == 0.0:
                break
            lr = lr0 if grow is None or k == 0 else min(lr0, grow * lrs[k - 1])
            for _ in range(max_backtracks + 1):
                trial = x - lr * g
                f_trial = float(value(trial))
                n_value += 1
                if np.isfinite(f_trial) and f_trial <= fx - c * lr * gg:
                    break
                lr *= shrink
            else:
                break
            x, fx = trial, f_trial
            path[k + 1] = x
            lrs[k] = lr
    return LineSearchPath(path, lrs, n_value, n_grad)
