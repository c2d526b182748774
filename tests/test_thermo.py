"""Tests of gdlens.thermo against closed forms: the harmonic well's free energy, Gaussian KL, the Bayesian
posterior, the exact law of Langevin on a quadratic, Jarzynski's equality and Crooks' relation.

Monte Carlo tolerances are multiples of the standard error (SE): 4 SE is a false alarm with probability
below 1e-4, and every draw is seeded, so a failure is a real change. Quadrature tolerances follow from the
trapezoidal rule's O(h^2) error on smooth, rapidly decaying integrands (spectrally small in fact).
"""

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlens import thermo as th
from gdlens.landscapes import TiltedDoubleWell
from gdlens.langevin import boltzmann_density, overdamped

X = np.linspace(-8.0, 8.0, 1601)


def harmonic(k, c=0.0):
    return lambda p: 0.5 * k * (p[..., 0] - c) ** 2


# ----------------------------------------------------------------------------------------------------
# quadrature, entropy, free energy


def test_quadrature_weights_integrate_polynomials_and_sum_to_the_box():
    x = np.array([0.0, 0.5, 1.5, 2.0])
    w = th.quadrature_weights(x)
    np.testing.assert_allclose(w, [0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(np.sum(w * (3 * x + 1)), 8.0)  # exact for linear functions
    w2 = th.quadrature_weights([x, np.linspace(-1, 1, 5)])
    assert w2.shape == (4, 5)
    np.testing.assert_allclose(w2.sum(), 2.0 * 2.0)


def test_harmonic_free_energy_matches_closed_form_on_the_grid():
    for k, T in [(0.5, 0.3), (2.0, 1.0), (8.0, 2.5)]:
        f_grid = th.equilibrium_free_energy(harmonic(k, 0.7), X, temperature=T)
        np.testing.assert_allclose(f_grid, th.harmonic_free_energy(k, T), rtol=1e-10)
        p = boltzmann_density(harmonic(k, 0.7), X, temperature=T)
        # F[p_eq] = <E> - T S = -T log Z; <E> = T/2 (equipartition); S = (1 + log(2 pi T / k)) / 2
        np.testing.assert_allclose(th.free_energy(harmonic(k, 0.7), p, X, temperature=T), f_grid, rtol=1e-10)
        np.testing.assert_allclose(th.mean_energy(harmonic(k, 0.7), p, X), T / 2, rtol=1e-9)
        np.testing.assert_allclose(th.entropy(p, X), 0.5 * (1 + np.log(2 * np.pi * T / k)), rtol=1e-9)


def test_harmonic_free_energy_differences_and_dimension():
    T = 0.8
    assert th.harmonic_free_energy(3.0, T, dim=2) == pytest.approx(2 * th.harmonic_free_energy(3.0, T))
    dF = th.harmonic_free_energy(4.0, T) - th.harmonic_free_energy(1.0, T)
    assert dF == pytest.approx(0.5 * T * np.log(4.0))
    # moving the trap changes nothing: the grid value is the same for two centres
    a = th.equilibrium_free_energy(harmonic(1.0, -1.0), X, temperature=T)
    b = th.equilibrium_free_energy(harmonic(1.0, 2.0), X, temperature=T)
    assert a == pytest.approx(b, rel=1e-9)  # the grid points sit differently in the two traps


def test_free_energy_of_the_double_well_against_scipy_quad():
    well = TiltedDoubleWell()
    T = 0.4
    x = np.linspace(-3, 3, 3001)
    z = scipy.integrate.quad(lambda s: np.exp(-well.value(np.array([s])) / T), -3, 3, epsabs=1e-13)[0]
    np.testing.assert_allclose(th.equilibrium_free_energy(well.value, x, temperature=T), -T * np.log(z), rtol=1e-6)


def test_entropy_decreases_to_the_thermodynamic_identity_dF_dT_equals_minus_S():
    well = TiltedDoubleWell()
    x = np.linspace(-3, 3, 2001)
    T, h = 0.6, 1e-4
    dfdt = (
        th.equilibrium_free_energy(well.value, x, temperature=T + h)
        - th.equilibrium_free_energy(well.value, x, temperature=T - h)
    ) / (2 * h)
    s = th.entropy(boltzmann_density(well.value, x, temperature=T), x)
    assert dfdt == pytest.approx(-s, rel=1e-6)  # central difference: O(h^2) truncation


@settings(max_examples=40, deadline=None)
@given(
    coeffs=st.lists(st.floats(-1, 1), min_size=4, max_size=4),
    eps=st.floats(0.01, 0.9),
    T=st.floats(0.1, 3.0),
)
def test_boltzmann_minimises_free_energy_and_the_gap_is_T_times_KL(coeffs, eps, T):
    well = TiltedDoubleWell()
    x = np.linspace(-3, 3, 601)
    p_eq = boltzmann_density(well.value, x, temperature=T)
    phi = sum(c * np.cos((j + 1) * x) for j, c in enumerate(coeffs))
    p = th.normalize(p_eq * np.exp(eps * phi), x)
    f_eq = th.free_energy(well.value, p_eq, x, temperature=T)
    f = th.free_energy(well.value, p, x, temperature=T)
    kl = th.kl_divergence(p, p_eq, x)
    assert f >= f_eq - 1e-12
    assert f - f_eq == pytest.approx(T * kl, rel=1e-6, abs=1e-12)


def test_densities_along_leading_axes_are_vectorised():
    p = np.stack([boltzmann_density(harmonic(k), X, temperature=1.0) for k in (1.0, 2.0, 4.0)])
    s = th.entropy(p, X)
    assert s.shape == (3,)
    np.testing.assert_allclose(s, [th.entropy(q, X) for q in p])
    np.testing.assert_allclose(np.diff(s), -0.5 * np.log(2.0), rtol=1e-9)


# ----------------------------------------------------------------------------------------------------
# KL divergence


def test_grid_kl_matches_gaussian_closed_form_1d_and_2d():
    m0, v0, m1, v1 = 0.3, 0.5, -0.4, 1.7
    p = th.normalize(np.exp(-((X - m0) ** 2) / (2 * v0)), X)
    q = th.normalize(np.exp(-((X - m1) ** 2) / (2 * v1)), X)
    exact = th.gaussian_kl([m0], [[v0]], [m1], [[v1]])
    formula = 0.5 * (v0 / v1 + (m1 - m0) ** 2 / v1 - 1 + np.log(v1 / v0))
    assert exact == pytest.approx(formula, rel=1e-12)
    assert th.kl_divergence(p, q, X) == pytest.approx(formula, rel=1e-6)  # q's tails beyond |x| = 8: ~1e-8
    # 2-D, correlated
    a = np.linspace(-7, 7, 281)
    pts = th.grid_points([a, a])
    s0, s1 = np.array([[1.0, 0.6], [0.6, 0.8]]), np.array([[2.0, -0.3], [-0.3, 1.0]])
    mu0, mu1 = np.array([0.2, -0.1]), np.array([-0.5, 0.4])

    def dens(mu, s):
        d = pts - mu
        return th.normalize(np.exp(-0.5 * np.einsum("...i,ij,...j->...", d, np.linalg.inv(s), d)), [a, a])

    got = th.kl_divergence(dens(mu0, s0), dens(mu1, s1), [a, a])
    assert got == pytest.approx(float(th.gaussian_kl(mu0, s0, mu1, s1)), rel=1e-4)  # tails beyond the box: ~1e-5


def test_kl_is_zero_on_equal_densities_infinite_off_support_and_vectorised():
    p = boltzmann_density(harmonic(1.0), X, temperature=1.0)
    assert th.kl_divergence(p, p, X) == pytest.approx(0.0, abs=1e-14)
    q = np.where(X > 0, p, 0.0)
    q = th.normalize(q, X)
    assert th.kl_divergence(p, q, X) == np.inf
    assert np.isfinite(th.kl_divergence(q, p, X))
    both = th.kl_divergence(np.stack([p, q]), p, X)
    assert both.shape == (2,) and both[0] == pytest.approx(0.0, abs=1e-14)


def test_sampling_a_tabulated_density_reproduces_its_law():
    x = np.linspace(-6, 6, 1201)
    p = boltzmann_density(harmonic(1.0, 0.5), x, temperature=0.8)
    s = th.sample_density_1d(p, x, 50000, rng=np.random.default_rng(3))
    assert s.shape == (50000,)
    # Kolmogorov-Smirnov against N(0.5, 0.8): the 1e-4 critical value is about 1.95 / sqrt(n)
    assert scipy.stats.kstest(s, scipy.stats.norm(0.5, np.sqrt(0.8)).cdf).statistic < 1.95 / np.sqrt(s.size)
    with pytest.raises(ValueError, match="positive mass"):
        th.sample_density_1d(np.zeros_like(x), x, 5, rng=np.random.default_rng(0))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 4))
