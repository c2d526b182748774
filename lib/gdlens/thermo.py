r"""Thermodynamics on a grid and out of equilibrium: energy, entropy, free energy, relaxation, work.

Densities on a grid. A density is sampled at the points of a tensor grid (one strictly increasing 1-D
axis per coordinate) and integrated with the trapezoidal rule, whose weights :math:`w_i > 0` are
returned by :func:`quadrature_weights`. With these weights the discrete functionals keep the exact
structure of the continuous ones: the discrete Boltzmann law :math:`p_i \propto e^{-E_i/T}`,
normalised so that :math:`\sum_i w_i p_i = 1` (as :func:`gdlens.langevin.boltzmann_density` does),
minimises the discrete free energy, and

.. math:: F[p] - F[p_\text{eq}] = T\, \mathrm{KL}(p \,\|\, p_\text{eq})

holds to rounding for every normalised p. A density array has shape ``(..., n_1, ..., n_d)``: leading
axes hold several densities at once.

Relaxation. :func:`quadratic_langevin_law` gives the exact Gaussian law, step by step, of the
overdamped Langevin chain (:func:`gdlens.langevin.overdamped`) on a quadratic energy, so that the decay
of :math:`\mathrm{KL}(p_k \,\|\, p_\text{eq})` can be computed exactly; :func:`binned_kl` estimates it
from an ensemble of particles, with its bias stated. :func:`relaxation_spectrum` discretises the 1-D
Fokker--Planck operator as a jump process in detailed balance with the grid's Boltzmann law, so that its
spectral gap and the exact evolution :math:`p_t` are available; :func:`relative_fisher_information` gives the
H-theorem's dissipation, :math:`\tfrac{d}{dt}\mathrm{KL}(p_t\|p_\text{eq}) = -T\int p_t|\nabla\log(p_t/p_\text{eq})|^2`,
and :func:`kramers_rate` the high-barrier escape rate.

Bayes. :func:`gaussian_free_energy` and :func:`monte_carlo_elbo` show variational inference as the
minimisation of the free energy of a distribution over the weights, :math:`F[q] = -T\,\mathrm{ELBO}(q)` at
:math:`T = 1/n` when the loss is the mean negative log-likelihood plus the negative log-prior over n.

Out of equilibrium. :func:`jarzynski_work` drags particles with a harmonic trap whose centre and
stiffness follow a protocol and records the work done on each; :func:`jarzynski_estimate`,
:func:`crooks_log_ratio` and :func:`bennett_free_energy` turn work samples into free-energy differences.

References: Gibbs, *Elementary Principles in Statistical Mechanics* (1902); Cover & Thomas,
*Elements of Information Theory* (2006); Risken, *The Fokker--Planck Equation* (1989); Kramers (1940);
Jarzynski (1997); Crooks (1998, 1999); Bennett (1976); Blei, Kucukelbir & McAuliffe (2017).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gdlens import _checks
from gdlens.langevin import discrete_lyapunov, overdamped

Array = np.ndarray

__all__ = [
    "quadrature_weights",
    "grid_points",
    "normalize",
    "entropy",
    "mean_energy",
    "free_energy",
    "log_partition",
    "equilibrium_free_energy",
    "kl_divergence",
    "sample_density_1d",
    "gaussian_kl",
    "harmonic_free_energy",
    "gibbs_linear_regression",
    "bayes_linear_regression",
    "bayes_temperature",
    "quadratic_langevin_law",
    "quadratic_langevin_stationary",
    "boltzmann_bin_probabilities",
    "binned_kl",
    "jarzynski_work",
    "jarzynski_estimate",
    "crooks_log_ratio",
    "bennett_free_energy",
    "fokker_planck_generator",
    "RelaxationSpectrum",
    "relaxation_spectrum",
    "relative_fisher_information",
    "kramers_rate",
    "bennett_standard_error",
    "crooks_line",
    "gaussian_free_energy",
    "monte_carlo_elbo",
]

#: how far a density may be from integrating to one before it is rejected
NORMALISATION_TOL = 1e-6


# ----------------------------------------------------------------------------------------------------
# grids and quadrature


def _axes(grid) -> list[Array]:
    if isinstance(grid, np.ndarray) and grid.ndim == 1:
        grid = [grid]
    elif not isinstance(grid, list | tuple):
        raise TypeError(f"grid must be a 1-D array or a sequence of 1-D arrays, got {grid!r}")
    axes = []
    for i, a in enumerate(grid):
        a = _checks.finite_array(f"grid[{i}]", a)
        if a.ndim != 1 or a.size < 2 or np.any(np.diff(a) <= 0):
            raise ValueError(f"grid[{i}] must be a strictly increasing 1-D array of >= 2 points, got {a!r}")
        axes.append(a)
    if not axes:
        raise ValueError("grid must have at least one axis")
    return axes


def quadrature_weights(grid) -> Array:
    r"""Trapezoidal weights :math:`w` on a tensor grid, so that :math:`\int f \approx \sum_i w_i f(x_i)`.

    Parameters
    ----------
    grid : 1-D array, or a sequence of ``d`` strictly increasing 1-D arrays

    Returns
    -------
    Array of shape ``(n_1, ..., n_d)``, the outer product of the 1-D trapezoidal weights
    :math:`w_j = (x_{j+1} - x_{j-1})/2` (halved spacings at the two ends). All weights are positive.
    """
    w = np.ones(())
    for a in _axes(grid):
        h = np.diff(a)
        wa = np.zeros_like(a)
        wa[:-1] += h / 2
        wa[1:] += h / 2
        w = np.multiply.outer(w, wa)
    return w


def grid_points(grid) -> Array:
    """The points of a tensor grid, shape ``(n_1, ..., n_d, d)`` (``indexing="ij"``)."""
    axes = _axes(grid)
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def _grid_shape(w: Array, name: str, p) -> Array:
    p = _checks.finite_array(name, p)
    if p.shape[p.ndim - w.ndim :] != w.shape or p.ndim < w.ndim:
        raise ValueError(f"{name} must have trailing shape {w.shape} (the grid), got shape {p.shape}")
    if np.any(p < 0):
        raise ValueError(f"{name} must be non-negative, got minimum {p.min()!r}")
    return p


def _integrate(w: Array, f: Array) -> Array:
    axes = tuple(range(f.ndim - w.ndim, f.ndim))
    return np.sum(w * f, axis=axes)


def _normalised(w: Array, name: str, p) -> Array:
    p = _grid_shape(w, name, p)
    mass = _integrate(w, p)
    if np.any(np.abs(mass - 1) > NORMALISATION_TOL):
        raise ValueError(
            f"{name} must integrate to 1 on the grid (use normalize), "
            f"got integrals from {mass.min()!r} to {mass.max()!r}"
        )
    return p


def _energy_values(energy: Callable[[Array], Array], grid) -> Array:
    _checks.function("energy", energy)
    points = grid_points(grid)
    e = np.asarray(energy(points), dtype=np.float64)
    if e.shape != points.shape[:-1]:
        raise ValueError(f"energy must map points of shape {points.shape} to {points.shape[:-1]}, got {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("energy must be finite on the grid")
    return e


def _xlogy(x: Array, y: Array) -> Array:
    """x log y with 0 log y = 0 (no warning)."""
    safe = np.where(x > 0, y, 1.0)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(safe), 0.0)


def normalize(p, grid) -> Array:
    r"""Divide a non-negative function on the grid by its integral: :math:`p / \sum_i w_i p_i`.

    Raises ``ValueError`` if some density along the leading axes has zero mass.
    """
    w = quadrature_weights(grid)
    p = _grid_shape(w, "p", p)
    mass = _integrate(w, p)
    if np.any(mass <= 0):
        raise ValueError("p must have positive mass on the grid")
    return p / np.reshape(mass, mass.shape + (1,) * w.ndim)


# ----------------------------------------------------------------------------------------------------
# entropy, energy, free energy


def entropy(p, grid) -> Array:
    r"""The Gibbs--Shannon (differential) entropy of a density on a grid.

    .. math:: S[p] = -\int p \log p \, dx \approx -\sum_i w_i\, p_i \log p_i, \qquad 0 \log 0 = 0.

    Parameters
    ----------
    p : array, shape ``(..., n_1, ..., n_d)``
        Non-negative and normalised, :math:`\sum_i w_i p_i = 1` (see :func:`normalize`).
    grid : 1-D array or sequence of 1-D arrays

    Returns
    -------
    Array of shape ``p.shape[:-d]`` (a float for a single density). In nats.

    Reference: Gibbs (1902), ch. XI; Shannon (1948); Cover & Thomas (2006), ch. 8.
    """
    w = quadrature_weights(grid)
    p = _normalised(w, "p", p)
    return -_integrate(w, _xlogy(p, p))


def mean_energy(energy: Callable[[Array], Array], p, grid) -> Array:
    r"""The mean energy :math:`\langle E \rangle_p = \int E\, p\, dx \approx \sum_i w_i E(x_i) p_i`.

    ``energy`` maps points ``(..., d)`` to values ``(...)`` (a :class:`~gdlens.landscapes.Landscape`'s
    ``value``); ``p`` is as in :func:`entropy`.
    """
    w = quadrature_weights(grid)
    e = _energy_values(energy, grid)
    p = _normalised(w, "p", p)
    return _integrate(w, e * p)


def free_energy(energy: Callable[[Array], Array], p, grid, *, temperature: float) -> Array:
    r"""The (Helmholtz) free energy of a density: energy minus temperature times entropy.

    .. math:: F[p] = \langle E \rangle_p - T\, S[p] = \int E\, p\, dx + T \int p \log p \, dx .

    Among normalised densities it is smallest at the Boltzmann law :math:`p_\text{eq} = e^{-E/T}/Z`,
    where it equals :math:`-T \log Z` (:func:`equilibrium_free_energy`); in general
    :math:`F[p] = -T\log Z + T\,\mathrm{KL}(p \,\|\, p_\text{eq})`, also on the grid.

    Parameters
    ----------
    energy : callable ``(..., d) -> (...)``
    p : array ``(..., n_1, ..., n_d)``, non-negative and normalised on the grid
    grid : 1-D array or sequence of 1-D arrays
    temperature : float >= 0

    Returns
    -------
    Array of shape ``p.shape[:-d]``.

    Reference: Gibbs (1902); Jordan, Kinderlehrer & Otto (1998) for F as the Lyapunov function of the
    Fokker--Planck equation.
    """
    T = _checks.positive("temperature", temperature, allow_zero=True)
    w = quadrature_weights(grid)
    e = _energy_values(energy, grid)
    p = _normalised(w, "p", p)
    return _integrate(w, e * p) + T * _integrate(w, _xlogy(p, p))


def log_partition(energy: Callable[[Array], Array], grid, *, temperature: float) -> float:
    r"""The log partition function :math:`\log Z = \log \int e^{-E(x)/T} dx` on a grid (trapezoidal rule).

    Computed as :math:`-E_{\min}/T + \log \sum_i w_i e^{-(E_i - E_{\min})/T}`, free of overflow and
    underflow at any temperature. The grid must cover the mass of the law.
    """
    T = _checks.positive("temperature", temperature)
    w = quadrature_weights(grid)
    e = _energy_values(energy, grid)
    lo = e.min()
    return float(-lo / T + np.log(np.sum(w * np.exp(-(e - lo) / T))))


def equilibrium_free_energy(energy: Callable[[Array], Array], grid, *, temperature: float) -> float:
    r"""The equilibrium free energy :math:`F_\text{eq} = -T \log Z`, :math:`Z = \int e^{-E/T} dx`.

    It equals :func:`free_energy` of the Boltzmann density, and :math:`-\partial F_\text{eq}/\partial T`
    is the equilibrium entropy.

    Reference: Gibbs (1902), ch. IV.
    """
    return -float(temperature) * log_partition(energy, grid, temperature=temperature)


def kl_divergence(p, q, grid) -> Array:
    r"""The Kullback--Leibler divergence between two densities on the same grid.

    .. math:: \mathrm{KL}(p \,\|\, q) = \int p \log\frac{p}{q}\, dx \approx \sum_i w_i\, p_i \log\frac{p_i}{q_i},

    with :math:`0 \log(0/q) = 0`; it is ``inf`` if p has mass where q vanishes. Both densities must be
    normalised on the grid (:func:`normalize`); they broadcast along their leading axes.

    Reference: Kullback & Leibler (1951); Cover & Thomas (2006), sec. 8.5.
    """
    w = quadrature_weights(grid)
    p = _normalised(w, "p", p)
    q = _normalised(w, "q", q)
    p, q = np.broadcast_arrays(p, q)
    if np.any((p > 0) & (q == 0)):
        bad = np.any((p > 0) & (q == 0), axis=tuple(range(p.ndim - w.ndim, p.ndim)))
        safe = np.where(q > 0, q, 1.0)
        out = _integrate(w, _xlogy(p, p) - _xlogy(p, safe))
        return np.where(bad, np.inf, out)
    return _integrate(w, _xlogy(p, p) - _xlogy(p, q))


def sample_density_1d(p, grid, n: int, *, rng: np.random.Generator) -> Array:
    r"""Draw ``n`` samples from a density tabulated on a 1-D grid, by inverting its CDF.

    The density is taken piecewise linear between the grid points, its CDF
    :math:`C(x_j) = \sum_{i<j} \tfrac12 (p_i + p_{i+1})(x_{i+1} - x_i)` is interpolated linearly, and
    :math:`x = C^{-1}(u)` with :math:`u \sim U(0, C(x_{\max}))` drawn as ``rng.uniform(0, C_max, n)``.
    ``p`` need not be normalised. Returns an array of shape (n,).

    Reference: Devroye, *Non-Uniform Random Variate Generation* (1986), sec. II.2.
    """
    x = _axes(grid)
    if len(x) != 1:
        raise ValueError(f"grid must be one 1-D array, got {len(x)} axes")
    x = x[0]
    p = _grid_shape(np.ones(x.size), "p", p)
    if p.ndim != 1:
        raise ValueError(f"p must be 1-D, got shape {p.shape}")
    n = _checks.count("n", n, minimum=1)
    rng = _checks.generator("rng", rng)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))])
    if cdf[-1] <= 0:
        raise ValueError("p must have positive mass on the grid")
    return np.interp(rng.uniform(0.0, cdf[-1], n), cdf, x)


def _mean_cov(mean_name: str, mean, cov_name: str, cov) -> tuple[Array, Array]:
    m = _checks.finite_array(mean_name, mean, ndim_min=1)
    c = _checks.finite_array(cov_name, cov, ndim_min=2)
    d = m.shape[-1]
    if c.shape[-2:] != (d, d):
        raise ValueError(f"{cov_name} must have trailing shape {(d, d)} to match {mean_name}, got {c.shape}")
    if not np.allclose(c, np.swapaxes(c, -1, -2), rtol=1e-10, atol=1e-12):
        raise ValueError(f"{cov_name} must be symmetric")
    if np.any(np.linalg.eigvalsh(c) <= 0):
        raise ValueError(f"{cov_name} must be positive definite")
    return m, c


def gaussian_kl(mean0, cov0, mean1, cov1) -> Array:
    r"""The closed-form KL divergence between two Gaussians, :math:`\mathrm{KL}(N(m_0, S_0) \,\|\, N(m_1, S_1))`.

    .. math:: \tfrac12\Big[\operatorname{tr}(S_1^{-1} S_0) + (m_1 - m_0)^\top S_1^{-1} (m_1 - m_0) - d
              + \log\frac{\det S_1}{\det S_0}\Big].

    Parameters
    ----------
    mean0, mean1 : arrays ``(..., d)``
    cov0, cov1 : arrays ``(..., d, d)``, symmetric positive definite; leading axes broadcast.

    Returns
    -------
    Array of the broadcast leading shape.

    Reference: Kullback (1959); Cover & Thomas (2006), ex. 8.
    """
    m0, s0 = _mean_cov("mean0", mean0, "cov0", cov0)
    m1, s1 = _mean_cov("mean1", mean1, "cov1", cov1)
    if m0.shape[-1] != m1.shape[-1]:
        raise ValueError(f"mean0 and mean1 must have the same dimension, got {m0.shape} and {m1.shape}")
    d = m0.shape[-1]
    dm = m1 - m0
    trace = np.trace(np.linalg.solve(s1, s0), axis1=-2, axis2=-1)
    quad = np.einsum("...i,...i->...", dm, np.linalg.solve(s1, dm[..., None])[..., 0])
    logdet = np.linalg.slogdet(s1)[1] - np.linalg.slogdet(s0)[1]
    return 0.5 * (trace + quad - d + logdet)


def harmonic_free_energy(stiffness, temperature: float, *, dim: int = 1) -> Array:
    r"""Free energy of a particle in the harmonic trap :math:`E(x) = \tfrac{\kappa}{2}|x - c|^2` in d dimensions.

    .. math:: Z = \Big(\frac{2\pi T}{\kappa}\Big)^{d/2}, \qquad F = -T \log Z = -\frac{dT}{2}\log\frac{2\pi T}{\kappa}.

    So moving the trap leaves F unchanged, and stiffening it from :math:`\kappa_0` to :math:`\kappa_1`
    raises it by :math:`\Delta F = \frac{dT}{2}\log(\kappa_1/\kappa_0)`. Vectorised over ``stiffness``.
    """
    k = _checks.finite_array("stiffness", stiffness)
    if np.any(k <= 0):
        raise ValueError(f"stiffness must be > 0, got {stiffness!r}")
    T = _checks.positive("temperature", temperature)
    dim = _checks.count("dim", dim, minimum=1)
    return -0.5 * dim * T * np.log(2 * np.pi * T / k)


# ----------------------------------------------------------------------------------------------------
# analogy 1: the Gibbs distribution over the weights of a regression


def _regression_data(X, y) -> tuple[Array, Array]:
    X = _checks.finite_array("X", X)
    y = _checks.finite_array("y", y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, d) and y (n,), got shapes {X.shape} and {y.shape}")
    return X, y


def gibbs_linear_regression(X, y, *, temperature: float, weight_decay: float = 0.0) -> tuple[Array, Array]:
    r"""Mean and covariance of the Gibbs distribution :math:`p_T(w) \propto e^{-L(w)/T}` of a ridge regression.

    With the training loss

    .. math:: L(w) = \frac{1}{2n}\|Xw - y\|^2 + \frac{\lambda}{2}\|w\|^2
              = L(\hat w) + \tfrac12 (w - \hat w)^\top H (w - \hat w),
              \qquad H = \frac{X^\top X}{n} + \lambda I,

    the Gibbs law is Gaussian, :math:`N(\hat w, T H^{-1})`, centred on the ridge solution
    :math:`\hat w = H^{-1} X^\top y / n`.

    Parameters
    ----------
    X : array (n, d); y : array (n,)
    temperature : float > 0
    weight_decay : float >= 0, the ridge coefficient :math:`\lambda` (H must be positive definite)

    Returns
    -------
    (mean, cov): arrays of shape (d,) and (d, d).

    Reference: Levin, Tishby & Solla (1990) for the Gibbs distribution over weights.
    """
    X, y = _regression_data(X, y)
    T = _checks.positive("temperature", temperature)
    lam = _checks.positive("weight_decay", weight_decay, allow_zero=True)
    n, d = X.shape
    H = X.T @ X / n + lam * np.eye(d)
    if np.linalg.eigvalsh(H)[0] <= 0:
        raise ValueError("X has rank < d and weight_decay is 0: the Gibbs distribution is not normalisable")
    mean = np.linalg.solve(H, X.T @ y / n)
    cov = T * np.linalg.inv(H)
    return mean, 0.5 * (cov + cov.T)


def bayes_linear_regression(X, y, *, noise_var: float, prior_precision: float) -> tuple[Array, Array]:
    r"""The closed-form posterior of Bayesian linear regression.

    Model :math:`y = Xw + \varepsilon`, :math:`\varepsilon \sim N(0, \sigma^2 I)`, prior
    :math:`w \sim N(0, \alpha^{-1} I)`. The posterior is :math:`N(m, \Sigma)` with

    .. math:: \Sigma = \Big(\alpha I + \frac{X^\top X}{\sigma^2}\Big)^{-1}, \qquad
              m = \Sigma\, \frac{X^\top y}{\sigma^2}.

    Returns
    -------
    (mean, cov): arrays of shape (d,) and (d, d).

    Reference: Bishop, *Pattern Recognition and Machine Learning* (2006), eqs. (3.53)--(3.54).
    """
    X, y = _regression_data(X, y)
    s2 = _checks.positive("noise_var", noise_var)
    alpha = _checks.positive("prior_precision", prior_precision)
    precision = alpha * np.eye(X.shape[1]) + X.T @ X / s2
    cov = np.linalg.inv(precision)
    cov = 0.5 * (cov + cov.T)
    return cov @ (X.T @ y) / s2, cov


def bayes_temperature(n: int, *, noise_var: float, prior_precision: float) -> tuple[float, float]:
    r"""The temperature and weight decay at which the Gibbs distribution of the loss is the posterior.

    Matching :math:`e^{-L(w)/T}` with :math:`e^{-\|Xw-y\|^2/(2\sigma^2) - \alpha\|w\|^2/2}` term by term gives

    .. math:: T^\star = \frac{\sigma^2}{n}, \qquad \lambda^\star = \frac{\alpha\sigma^2}{n}.

    Returns ``(T_star, weight_decay_star)``.
    """
    n = _checks.count("n", n, minimum=1)
    s2 = _checks.positive("noise_var", noise_var)
    alpha = _checks.positive("prior_precision", prior_precision)
    return s2 / n, alpha * s2 / n


# ----------------------------------------------------------------------------------------------------
# analogy 2: relaxation, exactly (quadratic energy) and from an ensemble (histogram)


def _quadratic(hessian, minimum, step: float) -> tuple[Array, Array, float]:
    H = _checks.finite_array("hessian", hessian)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or not np.allclose(H, H.T):
        raise ValueError(f"hessian must be a symmetric square matrix, got shape {H.shape}")
    eig = np.linalg.eigvalsh(H)
    if eig[0] <= 0:
        raise ValueError(f"hessian must be positive definite, got eigenvalues {eig!r}")
    m = _checks.finite_array("minimum", minimum)
    if m.shape != (H.shape[0],):
        raise ValueError(f"minimum must have shape {(H.shape[0],)}, got {m.shape}")
    step = _checks.positive("step", step)
    if step * eig[-1] >= 2:
        raise ValueError(f"step must be < 2 / largest eigenvalue = {2 / eig[-1]:.6g} for a stationary law, got {step}")
    return H, m, step


def quadratic_langevin_law(
    hessian, minimum, *, mean0, cov0, step: float, temperature: float, steps: int
) -> tuple[Array, Array]:
    r"""The exact law, at every step, of overdamped Langevin on a quadratic energy started from a Gaussian.

    On :math:`E(x) = \tfrac12 (x - \mu)^\top H (x - \mu)` the chain of :func:`gdlens.langevin.overdamped`,
    :math:`x_{k+1} = x_k - \delta H (x_k - \mu) + \sqrt{2\delta T}\,\xi_k`, is linear and Gaussian: with
    :math:`A = I - \delta H`, :math:`x_k \sim N(m_k, S_k)`,

    .. math:: m_{k+1} = \mu + A (m_k - \mu), \qquad S_{k+1} = A S_k A^\top + 2\delta T\, I .

    Parameters
    ----------
    hessian : array (d, d), symmetric positive definite, with ``step`` below 2 / its largest eigenvalue
    minimum : array (d,), :math:`\mu`
    mean0 : array (d,); cov0 : array (d, d), symmetric positive semi-definite
    step : float > 0; temperature : float >= 0; steps : int >= 0

    Returns
    -------
    (means, covs): arrays of shape ``(steps + 1, d)`` and ``(steps + 1, d, d)``.

    Reference: Uhlenbeck & Ornstein (1930) for the continuous-time law; Kloeden & Platen (1992).
    """
    H, mu, step = _quadratic(hessian, minimum, step)
    T = _checks.positive("temperature", temperature, allow_zero=True)
    steps = _checks.count("steps", steps)
    d = H.shape[0]
    m = _checks.finite_array("mean0", mean0)
    S = _checks.finite_array("cov0", cov0)
    if m.shape != (d,) or S.shape != (d, d):
        raise ValueError(f"mean0 must have shape {(d,)} and cov0 {(d, d)}, got {m.shape} and {S.shape}")
    if not np.allclose(S, S.T) or np.linalg.eigvalsh(S)[0] < -1e-12 * max(1.0, np.abs(S).max()):
        raise ValueError("cov0 must be symmetric positive semi-definite")
    A = np.eye(d) - step * H
    Q = 2 * step * T * np.eye(d)
    means = np.empty((steps + 1, d))
    covs = np.empty((steps + 1, d, d))
    means[0], covs[0] = m, S
    for k in range(steps):
        m = mu + A @ (m - mu)
        S = A @ S @ A.T + Q
        S = 0.5 * (S + S.T)
        means[k + 1], covs[k + 1] = m, S
    return means, covs


def quadratic_langevin_stationary(hessian, minimum, *, step: float, temperature: float) -> tuple[Array, Array]:
    r"""The stationary law of the overdamped Langevin chain on a quadratic energy.

    The fixed point of :func:`quadratic_langevin_law` is :math:`N(\mu, S_\delta)` with
    :math:`S_\delta = A S_\delta A^\top + 2\delta T I`, that is

    .. math:: S_\delta = T H^{-1} \big(I - \tfrac{\delta}{2} H\big)^{-1},

    the Boltzmann covariance :math:`T H^{-1}` inflated by the time step: the chain relaxes to this law,
    not exactly to the Boltzmann law, and the gap vanishes as :math:`\delta \to 0`.

    Returns ``(mean, cov)``.
    """
    H, mu, step = _quadratic(hessian, minimum, step)
    T = _checks.positive("temperature", temperature)
    d = H.shape[0]
    A = np.eye(d) - step * H
    return mu.copy(), discrete_lyapunov(A, 2 * step * T * np.eye(d))


def _edges(edges) -> Array:
    e = _checks.finite_array("edges", edges)
    if e.ndim != 1 or e.size < 3 or np.any(np.diff(e) <= 0):
        raise ValueError(f"edges must be a strictly increasing 1-D array of >= 3 values, got {edges!r}")
    return e


def boltzmann_bin_probabilities(
    energy: Callable[[Array], Array], edges, *, temperature: float, refine: int = 16
) -> Array:
    r"""Probabilities of the 1-D Boltzmann law in the bins between consecutive ``edges``.

    .. math:: q_j = \frac{\int_{e_j}^{e_{j+1}} e^{-E(x)/T} dx}{\int_{e_0}^{e_B} e^{-E(x)/T} dx},

    each bin integrated with the trapezoidal rule on ``refine`` sub-intervals. The edges must cover the
    mass of the law (it is renormalised to the covered range). ``energy`` maps ``(..., 1) -> (...)``.
    """
    _checks.function("energy", energy)
    e = _edges(edges)
    T = _checks.positive("temperature", temperature)
    refine = _checks.count("refine", refine, minimum=1)
    t = np.linspace(0.0, 1.0, refine + 1)
    x = e[:-1, None] + np.diff(e)[:, None] * t  # (B, refine + 1)
    u = np.asarray(energy(x[..., None]), dtype=np.float64)
    if u.shape != x.shape or not np.all(np.isfinite(u)):
        raise ValueError(
            f"energy must return finite values of shape {x.shape} for points of shape {x[..., None].shape}"
        )
    f = np.exp(-(u - u.min()) / T)
    mass = np.trapezoid(f, x, axis=-1)
    return mass / mass.sum()


def binned_kl(samples, bin_probabilities, edges) -> tuple[Array, float]:
    r"""Plug-in estimate of :math:`\mathrm{KL}(\hat p \,\|\, q)` from samples binned on fixed edges.

    With :math:`\hat p_j = N_j / N` the fraction of the N samples in bin j,

    .. math:: \widehat{\mathrm{KL}} = \sum_j \hat p_j \log\frac{\hat p_j}{q_j}
              \qquad\text{and}\qquad
              \mathbb{E}\,\widehat{\mathrm{KL}} \approx \mathrm{KL}(p_\text{bins} \,\|\, q) + \frac{B - 1}{2N},

    the second-order bias of the plug-in estimator when the binned law is close to q (B bins with
    :math:`q_j > 0`). The estimate is of the *binned* divergence, a lower bound of the continuous one
    (coarse-graining cannot increase KL), close to it when the bins are narrow compared with the scale on
    which the densities vary. Samples outside the edges are counted in the end bins.

    Parameters
    ----------
    samples : array ``(..., N)`` or ``(..., N, 1)``: several ensembles along leading axes
    bin_probabilities : array (B,), non-negative, summing to 1 (e.g. :func:`boltzmann_bin_probabilities`)
    edges : array (B + 1,), strictly increasing

    Returns
    -------
    (kl, bias): the estimates, shape of the leading axes, and the predicted bias (B - 1) / (2N).

    Reference: Miller (1955) and Paninski (2003) for the bias of plug-in entropy estimates.
    """
    e = _edges(edges)
    q = _checks.finite_array("bin_probabilities", bin_probabilities)
    if q.shape != (e.size - 1,) or np.any(q < 0) or abs(q.sum() - 1) > 1e-9:
        raise ValueError(
            f"bin_probabilities must be {e.size - 1} non-negative numbers summing to 1, got shape {q.shape}"
        )
    s = _checks.finite_array("samples", samples, ndim_min=1)
    if s.ndim >= 2 and s.shape[-1] == 1:
        s = s[..., 0]
    n = s.shape[-1]
    if n < 1:
        raise ValueError("samples must hold at least one sample")
    idx = np.clip(np.searchsorted(e, s, side="right") - 1, 0, e.size - 2)
    lead = s.shape[:-1]
    flat = idx.reshape(-1, n)
    counts = np.stack([np.bincount(row, minlength=e.size - 1) for row in flat]).reshape(*lead, e.size - 1)
    p = counts / n
    if np.any((p > 0) & (q == 0)):
        raise ValueError("some samples fall in bins of zero probability: the divergence is infinite")
    safe = np.where(q > 0, q, 1.0)
    kl = np.sum(_xlogy(p, p) - _xlogy(p, safe), axis=-1)
    bias = (np.count_nonzero(q) - 1) / (2 * n)
    return kl, float(bias)


# ----------------------------------------------------------------------------------------------------
# out of equilibrium: a particle dragged by a harmonic trap


def _protocol(centre, stiffness) -> tuple[Array, Array]:
    c = _checks.finite_array("centre", centre, ndim_min=1)
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[0] < 2:
        raise ValueError(f"centre must have shape (K + 1,) or (K + 1, dim) with K >= 1, got {np.shape(centre)}")
    k = _checks.finite_array("stiffness", stiffness, ndim_min=1)
    if k.shape != (c.shape[0],):
        raise ValueError(f"stiffness must have shape {(c.shape[0],)} like centre's first axis, got {k.shape}")
    if np.any(k <= 0):
        raise ValueError(f"stiffness must be > 0 at every step, got minimum {k.min()!r}")
    return c, k


def jarzynski_work(
    centre,
    stiffness,
    *,
    n: int,
    step: float,
    temperature: float,
    rng: np.random.Generator,
    integrator: str = "euler",
    return_positions: bool = False,
) -> Array | tuple[Array, Array]:
    r"""Work done on particles dragged by a harmonic trap that follows a protocol :math:`\lambda_k`.

    The trap is :math:`E(x; \lambda_k) = \tfrac{\kappa_k}{2}|x - c_k|^2`, its centre :math:`c_k` and
    stiffness :math:`\kappa_k` given for :math:`k = 0, \dots, K`. Each of the n particles starts from the
    Boltzmann law of the first trap, :math:`N(c_0, T/\kappa_0)`, and alternates two moves: the protocol
    changes the energy at a fixed position, which is work, and the particle relaxes in the new trap,
    which exchanges heat:

    .. math:: W = \sum_{k=0}^{K-1} \big[E(x_k; \lambda_{k+1}) - E(x_k; \lambda_k)\big], \qquad
              x_{k+1} = \text{one Langevin step of size } \delta \text{ in } E(\cdot\,; \lambda_{k+1}).

    ``integrator="euler"`` takes the step with :func:`gdlens.langevin.overdamped` (Euler--Maruyama,
    :math:`x - \delta\kappa(x - c) + \sqrt{2\delta T}\xi`), whose stationary law is off the Boltzmann law by
    :math:`O(\delta)`; ``"exact"`` draws the exact Ornstein--Uhlenbeck transition over time :math:`\delta`,
    :math:`c + (x - c)e^{-\kappa\delta} + \sqrt{T(1 - e^{-2\kappa\delta})/\kappa}\;\xi`, which keeps each
    trap's Boltzmann law (detailed balance), so that Jarzynski's equality
    :math:`\langle e^{-W/T}\rangle = e^{-\Delta F/T}` then holds exactly, at any step size.

    Parameters
    ----------
    centre : array (K + 1,) or (K + 1, dim)
    stiffness : array (K + 1,), > 0
    n : int >= 1, the number of realisations (vectorised)
    step : float > 0, the time step :math:`\delta` (the protocol lasts :math:`K\delta`)
    temperature : float > 0
    rng : numpy.random.Generator (the initial draw, then one ``standard_normal((n, dim))`` per step)
    integrator : "euler" or "exact"
    return_positions : bool, also return the final positions (n, dim)

    Returns
    -------
    W, shape (n,) (and the final positions).

    Reference: Jarzynski (1997); Crooks (1998), for the discrete-time form used here.
    """
    c, k = _protocol(centre, stiffness)
    n = _checks.count("n", n, minimum=1)
    step = _checks.positive("step", step)
    T = _checks.positive("temperature", temperature)
    rng = _checks.generator("rng", rng)
    integrator = _checks.choice("integrator", integrator, {"euler", "exact"})
    if integrator == "euler" and step * k.max() >= 2:
        raise ValueError(f"step * stiffness must stay < 2 for the Euler step, got {step * k.max()!r}")
    dim = c.shape[1]
    x = c[0] + np.sqrt(T / k[0]) * rng.standard_normal((n, dim))
    work = np.zeros(n)
    for j in range(c.shape[0] - 1):
        work += 0.5 * k[j + 1] * np.sum((x - c[j + 1]) ** 2, axis=1) - 0.5 * k[j] * np.sum((x - c[j]) ** 2, axis=1)
        kj, cj = k[j + 1], c[j + 1]
        if integrator == "euler":
            x = overdamped(lambda z, kj=kj, cj=cj: kj * (z - cj), x, step=step, temperature=T, steps=1, rng=rng)
        else:
            decay = np.exp(-kj * step)
            x = cj + (x - cj) * decay + np.sqrt(-T * np.expm1(-2 * kj * step) / kj) * rng.standard_normal((n, dim))
    return (work, x) if return_positions else work


def jarzynski_estimate(work, temperature: float) -> tuple[float, float]:
    r"""The Jarzynski estimate of :math:`\Delta F` from work samples, with its standard error.

    .. math:: \widehat{\Delta F} = -T \log \frac1N \sum_{i=1}^N e^{-W_i/T},

    computed by log-sum-exp. The standard error is the delta-method one,
    :math:`T\,\mathrm{sd}(e^{-W/T}) / (\sqrt N\, \overline{e^{-W/T}})`; it is honest only when the
    samples include the rare low-work realisations that dominate the average. The estimate is biased
    upwards for finite N (Jensen), by about :math:`T\,\mathrm{var}(e^{-W/T})/(2N\,\overline{e^{-W/T}}^2)`.

    Returns ``(delta_f, standard_error)``.

    Reference: Jarzynski (1997); Gore, Ritort & Bustamante (2003) for the bias.
    """
    w = _checks.finite_array("work", work, ndim_min=1).ravel()
    if w.size < 2:
        raise ValueError(f"work must hold at least 2 samples, got {w.size}")
    T = _checks.positive("temperature", temperature)
    a = -w / T
    top = a.max()
    r = np.exp(a - top)
    mean = r.mean()
    delta_f = -T * (top + np.log(mean))
    se = T * r.std(ddof=1) / (np.sqrt(w.size) * mean)
    return float(delta_f), float(se)


def crooks_log_ratio(work_forward, work_reverse, *, bins, min_count: int = 20) -> tuple[Array, Array, Array]:
    r"""The log ratio of forward and reversed work densities, to test Crooks' fluctuation theorem.

    Crooks' theorem says :math:`P_F(W) / P_R(-W) = e^{(W - \Delta F)/T}`: the log ratio is a straight line
    of slope :math:`1/T` through zero at :math:`W = \Delta F`. Here both densities are histogrammed on the
    same ``bins`` (edges in W; the reversed work enters as :math:`-W_R`), and the log ratio is returned
    where both bins hold at least ``min_count`` samples.

    Returns
    -------
    (centres, log_ratio, mask): bin centres (B,), :math:`\log \hat P_F - \log \hat P_R(-\cdot)` (nan where
    masked), and the boolean mask of bins used.

    Reference: Crooks (1999); Collin et al. (2005) for the experiment with RNA hairpins.
    """
    wf = _checks.finite_array("work_forward", work_forward, ndim_min=1).ravel()
    wr = _checks.finite_array("work_reverse", work_reverse, ndim_min=1).ravel()
    e = _edges(bins)
    min_count = _checks.count("min_count", min_count, minimum=1)
    cf = np.histogram(wf, bins=e)[0]
    cr = np.histogram(-wr, bins=e)[0]
    mask = (cf >= min_count) & (cr >= min_count)
    ratio = np.full(e.size - 1, np.nan)
    ratio[mask] = np.log(cf[mask] / wf.size) - np.log(cr[mask] / wr.size)
    return 0.5 * (e[1:] + e[:-1]), ratio, mask


def bennett_free_energy(work_forward, work_reverse, temperature: float, *, tol: float = 1e-12) -> float:
    r"""Bennett's acceptance-ratio estimate of :math:`\Delta F` from forward and reversed work samples.

    With :math:`n_F` forward and :math:`n_R` reversed samples and :math:`M = T\log(n_F/n_R)`,
    :math:`\widehat{\Delta F}` solves

    .. math:: \sum_{i=1}^{n_F} \frac{1}{1 + e^{(W^F_i - \Delta F + M)/T}}
              = \sum_{j=1}^{n_R} \frac{1}{1 + e^{(W^R_j + \Delta F - M)/T}},

    the maximum-likelihood use of Crooks' relation; it needs far fewer samples than
    :func:`jarzynski_estimate` when the protocol is fast. Solved by bisection (the difference of the two
    sums is monotone in :math:`\Delta F`).

    Reference: Bennett (1976); Shirts, Bair, Hooker & Pande (2003).
    """
    wf = _checks.finite_array("work_forward", work_forward, ndim_min=1).ravel()
    wr = _checks.finite_array("work_reverse", work_reverse, ndim_min=1).ravel()
    if wf.size < 1 or wr.size < 1:
        raise ValueError("work_forward and work_reverse must each hold at least one sample")
    T = _checks.positive("temperature", temperature)
    tol = _checks.positive("tol", tol)
    M = T * np.log(wf.size / wr.size)

    def fermi(z):  # 1 / (1 + e^z), stable
        return 0.5 * (1 - np.tanh(0.5 * z))

    def gap(df):
        return np.sum(fermi((wf - df + M) / T)) - np.sum(fermi((wr + df - M) / T))

    lo = min(wf.min(), -wr.max()) - 10 * T
    hi = max(wf.max(), -wr.min()) + 10 * T
    # gap is increasing in df: at lo the forward sum is ~0, at hi the reversed sum is ~0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if gap(mid) > 0:
            hi = mid
        else:
            lo = mid
        if hi - lo < tol * max(1.0, abs(mid)):
            break
    return float(0.5 * (lo + hi))


# ----------------------------------------------------------------------------------------------------
# relaxation on a grid: the Fokker--Planck generator, its spectrum, the relative Fisher information


def _axis_1d(grid) -> Array:
    axes = _axes(grid)
    if len(axes) != 1:
        raise ValueError(f"grid must be one 1-D array, got {len(axes)} axes")
    if axes[0].size < 3:
        raise ValueError(f"grid must have at least 3 points, got {axes[0].size}")
    return axes[0]


def fokker_planck_generator(energy: Callable[[Array], Array], grid, *, temperature: float) -> Array:
    r"""The 1-D Fokker--Planck operator :math:`\partial_t p = \partial_x(p\,E') + T\,\partial_x^2 p` on a grid.

    Discretised as a jump process between neighbouring grid points (the square-root approximation),
    acting on the probabilities :math:`P_j = w_j p_j` (``w`` the trapezoidal weights), with rates

    .. math:: k_{j \to j \pm 1} = \frac{T}{h_\pm\, w_j}\, e^{-(E_{j\pm1} - E_j)/(2T)},

    :math:`h_\pm` the spacing to the neighbour. The probability flux between neighbours is
    :math:`\tfrac{T}{h} \sqrt{\pi_j \pi_{j+1}}\,(g_j - g_{j+1})` with :math:`g = p/\pi`, so the discrete
    Boltzmann law :math:`\pi \propto e^{-E/T}` is stationary with detailed balance (reflecting ends),
    and the operator converges to the Fokker--Planck one with error :math:`O(h^2)` on a uniform grid.

    Returns the generator ``G`` (n, n): :math:`dP/dt = G P`, columns summing to zero.

    Reference: Risken (1989), ch. 5; Lie, Fackeldey & Weber, SIAM J. Matrix Anal. Appl. 34 (2013) for
    the square-root approximation.
    """
    x = _axis_1d(grid)
    T = _checks.positive("temperature", temperature)
    e = _energy_values(energy, x)
    w = quadrature_weights(x)
    h = np.diff(x)
    up = T / (h * w[:-1]) * np.exp(-(e[1:] - e[:-1]) / (2 * T))  # j -> j + 1
    down = T / (h * w[1:]) * np.exp(-(e[:-1] - e[1:]) / (2 * T))  # j + 1 -> j
    n = x.size
    G = np.zeros((n, n))
    j = np.arange(n - 1)
    G[j + 1, j] = up
    G[j, j + 1] = down
    G[j, j] -= up
    G[j + 1, j + 1] -= down
    return G


class RelaxationSpectrum:
    r"""The spectrum of :func:`fokker_planck_generator`, and the exact evolution of a density under it.

    Fields: ``rates`` (n,), the relaxation rates :math:`0 = r_0 < r_1 \le r_2 \le \dots` (the generator's
    eigenvalues are :math:`-r_j`; :math:`r_1` is the spectral gap); ``grid``; ``equilibrium``, the
    discrete Boltzmann density. Built by :func:`relaxation_spectrum`.
    """

    def __init__(self, rates: Array, modes: Array, sqrt_pi: Array, grid: Array, weights: Array, generator: Array):
        self.rates, self._modes, self._s, self.grid, self._w = rates, modes, sqrt_pi, grid, weights
        self.generator = generator
        self.equilibrium = sqrt_pi**2 / weights

    def kl_rate(self, p) -> float:
        r"""The exact :math:`\tfrac{d}{dt}\mathrm{KL}(p_t \,\|\, \pi)` at the density ``p`` under the generator.

        :math:`\sum_j (G P)_j \log(p_j / \pi_j)` with :math:`P = w p`, over the points where :math:`p > 0`
        (the sum of :math:`(GP)_j` is zero, so the normalisation term drops out).
        """
        w = self._w
        p = _normalised(w, "p", p)
        if p.shape != w.shape:
            raise ValueError(f"p must have shape {w.shape}, got {p.shape}")
        dP = self.generator @ (w * p)
        pos = p > 0
        return float(np.sum(dP[pos] * np.log(p[pos] / self.equilibrium[pos])))

    @property
    def gap(self) -> float:
        """The spectral gap :math:`r_1`, the slowest relaxation rate."""
        return float(self.rates[1])

    def evolve(self, p0, times) -> Array:
        r"""The density :math:`p_t = e^{tG} p_0` at each time, shape ``(len(times), n)``, normalised.

        Computed in the symmetrised eigenbasis; round-off below about :math:`10^{-16}\sqrt{\pi_j}` is
        clipped at zero (far in the tails, where it is invisible in any integral).
        """
        w = self._w
        p0 = _normalised(w, "p0", p0)
        if p0.shape != w.shape:
            raise ValueError(f"p0 must have shape {w.shape}, got {p0.shape}")
        t = _checks.finite_array("times", times, ndim_min=1)
        if t.ndim != 1 or np.any(t < 0):
            raise ValueError(f"times must be a 1-D array of non-negative times, got {times!r}")
        coef = self._modes.T @ (w * p0 / self._s)
        P = (np.exp(-np.outer(t, self.rates)) * coef) @ self._modes.T * self._s
        P = np.maximum(P, 0.0)
        P /= P.sum(axis=1, keepdims=True)
        return P / w


def relaxation_spectrum(energy: Callable[[Array], Array], grid, *, temperature: float) -> RelaxationSpectrum:
    r"""Eigen-decompose the Fokker--Planck generator on a 1-D grid.

    Detailed balance makes :math:`D^{-1/2} G D^{1/2}` (:math:`D = \operatorname{diag}\pi`) a symmetric
    tridiagonal matrix, diagonalised by ``scipy.linalg.eigh_tridiagonal``. Its eigenvalues are
    :math:`0 = -r_0 > -r_1 \ge \dots`; for a double well the gap :math:`r_1` is the rate at which the two
    wells' populations equilibrate (about the sum of Kramers' rates, :func:`kramers_rate`), and the
    other rates, much larger, are the relaxations within the wells.

    Reference: Risken (1989), ch. 5 and 6.
    """
    from scipy.linalg import eigh_tridiagonal

    x = _axis_1d(grid)
    G = fokker_planck_generator(energy, x, temperature=temperature)
    e = _energy_values(energy, x)
    w = quadrature_weights(x)
    pi = w * np.exp(-(e - e.min()) / temperature)
    pi /= pi.sum()
    s = np.sqrt(pi)
    n = x.size
    diag = np.diag(G).copy()
    off = G[np.arange(1, n), np.arange(n - 1)] * s[:-1] / s[1:]  # = sqrt(up * down), symmetric
    vals, vecs = eigh_tridiagonal(diag, off)
    order = np.argsort(-vals)
    rates = np.maximum(-vals[order], 0.0)
    return RelaxationSpectrum(rates, vecs[:, order], s, x, w, G)


def relative_fisher_information(p, q, grid) -> Array:
    r"""The relative Fisher information :math:`\int p\, |\nabla \log(p/q)|^2 dx` of two 1-D grid densities.

    The derivative is taken by second-order central differences (one-sided at the ends), on the points
    where both densities are positive. Along the Fokker--Planck flow
    :math:`\partial_t p = \nabla\cdot(p\nabla E) + T\Delta p`, :math:`\tfrac{d}{dt}\mathrm{KL}(p_t\|p_\text{eq})
    = -T \int p_t |\nabla\log(p_t/p_\text{eq})|^2`: this is the integral on the right.

    Parameters: ``p`` (..., n) and ``q`` (n,) normalised on the 1-D ``grid``. Returns shape ``p.shape[:-1]``.

    Reference: Otto & Villani, J. Funct. Anal. 173 (2000); Markowich & Villani (2000).
    """
    x = _axis_1d(grid)
    w = quadrature_weights(x)
    p = _normalised(w, "p", p)
    q = _normalised(w, "q", q)
    if q.shape != w.shape:
        raise ValueError(f"q must have shape {w.shape}, got {q.shape}")
    both = (p > 0) & (q > 0)
    with np.errstate(divide="ignore"):
        ratio = np.where(both, np.log(np.where(both, p, 1.0)) - np.log(np.where(both, q, 1.0)), 0.0)
    slope = np.gradient(ratio, x, axis=-1, edge_order=2)
    return _integrate(w, np.where(both, p * slope**2, 0.0))


def kramers_rate(
    barrier: float, well_curvature: float, saddle_curvature: float, *, temperature: float, friction: float = 1.0
) -> float:
    r"""Kramers' overdamped escape rate over a barrier (high-barrier limit).

    .. math:: k = \frac{\sqrt{\lambda_\text{well}\, |\lambda_\text{saddle}|}}{2\pi\zeta}\, e^{-\Delta E / T},

    with :math:`\Delta E` the barrier height above the well, :math:`\lambda` the curvatures of the energy
    at the bottom of the well and at the saddle, and :math:`\zeta` the friction (1 for
    :func:`gdlens.langevin.overdamped`). It is the leading term of an expansion in :math:`T/\Delta E`.

    Reference: Kramers (1940); Hänggi, Talkner & Borkovec, Rev. Mod. Phys. 62 (1990).
    """
    barrier = _checks.positive("barrier", barrier)
    lw = _checks.positive("well_curvature", well_curvature)
    ls = _checks.real("saddle_curvature", saddle_curvature)
    if ls >= 0:
        raise ValueError(f"saddle_curvature must be negative (a barrier top), got {saddle_curvature!r}")
    T = _checks.positive("temperature", temperature)
    zeta = _checks.positive("friction", friction)
    return float(np.sqrt(lw * abs(ls)) / (2 * np.pi * zeta) * np.exp(-barrier / T))


# ----------------------------------------------------------------------------------------------------
# fluctuation theorems: uncertainties


def bennett_standard_error(work_forward, work_reverse, temperature: float, delta_f: float) -> float:
    r"""The asymptotic standard error of Bennett's estimate :func:`bennett_free_energy`.

    With :math:`f(z) = 1/(1 + e^z)`, :math:`M = T\log(n_F/n_R)`, :math:`a_i = f((W^F_i - \Delta F + M)/T)`
    and :math:`b_j = f((W^R_j + \Delta F - M)/T)`,

    .. math:: \sigma^2 = T^2\Big[\frac{\overline{a^2}/\bar a^2 - 1}{n_F} + \frac{\overline{b^2}/\bar b^2 - 1}{n_R}\Big],

    the delta-method variance for independent samples (Bennett 1976; Shirts et al. 2003).
    """
    wf = _checks.finite_array("work_forward", work_forward, ndim_min=1).ravel()
    wr = _checks.finite_array("work_reverse", work_reverse, ndim_min=1).ravel()
    if wf.size < 2 or wr.size < 2:
        raise ValueError("work_forward and work_reverse must each hold at least two samples")
    T = _checks.positive("temperature", temperature)
    df = _checks.real("delta_f", delta_f)
    M = T * np.log(wf.size / wr.size)
    a = 0.5 * (1 - np.tanh(0.5 * (wf - df + M) / T))
    b = 0.5 * (1 - np.tanh(0.5 * (wr + df - M) / T))
    var = (np.mean(a**2) / np.mean(a) ** 2 - 1) / wf.size + (np.mean(b**2) / np.mean(b) ** 2 - 1) / wr.size
    return float(T * np.sqrt(var))


def crooks_line(work_forward, work_reverse, *, bins, min_count: int = 20) -> dict:
    r"""Fit Crooks' line :math:`\log P_F(W) - \log P_R(-W) = (W - \Delta F)/T` with its uncertainties.

    The log ratio of the two histograms (:func:`crooks_log_ratio`, both normalised by their sample
    counts) is fitted by weighted least squares, each bin weighted by the inverse of its Poisson
    variance :math:`1/N_F + 1/N_R`. Returns a dict with ``slope`` and ``slope_se`` (:math:`1/T`),
    ``crossing`` and ``crossing_se`` (the W where the line crosses zero, :math:`\Delta F`, by the delta
    method), ``bins`` (the number of bins used), ``chi2`` (the weighted residual sum of squares).

    Reference: Crooks (1999); Collin et al., Nature 437 (2005), for the same fit on RNA-pulling data.
    """
    wf = _checks.finite_array("work_forward", work_forward, ndim_min=1).ravel()
    wr = _checks.finite_array("work_reverse", work_reverse, ndim_min=1).ravel()
    e = _edges(bins)
    centres, ratio, mask = crooks_log_ratio(wf, wr, bins=e, min_count=min_count)
    if mask.sum() < 3:
        raise ValueError(f"the fit needs at least 3 bins with {min_count} samples in both histograms")
    cf = np.histogram(wf, bins=e)[0][mask]
    cr = np.histogram(-wr, bins=e)[0][mask]
    x, y = centres[mask], ratio[mask]
    wt = 1.0 / (1.0 / cf + 1.0 / cr)
    A = np.column_stack([np.ones_like(x), x])
    cov = np.linalg.inv(A.T @ (wt[:, None] * A))
    icpt, slope = cov @ (A.T @ (wt * y))
    resid = y - icpt - slope * x
    cross = -icpt / slope
    grad = np.array([-1.0 / slope, icpt / slope**2])
    return {
        "slope": float(slope),
        "slope_se": float(np.sqrt(cov[1, 1])),
        "crossing": float(cross),
        "crossing_se": float(np.sqrt(grad @ cov @ grad)),
        "bins": int(mask.sum()),
        "chi2": float(np.sum(wt * resid**2)),
    }


# ----------------------------------------------------------------------------------------------------
# variational inference as free-energy minimisation


def gaussian_free_energy(hessian, minimum, min_value: float, mean, cov, *, temperature: float) -> Array:
    r"""The free energy of a Gaussian :math:`q = N(m, \Sigma)` over the weights, for a quadratic loss.

    For :math:`L(w) = L_\star + \tfrac12 (w - w_\star)^\top H (w - w_\star)`,

    .. math:: F[q] = \mathbb{E}_q L - T S[q]
              = L_\star + \tfrac12 (m - w_\star)^\top H (m - w_\star) + \tfrac12\operatorname{tr}(H\Sigma)
                - \tfrac T2 \log\det(2\pi e\,\Sigma) .

    When :math:`L` is the mean negative log-likelihood plus the negative log-prior over n and
    :math:`T = 1/n`, :math:`F[q] = -T\,\mathrm{ELBO}(q)`: minimising it over q is variational inference.
    Vectorised over leading axes of ``mean`` (..., d) and ``cov`` (..., d, d).

    Reference: Jordan, Ghahramani, Jaakkola & Saul, Mach. Learn. 37 (1999); Blei, Kucukelbir &
    McAuliffe, JASA 112 (2017).
    """
    H = _checks.finite_array("hessian", hessian)
    mu = _checks.finite_array("minimum", minimum)
    if mu.ndim != 1 or H.shape != (mu.size, mu.size):
        raise ValueError(f"hessian must be (d, d) and minimum (d,), got {H.shape} and {mu.shape}")
    L0 = _checks.real("min_value", min_value)
    T = _checks.positive("temperature", temperature)
    m, c = _mean_cov("mean", mean, "cov", cov)
    if m.shape[-1] != mu.size:
        raise ValueError(f"mean must have trailing size {mu.size}, got {m.shape}")
    dm = m - mu
    quad = 0.5 * np.einsum("...i,ij,...j->...", dm, H, dm) + 0.5 * np.einsum("ij,...ji->...", H, c)
    _, logdet = np.linalg.slogdet(2 * np.pi * np.e * c)
    return L0 + quad - 0.5 * T * logdet


def monte_carlo_elbo(log_joint: Callable[[Array], Array], mean, cov, n: int, *, rng: np.random.Generator):
    r"""A Monte Carlo estimate of the evidence lower bound of :math:`q = N(m, \Sigma)`, with its standard error.

    .. math:: \mathrm{ELBO}(q) = \mathbb{E}_{w\sim q}\big[\log p(y, w) - \log q(w)\big] \le \log p(y),

    from ``n`` draws :math:`w = m + C\xi` (:math:`CC^\top = \Sigma`, ``rng.standard_normal((n, d))``).
    ``log_joint`` maps weights ``(n, d)`` to :math:`\log p(y \mid w) + \log p(w)`, shape ``(n,)``.
    Returns ``(elbo, standard_error)``.

    Reference: Blei, Kucukelbir & McAuliffe (2017); Kingma & Welling (2014) for the reparametrisation.
    """
    _checks.function("log_joint", log_joint)
    m, c = _mean_cov("mean", mean, "cov", cov)
    if m.ndim != 1:
        raise ValueError(f"mean must be one vector (d,), got shape {m.shape}")
    n = _checks.count("n", n, minimum=2)
    rng = _checks.generator("rng", rng)
    C = np.linalg.cholesky(c)
    xi = rng.standard_normal((n, m.size))
    w = m + xi @ C.T
    lj = np.asarray(log_joint(w), dtype=np.float64)
    if lj.shape != (n,) or not np.all(np.isfinite(lj)):
        raise ValueError(f"log_joint must return {n} finite values, got shape {lj.shape}")
    logq = -0.5 * np.sum(xi**2, axis=1) - np.sum(np.log(np.diag(C))) - 0.5 * m.size * np.log(2 * np.pi)
    v = lj - logq
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(n))
