"""gdlens.games against closed forms: the conserved radius of the bilinear flow, each method's spectral
radius against the eigenvalues of the map it iterates, the alternating invariant, the Dirac-GAN."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlens import games
from gdlens.landscapes import numerical_grad


def test_bilinear_flow_conserves_radius_and_solves_the_ode():
    g = games.Bilinear(1.5)
    z0 = np.array([[1.0, 0.5], [-0.3, 2.0]])
    t = np.linspace(0, 10, 2001)
    z = g.flow(z0, t)
    assert np.allclose(np.sum(z**2, -1), np.sum(z0**2, -1))
    dz = (z[2:] - z[:-2]) / (t[2] - t[0])  # central difference, error ~ (a dt)^2 / 6 * |z| ~ 2e-5
    assert np.max(np.abs(dz - g.field(z[1:-1]))) < 1e-4


@settings(max_examples=30, deadline=None)
@given(lr=st.floats(0.01, 0.45), a=st.floats(0.5, 1.0), c=st.floats(0.0, 1.0))
def test_spectral_radius_matches_update_matrix(lr, a, c):
    for method in games.METHODS:
        M = games.update_matrix(method, lr, a=a, consensus=c)
        rho = np.abs(np.linalg.eigvals(M)).max()
        assert games.spectral_radius(method, lr, a=a, consensus=c) == pytest.approx(rho, rel=1e-6), method


@pytest.mark.parametrize("lr", [1.2, 2.5])
def test_spectral_radius_outside_the_small_step_range(lr):
    for method in ("alternating", "optimistic"):
        rho = np.abs(np.linalg.eigvals(games.update_matrix(method, lr))).max()
        assert games.spectral_radius(method, lr) == pytest.approx(rho, rel=1e-6)


def test_measured_growth_matches_spectral_radius():
    z0 = np.array([1.0, 0.0])
    lr, steps = 0.2, 300
    for method in ("simultaneous", "extragradient", "optimistic", "consensus"):
        z = games.play(games.Bilinear(), method, z0, lr=lr, steps=steps)
        r = np.linalg.norm(z, axis=1)
        measured = (r[steps] / r[steps // 2]) ** (1 / (steps - steps // 2))
        assert measured == pytest.approx(games.spectral_radius(method, lr), rel=1e-3), method


def test_alternating_conserves_its_modified_energy():
    lr = 0.7
    z = games.play(games.Bilinear(), "alternating", np.array([[1.0, 0.0], [0.2, -0.4]]), lr=lr, steps=500)
    q = games.alternating_invariant(z, lr)
    assert np.allclose(q, q[0])
    assert np.max(np.linalg.norm(z, axis=-1)) < 2  # bounded
    assert np.ptp(np.sum(z**2, -1)) > 0.1  # but x^2 + y^2 itself is not conserved


def test_dirac_gan_field_and_jacobian():
    for pen in (0.0, 0.7):
        g = games.DiracGAN(pen)
        z = np.array([[0.3, -1.2], [2.0, 0.5], [0.0, 0.0]])
        # the field is (-d f/d theta, d f/d psi - pen psi) with f = phi(psi theta)
        f = lambda w: -np.log1p(np.exp(-w[..., 0] * w[..., 1]))
        grad = numerical_grad(f, z)
        expected = np.stack([-grad[:, 0], grad[:, 1] - pen * z[:, 1]], -1)
        assert np.allclose(g.field(z), expected, atol=1e-8)
        num_jac = np.stack([numerical_grad(lambda w, i=i, g=g: g.field(w)[..., i], z) for i in range(2)], -2)
        assert np.allclose(g.jacobian(z), num_jac, atol=1e-7)
        ev = np.sort_complex(np.linalg.eigvals(g.jacobian(np.zeros(2))))
        assert np.allclose(ev, np.sort_complex(g.equilibrium_eigenvalues()))


def test_dirac_gan_converges_only_with_penalty():
    z0 = np.array([1.0, 1.0])
    plain = games.play(games.DiracGAN(0.0), "simultaneous", z0, lr=0.1, steps=2000)
    penal = games.play(games.DiracGAN(1.0), "simultaneous", z0, lr=0.1, steps=2000)
    assert np.linalg.norm(plain[-1]) > np.linalg.norm(z0)
    assert np.linalg.norm(penal[-1]) < 1e-3


def test_bad_inputs():
    with pytest.raises(ValueError, match="method"):
        games.play(games.Bilinear(), "adam", np.zeros(2), lr=0.1, steps=3)
    with pytest.raises(ValueError, match="last axis"):
        games.Bilinear().field(np.zeros(3))
    with pytest.raises(TypeError, match="game"):
        games.play("xy", "simultaneous", np.zeros(2), lr=0.1, steps=3)
    with pytest.raises(ValueError, match="lr"):
        games.spectral_radius("extragradient", -1.0)
    with pytest.raises(ValueError, match="penalty"):
        games.DiracGAN(-1.0)


def test_linearised_dirac_gan_maps_match_bilinear_closed_forms():
    # without penalty the Dirac-GAN's Jacobian at 0 is the bilinear game with a = phi'(0) = 1/2
    J = games.DiracGAN(0.0).jacobian(np.zeros(2))
    for method in games.METHODS:
        for lr in (0.1, 0.4):
            M = games.update_matrix(method, lr, jacobian=J)
            assert np.abs(np.linalg.eigvals(M)).max() == pytest.approx(float(games.spectral_radius(method, lr, a=0.5)))
    # simultaneous: sqrt(1 + lr^2 phi'(0)^2)
    M = games.update_matrix("simultaneous", 0.3, jacobian=J)
    assert np.abs(np.linalg.eigvals(M)).max() == pytest.approx(np.sqrt(1 + 0.3**2 / 4))
    with pytest.raises(ValueError, match="J"):
        games.LinearGame(np.eye(3))