def test_gaussian_kl_is_nonnegative_zero_at_equality_and_matches_monte_carlo(seed, d):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((2, d, d))
    s0, s1 = a @ a.T + 0.5 * np.eye(d), b @ b.T + 0.5 * np.eye(d)
    m0, m1 = rng.standard_normal((2, d))
    kl = float(th.gaussian_kl(m0, s0, m1, s1))
    assert kl >= 0
    assert float(th.gaussian_kl(m0, s0, m0, s0)) == pytest.approx(0.0, abs=1e-10)
    x = rng.multivariate_normal(m0, s0, size=20000)
    lp = scipy.stats.multivariate_normal(m0, s0).logpdf(x)
    lq = scipy.stats.multivariate_normal(m1, s1).logpdf(x)
    se = np.std(lp - lq) / np.sqrt(len(x))
    assert abs(np.mean(lp - lq) - kl) < 5 * se + 1e-12


# ----------------------------------------------------------------------------------------------------
# analogy 1: Gibbs distribution = Bayesian posterior at T* = sigma^2 / n


def test_gibbs_at_bayes_temperature_is_the_posterior_and_only_there():
    rng = np.random.default_rng(4)
    n, d, s2, alpha = 30, 3, 0.25, 2.0
    X_ = rng.standard_normal((n, d))
    y = X_ @ rng.standard_normal(d) + np.sqrt(s2) * rng.standard_normal(n)
    T, lam = th.bayes_temperature(n, noise_var=s2, prior_precision=alpha)
    assert T == pytest.approx(s2 / n) and lam == pytest.approx(alpha * s2 / n)
    mg, cg = th.gibbs_linear_regression(X_, y, temperature=T, weight_decay=lam)
    mb, cb = th.bayes_linear_regression(X_, y, noise_var=s2, prior_precision=alpha)
    np.testing.assert_allclose(mg, mb, rtol=1e-10)
    np.testing.assert_allclose(cg, cb, rtol=1e-10)
    # away from T* the covariances differ, by exactly the factor T / T*
    _, c2 = th.gibbs_linear_regression(X_, y, temperature=2 * T, weight_decay=lam)
    np.testing.assert_allclose(c2, 2 * cb, rtol=1e-10)
    assert float(th.gaussian_kl(mg, c2, mb, cb)) > 0.1


