"""gdlens.flows against theory: closed-form flows, Euler's orders, the modified loss of implicit gradient
regularisation, the Fokker–Planck solver's conservation laws and Ornstein–Uhlenbeck solution, and the JKO
scheme against both."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from gdlens import flows
from gdlens import optimizers as opt
from gdlens.landscapes import Quadratic, TiltedDoubleWell, check_grad, ill_conditioned

# --- Thomas solver ----------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [None, 1, 5])
def test_tridiagonal_solver_matches_dense_solve(k):
    rng = np.random.default_rng(0)
    n = 30
    lo, up = rng.uniform(-1, 1, n - 1), rng.uniform(-1, 1, n - 1)
    diag = 2.5 + rng.uniform(0, 1, n)  # diagonally dominant: |lo| + |up| < 2 < diag
    rhs = rng.standard_normal(n if k is None else (n, k))
    dense = np.diag(diag) + np.diag(lo, -1) + np.diag(up, 1)
    # a diagonally dominant system with condition number ~ 10: the error is a few ulps
    np.testing.assert_allclose(flows.solve_tridiagonal(lo, diag, up, rhs), np.linalg.solve(dense, rhs), atol=1e-12)


def test_tridiagonal_solver_rejects_bad_shapes_and_zero_pivots():
    with pytest.raises(ValueError, match="shapes"):
        flows.solve_tridiagonal(np.ones(3), np.ones(3), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="pivot"):
        flows.solve_tridiagonal(np.ones(1), np.array([1.0, 1.0]), np.ones(1), np.ones(2))


# --- gradient flow of points -------------------------------------------------------------------------


def test_gradient_flow_matches_the_exponential_on_a_quadratic():
    f = ill_conditioned(10.0)
    x0 = np.array([[1.0, -2.0], [0.5, 0.3]])  # two starting points at once
    t = np.array([0.5, 1.0, 3.0])
    w, V = np.linalg.eigh(f.A)
    exact = np.stack([x0 @ (V @ np.diag(np.exp(-w * s)) @ V.T) for s in t])
    # RK4 at h = 0.01 on eigenvalues <= 1: error ~ h^4 / 120 per unit time, far below 1e-9
    np.testing.assert_allclose(flows.gradient_flow(f.grad, x0, t=t, max_step=0.01), exact, atol=1e-9)


def test_gradient_flow_lowers_the_loss_at_the_rate_grad_squared():
    f = TiltedDoubleWell(dim=2)
    t = np.array([0.0, 0.2, 0.2 + 1e-4])
    path = flows.gradient_flow(f.grad, np.array([-0.3, 1.0]), t=t, max_step=1e-5)
    rate = (f.value(path[2]) - f.value(path[1])) / 1e-4
    g = f.grad(0.5 * (path[1] + path[2]))
    # dL/dt = -|grad L|^2; the difference quotient is exact to O(dt^2) at the midpoint
    assert rate == pytest.approx(-g @ g, rel=1e-6)


def test_gradient_flow_reports_a_blow_up_as_nan_rows():
    path = flows.gradient_flow(lambda x: -(x**3), np.array([1.0]), t=[0.1, 0.6, 1.0], max_step=0.01)
    assert np.all(np.isfinite(path[0])) and np.all(np.isnan(path[1:]))  # x(t) = 1/sqrt(1 - 2t) blows up at 0.5


@pytest.mark.parametrize("t", [[1.0, 0.5], [-1.0, 1.0], [[1.0]]])
def test_gradient_flow_rejects_bad_times(t):
    with pytest.raises(ValueError, match="t must"):
        flows.gradient_flow(lambda x: x, np.zeros(2), t=t)


def _gd_errors(f, x0, lrs, horizon):
    ref = flows.gradient_flow(f.grad, x0, t=[horizon], max_step=1e-3)[-1]
    to_flow, to_modified = [], []
    for lr in lrs:
        end = opt.gd(f.grad, x0, lr=lr, steps=round(horizon / lr))[-1]
        modified = flows.gradient_flow(flows.ModifiedLoss(f, lr).grad, x0, t=[horizon], max_step=1e-3)[-1]
        to_flow.append(np.linalg.norm(end - ref))
        to_modified.append(np.linalg.norm(end - modified))
    return np.polyfit(np.log(lrs), np.log(to_flow), 1)[0], np.polyfit(np.log(lrs), np.log(to_modified), 1)[0]


def test_gd_is_first_order_for_the_flow_and_second_order_for_the_modified_flow():
    slope_flow, slope_modified = _gd_errors(TiltedDoubleWell(dim=2), np.array([-0.2, 1.2]), [0.1, 0.05, 0.025], 1.0)
    # the next terms are O(lr) relative to the leading one: at lr <= 0.1 the slopes are within 0.15 of 1 and 2
    assert slope_flow == pytest.approx(1.0, abs=0.15)
    assert slope_modified == pytest.approx(2.0, abs=0.15)


def test_implicit_euler_on_a_quadratic_is_the_resolvent_at_any_step():
    f = ill_conditioned(50.0)
    x0 = np.array([1.0, 1.0])
    for lr in (0.1, 10.0, 1000.0):  # explicit Euler diverges beyond 2 / L = 2
        path = flows.implicit_euler(f.grad, f.hess, x0, lr=lr, steps=5)
        R = np.linalg.inv(np.eye(2) + lr * f.A)
        np.testing.assert_allclose(path[-1], np.linalg.matrix_power(R, 5) @ x0, atol=1e-12)
        assert np.all(np.diff(f.value(path)) < 0)
    # explicit Euler at lr = 2.1 > 2/L multiplies the stiff component by |1 - 2.1| = 1.1 each step
    assert np.linalg.norm(opt.gd(f.grad, x0, lr=2.1, steps=200)[-1]) > 1e7


def test_implicit_euler_keeps_contracting_at_tiny_scales():
    f = ill_conditioned(10.0)
    x0 = np.array([1e-30, -2e-30])  # Newton's stopping rule must be relative, or the steps stall here
    path = flows.implicit_euler(f.grad, f.hess, x0, lr=50.0, steps=40)
    R = np.linalg.inv(np.eye(2) + 50.0 * f.A)
    np.testing.assert_allclose(path[-1], np.linalg.matrix_power(R, 40) @ x0, rtol=1e-9)


def test_implicit_euler_is_the_proximal_point_step():
    f = TiltedDoubleWell(dim=2)
    lr = 0.2  # 1/lr + min E'' = 5 - 4 > 0: the proximal objective is strictly convex
    x0 = np.array([[-0.1, 0.7], [1.4, -0.5]])
    step = flows.implicit_euler(f.grad, f.hess, x0, lr=lr, steps=1)[1]
    for start, got in zip(x0, step, strict=True):
        prox = optimize.minimize(
            lambda z, s=start: f.value(z) + np.sum((z - s) ** 2) / (2 * lr),
            start,
            jac=lambda z, s=start: f.grad(z) + (z - s) / lr,
            method="BFGS",
            options={"gtol": 1e-12},
        ).x
        np.testing.assert_allclose(got, prox, atol=1e-7)  # BFGS stops at gradient 1e-12, well-conditioned


def test_implicit_euler_validates_its_input():
    f = ill_conditioned(2.0)
    with pytest.raises(ValueError, match="lr"):
        flows.implicit_euler(f.grad, f.hess, np.zeros(2), lr=0.0, steps=3)
    with pytest.raises(TypeError, match="hess"):
        flows.implicit_euler(f.grad, None, np.zeros(2), lr=0.1, steps=3)


# --- implicit gradient regularisation and the sharp/flat landscape -----------------------------------


def test_modified_loss_gradient_and_its_closed_form_on_a_quadratic():
    f = TiltedDoubleWell(dim=3)
    x = np.random.default_rng(3).uniform(-1.5, 1.5, (6, 3))
    m = flows.ModifiedLoss(f, 0.1)
    assert check_grad(m.value, m.grad, x) < 1e-6  # central differences, values of order 10
    q = ill_conditioned(4.0)
    mq = flows.ModifiedLoss(q, 0.3)
    # on L = x'Ax/2, |grad L|^2 = x'A^2x, so L~ = x'(A + lr/2 A^2)x/2 exactly
    np.testing.assert_allclose(mq.value(x[:, :2]), Quadratic(q.A + 0.15 * q.A @ q.A).value(x[:, :2]), rtol=1e-13)
    with pytest.raises(TypeError, match="landscape"):
        flows.ModifiedLoss(lambda x: x, 0.1)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_sharp_flat_derivatives_and_minima(dim):
    f = flows.SharpFlat(20.0, 1.0, dim=dim)
    x = np.random.default_rng(4).uniform(-2.5, 2.5, (9, dim))
    assert check_grad(f.value, f.grad, x) < 1e-6
    for i in range(dim):
        assert check_grad(lambda p, i=i: f.grad(p)[..., i], lambda p, i=i: f.hess(p)[..., i, :], x) < 1e-6
    assert f.value(f.sharp_minimum) == 0.0 and f.value(f.flat_minimum) == 0.0
    np.testing.assert_allclose(f.hess(f.sharp_minimum), 20.0 * np.eye(dim))
    np.testing.assert_allclose(f.hess(f.flat_minimum), 1.0 * np.eye(dim))
    # the Hessian never exceeds the sharp curvature (a convex combination of λ_s, λ_f minus a PSD term)
    assert np.linalg.eigvalsh(f.hess(x)).max() <= 20.0 + 1e-12
    assert np.all(f.value(x) > 0)


def test_sharp_flat_rejects_a_flat_minimum_sharper_than_the_sharp_one():
    with pytest.raises(ValueError, match="flatness"):
        flows.SharpFlat(1.0, 2.0)


def test_gd_cannot_stay_in_the_sharp_minimum_beyond_two_over_its_curvature():
    f = flows.SharpFlat(20.0, 1.0)
    start = np.array([[-1.01]])
    below = opt.gd(f.grad, start, lr=0.095, steps=3000)[-1]
    above = opt.gd(f.grad, start, lr=0.3, steps=3000)[-1]
    assert np.allclose(below, f.sharp_minimum) and np.allclose(above, f.flat_minimum)


@pytest.mark.parametrize("lr", [0.5, 1.5, 1.9])
def test_gd_outcomes_converges_below_two_over_lambda_on_a_quadratic(lr):
    q = ill_conditioned(10.0, smoothness=1.0)  # eigenvalues 0.1 and 1: stable iff lr < 2
    x0 = np.random.default_rng(5).uniform(-1, 1, (20, 2))
    out = flows.gd_outcomes(q.grad, x0, lr=lr, steps=3000, minima=np.zeros((1, 2)))
    # the slow factor is |1 - 0.1 lr| <= 0.95: 3000 steps shrink 1 to below 1e-60
    assert np.all(out.minimum == 0) and not out.period_two.any()
    np.testing.assert_allclose(out.last[-1], 0.0, atol=1e-12)


def test_gd_outcomes_finds_the_period_two_cycle_at_two_over_lambda():
    lam = 4.0
    x0 = np.array([[0.3], [-1.2], [0.0]])
    # at lr = 2/lam the GD map is x -> (1 - 2) x = -x: every start but 0 is on a two-cycle, 0 is the minimum
    out = flows.gd_outcomes(lambda x: lam * x, x0, lr=2 / lam, steps=11, minima=np.zeros((1, 1)))
    assert list(out.minimum) == [-1, -1, 0]
    assert list(out.period_two) == [True, True, False]
    np.testing.assert_allclose(out.last[-1], -x0)  # an odd number of steps: x_K = -x0
    # beyond the limit the run diverges: neither a minimum nor a cycle, reported as nan with no warning
    blow = flows.gd_outcomes(lambda x: lam * x, x0[:1], lr=3 / lam, steps=2000, minima=np.zeros((1, 1)))
    assert blow.minimum[0] == -1 and not blow.period_two[0] and np.all(np.isnan(blow.last))


def test_gd_outcomes_on_sharp_flat_cycles_at_sharpness_two_over_lr():
    f = flows.SharpFlat(20.0, 1.0, dim=2)
    x0 = np.array([[-1.0, 0.05], [-1.1, -0.02], [0.8, 0.5]])
    minima = np.stack([f.flat_minimum, f.sharp_minimum])
    below = flows.gd_outcomes(f.grad, x0, lr=0.09, steps=2000, minima=minima)
    assert list(below.minimum) == [1, 1, 0]
    cyc = flows.gd_outcomes(f.grad, x0, lr=0.15, steps=2000, minima=minima)
    assert list(cyc.minimum) == [-1, -1, 0] and list(cyc.period_two) == [True, True, False]
    # the cycle condition: across the valley the gradient is the distance times the Hessian's isotropic part
    lam_max = np.linalg.eigvalsh(f.hess(cyc.last[1:, :2]))[..., -1]
    np.testing.assert_allclose(lam_max, 2 / 0.15, rtol=1e-8)


def test_gd_outcomes_validates_its_input():
    g = lambda x: x  # noqa: E731
    with pytest.raises(ValueError, match="x0"):
        flows.gd_outcomes(g, np.zeros(3), lr=0.1, steps=5, minima=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="minima"):
        flows.gd_outcomes(g, np.zeros((2, 3)), lr=0.1, steps=5, minima=np.zeros((1, 2)))
    with pytest.raises(ValueError, match="lr"):
        flows.gd_outcomes(g, np.zeros((2, 3)), lr=-0.1, steps=5, minima=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="steps"):
        flows.gd_outcomes(g, np.zeros((2, 3)), lr=0.1, steps=1, minima=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="grad"):
        flows.gd_outcomes(lambda x: x[:, :1], np.zeros((2, 3)), lr=0.1, steps=5, minima=np.zeros((1, 3)))


# --- Fokker–Planck on a grid -------------------------------------------------------------------------

X = np.linspace(-6, 6, 301)
H = X[1] - X[0]


def gaussian(x, m, v):
    return np.exp(-((x - m) ** 2) / (2 * v)) / np.sqrt(2 * np.pi * v)


def test_fokker_planck_matches_the_ornstein_uhlenbeck_solution():
    k, T, m0, v0 = 1.5, 0.5, 2.0, 0.1
    t = np.array([0.0, 0.25, 1.0, 3.0])
    p = flows.fokker_planck_1d(lambda x: 0.5 * k * x**2, gaussian(X, m0, v0), X, temperature=T, t=t, max_step=2e-4)
    mean = m0 * np.exp(-k * t)
    var = v0 * np.exp(-2 * k * t) + T / k * (1 - np.exp(-2 * k * t))
    exact = gaussian(X[None], mean[:, None], var[:, None])
    # O(dt) = 2e-4 in time and O(h^2) = 1.6e-3 in space, times derivatives of order one: below 2e-3
    assert np.max(np.abs(p - exact)) < 2e-3
    np.testing.assert_allclose(np.sum(p * X, axis=1) * H, mean, atol=1e-3)


def test_fokker_planck_keeps_the_discrete_boltzmann_law_and_converges_to_it():
    e = TiltedDoubleWell().value(X[:, None] / 2.5)
    gibbs = np.exp(-e / 0.4)
    gibbs /= gibbs.sum() * H
    energy = lambda x: TiltedDoubleWell().value(x[:, None] / 2.5)  # noqa: E731
    still = flows.fokker_planck_1d(energy, gibbs, X, temperature=0.4, t=[5.0], max_step=0.05)[-1]
    np.testing.assert_allclose(still, gibbs, rtol=1e-9, atol=1e-12)
    late = flows.fokker_planck_1d(energy, gaussian(X, -2.5, 0.2), X, temperature=0.4, t=[400.0], max_step=0.5)[-1]
    assert np.max(np.abs(late - gibbs)) < 1e-3 * gibbs.max()


@settings(max_examples=25, deadline=None)
@given(
    coef=st.lists(st.floats(-1, 1), min_size=4, max_size=4),
    centre=st.floats(-3, 3),
    temperature=st.floats(0.0, 2.0),
    dt=st.floats(1e-3, 1.0),
)
def test_fokker_planck_conserves_mass_positivity_and_lowers_the_free_energy(coef, centre, temperature, dt):
    energy = lambda x: np.polyval(list(coef) + [0.0], x / 3) + 0.05 * x**4  # noqa: E731  a random confining energy
    p0 = gaussian(X, centre, 0.5) + 0.01 * (np.abs(X) < 1)
    p0 /= p0.sum() * H
    t = dt * np.arange(1, 21)
    p = flows.fokker_planck_1d(energy, p0, X, temperature=temperature, t=t, max_step=dt)
    assert np.max(np.abs(p.sum(axis=1) * H - 1)) < 1e-6  # exact up to round-off of each step
    assert np.all(p >= 0)
    F = flows.free_energy(energy, np.concatenate([p0[None], p]), X, temperature=temperature)
    assert np.all(np.diff(F) <= 1e-12 * (1 + np.abs(F[:-1])))


def test_dissipation_is_the_rate_of_fall_of_the_free_energy():
    energy = lambda x: TiltedDoubleWell().value(x[:, None])  # noqa: E731
    x = np.linspace(-2.5, 2.5, 201)
    p0 = gaussian(x, -0.4, 0.1)
    dt = 1e-3
    p = flows.fokker_planck_1d(energy, p0, x, temperature=0.3, t=[0.5 - dt, 0.5, 0.5 + dt], max_step=1e-5)
    F = flows.free_energy(energy, p, x, temperature=0.3)
    rate = (F[2] - F[0]) / (2 * dt)
    # central difference O(dt^2) plus backward Euler O(1e-5): 1e-4 relative
    assert rate == pytest.approx(-flows.dissipation(energy, p[1], x, temperature=0.3), rel=1e-4)


def test_dissipation_approaches_the_fisher_information_of_a_gaussian():
    k, T, m, v = 1.0, 0.5, 1.0, 0.3
    p = gaussian(X, m, v)
    # int p |d/dx (k x^2/2 + T log p)|^2 = v (k - T/v)^2 + (k m)^2 for p = N(m, v)
    exact = v * (k - T / v) ** 2 + (k * m) ** 2
    assert flows.dissipation(lambda x: 0.5 * k * x**2, p, X, temperature=T) == pytest.approx(exact, rel=2e-3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"x": np.array([0.0, 1.0, 3.0])}, ValueError, "uniform"),
        ({"p0": -gaussian(X, 0, 1)}, ValueError, "non-negative"),
        ({"p0": np.ones(5)}, ValueError, "p0"),
        ({"temperature": -1.0}, ValueError, "temperature"),
        ({"energy": "x^2"}, TypeError, "energy"),
        ({"t": [1.0, 0.5]}, ValueError, "t must"),
    ],
)
def test_fokker_planck_rejects_bad_input(kwargs, error, match):
    args = {"energy": lambda x: x**2, "p0": gaussian(X, 0, 1), "x": X, "temperature": 1.0, "t": [0.1]}
    args.update(kwargs)
    if "x" in kwargs:
        args["p0"] = np.ones(3)
    with pytest.raises(error, match=match):
        flows.fokker_planck_1d(args.pop("energy"), args.pop("p0"), args.pop("x"), **args)


# --- Wasserstein distance and JKO --------------------------------------------------------------------


def test_grid_quantiles_and_the_gaussian_wasserstein_distance():
    n = 400
    q1 = flows.quantiles_1d(gaussian(X, 0.5, 0.25), X, n)
    np.testing.assert_allclose(q1, stats.norm.ppf(flows.mass_levels(n), 0.5, 0.5), atol=2e-3)  # O(h^2) CDF
    q2 = stats.norm.ppf(flows.mass_levels(n), -1.0, 1.5)
    # W2^2 between N(m1, s1^2) and N(m2, s2^2) is (m1 - m2)^2 + (s1 - s2)^2; n levels truncate the tails: 1e-2
    exact = np.sqrt(1.5**2 + 1.0**2)
    assert flows.wasserstein_1d(q1, q2) == pytest.approx(exact, rel=1e-2)
    assert flows.wasserstein_1d(q2, q2[::-1]) == 0.0
    with pytest.raises(ValueError, match="same size"):
        flows.wasserstein_1d(q1, q2[:-1])


def test_particle_density_of_uniform_particles_is_flat():
    mid, dens = flows.particle_density(flows.mass_levels(50))
    np.testing.assert_allclose(dens, 1.0)
    np.testing.assert_allclose(mid, 0.5 * (flows.mass_levels(50)[1:] + flows.mass_levels(50)[:-1]))


def test_jko_at_zero_temperature_is_implicit_euler_per_particle():
    k, tau = 2.0, 0.3
    q = Quadratic([[k]])
    y0 = np.linspace(-1, 2, 7)
    y = flows.jko_1d(q, y0, temperature=0.0, tau=tau, steps=4)
    np.testing.assert_allclose(y[-1], y0 / (1 + tau * k) ** 4, atol=1e-10)


def test_jko_follows_the_ornstein_uhlenbeck_law():
    k, T, n, tau = 1.0, 0.5, 200, 0.01
    y0 = stats.norm.ppf(flows.mass_levels(n), 2.0, 0.4)
    y = flows.jko_1d(Quadratic([[k]]), y0, temperature=T, tau=tau, steps=100)[-1]
    mean = 2.0 * np.exp(-k)
    var = 0.16 * np.exp(-2 * k) + T / k * (1 - np.exp(-2 * k))
    exact = stats.norm.ppf(flows.mass_levels(n), mean, np.sqrt(var))
    # O(tau) time error on a mean moving at speed ~1: about 0.5 tau; the tails add O(1/n)
    assert flows.wasserstein_1d(y, exact) < 0.01
    assert np.mean(y) == pytest.approx(mean, abs=0.01)


def test_jko_agrees_with_the_grid_solver_on_the_double_well():
    well = TiltedDoubleWell()
    x = np.linspace(-2.5, 2.5, 301)
    p0 = gaussian(x, -0.3, 0.06)
    energy = lambda z: well.value(z[:, None])  # noqa: E731
    p = flows.fokker_planck_1d(energy, p0, x, temperature=0.3, t=[1.0], max_step=1e-3)[-1]
    y = flows.jko_1d(well, flows.quantiles_1d(p0, x, 200), temperature=0.3, tau=0.01, steps=100)[-1]
    # both are O(step) in time (1e-3 and 1e-2) and resolve the density well: W2 of order 1e-2 at most
    assert flows.wasserstein_1d(flows.quantiles_1d(p, x, 200), y) < 1e-2


def test_jko_validates_its_input():
    with pytest.raises(ValueError, match="increasing"):
        flows.jko_step_1d(TiltedDoubleWell(), np.array([1.0, 0.0]), temperature=0.1, tau=0.1)
    with pytest.raises(TypeError, match="1-D"):
        flows.jko_step_1d(TiltedDoubleWell(dim=2), np.array([0.0, 1.0]), temperature=0.1, tau=0.1)
    with pytest.raises(ValueError, match="tau"):
        flows.jko_step_1d(TiltedDoubleWell(), np.array([0.0, 1.0]), temperature=0.1, tau=-1.0)


# --- the free energy as a KL divergence -----------------------------------------------------------------


def test_boltzmann_of_a_quadratic_is_the_gaussian_and_log_z_its_normaliser():
    lam, T = 2.0, 0.5
    p_inf, log_z = flows.boltzmann_1d(lambda x: 0.5 * lam * x**2 + 3.0, X, temperature=T)
    # Z = exp(-3/T) sqrt(2 pi T / lam); the midpoint rule on a Gaussian with sd 0.5 at h = 0.04 is exact to round-off
    assert log_z == pytest.approx(-3.0 / T + 0.5 * np.log(2 * np.pi * T / lam), abs=1e-10)
    np.testing.assert_allclose(p_inf, gaussian(X, 0.0, T / lam), atol=1e-10)


@given(st.floats(-1.0, 1.0), st.floats(0.2, 2.0), st.floats(0.1, 1.0))
@settings(max_examples=30, deadline=None)
def test_free_energy_is_t_kl_minus_t_log_z(m, v, T):
    energy = TiltedDoubleWell().value
    e = lambda x: energy(x[..., None])  # noqa: E731
    x = np.linspace(-2.5, 2.5, 251)  # on a wider grid exp(-E/T) underflows to 0 at T = 0.1
    p = gaussian(x, m, v)
    p /= p.sum() * (x[1] - x[0])  # the identity needs a probability density: unit mass on the grid
    p_inf, log_z = flows.boltzmann_1d(e, x, temperature=T)
    F = flows.free_energy(e, p, x, temperature=T)
    # an identity of the discrete sums: round-off only (values of order 10)
    assert F == pytest.approx(T * flows.kl_divergence_1d(p, p_inf, x) - T * log_z, abs=1e-9)
    assert flows.kl_divergence_1d(p_inf, p_inf, x) == pytest.approx(0.0, abs=1e-12)


def test_kl_of_two_gaussians_matches_the_closed_form_and_rejects_bad_support():
    p, q = gaussian(X, 0.5, 0.4), gaussian(X, -0.3, 1.2)
    exact = 0.5 * (0.4 / 1.2 + 0.8**2 / 1.2 - 1 + np.log(1.2 / 0.4))
    # both densities are negligible at +-6 and the midpoint rule is spectrally accurate here
    assert flows.kl_divergence_1d(p, q, X) == pytest.approx(exact, rel=1e-8)
    with pytest.raises(ValueError, match="positive wherever"):
        flows.kl_divergence_1d(p, np.where(X > 0, q, 0.0), X)
    with pytest.raises(ValueError, match="temperature"):
        flows.boltzmann_1d(lambda x: x**2, X, temperature=0.0)


def test_ks_distance_of_a_sample_from_the_grid_law_follows_kolmogorovs_law():
    from scipy.special import kolmogi

    x = np.linspace(-4, 4, 401)
    p = gaussian(x, 0.3, 0.5)
    rng = np.random.default_rng(7)
    d = np.array([flows.ks_distance_1d(rng.normal(0.3, np.sqrt(0.5), 2000), p, x) for _ in range(200)])
    # sqrt(n) D has Kolmogorov's law: its median is kolmogi(0.5) = 0.83; 200 draws pin the median to ~0.03
    assert np.median(np.sqrt(2000) * d) == pytest.approx(kolmogi(0.5), abs=0.08)
    # a shifted sample is far outside: sqrt(n) D ~ sqrt(2000) * 0.11 = 5 >> 1.95
    assert np.sqrt(2000) * flows.ks_distance_1d(rng.normal(0.6, np.sqrt(0.5), 2000), p, x) > kolmogi(1e-3)
    # exact on a tiny case: one point at the median of a uniform density
    u = np.linspace(0.005, 0.995, 100)
    assert flows.ks_distance_1d([0.5], np.ones(100), u) == pytest.approx(0.5, abs=1e-12)
    with pytest.raises(ValueError, match="sample"):
        flows.ks_distance_1d([], p, x)
