"""gdlens.kernels: the hand-written network gradient against finite differences, the path-kernel identity
(exact for a linear model, first order in the step for a network), and the NTK regression formula."""

import numpy as np
import pytest

from gdlens import kernels
from gdlens.landscapes import numerical_grad


def _data(n=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 1))
    return X, np.sin(3 * X[:, 0]), np.linspace(-1.2, 1.2, 7)[:, None], rng


def test_param_grad_matches_finite_differences():
    rng = np.random.default_rng(3)
    net = kernels.TanhNet(6, dim=2)
    theta = net.init(rng)
    X = rng.standard_normal((4, 2))
    G = net.param_grad(theta, X)
    for i in range(4):
        xi = X[i : i + 1]
        num = numerical_grad(lambda th, xi=xi: np.apply_along_axis(net.predict, -1, th, xi)[..., 0], theta)
        assert np.allclose(G[i], num, atol=1e-8)


def _poly(X):
    return np.hstack([X**k for k in range(4)])


def test_path_kernel_identity_is_exact_for_a_linear_model():
    X, y, Xe, rng = _data()
    model = kernels.LinearModel(_poly, 4)
    run = kernels.train_with_path_kernel(model, rng.standard_normal(4), X, y, Xe, lr=0.3, steps=200)
    assert np.allclose(run.kernel_machine, run.final, atol=1e-12)
    # the kernel never moves: K = T * lr * phi phi^T
    assert np.allclose(run.kernel, 200 * 0.3 * _poly(Xe) @ _poly(X).T)
    assert np.allclose(run.ntk_final, run.ntk_initial)


def test_path_kernel_identity_error_is_first_order_for_a_network():
    X, y, Xe, rng = _data()
    net = kernels.TanhNet(8)
    theta0 = net.init(rng)
    errs = []
    for lr, steps in [(0.4, 50), (0.2, 100), (0.1, 200)]:
        run = kernels.train_with_path_kernel(net, theta0, X, y, Xe, lr=lr, steps=steps)
        errs.append(np.max(np.abs(run.kernel_machine - run.final)))
    assert errs[0] > 1e-4  # the network is not linear: there is an error
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 1.6) & (ratios < 2.5))  # about halves with the step (first order, O(lr) correction)


def test_coefficients_rebuild_the_kernel_machine():
    X, y, Xe, rng = _data()
    net = kernels.TanhNet(5)
    run = kernels.train_with_path_kernel(net, net.init(rng), X, y, Xe, lr=0.2, steps=40)
    assert np.allclose(np.sum(run.coefficients * run.kernel, axis=1) + run.initial, run.kernel_machine)


def test_ntk_predict_is_gradient_flow_of_a_linear_model():
    X, y, Xe, rng = _data()
    model = kernels.LinearModel(_poly, 4)
    theta0 = rng.standard_normal(4)
    run = kernels.train_with_path_kernel(model, theta0, X, y, Xe, lr=1e-3, steps=4000)
    flow = kernels.ntk_predict(model, theta0, X, y, Xe, time=4.0)
    assert np.max(np.abs(run.final - flow)) < 5e-3  # GD vs its flow: O(lr * time)
    # infinite time, full-rank-in-span: the least-squares fit
    inf = kernels.ntk_predict(model, theta0, X, y, Xe, time=1e9)
    ls = _poly(Xe) @ np.linalg.lstsq(_poly(X), y, rcond=None)[0]
    assert np.allclose(inf, ls, atol=1e-6)
    assert np.allclose(kernels.ntk_predict(model, theta0, X, y, Xe, time=0.0), model.predict(theta0, Xe))


def test_bad_inputs():
    net = kernels.TanhNet(3)
    with pytest.raises(ValueError, match="theta"):
        net.predict(np.zeros(4), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="X must have shape"):
        net.predict(np.zeros(net.size), np.zeros((2, 2)))
    with pytest.raises(TypeError, match="rng"):
        net.init(0)
    X, y, Xe, rng = _data()
    with pytest.raises(ValueError, match="lower lr"):
        kernels.train_with_path_kernel(net, net.init(rng) * 30, X, y * 1e200, Xe, lr=1e3, steps=50)


def test_coefficients_constant_for_linear_model_and_vary_for_a_network():
    X, y, X_eval, rng = _data()
    lin = kernels.LinearModel(lambda Z: np.hstack([Z**k for k in range(4)]), 4)
    run = kernels.train_with_path_kernel(lin, np.zeros(4), X, y, X_eval, lr=0.2, steps=100)
    assert np.max(kernels.coefficient_variation(run)) < 1e-10
    assert np.allclose(kernels.constant_coefficient_machine(run), run.kernel_machine, atol=1e-10)
    net = kernels.TanhNet(8)
    run = kernels.train_with_path_kernel(net, net.init(rng), X, y, X_eval, lr=0.2, steps=200)
    assert np.median(kernels.coefficient_variation(run)) > 1e-4