def test_gibbs_distribution_sampled_by_langevin_matches_the_posterior():
    rng = np.random.default_rng(5)
    n, s2, alpha = 20, 0.3, 1.0
    X_ = np.column_stack([np.ones(n), rng.uniform(-1, 1, n)])
    y = X_ @ np.array([0.5, -1.0]) + np.sqrt(s2) * rng.standard_normal(n)
    T, lam = th.bayes_temperature(n, noise_var=s2, prior_precision=alpha)
    H = X_.T @ X_ / n + lam * np.eye(2)
    w_hat = np.linalg.solve(H, X_.T @ y / n)

    def grad(w):
        return (w @ X_.T - y) @ X_ / n + lam * w

    step = 0.02
    w = overdamped(grad, np.zeros((4000, 2)), step=step, temperature=T, steps=1500, rng=rng)
    mb, cb = th.bayes_linear_regression(X_, y, noise_var=s2, prior_precision=alpha)
    se = np.sqrt(np.diag(cb) / len(w))
    assert np.all(np.abs(w.mean(axis=0) - mb) < 4 * se)
    # the chain's own stationary covariance is the posterior's inflated by (I - step H / 2)^{-1}
    _, s_chain = th.quadratic_langevin_stationary(H, w_hat, step=step, temperature=T)
    # sample covariance: relative SE ~ sqrt(2 / 4000) = 2.2% on the diagonal; off-diagonal SE ~ sqrt(c11 c22 / N)
    atol = 4 * np.sqrt(np.outer(np.diag(s_chain), np.diag(s_chain)) / len(w))
    assert np.all(np.abs(np.cov(w.T) - s_chain) < atol)


# ----------------------------------------------------------------------------------------------------
# analogy 2: relaxation


