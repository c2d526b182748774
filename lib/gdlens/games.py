r"""Two-player min-max games, the methods that play them, and the linear maps those methods iterate.

A game :math:`\min_x \max_y f(x, y)` is played by following its vector field
:math:`v(x, y) = (-\partial_x f, +\partial_y f)`: the first player descends, the second ascends.
A point ``z`` is an array whose last axis holds ``(x, y)``; every function is vectorised over leading
axes (many starting points at once).

Two games: the bilinear game :math:`f = xy`, whose flow circles the equilibrium forever, and the
Dirac-GAN of Mescheder, Geiger & Nowozin (2018), the smallest GAN that shows the same behaviour.
Five methods: simultaneous and alternating gradient steps, extragradient (Korpelevich 1976),
optimistic gradient (Daskalakis et al. 2018) and consensus optimisation (Mescheder, Nowozin &
Geiger 2017). On the bilinear game each is a linear map whose spectral radius has a closed form
(:func:`spectral_radius`); :func:`update_matrix` builds the map from the method itself, so the two
can be checked against each other.
"""

from __future__ import annotations

import numpy as np

from gdlens import _checks

Array = np.ndarray

METHODS = ("simultaneous", "alternating", "extragradient", "optimistic", "consensus")


class Game:
    """Base class: the vector field :math:`v(z)` of a two-player game and its Jacobian."""

    def field(self, z) -> Array:
        raise NotImplementedError

    def jacobian(self, z) -> Array:
        raise NotImplementedError

    def _points(self, z) -> Array:
        z = np.asarray(z, dtype=np.float64)
        if z.ndim == 0 or z.shape[-1] != 2:
            raise ValueError(f"z must have last axis of length 2 (x, y), got shape {z.shape}")
        return z


class Bilinear(Game):
    r"""The bilinear game :math:`\min_x \max_y\, a\,xy`, field :math:`v = (-a y, a x)`, equilibrium 0.

    Its flow :math:`\dot x = -ay,\ \dot y = ax` is a rotation at angular speed :math:`a`: it conserves
    :math:`x^2 + y^2` and never reaches the equilibrium.
    """

    def __init__(self, a: float = 1.0):
        self.a = _checks.positive("a", a)

    def field(self, z):
        z = self._points(z)
        return self.a * np.stack([-z[..., 1], z[..., 0]], axis=-1)

    def jacobian(self, z):
        z = self._points(z)
        return np.broadcast_to(np.array([[0.0, -self.a], [self.a, 0.0]]), (*z.shape, 2)).copy()

    def flow(self, z0, t) -> Array:
        """The exact flow: ``z0`` rotated by the angle ``a * t``; shape ``(len(t), *z0.shape)``."""
        z0 = self._points(_checks.finite_array("z0", z0))
        t = _checks.finite_array("t", t, ndim_min=1)
        c, s = np.cos(self.a * t), np.sin(self.a * t)
        shape = (-1,) + (1,) * (z0.ndim - 1)
        x, y = z0[..., 0], z0[..., 1]
        return np.stack([c.reshape(shape) * x - s.reshape(shape) * y, s.reshape(shape) * x + c.reshape(shape) * y], -1)


class DiracGAN(Game):
    r"""The Dirac-GAN: generator :math:`p_\theta = \delta_\theta`, discriminator :math:`D_\psi(x) = \psi x`, data at 0.

    .. math::
        f(\theta, \psi) = \phi(\psi\theta) + \phi(0), \qquad \phi(t) = -\log(1 + e^{-t}),

    minimised over :math:`\theta` and maximised over :math:`\psi`, minus the gradient penalty
    :math:`\tfrac{\lambda}{2}\psi^2` (R1: the squared gradient of :math:`D` on the data) for the
    discriminator. The field is

    .. math:: v(\theta, \psi) = \big(-\psi\, \phi'(\psi\theta),\ \theta\, \phi'(\psi\theta) - \lambda\psi\big),
        \qquad \phi'(t) = \frac{1}{1 + e^{t}} .

    Equilibrium at 0, Jacobian there :math:`\begin{pmatrix} 0 & -1/2 \\ 1/2 & -\lambda \end{pmatrix}`.
    Reference: Mescheder, Geiger & Nowozin (2018), Sections 2 and 4.
    """

    def __init__(self, penalty: float = 0.0):
        self.penalty = _checks.positive("penalty", penalty, allow_zero=True)

    @staticmethod
    def _dphi(t):
        return 0.5 * (1 - np.tanh(t / 2))  # 1 / (1 + e^t), overflow-free

    def field(self, z):
        z = self._points(z)
        th, ps = z[..., 0], z[..., 1]
        d = self._dphi(ps * th)
        return np.stack([-ps * d, th * d - self.penalty * ps], axis=-1)

    def jacobian(self, z):
        z = self._points(z)
        th, ps = z[..., 0], z[..., 1]
        u = ps * th
        d = self._dphi(u)
        dd = -d * (1 - d)  # phi''
        j = np.empty((*z.shape, 2))
        j[..., 0, 0] = -ps * ps * dd
        j[..., 0, 1] = -d - ps * th * dd
        j[..., 1, 0] = d + th * ps * dd
        j[..., 1, 1] = th * th * dd - self.penalty
        return j

    def equilibrium_eigenvalues(self) -> Array:
        r"""Eigenvalues of the Jacobian at the equilibrium, :math:`\big(-\lambda \pm \sqrt{\lambda^2 - 1}\big)/2`."""
        disc = np.sqrt(complex(self.penalty**2 - 1))
        return np.array([(-self.penalty + disc) / 2, (-self.penalty - disc) / 2])


