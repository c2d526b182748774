"""gdlens.selfsup: the linear SimSiam against its fixed point, finite differences, and its collapse."""

import numpy as np
import pytest

from gdlens import selfsup
from gdlens.landscapes import numerical_grad


def _init(d=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((d, d)) / np.sqrt(d), 0.1 * rng.standard_normal((d, d)) / np.sqrt(d)


def test_gradients_match_finite_differences():
    W, P = _init(3)
    s = 0.6
    gW, gP = selfsup.simsiam_grads(W, P, noise=s, stop_gradient=True)
    fW = lambda w: np.apply_along_axis(lambda v: selfsup.simsiam_loss(v.reshape(3, 3), P, noise=s), -1, w)
    fP = lambda p: np.apply_along_axis(lambda v: selfsup.simsiam_loss(W, v.reshape(3, 3), noise=s), -1, p)
    assert np.allclose(numerical_grad(fP, P.ravel()).reshape(3, 3), gP, atol=1e-7)
    # without stop-gradient, dW is the full gradient of the loss (target branch included)
    gW_full, _ = selfsup.simsiam_grads(W, P, noise=s, stop_gradient=False)
    assert np.allclose(numerical_grad(fW, W.ravel()).reshape(3, 3), gW_full, atol=1e-7)
    # with it, only the online branch: J(W_online, W_target) differentiated in W_online
    fO = lambda w: np.apply_along_axis(
        lambda v: (
            0.5 * np.sum((P @ v.reshape(3, 3) - W) ** 2)
            + 0.5 * s**2 * (np.sum((P @ v.reshape(3, 3)) ** 2) + np.sum(W**2))
        ),
        -1,
        w,
    )
    assert np.allclose(numerical_grad(fO, W.ravel()).reshape(3, 3), gW, atol=1e-7)


def test_stop_gradient_with_predictor_reaches_the_predicted_fixed_point():
    W0, P0 = _init()
    run = selfsup.train_linear_simsiam(W0, P0, noise=0.7, weight_decay=0.01, lr=0.2, steps=4000)
    p = selfsup.simsiam_fixed_point(noise=0.7, weight_decay=0.01)
    assert np.allclose(np.linalg.svd(run.W, compute_uv=False), p, rtol=1e-4)
    assert run.spread[-1] == pytest.approx(p**2, rel=1e-4)


@pytest.mark.parametrize(("stop", "pred"), [(False, True), (True, False)])
def test_collapse_without_stop_gradient_or_predictor(stop, pred):
    W0, P0 = _init()
    run = selfsup.train_linear_simsiam(
        W0, P0, noise=0.7, weight_decay=0.01, lr=0.2, steps=1000, stop_gradient=stop, predictor=pred
    )
    assert run.spread[-1] < 1e-6 * run.spread[0]


def test_fixed_point_solves_the_mode_equations():
    s, eta = 0.5, 0.03
    p = selfsup.simsiam_fixed_point(noise=s, weight_decay=eta)
    w = p
    assert -p * w * (p * (1 + s**2) - 1) - eta * w == pytest.approx(0, abs=1e-12)
    assert -w * w * (p * (1 + s**2) - 1) - eta * p == pytest.approx(0, abs=1e-12)


def test_bad_inputs():
    W0, P0 = _init()
    with pytest.raises(ValueError, match="weight_decay"):
        selfsup.simsiam_fixed_point(noise=1.0, weight_decay=0.2)
    with pytest.raises(ValueError, match="square"):
        selfsup.train_linear_simsiam(np.ones((2, 3)), P0, noise=0.5, weight_decay=0.0, lr=0.1, steps=2)
    with pytest.raises(ValueError, match="lr"):
        selfsup.train_linear_simsiam(W0, P0, noise=0.5, weight_decay=0.0, lr=0.0, steps=2)


@pytest.mark.parametrize("wd", [0.003, 0.01, 0.03])
def test_jacobian_slow_eigenvalue_is_minus_twice_the_weight_decay(wd):
    J, ev = selfsup.simsiam_jacobian(noise=0.7, weight_decay=wd)
    assert ev[0] == pytest.approx(-2 * wd)
    # against a finite-difference Jacobian of the one-mode flow at the fixed point
    s = 1 + 0.49
    p = selfsup.simsiam_fixed_point(noise=0.7, weight_decay=wd)

    def flow(z):
        w, q = z
        return np.array([-q * w * (q * s - 1) - wd * w, -w * w * (q * s - 1) - wd * q])

    h = 1e-6
    fd = np.column_stack(
        [(flow(np.array([p, p]) + h * e) - flow(np.array([p, p]) - h * e)) / (2 * h) for e in np.eye(2)]
    )
    assert np.allclose(fd, J, atol=1e-8)
