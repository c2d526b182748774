"""Softmax policy on a bandit: exact gradient, REINFORCE, policy Fisher, and the KL trust region."""

import numpy as np
import pytest

from gdlens import policy as pol
from gdlens.landscapes import check_grad

MEANS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])


def test_exact_gradient_matches_finite_differences():
    logits = np.random.default_rng(0).standard_normal((3, 5))
    assert check_grad(lambda z: pol.expected_reward(z, MEANS), lambda z: pol.exact_gradient(z, MEANS), logits) < 1e-8


def test_reinforce_is_unbiased_up_to_the_baseline_factor():
    rng = np.random.default_rng(1)
    bandit = pol.Bandit(MEANS, noise=1.0)
    logits = np.array([0.5, -0.2, 0.0, 0.3, -0.4])
    p = pol.softmax(logits)
    batch, reps = 8, 20_000
    actions = np.minimum((rng.random((reps, batch, 1)) > np.cumsum(p)).sum(axis=-1), 4)
    rewards = bandit.pull(actions, rng)
    g = np.array([pol.reinforce_gradient(logits, a, r) for a, r in zip(actions, rewards, strict=True)])
    se = g.std(axis=0) / np.sqrt(reps)
    expected = (batch - 1) / batch * pol.exact_gradient(logits, MEANS)  # the batch-mean baseline's bias
    assert np.all(np.abs(g.mean(axis=0) - expected) < 4 * se)  # 4 standard errors


def test_policy_fisher_is_hessian_of_kl_and_score_outer_product():
    logits = np.array([0.3, -1.0, 0.7])
    p = pol.softmax(logits)
    scores = np.eye(3) - p  # row a: score of action a
    np.testing.assert_allclose(
        pol.policy_fisher(logits), (p[:, None, None] * scores[:, :, None] * scores[:, None, :]).sum(0)
    )
    d = np.array([1e-3, -2e-3, 0.5e-3])
    kl = pol.categorical_kl(p, pol.softmax(logits + d))
    assert kl == pytest.approx(0.5 * d @ pol.policy_fisher(logits) @ d, rel=1e-2)  # O(|d|) relative remainder
    np.testing.assert_allclose(pol.policy_fisher(logits) @ np.ones(3), 0.0, atol=1e-15)  # singular along ones


def test_categorical_kl_handles_zeros_and_rejects_negative():
    assert pol.categorical_kl(np.array([1.0, 0.0]), np.array([0.5, 0.5])) == pytest.approx(np.log(2))
    with pytest.raises(ValueError, match="probability"):
        pol.categorical_kl(np.array([1.5, -0.5]), np.array([0.5, 0.5]))


def test_natural_steps_respect_the_trust_region_and_improve():
    bandit = pol.Bandit(MEANS, noise=1.0)
    runs = [
        pol.train(bandit, method="natural", steps=60, batch=16, rng=np.random.default_rng(s), max_kl=0.02)
        for s in range(10)
    ]
    assert all(np.all(r.kl <= 0.02 + 1e-12) for r in runs)
    assert runs[0].reward[0] == pytest.approx(MEANS.mean())
    # from 0.5 (uniform) to above 0.9 on average over seeds; a single run may settle on the 0.75 arm
    assert np.mean([r.reward[-1] for r in runs]) > 0.9


def test_vanilla_large_step_leaves_the_trust_region():
    bandit = pol.Bandit(MEANS, noise=1.0)
    res = pol.train(bandit, method="vanilla", steps=30, batch=16, rng=np.random.default_rng(3), lr=100.0)
    assert res.kl.max() > 1.0  # one step moves the policy by more than a nat


def test_train_is_reproducible_and_validates():
    bandit = pol.Bandit(MEANS)
    a = pol.train(bandit, method="natural", steps=5, batch=4, rng=np.random.default_rng(4))
    b = pol.train(bandit, method="natural", steps=5, batch=4, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a.logits, b.logits)
    with pytest.raises(ValueError, match="method"):
        pol.train(bandit, method="ppo", steps=5, batch=4, rng=np.random.default_rng(4))
    with pytest.raises(TypeError, match="rng"):
        pol.train(bandit, method="vanilla", steps=5, batch=4, rng=4)
    with pytest.raises(ValueError, match="means"):
        pol.Bandit([1.0])


def test_quadratic_kl_model_is_accurate_for_small_natural_steps():
    bandit = pol.Bandit(MEANS, noise=1.0)
    res = pol.train(bandit, method="natural", steps=3, batch=16, rng=np.random.default_rng(0), max_kl=0.001)
    ok = res.predicted_kl > 0
    # at a small budget the cubic remainder is O(sqrt(delta)) ~ 3% relative
    np.testing.assert_allclose(res.kl[ok], res.predicted_kl[ok], rtol=0.1)
    assert res.backtracks.shape == (3,)
