"""Tests of gdlens.langevin against closed forms: Ornstein-Uhlenbeck, Boltzmann (by quadrature), Einstein's
mean squared displacement, the Lyapunov covariance; plus reproducibility, divergence and validation.

Monte Carlo tolerances are stated as multiples of the standard error (SE): 4 SE gives a false-alarm
probability below 1e-4 per check, and every check uses a fixed seed, so a failure is a real change.
"""

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlens import langevin as lv
from gdlens.finite_sum import LeastSquares
from gdlens.landscapes import TiltedDoubleWell, check_grad


def harmonic(k):
    return lambda x: k * x


# ----------------------------------------------------------------------------------------------------
# the overdamped integrator


def test_update_rule_is_exactly_as_documented():
    """x_{k+1} = x_k - step grad(x_k) + sqrt(2 step T_k) xi_k, xi_k = rng.standard_normal(x.shape)."""
    well = TiltedDoubleWell(dim=2)
    x0 = np.array([[-1.0, 0.3], [0.5, -0.2], [1.2, 0.0]])
    sched = lv.geometric(0.8, 0.9)
    got = lv.overdamped(well.grad, x0, step=0.05, temperature=sched, steps=7, rng=np.random.default_rng(3), trace=True)
    rng = np.random.default_rng(3)
    x = x0.copy()
    assert np.array_equal(got[0], x0)
    for k in range(7):
        x = x - 0.05 * well.grad(x) + np.sqrt(2 * 0.05 * sched(k)) * rng.standard_normal(x.shape)
        np.testing.assert_allclose(got[k + 1], x, rtol=1e-12, atol=1e-14)
    assert got.shape == (8, 3, 2)
    final = lv.overdamped(well.grad, x0, step=0.05, temperature=sched, steps=7, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(final, got[-1])


def test_temperature_schedule_is_used_at_step_k():
    # zero gradient, T_k = 1 only at k = 2: the result is sqrt(2 step) xi_2, the third draw
    temps = [0.0, 0.0, 1.0, 0.0]
    x = lv.overdamped(
        lambda z: 0 * z,
        np.zeros((4, 2)),
        step=0.5,
        temperature=lambda k: temps[k],
        steps=4,
        rng=np.random.default_rng(1),
    )
    rng = np.random.default_rng(1)
    draws = [rng.standard_normal((4, 2)) for _ in range(4)]
    np.testing.assert_allclose(x, draws[2], rtol=1e-12)


def test_zero_temperature_is_gradient_descent():
    well = TiltedDoubleWell()
    x0 = np.array([[-0.5], [0.2]])
    x = lv.overdamped(well.grad, x0, step=0.1, temperature=0.0, steps=200, rng=np.random.default_rng(0))
    # GD never crosses the barrier: each chain ends at the minimum of its own basin
    np.testing.assert_allclose(x[:, 0], [well.local_minimum[0], well.global_minimum[0]], atol=1e-8)


def test_ornstein_uhlenbeck_mean_and_variance_at_time_t():
    k, T, x0, step, t = 2.0, 0.7, 1.5, 1e-3, 0.8
    n = 40_000
    steps = int(round(t / step))
    x = lv.overdamped(
        harmonic(k), np.full((n, 1), x0), step=step, temperature=T, steps=steps, rng=np.random.default_rng(5)
    )
    mean, var = lv.ou_moments(t, x0=x0, stiffness=k, temperature=T)
    se_mean = np.sqrt(var / n)
    se_var = var * np.sqrt(2 / (n - 1))
    # the Euler scheme's bias is O(step): for the mean |(1 - k step)^n - e^{-kt}| x0 ~ k^2 t step x0 / 2
    bias_mean = abs((1 - k * step) ** steps - np.exp(-k * t)) * x0
    bias_var = abs(2 * T * step * (1 - (1 - k * step) ** (2 * steps)) / (1 - (1 - k * step) ** 2) - var)
    assert abs(x.mean() - mean) < 4 * se_mean + bias_mean
    assert abs(x.var() - var) < 4 * se_var + bias_var
    assert bias_mean < se_mean and bias_var < se_var  # the check is dominated by Monte Carlo, not the scheme


def test_brownian_mean_squared_displacement():
    """Free particle: E|x_t - x_0|^2 = 2 d D t with D = T (friction 1); exact for the Euler scheme."""
    n, d, T, step, steps = 20_000, 3, 0.4, 0.01, 150
    x = lv.overdamped(
        lambda z: 0 * z, np.zeros((n, d)), step=step, temperature=T, steps=steps, rng=np.random.default_rng(2)
    )
    msd = np.sum(x**2, axis=1)
    pred = lv.brownian_msd(step * steps, dim=d, temperature=T)
    # |x|^2 / (2 D t) is chi-squared with d degrees of freedom: variance 2 d (2 D t)^2 / d^2 ... SE below
    se = pred * np.sqrt(2 / d) / np.sqrt(n)
    assert abs(msd.mean() - pred) < 4 * se


def test_stationary_law_is_boltzmann_by_quadrature():
    well = TiltedDoubleWell()
    T, step = 0.5, 2e-3
    n = 20_000
    x = lv.overdamped(well.grad, np.ones((n, 1)), step=step, temperature=T, steps=6000, rng=np.random.default_rng(7))

    def e(u):
        return well.value(np.array([u]))

    z = scipy.integrate.quad(lambda u: np.exp(-e(u) / T), -4, 4)[0]
    p_right = scipy.integrate.quad(lambda u: np.exp(-e(u) / T), 0, 4)[0] / z
    mean = scipy.integrate.quad(lambda u: u * np.exp(-e(u) / T), -4, 4)[0] / z
    se_p = np.sqrt(p_right * (1 - p_right) / n)
    # bias of the Euler scheme is O(step); at step 2e-3 it is below 1 SE here (see the chapter's measurement)
    assert abs(np.mean(x[:, 0] > 0) - p_right) < 5 * se_p
    assert abs(x.mean() - mean) < 5 * x.std() / np.sqrt(n)


def test_divergence_is_reported_as_nan_rows_without_warnings():
    well = TiltedDoubleWell(dim=2)
    x0 = np.array([[0.5, 0.0], [3.0, 0.0], [-1.0, 0.1]])
    x = lv.overdamped(well.grad, x0, step=0.4, temperature=0.0, steps=60, rng=np.random.default_rng(0), trace=True)
    mask = lv.diverged(x)
    assert mask.tolist() == [False, True, False]
    assert np.isnan(x[-1, 1]).all() and np.isfinite(x[-1, [0, 2]]).all()
    # a diverged chain stays nan from the step it left the floats on
    first = np.argmax(np.isnan(x[:, 1, 0]))
    assert first > 0 and np.isnan(x[first:, 1]).all()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"step": 0.0}, ValueError),
        ({"step": -1.0}, ValueError),
        ({"step": np.inf}, ValueError),
        ({"temperature": -0.1}, ValueError),
        ({"temperature": np.nan}, ValueError),
        ({"temperature": np.inf}, ValueError),
        ({"temperature": "hot"}, TypeError),
        ({"temperature": lambda k: -1.0}, ValueError),
        ({"temperature": lambda k: np.nan}, ValueError),
        ({"steps": 2.5}, TypeError),
        ({"steps": -1}, ValueError),
        ({"rng": 0}, TypeError),
        ({"x0": np.zeros(3)}, ValueError),
        ({"x0": np.array([[np.nan]])}, ValueError),
        ({"grad_energy": 3}, TypeError),
        ({"grad_energy": lambda z: z[:, :1]}, ValueError),
    ],
)
def test_overdamped_rejects_bad_input(kwargs, error):
    args = {
        "grad_energy": lambda z: z,
        "x0": np.zeros((2, 2)),
        "step": 0.1,
        "temperature": 1.0,
        "steps": 3,
        "rng": np.random.default_rng(0),
    }
    args.update(kwargs)
    g, x0 = args.pop("grad_energy"), args.pop("x0")
    with pytest.raises(error):
        lv.overdamped(g, x0, **args)