def test_quadratic_langevin_law_matches_an_ensemble_and_tends_to_its_fixed_point():
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    mu = np.array([1.0, -1.0])
    step, T, K = 0.05, 0.5, 60
    means, covs = th.quadratic_langevin_law(
        H, mu, mean0=[-2.0, 2.0], cov0=0.1 * np.eye(2), step=step, temperature=T, steps=K
    )
    rng = np.random.default_rng(6)
    x0 = rng.multivariate_normal([-2.0, 2.0], 0.1 * np.eye(2), size=20000)
    xs = overdamped(lambda x: (x - mu) @ H, x0, step=step, temperature=T, steps=K, rng=rng)
    se = np.sqrt(np.diag(covs[-1]) / len(xs))
    assert np.all(np.abs(xs.mean(axis=0) - means[-1]) < 4 * se)
    np.testing.assert_allclose(np.cov(xs.T), covs[-1], rtol=0.05, atol=0.01)
    m_inf, s_inf = th.quadratic_langevin_stationary(H, mu, step=step, temperature=T)
    np.testing.assert_allclose(s_inf, T * np.linalg.inv(H) @ np.linalg.inv(np.eye(2) - step * H / 2), rtol=1e-10)
    _, long = th.quadratic_langevin_law(H, mu, mean0=mu, cov0=s_inf, step=step, temperature=T, steps=5)
    np.testing.assert_allclose(long, np.broadcast_to(s_inf, long.shape), rtol=1e-10)


def test_kl_to_the_chains_stationary_law_falls_monotonically():
    H = np.array([[1.0, 0.3], [0.3, 0.4]])
    mu = np.zeros(2)
    m_inf, s_inf = th.quadratic_langevin_stationary(H, mu, step=0.1, temperature=0.2)
    means, covs = th.quadratic_langevin_law(
        H, mu, mean0=[3.0, -2.0], cov0=4 * np.eye(2), step=0.1, temperature=0.2, steps=300
    )
    kl = th.gaussian_kl(means, covs, m_inf, s_inf)
    assert np.all(np.diff(kl) < 0)
    assert kl[-1] < 1e-6 * kl[0]


def test_binned_kl_has_the_predicted_bias_at_equilibrium():
    e = np.linspace(-4, 4, 41)
    q = th.boltzmann_bin_probabilities(harmonic(1.0), e, temperature=1.0)
    ref = np.diff(scipy.stats.norm.cdf(e))
    np.testing.assert_allclose(q, ref / ref.sum(), rtol=1e-3)  # trapezoid on 16 sub-intervals
    rng = np.random.default_rng(7)
    n = 5000
    kl, bias = th.binned_kl(rng.standard_normal((200, n)), q, e)
    assert kl.shape == (200,)
    assert bias == pytest.approx(39 / (2 * n))
    # mean over 200 ensembles: SE = std / sqrt(200); q has tiny end bins, so allow 15% model error too
    assert abs(kl.mean() - bias) < 4 * kl.std() / np.sqrt(200) + 0.15 * bias


def test_binned_kl_matches_a_known_divergence():
    e = np.linspace(-5, 6, 56)
    q = th.boltzmann_bin_probabilities(harmonic(1.0), e, temperature=1.0)
    p = th.boltzmann_bin_probabilities(harmonic(1.0, 1.0), e, temperature=1.0)
    exact = float(np.sum(p * np.log(p / q)))
    rng = np.random.default_rng(8)
    kl, bias = th.binned_kl(1.0 + rng.standard_normal((50, 20000)), q, e)
    assert abs(kl.mean() - bias - exact) < 4 * kl.std() / np.sqrt(50) + 0.002
    assert exact == pytest.approx(0.5, rel=0.02)  # continuous KL(N(1,1) || N(0,1)) = 1/2, minus binning


# ----------------------------------------------------------------------------------------------------
# Jarzynski and Crooks


@pytest.mark.parametrize("kind", ["move", "stiffen"])
def test_jarzynski_equality_with_the_exact_integrator(kind):
    K, T = 100, 0.7
    if kind == "move":
        centre, stiffness, dF = np.linspace(0, 1.5, K + 1), np.full(K + 1, 2.0), 0.0
    else:
        centre, stiffness, dF = np.zeros(K + 1), np.linspace(1.0, 5.0, K + 1), 0.5 * T * np.log(5.0)
    w = th.jarzynski_work(
        centre, stiffness, n=40000, step=0.01, temperature=T, rng=np.random.default_rng(9), integrator="exact"
    )
    est, se = th.jarzynski_estimate(w, T)
    assert abs(est - dF) < 4 * se
    assert w.mean() > dF + 10 * w.std() / np.sqrt(w.size)  # second law: <W> > dF, by many SE


