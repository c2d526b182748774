"""Natural gradient: KL and Fisher against closed forms, finite differences and Monte Carlo; CG; invariance."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from gdlens import natural as nat
from gdlens import optimizers as opt
from gdlens.landscapes import check_grad, ill_conditioned

PARAMS = nat.PARAMETRIZATIONS


# --- Gaussian: KL ----------------------------------------------------------------------------


def test_kl_gaussian_matches_numerical_integration():
    m0, s0, m1, s1 = 0.3, 0.7, -0.4, 1.6

    def integrand(x):
        return np.exp(nat.gaussian_logpdf(x, m0, s0)) * (
            nat.gaussian_logpdf(x, m0, s0) - nat.gaussian_logpdf(x, m1, s1)
        )

    value, err = integrate.quad(integrand, -20, 20)
    assert err < 1e-9
    assert nat.kl_gaussian(m0, s0, m1, s1) == pytest.approx(value, abs=1e-9)


def test_kl_gaussian_matches_monte_carlo_within_standard_error():
    rng = np.random.default_rng(0)
    m0, s0, m1, s1 = 1.0, 0.5, 0.0, 2.0
    x = m0 + s0 * rng.standard_normal(200_000)
    terms = nat.gaussian_logpdf(x, m0, s0) - nat.gaussian_logpdf(x, m1, s1)
    se = terms.std() / np.sqrt(x.size)
    assert abs(terms.mean() - nat.kl_gaussian(m0, s0, m1, s1)) < 4 * se  # 4 standard errors


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-5, 5),
    st.floats(0.1, 5),
    st.floats(-5, 5),
    st.floats(0.1, 5),
)
def test_kl_is_nonnegative_zero_only_at_equality_and_asymmetric(m0, s0, m1, s1):
    kl = float(nat.kl_gaussian(m0, s0, m1, s1))
    assert kl >= -1e-12
    assert float(nat.kl_gaussian(m0, s0, m0, s0)) == pytest.approx(0.0, abs=1e-12)
    if abs(s0 - s1) > 0.05:  # unequal widths: the two directions differ
        assert kl != pytest.approx(float(nat.kl_gaussian(m1, s1, m0, s0)), rel=1e-6)


def test_kl_rejects_non_positive_scale():
    with pytest.raises(ValueError, match="sigma1"):
        nat.kl_gaussian(0, 1, 0, -1)
    with pytest.raises(ValueError, match="sigma0"):
        nat.kl_gaussian(0, 0.0, 0, 1)


# --- Gaussian: parametrisations and Fisher ---------------------------------------------------


@pytest.mark.parametrize("param", PARAMS)
def test_params_round_trip(param):
    mu, sigma = np.array([-1.0, 0.5, 2.0]), np.array([0.3, 1.0, 4.0])
    back = nat.from_params(nat.to_params(mu, sigma, param), param)
    np.testing.assert_allclose(back[0], mu)
    np.testing.assert_allclose(back[1], sigma, rtol=1e-14)


@pytest.mark.parametrize("param", PARAMS)
def test_fisher_is_the_hessian_of_the_kl_by_finite_differences(param):
    mu, sigma = 0.4, 1.3
    theta = nat.to_params(mu, sigma, param)

    def kl(th):
        m, s = nat.from_params(th, param)
        return nat.kl_gaussian(mu, sigma, m, s)

    h, fd = 1e-4, np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * h, np.eye(2)[j] * h
            fd[i, j] = (kl(theta + ei + ej) - kl(theta + ei - ej) - kl(theta - ei + ej) + kl(theta - ei - ej)) / (
                4 * h * h
            )
    # central second differences: truncation O(h^2) ~ 1e-8, rounding ~ 1e-16 / h^2 ~ 1e-8
    np.testing.assert_allclose(fd, nat.fisher_gaussian(mu, sigma, param), atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("param", PARAMS)
def test_fisher_is_the_expected_outer_product_of_the_score(param):
    rng = np.random.default_rng(1)
    mu, sigma = -0.5, 0.8
    x = mu + sigma * rng.standard_normal(400_000)
    s = nat.gaussian_score(x, mu, sigma, param)
    # the mean score is zero: within 4 standard errors per coordinate
    assert np.all(np.abs(s.mean(axis=0)) < 4 * s.std(axis=0) / np.sqrt(x.size))
    outer = s[:, :, None] * s[:, None, :]
    mc, se = outer.mean(axis=0), outer.std(axis=0) / np.sqrt(x.size)
    assert np.all(np.abs(mc - nat.fisher_gaussian(mu, sigma, param)) < 4 * se + 1e-12)


def test_fisher_closed_forms():
    sigma = 1.7
    f = {p: nat.fisher_gaussian(0.0, sigma, p) for p in PARAMS}
    assert f["sigma"][1, 1] == pytest.approx(2 / sigma**2)
    assert f["log_sigma"][1, 1] == pytest.approx(2.0)
    assert f["variance"][1, 1] == pytest.approx(1 / (2 * sigma**4))
    assert f["precision"][1, 1] == pytest.approx(sigma**4 / 2)
    assert all(f[p][0, 0] == pytest.approx(1 / sigma**2) and f[p][0, 1] == 0 for p in PARAMS)


def test_score_matches_finite_differences_of_the_log_density():
    x = np.array([-1.0, 0.2, 3.0])
    for param in PARAMS:
        theta = nat.to_params(0.3, 0.9, param)

        def logp(th, param=param):
            m, s = nat.from_params(th, param)
            return nat.gaussian_logpdf(x[:, None], m, s)  # (3, batch)

        g = np.stack([(logp(theta + e) - logp(theta - e))[:, 0] / 2e-6 for e in np.eye(2)[:, None, :] * 1e-6], -1)
        np.testing.assert_allclose(g, nat.gaussian_score(x, 0.3, 0.9, param), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("param", PARAMS)
def test_fit_gradient_matches_finite_differences(param):
    target = (0.5, 1.2)
    theta = nat.to_params(np.array([-1.0, 0.0, 2.0]), np.array([0.6, 1.0, 2.5]), param)
    f = lambda th: nat.gaussian_fit_loss(th, target, param)
    g = lambda th: nat.gaussian_fit_grad(th, target, param)
    assert check_grad(f, g, theta, eps=1e-6) < 1e-6


def test_fit_hessian_matches_fisher_at_optimum_and_finite_differences_elsewhere():
    target = (0.0, 1.0)
    np.testing.assert_allclose(
        nat.gaussian_fit_hessian_musigma(0.0, 1.0, target), nat.fisher_gaussian(0.0, 1.0, "sigma"), atol=1e-14
    )
    th = np.array([0.7, 2.0])
    g = lambda t: nat.gaussian_fit_grad(t, target, "sigma")
    fd = np.stack([(g(th + e) - g(th - e)) / 2e-6 for e in np.eye(2) * 1e-6], axis=1)
    np.testing.assert_allclose(fd, nat.gaussian_fit_hessian_musigma(0.7, 2.0, target), atol=1e-7)
    assert np.linalg.eigvalsh(nat.gaussian_fit_hessian_musigma(0.0, 3.0, target))[0] < 0  # wide: indefinite


def test_natural_gradient_is_invariant_to_first_order_and_gd_is_not():
    target, start = (1.0, 1.0), (-1.0, 2.0)
    spreads = {}
    for lr in (0.1, 0.05):
        paths = np.stack([nat.fit_gaussian(target, start, p, lr=lr, steps=int(6 / lr)) for p in PARAMS])
        spreads[lr] = np.max(np.abs(paths - paths[0]))
    # the four natural paths differ by O(lr): halving lr halves the spread (ratio 2 within 25%)
    assert 1.5 < spreads[0.1] / spreads[0.05] < 2.5
    gd_paths = np.stack([nat.fit_gaussian(target, start, p, method="gd", lr=0.05, steps=120) for p in PARAMS])
    assert np.max(np.abs(gd_paths - gd_paths[0])) > 20 * spreads[0.05]


def test_fit_converges_and_reports_leaving_the_domain():
    path = nat.fit_gaussian((1.0, 1.0), (-1.0, 2.0), "log_sigma", lr=0.2, steps=80)
    np.testing.assert_allclose(path[-1], [1.0, 1.0], atol=1e-3)
    bad = nat.fit_gaussian((1.0, 1.5), (-1.5, 0.4), "precision", lr=0.1, steps=20)
    assert np.isnan(bad[-1]).all() and np.isfinite(bad[0]).all()


def test_bad_parametrization_and_inputs():
    with pytest.raises(ValueError, match="parametrization"):
        nat.fisher_gaussian(0.0, 1.0, "scale")
    with pytest.raises(ValueError, match="sigma"):
        nat.fisher_gaussian(0.0, -1.0, "sigma")
    with pytest.raises(ValueError, match="method"):
        nat.fit_gaussian((0, 1), (0, 1), "sigma", method="adam", lr=0.1, steps=3)
    with pytest.raises(TypeError, match="target"):
        nat.gaussian_fit_loss(np.array([0.0, 1.0]), 1.0, "sigma")
    with pytest.raises(ValueError, match="theta"):
        nat.from_params(np.array([0.0, -1.0]), "variance")


# --- softmax regression ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(2)
    X, y, w_star = nat.softmax_data(300, 3, 4, rng=rng, scales=[1.0, 0.5, 0.2], weight_scale=2.0)
    return nat.SoftmaxRegression(X, y, 4, l2=1e-3), w_star


def test_softmax_gradient_matches_finite_differences(model):
    m, _ = model
    w = np.random.default_rng(3).standard_normal((2, m.size))
    assert check_grad(m.loss, m.grad, w) < 1e-7
    np.testing.assert_allclose(m.per_sample_grads(w[0]).mean(axis=0) + m.l2 * w[0], m.grad(w[0]), atol=1e-14)


def test_true_fisher_is_the_hessian_for_softmax_regression(model):
    m, w_star = model
    # the log-likelihood is linear in the logits' natural parameters: H = J^T Lambda J = F exactly
    np.testing.assert_allclose(m.hessian_fd(w_star), m.fisher(w_star), atol=1e-8)


def test_sampled_fisher_converges_to_true_fisher(model):
    m, w_star = model
    f = m.fisher(w_star)
    err = [np.linalg.norm(m.sampled_fisher(w_star, np.random.default_rng(4), s) - f) for s in (4, 64)]
    # Monte Carlo error falls like 1/sqrt(samples): 16x the samples, about 4x smaller (allow 2.5x)
    assert err[1] < err[0] / 2.5


def test_kl_between_predictions_is_half_the_fisher_quadratic_form(model):
    m, w = model[0], model[1]
    d = np.random.default_rng(5).standard_normal(m.size)
    d *= 1e-3 / np.linalg.norm(d)
    p, q = m.probs(w), m.probs(w + d)
    kl = np.mean(np.sum(p * np.log(p / q), axis=1))
    quad = 0.5 * d @ (m.fisher(w) - m.l2 * np.eye(m.size)) @ d
    assert kl == pytest.approx(quad, rel=1e-2)  # third-order remainder: relative O(|d|) ~ 1e-3


def test_fisher_vector_product_and_empirical_fisher(model):
    m, w = model
    v = np.random.default_rng(6).standard_normal(m.size)
    np.testing.assert_allclose(m.fvp(w, v), m.fisher(w) @ v, atol=1e-12)
    g = m.per_sample_grads(w)
    np.testing.assert_allclose(m.empirical_fisher(w), g.T @ g / m.n + m.l2 * np.eye(m.size), atol=1e-14)


def test_empirical_fisher_bounds_the_predicted_decrease():
    # Jensen: E[g g^T] >= E[g] E[g]^T, so grad^T EF^{-1} grad <= 1 whatever the curvature (l2 = 0)
    rng = np.random.default_rng(7)
    X, y, w_star = nat.softmax_data(200, 3, 3, rng=rng)
    m = nat.SoftmaxRegression(X, y, 3)
    for w in (np.zeros(m.size), -3 * w_star, rng.standard_normal(m.size)):
        g = m.grad(w)
        assert g @ np.linalg.pinv(m.empirical_fisher(w)) @ g <= 1 + 1e-9


def test_natural_descent_converges_in_few_steps_gd_in_many(model):
    m, _ = model
    w0 = np.zeros(m.size)
    path = nat.natural_descent(m, w0, lr=1.0, steps=12, damping=1e-8)
    best = m.loss(path[-1])
    np.testing.assert_allclose(m.grad(path[-1]), 0.0, atol=1e-10)
    lmax = np.linalg.eigvalsh(m.fisher(w0))[-1]
    gd = opt.gd(m.grad, w0, lr=1 / lmax, steps=200)
    assert nat.steps_to_reach([m.loss(w) for w in path], best + 1e-6) <= 5
    assert nat.steps_to_reach(m.loss(gd), best + 1e-6) == 201  # not reached in 200 steps


def test_natural_gradient_step_damping_limits():
    theta, g = np.zeros(2), np.array([1.0, 2.0])
    fisher = np.diag([4.0, 0.5])
    np.testing.assert_allclose(nat.natural_gradient_step(theta, g, fisher, lr=1.0), [-0.25, -4.0])
    big = nat.natural_gradient_step(theta, g, fisher, lr=1e6, damping=1e6)
    np.testing.assert_allclose(big, -g, rtol=1e-5)  # huge damping: gradient descent with step lr/damping
    with pytest.raises(ValueError, match="singular"):
        nat.natural_gradient_step(theta, g, np.zeros((2, 2)), lr=1.0)
    with pytest.raises(ValueError, match="damping"):
        nat.natural_gradient_step(theta, g, fisher, lr=1.0, damping=-1.0)


def test_softmax_regression_rejects_bad_labels():
    with pytest.raises(ValueError, match="y"):
        nat.SoftmaxRegression(np.ones((3, 2)), np.array([0, 1, 5]), 3)
    with pytest.raises(ValueError, match="y"):
        nat.SoftmaxRegression(np.ones((3, 2)), np.array([0.0, 1.0, 1.0]), 3)
    with pytest.raises(TypeError, match="rng"):
        nat.softmax_data(5, 2, 2, rng=0)


# --- conjugate gradient ----------------------------------------------------------------------


def test_cg_solves_spd_systems_and_ends_in_at_most_n_steps():
    rng = np.random.default_rng(8)
    B = rng.standard_normal((30, 30))
    A = B @ B.T + 30 * np.eye(30)
    b = rng.standard_normal(30)
    res = nat.conjugate_gradient(lambda v: A @ v, b, tol=1e-12)
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-9)
    assert res.iterations <= 30


def test_cg_needs_as_many_steps_as_distinct_eigenvalues():
    A = np.diag(np.repeat([1.0, 3.0, 10.0], 20))  # 60 x 60, three distinct eigenvalues
    res = nat.conjugate_gradient(lambda v: A @ v, np.ones(60), tol=1e-10)
    assert res.iterations == 3


def test_cg_with_damping_and_rejects_indefinite():
    A = np.diag([1.0, 2.0])
    res = nat.conjugate_gradient(lambda v: A @ v, np.array([1.0, 1.0]), damping=1.0)
    np.testing.assert_allclose(res.x, [0.5, 1 / 3])
    with pytest.raises(ValueError, match="positive definite"):
        nat.conjugate_gradient(lambda v: -v, np.array([1.0, 1.0]))
    with pytest.raises(TypeError, match="matvec"):
        nat.conjugate_gradient(None, np.ones(2))


def test_cg_on_fisher_vector_products_matches_dense_solve(model):
    m, w = model
    g = m.grad(np.zeros(m.size))
    res = nat.conjugate_gradient(lambda v: m.fvp(w, v), g, tol=1e-12, damping=1e-4)
    np.testing.assert_allclose(res.x, np.linalg.solve(m.fisher(w) + 1e-4 * np.eye(m.size), g), rtol=1e-7, atol=1e-9)


# --- cheap proxies ---------------------------------------------------------------------------


def test_second_moment_of_rmsprop_estimates_mean_squared_gradient():
    # constant gradient c: v_t = (1 - alpha^t) c^2 exactly
    c = np.array([0.5, -2.0])
    x, v = nat.track_second_moment(opt.rmsprop_rule(1e-12, alpha=0.9), lambda x: c, np.zeros(2), steps=30)
    np.testing.assert_allclose(v, (1 - 0.9**30) * c**2, rtol=1e-12)
    with pytest.raises(TypeError, match="second moment"):
        nat.track_second_moment(opt.gd_rule(0.1), lambda x: c, np.zeros(2), steps=3)


def test_adam_second_moment_tracks_per_sample_gradient_squares():
    q = ill_conditioned(10.0)
    rng = np.random.default_rng(9)
    noise = np.array([1.0, 0.1])

    def grad(x):
        return q.grad(x) + noise * rng.standard_normal(2)

    _, v = nat.track_second_moment(opt.adam_rule(1e-4, betas=(0.9, 0.999)), grad, np.zeros(2), steps=5000)
    # near the minimum E[g^2] is the noise variance; an EMA over ~1000 steps: relative error ~ sqrt(2/1000)
    np.testing.assert_allclose(v, noise**2, rtol=0.25)


def test_operation_counts():
    c = nat.operation_counts(100, 10, 2, 5)
    # k = 2: three distinct d x d blocks (d = 5) of n d^2 = 2500 each
    assert c == {"gradient": 2000, "form_fisher": 7_500, "solve": 333, "cg": 20_000, "memory_fisher": 100}


# --- KL asymmetry ----------------------------------------------------------------------------

MIX = ([0.5, 0.5], [-2.0, 2.0], [0.6, 0.6])


@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_mixture_kl_matches_numerical_integration(direction):
    mu, sigma = 0.5, 1.4
    logp = lambda x: nat.mixture_logpdf(x, *MIX)
    logq = lambda x: nat.gaussian_logpdf(x, mu, sigma)
    a, b = (logp, logq) if direction == "forward" else (logq, logp)
    value, _ = integrate.quad(lambda x: np.exp(a(x)) * (a(x) - b(x)), -15, 15, limit=200)
    assert nat.kl_mixture_gaussian(*MIX, mu, sigma, direction=direction) == pytest.approx(value, abs=1e-7)


def test_forward_kl_is_minimised_by_moment_matching_and_reverse_by_a_mode():
    w, m, s = (np.asarray(a) for a in MIX)
    mean, var = w @ m, w @ (s**2 + m**2) - (w @ m) ** 2
    mus, sigmas = np.meshgrid(np.linspace(-3, 3, 61), np.linspace(0.2, 3, 57))
    fwd = nat.kl_mixture_gaussian(*MIX, mus, sigmas, direction="forward")
    i = np.unravel_index(np.argmin(fwd), fwd.shape)
    assert abs(mus[i] - mean) <= 0.1 and abs(sigmas[i] - np.sqrt(var)) <= 0.05  # grid spacing 0.1, 0.05
    rev = nat.kl_mixture_gaussian(*MIX, mus, sigmas, direction="reverse", nodes=401)
    j = np.unravel_index(np.argmin(rev), rev.shape)
    assert abs(abs(mus[j]) - 2.0) <= 0.1 and abs(sigmas[j] - 0.6) <= 0.05  # sits on one bump
    assert nat.kl_mixture_gaussian(*MIX, 0.0, 1.0, direction="reverse") >= 0


def test_mixture_rejects_bad_weights():
    with pytest.raises(ValueError, match="weights"):
        nat.mixture_logpdf(0.0, [0.5, 0.6], [0, 1], [1, 1])


# --- mixing parametrisations, flows, CG descent, the MLP's Fisher and K-FAC -------------------

ALL = nat.ALL_PARAMETRIZATIONS


@pytest.mark.parametrize("param", nat.MIXED_PARAMETRIZATIONS)
def test_mixed_params_round_trip_and_jacobian_by_finite_differences(param):
    mu, sigma = np.array([-1.0, 0.5, 2.0]), np.array([0.3, 1.0, 4.0])
    theta = nat.to_params(mu, sigma, param)
    back = nat.from_params(theta, param)
    np.testing.assert_allclose(back[0], mu, atol=1e-12)
    np.testing.assert_allclose(back[1], sigma, rtol=1e-12)
    e = 1e-6
    fd = np.stack(
        [(np.stack(nat.from_params(theta + u, param), -1) - np.stack(nat.from_params(theta - u, param), -1)) / (2 * e)
         for u in np.eye(2) * e], axis=-1)  # fmt: skip
    np.testing.assert_allclose(fd, nat.jacobian_musigma(mu, sigma, param), rtol=1e-6, atol=1e-8)


def test_natural_parameter_fisher_is_the_covariance_of_the_sufficient_statistics():
    mu, sigma = 0.7, 1.3
    # Var x = s^2, Cov(x, x^2) = 2 mu s^2, Var x^2 = 4 mu^2 s^2 + 2 s^4: the Hessian of the log-partition
    cov = np.array([[sigma**2, 2 * mu * sigma**2], [2 * mu * sigma**2, 4 * mu**2 * sigma**2 + 2 * sigma**4]])
    np.testing.assert_allclose(nat.fisher_gaussian(mu, sigma, "natural"), cov, rtol=1e-12)


@pytest.mark.parametrize("param", ALL)
@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_fit_gradient_matches_finite_differences_in_every_parametrisation(param, direction):
    theta = nat.to_params(np.array([-1.0, 0.0, 2.0]), np.array([0.6, 1.0, 2.5]), param)
    f = lambda th: nat.gaussian_fit_loss(th, (0.5, 1.2), param, direction)
    g = lambda th: nat.gaussian_fit_grad(th, (0.5, 1.2), param, direction)
    assert check_grad(f, g, theta, eps=1e-6) < 1e-5


def test_affine_natural_steps_agree_exactly_and_the_diagonal_solve_does_not():
    target, start = (1.0, 1.0), (-1.0, 2.0)
    base = nat.fit_gaussian(target, start, "sigma", lr=0.1, steps=40)
    np.testing.assert_allclose(nat.fit_gaussian(target, start, "affine", lr=0.1, steps=40), base, atol=1e-12)
    diag = nat.fit_gaussian(target, start, "affine", lr=0.1, steps=40, solve="diagonal")
    assert np.max(np.abs(diag - base)) > 1e-2


def test_natural_steps_in_expectation_parameters_contract_linearly():
    # grad_m KL(p*||p_m) = I_m (m - m*), so m_{t+1} - m* = (1 - lr)(m_t - m*) exactly
    lr, target, start = 0.1, (1.0, 1.0), (-1.0, 2.0)
    path = nat.fit_gaussian(target, start, "expectation", lr=lr, steps=30)
    m = nat.to_params(path[:, 0], path[:, 1], "expectation")
    ms, m0 = nat.to_params(*target, "expectation"), nat.to_params(*start, "expectation")
    np.testing.assert_allclose(m, ms + (m0 - ms) * (1 - lr) ** np.arange(31)[:, None], atol=1e-12)


@pytest.mark.parametrize("metric", ["fisher_rao", "wasserstein"])
def test_gaussian_flows_are_the_limits_of_their_discrete_steps(metric):
    # natural steps give the Fisher-Rao flow; plain steps in (mu, sigma) the W2 flow; error O(lr)
    method = "natural" if metric == "fisher_rao" else "gd"
    errs = []
    for lr in (0.02, 0.01):
        path = nat.fit_gaussian((0.0, 1.0), (-1.5, 0.4), "sigma", method=method, lr=lr, steps=int(2 / lr),
                                direction="reverse")  # fmt: skip
        exact = nat.gaussian_flow(-1.5, 0.4, lr * np.arange(path.shape[0]), metric=metric)
        errs.append(np.max(np.abs(path - exact)))
    assert 1.7 < errs[0] / errs[1] < 2.3  # first order: halving lr halves the error


def test_gaussian_distances():
    assert nat.gaussian_distance((0.0, 1.0), (3.0, 5.0), metric="wasserstein") == pytest.approx(5.0)
    # Fisher-Rao along sigma alone: ds = sqrt(2) dsigma / sigma, so d = sqrt(2) log(s2 / s1)
    assert nat.gaussian_distance((0.0, 1.0), (0.0, 3.0), metric="fisher_rao") == pytest.approx(np.sqrt(2) * np.log(3))
    with pytest.raises(ValueError, match="metric"):
        nat.gaussian_distance((0.0, 1.0), (0.0, 3.0), metric="hellinger")


def test_cg_descent_matches_dense_descent(model):
    m, _ = model
    w0 = np.zeros(m.size)
    cg = nat.natural_descent_cg(m, w0, lr=1.0, steps=5, damping=1e-4, tol=1e-10)
    dense = nat.natural_descent(m, w0, lr=1.0, steps=5, damping=1e-4)
    np.testing.assert_allclose(cg.path, dense, atol=1e-7)
    assert np.all(cg.residual < 1e-8) and np.all(cg.iterations <= m.size)


@pytest.fixture(scope="module")
def mlp():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 3))
    return nat.TinyMLP(X, rng.standard_normal((4, 5)) / 2, rng.standard_normal((6, 3)))


def test_mlp_fisher_matches_sampled_fisher_and_is_psd(mlp):
    F = mlp.fisher()
    assert np.linalg.eigvalsh(F)[0] > -1e-12
    rel = [np.linalg.norm(mlp.sampled_fisher(np.random.default_rng(s), samples=S) - F) / np.linalg.norm(F)
           for s, S in ((0, 4), (1, 64))]  # fmt: skip
    assert rel[1] < rel[0] / 2  # Monte Carlo: 16x the samples, 4x smaller error (2x margin)


def test_kfac_is_exact_for_a_single_input_and_blocks_have_the_right_shape(mlp):
    one = nat.TinyMLP(mlp.X[:1], mlp.W1, mlp.W2)  # one sample: E[aa^T (x) dd^T] = aa^T (x) E[dd^T]
    F, K = one.fisher(), one.kfac()
    s = one.sizes[0]
    np.testing.assert_allclose(K[:s, :s], F[:s, :s], atol=1e-12)
    np.testing.assert_allclose(K[s:, s:], F[s:, s:], atol=1e-12)
    assert np.all(K[:s, s:] == 0)
    with pytest.raises(ValueError, match="W1"):
        nat.TinyMLP(mlp.X, np.zeros((2, 2)), mlp.W2)