def test_zero_steps_returns_the_start():
    x0 = np.arange(6.0).reshape(3, 2)
    assert np.array_equal(
        lv.overdamped(lambda z: z, x0, step=0.1, temperature=1, steps=0, rng=np.random.default_rng()), x0
    )
    tr = lv.overdamped(lambda z: z, x0, step=0.1, temperature=1, steps=0, rng=np.random.default_rng(), trace=True)
    assert tr.shape == (1, 3, 2)


# ----------------------------------------------------------------------------------------------------
# the underdamped integrator


def test_underdamped_at_zero_mass_is_overdamped_with_the_same_noise():
    well = TiltedDoubleWell(dim=2)
    x0 = np.array([[-1.0, 0.5], [0.2, 0.1]])
    h, gamma = 0.02, 2.0
    xu, _ = lv.underdamped(
        well.grad, x0, step=h, mass=0.0, friction=gamma, temperature=0.3, steps=50, rng=np.random.default_rng(4)
    )
    xo = lv.overdamped(well.grad, x0, step=h / gamma, temperature=0.3, steps=50, rng=np.random.default_rng(4))
    np.testing.assert_allclose(xu, xo, rtol=1e-10, atol=1e-12)


def test_underdamped_paths_converge_to_overdamped_as_mass_vanishes():
    well = TiltedDoubleWell()
    x0 = np.full((200, 1), -1.0)
    ref = lv.overdamped(well.grad, x0, step=0.01, temperature=0.3, steps=300, rng=np.random.default_rng(9), trace=True)
    gaps = []
    for m in [1e-2, 1e-3, 1e-4]:
        xs, _ = lv.underdamped(
            well.grad,
            x0,
            np.zeros_like(x0),
            step=0.01,
            mass=m,
            temperature=0.3,
            steps=300,
            rng=np.random.default_rng(9),
            trace=True,
        )
        gaps.append(np.sqrt(np.mean((xs - ref) ** 2)))
    # once m << gamma h the gap is first order in m: each tenfold smaller mass, a tenfold smaller gap
    assert gaps[1] < 0.2 * gaps[0] and gaps[2] < 0.2 * gaps[1]


