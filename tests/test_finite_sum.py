"""Finite-sum losses: gradients against finite differences, unbiased mini-batches, SGD reaching the minimum."""

import numpy as np
import pytest

from gdlens.finite_sum import LeastSquares, linear_regression, minibatch_covariance, minibatch_grads, sgd_epochs
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


# --- mini-batch covariance: exhaustive enumeration on a tiny data set, then sampling ------------------


def _tiny():
    X, y, _ = linear_regression(6, 2, noise=0.4, rng=np.random.default_rng(7))
    return LeastSquares(X, y), np.array([0.3, -0.2])


@pytest.mark.parametrize("batch_size", [1, 2, 3, 6])
def test_covariance_without_replacement_matches_all_subsets(batch_size):
    import itertools

    p, theta = _tiny()
    gs = np.array([p.grad(theta, list(s)) for s in itertools.combinations(range(p.n), batch_size)])
    np.testing.assert_allclose(gs.mean(axis=0), p.grad(theta), atol=1e-13)
    exact = (gs - p.grad(theta)).T @ (gs - p.grad(theta)) / len(gs)
    np.testing.assert_allclose(exact, minibatch_covariance(p, theta, batch_size=batch_size), atol=1e-12)


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_covariance_with_replacement_matches_all_tuples(batch_size):
    import itertools

    p, theta = _tiny()
    gs = np.array([p.grad(theta, list(s)) for s in itertools.product(range(p.n), repeat=batch_size)])
    exact = (gs - p.grad(theta)).T @ (gs - p.grad(theta)) / len(gs)
    np.testing.assert_allclose(exact, minibatch_covariance(p, theta, batch_size=batch_size, replace=True), atol=1e-12)


def test_full_batch_without_replacement_has_no_noise():
    p, theta = _tiny()
    np.testing.assert_allclose(minibatch_covariance(p, theta, batch_size=p.n), 0.0, atol=1e-15)
    g = minibatch_grads(p, theta, batch_size=p.n, draws=3, rng=np.random.default_rng(0))
    np.testing.assert_allclose(g, np.broadcast_to(p.grad(theta), g.shape), atol=1e-13)


@pytest.mark.parametrize("replace", [False, True])
def test_sampled_minibatch_gradients_have_the_exact_mean_and_variance(problem, replace):
    theta = np.array([0.5, -1.0, 0.2, 0.0])
    batch_size, draws = 200, 4000
    g = minibatch_grads(
        problem, theta, batch_size=batch_size, draws=draws, rng=np.random.default_rng(8), replace=replace
    )
    cov = minibatch_covariance(problem, theta, batch_size=batch_size, replace=replace)
    err = g - problem.grad(theta)
    # mean: each coordinate within 4.5 standard errors (false alarm ~3e-5 over 4 coordinates)
    assert np.all(np.abs(err.mean(axis=0)) < 4.5 * np.sqrt(np.diag(cov) / draws))
    # mean squared error within 5 of its standard errors; the correction at B/n = 0.4 is a factor 0.6
    sq = np.sum(err**2, axis=1)
    assert abs(sq.mean() - np.trace(cov)) < 5 * sq.std() / np.sqrt(draws)


def test_sampled_batches_without_replacement_have_distinct_indices():
    # a data set whose per-sample gradients count the samples: at theta = 0, g_i = -y_i x_i = e_i
    n = 8
    p = LeastSquares(np.eye(n), -np.ones(n))
    g = minibatch_grads(p, np.zeros(n), batch_size=5, draws=500, rng=np.random.default_rng(9))
    np.testing.assert_allclose(np.sort(np.unique(np.round(g * 5, 12))), [0.0, 1.0])  # each index at most once
    np.testing.assert_allclose(g.sum(axis=1), 1.0)
    np.testing.assert_allclose(g.mean(axis=0), 1 / n, atol=4.5 * np.sqrt((5 / n) * (1 - 5 / n) / 500) / 5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 600}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
    ],
)
def test_minibatch_covariance_rejects_bad_input(problem, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        minibatch_covariance(problem, np.zeros(4), **kwargs)


def test_minibatch_grads_rejects_bad_input(problem):
    with pytest.raises((ValueError, TypeError), match="draws"):
        minibatch_grads(problem, np.zeros(4), batch_size=2, draws=0, rng=np.random.default_rng(0))
    with pytest.raises((ValueError, TypeError), match="rng"):
        minibatch_grads(problem, np.zeros(4), batch_size=2, draws=2, rng=0)
    with pytest.raises(TypeError, match="problem"):
        minibatch_grads("x", np.zeros(4), batch_size=2, draws=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="theta"):
        minibatch_grads(problem, np.zeros((2, 4)), batch_size=2, draws=2, rng=np.random.default_rng(0))
