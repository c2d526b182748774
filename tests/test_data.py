"""Tests of gdlens.data: shapes, balance, seeding, the exact geometry of the noise-free manifolds, validation."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from gdlens import data

MAKERS = [data.two_spirals, data.crumpled_sheets]


@pytest.mark.parametrize(("make", "dim"), [(data.two_spirals, 2), (data.crumpled_sheets, 3)])
@pytest.mark.parametrize("n", [2, 7, 300])
def test_shapes_types_balance(make, dim, n):
    X, y = make(n, rng=np.random.default_rng(0))
    assert X.shape == (n, dim) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype.kind == "i"
    assert set(np.unique(y)) <= {0, 1}
    assert np.sum(y == 0) == n - n // 2 and np.sum(y == 1) == n // 2
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("make", MAKERS)
def test_seeded(make):
    a = make(50, rng=np.random.default_rng(3))
    b = make(50, rng=np.random.default_rng(3))
    c = make(50, rng=np.random.default_rng(4))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("turns", [0.5, 1.5, 3.0])
def test_spirals_lie_on_their_arms(turns):
    # without noise, angle = 2 pi turns r + c pi (mod 2 pi) exactly, and r in [0.1, 1]
    X, y = data.two_spirals(400, rng=np.random.default_rng(1), turns=turns, noise=0.0)
    r = np.linalg.norm(X, axis=1)
    assert np.all(r >= data.SPIRAL_R_MIN - 1e-12) and np.all(r <= 1 + 1e-12)
    phase = np.angle(np.exp(1j * (np.arctan2(X[:, 1], X[:, 0]) - 2 * np.pi * turns * r - np.pi * y)))
    np.testing.assert_allclose(phase, 0.0, atol=1e-9)


def test_spiral_radii_spread_evenly_along_the_arm():
    # density proportional to r on [0.1, 1]: E[r] = (2/3)(1 - 0.1^3)/(1 - 0.1^2); tolerance 5 standard errors
    X, _ = data.two_spirals(20000, rng=np.random.default_rng(2), noise=0.0)
    r = np.linalg.norm(X, axis=1)
    a = data.SPIRAL_R_MIN
    mean = (2 / 3) * (1 - a**3) / (1 - a**2)
    assert abs(r.mean() - mean) < 5 * r.std() / np.sqrt(r.size)


def test_noise_has_the_stated_standard_deviation():
    # same seed with and without noise: the difference is the noise, N(0, sigma^2) per coordinate
    sigma = 0.1
    X0, _ = data.crumpled_sheets(5000, rng=np.random.default_rng(5), noise=0.0)
    X1, _ = data.crumpled_sheets(5000, rng=np.random.default_rng(5), noise=sigma)
    diff = (X1 - X0).ravel()
    se = sigma / np.sqrt(2 * diff.size)  # standard error of a sample standard deviation
    assert abs(diff.std() - sigma) < 5 * se


def test_sheets_never_touch():
    # noise-free: the two sheets stay apart; successive layers are pi*c apart along the radius
    X, y = data.crumpled_sheets(4000, rng=np.random.default_rng(6), noise=0.0)
    gap = np.pi / (2 * np.pi * 2.5)
    dist, _ = cKDTree(X[y == 1]).query(X[y == 0])
    assert dist.min() > 0.5 * gap
    # while points of one sheet have close neighbours on the same sheet
    same, _ = cKDTree(X[y == 0]).query(X[y == 0], k=2)
    assert np.median(same[:, 1]) < 0.5 * gap


def test_sheet_map_keeps_sides_on_their_radius():
    # at v = 0 (no ripple), the radius is c t -+ pi c / 2: the side-1 sheet is pi c further out
    u = np.linspace(0, 1, 11)
    p0, p1 = data.sheet_map(u, 0.0, 0), data.sheet_map(u, 0.0, 1)
    c = 1 / (2 * np.pi * 2.5)
    r0, r1 = np.hypot(p0[:, 0], p0[:, 2]), np.hypot(p1[:, 0], p1[:, 2])
    np.testing.assert_allclose(r1 - r0, np.pi * c, rtol=1e-12)
    assert p0.shape == (11, 3)


@pytest.mark.parametrize("make", MAKERS)
def test_bad_inputs(make):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n"):
        make(1, rng=rng)
    with pytest.raises(TypeError, match="n"):
        make(10.5, rng=rng)
    with pytest.raises(TypeError, match="rng"):
        make(10, rng=0)
    with pytest.raises(ValueError, match="noise"):
        make(10, rng=rng, noise=-0.1)
    with pytest.raises(ValueError, match="turns"):
        make(10, rng=rng, turns=0.0)


def test_sheet_map_rejects_bad_side():
    with pytest.raises(ValueError, match="side"):
        data.sheet_map(0.5, 0.0, 2)