def test_underdamped_free_particle_msd_with_mass():
    """Ornstein-Uhlenbeck velocity: E|x_t - x_0|^2 = 2dD(t - m/g (1 - e^{-g t/m})), D = T/g."""
    n, d, T, gamma, m, h, steps = 20_000, 2, 0.5, 2.0, 1.0, 2e-3, 1000
    x, v = lv.underdamped(
        lambda z: 0 * z,
        np.zeros((n, d)),
        step=h,
        mass=m,
        friction=gamma,
        temperature=T,
        steps=steps,
        rng=np.random.default_rng(6),
    )
    t = h * steps
    pred = lv.brownian_msd(t, dim=d, temperature=T, friction=gamma, mass=m)
    msd = np.sum(x**2, axis=1)
    se = msd.std() / np.sqrt(n)
    # semi-implicit Euler is first order: its relative bias is about gamma h / m = 0.4 %, below 1 SE here
    assert abs(msd.mean() - pred) < 4 * se + 0.01 * pred
    # velocities stay at the Maxwell law N(0, T/m) up to O(h)
    assert abs(v.var() - T / m) < 4 * (T / m) * np.sqrt(2 / (n * d)) + 0.01 * T / m


def test_underdamped_rejects_bad_input():
    g, x0, rng = (lambda z: z), np.zeros((2, 1)), np.random.default_rng(0)
    with pytest.raises(ValueError, match="mass"):
        lv.underdamped(g, x0, step=0.1, mass=-1.0, temperature=1.0, steps=2, rng=rng)
    with pytest.raises(ValueError, match="friction"):
        lv.underdamped(g, x0, step=0.1, mass=1.0, friction=0.0, temperature=1.0, steps=2, rng=rng)
    with pytest.raises(ValueError, match="v0"):
        lv.underdamped(g, x0, np.zeros((3, 1)), step=0.1, mass=1.0, temperature=1.0, steps=2, rng=rng)


# ----------------------------------------------------------------------------------------------------
# Boltzmann density


@pytest.mark.parametrize("T", [2.0, 0.3, 0.05])
def test_boltzmann_density_matches_quadrature(T):
    well = TiltedDoubleWell()
    grid = np.linspace(-3, 3, 4001)
    p = lv.boltzmann_density(well.value, grid, temperature=T)
    e0 = well.value(well.global_minimum)

    def w(u):
        return np.exp(-(well.value(np.array([u])) - e0) / T)

    z = scipy.integrate.quad(w, -3, 3, points=[-1, 1], limit=200)[0]
    exact = np.array([w(u) for u in grid[::200]]) / z
    # trapezoid error O(h^2 E''/T) on a fine grid: relative 1e-5 is ample
    np.testing.assert_allclose(p[::200], exact, rtol=1e-5, atol=1e-12)


def test_boltzmann_density_is_stable_at_low_temperature_and_in_2d():
    well = TiltedDoubleWell(dim=2)
    g = np.linspace(-2.5, 2.5, 301)
    p = lv.boltzmann_density(well.value, [g, g], temperature=1e-3)  # exp(-E/T) alone would underflow
    assert p.shape == (301, 301) and np.all(np.isfinite(p))
    assert np.trapezoid(np.trapezoid(p, g, axis=1), g) == pytest.approx(1.0, rel=1e-12)
    i, j = np.unravel_index(np.argmax(p), p.shape)
    assert abs(g[i] - well.global_minimum[0]) < 0.02 and abs(g[j]) < 0.02
    # 2-D with a separable energy: the marginal along x_2 is the Gaussian N(0, T/k)
    T = 0.5
    p = lv.boltzmann_density(well.value, [g, g], temperature=T)
    marg = np.trapezoid(p, g, axis=0)
    gauss = np.exp(-well.stiffness * g**2 / (2 * T)) / np.sqrt(2 * np.pi * T / well.stiffness)
    np.testing.assert_allclose(marg, gauss, atol=1e-4)


