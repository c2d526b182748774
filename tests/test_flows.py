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
    # the Hessian never exceeds the sharp curvature (a convex combination of k_s, k_f minus a PSD term)
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