def test_instant_stiffening_has_the_closed_form_work_law():
    # K = 1: W = (k1 - k0) x^2 / 2 with x ~ N(0, T/k0), so <e^{-W/T}> = sqrt(k0 / k1) exactly
    T, k0, k1 = 1.3, 1.0, 4.0
    w = th.jarzynski_work([0.0, 0.0], [k0, k1], n=200000, step=0.1, temperature=T, rng=np.random.default_rng(10))
    assert w.mean() == pytest.approx((k1 - k0) / 2 * T / k0, rel=4 * np.sqrt(2 / w.size))
    est, se = th.jarzynski_estimate(w, T)
    assert abs(est - 0.5 * T * np.log(k1 / k0)) < 4 * se


def test_euler_integrator_uses_overdamped_and_is_accurate_for_small_steps():
    K, T = 200, 1.0
    centre = np.linspace(0, 1.0, K + 1)
    w = th.jarzynski_work(centre, np.ones(K + 1), n=30000, step=0.005, temperature=T, rng=np.random.default_rng(11))
    est, se = th.jarzynski_estimate(w, T)
    assert abs(est) < 4 * se + 0.01  # Euler bias O(step)
    # dragging at speed v through friction 1 for time t: <W> -> v^2 t (1 - (1 - e^{-kt})/(kt)) / ... (k = 1)
    t, v = K * 0.005, 1.0
    predicted = v**2 * (t - (1 - np.exp(-t)))
    assert w.mean() == pytest.approx(predicted, rel=0.05)


def test_crooks_ratio_is_a_line_of_slope_one_over_T_through_delta_F():
    K, T = 60, 1.0
    k = np.linspace(1.0, 3.0, K + 1)
    rng = np.random.default_rng(12)
    wf = th.jarzynski_work(np.zeros(K + 1), k, n=100000, step=0.01, temperature=T, rng=rng, integrator="exact")
    wr = th.jarzynski_work(np.zeros(K + 1), k[::-1], n=100000, step=0.01, temperature=T, rng=rng, integrator="exact")
    dF = 0.5 * T * np.log(3.0)
    centres, ratio, mask = th.crooks_log_ratio(wf, wr, bins=np.linspace(-0.5, 2.0, 26), min_count=200)
    assert mask.sum() >= 5
    slope, intercept = np.polyfit(centres[mask], ratio[mask], 1)
    assert slope == pytest.approx(1 / T, rel=0.1)
    assert -intercept / slope == pytest.approx(dF, abs=0.05)
    bar = th.bennett_free_energy(wf, wr, T)
    assert bar == pytest.approx(dF, abs=0.01)


def test_bennett_is_exact_for_gaussian_work_obeying_crooks():
    # W_F ~ N(dF + s^2/2T, s^2), -W_R ~ N(dF - s^2/2T, s^2) satisfy Crooks exactly
    rng = np.random.default_rng(13)
    T, dF, s = 0.5, 1.2, 0.8
    wf = dF + s**2 / (2 * T) + s * rng.standard_normal(50000)
    wr = -(dF - s**2 / (2 * T)) + s * rng.standard_normal(20000)
    assert th.bennett_free_energy(wf, wr, T) == pytest.approx(dF, abs=0.02)


# ----------------------------------------------------------------------------------------------------
# validation