def test_boltzmann_sample_follows_the_law():
    well = TiltedDoubleWell()
    g = np.linspace(-3, 3, 3001)
    T, n = 0.4, 50_000
    x = lv.boltzmann_sample(well.value, g, temperature=T, size=n, rng=np.random.default_rng(3))
    assert x.shape == (n, 1)
    p = lv.boltzmann_density(well.value, g, temperature=T)
    p_right = np.trapezoid(np.where(g > 0, p, 0.0), g)
    assert abs(np.mean(x > 0) - p_right) < 4 * np.sqrt(p_right * (1 - p_right) / n)
    with pytest.raises(ValueError, match="1-D"):
        lv.boltzmann_sample(well.value, [g, g], temperature=T, size=3, rng=np.random.default_rng())


def test_boltzmann_expectation_and_validation():
    q = lambda x: 0.5 * 3.0 * np.sum(x**2, axis=-1)  # noqa: E731
    g = np.linspace(-6, 6, 3001)
    assert lv.boltzmann_expectation(lambda x: x[..., 0] ** 2, q, g, temperature=0.6) == pytest.approx(0.2, rel=1e-6)
    with pytest.raises(ValueError, match="temperature"):
        lv.boltzmann_density(q, g, temperature=0.0)
    with pytest.raises(ValueError, match="grid"):
        lv.boltzmann_density(q, g[::-1], temperature=1.0)


# ----------------------------------------------------------------------------------------------------
# schedules and the rugged landscape


def test_schedules_values_and_validation():
    k = np.arange(5)
    np.testing.assert_allclose(lv.logarithmic(2.0, k0=3.0)(k), 2.0 / np.log(k + 3.0))
    np.testing.assert_allclose(lv.geometric(1.5, 0.5)(k), 1.5 * 0.5**k)
    np.testing.assert_allclose(lv.linear(2.0, 4)(k), [2.0, 1.5, 1.0, 0.5, 0.0])
    assert lv.linear(2.0, 4)(10) == 0.0
    np.testing.assert_allclose(lv.constant(0.7)(k), 0.7)
    for bad, err in [
        (lambda: lv.logarithmic(0.0), ValueError),
        (lambda: lv.logarithmic(1.0, k0=1.0), ValueError),
        (lambda: lv.geometric(1.0, 0.0), ValueError),
        (lambda: lv.geometric(1.0, 1.5), ValueError),
        (lambda: lv.geometric(-1.0, 0.5), ValueError),
        (lambda: lv.linear(1.0, 0), ValueError),
        (lambda: lv.linear(1.0, 2.5), TypeError),
    ]:
        with pytest.raises(err):
            bad()


def test_rugged_bowl_gradient_hessian_and_minimum():
    f = lv.RuggedBowl()
    x = np.random.default_rng(0).uniform(-3, 3, size=(20, 2))
    assert check_grad(f.value, f.grad, x) < 1e-7
    assert check_grad(lambda z: f.grad(z)[..., 1], lambda z: f.hess(z)[..., 1, :], x) < 1e-7
    assert f.value(f.global_minimum) == 0.0 and np.all(f.value(x) > 0)
    # gradient descent started two ripples away stays in a local minimum
    x = lv.overdamped(
        f.grad, f.center + np.array([[2.0, 2.0]]), step=0.02, temperature=0.0, steps=2000, rng=np.random.default_rng(0)
    )
    assert not f.in_global_basin(x)[0] and np.linalg.norm(f.grad(x)) < 1e-8


def test_annealing_beats_gradient_descent_on_the_double_well():
    well = TiltedDoubleWell()
    x0 = np.full((2000, 1), well.local_minimum[0])
    gd = lv.overdamped(well.grad, x0, step=0.02, temperature=0.0, steps=3000, rng=np.random.default_rng(1))
    sa = lv.overdamped(
        well.grad, x0, step=0.02, temperature=lv.linear(0.6, 2500), steps=3000, rng=np.random.default_rng(1)
    )
    assert np.mean(gd[:, 0] > 0) == 0.0
    assert np.mean(sa[:, 0] > 0) > 0.8


