r"""A softmax policy on a multi-armed bandit: vanilla policy gradient against a KL-constrained natural step.

The policy is :math:`\pi_\theta(a) = \mathrm{softmax}(\theta)_a` over k arms; the objective is the
expected reward :math:`J(\theta) = \sum_a \pi_\theta(a)\, \mu_a`. Its gradient is estimated from a batch
of pulls by REINFORCE {Williams 1992}; the natural step of TRPO {Schulman et al. 2015} solves
:math:`F x = g` with conjugate gradient, scales :math:`x` to the edge of the trust region
:math:`\mathrm{KL}(\pi_{\text{old}} \| \pi_{\text{new}}) \le \delta`, and backtracks until the step both
keeps inside it and improves the surrogate objective.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from gdlens import _checks
from gdlens.natural import conjugate_gradient, softmax

Array = np.ndarray


class Bandit:
    r"""A k-armed bandit with Gaussian rewards :math:`r \sim N(\mu_a, s^2)` for arm a."""

    def __init__(self, means, noise: float = 1.0):
        self.means = _checks.finite_array("means", means, ndim_min=1)
        if self.means.ndim != 1 or self.means.size < 2:
            raise ValueError(f"means must be a vector of at least 2 arms, got {means!r}")
        self.noise = _checks.positive("noise", noise, allow_zero=True)
        self.k = self.means.size
        self.best = float(self.means.max())

    def pull(self, actions, rng: np.random.Generator) -> Array:
        """Rewards for the given arms (integer array), drawn with ``rng``."""
        rng = _checks.generator("rng", rng)
        actions = np.asarray(actions)
        return self.means[actions] + self.noise * rng.standard_normal(actions.shape)


def expected_reward(logits, means) -> Array:
    r""":math:`J(\theta) = \sum_a \pi_\theta(a)\mu_a`, vectorised over leading axes of ``logits``."""
    return softmax(logits) @ _checks.finite_array("means", means, ndim_min=1)


def exact_gradient(logits, means) -> Array:
    r"""The policy gradient :math:`\partial_{\theta_a} J = \pi(a)\,(\mu_a - J)`, vectorised."""
    p = softmax(logits)
    means = _checks.finite_array("means", means, ndim_min=1)
    return p * (means - (p @ means)[..., None])


def policy_fisher(logits) -> Array:
    r"""Fisher of the softmax policy in its logits, :math:`F = \mathrm{diag}(\pi) - \pi\pi^\top`, shape ``(..., k, k)``.

    It is singular along :math:`(1, \dots, 1)` (adding a constant to every logit changes nothing).
    """
    p = softmax(logits)
    return p[..., :, None] * np.eye(p.shape[-1]) - p[..., :, None] * p[..., None, :]


def categorical_kl(p, q) -> Array:
    r""":math:`\mathrm{KL}(p \| q) = \sum_a p_a \log(p_a / q_a)` over the last axis (0 where :math:`p_a = 0`)."""
    p = _checks.finite_array("p", p, ndim_min=1)
    q = _checks.finite_array("q", q, ndim_min=1)
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("p and q must be probability vectors (non-negative)")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - np.log(np.where(p > 0, q, 1.0))), 0.0)
    return terms.sum(axis=-1)


def reinforce_gradient(logits, actions, rewards) -> Array:
    r"""REINFORCE with the batch-mean baseline: :math:`\hat g = \frac1B \sum_j (r_j - \bar r)(e_{a_j} - \pi)`.

    :math:`e_a - \pi` is the score :math:`\nabla_\theta \log \pi_\theta(a)`; the baseline
    :math:`\bar r` lowers the variance (and biases the estimate by a factor :math:`(B-1)/B`).
    """
    logits = _checks.finite_array("logits", logits, ndim_min=1)
    actions = np.asarray(actions)
    rewards = _checks.finite_array("rewards", rewards, ndim_min=1)
    if actions.shape != rewards.shape or actions.ndim != 1:
        raise ValueError(f"actions and rewards must be equal-length vectors, got {actions.shape} and {rewards.shape}")
    p = softmax(logits)
    score = np.eye(p.size)[actions] - p
    return ((rewards - rewards.mean())[:, None] * score).mean(axis=0)


class TrainResult(NamedTuple):
    r"""A training run: logits per iteration ``(steps + 1, k)``, expected reward ``(steps + 1,)``, KL per step.

    ``predicted_kl`` is the quadratic model :math:`\tfrac12 d^\top \mathcal I d` of each step's KL (with
    :math:`\mathcal I` the policy's Fisher before the step), to set against the realised ``kl``;
    ``backtracks`` counts the halvings each natural step needed (0 for vanilla steps, -1 if none was accepted).
    """

    logits: Array
    reward: Array
    kl: Array
    predicted_kl: Array | None = None
    backtracks: Array | None = None


def train(
    bandit: Bandit,
    *,
    method: str,
    steps: int,
    batch: int,
    rng: np.random.Generator,
    lr: float = 1.0,
    max_kl: float = 0.01,
    damping: float = 1e-3,
    backtracks: int = 10,
) -> TrainResult:
    r"""Train a softmax policy from uniform logits by vanilla policy gradient or a TRPO-style natural step.

    ``method="vanilla"``: :math:`\theta \leftarrow \theta + \gamma \hat g`.

    ``method="natural"``: solve :math:`(F + \lambda I)x = \hat g` by :func:`gdlens.natural.conjugate_gradient`,
    take the step :math:`\beta x` with :math:`\beta = \sqrt{2\delta / x^\top F x}` (the edge of the quadratic
    trust region :math:`\tfrac12 d^\top F d \le \delta`), and halve it until the exact
    :math:`\mathrm{KL}(\pi_{\text{old}}\|\pi_{\text{new}}) \le \delta` and the importance-weighted surrogate
    :math:`\frac1B\sum_j \frac{\pi_{\text{new}}(a_j)}{\pi_{\text{old}}(a_j)}(r_j - \bar r)` is positive;
    if no halving succeeds, stay put. Reference: Kakade (2002); Schulman et al. (2015), appendix C.
    """
    if not isinstance(bandit, Bandit):
        raise TypeError(f"bandit must be a Bandit, got {bandit!r}")
    _checks.choice("method", method, ("vanilla", "natural"))
    steps = _checks.count("steps", steps)
    batch = _checks.count("batch", batch, minimum=2)
    rng = _checks.generator("rng", rng)
    lr = _checks.positive("lr", lr)
    max_kl = _checks.positive("max_kl", max_kl)
    damping = _checks.positive("damping", damping)
    backtracks = _checks.count("backtracks", backtracks)
    theta = np.zeros(bandit.k)
    path = np.empty((steps + 1, bandit.k))
    path[0] = theta
    kls, predicted, halvings = np.zeros(steps), np.zeros(steps), np.zeros(steps, dtype=int)
    for t in range(steps):
        p = softmax(theta)
        actions = np.minimum((rng.random((batch, 1)) > np.cumsum(p)).sum(axis=1), bandit.k - 1)
        rewards = bandit.pull(actions, rng)
        g = reinforce_gradient(theta, actions, rewards)
        if method == "vanilla":
            new = theta + lr * g
        else:
            new = theta
            if np.linalg.norm(g) > 1e-12:  # a vanishing gradient (every pull rewarded alike): stay
                fisher = policy_fisher(theta)
                x = conjugate_gradient(lambda v, f=fisher: f @ v, g, damping=damping, tol=1e-8).x
                quad = float(x @ fisher @ x)
                if quad > 1e-300 and np.isfinite(scale := np.sqrt(2 * max_kl / quad)) and scale < 1e100:
                    full = scale * x
                    adv = rewards - rewards.mean()
                    for j in range(backtracks + 1):
                        cand = theta + full * 0.5**j
                        q = softmax(cand)
                        gain = np.mean(q[actions] / p[actions] * adv)
                        if categorical_kl(p, q) <= max_kl and gain > 0:
                            new = cand
                            halvings[t] = j
                            break
                    else:
                        halvings[t] = -1
        step = new - theta
        predicted[t] = 0.5 * float(step @ policy_fisher(theta) @ step)
        new = new - new.max()  # logits are defined up to a constant: keep them bounded
        kls[t] = categorical_kl(p, softmax(new))
        theta = new
        path[t + 1] = theta
    return TrainResult(path, expected_reward(path, bandit.means), kls, predicted, halvings)