class LinearGame(Game):
    r"""A game whose field is linear, :math:`v(z) = Jz`: the linearisation of any game at an equilibrium.

    ``J`` is the 2 x 2 Jacobian of the field there, e.g. ``DiracGAN(penalty).jacobian(np.zeros(2))``.
    """

    def __init__(self, J):
        J = _checks.finite_array("J", J)
        if J.shape != (2, 2):
            raise ValueError(f"J must have shape (2, 2), got {J.shape}")
        self.J = J

    def field(self, z):
        return self._points(z) @ self.J.T

    def jacobian(self, z):
        z = self._points(z)
        return np.broadcast_to(self.J, (*z.shape, 2)).copy()


def play(game: Game, method: str, z0, *, lr: float, steps: int, consensus: float = 1.0) -> Array:
    r"""Iterate one of the game-playing methods from ``z0``.

    With field :math:`v` and step :math:`\gamma`:

    * ``"simultaneous"``: :math:`z_{t+1} = z_t + \gamma v(z_t)`;
    * ``"alternating"``: :math:`x_{t+1} = x_t + \gamma v_x(x_t, y_t)`, then
      :math:`y_{t+1} = y_t + \gamma v_y(x_{t+1}, y_t)`;
    * ``"extragradient"``: :math:`z_{t+1} = z_t + \gamma v\big(z_t + \gamma v(z_t)\big)` (Korpelevich 1976);
    * ``"optimistic"``: :math:`z_{t+1} = z_t + 2\gamma v(z_t) - \gamma v(z_{t-1})`, :math:`z_{-1} = z_0`
      (Daskalakis et al. 2018);
    * ``"consensus"``: :math:`z_{t+1} = z_t + \gamma\big(v(z_t) - c\, J(z_t)^\top v(z_t)\big)`, a descent
      step on :math:`\tfrac c2\lVert v\rVert^2` added (Mescheder, Nowozin & Geiger 2017), ``c`` = ``consensus``.

    Returns the iterates, shape ``(steps + 1, *z0.shape)``; after an overflow the rows are nan.
    """
    if not isinstance(game, Game):
        raise TypeError(f"game must be a Game, got {game!r}")
    _checks.choice("method", method, set(METHODS))
    z = game._points(_checks.finite_array("z0", z0))
    lr = _checks.positive("lr", lr)
    steps = _checks.count("steps", steps)
    c = _checks.positive("consensus", consensus, allow_zero=True)
    out = np.full((steps + 1, *z.shape), np.nan)
    out[0] = z
    v_prev = game.field(z)
    with np.errstate(all="ignore"):
        for k in range(steps):
            v = game.field(z)
            if method == "simultaneous":
                z = z + lr * v
            elif method == "alternating":
                x_new = z[..., 0] + lr * v[..., 0]
                moved = np.stack([x_new, z[..., 1]], axis=-1)
                y_new = z[..., 1] + lr * game.field(moved)[..., 1]
                z = np.stack([x_new, y_new], axis=-1)
            elif method == "extragradient":
                z = z + lr * game.field(z + lr * v)
            elif method == "optimistic":
                z = z + 2 * lr * v - lr * v_prev
            else:
                z = z + lr * (v - c * np.einsum("...ji,...j->...i", game.jacobian(z), v))
            v_prev = v
            if not np.all(np.isfinite(z)):
                break
            out[k + 1] = z
    return out


