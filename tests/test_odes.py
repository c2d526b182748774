"""gdlens.odes against closed forms: oscillator and Bessel solutions, the heavy-ball and Nesterov rates,
Polyak's tuning, stability limits, and Reddi, Kale & Kumar's counterexample to Adam."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import j1

from gdlens import odes
from gdlens import optimizers as opt
from gdlens.landscapes import Quadratic, ill_conditioned


@pytest.mark.parametrize(("lam", "damping"), [(4.0, 1.0), (1.0, 2.0), (1.0, 3.0), (2.0, 0.0)])
def test_heavy_ball_flow_matches_damped_oscillator(lam, damping):
    # under-, critically, over- and undamped; RK4 with h = 0.025: error ~ h^4 ~ 4e-7
    t = np.linspace(0, 10, 101)
    x = odes.heavy_ball_flow(lambda z: lam * z, np.array([1.5]), t, damping=damping, v0=np.array([-0.5]))
    exact = odes.damped_oscillator(lam, damping, 1.5, t, v0=-0.5)
    assert np.max(np.abs(x[:, 0] - exact)) < 1e-5


def test_damped_oscillator_solves_the_ode():
    # finite differences of the closed form satisfy x'' + g x' + lam x = 0 to O(dt^2)
    t, dt = np.linspace(0, 5, 5001), 1e-3
    for lam, g in [(4.0, 1.0), (1.0, 2.0), (1.0, 3.0)]:
        x = odes.damped_oscillator(lam, g, 1.0, t, v0=0.3)
        xdd = (x[2:] - 2 * x[1:-1] + x[:-2]) / dt**2
        xd = (x[2:] - x[:-2]) / (2 * dt)
        assert np.max(np.abs(xdd + g * xd + lam * x[1:-1])) < 1e-5
        assert x[0] == pytest.approx(1.0)


def test_momentum_converges_to_the_oscillator_at_first_order():
    # momentum with lr = h^2, beta = 1 - g h tracks theta(k h); halving h should halve the error
    lam, g, T = 2.0, 1.0, 6.0
    errors = []
    for h in (0.02, 0.01):
        lr, beta = odes.momentum_from_ode(g, h)
        steps = int(round(T / h))
        path = opt.momentum(lambda z: lam * z, np.array([1.0]), lr=lr, beta=beta, steps=steps)
        exact = odes.damped_oscillator(lam, g, 1.0, np.arange(steps + 1) * h)
        errors.append(np.max(np.abs(path[:, 0] - exact)))
    assert errors[1] < 0.1
    assert 1.6 < errors[0] / errors[1] < 2.4  # first order in h


def test_momentum_ode_dictionary_round_trips():
    lr, beta = odes.momentum_from_ode(0.7, 0.1)
    assert (lr, beta) == pytest.approx((0.01, 0.93))
    assert odes.ode_from_momentum(lr, beta) == pytest.approx((0.7, 0.1))


def test_quadratic_rate_gd_case_and_matrix_spectrum():
    lam = np.array([0.1, 0.5, 1.0])
    lrs = np.linspace(0.1, 2.5, 9)
    assert np.allclose(odes.quadratic_rate(lrs, lam), np.max(np.abs(1 - lrs[:, None] * lam), axis=1))
    # against eigenvalues of the 2x2 companion matrices, state (theta_t, theta_{t-1}) / (theta_t, b_{t-1})
    for lr, beta in [(0.3, 0.5), (1.7, 0.9), (3.5, 0.2)]:
        hb, ne = [], []
        for lam_i in lam:
            a = lr * lam_i
            hb.append(np.abs(np.linalg.eigvals([[1 + beta - a, -beta], [1, 0]])).max())
            ne.append(np.abs(np.linalg.eigvals([[1 - a * (1 + beta), -lr * beta**2], [lam_i, beta]])).max())
        assert odes.quadratic_rate(lr, lam, beta=beta) == pytest.approx(max(hb))
        assert odes.quadratic_rate(lr, lam, beta=beta, nesterov=True) == pytest.approx(max(ne))


@settings(max_examples=25, deadline=None)
@given(kappa=st.floats(2.0, 500.0))
def test_polyak_tuning_gives_sqrt_kappa_rate(kappa):
    lr, beta, rate = odes.polyak_parameters(1 / kappa, 1.0)
    assert rate == pytest.approx((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1))
    assert odes.quadratic_rate(lr, np.array([1 / kappa, 1.0]), beta=beta) == pytest.approx(rate, rel=1e-6)
    # and no (lr, beta) nearby does better
    for dl, db in [(1.05, 1.0), (0.95, 1.0), (1.0, 0.99)]:
        assert odes.quadratic_rate(lr * dl, np.array([1 / kappa, 1.0]), beta=beta * db) >= rate - 1e-12


def test_measured_heavy_ball_rate_matches_polyak():
    q = ill_conditioned(100.0)
    lr, beta, rate = odes.polyak_parameters(q.eigenvalues[0], q.eigenvalues[-1])
    T, S = 400, 200
    n = np.linalg.norm(opt.momentum(q.grad, np.array([1.0, 1.0]), lr=lr, beta=beta, steps=T), axis=1)
    measured = ((n[T] / T) / (n[S] / S)) ** (1 / (T - S))  # t * rho^t at a double root
    assert measured == pytest.approx(rate, rel=2e-3)


@pytest.mark.parametrize(
    ("method", "beta", "nesterov"), [("gd", 0.0, False), ("heavy_ball", 0.6, False), ("nesterov", 0.6, True)]
)
def test_stability_limits_are_where_the_rate_crosses_one(method, beta, nesterov):
    L = 2.0
    limit = odes.stability_limit(method, beta=beta, curvature=L)
    lam = np.array([0.01, L])
    assert odes.quadratic_rate(limit * 0.99, lam, beta=beta, nesterov=nesterov) < 1
    assert odes.quadratic_rate(limit * 1.01, lam, beta=beta, nesterov=nesterov) > 1
    steps = 400
    f = Quadratic(np.diag(lam))
    for factor, grows in [(0.98, False), (1.02, True)]:
        lr = limit * factor
        if method == "gd":
            path = opt.gd(f.grad, np.array([0.0, 1.0]), lr=lr, steps=steps)
        else:
            path = opt.momentum(f.grad, np.array([0.0, 1.0]), lr=lr, beta=beta, nesterov=nesterov, steps=steps)
        assert (abs(path[-1, 1]) > 1) == grows  # the stiff coordinate shrinks below the limit, grows above


def test_adam_limit_with_frozen_preconditioner_is_heavy_ball():
    b1 = 0.9
    assert odes.stability_limit("adam", beta=b1) * (1 - b1) == pytest.approx(
        odes.stability_limit("heavy_ball", beta=b1)
    )


def test_nesterov_flow_rk4_matches_bessel_closed_form():
    q = ill_conditioned(5.0)
    t = np.linspace(0, 12, 121)
    X = odes.nesterov_flow(q.grad, np.array([1.0, -0.5]), t, substeps=10)
    closed = odes.nesterov_flow_quadratic(q.A, np.array([1.0, -0.5]), t)
    assert np.max(np.abs(X - closed)) < 1e-8  # RK4 error h^4 with h = 0.01
    # 1-D: 2 J1(u)/u with u = sqrt(lam) t, an independent scipy reference
    lam, t1 = 3.0, np.linspace(0.1, 9, 50)
    one = odes.nesterov_flow_quadratic(np.array([[lam]]), np.array([1.0]), t1)[:, 0]
    assert np.allclose(one, 2 * j1(np.sqrt(lam) * t1) / (np.sqrt(lam) * t1))


def test_nesterov_iterates_approach_the_ode_as_step_shrinks():
    q = ill_conditioned(4.0)
    x0 = np.array([1.0, 1.0])
    errs = []
    for s in (1e-2, 1e-4):
        K = int(8 / np.sqrt(s))
        xs = odes.nesterov_accelerated(q.grad, x0, lr=s, steps=K)
        errs.append(np.max(np.abs(xs - odes.nesterov_flow_quadratic(q.A, x0, np.arange(K + 1) * np.sqrt(s)))))
    assert errs[1] < errs[0] / 5  # error O(sqrt(s)): a factor 10 expected


def test_rmsprop_iterates_approach_their_flow():
    q = Quadratic(np.diag([1.0, 0.01]))
    x0 = np.array([1.0, 1.0])
    g0 = q.grad(x0)
    errs = []
    for lr in (1e-2, 2.5e-3):
        rule = opt.rmsprop_rule(lr, alpha=0.9)
        warm = opt.Optimizer(lambda p: opt.MomentsState(0, np.zeros(2), g0**2, np.zeros(2)), rule.update)
        steps = int(0.5 / lr)
        it = opt.run(warm, q.grad, x0, steps=steps)
        th, v = odes.rmsprop_flow(q.grad, x0, g0**2, np.arange(steps + 1) * lr, lr=lr, alpha=0.9, substeps=2)
        errs.append(np.max(np.abs(it - th)))
        assert np.all(v > 0)
    assert errs[1] < errs[0] / 2  # first order in lr: a factor 4 expected, >2 allowed for the transient


def test_reddi_counterexample_adam_fails_amsgrad_does_not():
    C = 3.0
    g = odes.cyclic_linear_grads(3000, C)
    assert g[:6].tolist() == [C, -1, -1, C, -1, -1]
    beta2 = 1 / (1 + C**2)
    adam = odes.run_projected(opt.adam_rule(0.1, betas=(0.0, beta2)), g, 0.0)
    ams = odes.run_projected(opt.adam_rule(0.1, betas=(0.0, beta2), amsgrad=True), g, 0.0)
    assert np.mean(adam[-300:]) > 0.8  # drifts to the worst point x = +1
    assert np.mean(ams[-300:]) < -0.8  # near the minimiser x = -1


def test_bad_inputs():
    with pytest.raises(ValueError, match="beta"):
        odes.quadratic_rate(0.1, np.array([1.0]), beta=1.0)
    with pytest.raises(ValueError, match="eigenvalues"):
        odes.quadratic_rate(0.1, np.array([-1.0]))
    with pytest.raises(ValueError, match="method"):
        odes.stability_limit("sgd")
    with pytest.raises(ValueError, match="t must start at 0"):
        odes.nesterov_flow(lambda x: x, np.ones(2), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="damping"):
        odes.momentum_from_ode(10.0, 0.5)
    with pytest.raises(TypeError, match="rule"):
        odes.run_projected("adam", np.ones(3), 0.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        odes.integrate(lambda s, y: y, np.ones(1), np.array([0.0, 0.0]))
    with pytest.raises(ValueError, match="L must be >= mu"):
        odes.polyak_parameters(2.0, 1.0)


def test_growing_momentum_nesterov_limit_is_four_thirds():
    # the step map tends to the beta = 1 map, root -1 at s * lambda = 4/3: stable just below, unstable just above
    q = Quadratic(np.diag([0.02, 2.0]))
    limit = odes.stability_limit("nesterov_growing", curvature=2.0)
    assert limit == pytest.approx(2 / 3)
    below = odes.nesterov_accelerated(q.grad, np.array([0.0, 1e-6]), lr=0.97 * limit, steps=300)
    above = odes.nesterov_accelerated(q.grad, np.array([0.0, 1e-6]), lr=1.03 * limit, steps=300)
    assert abs(below[-1, 1]) < 1e-6 and abs(above[-1, 1]) > 1e-3
    # the constant-beta limit tends to it as beta -> 1
    assert odes.stability_limit("nesterov", beta=0.9999) == pytest.approx(4 / 3, rel=1e-4)


def test_adam_flow_is_first_order_limit_at_fixed_tau():
    # Adam with beta_i = 1 - lr / tau_i is the Euler scheme of adam_flow: halving lr halves the gap
    q = Quadratic(np.diag([1.0, 0.05]))
    x0 = np.array([1.0, -1.0])
    errs = []
    for lr in (4e-3, 2e-3, 1e-3):
        k = int(round(0.5 / lr))
        it = opt.adam(q.grad, x0, lr=lr, steps=k, betas=(1 - lr / 0.1, 1 - lr / 0.3))
        flow = odes.adam_flow(q.grad, x0, np.arange(k + 1) * lr, tau1=0.1, tau2=0.3, substeps=2)
        errs.append(np.max(np.abs(it - flow)))
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all(np.abs(ratios - 2) < 0.15), ratios  # first order: Euler's local error O(lr^2)


def test_lessard_function_is_strongly_convex_and_heavy_ball_cycles():
    x = np.linspace(-3, 5, 2001)
    g = odes.lessard_grad(x)
    slopes = np.diff(g) / np.diff(x)
    assert slopes.min() > 1 - 1e-9 and slopes.max() < 25 + 1e-9  # 1 <= L'' <= 25
    fd = np.gradient(odes.lessard_loss(x), x)
    # central differences are exact on each quadratic piece; at a kink they err by (25 - 1) h / 4 = 0.024
    assert np.max(np.abs(fd[1:-1] - g[1:-1])) < 0.03
    lr, beta, _ = odes.polyak_parameters(1.0, 25.0)
    xs = opt.momentum(odes.lessard_grad, np.array([3.3]), lr=lr, beta=beta, steps=300)[:, 0]
    assert np.max(np.abs(xs[-3:] - xs[-6:-3])) < 1e-9 and np.min(np.abs(xs[-30:])) > 0.5  # a 3-cycle


def test_chebyshev_bound_is_a_lower_bound_for_momentum():
    lam = np.linspace(1.0, 100.0, 400)
    lr, beta, rho = odes.polyak_parameters(1.0, 100.0)
    res = odes.momentum_residuals(lr, beta, lam, 60).max(axis=1)
    bound = odes.chebyshev_bound(np.arange(61), 1.0, 100.0)
    assert np.all(res >= bound * (1 - 1e-9))
    assert bound[60] ** (1 / 60) == pytest.approx(rho, rel=0.02)


def test_sgd_chains_match_stationary_variance():
    rng = np.random.default_rng(3)
    c = rng.standard_normal(50)
    s2 = float(np.mean((c - c.mean()) ** 2))
    th = odes.sgd_quadratic_chains(c, curvature=1.0, lr=0.2, batch=4, steps=150, chains=4000, rng=rng)
    v = odes.sgd_stationary_variance(curvature=1.0, lr=0.2, batch=4, spread=s2)
    se = v * np.sqrt(2 / 4000)  # SE of a sample variance (Gaussian approximation)
    assert abs(np.var(th - c.mean()) - v) < 5 * se


def test_flooding_two_steps_are_a_gradient_norm_penalty():
    # at the flood level, descent then ascent moves by -(lr^2/2) grad |grad L|^2 + O(lr^3)
    A = np.diag([1.0, 3.0])
    loss = lambda x: 0.5 * x @ A @ x  # noqa: E731
    grad = lambda x: A @ x  # noqa: E731
    x = np.array([1.0, 0.5])
    for lr in (1e-2, 5e-3):
        xs = odes.flooding_gd(loss, grad, x, lr=lr, flood=loss(x) - 1e-12, steps=2)
        predicted = -lr * lr * A @ A @ x
        assert np.linalg.norm(xs[2] - x - predicted) < 5 * lr**3 * np.linalg.norm(A @ A @ A @ x)
    with pytest.raises(ValueError, match="lr"):
        odes.flooding_gd(loss, grad, x, lr=-1.0, flood=0.1, steps=2)