# ----------------------------------------------------------------------------------------------------
# Lyapunov equations and SGD


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=4), st.integers(min_value=0, max_value=10_000))
def test_lyapunov_solvers_agree_with_scipy(d, seed):
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((d, d))
    a = m @ m.T + 0.5 * np.eye(d)
    n = rng.standard_normal((d, d))
    q = n @ n.T
    s = lv.lyapunov(a, q)
    np.testing.assert_allclose(s, scipy.linalg.solve_continuous_lyapunov(a, q), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(a @ s + s @ a.T, q, atol=1e-9 * (1 + np.abs(q).max()))
    b = 0.9 * np.eye(d) - 0.4 * a / np.abs(np.linalg.eigvalsh(a)).max()
    sd = lv.discrete_lyapunov(b, q)
    np.testing.assert_allclose(sd, scipy.linalg.solve_discrete_lyapunov(b, q), rtol=1e-8, atol=1e-10)


def test_lyapunov_validation():
    with pytest.raises(ValueError, match="spectral radius"):
        lv.discrete_lyapunov(np.eye(2), np.eye(2))
    with pytest.raises(ValueError, match="square"):
        lv.lyapunov(np.ones((2, 3)), np.eye(2))
    with pytest.raises(ValueError, match="singular"):
        lv.lyapunov(np.diag([1.0, -1.0]), np.eye(2))


def test_sgd_stationary_covariance_against_monte_carlo():
    """SGD with Gaussian gradient noise on a 2-D quadratic: iterate covariance = discrete Lyapunov solution."""
    h = np.array([[2.0, 0.6], [0.6, 0.5]])
    c = np.array([[1.0, -0.3], [-0.3, 0.4]])
    lr, b, n = 0.2, 4, 20_000
    chol = np.linalg.cholesky(c / b)
    rng = np.random.default_rng(8)
    x = np.zeros((n, 2))
    for _ in range(300):  # 300 steps: (1 - lr mu)^300 is about 1e-6
        x = x - lr * (x @ h + rng.standard_normal((n, 2)) @ chol.T)
    emp = np.cov(x.T)
    exact = lv.sgd_stationary_covariance(h, c, lr=lr, batch_size=b, exact=True)
    approx = lv.sgd_stationary_covariance(h, c, lr=lr, batch_size=b)
    # SE of a covariance entry: sqrt((S_ii S_jj + S_ij^2) / n)
    se = np.sqrt((np.outer(np.diag(exact), np.diag(exact)) + exact**2) / n)
    assert np.all(np.abs(emp - exact) < 4 * se)
    # the continuous (Mandt et al.) answer differs at order lr: visibly here
    assert np.max(np.abs(approx - exact)) > 4 * se.max()
    # isotropic noise: Mandt's covariance is the Boltzmann one, T_eff H^{-1} with T_eff = lr sigma^2 / (2B)
    iso = lv.sgd_stationary_covariance(h, 0.3 * np.eye(2), lr=lr, batch_size=b)
    np.testing.assert_allclose(iso, lr * 0.3 / (2 * b) * np.linalg.inv(h), rtol=1e-10)


def _regression(n=200, d=3, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, d)) * np.array([1.0, 0.5, 2.0])[:d]
    y = a @ np.arange(1.0, d + 1) + 0.5 * rng.standard_normal(n)
    return LeastSquares(a, y)


def test_least_squares_batch_grad():
    f = _regression()
    bg = lv.least_squares_batch_grad(f)
    x = np.random.default_rng(1).standard_normal((5, 3))
    all_idx = np.tile(np.arange(f.n), (5, 1))
    np.testing.assert_allclose(bg(x, all_idx), f.grad(x), atol=1e-12)
    idx = np.random.default_rng(2).integers(0, f.n, size=(5, 7))
    for c in range(5):
        np.testing.assert_allclose(bg(x, idx)[c], f.grad(x[c], idx[c]), atol=1e-12)
    with pytest.raises(TypeError, match="problem"):
        lv.least_squares_batch_grad(TiltedDoubleWell())


@pytest.mark.parametrize("replace", [True, False])
def test_minibatch_noise_covariance_shrinks_as_one_over_b(replace):
    f = _regression(n=50)
    bg = lv.least_squares_batch_grad(f)
    theta = np.array([0.5, 1.0, 2.0])
    per = f.per_sample_grads(theta)
    rng = np.random.default_rng(2)
    reps = 20_000
    for b in [1, 5, 20]:
        if replace:
            idx = rng.integers(0, f.n, size=(reps, b))
        else:
            idx = np.argsort(rng.random((reps, f.n)), axis=1)[:, :b]
        gb = bg(np.tile(theta, (reps, 1)), idx)
        exact = lv.minibatch_noise_covariance(per, b, replace=replace)
        np.testing.assert_allclose(gb.mean(axis=0), f.grad(theta), atol=4 * np.sqrt(np.diag(exact).max() / reps))
        se = np.sqrt((np.outer(np.diag(exact), np.diag(exact)) + exact**2) / reps)
        assert np.all(np.abs(np.cov(gb.T) - exact) < 4 * se)
    c1 = lv.minibatch_noise_covariance(per, 1)
    np.testing.assert_allclose(lv.minibatch_noise_covariance(per, 10), c1 / 10)
    with pytest.raises(ValueError, match="batch_size"):
        lv.minibatch_noise_covariance(per, f.n + 1, replace=False)


