"""Finite-sum losses: gradients against finite differences, unbiased mini-batches, SGD reaching the minimum."""

import numpy as np
import pytest

from gdlens.finite_sum import LeastSquares, linear_regression, sgd_epochs
from gdlens.landscapes import check_grad


@pytest.fixture
def problem():
    X, y, _ = linear_regression(500, 4, noise=0.3, rng=np.random.default_rng(0))
    return LeastSquares(X, y)


def test_gradient_matches_finite_differences(problem):
    theta = np.random.default_rng(1).standard_normal((3, 4))
    assert check_grad(problem.loss, problem.grad, theta) < 1e-7


def test_per_sample_gradients_average_to_the_full_gradient(problem):
    theta = np.ones(4)
    np.testing.assert_allclose(problem.per_sample_grads(theta).mean(axis=0), problem.grad(theta), atol=1e-13)


def test_minibatch_gradient_is_unbiased_over_all_batches(problem):
    # averaging the gradients of the batches of a partition into equal parts gives the full gradient exactly
    theta = np.full(4, 0.5)
    order = np.random.default_rng(2).permutation(problem.n)
    batches = np.split(order, 10)
    mean = np.mean([problem.grad(theta, b) for b in batches], axis=0)
    np.testing.assert_allclose(mean, problem.grad(theta), atol=1e-13)


def test_minimizer_is_stationary_and_hessian_is_the_gram_matrix(problem):
    np.testing.assert_allclose(problem.grad(problem.minimizer()), 0.0, atol=1e-12)
    np.testing.assert_allclose(problem.hessian(), problem.X.T @ problem.X / problem.n)


def test_full_batch_epochs_are_gradient_descent(problem):
    from gdlens.optimizers import gd

    losses = sgd_epochs(problem, np.zeros(4), lr=0.3, epochs=5, batch_size=problem.n, rng=np.random.default_rng(3))
    path = gd(problem.grad, np.zeros(4), lr=0.3, steps=5)
    np.testing.assert_allclose(losses, problem.loss(path), rtol=1e-12)


def test_sgd_reaches_the_noise_floor(problem):
    floor = problem.loss(problem.minimizer())
    losses = sgd_epochs(problem, np.zeros(4), lr=0.01, epochs=20, batch_size=8, rng=np.random.default_rng(4))
    # with step 0.01 and batch 8 the stationary excess loss is about lr * tr(H Sigma) / (4 B) ~ 1e-4
    assert losses[-1] - floor < 5e-3 * losses[0]


def test_divergence_is_reported_not_warned(problem):
    losses = sgd_epochs(problem, np.zeros(4), lr=50.0, epochs=300, batch_size=problem.n, rng=np.random.default_rng(5))
    assert np.isnan(losses[-1]) and np.isfinite(losses[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"lr": 0.0}, ValueError, "lr"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 10_000}, ValueError, "batch_size"),
        ({"epochs": -1}, ValueError, "epochs"),
        ({"rng": 3}, TypeError, "rng"),
    ],
)
def test_bad_input(problem, kwargs, error, name):
    args = {"lr": 0.1, "epochs": 1, "batch_size": 10, "rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(error, match=name):
        sgd_epochs(problem, np.zeros(4), **args)


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="X must be"):
        LeastSquares(np.ones((3, 2)), np.ones(4))
    with pytest.raises(ValueError, match="theta"):
        LeastSquares(np.ones((3, 2)), np.ones(3)).loss(np.ones(3))