def update_matrix(method: str, lr: float, *, a: float = 1.0, consensus: float = 1.0, jacobian=None) -> Array:
    """The linear map that ``method`` iterates on the bilinear game :math:`a\\,xy`, built by playing one step.

    Columns are the images of the basis vectors under one step of :func:`play`. For
    ``"optimistic"`` the state is :math:`(z_t, z_{t-1})` and the map is 4 x 4; otherwise 2 x 2.
    With ``jacobian`` (a 2 x 2 array) the game is :class:`LinearGame` ``(jacobian)`` instead (``a`` is
    then ignored): the map of a method linearised at an equilibrium, whose spectral radius decides
    whether the method converges there.
    """
    _checks.choice("method", method, set(METHODS))
    lr = _checks.positive("lr", lr)
    game = Bilinear(a) if jacobian is None else LinearGame(jacobian)
    if method != "optimistic":
        basis = np.eye(2)
        return play(game, method, basis, lr=lr, steps=1, consensus=consensus)[1].T
    # (z_t, z_{t-1}) -> (z_{t+1}, z_t) with z_{t+1} = z_t + 2 lr v(z_t) - lr v(z_{t-1}); v is linear
    J = game.jacobian(np.zeros(2))
    top = np.hstack([np.eye(2) + 2 * lr * J, -lr * J])
    bottom = np.hstack([np.eye(2), np.zeros((2, 2))])
    return np.vstack([top, bottom])


def spectral_radius(method: str, lr, *, a: float = 1.0, consensus: float = 1.0) -> Array:
    r"""Closed-form spectral radius of each method's map on the bilinear game, with :math:`h = a\gamma`.

    ===================  ==============================================================
    simultaneous         :math:`\sqrt{1 + h^2}` (> 1: spirals out)
    alternating          :math:`1` for :math:`h \le 2` (the map has determinant 1 and real trace)
    extragradient        :math:`\sqrt{1 - h^2 + h^4}` (< 1 for :math:`0 < h < 1`)
    optimistic           :math:`\sqrt{(1 + \sqrt{1 - 4h^2})/2}` for :math:`h \le 1/2`
    consensus            :math:`\sqrt{(1 - c a h)^2 + h^2}`
    ===================  ==============================================================

    In complex form :math:`w = x + iy` the field is :math:`v = i a w`, so each method multiplies
    :math:`w` by a complex number (or, for optimistic, obeys :math:`w_{t+1} = (1 + 2ih) w_t - ih\, w_{t-1}`).
    Outside the ranges above the radius is computed from the same polynomials. ``lr`` may be an array.
    """
    _checks.choice("method", method, set(METHODS))
    lr = _checks.finite_array("lr", lr)
    if np.any(lr <= 0):
        raise ValueError(f"lr must be > 0, got {lr!r}")
    a = _checks.positive("a", a)
    c = _checks.positive("consensus", consensus, allow_zero=True)
    h = a * lr
    if method == "simultaneous":
        return np.sqrt(1 + h * h)
    if method == "alternating":
        # z^2 - (2 - h^2) z + 1: unit circle while |2 - h^2| <= 2
        p = 2 - h * h
        disc = np.sqrt(np.maximum(p * p - 4, 0))
        return np.maximum(1.0, (np.abs(p) + disc) / 2)
    if method == "extragradient":
        return np.sqrt(1 - h * h + h**4)
    if method == "consensus":
        return np.sqrt((1 - c * a * h) ** 2 + h * h)
    root = np.sqrt((1 - 4 * h * h).astype(complex))
    z1, z2 = (1 + 2j * h + root) / 2, (1 + 2j * h - root) / 2
    return np.maximum(np.abs(z1), np.abs(z2))


def alternating_invariant(z, lr: float, *, a: float = 1.0) -> Array:
    r"""The quantity :math:`x^2 + y^2 - a\gamma\, xy` that alternating steps conserve exactly on :math:`a\,xy`.

    Alternating gradient steps are the symplectic Euler scheme of the rotation; this modified
    energy is their exact invariant (expand one step to check), so the iterates stay on an ellipse.
    """
    z = _checks.finite_array("z", z, ndim_min=1)
    lr = _checks.positive("lr", lr)
    a = _checks.positive("a", a)
    x, y = z[..., 0], z[..., 1]
    return x * x + y * y - a * lr * x * y