def test_minibatch_sgd_update_and_full_batch_limit():
    f = _regression()
    bg = lv.least_squares_batch_grad(f)
    x0 = np.zeros((4, 3))
    got = lv.minibatch_sgd(bg, f.n, x0, lr=0.05, batch_size=8, steps=5, rng=np.random.default_rng(3))
    rng, x = np.random.default_rng(3), x0.copy()
    for _ in range(5):
        x = x - 0.05 * bg(x, rng.integers(0, f.n, size=(4, 8)))
    np.testing.assert_allclose(got, x, rtol=1e-12)
    # started at the minimiser, SGD spreads around it with a mean squared distance ~ lr (Mandt et al.)
    spread = []
    for lr in [0.04, 0.01]:
        xs = lv.minibatch_sgd(
            bg, f.n, np.tile(f.minimizer(), (500, 1)), lr=lr, batch_size=4, steps=1500, rng=np.random.default_rng(4)
        )
        spread.append(np.mean(np.sum((xs - f.minimizer()) ** 2, axis=1)))
    assert spread[1] < 0.5 * spread[0]
    with pytest.raises(ValueError, match="lr"):
        lv.minibatch_sgd(bg, f.n, x0, lr=lambda k: 0.0, batch_size=2, steps=2, rng=np.random.default_rng())


def test_sgld_samples_a_gaussian_posterior():
    """x_i ~ N(theta, s^2), prior N(0, s0^2): the posterior is Gaussian with closed-form mean and variance."""
    rng = np.random.default_rng(11)
    s, s0, n = 1.0, 2.0, 100
    data = 0.7 + s * rng.standard_normal(n)
    prec = 1 / s0**2 + n / s**2
    post_mean, post_var = (data.sum() / s**2) / prec, 1 / prec
    chains = 4000
    eps = 2e-4
    x = lv.sgld(
        lambda t: -t / s0**2,
        lambda t, idx: np.sum(data[idx] - t, axis=1, keepdims=True) / s**2,
        n,
        np.zeros((chains, 1)),
        step=eps,
        batch_size=n,  # sampled with replacement: the gradient noise adds O(eps) variance, below 1 SE here
        steps=600,
        rng=np.random.default_rng(12),
    )
    # with full (resampled) batches the scheme's stationary variance is post_var / (1 - eps prec / 4) + O(eps)
    assert abs(x.mean() - post_mean) < 4 * np.sqrt(post_var / chains)
    assert abs(x.var() / post_var - 1) < 4 * np.sqrt(2 / chains) + eps * prec


# ----------------------------------------------------------------------------------------------------
# no integrator writes into the arrays its callables return (issue 17)


def test_overdamped_with_a_gradient_that_returns_its_input_is_gradient_descent():
    # grad = identity: GD multiplies by (1 - step) per step; 0.9^3 = 0.729 (an in-place scaling gave 0)
    x = lv.overdamped(lambda z: z, np.ones((2, 1)), step=0.1, temperature=0.0, steps=3, rng=np.random.default_rng(0))
    np.testing.assert_allclose(x, 0.729, rtol=1e-14)
    xs = lv.overdamped(
        lambda z: z, np.ones((2, 1)), step=0.1, temperature=0.0, steps=3, rng=np.random.default_rng(0), trace=True
    )
    np.testing.assert_allclose(xs[:, 0, 0], [1.0, 0.9, 0.81, 0.729], rtol=1e-14)


