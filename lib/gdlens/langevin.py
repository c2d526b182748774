r"""Langevin dynamics: Brownian motion, the overdamped and underdamped integrators, Boltzmann's law,
cooling schedules for annealing, and stochastic gradient descent read as a Langevin process.

Conventions. A state is an array of shape ``(n_chains, dim)``: every integrator is vectorised over the
chains. An energy gradient ``grad_energy`` maps such an array to one of the same shape. Random draws
come from an explicit ``rng: np.random.Generator``.

Divergence. When a chain's state stops being finite (overflow of a too-large step), the integrators
do not let numpy warn: the chain's row is set to ``nan`` from that step on and stays ``nan``; the other
chains carry on. :func:`diverged` tells which chains were lost.

The overdamped Langevin equation, with time measured in units of the friction (:math:`\gamma = 1`),

.. math:: dx = -\nabla E(x)\, dt + \sqrt{2T}\, dW_t,

has the Boltzmann law :math:`p(x) \propto e^{-E(x)/T}` as its stationary law; its Euler--Maruyama
discretisation with step :math:`\delta` is gradient descent plus Gaussian noise,

.. math:: x_{k+1} = x_k - \delta \nabla E(x_k) + \sqrt{2 T_k \delta}\, \xi_k, \qquad \xi_k \sim N(0, I).

References: Einstein (1905); Langevin (1908); Kloeden & Platen, *Numerical Solution of Stochastic
Differential Equations* (1992); Geman & Geman (1984) and Hajek (1988) for annealing; Mandt, Hoffman &
Blei (2017) for SGD as a stochastic process; Welling & Teh (2011) for SGLD.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from gdlens import _checks
from gdlens.finite_sum import LeastSquares
from gdlens.landscapes import Landscape

Array = np.ndarray
Grad = Callable[[Array], Array]
Schedule = Callable[[int], float]

__all__ = [
    "overdamped",
    "underdamped",
    "diverged",
    "boltzmann_density",
    "boltzmann_expectation",
    "boltzmann_sample",
    "brownian_msd",
    "ou_moments",
    "logarithmic",
    "geometric",
    "linear",
    "constant",
    "RuggedBowl",
    "least_squares_batch_grad",
    "lyapunov",
    "discrete_lyapunov",
    "sgd_stationary_covariance",
    "minibatch_noise_covariance",
    "minibatch_sgd",
    "sgld",
    "ShiftedSharpFlat",
    "sgd_second_moment",
]


# ----------------------------------------------------------------------------------------------------
# validation helpers


def _states(name: str, x0) -> Array:
    x = _checks.finite_array(name, x0)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n_chains, dim), got shape {x.shape}")
    return x.copy()


def _temperature_at(temperature, k: int) -> float:
    """T_k, validated: finite and >= 0."""
    value = temperature(k) if callable(temperature) else temperature
    try:
        t = float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"temperature must be a real number or a callable returning one, got {value!r}") from err
    if not np.isfinite(t) or t < 0:
        raise ValueError(f"temperature must be finite and >= 0, got {value!r} at step {k}")
    return t


def _check_temperature(temperature):
    if callable(temperature):
        return temperature
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a real number or a callable k -> T_k, got {temperature!r}")
    return _checks.positive("temperature", temperature, allow_zero=True)


def _gradient(grad_energy: Grad, x: Array) -> Array:
    g = np.asarray(grad_energy(x), dtype=np.float64)
    if g.shape != x.shape:
        raise ValueError(f"grad_energy must return the shape of its input {x.shape}, got {g.shape}")
    return g


def _kill_nonfinite(x: Array) -> None:
    """Set the rows of ``x`` that hold a non-finite entry to nan, in place."""
    if not np.isfinite(x).all():
        bad = ~np.isfinite(x).all(axis=-1)
        x[bad] = np.nan


def diverged(states) -> Array:
    """Boolean mask over chains: True where a chain's state holds a nan (it diverged).

    ``states`` has shape ``(..., n_chains, dim)`` (a final state or a trace); for a trace, a chain counts
    as diverged if its final state is nan (a diverged chain stays nan).
    """
    s = np.asarray(states, dtype=np.float64)
    if s.ndim < 2:
        raise ValueError(f"states must have shape (..., n_chains, dim), got shape {s.shape}")
    if s.ndim > 2:
        s = s.reshape(-1, *s.shape[-2:])[-1]
    return np.isnan(s).any(axis=-1)


# ----------------------------------------------------------------------------------------------------
# integrators


def overdamped(
    grad_energy: Grad,
    x0,
    *,
    step: float,
    temperature: float | Schedule,
    steps: int,
    rng: np.random.Generator,
    trace: bool = False,
) -> Array:
    r"""The overdamped Langevin update (Euler--Maruyama), vectorised over chains.

    .. math:: x_{k+1} = x_k - \delta\, \nabla E(x_k) + \sqrt{2\, \delta\, T_k}\; \xi_k,
              \qquad \xi_k \sim N(0, I),

    for :math:`k = 0, \dots, \text{steps} - 1`. At :math:`T = 0` it is plain gradient descent with
    learning rate :math:`\delta`. The noise is drawn as ``rng.standard_normal(x.shape)`` once per step,
    after the gradient is evaluated, so a run is reproducible from the seed (and shares its noise with
    :func:`underdamped` run from the same seed).

    Parameters
    ----------
    grad_energy : callable
        ``(n_chains, dim) -> (n_chains, dim)``, the gradient of the energy.
    x0 : array, shape (n_chains, dim)
        Initial states.
    step : float > 0
        The time step :math:`\delta`.
    temperature : float >= 0, or callable
        :math:`T`, or a schedule ``k -> T_k`` (see :func:`logarithmic`, :func:`geometric`, :func:`linear`)
        used for the step from :math:`x_k` to :math:`x_{k+1}`.
    steps : int >= 0
    rng : numpy.random.Generator
    trace : bool
        Return every state, shape ``(steps + 1, n_chains, dim)``, instead of the final one.

    Returns
    -------
    The final states, shape of ``x0`` (or the trace). A chain whose state stops being finite is set to
    nan from then on (see :func:`diverged`); no numpy warning is emitted.

    Reference: Kloeden & Platen (1992), ch. 10; Roberts & Tweedie (1996) for its use as a sampler.
    """
    _checks.function("grad_energy", grad_energy)
    x = _states("x0", x0)
    step = _checks.positive("step", step)
    temperature = _check_temperature(temperature)
    steps = _checks.count("steps", steps)
    rng = _checks.generator("rng", rng)
    out = np.empty((steps + 1, *x.shape)) if trace else None
    if trace:
        out[0] = x
    noise = np.empty_like(x)
    drift = np.empty_like(x)  # our own buffer: the array grad_energy returns may be x itself or the caller's
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            g = _gradient(grad_energy, x)
            sigma = np.sqrt(2.0 * step * _temperature_at(temperature, k))
            rng.standard_normal(out=noise)
            np.multiply(g, step, out=drift)  # never scale g in place (issue 17)
            x -= drift
            if sigma > 0:
                noise *= sigma
                x += noise
            _kill_nonfinite(x)
            if trace:
                out[k + 1] = x
    return out if trace else x


def underdamped(
    grad_energy: Grad,
    x0,
    v0=None,
    *,
    step: float,
    mass: float,
    friction: float = 1.0,
    temperature: float | Schedule,
    steps: int,
    rng: np.random.Generator,
    trace: bool = False,
) -> tuple[Array, Array]:
    r"""The Langevin equation with mass, integrated by semi-implicit Euler (friction taken implicitly).

    The equation :math:`m\ddot x = -\gamma \dot x - \nabla E(x) + \sqrt{2\gamma T}\,\dot W` is stepped as

    .. math:: v_{k+1} = \frac{m v_k - h \nabla E(x_k) + \sqrt{2\gamma T_k h}\;\xi_k}{m + \gamma h},
              \qquad x_{k+1} = x_k + h\, v_{k+1},

    with :math:`\xi_k \sim N(0, I)` drawn as ``rng.standard_normal(x.shape)`` once per step. Taking the
    friction implicitly keeps the scheme stable for any mass, and at :math:`m = 0` it *is* the overdamped
    update of :func:`overdamped` with step :math:`\delta = h/\gamma` and the same noise:
    :math:`x_{k+1} = x_k - (h/\gamma)\nabla E(x_k) + \sqrt{2 T_k h/\gamma}\,\xi_k`. So the overdamped
    limit :math:`m \to 0` can be watched path by path with a shared seed.

    Parameters
    ----------
    grad_energy : callable ``(n_chains, dim) -> (n_chains, dim)``
    x0 : array, shape (n_chains, dim)
    v0 : array of the same shape, or None
        Initial velocities; None draws them from the Maxwell law :math:`N(0, T_0/m)` (zero if m = 0),
        before the first step, from ``rng``.
    step : float > 0, the time step h
    mass : float >= 0
    friction : float > 0, the friction coefficient :math:`\gamma`
    temperature : float >= 0 or callable ``k -> T_k``
    steps : int >= 0
    rng : numpy.random.Generator
    trace : bool
        Return all positions and velocities, each of shape ``(steps + 1, n_chains, dim)``.

    Returns
    -------
    (x, v): final positions and velocities (or their traces). Diverged chains are nan.

    Reference: Langevin (1908); the semi-implicit scheme is the "Langevin-Euler" scheme of
    Kloeden & Platen (1992) with the damping term treated implicitly.
    """
    _checks.function("grad_energy", grad_energy)
    x = _states("x0", x0)
    step = _checks.positive("step", step)
    mass = _checks.positive("mass", mass, allow_zero=True)
    friction = _checks.positive("friction", friction)
    temperature = _check_temperature(temperature)
    steps = _checks.count("steps", steps)
    rng = _checks.generator("rng", rng)
    if v0 is None:
        t0 = _temperature_at(temperature, 0)
        v = rng.standard_normal(x.shape) * np.sqrt(t0 / mass) if mass > 0 else np.zeros_like(x)
    else:
        v = _states("v0", v0)
        if v.shape != x.shape:
            raise ValueError(f"v0 must have the shape of x0 {x.shape}, got {v.shape}")
    xs = np.empty((steps + 1, *x.shape)) if trace else None
    vs = np.empty((steps + 1, *x.shape)) if trace else None
    if trace:
        xs[0], vs[0] = x, v
    denom = mass + friction * step
    noise = np.empty_like(x)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            g = _gradient(grad_energy, x)
            sigma = np.sqrt(2.0 * friction * step * _temperature_at(temperature, k))
            rng.standard_normal(out=noise)
            v = (mass * v - step * g + sigma * noise) / denom
            x = x + step * v
            _kill_nonfinite(x)
            v[np.isnan(x).any(axis=-1)] = np.nan
            if trace:
                xs[k + 1], vs[k + 1] = x, v
    return (xs, vs) if trace else (x, v)


# ----------------------------------------------------------------------------------------------------
# closed forms


def _grid_points(axes, dim_expected: int | None = None):
    if isinstance(axes, np.ndarray) and axes.ndim == 1:
        axes = [axes]
    elif not isinstance(axes, list | tuple):
        axes = [axes]
    grids = []
    for i, a in enumerate(axes):
        a = _checks.finite_array(f"grid[{i}]", a)
        if a.ndim != 1 or a.size < 2 or np.any(np.diff(a) <= 0):
            raise ValueError(f"grid[{i}] must be a strictly increasing 1-D array of >= 2 points, got shape {a.shape}")
        grids.append(a)
    mesh = np.meshgrid(*grids, indexing="ij")
    return grids, np.stack(mesh, axis=-1)


def _integrate(values: Array, grids: list[Array]) -> float:
    out = values
    for a in reversed(grids):
        out = np.trapezoid(out, a, axis=-1)
    return float(out)


def boltzmann_density(energy: Callable[[Array], Array], grid, *, temperature: float) -> Array:
    r"""The Boltzmann density :math:`p(x) = e^{-E(x)/T} / Z` on a grid, normalised numerically.

    .. math:: p(x) = \frac{e^{-(E(x) - E_{\min})/T}}{\int e^{-(E(y) - E_{\min})/T}\, dy},

    where :math:`E_{\min}` is the smallest energy on the grid: subtracting it before the exponential
    keeps the computation free of overflow and underflow at low temperature. :math:`Z` is computed with
    the trapezoidal rule over the grid, so the grid must cover the mass of the law.

    Parameters
    ----------
    energy : callable
        ``(..., dim) -> (...)`` such as ``Landscape.value``.
    grid : 1-D array, or a sequence of ``dim`` 1-D arrays
        The axes of a tensor grid (strictly increasing).
    temperature : float > 0

    Returns
    -------
    The density on the grid, shape ``(len(grid[0]), ..., len(grid[dim-1]))``; it integrates to 1 by
    the trapezoidal rule.

    Reference: Boltzmann (1877); Gibbs, *Elementary Principles in Statistical Mechanics* (1902).
    """
    _checks.function("energy", energy)
    T = _checks.positive("temperature", temperature)
    grids, points = _grid_points(grid)
    e = np.asarray(energy(points), dtype=np.float64)
    if e.shape != points.shape[:-1]:
        raise ValueError(f"energy must map points of shape {points.shape} to {points.shape[:-1]}, got {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("energy must be finite on the grid")
    w = np.exp(-(e - e.min()) / T)
    return w / _integrate(w, grids)


def boltzmann_expectation(
    f: Callable[[Array], Array], energy: Callable[[Array], Array], grid, *, temperature: float
) -> float:
    r""":math:`\mathbb{E}_p[f]` under the Boltzmann law on a grid, by the trapezoidal rule."""
    _checks.function("f", f)
    p = boltzmann_density(energy, grid, temperature=temperature)
    grids, points = _grid_points(grid)
    return _integrate(np.asarray(f(points), dtype=np.float64) * p, grids)


def boltzmann_sample(
    energy: Callable[[Array], Array], grid, *, temperature: float, size: int, rng: np.random.Generator
) -> Array:
    r"""Exact draws from the 1-D Boltzmann law on ``grid`` by inverting its cumulative distribution.

    The density of :func:`boltzmann_density` is integrated by the trapezoidal rule into a CDF :math:`F`,
    and :math:`x = F^{-1}(u)`, :math:`u \sim U(0, 1)` (``rng.random(size)``), by linear interpolation.
    Used to start chains *at* equilibrium, so that what a run measures is the integrator's own bias.

    Returns an array of shape ``(size, 1)``: chains in the layout of :func:`overdamped`.
    """
    grids, _ = _grid_points(grid)
    if len(grids) != 1:
        raise ValueError(f"grid must be one 1-D array (a 1-D law), got {len(grids)} axes")
    size = _checks.count("size", size, minimum=1)
    rng = _checks.generator("rng", rng)
    x = grids[0]
    p = boltzmann_density(energy, x, temperature=temperature)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))])
    cdf /= cdf[-1]
    return np.interp(rng.random(size), cdf, x)[:, None]


def brownian_msd(t, *, dim: int, temperature: float, friction: float = 1.0, mass: float = 0.0) -> Array:
    r"""Mean squared displacement of a free Brownian particle (Einstein; Ornstein--Uhlenbeck).

    With :math:`D = T/\gamma` (Einstein's relation) and velocities started at equilibrium,

    .. math:: \mathbb{E}\,|x_t - x_0|^2 = 2 d D \Big(t - \frac{m}{\gamma}\big(1 - e^{-\gamma t / m}\big)\Big),

    which is :math:`2 d D t` for :math:`m = 0` and ballistic, :math:`d (T/m) t^2`, for :math:`t \ll m/\gamma`.

    Reference: Einstein (1905); Uhlenbeck & Ornstein (1930), eq. (25).
    """
    t = _checks.finite_array("t", t)
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0, got {t!r}")
    dim = _checks.count("dim", dim, minimum=1)
    T = _checks.positive("temperature", temperature, allow_zero=True)
    gamma = _checks.positive("friction", friction)
    m = _checks.positive("mass", mass, allow_zero=True)
    D = T / gamma
    if m == 0:
        return 2 * dim * D * t
    tau = m / gamma
    return 2 * dim * D * (t - tau * (-np.expm1(-t / tau)))


def ou_moments(t, *, x0, stiffness: float, temperature: float) -> tuple[Array, Array]:
    r"""Mean and variance at time t of the Ornstein--Uhlenbeck process :math:`dx = -kx\,dt + \sqrt{2T}\,dW`.

    .. math:: \mathbb{E}\,x_t = x_0 e^{-kt}, \qquad \operatorname{Var} x_t = \frac{T}{k}\big(1 - e^{-2kt}\big),

    the overdamped Langevin equation in the quadratic energy :math:`E(x) = k x^2/2`; as
    :math:`t \to \infty` the law tends to the Boltzmann law :math:`N(0, T/k)`.

    Reference: Uhlenbeck & Ornstein (1930).
    """
    t = _checks.finite_array("t", t)
    x0 = _checks.finite_array("x0", x0)
    k = _checks.positive("stiffness", stiffness)
    T = _checks.positive("temperature", temperature, allow_zero=True)
    return x0 * np.exp(-k * t), (T / k) * (-np.expm1(-2 * k * t))


# ----------------------------------------------------------------------------------------------------
# cooling schedules


def logarithmic(c: float, k0: float = 2.0, *, time_step: float | None = None) -> Schedule:
    r"""The logarithmic cooling schedule :math:`T_k = c / \log(k + k_0)`, per step or in continuous time.

    Per step (``time_step=None``): :math:`T_k = c/\log(k + k_0)`. Geman & Geman (1984) and Hajek (1988)
    proved that on a *finite state space* annealing with this schedule reaches the global minima with
    probability tending to 1 if (Hajek: and only if) :math:`c` is at least the depth of the deepest
    local minimum that is not global (the barrier a trapped state must climb).

    In continuous time (``time_step=h``): :math:`T_k = c/\log(k_0 + k h)`, the temperature at time
    :math:`t = kh` of the diffusion :math:`dx = -\nabla E\,dt + \sqrt{2T(t)}\,dW`. For that diffusion
    on :math:`\mathbb{R}^d`, :math:`T(t) = c/\log t` (t large) with :math:`c` above the critical depth
    :math:`d^\star` drives the law to the global minima; below it, not (Geman & Hwang 1986; Chiang,
    Hwang & Sheu 1987; Holley, Kusuoka & Stroock 1989 for the sharp constant). The per-step schedule run
    with a step :math:`h` is the continuous one with the clock sped up by :math:`1/h`: it cools far faster.
    ``k0 > 1`` keeps the logarithm positive; ``k0 = e`` starts the continuous schedule at :math:`T_0 = c`.
    """
    c = _checks.positive("c", c)
    k0 = _checks.real("k0", k0)
    if k0 <= 1:
        raise ValueError(f"k0 must be > 1 so that log(k + k0) > 0, got {k0!r}")
    h = 1.0 if time_step is None else _checks.positive("time_step", time_step)

    def schedule(k):
        return c / np.log(h * np.asarray(k, dtype=np.float64) + k0)

    return schedule


def geometric(t0: float, rate: float) -> Schedule:
    r"""The geometric (exponential) cooling schedule :math:`T_k = T_0\, r^k`, :math:`0 < r \le 1`.

    The usual choice in practice (Kirkpatrick, Gelatt & Vecchi, 1983); it carries no guarantee.
    """
    t0 = _checks.positive("t0", t0, allow_zero=True)
    rate = _checks.in_interval("rate", rate, 0.0, 1.0, closed_hi=True)
    if rate == 0:
        raise ValueError(f"rate must lie in (0, 1], got {rate!r}")

    def schedule(k):
        return t0 * rate ** np.asarray(k, dtype=np.float64)

    return schedule


def linear(t0: float, steps: int) -> Schedule:
    r"""The linear cooling schedule :math:`T_k = T_0 \max(0, 1 - k/K)`, reaching 0 at step K = ``steps``."""
    t0 = _checks.positive("t0", t0, allow_zero=True)
    steps = _checks.count("steps", steps, minimum=1)

    def schedule(k):
        return t0 * np.maximum(0.0, 1.0 - np.asarray(k, dtype=np.float64) / steps)

    return schedule


def constant(t0: float) -> Schedule:
    """The constant schedule :math:`T_k = T_0` (plain Langevin; :math:`T_0 = 0` is gradient descent)."""
    t0 = _checks.positive("t0", t0, allow_zero=True)

    def schedule(k):
        return t0 + 0.0 * np.asarray(k, dtype=np.float64)

    return schedule


# ----------------------------------------------------------------------------------------------------
# a rugged landscape for annealing


class RuggedBowl(Landscape):
    r"""A wide bowl covered with ripples: many local minima, one global minimum at ``center``.

    .. math:: E(x) = \frac{s}{2}\,|x - c|^2 + A \sum_i \Big(1 - \cos\frac{2\pi (x_i - c_i)}{\ell}\Big),

    a shifted Rastrigin function. :math:`E \ge 0` with equality only at :math:`x = c`; when
    :math:`A (2\pi/\ell)^2 > s` the ripples create local minima near the lattice points
    :math:`c + \ell\, n`, :math:`n \in \mathbb{Z}^d`, separated by barriers of height about :math:`2A`.
    Gradient descent started away from :math:`c` stops in the first ripple it meets.

    Reference: Rastrigin (1974); Mühlenbein, Schomisch & Born (1991).
    """

    def __init__(self, *, amplitude: float = 0.3, wavelength: float = 1.0, stiffness: float = 0.5, center=(0.3, -0.2)):
        self.amplitude = _checks.positive("amplitude", amplitude)
        self.wavelength = _checks.positive("wavelength", wavelength)
        self.stiffness = _checks.positive("stiffness", stiffness)
        self.center = _checks.finite_array("center", center, ndim_min=1)
        if self.center.ndim != 1:
            raise ValueError(f"center must be a 1-D array, got shape {self.center.shape}")
        self.dim = self.center.size
        self.global_minimum = self.center.copy()
        self._w = 2 * np.pi / self.wavelength

    def value(self, x):
        d = self._points(x) - self.center
        return 0.5 * self.stiffness * np.sum(d**2, axis=-1) + self.amplitude * np.sum(1 - np.cos(self._w * d), axis=-1)

    def grad(self, x):
        d = self._points(x) - self.center
        return self.stiffness * d + self.amplitude * self._w * np.sin(self._w * d)

    def hess(self, x):
        d = self._points(x) - self.center
        h = np.zeros((*d.shape, self.dim))
        idx = np.arange(self.dim)
        h[..., idx, idx] = self.stiffness + self.amplitude * self._w**2 * np.cos(self._w * d)
        return h

    def in_global_basin(self, x) -> Array:
        r"""True where x lies in the ripple cell of the global minimum (each x_i within l/2 of c_i)."""
        d = self._points(x) - self.center
        return np.all(np.abs(d) < self.wavelength / 2, axis=-1)


# ----------------------------------------------------------------------------------------------------
# mini-batch gradients, SGD and SGLD


def least_squares_batch_grad(problem: LeastSquares) -> Callable[[Array, Array], Array]:
    r"""Per-chain mini-batch gradients of a :class:`gdlens.finite_sum.LeastSquares` problem.

    Returns ``batch_grad(theta, idx)``: for chains ``theta`` of shape ``(n_chains, d)`` and batch indices
    ``idx`` of shape ``(n_chains, B)``, the mean gradient of each chain's own batch,

    .. math:: g_B(\theta) = \frac1B \sum_{i \in B} x_i (x_i^\top \theta - y_i),

    shape ``(n_chains, d)``; the callable :func:`minibatch_sgd` expects.
    """
    if not isinstance(problem, LeastSquares):
        raise TypeError(f"problem must be a gdlens.finite_sum.LeastSquares, got {problem!r}")

    def batch_grad(theta, idx):
        theta = np.asarray(theta, dtype=np.float64)
        idx = np.asarray(idx)
        a = problem.X[idx]  # (n_chains, B, d)
        r = np.einsum("cbd,cd->cb", a, theta) - problem.y[idx]
        return np.einsum("cb,cbd->cd", r, a) / idx.shape[-1]

    return batch_grad


def minibatch_noise_covariance(per_example_grads, batch_size: int, *, replace: bool = True) -> Array:
    r"""Exact covariance of the mini-batch gradient :math:`g_B = \frac1B \sum_{i \in B} \nabla\ell_i`.

    With :math:`\Sigma = \frac1n \sum_i (\nabla\ell_i - \nabla L)(\nabla\ell_i - \nabla L)^\top`, the
    covariance of the per-example gradients at the current point,

    .. math:: \operatorname{Cov} g_B = \frac{\Sigma}{B} \quad\text{(with replacement)}, \qquad
              \frac{\Sigma}{B}\,\frac{n - B}{n - 1} \quad\text{(without)},

    so that :math:`g_B = \nabla L + \eta` with :math:`\eta` of mean zero and covariance shrinking as 1/B.

    Parameters
    ----------
    per_example_grads : array, shape (..., n, dim)
    batch_size : int, 1 <= B (<= n without replacement)
    replace : bool

    Returns
    -------
    Array of shape ``(..., dim, dim)``.

    Reference: Mandt, Hoffman & Blei (2017), sec. 3; any sampling text for the finite-population factor.
    """
    g = _checks.finite_array("per_example_grads", per_example_grads, ndim_min=2)
    n = g.shape[-2]
    b = _checks.count("batch_size", batch_size, minimum=1)
    if not replace and b > n:
        raise ValueError(f"batch_size must be <= n = {n} without replacement, got {batch_size!r}")
    d = g - g.mean(axis=-2, keepdims=True)
    sigma = np.einsum("...ni,...nj->...ij", d, d) / n
    if replace:
        return sigma / b
    return sigma / b * ((n - b) / (n - 1) if n > 1 else 0.0)


def _rate_at(name: str, rate, k: int) -> float:
    value = rate(k) if callable(rate) else rate
    try:
        r = float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a real number or a callable returning one, got {value!r}") from err
    if not np.isfinite(r) or r <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r} at step {k}")
    return r


def _check_rate(name: str, rate):
    if callable(rate):
        return rate
    return _checks.positive(name, rate)


def minibatch_sgd(
    batch_grad: Callable[[Array, Array], Array],
    n_data: int,
    theta0,
    *,
    lr: float | Schedule,
    batch_size: int,
    steps: int,
    rng: np.random.Generator,
    trace: bool = False,
) -> Array:
    r"""Mini-batch stochastic gradient descent, vectorised over independent chains.

    .. math:: \theta_{k+1} = \theta_k - \gamma_k\, \frac1B \sum_{i \in \mathcal{B}_k} \nabla \ell_i(\theta_k),

    each chain drawing its own batch :math:`\mathcal{B}_k` of B indices uniformly *with replacement*
    (``rng.integers(0, n_data, size=(n_chains, B))``, once per step). Writing the mini-batch gradient as
    :math:`\nabla L + \eta_k`, this is :func:`overdamped` with :math:`\delta = \gamma` and the Gaussian
    noise :math:`\sqrt{2T\delta}\,\xi` replaced by :math:`-\gamma\eta_k`.

    Parameters
    ----------
    batch_grad : callable ``(theta (n_chains, dim), idx (n_chains, B)) -> (n_chains, dim)``
        The mean gradient over the examples ``idx`` for each chain.
    n_data : int >= 1
    theta0 : array, shape (n_chains, dim)
    lr : float > 0 or callable ``k -> lr_k``
    batch_size : int >= 1
    steps : int >= 0
    rng : numpy.random.Generator
    trace : bool
        Return all iterates, shape ``(steps + 1, n_chains, dim)``.

    Returns
    -------
    Final iterates (or the trace); diverged chains are nan.

    Reference: Robbins & Monro (1951); Bottou, Curtis & Nocedal (2018).
    """
    _checks.function("batch_grad", batch_grad)
    n = _checks.count("n_data", n_data, minimum=1)
    x = _states("theta0", theta0)
    lr = _check_rate("lr", lr)
    b = _checks.count("batch_size", batch_size, minimum=1)
    steps = _checks.count("steps", steps)
    rng = _checks.generator("rng", rng)
    out = np.empty((steps + 1, *x.shape)) if trace else None
    if trace:
        out[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            idx = rng.integers(0, n, size=(x.shape[0], b))
            g = _gradient(lambda z, idx=idx: batch_grad(z, idx), x)
            x = x - _rate_at("lr", lr, k) * g
            _kill_nonfinite(x)
            if trace:
                out[k + 1] = x
    return out if trace else x


def sgld(
    grad_log_prior: Grad,
    grad_log_lik: Callable[[Array, Array], Array],
    n_data: int,
    theta0,
    *,
    step: float | Schedule,
    batch_size: int,
    steps: int,
    rng: np.random.Generator,
    trace: bool = False,
) -> Array:
    r"""Stochastic gradient Langevin dynamics (Welling & Teh, 2011), vectorised over chains.

    .. math:: \theta_{k+1} = \theta_k + \frac{\epsilon_k}{2}\Big(\nabla\log p(\theta_k)
              + \frac{N}{B}\sum_{i\in\mathcal{B}_k} \nabla\log p(x_i\mid\theta_k)\Big) + \sqrt{\epsilon_k}\,\xi_k,

    i.e. :func:`overdamped` on the energy :math:`E = -\log p(\theta \mid x_{1:N})` at temperature 1 with
    step :math:`\epsilon/2`, its gradient estimated on a mini-batch. Per step, the batch indices are
    drawn first (``rng.integers(0, N, size=(n_chains, B))``, with replacement), then
    ``rng.standard_normal(theta.shape)``. With steps :math:`\epsilon_k \to 0`,
    :math:`\sum\epsilon_k = \infty`, :math:`\sum \epsilon_k^2 < \infty` the samples follow the posterior.

    Parameters
    ----------
    grad_log_prior : callable ``(n_chains, dim) -> (n_chains, dim)``
    grad_log_lik : callable ``(theta, idx (n_chains, B)) -> (n_chains, dim)``
        The *sum* over the batch of :math:`\nabla_\theta \log p(x_i \mid \theta)`.
    n_data : int >= 1, the data set size N
    theta0 : array, shape (n_chains, dim)
    step : float > 0 or callable ``k -> epsilon_k``
    batch_size : int >= 1
    steps : int >= 0
    rng : numpy.random.Generator
    trace : bool

    Returns
    -------
    Final samples (or the trace, shape ``(steps + 1, n_chains, dim)``); diverged chains are nan.

    Reference: Welling & Teh (2011), eq. (4).
    """
    _checks.function("grad_log_prior", grad_log_prior)
    _checks.function("grad_log_lik", grad_log_lik)
    n = _checks.count("n_data", n_data, minimum=1)
    x = _states("theta0", theta0)
    step = _check_rate("step", step)
    b = _checks.count("batch_size", batch_size, minimum=1)
    steps = _checks.count("steps", steps)
    rng = _checks.generator("rng", rng)
    out = np.empty((steps + 1, *x.shape)) if trace else None
    if trace:
        out[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            eps = _rate_at("step", step, k)
            idx = rng.integers(0, n, size=(x.shape[0], b))
            drift = _gradient(grad_log_prior, x) + (n / b) * _gradient(lambda z, idx=idx: grad_log_lik(z, idx), x)
            x = x + 0.5 * eps * drift + np.sqrt(eps) * rng.standard_normal(x.shape)
            _kill_nonfinite(x)
            if trace:
                out[k + 1] = x
    return out if trace else x


# ----------------------------------------------------------------------------------------------------
# Lyapunov equations: the stationary covariance of SGD on a quadratic


def _square(name: str, value) -> Array:
    a = _checks.finite_array(name, value)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {a.shape}")
    return a


def lyapunov(a, q) -> Array:
    r"""Solve the continuous Lyapunov equation :math:`A S + S A^\top = Q` for S.

    Vectorised row-wise, :math:`\operatorname{vec}(A S + S A^\top) = (A \otimes I + I \otimes A)\operatorname{vec} S`,
    a linear system of size :math:`d^2` solved directly (fine for the small d of this book). A unique
    solution exists when no two eigenvalues of A sum to zero (e.g. A positive definite).

    Reference: Bartels & Stewart (1972) for the large-d algorithm; here the Kronecker form.
    """
    a = _square("a", a)
    q = _square("q", q)
    if q.shape != a.shape:
        raise ValueError(f"q must have the shape of a {a.shape}, got {q.shape}")
    eye = np.eye(a.shape[0])
    op = np.kron(a, eye) + np.kron(eye, a)
    try:
        s = np.linalg.solve(op, q.reshape(-1)).reshape(a.shape)
    except np.linalg.LinAlgError as err:
        raise ValueError("a has two eigenvalues summing to zero: the Lyapunov equation is singular") from err
    return 0.5 * (s + s.T) if np.allclose(q, q.T) else s


def discrete_lyapunov(a, q) -> Array:
    r"""Solve the discrete Lyapunov (Stein) equation :math:`S = A S A^\top + Q`.

    :math:`(I - A \otimes A)\operatorname{vec} S = \operatorname{vec} Q`; the stationary covariance of
    the linear recursion :math:`x_{k+1} = A x_k + w_k`, :math:`\operatorname{Cov} w_k = Q`, when the
    spectral radius of A is below 1.
    """
    a = _square("a", a)
    q = _square("q", q)
    if q.shape != a.shape:
        raise ValueError(f"q must have the shape of a {a.shape}, got {q.shape}")
    if np.max(np.abs(np.linalg.eigvals(a))) >= 1:
        raise ValueError("a must have spectral radius < 1 for a stationary covariance to exist")
    op = np.eye(a.size) - np.kron(a, a)
    s = np.linalg.solve(op, q.reshape(-1)).reshape(a.shape)
    return 0.5 * (s + s.T) if np.allclose(q, q.T) else s


def sgd_stationary_covariance(hessian, noise_cov, *, lr: float, batch_size: int = 1, exact: bool = False) -> Array:
    r"""Stationary covariance of SGD on a quadratic with gradient noise of covariance ``noise_cov / B``.

    Near a minimum with Hessian H, SGD reads
    :math:`\theta_{k+1} = \theta_k - \gamma H \theta_k - \gamma \eta_k`, :math:`\operatorname{Cov}\eta = C/B`.
    Mandt, Hoffman & Blei (2017) approximate it by an Ornstein--Uhlenbeck process whose stationary
    covariance S solves

    .. math:: H S + S H = \frac{\gamma}{B}\, C ;

    with ``exact=True`` the discrete recursion is solved instead,
    :math:`S = (I - \gamma H) S (I - \gamma H)^\top + \gamma^2 C / B`, which differs at order
    :math:`\gamma^2`. When :math:`C = \sigma^2 I` the continuous answer is the Boltzmann covariance
    :math:`T_\text{eff} H^{-1}` with :math:`T_\text{eff} = \gamma\sigma^2/(2B)`.

    Reference: Mandt, Hoffman & Blei (2017), eq. (13).
    """
    h = _square("hessian", hessian)
    c = _square("noise_cov", noise_cov)
    if c.shape != h.shape:
        raise ValueError(f"noise_cov must have the shape of hessian {h.shape}, got {c.shape}")
    lr = _checks.positive("lr", lr)
    b = _checks.count("batch_size", batch_size, minimum=1)
    if exact:
        return discrete_lyapunov(np.eye(h.shape[0]) - lr * h, lr**2 * c / b)
    return lyapunov(h, lr * c / b)


# ----------------------------------------------------------------------------------------------------
# a sharp and a flat minimum of equal depth for the loss that is trained


class ShiftedSharpFlat(Landscape):
    r"""A data set of shifted sharp-and-flat losses whose *average* has two minima of equal depth (1-D).

    Example :math:`i` has the loss :math:`\ell_i(\theta) = E(\theta - u_i) + c\,\theta`, with :math:`E` the
    sharp-and-flat landscape :class:`gdlens.flows.SharpFlat` (curvatures :math:`\lambda_s` at
    :math:`-1` and :math:`\lambda_f` at :math:`+1`, both of depth 0) and the shifts :math:`u_i` given. The
    loss that is trained is the average

    .. math:: L(\theta) = \frac1n \sum_{i=1}^n E(\theta - u_i) + c\,\theta ,

    a smoothed copy of :math:`E`: averaging raises a sharp minimum by about :math:`\lambda_s \operatorname{Var}u/2`
    and a flat one by :math:`\lambda_f \operatorname{Var}u/2`, so :math:`E`'s equal depths are not
    :math:`L`'s. The tilt :math:`c`, common to every example (it adds nothing to the gradient noise), is
    solved for so that :math:`L`'s two minima are equally deep (``equalize=True``; ``c = 0`` otherwise):
    by the fixed point :math:`c = -\big(L_0(\theta_s) - L_0(\theta_f)\big)/(\theta_s - \theta_f)` with
    the minima :math:`\theta_s, \theta_f` of :math:`L_c` recomputed at every iterate. In one dimension
    equal depths also mean equal barriers: both wells share the one saddle.

    The mini-batch gradient noise at :math:`\theta` has variance :math:`\operatorname{Var}_i \ell_i'(\theta)/B`,
    about :math:`\lambda^2 \operatorname{Var}u / B` in a well of curvature :math:`\lambda`: it is large in
    the sharp minimum and small in the flat one.

    Parameters
    ----------
    shifts : 1-D array of n >= 2 finite numbers
    sharpness, flatness : the curvatures :math:`\lambda_s > \lambda_f > 0` of :math:`E`
    equalize : bool

    Reference: the sharp/flat picture of Keskar et al. (2017) and Zhu et al. (2019).
    """

    def __init__(self, shifts, *, sharpness: float = 20.0, flatness: float = 1.0, equalize: bool = True):
        from gdlens.flows import SharpFlat

        u = _checks.finite_array("shifts", shifts)
        if u.ndim != 1 or u.size < 2:
            raise ValueError(f"shifts must be a 1-D array of at least 2 numbers, got shape {u.shape}")
        equalize = _checks.flag("equalize", equalize)
        self.base = SharpFlat(sharpness, flatness)
        self.shifts = u.copy()
        self.dim = 1
        self.tilt = 0.0
        if equalize:
            for _ in range(30):  # Newton on the depth gap: d(gap)/dc = theta_s - theta_f (envelope theorem)
                s, _, f = self._stationary()
                gap = self._untilted(s) - self._untilted(f) + self.tilt * (s - f)
                if abs(gap) <= 1e-13:
                    break
                self.tilt -= gap / (s - f)
            else:  # pragma: no cover - Newton converges in a few steps for any sensible shifts
                raise ValueError("could not equalise the depths: the shifts wash out one of the minima")
        s, top, f = self._stationary()
        self.sharp_minimum, self.saddle, self.flat_minimum = np.array([s]), np.array([top]), np.array([f])
        self._table = None

    def fast_grad(self, x):
        r"""L' by linear interpolation in a table of 6001 points on [-3, 3] (exact outside).

        The table (built on the first call) has spacing :math:`h = 10^{-3}`, so the interpolation
        error is at most :math:`h^2 \max|L^{(3)}|/8`, below :math:`10^{-5}` for third derivatives up to 80;
        it costs one ``np.interp`` instead of a sum over the n examples. Use it to run many chains on L.
        """
        x = self._points(x)
        if self._table is None:
            grid = np.linspace(-3.0, 3.0, 6001)
            self._table = (grid, self.grad(grid[:, None])[:, 0])
        out = np.interp(x[..., 0], *self._table)[..., None]
        outside = np.abs(x[..., 0]) > 3.0
        if np.any(outside):
            out[outside] = self.grad(x[outside])
        return out

    def _untilted(self, t: float) -> float:
        return float(np.mean(self.base.value((t - self.shifts)[:, None])))

    def _stationary(self) -> tuple[float, float, float]:
        """The sharp minimum, the saddle and the flat minimum of L (sign changes of L' on a grid, refined)."""
        from scipy.optimize import brentq

        grid = np.linspace(-2.5, 2.5, 501)
        g = self.grad(grid[:, None])[:, 0]
        idx = np.nonzero(np.sign(g[:-1]) != np.sign(g[1:]))[0]
        if idx.size != 3:
            raise ValueError(
                f"the averaged loss must keep two minima and one saddle in [-2.5, 2.5], found {idx.size} "
                "stationary points: the shifts are too wide for the sharp minimum"
            )
        f1 = lambda t: float(self.grad(np.array([[t]]))[0, 0])  # noqa: E731
        s, top, f = (brentq(f1, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-15) for i in idx)
        return s, top, f

    def _base_grad(self, d: Array) -> Array:
        """E'(d) of the 1-D sharp-and-flat landscape, elementwise (fewer temporaries than SharpFlat.grad)."""
        us, uf = d + 1.0, d - 1.0
        qs, qf = 0.5 * self.base.sharpness * us * us, 0.5 * self.base.flatness * uf * uf
        s = qs + qf
        return (qf * qf * self.base.sharpness * us + qs * qs * self.base.flatness * uf) / (s * s)

    def value(self, x):
        x = self._points(x)
        d = x[..., None, :] - self.shifts[:, None]
        return np.mean(self.base.value(d), axis=-1) + self.tilt * x[..., 0]

    def grad(self, x):
        x = self._points(x)
        return np.mean(self._base_grad(x[..., :1] - self.shifts), axis=-1, keepdims=True) + self.tilt

    def hess(self, x):
        x = self._points(x)
        d = x[..., None, :] - self.shifts[:, None]
        return np.mean(self.base.hess(d), axis=-3)

    @property
    def depths(self) -> tuple[float, float]:
        """L at (the sharp minimum, the flat minimum): equal when ``equalize``."""
        return float(self.value(self.sharp_minimum)), float(self.value(self.flat_minimum))

    @property
    def barriers(self) -> tuple[float, float]:
        """L(saddle) minus L at (the sharp minimum, the flat minimum)."""
        top = float(self.value(self.saddle))
        ds, df = self.depths
        return top - ds, top - df

    @property
    def curvatures(self) -> tuple[float, float]:
        """L'' at (the sharp minimum, the flat minimum)."""
        return float(self.hess(self.sharp_minimum)[0, 0]), float(self.hess(self.flat_minimum)[0, 0])

    def per_example_grads(self, x) -> Array:
        r""":math:`\ell_i'(\theta)` for every example: shape ``(..., n, 1)``."""
        x = self._points(x)
        return self._base_grad(x[..., :1] - self.shifts)[..., None] + self.tilt

    def noise_variance(self, x) -> Array:
        r"""The single-example gradient noise variance :math:`\frac1n\sum_i (\ell_i' - L')^2` at x: shape ``(...)``."""
        return np.var(self.per_example_grads(x)[..., 0], axis=-1)

    def batch_grad(self, theta, idx) -> Array:
        r"""The mean gradient of each chain's batch: ``theta`` (n_chains, 1), ``idx`` (n_chains, B) -> (n_chains, 1)."""
        theta = np.asarray(theta, dtype=np.float64)
        d = theta[:, :1] - self.shifts[np.asarray(idx)]
        return self._base_grad(d).mean(axis=1, keepdims=True) + self.tilt


# ----------------------------------------------------------------------------------------------------
# the exact second moment of SGD on least squares


def sgd_second_moment(
    features,
    residuals,
    *,
    lr: float,
    batch_size: int = 1,
    steps: int | None = None,
    preconditioner=None,
) -> Array:
    r"""The exact second moment :math:`M_k = \mathbb{E}\,(\theta_k - \theta^\star)(\theta_k - \theta^\star)^\top`
    of mini-batch SGD on least squares, started at :math:`\theta^\star`: no Gaussian or additive-noise model.

    With rows :math:`a_i` of the design and residuals :math:`r_i = y_i - a_i^\top\theta^\star` at the
    minimiser (so :math:`\sum_i a_i r_i = 0`), the error :math:`e = \theta - \theta^\star` of
    :math:`\theta_{k+1} = \theta_k - \gamma P g_B(\theta_k)`, batches of B indices drawn with replacement, obeys

    .. math:: e_{k+1} = (I - \gamma P A_B)\, e_k + \gamma P b_B, \qquad
              A_B = \frac1B\sum_{j\in\mathcal B} a_j a_j^\top,\quad b_B = \frac1B\sum_{j\in\mathcal B} a_j r_j .

    Its mean stays 0, and, the batch being independent of :math:`e_k`,

    .. math:: M_{k+1} = M_k - \gamma (P H M_k + M_k H P) + \gamma^2 P\Big(\frac1B K(M_k)
              + \big(1 - \tfrac1B\big) H M_k H\Big) P + \frac{\gamma^2}{B} P \Sigma P,

    with :math:`H = \frac1n\sum a_i a_i^\top`, :math:`K(M) = \frac1n\sum_i a_i a_i^\top M a_i a_i^\top`
    (the multiplicative, state-dependent part of the noise) and :math:`\Sigma = \frac1n\sum_i r_i^2 a_i a_i^\top`.
    Dropping the :math:`\gamma^2` terms in M gives the Lyapunov equation of
    :func:`sgd_stationary_covariance`; keeping only :math:`HMH` gives its ``exact=True`` (additive noise).

    Parameters
    ----------
    features : array (n, d), the rows :math:`a_i`
    residuals : array (n,), :math:`r_i` at the minimiser (:math:`\sum a_i r_i = 0` to rounding)
    lr : float > 0, the learning rate :math:`\gamma`
    batch_size : int >= 1
    steps : int >= 0, or None for the stationary second moment (the fixed point, solved as a linear system
        in the :math:`d^2` entries; ValueError if the recursion does not contract)
    preconditioner : symmetric (d, d) array P, or None for the identity

    Returns
    -------
    :math:`M_k` (or its fixed point), shape (d, d).

    Reference: the moment recursion of SGD on least squares, e.g. Bach & Moulines (2013), sec. 3;
    Mandt, Hoffman & Blei (2017) for the Lyapunov approximation it refines.
    """
    a = _checks.finite_array("features", features)
    if a.ndim != 2 or a.shape[0] < 1:
        raise ValueError(f"features must have shape (n, d), got {a.shape}")
    r = _checks.finite_array("residuals", residuals)
    if r.shape != (a.shape[0],):
        raise ValueError(f"residuals must have shape ({a.shape[0]},), got {r.shape}")
    lr = _checks.positive("lr", lr)
    b = _checks.count("batch_size", batch_size, minimum=1)
    if steps is not None:
        steps = _checks.count("steps", steps)
    n, d = a.shape
    p = np.eye(d) if preconditioner is None else _square("preconditioner", preconditioner)
    if p.shape != (d, d) or not np.allclose(p, p.T):
        raise ValueError(f"preconditioner must be a symmetric ({d}, {d}) matrix, got shape {p.shape}")
    gbar = a.T @ r / n
    scale = np.sqrt(np.mean(r**2) * np.mean(np.sum(a**2, axis=1)))
    if np.linalg.norm(gbar) > 1e-8 * max(scale, 1e-300):
        raise ValueError("residuals must be those at the minimiser: sum_i a_i r_i = 0 (the mean gradient)")
    h = a.T @ a / n
    sigma = (a * (r**2)[:, None]).T @ a / n
    q = lr**2 / b * p @ sigma @ p
    eye = np.eye(d)
    # the linear map M -> M_{k+1} - Q in Kronecker (row-major vec) form: vec(X M Y) = (X kron Y^T) vec M
    ph = p @ h
    k4 = np.einsum("ni,nj,nk,nl->ijkl", a, a, a, a).reshape(d * d, d * d) / n  # vec(K(M)) = k4 vec(M)
    pp = np.kron(p, p)
    op = (
        np.kron(eye, eye)
        - lr * (np.kron(ph, eye) + np.kron(eye, ph))
        + lr**2 * pp @ (k4 / b + (1 - 1 / b) * np.kron(h, h))
    )
    if steps is None:
        if np.max(np.abs(np.linalg.eigvals(op))) >= 1:
            raise ValueError(
                f"the second moment does not converge at lr={lr!r}, batch_size={b}: SGD diverges in mean square"
            )
        m = np.linalg.solve(np.eye(d * d) - op, q.reshape(-1)).reshape(d, d)
    else:
        m = np.zeros(d * d)
        for _ in range(steps):
            m = op @ m + q.reshape(-1)
        m = m.reshape(d, d)
    return 0.5 * (m + m.T)


# ----------------------------------------------------------------------------------------------------
# watching chains cross a barrier


def crossing_record(
    grad_energy: Grad,
    x0,
    *,
    step: float,
    temperature: float | Schedule,
    steps: int,
    rng: np.random.Generator,
    boundary: float,
    window: int,
) -> tuple[Array, Array, Array, Array]:
    r"""Run :func:`overdamped` and record, per window of steps, where the chains are and how often they cross.

    The chains' first coordinate is compared with ``boundary`` (a saddle): a chain is *right* when
    :math:`x_1 > \text{boundary}`. The run is the same as one call of :func:`overdamped` with the same
    arguments (the same draws, in the same order); it is taken window by window so that no full trace is
    stored.

    Returns
    -------
    (t, right, rate, x) : the time :math:`t = k\gamma` at the end of each window; the fraction of chains
    on the right there; the crossing rate in the window (crossings of the boundary per chain per unit of
    time, counting every step at which a chain changes side); and the final states.
    """
    x = _states("x0", x0)
    step = _checks.positive("step", step)
    temperature = _check_temperature(temperature)
    steps = _checks.count("steps", steps, minimum=1)
    window = _checks.count("window", window, minimum=1)
    if steps % window:
        raise ValueError(f"steps ({steps}) must be a multiple of window ({window})")
    boundary = _checks.real("boundary", boundary)
    rng = _checks.generator("rng", rng)
    n_win = steps // window
    t, right, rate = np.empty(n_win), np.empty(n_win), np.empty(n_win)
    for j in range(n_win):
        k0 = j * window
        sched = (lambda k, k0=k0: temperature(k + k0)) if callable(temperature) else temperature
        xs = overdamped(grad_energy, x, step=step, temperature=sched, steps=window, rng=rng, trace=True)
        side = xs[:, :, 0] > boundary
        rate[j] = np.count_nonzero(side[1:] != side[:-1]) / (x.shape[0] * window * step)
        x = xs[-1]
        t[j], right[j] = (k0 + window) * step, side[-1].mean()
    return t, right, rate, x