def test_bad_inputs_raise_naming_the_parameter():
    p = boltzmann_density(harmonic(1.0), X, temperature=1.0)
    with pytest.raises(ValueError, match="integrate to 1"):
        th.entropy(2 * p, X)
    with pytest.raises(ValueError, match="non-negative"):
        th.entropy(-p, X)
    with pytest.raises(ValueError, match="trailing shape"):
        th.entropy(p[:-1], X)
    with pytest.raises(ValueError, match="grid\\[0\\]"):
        th.entropy(p, X[::-1])
    with pytest.raises(TypeError, match="grid"):
        th.entropy(p, 3.0)
    with pytest.raises(ValueError, match="temperature"):
        th.free_energy(harmonic(1.0), p, X, temperature=-1.0)
    with pytest.raises(TypeError, match="energy"):
        th.mean_energy("E", p, X)
    with pytest.raises(ValueError, match="positive definite"):
        th.gaussian_kl([0.0], [[-1.0]], [0.0], [[1.0]])
    with pytest.raises(ValueError, match="stiffness"):
        th.harmonic_free_energy(0.0, 1.0)
    with pytest.raises(ValueError, match="not normalisable"):
        th.gibbs_linear_regression(np.ones((3, 2)), np.ones(3), temperature=1.0)
    with pytest.raises(ValueError, match="noise_var"):
        th.bayes_linear_regression(np.ones((3, 2)), np.ones(3), noise_var=0.0, prior_precision=1.0)
    with pytest.raises(ValueError, match="step"):
        th.quadratic_langevin_stationary(np.eye(2), np.zeros(2), step=2.5, temperature=1.0)
    with pytest.raises(ValueError, match="stiffness"):
        th.jarzynski_work([0.0, 1.0], [1.0, -1.0], n=10, step=0.1, temperature=1.0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        th.jarzynski_work([0.0, 1.0], [1.0, 1.0], n=10, step=0.1, temperature=1.0, rng=0)
    with pytest.raises(ValueError, match="integrator"):
        th.jarzynski_work(
            [0.0, 1.0], [1.0, 1.0], n=10, step=0.1, temperature=1.0, rng=np.random.default_rng(0), integrator="rk4"
        )
    with pytest.raises(ValueError, match="bin_probabilities"):
        th.binned_kl(np.zeros(5), [0.5, 0.6], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="work"):
        th.jarzynski_estimate([1.0], 1.0)


# ----------------------------------------------------------------------------------------------------
# the Fokker-Planck generator on a grid, its spectrum, the H-theorem, Kramers


def test_generator_conserves_mass_and_keeps_boltzmann_in_detailed_balance():
    well = TiltedDoubleWell()
    x = np.linspace(-2.2, 2.2, 301)
    G = th.fokker_planck_generator(well.value, x, temperature=0.4)
    np.testing.assert_allclose(G.sum(axis=0), 0.0, atol=1e-9 * np.abs(G).max())  # columns sum to zero
    P = th.quadrature_weights(x) * boltzmann_density(well.value, x, temperature=0.4)
    flux = G * P[None, :]  # flux[i, j] = rate j -> i times P_j
    np.testing.assert_allclose(flux, flux.T, rtol=1e-10, atol=1e-14)  # detailed balance
    np.testing.assert_allclose(G @ P, 0.0, atol=1e-10 * np.abs(G).max() * P.max())


@pytest.mark.parametrize("lam, T", [(1.0, 0.5), (3.0, 2.0)])
def test_ornstein_uhlenbeck_spectrum_is_j_times_the_curvature(lam, T):
    # for E = lam x^2 / 2 the Fokker-Planck rates are r_j = j lam, whatever T (Risken 1989, ch. 5)
    sd = np.sqrt(T / lam)
    x = np.linspace(-9 * sd, 9 * sd, 801)
    spec = th.relaxation_spectrum(harmonic(lam), x, temperature=T)
    np.testing.assert_allclose(spec.rates[:4], lam * np.arange(4), atol=2e-3 * lam)  # O(h^2) with h = 0.02 sd
    assert spec.gap == pytest.approx(lam, rel=1e-3)


def test_evolution_matches_the_matrix_exponential_and_relaxes_to_boltzmann():
    import scipy.linalg

    well = TiltedDoubleWell()
    x = np.linspace(-2.0, 2.0, 201)
    w = th.quadrature_weights(x)
    spec = th.relaxation_spectrum(well.value, x, temperature=0.6)
    p0 = boltzmann_density(well.value, x, temperature=2.0)
    P = spec.evolve(p0, [0.0, 0.7, 3.0, 200.0])
    np.testing.assert_allclose(np.sum(w * P, axis=1), 1.0, rtol=1e-12)
    G = th.fokker_planck_generator(well.value, x, temperature=0.6)
    for t, p in zip([0.0, 0.7, 3.0], P[:3], strict=True):
        np.testing.assert_allclose(p, scipy.linalg.expm(t * G) @ (w * p0) / w, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(P[-1], boltzmann_density(well.value, x, temperature=0.6), rtol=1e-8)


def test_relative_fisher_information_of_two_gaussians_has_its_closed_form():
    x = np.linspace(-12, 12, 4001)
    mu, s2, v = 0.7, 0.5, 2.0
    p = scipy.stats.norm.pdf(x, mu, np.sqrt(s2))
    q = scipy.stats.norm.pdf(x, 0.0, np.sqrt(v))
    a, b = 1 / v - 1 / s2, mu / s2  # d/dx log(p/q) = a x + b
    exact = a**2 * (s2 + mu**2) + 2 * a * b * mu + b**2
    assert float(th.relative_fisher_information(p, q, x)) == pytest.approx(exact, rel=1e-5)
    assert float(th.relative_fisher_information(q, q, x)) == pytest.approx(0.0, abs=1e-12)


def test_h_theorem_dkl_dt_is_minus_T_times_the_relative_fisher_information():
    well = TiltedDoubleWell()
    x = np.linspace(-2.5, 2.5, 1001)
    for T in [0.3, 0.5, 1.5]:
        spec = th.relaxation_spectrum(well.value, x, temperature=T)
        p_eq = boltzmann_density(well.value, x, temperature=T)
        times = np.array([0.4, 0.4 + 1e-4, 0.4 - 1e-4])
        p = spec.evolve(boltzmann_density(well.value, x, temperature=3.0), times)
        rate = spec.kl_rate(p[0])
        kl = th.kl_divergence(p, p_eq, x)
        assert rate == pytest.approx((kl[1] - kl[2]) / 2e-4, rel=1e-5)  # consistent with the evolution
        assert rate == pytest.approx(-T * float(th.relative_fisher_information(p[0], p_eq, x)), rel=1e-3)


def test_kramers_rate_formula_and_against_the_spectral_gap_of_a_deep_well():
    assert th.kramers_rate(1.0, 4.0, -1.0, temperature=0.5) == pytest.approx(2 / (2 * np.pi) * np.exp(-2))
    assert th.kramers_rate(1.0, 4.0, -1.0, temperature=0.5, friction=2.0) == pytest.approx(np.exp(-2) / (2 * np.pi))
    well = TiltedDoubleWell(0.0)  # symmetric: barrier 1, curvatures 8 and -4; T / barrier = 0.15
    T = 0.15
    spec = th.relaxation_spectrum(well.value, np.linspace(-2.0, 2.0, 801), temperature=T)
    k = th.kramers_rate(1.0, 8.0, -4.0, temperature=T)
    assert spec.gap == pytest.approx(2 * k, rel=0.15)  # leading order in T / barrier


# ----------------------------------------------------------------------------------------------------
# uncertainties of the fluctuation-theorem estimates; variational free energy


def _gaussian_crooks_works(rng, n, dF=0.4, s=1.2, T=1.0):
    # Gaussian work laws that obey Crooks exactly: W_F ~ N(dF + s^2/2T, s^2), W_R ~ N(-dF + s^2/2T, s^2)
    wf = dF + s**2 / (2 * T) + s * rng.standard_normal(n)
    wr = -dF + s**2 / (2 * T) + s * rng.standard_normal(n)
    return wf, wr


def test_bennett_standard_error_matches_the_scatter_of_repeated_estimates():
    rng = np.random.default_rng(5)
    est, ses = [], []
    for _ in range(200):
        wf, wr = _gaussian_crooks_works(rng, 2000)
        df = th.bennett_free_energy(wf, wr, 1.0)
        est.append(df)
        ses.append(th.bennett_standard_error(wf, wr, 1.0, df))
    # the sd of 200 estimates has a relative SE of 1/sqrt(400) = 5%: 25% is 5 SE
    assert np.std(est, ddof=1) == pytest.approx(np.mean(ses), rel=0.25)
    assert abs(np.mean(est) - 0.4) < 4 * np.std(est, ddof=1) / np.sqrt(200)


def test_crooks_line_recovers_slope_and_crossing_within_their_standard_errors():
    rng = np.random.default_rng(6)
    wf, wr = _gaussian_crooks_works(rng, 100_000, T=1.0)
    fit = th.crooks_line(wf, wr, bins=np.linspace(-2.0, 3.0, 51), min_count=50)
    assert abs(fit["slope"] - 1.0) < 4 * fit["slope_se"]
    assert abs(fit["crossing"] - 0.4) < 4 * fit["crossing_se"]
    assert fit["chi2"] < fit["bins"] + 4 * np.sqrt(2 * fit["bins"])  # chi^2 with bins - 2 dof
    with pytest.raises(ValueError, match="3 bins"):
        th.crooks_line(wf, wr, bins=np.linspace(10.0, 11.0, 5))


def test_gaussian_free_energy_is_minimised_by_the_gibbs_law_at_minus_T_log_Z():
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    w_star, L0, T = np.array([0.3, -0.2]), 1.5, 0.2
    f_gibbs = th.gaussian_free_energy(H, w_star, L0, w_star, T * np.linalg.inv(H), temperature=T)
    log_z = -L0 / T + 0.5 * np.log(np.linalg.det(2 * np.pi * T * np.linalg.inv(H)))
    assert float(f_gibbs) == pytest.approx(-T * log_z, rel=1e-12)
    rng = np.random.default_rng(7)
    A = rng.standard_normal((20, 2, 2))
    covs = A @ np.swapaxes(A, 1, 2) + 0.05 * np.eye(2)
    f = th.gaussian_free_energy(H, w_star, L0, w_star + rng.standard_normal((20, 2)), covs, temperature=T)
    assert f.shape == (20,) and np.all(f > f_gibbs)


def test_monte_carlo_elbo_is_the_log_evidence_at_the_posterior_and_below_it_elsewhere():
    rng = np.random.default_rng(8)
    n, sigma, alpha = 15, 0.4, 2.0
    Phi = np.column_stack([np.ones(n), rng.uniform(-1, 1, n)])
    y = Phi @ np.array([0.5, 1.0]) + sigma * rng.standard_normal(n)
    m, S = th.bayes_linear_regression(Phi, y, noise_var=sigma**2, prior_precision=alpha)

    def log_joint(w):
        r = w @ Phi.T - y
        lik = -0.5 * np.sum(r**2, -1) / sigma**2 - 0.5 * n * np.log(2 * np.pi * sigma**2)
        return lik - 0.5 * alpha * np.sum(w**2, -1) - np.log(2 * np.pi / alpha)

    log_ev = scipy.stats.multivariate_normal(np.zeros(n), sigma**2 * np.eye(n) + Phi @ Phi.T / alpha).logpdf(y)
    elbo, se = th.monte_carlo_elbo(log_joint, m, S, 500, rng=rng)
    assert elbo == pytest.approx(log_ev, rel=1e-9) and se < 1e-9  # log p(y, w) - log q(w) is constant
    elbo2, se2 = th.monte_carlo_elbo(log_joint, m + 0.1, 2 * S, 20_000, rng=rng)
    assert elbo2 < log_ev and se2 > 0
    kl = float(th.gaussian_kl(m + 0.1, 2 * S, m, S))
    assert abs(elbo2 - (log_ev - kl)) < 4 * se2  # ELBO = log p(y) - KL(q || posterior)


def test_new_functions_reject_bad_input_naming_the_parameter():
    x = np.linspace(-1, 1, 11)
    with pytest.raises(ValueError, match="temperature"):
        th.fokker_planck_generator(harmonic(1.0), x, temperature=0.0)
    with pytest.raises(ValueError, match="grid"):
        th.relaxation_spectrum(harmonic(1.0), [x, x], temperature=1.0)
    with pytest.raises(ValueError, match="saddle_curvature"):
        th.kramers_rate(1.0, 2.0, 1.0, temperature=1.0)
    with pytest.raises(ValueError, match="barrier"):
        th.kramers_rate(-1.0, 2.0, -1.0, temperature=1.0)
    spec = th.relaxation_spectrum(harmonic(1.0), x, temperature=1.0)
    with pytest.raises(ValueError, match="times"):
        spec.evolve(spec.equilibrium, [-1.0])
    with pytest.raises(ValueError, match="p0"):
        spec.evolve(2 * spec.equilibrium, [1.0])
    with pytest.raises(ValueError, match="cov"):
        th.gaussian_free_energy(np.eye(2), np.zeros(2), 0.0, np.zeros(2), -np.eye(2), temperature=1.0)
    with pytest.raises(TypeError, match="log_joint"):
        th.monte_carlo_elbo(None, np.zeros(2), np.eye(2), 10, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="delta_f"):
        th.bennett_standard_error([0.0, 1.0], [0.0, 1.0], 1.0, float("nan"))