def test_overdamped_does_not_scale_a_stored_gradient_in_place():
    G = np.ones((2, 1))
    x = lv.overdamped(lambda z: G, np.ones((2, 1)), step=0.1, temperature=0.0, steps=3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(G, 1.0)
    np.testing.assert_allclose(x, 0.7, rtol=1e-14)
    # with noise too: the result is the same as with a fresh array per call
    fresh = lv.overdamped(
        lambda z: np.ones((2, 1)), np.ones((2, 1)), step=0.1, temperature=0.3, steps=5, rng=np.random.default_rng(4)
    )
    stored = lv.overdamped(
        lambda z: G, np.ones((2, 1)), step=0.1, temperature=0.3, steps=5, rng=np.random.default_rng(4)
    )
    np.testing.assert_array_equal(fresh, stored)
    np.testing.assert_array_equal(G, 1.0)


def test_underdamped_sgd_and_sgld_leave_returned_arrays_alone():
    G = np.ones((3, 1))
    x0 = np.ones((3, 1))
    x, v = lv.underdamped(
        lambda z: G, x0, np.zeros((3, 1)), step=0.1, mass=0.0, temperature=0.0, steps=3, rng=np.random.default_rng(0)
    )
    np.testing.assert_allclose(x, 0.7, rtol=1e-14)  # at m = 0: x - 3 h G / friction
    x, _ = lv.underdamped(
        lambda z: z, x0, np.zeros((3, 1)), step=0.1, mass=0.0, temperature=0.0, steps=3, rng=np.random.default_rng(0)
    )
    np.testing.assert_allclose(x, 0.729, rtol=1e-14)
    x = lv.minibatch_sgd(lambda th, idx: G, 5, x0, lr=0.1, batch_size=2, steps=3, rng=np.random.default_rng(0))
    np.testing.assert_allclose(x, 0.7, rtol=1e-14)
    x = lv.minibatch_sgd(lambda th, idx: th, 5, x0, lr=0.1, batch_size=2, steps=3, rng=np.random.default_rng(0))
    np.testing.assert_allclose(x, 0.729, rtol=1e-14)
    P = -np.ones((3, 1))
    lv.sgld(lambda th: P, lambda th, idx: th, 4, x0, step=0.01, batch_size=1, steps=3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(G, 1.0)
    np.testing.assert_array_equal(P, -1.0)
    np.testing.assert_array_equal(x0, 1.0)


# ----------------------------------------------------------------------------------------------------
# the continuous-time logarithmic schedule and the crossing record


def test_logarithmic_schedule_per_step_and_in_continuous_time():
    k = np.arange(5)
    np.testing.assert_allclose(lv.logarithmic(0.7)(k), 0.7 / np.log(k + 2.0), rtol=1e-15)
    cont = lv.logarithmic(0.7, np.e, time_step=0.02)
    np.testing.assert_allclose(cont(k), 0.7 / np.log(np.e + 0.02 * k), rtol=1e-15)
    assert cont(0) == pytest.approx(0.7, rel=1e-15)
    with pytest.raises(ValueError, match="time_step"):
        lv.logarithmic(0.7, time_step=0.0)


def test_crossing_record_is_the_same_run_as_overdamped():
    well = TiltedDoubleWell()
    x0 = np.tile(well.local_minimum, (50, 1))
    sched = lv.geometric(1.0, 0.999)
    x = lv.overdamped(well.grad, x0, step=0.02, temperature=sched, steps=600, rng=np.random.default_rng(5), trace=True)
    t, right, rate, last = lv.crossing_record(
        well.grad,
        x0,
        step=0.02,
        temperature=sched,
        steps=600,
        rng=np.random.default_rng(5),
        boundary=well.saddle[0],
        window=200,
    )
    np.testing.assert_array_equal(last, x[-1])
    np.testing.assert_allclose(t, [4.0, 8.0, 12.0])
    side = x[:, :, 0] > well.saddle[0]
    np.testing.assert_allclose(right, side[[200, 400, 600]].mean(axis=1))
    changes = (side[1:] != side[:-1]).reshape(3, 200, 50).sum(axis=(1, 2))
    np.testing.assert_allclose(rate, changes / (50 * 200 * 0.02))
    with pytest.raises(ValueError, match="multiple of window"):
        lv.crossing_record(
            well.grad, x0, step=0.02, temperature=0.1, steps=10, rng=np.random.default_rng(0), boundary=0.0, window=3
        )


# ----------------------------------------------------------------------------------------------------
# the sharp/flat data set with equal depths for the trained loss


@pytest.fixture(scope="module")
def sharp_flat():
    return lv.ShiftedSharpFlat(0.2 * np.random.default_rng(8).standard_normal(300))


def test_shifted_sharp_flat_gradient_and_hessian_against_finite_differences(sharp_flat):
    pts = np.linspace(-2.0, 2.0, 17)[:, None]
    assert check_grad(sharp_flat.value, sharp_flat.grad, pts) < 1e-7
    eps = 1e-5
    fd = (sharp_flat.grad(pts + eps) - sharp_flat.grad(pts - eps)) / (2 * eps)
    np.testing.assert_allclose(sharp_flat.hess(pts)[:, 0, 0], fd[:, 0], rtol=1e-6, atol=1e-6)
    # the trained loss is the mean of the per-example losses, and the batch gradient over all examples is L'
    idx = np.tile(np.arange(300), (len(pts), 1))
    np.testing.assert_allclose(sharp_flat.batch_grad(pts, idx), sharp_flat.grad(pts), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(
        sharp_flat.per_example_grads(pts).mean(axis=-2), sharp_flat.grad(pts), rtol=1e-12, atol=1e-13
    )
    np.testing.assert_allclose(sharp_flat.fast_grad(pts), sharp_flat.grad(pts), atol=1e-5)


def test_shifted_sharp_flat_minima_are_equally_deep_for_the_trained_loss(sharp_flat):
    s, f, top = sharp_flat.sharp_minimum, sharp_flat.flat_minimum, sharp_flat.saddle
    for p in (s, f, top):
        assert abs(sharp_flat.grad(p)[0]) < 1e-10  # stationary points of L, not of E
    ds, df = sharp_flat.depths
    assert abs(ds - df) < 1e-12
    assert sharp_flat.barriers[0] == pytest.approx(sharp_flat.barriers[1], abs=1e-12)
    # a brute-force check on a fine grid: the two local minima of L have the same value
    grid = np.linspace(-2, 2, 40001)[:, None]
    v = sharp_flat.value(grid)
    left, right = grid[:, 0] < top[0], grid[:, 0] > top[0]
    assert abs(v[left].min() - v[right].min()) < 1e-7
    lam_s, lam_f = sharp_flat.curvatures
    assert lam_s > 5 * lam_f > 0
    # the noise is curvature-shaped: Var(u) times a squared curvature between L's and E's in each well
    var_u = np.var(sharp_flat.shifts)
    assert 0.8 * lam_s**2 * var_u < sharp_flat.noise_variance(s) < 20.0**2 * var_u
    assert 0.8 * lam_f**2 * var_u < sharp_flat.noise_variance(f) < 1.2 * var_u
    assert sharp_flat.noise_variance(s) > 50 * sharp_flat.noise_variance(f)


def test_shifted_sharp_flat_without_tilt_has_a_higher_sharp_minimum():
    u = 0.3 * np.random.default_rng(2).standard_normal(400)
    plain = lv.ShiftedSharpFlat(u, equalize=False)
    assert plain.tilt == 0.0
    ds, df = plain.depths
    assert ds - df > 0.2  # averaging raises the sharp minimum far more than the flat one
    with pytest.raises(TypeError, match="equalize"):
        lv.ShiftedSharpFlat(u, equalize="yes")
    with pytest.raises(ValueError, match="shifts"):
        lv.ShiftedSharpFlat(np.ones((3, 2)))
    with pytest.raises(ValueError, match="stationary points"):
        lv.ShiftedSharpFlat(2.0 * np.random.default_rng(3).standard_normal(200))


# ----------------------------------------------------------------------------------------------------
# the exact second moment of SGD on least squares


def _ls_problem(seed, n=400):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, 2)) * np.array([1.0, 0.5])
    y = a @ np.array([1.0, -2.0]) + 0.5 * rng.standard_normal(n)
    data = LeastSquares(a, y)
    return data, y - a @ data.minimizer()


@pytest.mark.parametrize(("lr", "b"), [(0.1, 1), (0.4, 1), (0.2, 4)])
def test_sgd_second_moment_against_monte_carlo(lr, b):
    data, resid = _ls_problem(0)
    steps = 60
    m_exact = lv.sgd_second_moment(data.X, resid, lr=lr, batch_size=b, steps=steps)
    theta = data.minimizer()
    x = lv.minibatch_sgd(
        lv.least_squares_batch_grad(data),
        len(resid),
        np.tile(theta, (20000, 1)),
        lr=lr,
        batch_size=b,
        steps=steps,
        rng=np.random.default_rng(1),
    )
    e = x - theta
    for i, j in [(0, 0), (1, 1), (0, 1)]:
        prod = e[:, i] * e[:, j]
        assert abs(prod.mean() - m_exact[i, j]) < 4 * prod.std() / np.sqrt(len(prod))  # 4 SE


def test_sgd_second_moment_limits_and_fixed_point():
    data, resid = _ls_problem(1)
    h = data.hessian()
    sigma = (data.X * resid[:, None] ** 2).T @ data.X / len(resid)
    # iterating to stationarity reaches the solved fixed point
    np.testing.assert_allclose(
        lv.sgd_second_moment(data.X, resid, lr=0.2, batch_size=2, steps=3000),
        lv.sgd_second_moment(data.X, resid, lr=0.2, batch_size=2),
        rtol=1e-10,
    )
    # small lr: the Lyapunov equation, to first order in lr
    m = lv.sgd_second_moment(data.X, resid, lr=1e-4, batch_size=1)
    np.testing.assert_allclose(m, lv.sgd_stationary_covariance(h, sigma, lr=1e-4), rtol=1e-3)
    # a preconditioner P = H^-1 makes the Lyapunov solution (lr sigma^2 / 2B) H^-1 at small lr
    p = np.linalg.inv(h)
    m = lv.sgd_second_moment(data.X, resid, lr=1e-4, batch_size=1, preconditioner=p)
    lyap = lv.lyapunov(p @ h, 1e-4 * p @ sigma @ p)
    np.testing.assert_allclose(m, lyap, rtol=1e-3)


def test_sgd_second_moment_validation():
    data, resid = _ls_problem(2)
    with pytest.raises(ValueError, match="minimiser"):
        lv.sgd_second_moment(data.X, resid + 1.0, lr=0.1)
    with pytest.raises(ValueError, match="residuals"):
        lv.sgd_second_moment(data.X, resid[:-1], lr=0.1)
    with pytest.raises(ValueError, match="symmetric"):
        lv.sgd_second_moment(data.X, resid, lr=0.1, preconditioner=np.array([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="diverges"):
        lv.sgd_second_moment(data.X, resid, lr=5.0)
    with pytest.raises(ValueError, match="lr"):
        lv.sgd_second_moment(data.X, resid, lr=-1.0)
