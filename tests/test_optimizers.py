"""gdlens.optimizers against theory (rates on quadratics, the 2/L limit, Newton's one step) and against
straightforward transcriptions of PyTorch's documented update rules."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlens import optimizers as opt
from gdlens.landscapes import Quadratic, Rosenbrock, TiltedDoubleWell, ill_conditioned

# --- references: PyTorch's documented rules, transcribed loop by loop ----------------------------


def ref_sgd_momentum(grad, x0, lr, steps, beta, nesterov):
    x, buf, out = np.array(x0, float), None, [np.array(x0, float)]
    for _ in range(steps):
        g = grad(x)
        buf = g.copy() if buf is None else beta * buf + g
        x = x - lr * (g + beta * buf if nesterov else buf)
        out.append(x)
    return np.array(out)


def ref_adagrad(grad, x0, lr, steps, eps):
    x, s, out = np.array(x0, float), 0.0, [np.array(x0, float)]
    for _ in range(steps):
        g = grad(x)
        s = s + g * g
        x = x - lr * g / (np.sqrt(s) + eps)
        out.append(x)
    return np.array(out)


def ref_rmsprop(grad, x0, lr, steps, alpha, eps):
    x, v, out = np.array(x0, float), 0.0, [np.array(x0, float)]
    for _ in range(steps):
        g = grad(x)
        v = alpha * v + (1 - alpha) * g * g
        x = x - lr * g / (np.sqrt(v) + eps)
        out.append(x)
    return np.array(out)


def ref_adam(grad, x0, lr, steps, b1, b2, eps, amsgrad=False):
    x, m, v, vmax, out = np.array(x0, float), 0.0, 0.0, 0.0, [np.array(x0, float)]
    for t in range(1, steps + 1):
        g = grad(x)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v) if amsgrad else v
        step_size = lr / (1 - b1**t)
        denom = np.sqrt(vmax) / np.sqrt(1 - b2**t) + eps
        x = x - step_size * m / denom
        out.append(x)
    return np.array(out)


PROBLEMS = {
    "quadratic": (ill_conditioned(10.0), np.array([1.0, -0.5])),
    "rosenbrock": (Rosenbrock(), np.array([-1.2, 1.0])),
    "double-well": (TiltedDoubleWell(dim=2), np.array([-1.5, 0.7])),
}


@pytest.mark.parametrize("problem", PROBLEMS)
@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_torch_rule(problem, nesterov):
    f, x0 = PROBLEMS[problem]
    ours = opt.momentum(f.grad, x0, lr=1e-3, steps=60, beta=0.85, nesterov=nesterov)
    np.testing.assert_allclose(ours, ref_sgd_momentum(f.grad, x0, 1e-3, 60, 0.85, nesterov), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("problem", PROBLEMS)
def test_adaptive_rules_match_torch(problem):
    f, x0 = PROBLEMS[problem]
    np.testing.assert_allclose(
        opt.adagrad(f.grad, x0, lr=0.05, steps=60, eps=1e-10), ref_adagrad(f.grad, x0, 0.05, 60, 1e-10), rtol=1e-12
    )
    np.testing.assert_allclose(
        opt.rmsprop(f.grad, x0, lr=0.01, steps=60, alpha=0.9, eps=1e-8),
        ref_rmsprop(f.grad, x0, 0.01, 60, 0.9, 1e-8),
        rtol=1e-12,
    )
    for amsgrad in (False, True):
        np.testing.assert_allclose(
            opt.adam(f.grad, x0, lr=0.02, steps=60, betas=(0.8, 0.99), eps=1e-8, amsgrad=amsgrad),
            ref_adam(f.grad, x0, 0.02, 60, 0.8, 0.99, 1e-8, amsgrad),
            rtol=1e-12,
        )


def test_momentum_with_zero_beta_is_gd():
    f, x0 = PROBLEMS["rosenbrock"]
    np.testing.assert_array_equal(
        opt.momentum(f.grad, x0, lr=1e-3, steps=40, beta=0.0), opt.gd(f.grad, x0, lr=1e-3, steps=40)
    )


# --- theory on quadratics ------------------------------------------------------------------------


@pytest.mark.parametrize("kappa", [1.0, 5.0, 50.0])
@pytest.mark.parametrize("frac", [0.3, 1.0, 1.7])
def test_gd_rate_on_quadratic_is_max_abs_one_minus_lr_lambda(kappa, frac):
    # On L(x) = x^T A x / 2 the error after t steps is (I - lr A)^t x0, so along an eigenvector
    # with eigenvalue lambda it shrinks by exactly |1 - lr lambda| per step.
    f = ill_conditioned(kappa, smoothness=2.0)
    lr = frac / f.smoothness  # from a cautious step to close to the 2/L limit
    lam, vecs = np.linalg.eigh(f.A)
    x0 = vecs.sum(axis=1)  # excites every eigen-direction
    traj = opt.gd(f.grad, x0, lr=lr, steps=200)
    coords = traj @ vecs
    t = np.arange(201)[:, None]
    np.testing.assert_allclose(coords, coords[0] * (1 - lr * lam) ** t, rtol=1e-9, atol=1e-13)
    predicted = np.max(np.abs(1 - lr * lam))
    if predicted > 0.1:  # (at kappa = 1, lr = 1/L the first step lands exactly on the minimum)
        # the slower mode's share after 200 steps is at most (0.66 / 0.7)^200 < 1e-4 here
        measured = (np.linalg.norm(traj[200]) / np.linalg.norm(traj[190])) ** (1 / 10)
        assert measured == pytest.approx(predicted, rel=1e-4)


def test_gd_diverges_beyond_two_over_L_and_converges_below():
    f = ill_conditioned(4.0, smoothness=1.0)
    x0 = np.array([1.0, 1.0])
    below = opt.gd(f.grad, x0, lr=1.99, steps=4000)
    above = opt.gd(f.grad, x0, lr=2.01, steps=4000)
    assert np.linalg.norm(below[-1]) < 1e-3 * np.linalg.norm(x0)
    assert np.linalg.norm(above[-1]) > 1e3 * np.linalg.norm(x0)


def test_divergence_stops_cleanly_without_warnings():
    f = ill_conditioned(4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traj = opt.gd(f.grad, [1.0, 1.0], lr=10.0, steps=2000)
    assert traj.shape == (2001, 2)
    assert opt.diverged(traj)
    first_nan = np.argmax(~np.isfinite(traj).all(axis=1))
    assert first_nan > 0 and np.isnan(traj[first_nan:]).all() and np.isfinite(traj[:first_nan]).all()
    assert not opt.diverged(opt.gd(f.grad, [1.0, 1.0], lr=0.5, steps=50))


def test_divergence_of_a_cubic_gradient_is_caught():
    well = TiltedDoubleWell(dim=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        traj = opt.gd(well.grad, [3.0], lr=1.0, steps=100)
    assert opt.diverged(traj)


def test_newton_solves_a_quadratic_in_one_step():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((5, 5))
    f = Quadratic(M @ M.T + 5 * np.eye(5), b=rng.standard_normal(5))
    traj = opt.newton(f.grad, f.hess, rng.standard_normal(5), steps=1)
    np.testing.assert_allclose(traj[1], f.minimizer, rtol=1e-10, atol=1e-12)


def test_newton_is_attracted_to_a_maximum_on_a_nonconvex_function():
    # Newton seeks stationary points, not minima: near the saddle (a local maximum along x1) of the
    # double well it converges to the maximum, while GD moves away from it.
    well = TiltedDoubleWell(dim=1)
    x0 = well.saddle + 0.05
    newton = opt.newton(well.grad, well.hess, x0, steps=8)
    np.testing.assert_allclose(newton[-1], well.saddle, atol=1e-10)
    assert well.hess(newton[-1])[0, 0] < 0
    gd = opt.gd(well.grad, x0, lr=0.05, steps=400)
    assert abs(gd[-1, 0] - well.saddle[0]) > 0.5


def test_newton_singular_hessian_reports_divergence():
    traj = opt.newton(lambda x: x, lambda x: np.zeros((2, 2)), [1.0, 2.0], steps=3)
    assert opt.diverged(traj)


def test_trajectory_shape_for_any_x0_shape():
    grad = lambda x: 2 * x  # noqa: E731
    for shape in [(), (3,), (2, 3), (2, 2, 2)]:
        x0 = np.ones(shape)
        for run in (opt.gd, opt.adam, opt.rmsprop, opt.adagrad, opt.momentum):
            traj = run(grad, x0, lr=0.1, steps=7)
            assert traj.shape == (8, *shape) and traj.dtype == np.float64
            np.testing.assert_array_equal(traj[0], x0)


def test_stochastic_gradient_is_allowed_and_reproducible():
    f = ill_conditioned(3.0)

    def noisy(seed):
        rng = np.random.default_rng(seed)
        return lambda x: f.grad(x) + 0.1 * rng.standard_normal(x.shape)

    a = opt.gd(noisy(1), [1.0, 1.0], lr=0.1, steps=50)
    b = opt.gd(noisy(1), [1.0, 1.0], lr=0.1, steps=50)
    np.testing.assert_array_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(
    lam=st.floats(0.1, 10.0),
    frac=st.floats(0.05, 0.95),
    x0=st.floats(-100, 100).filter(lambda v: abs(v) > 1e-3),
)
def test_gd_contracts_monotonically_below_two_over_L(lam, frac, x0):
    f = Quadratic([[lam]])
    traj = opt.gd(f.grad, [x0], lr=frac * 2 / lam, steps=20)
    norms = np.abs(traj[:, 0])
    assert np.all(norms[1:] <= norms[:-1] * (1 + 1e-12))


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"lr": 0.0}, ValueError, "lr"),
        ({"lr": -1.0}, ValueError, "lr"),
        ({"lr": float("nan")}, ValueError, "lr"),
        ({"lr": "0.1"}, TypeError, "lr"),
        ({"steps": -1}, ValueError, "steps"),
        ({"steps": 2.5}, TypeError, "steps"),
        ({"x0": [1.0, np.inf]}, ValueError, "x0"),
        ({"x0": "a"}, TypeError, "x0"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, error, name):
    args = {"x0": [1.0, 1.0], "lr": 0.1, "steps": 3, **kwargs}
    with pytest.raises(error, match=name):
        opt.gd(lambda x: x, args.pop("x0"), **args)


def test_grad_of_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="grad must return"):
        opt.gd(lambda x: np.ones(3), [1.0, 1.0], lr=0.1, steps=2)


def test_bad_hyperparameters():
    g = lambda x: x  # noqa: E731
    with pytest.raises(ValueError, match="beta"):
        opt.momentum(g, [1.0], lr=0.1, steps=1, beta=1.0)
    with pytest.raises(ValueError, match="alpha"):
        opt.rmsprop(g, [1.0], lr=0.1, steps=1, alpha=-0.1)
    with pytest.raises(ValueError, match=r"betas\[1\]"):
        opt.adam(g, [1.0], lr=0.1, steps=1, betas=(0.9, 1.5))
    with pytest.raises(TypeError, match="betas"):
        opt.adam(g, [1.0], lr=0.1, steps=1, betas=0.9)
    with pytest.raises(TypeError, match="grad"):
        opt.gd(None, [1.0], lr=0.1, steps=1)
    with pytest.raises(ValueError, match="hess must return"):
        opt.newton(g, lambda x: np.eye(3), [1.0, 2.0], steps=1)


# --- Armijo backtracking -----------------------------------------------------------------------


@pytest.mark.parametrize("lam", [0.3, 1.0, 7.0, 150.0])
def test_armijo_accepts_the_largest_trial_step_with_sufficient_decrease_on_a_parabola(lam):
    # on L = lam x^2 / 2, L(x - g gamma) <= L(x) - c gamma g^2  iff  gamma <= 2 (1 - c) / lam
    f = Quadratic(np.array([[lam]]))
    res = opt.armijo_gd(f.value, f.grad, np.array([1.5]), steps=1, lr0=4.0, shrink=0.5, c=0.1)
    trials = 4.0 * 0.5 ** np.arange(60)
    expected = trials[np.argmax(trials <= 2 * (1 - 0.1) / lam)]
    assert res.lrs[0] == expected
    assert res.value_evals == 1 + 1 + int(np.argmax(trials <= 2 * (1 - 0.1) / lam)) and res.grad_evals == 1


def test_armijo_steps_satisfy_sufficient_decrease_and_reach_rosenbrocks_minimum():
    f = Rosenbrock()
    res = opt.armijo_gd(f.value, f.grad, np.array([-1.2, 1.0]), steps=20000, c=1e-4)
    ok = np.all(np.isfinite(res.path), axis=1)
    vals, path = f.value(res.path[ok]), res.path[ok]
    g2 = np.sum(f.grad(path[:-1]) ** 2, axis=1)
    assert np.all(vals[1:] <= vals[:-1] - 1e-4 * res.lrs[: len(vals) - 1] * g2 + 1e-15)
    assert np.linalg.norm(path[-1] - 1.0) < 1e-3  # GD with a line search converges, slowly, in the valley


def test_armijo_needs_no_curvature_bound_where_a_fixed_step_diverges():
    f = ill_conditioned(10.0, smoothness=100.0)
    fixed = opt.gd(f.grad, np.array([1.0, 1.0]), lr=1.0, steps=400)  # 1 > 2 / 100: diverges
    res = opt.armijo_gd(f.value, f.grad, np.array([1.0, 1.0]), steps=200, lr0=1.0)
    assert opt.diverged(fixed)
    assert f.value(res.path[-1]) < 1e-10 * f.value(np.array([1.0, 1.0]))
    # every accepted step is at least min(lr0, 2 s (1 - c) / lambda_max)
    assert np.nanmin(res.lrs) >= 2 * 0.5 * (1 - 1e-4) / 100.0


def test_armijo_stops_at_a_stationary_point():
    f = Quadratic(np.eye(2))
    res = opt.armijo_gd(f.value, f.grad, np.zeros(2), steps=5)
    assert np.all(np.isnan(res.path[1:])) and res.grad_evals == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr0": 0.0}, "lr0"),
        ({"shrink": 1.0}, "shrink"),
        ({"c": 0.0}, "c"),
        ({"shrink": 0.0}, "shrink"),
        ({"steps": -1}, "steps"),
        ({"max_backtracks": 0}, "max_backtracks"),
    ],
)
def test_armijo_rejects_bad_input(kwargs, match):
    f = Quadratic(np.eye(2))
    args = {"steps": 3} | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        opt.armijo_gd(f.value, f.grad, np.ones(2), **args)


def test_armijo_warm_start_keeps_sufficient_decrease_and_saves_evaluations():
    f = Rosenbrock()
    cold = opt.armijo_gd(f.value, f.grad, np.array([-1.2, 1.0]), steps=500)
    warm = opt.armijo_gd(f.value, f.grad, np.array([-1.2, 1.0]), steps=500, grow=2.0)
    vals = f.value(warm.path)
    g2 = np.sum(f.grad(warm.path[:-1]) ** 2, axis=1)
    assert np.all(vals[1:] <= vals[:-1] - 1e-4 * warm.lrs * g2 + 1e-15)
    assert np.all(warm.lrs[1:] <= 2.0 * warm.lrs[:-1])  # each search starts at most at twice the last step
    assert warm.value_evals < cold.value_evals / 2


def test_armijo_rejects_a_shrinking_warm_start():
    f = Quadratic(np.eye(2))
    with pytest.raises(ValueError, match="grow"):
        opt.armijo_gd(f.value, f.grad, np.ones(2), steps=3, grow=0.5)
