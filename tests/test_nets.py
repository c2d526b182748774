"""Tests of gdlens.nets against finite differences, closed forms, scipy references and the optimizers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import log_softmax

from gdlens import data, nets, optimizers
from gdlens.landscapes import TiltedDoubleWell


def _batch(sizes, n, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, sizes[0])), rng.integers(0, sizes[-1], n)


def _rel_err(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-8)


# --- the loss ----------------------------------------------------------------------------------


def test_softmax_cross_entropy_matches_scipy_and_its_gradient_rows_sum_to_zero():
    rng = np.random.default_rng(0)
    z, y = 3 * rng.standard_normal((20, 4)), rng.integers(0, 4, 20)
    loss, d = nets.softmax_cross_entropy(z, y)
    assert loss == pytest.approx(-np.mean(log_softmax(z, axis=1)[np.arange(20), y]), rel=1e-13)
    np.testing.assert_allclose(d.sum(axis=1), 0.0, atol=1e-15)
    # the gradient is (softmax - onehot) / n
    p = np.exp(log_softmax(z, axis=1))
    p[np.arange(20), y] -= 1
    np.testing.assert_allclose(d, p / 20, atol=1e-15)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    # logits of 1e5 would overflow exp() without the max shift; the exact loss is the margin here
    z = np.array([[1e5, 0.0], [0.0, 1e5 + 3.0]])
    loss, d = nets.softmax_cross_entropy(z, [1, 1])
    assert loss == pytest.approx(1e5 / 2, rel=1e-12)  # first row pays 1e5, second ~ e^-(1e5+3)
    assert np.all(np.isfinite(d))


# --- the network -------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 6), min_size=0, max_size=3),
    n_in=st.integers(1, 4),
    n_out=st.integers(2, 4),
    n=st.integers(1, 9),
    seed=st.integers(0, 2**31 - 1),
    activation=st.sampled_from(nets.ACTIVATIONS),
)
def test_backprop_matches_finite_differences(hidden, n_in, n_out, n, seed, activation):
    sizes = [n_in, *hidden, n_out]
    net = nets.MLP(sizes, rng=np.random.default_rng(seed), activation=activation)
    for b in net.biases:  # nonzero biases, so that they are tested too
        b += 0.1 * np.random.default_rng(seed + 1).standard_normal(b.shape)
    X, y = _batch(sizes, n, seed + 2)
    _, grads = net.loss_and_grads(X, y)
    numeric = nets.numerical_grads(net, X, y, eps=1e-6)
    # central differences: truncation O(eps^2) ~ 1e-12, rounding ~ 1e-16 / 1e-6 = 1e-10; a ReLU kink
    # within eps of a pre-activation has probability ~ 1e-6 per unit and would show as a large error
    assert _rel_err(nets.flatten(grads), nets.flatten(numeric)) < 1e-6


def test_gradient_shapes_and_loss_match_forward():
    net = nets.MLP([3, 5, 4, 2], rng=np.random.default_rng(1))
    X, y = _batch([3, 5, 4, 2], 10, 2)
    loss, grads = net.loss_and_grads(X, y)
    assert [g[0].shape for g in grads] == [w.shape for w in net.weights]
    assert [g[1].shape for g in grads] == [b.shape for b in net.biases]
    acts = net.forward(X)
    assert len(acts) == 4 and acts[0] is not None and acts[-1].shape == (10, 2)
    assert loss == pytest.approx(-np.mean(log_softmax(acts[-1], axis=1)[np.arange(10), y]), rel=1e-13)
    assert net.n_params == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2 == net.get_params().size


def test_hidden_layers_are_relu_and_the_output_is_linear():
    net = nets.MLP([2, 8, 2], rng=np.random.default_rng(3))
    X, _ = _batch([2, 8, 2], 50, 4)
    acts = net.forward(X)
    np.testing.assert_array_equal(acts[1], np.maximum(X @ net.weights[0] + net.biases[0], 0))
    np.testing.assert_allclose(acts[2], acts[1] @ net.weights[1] + net.biases[1], rtol=1e-15)
    assert np.any(acts[2] < 0)


def test_a_caller_may_set_the_parameters():
    net = nets.MLP([2, 3, 2], rng=np.random.default_rng(0))
    net.weights[0] = np.eye(2, 3)
    net.biases[0] = np.array([0.0, 0.0, 5.0])
    net.weights[1] = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    net.biases[1] = np.zeros(2)
    X = np.array([[1.0, -2.0], [-1.0, 3.0]])
    np.testing.assert_array_equal(net.logits(X), [[1.0, 0.0], [0.0, 3.0]])
    theta = net.get_params()
    other = nets.MLP([2, 3, 2], rng=np.random.default_rng(9))
    other.set_params(theta)
    np.testing.assert_array_equal(other.logits(X), net.logits(X))


def test_forward_carries_leading_axes():
    net = nets.MLP([2, 4, 3], rng=np.random.default_rng(0))
    grid = np.random.default_rng(1).standard_normal((5, 6, 2))
    out = net.forward(grid)[-1]
    assert out.shape == (5, 6, 3)
    np.testing.assert_allclose(out.reshape(30, 3), net.forward(grid.reshape(30, 2))[-1], rtol=1e-14)


def test_he_init_preserves_the_mean_square_through_relu_layers():
    # with W ~ N(0, 2/n_in) and zero biases, E|h_l|^2/n_l is constant over layers (He et al. 2015)
    width, n = 200, 400
    net = nets.MLP([width] * 6 + [2], rng=np.random.default_rng(0))
    X = np.random.default_rng(1).standard_normal((n, width))
    ms = [np.mean(h**2) for h in net.forward(X)[1:-1]]
    # mean square of the input is 1, and each ReLU layer keeps it at 1: the sample of width*n values
    # fluctuates by a few percent over five layers; a wrong variance (1/n_in) would halve it per layer
    np.testing.assert_allclose(ms, 1.0, rtol=0.15)
    assert np.std(net.weights[0]) == pytest.approx(np.sqrt(2 / width), rel=0.02)  # 40 000 draws: se 0.35 %


def test_glorot_init_variance():
    W = nets.glorot_init(300, 100, rng=np.random.default_rng(0))
    a = np.sqrt(6 / 400)
    assert np.all(np.abs(W) <= a)
    assert np.var(W) == pytest.approx(2 / 400, rel=0.03)  # 30 000 draws: se about 0.7 %


def test_numerical_grads_cost_two_forward_passes_per_parameter():
    net = nets.MLP([2, 4, 2], rng=np.random.default_rng(0))
    X, y = _batch([2, 4, 2], 6, 1)
    before = net.get_params()
    net.forward_passes = 0
    nets.numerical_grads(net, X, y)
    assert net.forward_passes == 2 * net.n_params
    np.testing.assert_array_equal(net.get_params(), before)  # restored
    net.forward_passes = 0
    net.loss_and_grads(X, y)
    assert net.forward_passes == 1


def test_overflow_gives_nan_without_warnings():
    net = nets.MLP([2, 4, 2], rng=np.random.default_rng(0))
    net.weights = [w * 1e200 for w in net.weights]
    loss, _ = net.loss_and_grads(np.ones((3, 2)), [0, 1, 0])  # RuntimeWarning would fail the test
    assert not np.isfinite(loss)


# --- training ----------------------------------------------------------------------------------


def test_full_batch_training_is_gradient_descent():
    X, y = _batch([2, 6, 2], 30, 0)
    a = nets.MLP([2, 6, 2], rng=np.random.default_rng(1))
    b = a.copy()
    nets.train(a, X, y, lr=0.3, epochs=5, batch_size=30, rng=np.random.default_rng(2))
    for _ in range(5):
        _, grads = b.loss_and_grads(X, y)
        b.set_params(b.get_params() - 0.3 * nets.flatten(grads))
    np.testing.assert_allclose(a.get_params(), b.get_params(), rtol=1e-12, atol=1e-14)


def test_momentum_training_follows_the_optimizers_rule():
    X, y = _batch([2, 5, 3], 24, 0)
    a = nets.MLP([2, 5, 3], rng=np.random.default_rng(1))
    b = a.copy()
    nets.train(a, X, y, lr=0.1, epochs=2, batch_size=8, rng=np.random.default_rng(2), beta=0.8, nesterov=True)
    rule = optimizers.momentum_rule(0.1, 0.8, nesterov=True)
    theta = b.get_params()
    state = rule.init(theta)
    rng = np.random.default_rng(2)
    for _ in range(2):
        order = rng.permutation(24)
        for s in range(0, 24, 8):
            idx = order[s : s + 8]
            b.set_params(theta)
            _, grads = b.loss_and_grads(X[idx], y[idx])
            update, state = rule.update(nets.flatten(grads), state, theta)
            theta = theta + update
    np.testing.assert_allclose(a.get_params(), theta, rtol=1e-12, atol=1e-14)


def test_history_records_steps_and_snapshots():
    X, y = _batch([2, 4, 2], 50, 0)
    net = nets.MLP([2, 4, 2], rng=np.random.default_rng(1))
    h = nets.train(net, X, y, lr=0.1, epochs=7, batch_size=16, rng=np.random.default_rng(2), snapshot_every=3)
    np.testing.assert_array_equal(h.steps, 4 * np.arange(8))  # ceil(50 / 16) = 4 updates per epoch
    assert [s.epoch for s in h.snapshots] == [0, 3, 6, 7]
    assert np.all(np.diff(h.seconds) >= 0) and not h.diverged
    np.testing.assert_array_equal(nets.load(net, h.snapshots[-1]).get_params(), net.get_params())
    assert h.loss[-1] == pytest.approx(net.loss(X, y), rel=1e-14)


def test_training_reaches_high_accuracy_on_the_spirals():
    # the claim of the chapter in miniature: a small ReLU net separates two interleaved spirals
    X, y = data.two_spirals(300, rng=np.random.default_rng(0), turns=1.5, noise=0.02)
    net = nets.MLP([2, 32, 32, 2], rng=np.random.default_rng(1))
    h = nets.train(net, X, y, lr=0.05, epochs=150, batch_size=32, rng=np.random.default_rng(2), beta=0.9)
    assert h.accuracy[0] < 0.7
    assert h.accuracy[-1] >= 0.98
    assert h.loss[-1] < 0.1 * h.loss[0]


def test_divergence_is_detected_without_warnings():
    X, y = _batch([2, 8, 2], 40, 0)
    net = nets.MLP([2, 8, 2], rng=np.random.default_rng(1))
    h = nets.train(net, 100 * X, y, lr=1e6, epochs=60, batch_size=40, rng=np.random.default_rng(2))
    assert h.diverged and np.isnan(h.loss[-1])


# --- probes ------------------------------------------------------------------------------------


def test_probe_separates_separable_data_and_not_xor():
    rng = np.random.default_rng(0)
    H = rng.standard_normal((400, 3))
    s = H @ np.array([1.0, -2.0, 0.5]) - 0.3
    H, y = H[np.abs(s) > 0.2], (s[np.abs(s) > 0.2] > 0).astype(int)  # separable with a margin
    assert nets.linear_probe(H, y).accuracy == 1.0
    # XOR of four equal clusters: no line gets more than 3 of the 4 clusters right
    centres = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=float)
    Hx = np.repeat(centres, 50, axis=0) + 0.1 * rng.standard_normal((200, 2))
    yx = np.repeat([0, 0, 1, 1], 50)
    assert nets.linear_probe(Hx, yx).accuracy <= 0.75 + 1e-12


def test_probe_minimises_the_regularised_loss():
    # compare with scipy's L-BFGS on the same convex objective (in standardised coordinates)
    rng = np.random.default_rng(1)
    H = rng.standard_normal((150, 3)) * [1.0, 3.0, 0.2] + 1.0
    y = rng.integers(0, 3, 150)
    ridge = 1e-2
    probe = nets.linear_probe(H, y, n_classes=3, steps=50, ridge=ridge)
    assert np.all(np.diff(probe.losses) <= 1e-12)  # Armijo line search: never goes up
    Z = np.hstack([(H - H.mean(0)) / H.std(0), np.ones((150, 1))])

    def f(v):
        V = v.reshape(4, 3)
        loss, dz = nets.softmax_cross_entropy(Z @ V, y)
        return loss + 0.5 * ridge * v @ v, (Z.T @ dz + ridge * V).ravel()

    best = minimize(f, np.zeros(12), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    assert probe.losses[-1] == pytest.approx(best.fun, abs=1e-9)
    assert np.array_equal(probe.predict(H), nets.linear_probe(H, y, n_classes=3, steps=50, ridge=ridge).predict(H))


def test_layer_separability_has_one_entry_per_layer():
    X, y = data.two_spirals(200, rng=np.random.default_rng(0))
    net = nets.MLP([2, 8, 8, 2], rng=np.random.default_rng(1))
    sep = nets.layer_separability(net, X, y)
    assert sep.shape == (4,) and np.all((sep >= 0.5) & (sep <= 1))


# --- momentum with a velocity ------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.1, 0.5, 0.9])
def test_velocity_forms_match_the_optimizers(beta):
    well = TiltedDoubleWell()
    x0 = np.array([-1.7])
    kw = dict(lr=0.01, beta=beta, steps=300)
    heavy, _ = nets.velocity_momentum(well.grad, x0, form="heavy-ball", **kw)
    source, _ = nets.velocity_momentum(well.grad, x0, form="source", **kw)
    sutskever, v = nets.velocity_momentum(well.grad, x0, form="sutskever", **kw)
    np.testing.assert_allclose(heavy, optimizers.momentum(well.grad, x0, nesterov=False, **kw), atol=1e-12)
    np.testing.assert_allclose(source, optimizers.momentum(well.grad, x0, nesterov=True, **kw), atol=1e-12)
    np.testing.assert_allclose(sutskever + beta * v, source, atol=1e-12)  # u = w + beta v
    assert np.max(np.abs(heavy - source)) > 1e-4  # and the source's rule is not heavy-ball


# --- validation --------------------------------------------------------------------------------


def test_bad_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="sizes"):
        nets.MLP([3], rng=rng)
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        nets.MLP([3, 0, 2], rng=rng)
    with pytest.raises(TypeError, match="sizes"):
        nets.MLP(3, rng=rng)
    with pytest.raises(ValueError, match="activation"):
        nets.MLP([2, 2], rng=rng, activation="sigmoid")
    with pytest.raises(TypeError, match="rng"):
        nets.MLP([2, 2], rng=1)
    net = nets.MLP([2, 3, 2], rng=rng)
    with pytest.raises(ValueError, match="X"):
        net.loss_and_grads(np.ones((4, 3)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="y"):
        net.loss_and_grads(np.ones((4, 2)), [0, 1, 2, 1])
    with pytest.raises(TypeError, match="y"):
        net.loss_and_grads(np.ones((4, 2)), [0, 0.5, 0, 1])
    with pytest.raises(ValueError, match="X"):
        net.forward(np.array([[np.nan, 1.0]]))
    X, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="batch_size"):
        nets.train(net, X, y, lr=0.1, epochs=1, batch_size=5, rng=rng)
    with pytest.raises(ValueError, match="lr"):
        nets.train(net, X, y, lr=-0.1, epochs=1, batch_size=2, rng=rng)
    with pytest.raises(ValueError, match="beta"):
        nets.train(net, X, y, lr=0.1, epochs=1, batch_size=2, rng=rng, beta=1.0)
    with pytest.raises(ValueError, match="theta"):
        net.set_params(np.zeros(3))
    with pytest.raises(ValueError, match="form"):
        nets.velocity_momentum(lambda x: x, [1.0], lr=0.1, beta=0.5, steps=3, form="double")
    with pytest.raises(ValueError, match="ridge"):
        nets.linear_probe(X, y, ridge=0.0)
    with pytest.raises(ValueError, match="eps"):
        nets.numerical_grads(net, X, y, eps=0.0)


# --- exact separability, the learning-rate sweep, random features --------------------------------


def test_linear_separability_agrees_with_a_planted_margin_and_rejects_xor():
    rng = np.random.default_rng(3)
    H = rng.standard_normal((300, 4))
    s = H @ np.array([1.0, -2.0, 0.5, 0.0]) - 0.3
    keep = np.abs(s) > 0.3
    H, y = H[keep], (s[keep] > 0).astype(int)
    sep = nets.linear_separability(H, y)
    assert sep.separable and sep.margin > 1e-3
    # the returned hyperplane acts on the raw coordinates and separates every point
    side = H @ sep.weights + sep.bias
    assert np.all((side > 0) == (y == 1))
    centres = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=float)
    Hx = np.repeat(centres, 30, axis=0) + 0.1 * rng.standard_normal((120, 2))
    xor = nets.linear_separability(Hx, np.repeat([0, 0, 1, 1], 30))
    assert not xor.separable and xor.margin <= 1e-7


def test_linear_separability_finds_what_the_probe_misses():
    # a separable set with one far outlier on the right side: the programme says separable (by construction),
    # whatever a smooth loss prefers
    rng = np.random.default_rng(4)
    H = np.vstack([rng.uniform(-1, -0.05, (100, 1)), rng.uniform(0.05, 1, (100, 1))])
    y = np.repeat([0, 1], 100)
    assert nets.linear_separability(H, y).separable
    H2 = np.vstack([H, [[0.5]]])  # a class-0 point among class 1: no longer separable
    assert not nets.linear_separability(H2, np.r_[y, 0]).separable


def test_cover_counting_for_random_labels():
    # n = 2(d + 1) points in general position: exactly half of the labellings are separable (Cover 1965);
    # 200 random labellings give a binomial fraction 0.5 +- 4 SE (SE 0.035)
    rng = np.random.default_rng(5)
    d, n = 2, 6
    H = rng.standard_normal((n, d))
    hits = []
    for _ in range(200):
        y = rng.integers(0, 2, n)
        if y.min() == y.max():
            hits.append(True)  # one class: trivially separable, counted as Cover does
            continue
        hits.append(nets.linear_separability(H, y).separable)
    assert abs(np.mean(hits) - 0.5) < 4 * np.sqrt(0.25 / 200)


def test_train_sweep_rows_equal_single_runs_of_train():
    X, y = data.two_spirals(120, rng=np.random.default_rng(0), turns=1.0, noise=0.02)
    net = nets.MLP([2, 8, 8, 2], rng=np.random.default_rng(1))
    before = net.get_params().copy()
    lrs = [0.05, 0.4]
    sw = nets.train_sweep(
        net, X, y, lrs=lrs, batch_size=16, steps=8 * 3, rng=np.random.default_rng(2), record=[0, 8, 16, 24]
    )
    np.testing.assert_array_equal(net.get_params(), before)  # the start is left unchanged
    for k, lr in enumerate(lrs):
        h = nets.train(net.copy(), X, y, lr=lr, epochs=3, batch_size=16, rng=np.random.default_rng(2))
        np.testing.assert_allclose(sw.loss[k], h.loss, rtol=1e-10)
    np.testing.assert_array_equal(sw.examples, sw.steps * 16)
    np.testing.assert_array_equal(sw.best(), sw.loss.min(axis=0))


def test_train_sweep_marks_a_diverging_rate_with_nan_and_no_warning():
    X, y = data.two_spirals(60, rng=np.random.default_rng(0))
    net = nets.MLP([2, 8, 2], rng=np.random.default_rng(1))
    sw = nets.train_sweep(net, X, y, lrs=[0.1, 1e200], batch_size=60, steps=30, rng=np.random.default_rng(2))
    assert np.all(np.isfinite(sw.loss[0]))
    assert np.isnan(sw.loss[1, -1])
    assert np.all(np.isfinite(sw.best()))


def test_random_relu_features_fold_through_the_data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 3))
    H = nets.random_relu_features(X, 64, rng=np.random.default_rng(1))
    assert H.shape == (500, 64) and np.all(H >= 0)
    # every unit's hyperplane passes through a data point, so every unit is active on some points and not others
    active = (H > 0).mean(axis=0)
    assert np.all(active > 0) and np.all(active < 1)


def test_bad_inputs_of_the_new_tools():
    rng = np.random.default_rng(0)
    X, y = np.ones((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="both classes"):
        nets.linear_separability(X, np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="tol"):
        nets.linear_separability(X, y, tol=0.0)
    with pytest.raises(ValueError, match="y"):
        nets.linear_separability(X, [0, 1, 2, 1])
    net = nets.MLP([2, 3, 2], rng=rng)
    with pytest.raises(ValueError, match="lrs"):
        nets.train_sweep(net, X, y, lrs=[0.1, -1.0], batch_size=2, steps=2, rng=rng)
    with pytest.raises(ValueError, match="record"):
        nets.train_sweep(net, X, y, lrs=[0.1], batch_size=2, steps=2, rng=rng, record=[5])
    with pytest.raises(ValueError, match="activation"):
        nets.train_sweep(
            nets.MLP([2, 3, 2], rng=rng, activation="tanh"), X, y, lrs=[0.1], batch_size=2, steps=2, rng=rng
        )
    with pytest.raises(ValueError, match="width"):
        nets.random_relu_features(X, 0, rng=rng)
