"""The shared test problems: gradients and Hessians against finite differences, shapes, and their minima."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gdlens.landscapes import Quadratic, Rosenbrock, TiltedDoubleWell, check_grad, ill_conditioned, numerical_grad

LANDSCAPES = {
    "quadratic": ill_conditioned(25.0),
    "quadratic-5d": ill_conditioned(100.0, dim=5),
    "rosenbrock": Rosenbrock(),
    "well-1d": TiltedDoubleWell(),
    "well-2d": TiltedDoubleWell(dim=2),
    "well-3d": TiltedDoubleWell(-0.2, dim=3, stiffness=3.0),
}
points = arrays(np.float64, 2, elements=st.floats(-2, 2))


@pytest.mark.parametrize("name", LANDSCAPES)
def test_gradient_and_hessian_match_finite_differences(name):
    f = LANDSCAPES[name]
    x = np.random.default_rng(1).uniform(-1.5, 1.5, size=(7, f.dim))
    # central differences: truncation O(eps^2 f''') plus rounding O(1e-16 |f| / eps); for values up
    # to ~1e3 (Rosenbrock) at eps=1e-6 both stay below 1e-5 relative to the gradient's size
    scale = 1 + np.abs(f.grad(x)).max()
    assert check_grad(f.value, f.grad, x) < 1e-6 * scale * 10
    for i in range(f.dim):
        fd = numerical_grad(lambda p, i=i: f.grad(p)[..., i], x)
        np.testing.assert_allclose(f.hess(x)[..., i, :], fd, atol=1e-5 * (1 + np.abs(fd).max()))


@pytest.mark.parametrize("name", LANDSCAPES)
def test_vectorised_over_leading_axes(name):
    f = LANDSCAPES[name]
    x = np.random.default_rng(2).standard_normal((3, 4, f.dim))
    assert f.value(x).shape == (3, 4)
    assert f.grad(x).shape == (3, 4, f.dim)
    assert f.hess(x).shape == (3, 4, f.dim, f.dim)
    np.testing.assert_allclose(f.value(x)[1, 2], f.value(x[1, 2]))
    np.testing.assert_allclose(f.hess(x)[2, 3], f.hess(x[2, 3]))


def test_wrong_last_axis_is_rejected():
    with pytest.raises(ValueError, match="last axis"):
        Rosenbrock().value(np.zeros(3))


def test_quadratic_minimiser_and_spectrum():
    f = Quadratic([[3.0, 1.0], [1.0, 2.0]], b=[1.0, -1.0])
    np.testing.assert_allclose(f.grad(f.minimizer), 0.0, atol=1e-14)
    g = ill_conditioned(40.0, smoothness=2.0)
    assert g.condition == pytest.approx(40.0)
    assert g.smoothness == pytest.approx(2.0)
    assert g.strong_convexity == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("A", "match"), [([[1.0, 2.0], [0.0, 1.0]], "symmetric"), ([[1.0, 0.0], [0.0, -1.0]], "positive definite")]
)
def test_quadratic_rejects_bad_matrices(A, match):
    with pytest.raises(ValueError, match=match):
        Quadratic(A)


def test_ill_conditioned_rejects_condition_below_one():
    with pytest.raises(ValueError, match="condition"):
        ill_conditioned(0.5)


def test_rosenbrock_minimum():
    f = Rosenbrock()
    assert f.value(f.minimizer) == 0.0
    np.testing.assert_array_equal(f.grad(f.minimizer), 0.0)
    assert np.all(np.linalg.eigvalsh(f.hess(f.minimizer)) > 0)


@pytest.mark.parametrize("tilt", [-0.5, -0.1, 0.0, 0.3, 0.7])
def test_double_well_stationary_points(tilt):
    f = TiltedDoubleWell(tilt, dim=2)
    for p in (f.global_minimum, f.local_minimum, f.saddle):
        np.testing.assert_allclose(f.grad(p), 0.0, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(f.hess(f.global_minimum)) > 0)
    assert np.all(np.linalg.eigvalsh(f.hess(f.local_minimum)) > 0)
    assert f.hess(f.saddle)[0, 0] < 0
    local_barrier, global_barrier = f.barriers
    assert 0 < local_barrier <= global_barrier
    assert f.value(f.global_minimum) <= f.value(f.local_minimum)


def test_double_well_default_is_tilted_to_the_right():
    f = TiltedDoubleWell()
    assert f.global_minimum[0] > 0 > f.local_minimum[0]
    assert f.value(f.global_minimum) < f.value(f.local_minimum)


def test_double_well_rejects_a_tilt_that_removes_a_well():
    with pytest.raises(ValueError, match="tilt"):
        TiltedDoubleWell(0.8)


@settings(max_examples=50, deadline=None)
@given(x=points)
def test_rosenbrock_gradient_property(x):
    f = Rosenbrock()
    fd = numerical_grad(f.value, x, eps=1e-5)
    np.testing.assert_allclose(f.grad(x), fd, atol=1e-4 * (1 + np.abs(fd).max()))
