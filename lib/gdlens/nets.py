r"""A small multilayer perceptron with a hand-written backward pass, its training loop, and probes.

Every layer computes ``relu(dot(x, W) + b)`` (the last one only ``dot(x, W) + b``), the loss is the
softmax cross-entropy, and the gradients come from the chain rule applied layer by layer, from the
loss back to the input (backpropagation). Everything is vectorised over the batch: one matrix
product per layer, whatever the batch size.

* :class:`MLP` — the network: ``forward``, ``loss_and_grads``, ``predict``, flat parameter access.
* :func:`he_init`, :func:`glorot_init` — the two standard random initialisations.
* :func:`softmax_cross_entropy` — the loss and its gradient with respect to the logits.
* :func:`numerical_grads` — the naive way: wiggle one coefficient at a time (central differences).
* :func:`train` — the training loop: draw a batch, forward pass, loss, backward pass, update.
* :func:`linear_probe` — how linearly separable a representation is, by degrees: the accuracy of a
  (ridge-regularised) multinomial logistic regression fitted to it.
* :func:`linear_separability` — whether two classes are linearly separable, exactly: a linear programme.
* :func:`random_relu_features` — one untrained wide ReLU layer, the random-features control.
* :func:`train_sweep` — plain SGD at many learning rates at once (one batch size, the same batches).
* :func:`velocity_momentum` — momentum written with a velocity, in the source's form and in the
  heavy-ball and Sutskever–Nesterov forms, for comparison with :func:`gdlens.optimizers.momentum`.

References: Rumelhart, Hinton & Williams (1986) for backpropagation; He et al. (2015) and Glorot &
Bengio (2010) for the initialisations; Goodfellow, Bengio & Courville, *Deep Learning* (2016), ch. 6.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from gdlens import _checks
from gdlens import optimizers as _opt

Array = np.ndarray
Grads = list[tuple[Array, Array]]

ACTIVATIONS = ("relu", "tanh")


# --- initialisation ----------------------------------------------------------------------------


def he_init(n_in: int, n_out: int, *, rng: np.random.Generator) -> Array:
    r"""He (Kaiming) normal initialisation, :math:`W_{ij} \sim N(0, 2/n_\text{in})`, shape ``(n_in, n_out)``.

    With ReLU units and zero biases it keeps the mean square of the activations constant from layer to
    layer: :math:`\mathbb{E}\,\lVert h_{l+1}\rVert^2 / n_{l+1} = \mathbb{E}\,\lVert h_l\rVert^2 / n_l`.

    Reference: He, Zhang, Ren & Sun, "Delving deep into rectifiers" (ICCV 2015).
    """
    n_in = _checks.count("n_in", n_in, minimum=1)
    n_out = _checks.count("n_out", n_out, minimum=1)
    rng = _checks.generator("rng", rng)
    return rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in)


def glorot_init(n_in: int, n_out: int, *, rng: np.random.Generator) -> Array:
    r"""Glorot (Xavier) uniform initialisation, :math:`W_{ij} \sim U(-a, a)`, shape ``(n_in, n_out)``.

    Here :math:`a = \sqrt{6/(n_\text{in} + n_\text{out})}`.

    The variance :math:`a^2/3 = 2/(n_\text{in} + n_\text{out})` balances the forward and backward
    signals of linear or tanh units.

    Reference: Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural
    networks" (AISTATS 2010).
    """
    n_in = _checks.count("n_in", n_in, minimum=1)
    n_out = _checks.count("n_out", n_out, minimum=1)
    rng = _checks.generator("rng", rng)
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, (n_in, n_out))


_INITS = {"he": he_init, "glorot": glorot_init}


# --- the loss ----------------------------------------------------------------------------------


def softmax_cross_entropy(logits, y) -> tuple[float, Array]:
    r"""Mean softmax cross-entropy of integer labels, and its gradient with respect to the logits.

    .. math::
        L = \frac1n \sum_{i=1}^n \Big(\log \sum_k e^{z_{ik}} - z_{i y_i}\Big), \qquad
        \frac{\partial L}{\partial z_{ik}} = \frac1n\big(\operatorname{softmax}(z_i)_k - [k = y_i]\big).

    The log-sum-exp is computed after subtracting each row's maximum, so that no exponential
    overflows however large the logits (numerically stable softmax).

    Parameters
    ----------
    logits : array_like, shape (n, K)
    y : array_like of int, shape (n,), values in ``0 .. K-1``

    Returns
    -------
    loss : float
    dlogits : ndarray, shape (n, K)

    Reference: Goodfellow, Bengio & Courville (2016), §6.2.2.3.
    """
    z = _checks.finite_array("logits", logits)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (n, K), got shape {z.shape}")
    y = _labels("y", y, z.shape[0], z.shape[1])
    return _softmax_ce(z, y)


def _softmax_ce(z: Array, y: Array) -> tuple[float, Array]:
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(n)
    loss = float(np.mean(lse - shifted[rows, y]))
    d = np.exp(shifted - lse[:, None])
    d[rows, y] -= 1.0
    return loss, d / n


def _labels(name: str, y, n: int, k: int) -> Array:
    arr = np.asarray(y)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    if n and (arr.min() < 0 or arr.max() >= k):
        raise ValueError(f"{name} must lie in 0..{k - 1}, got values from {arr.min()} to {arr.max()}")
    return arr.astype(np.int64)


# --- the network -------------------------------------------------------------------------------


class MLP:
    r"""A multilayer perceptron: ReLU (or tanh) hidden layers and a linear output layer.

    Layer :math:`l = 1, \dots, L` maps the activations :math:`h_{l-1}` (rows are examples) to

    .. math:: h_l = \sigma(h_{l-1} W_l + b_l) \ (l < L), \qquad z = h_{L-1} W_L + b_L \ \text{(the logits)},

    with :math:`h_0 = X`. Weights start random (:func:`he_init` by default, :func:`glorot_init` with
    ``init="glorot"``), biases at zero.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first and number of classes last, e.g. ``[2, 16, 16, 2]``; at least two
        entries, each >= 1.
    rng : numpy.random.Generator
        Source of the random initial weights.
    activation : {"relu", "tanh"}
        Hidden-layer nonlinearity.
    init : {"he", "glorot"}
        Weight initialisation.

    Attributes
    ----------
    weights : list of ndarray, shapes ``(n_in, n_out)``
    biases : list of ndarray, shapes ``(n_out,)``
        The parameters. The methods read them on every call, so a caller may set or modify them.
    forward_passes : int
        How many forward passes (calls that evaluate the network on a batch) have run: the unit in
        which the chapter counts the cost of gradients.
    """

    def __init__(self, sizes: Sequence[int], *, rng: np.random.Generator, activation: str = "relu", init: str = "he"):
        if isinstance(sizes, np.ndarray):
            sizes = sizes.tolist()
        if isinstance(sizes, str | bytes) or not isinstance(sizes, Sequence):
            raise TypeError(f"sizes must be a sequence of layer widths, got {sizes!r}")
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output width, got {sizes!r}")
        self.sizes = tuple(_checks.count(f"sizes[{i}]", s, minimum=1) for i, s in enumerate(sizes))
        rng = _checks.generator("rng", rng)
        self.activation = _checks.choice("activation", activation, ACTIVATIONS)
        _checks.choice("init", init, _INITS)
        self.weights = [_INITS[init](a, b, rng=rng) for a, b in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self.biases = [np.zeros(b) for b in self.sizes[1:]]
        self.forward_passes = 0

    def __repr__(self) -> str:
        return f"MLP(sizes={list(self.sizes)}, activation={self.activation!r}, n_params={self.n_params})"

    @property
    def n_layers(self) -> int:
        """Number of weight layers L."""
        return len(self.sizes) - 1

    @property
    def n_params(self) -> int:
        """Total number of weights and biases."""
        return int(sum(w.size + b.size for w, b in zip(self.weights, self.biases, strict=True)))

    # parameters as one flat vector (for finite differences and for the optimizers)
    def get_params(self) -> Array:
        """All parameters as one flat float64 vector, layer by layer (W then b)."""
        return np.concatenate([a.ravel() for w, b in zip(self.weights, self.biases, strict=True) for a in (w, b)])

    def set_params(self, theta) -> None:
        """Set all parameters from a flat vector laid out as :meth:`get_params`."""
        theta = _checks.finite_array("theta", theta)
        if theta.shape != (self.n_params,):
            raise ValueError(f"theta must have shape ({self.n_params},), got shape {theta.shape}")
        k = 0
        for i in range(self.n_layers):
            for attr in ("weights", "biases"):
                arr = getattr(self, attr)[i]
                getattr(self, attr)[i] = theta[k : k + arr.size].reshape(arr.shape).copy()
                k += arr.size

    def copy(self) -> MLP:
        """An independent copy (same sizes, activation and parameter values)."""
        new = object.__new__(MLP)
        new.sizes, new.activation, new.forward_passes = self.sizes, self.activation, 0
        new.weights = [w.copy() for w in self.weights]
        new.biases = [b.copy() for b in self.biases]
        return new

    # forward and backward
    def _check_X(self, X) -> Array:
        X = _checks.finite_array("X", X, ndim_min=1)
        if X.shape[-1] != self.sizes[0]:
            raise ValueError(f"X must have last axis of length {self.sizes[0]} (the input width), got shape {X.shape}")
        return X

    def _forward(self, X: Array) -> list[Array]:
        self.forward_passes += 1
        acts = [X]
        h = X
        last = self.n_layers - 1
        with np.errstate(over="ignore", invalid="ignore"):
            for i, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
                z = h @ W + b
                if i < last:
                    z = np.maximum(z, 0.0) if self.activation == "relu" else np.tanh(z)
                acts.append(z)
                h = z
        return acts

    def forward(self, X) -> list[Array]:
        """Every layer's activations ``[X, h_1, ..., h_{L-1}, logits]`` (``L + 1`` arrays).

        ``X`` has shape ``(..., sizes[0])``; any leading axes are carried through, so a grid of points
        of shape ``(a, b, sizes[0])`` gives activations of shape ``(a, b, sizes[l])``.
        """
        return self._forward(self._check_X(X))

    def logits(self, X) -> Array:
        """The output layer, ``forward(X)[-1]``."""
        return self.forward(X)[-1]

    def predict(self, X) -> Array:
        """Predicted class, the index of the largest logit."""
        return np.argmax(self.logits(X), axis=-1)

    def accuracy(self, X, y) -> float:
        """Fraction of the rows of ``X`` whose predicted class is ``y``."""
        X = self._check_X(X)
        y = _labels("y", y, X.shape[0], self.sizes[-1])
        return float(np.mean(np.argmax(self._forward(X)[-1], axis=-1) == y))

    def loss(self, X, y) -> float:
        """Mean softmax cross-entropy on the batch (one forward pass)."""
        X, y = self._check_batch(X, y)
        with np.errstate(all="ignore"):
            return _softmax_ce(self._forward(X)[-1], y)[0]

    def _check_batch(self, X, y) -> tuple[Array, Array]:
        X = self._check_X(X)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (n, {self.sizes[0]}), got shape {X.shape}")
        return X, _labels("y", y, X.shape[0], self.sizes[-1])

    def loss_and_grads(self, X, y) -> tuple[float, Grads]:
        r"""The mean softmax cross-entropy on a batch and its gradients, by a hand-written backward pass.

        With :math:`\delta_L = \partial L/\partial z` from :func:`softmax_cross_entropy`, the chain rule
        runs from the top layer down:

        .. math::
            \frac{\partial L}{\partial W_l} = h_{l-1}^\top \delta_l, \quad
            \frac{\partial L}{\partial b_l} = \mathbf 1^\top \delta_l, \quad
            \delta_{l-1} = (\delta_l W_l^\top) \odot \sigma'(\cdot),

        where :math:`\sigma'` is :math:`[h_{l-1} > 0]` for ReLU and :math:`1 - h_{l-1}^2` for tanh.
        One forward and one backward pass, whatever the number of parameters.

        Parameters
        ----------
        X : array_like, shape (n, sizes[0])
        y : array_like of int, shape (n,), values in ``0 .. sizes[-1]-1``

        Returns
        -------
        loss : float
        grads : list of (dW, db) pairs, one per layer, shaped like ``weights[l]`` and ``biases[l]``.
            If the network overflows, the loss is nan (no numpy warning is emitted).

        Reference: Rumelhart, Hinton & Williams, "Learning representations by back-propagating
        errors", Nature 323 (1986).
        """
        X, y = self._check_batch(X, y)
        return self._loss_and_grads(X, y)

    def _loss_and_grads(self, X: Array, y: Array) -> tuple[float, Grads]:
        with np.errstate(all="ignore"):
            acts = self._forward(X)
            loss, delta = _softmax_ce(acts[-1], y)
            grads: Grads = []
            for i in range(self.n_layers - 1, -1, -1):
                h = acts[i]
                grads.append((h.T @ delta, delta.sum(axis=0)))
                if i > 0:
                    back = delta @ self.weights[i].T
                    delta = back * (h > 0) if self.activation == "relu" else back * (1.0 - h * h)
        grads.reverse()
        return loss, grads


def flatten(grads: Grads) -> Array:
    """A list of (dW, db) pairs as one flat vector, in the layout of :meth:`MLP.get_params`."""
    return np.concatenate([a.ravel() for pair in grads for a in pair])


def numerical_grads(net: MLP, X, y, *, eps: float = 1e-6) -> Grads:
    r"""The naive gradient: wiggle one coefficient at a time and watch the loss (central differences).

    .. math::
        \frac{\partial L}{\partial \theta_j}
        \approx \frac{L(\theta + \epsilon e_j) - L(\theta - \epsilon e_j)}{2\epsilon}

    It costs two forward passes per parameter, ``2 * net.n_params`` in all, against one forward and
    one backward pass for :meth:`MLP.loss_and_grads`. The truncation error is :math:`O(\epsilon^2)`,
    the rounding error :math:`O(10^{-16} L / \epsilon)`. The network's parameters are restored.

    Returns
    -------
    list of (dW, db) pairs, like :meth:`MLP.loss_and_grads`.
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP, got {net!r}")
    X, y = net._check_batch(X, y)
    eps = _checks.positive("eps", eps)
    out: Grads = []

    def loss() -> float:
        with np.errstate(all="ignore"):
            return _softmax_ce(net._forward(X)[-1], y)[0]

    for W, b in zip(net.weights, net.biases, strict=True):
        pair = []
        for arr in (W, b):
            g = np.empty_like(arr)
            flat, gflat = arr.reshape(-1), g.reshape(-1)  # views: perturb in place
            for j in range(flat.size):
                keep = flat[j]
                flat[j] = keep + eps
                up = loss()
                flat[j] = keep - eps
                down = loss()
                flat[j] = keep
                gflat[j] = (up - down) / (2 * eps)
            pair.append(g)
        out.append((pair[0], pair[1]))
    return out


# --- training ----------------------------------------------------------------------------------


class Snapshot(NamedTuple):
    """The network's parameters at the end of an epoch (epoch 0 is the initialisation)."""

    epoch: int
    weights: list[Array]
    biases: list[Array]


class History(NamedTuple):
    """What :func:`train` records, one entry per epoch, entry 0 being before any update.

    ``loss`` and ``accuracy`` are on the whole training set; ``steps`` counts the updates so far;
    ``seconds`` is the wall-clock time spent in updates so far (not in these evaluations);
    ``snapshots`` holds copies of the parameters every ``snapshot_every`` epochs; ``diverged`` is
    True if the loss overflowed, in which case the remaining entries are nan.
    """

    loss: Array
    accuracy: Array
    steps: Array
    seconds: Array
    snapshots: list[Snapshot]
    diverged: bool


def train(
    net: MLP,
    X,
    y,
    *,
    lr: float,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    beta: float = 0.0,
    nesterov: bool = False,
    snapshot_every: int = 0,
) -> History:
    r"""Mini-batch stochastic gradient descent, the training loop, on ``net`` (modified in place).

    Each epoch shuffles the data and walks through it in batches :math:`B` of ``batch_size`` rows (the
    last one possibly smaller); for each batch: forward pass, loss, backward pass
    (:meth:`MLP.loss_and_grads`), update

    .. math:: \theta \leftarrow \theta - \gamma\, \nabla L_B(\theta) \quad (\beta = 0),

    or the momentum rule of :func:`gdlens.optimizers.momentum_rule` (``torch.optim.SGD``) when
    ``beta > 0``. ``batch_size=1`` is "true" SGD, ``batch_size=len(X)`` full-batch gradient descent.

    Parameters
    ----------
    net : MLP
    X : array_like, shape (n, sizes[0]);  y : array_like of int, shape (n,)
    lr : float
        Learning rate :math:`\gamma` > 0.
    epochs : int
        Passes over the data, >= 0.
    batch_size : int
        Rows per update, 1 <= batch_size <= n.
    rng : numpy.random.Generator
        Source of the shuffles.
    beta, nesterov
        Momentum coefficient in [0, 1) and the Nesterov variant.
    snapshot_every : int
        Keep a copy of the parameters every this many epochs (0: none; epoch 0 and the last epoch
        are included when > 0).

    Returns
    -------
    History

    Reference: Robbins & Monro (1951); Bottou, Curtis & Nocedal, SIAM Review 60 (2018).
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP, got {net!r}")
    X, y = net._check_batch(X, y)
    lr = _checks.positive("lr", lr)
    epochs = _checks.count("epochs", epochs)
    n = X.shape[0]
    batch_size = _checks.count("batch_size", batch_size, minimum=1)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= the number of examples {n}, got {batch_size}")
    rng = _checks.generator("rng", rng)
    beta = _checks.in_interval("beta", beta, 0.0, 1.0)
    snapshot_every = _checks.count("snapshot_every", snapshot_every)
    rule = _opt.momentum_rule(lr, beta, bool(nesterov)) if beta > 0 else _opt.gd_rule(lr)

    params = [a for w, b in zip(net.weights, net.biases, strict=True) for a in (w, b)]
    states = [rule.init(p) for p in params]
    loss_hist = np.full(epochs + 1, np.nan)
    acc_hist = np.full(epochs + 1, np.nan)
    steps = np.zeros(epochs + 1, dtype=np.int64)
    seconds = np.zeros(epochs + 1)
    snapshots: list[Snapshot] = []

    def record(epoch: int) -> bool:
        with np.errstate(all="ignore"):
            logits = net._forward(X)[-1]
            loss = _softmax_ce(logits, y)[0]
        if not np.isfinite(loss):
            return False
        loss_hist[epoch] = loss
        acc_hist[epoch] = np.mean(np.argmax(logits, axis=1) == y)
        if snapshot_every and (epoch % snapshot_every == 0 or epoch == epochs):
            snapshots.append(Snapshot(epoch, [w.copy() for w in net.weights], [b.copy() for b in net.biases]))
        return True

    diverged = not record(0)
    elapsed, count = 0.0, 0
    for epoch in range(1, epochs + 1):
        if diverged:
            break
        start = time.perf_counter()
        order = rng.permutation(n)
        for s in range(0, n, batch_size):
            idx = order[s : s + batch_size]
            _, grads = net._loss_and_grads(X[idx], y[idx])
            flat = [g for pair in grads for g in pair]
            for k, (p, g) in enumerate(zip(params, flat, strict=True)):
                update, states[k] = rule.update(g, states[k], p)
                p += update  # in place: net.weights / net.biases see the change
            count += 1
        elapsed += time.perf_counter() - start
        steps[epoch], seconds[epoch] = count, elapsed
        diverged = not record(epoch)
    if diverged:
        steps[np.isnan(loss_hist)] = -1
        seconds[np.isnan(loss_hist)] = np.nan
    return History(loss_hist, acc_hist, steps, seconds, snapshots, bool(diverged))


def load(net: MLP, snapshot: Snapshot) -> MLP:
    """A copy of ``net`` with the parameters of ``snapshot``."""
    new = net.copy()
    new.weights = [w.copy() for w in snapshot.weights]
    new.biases = [b.copy() for b in snapshot.biases]
    return new


# --- probes: how linearly separable is a representation? ---------------------------------------


class Probe(NamedTuple):
    """A fitted linear classifier ``argmax(H @ weights + bias)`` and its training accuracy.

    ``losses`` is the regularised cross-entropy after each Newton step (non-increasing).
    """

    weights: Array
    bias: Array
    accuracy: float
    losses: Array

    def predict(self, H) -> Array:
        return np.argmax(np.asarray(H, dtype=np.float64) @ self.weights + self.bias, axis=-1)


def linear_probe(H, y, *, n_classes: int | None = None, steps: int = 25, ridge: float = 1e-4) -> Probe:
    r"""A linear classifier fitted to a representation ``H``: ridge-regularised multinomial logistic regression.

    It is a good linear classifier, not the best one: it minimises a smooth surrogate of the error, so
    where classes overlap another hyperplane may make fewer errors, and on separable data it may (with
    its ridge) miss a separating hyperplane. For the yes-or-no question use :func:`linear_separability`.

    The columns of ``H`` are standardised (constant columns left as they are), a column of ones is
    appended, giving :math:`Z \in \mathbb R^{n \times (d+1)}`, and the strictly convex loss

    .. math::
        F(V) = \frac1n \sum_i \Big(\log\sum_k e^{(ZV)_{ik}} - (ZV)_{i y_i}\Big)
        + \frac{\lambda}{2} \lVert V \rVert^2

    is minimised from :math:`V = 0` by a fixed number of Newton steps with backtracking (Armijo) line
    search, stopping early once the gradient vanishes to rounding. The Hessian is
    :math:`\frac1n\sum_i (\operatorname{diag} p_i - p_i p_i^\top) \otimes z_i z_i^\top + \lambda I`. Every
    step lowers :math:`F`, and the result is deterministic.

    Parameters
    ----------
    H : array_like, shape (n, d)
        The representation (a layer's activations).
    y : array_like of int, shape (n,)
    n_classes : int, optional
        Number of classes (default ``max(y) + 1``, at least 2).
    steps : int
        Maximum number of Newton steps, >= 1.
    ridge : float
        :math:`\lambda` > 0, on the standardised features.

    Returns
    -------
    Probe
        Weights and bias acting on the raw ``H``, the training accuracy, and :math:`F` after each step.

    Reference: Nocedal & Wright, *Numerical Optimization* (2006), ch. 3; Alain & Bengio,
    "Understanding intermediate layers using linear classifier probes" (2016).
    """
    H = _checks.finite_array("H", H)
    if H.ndim != 2 or H.shape[0] < 1:
        raise ValueError(f"H must have shape (n, d) with n >= 1, got shape {H.shape}")
    n, d = H.shape
    arr = np.asarray(y)
    if n_classes is not None:
        k = _checks.count("n_classes", n_classes, minimum=2)
    else:
        k = max(2, int(np.max(arr)) + 1) if arr.size and arr.dtype.kind in "iuf" else 2
    y = _labels("y", y, n, k)
    steps = _checks.count("steps", steps, minimum=1)
    ridge = _checks.positive("ridge", ridge)
    mean = H.mean(axis=0)
    scale = H.std(axis=0)
    scale = np.where(scale > 1e-12 * (1 + np.abs(mean)), scale, 1.0)
    Z = np.hstack([(H - mean) / scale, np.ones((n, 1))])
    m = d + 1

    def objective(V):
        loss, dz = _softmax_ce(Z @ V, y)
        return loss + 0.5 * ridge * np.sum(V * V), dz

    V = np.zeros((m, k))
    f, dz = objective(V)
    losses = np.empty(steps)
    for t in range(steps):
        G = Z.T @ dz + ridge * V
        if np.max(np.abs(G)) < 1e-11:
            losses[t:] = f
            break
        p = dz * n  # softmax - onehot
        p[np.arange(n), y] += 1.0  # softmax
        # Hessian blocks: sum_i z_i z_i^T * (p_ia [a=b] - p_ia p_ib) / n, laid out as (m, k, m, k)
        hess = np.empty((m, k, m, k))
        for a in range(k):
            for b in range(a, k):
                w = p[:, a] * ((a == b) - p[:, b])
                hess[:, a, :, b] = (Z * w[:, None]).T @ Z / n
                hess[:, b, :, a] = hess[:, a, :, b]
        hess = hess.reshape(m * k, m * k) + ridge * np.eye(m * k)
        step = np.linalg.solve(hess, G.reshape(-1)).reshape(m, k)
        slope = float(np.sum(G * step))
        alpha = 1.0
        for _ in range(40):
            f_new, dz_new = objective(V - alpha * step)
            if f_new <= f - 1e-4 * alpha * slope:
                break
            alpha *= 0.5
        else:  # no decrease at the scale of rounding: converged
            losses[t:] = f
            break
        V, f, dz = V - alpha * step, f_new, dz_new
        losses[t] = f
    W = V[:d] / scale[:, None]
    b = V[d] - mean @ W
    acc = float(np.mean(np.argmax(H @ W + b, axis=1) == y))
    return Probe(W, b, acc, losses)


def layer_separability(net: MLP, X, y, **probe_kwargs) -> Array:
    """Probe accuracy of every layer's activations ``forward(X)`` (input first, logits last)."""
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP, got {net!r}")
    X, y = net._check_batch(X, y)
    return np.array([linear_probe(h, y, n_classes=net.sizes[-1], **probe_kwargs).accuracy for h in net._forward(X)])


# --- momentum written with a velocity ----------------------------------------------------------

MOMENTUM_FORMS = ("source", "heavy-ball", "sutskever")


def velocity_momentum(
    grad: Callable[[Array], Array], x0, *, lr: float, beta: float, steps: int, form: str = "source"
) -> tuple[Array, Array]:
    r"""Momentum with an explicit velocity :math:`v` (:math:`v_0 = 0`), in three forms.

    ``"source"`` — the rule as Chollet writes it (the momentum appears twice):

    .. math:: v_{t+1} = \beta v_t - \gamma \nabla f(w_t), \qquad w_{t+1} = w_t + \beta v_{t+1} - \gamma \nabla f(w_t).

    ``"heavy-ball"`` — Polyak's: :math:`v_{t+1} = \beta v_t - \gamma \nabla f(w_t)`, :math:`w_{t+1} = w_t + v_{t+1}`.

    ``"sutskever"`` — Nesterov's, as Sutskever et al. write it, with the gradient at the look-ahead point:
    :math:`v_{t+1} = \beta v_t - \gamma \nabla f(w_t + \beta v_t)`, :math:`w_{t+1} = w_t + v_{t+1}`.

    With :math:`v = -\gamma b`, "heavy-ball" is ``optimizers.momentum(nesterov=False)`` and "source" is
    ``optimizers.momentum(nesterov=True)`` exactly; "sutskever" is "source" in the variable
    :math:`u_t = w_t + \beta v_t`.

    Returns
    -------
    positions, velocities : ndarrays of shape ``(steps + 1, *x0.shape)``
        Iterates :math:`w_t` and :math:`v_t`; rows after an overflow are nan.

    References: Polyak (1964); Sutskever, Martens, Dahl & Hinton, ICML 2013; Bengio,
    Boulanger-Lewandowski & Pascanu, ICASSP 2013 (the "source" form); Chollet (2021), §2.4.3.
    """
    _checks.function("grad", grad)
    w = _checks.finite_array("x0", x0)
    lr = _checks.positive("lr", lr)
    beta = _checks.in_interval("beta", beta, 0.0, 1.0)
    steps = _checks.count("steps", steps)
    form = _checks.choice("form", form, MOMENTUM_FORMS)
    ws = np.full((steps + 1, *w.shape), np.nan)
    vs = np.full((steps + 1, *w.shape), np.nan)
    v = np.zeros_like(w)
    ws[0], vs[0] = w, v
    with np.errstate(all="ignore"):
        for t in range(steps):
            if form == "sutskever":
                v = beta * v - lr * np.asarray(grad(w + beta * v), dtype=np.float64)
                w = w + v
            else:
                g = np.asarray(grad(w), dtype=np.float64)
                v = beta * v - lr * g
                w = w + beta * v - lr * g if form == "source" else w + v
            if not (np.all(np.isfinite(w)) and np.all(np.isfinite(v))):
                break
            ws[t + 1], vs[t + 1] = w, v
    return ws, vs


# --- exact linear separability: a linear programme ---------------------------------------------


class Separability(NamedTuple):
    """The answer of :func:`linear_separability`.

    ``separable`` is True when the two classes can be split by a hyperplane with a positive margin;
    ``margin`` is the optimal margin :math:`t^\\star` of the linear programme (0 when not separable);
    ``weights`` and ``bias`` act on the raw representation (``sign(H @ weights + bias)`` gives the side).
    """

    separable: bool
    margin: float
    weights: Array
    bias: float


def linear_separability(H, y, *, tol: float = 1e-7) -> Separability:
    r"""Exact test of linear separability of two classes by a linear programme.

    With the columns of ``H`` standardised to :math:`z_i` (constant columns become zero) and labels
    :math:`s_i = \pm 1`, solve

    .. math::
        t^\star = \max_{w, b, t}\ t \quad \text{subject to} \quad s_i (z_i^\top w + b) \ge t \ (\text{all } i),
        \qquad -1 \le w_j \le 1 .

    :math:`t = 0, w = 0` is always feasible, so :math:`t^\star \ge 0`; with both classes present
    :math:`t^\star` is finite (adding the constraints of a point of each class bounds :math:`2t`); and
    :math:`t^\star > 0` exactly when a hyperplane separates the classes strictly: :math:`t^\star` is
    their margin measured in the :math:`\ell_1` norm of the standardised coordinates (the dual of the
    box :math:`\lVert w\rVert_\infty \le 1`).
    Unlike a fitted classifier, the answer does not depend on a loss or a number of iterations; it is
    exact up to the solver's feasibility tolerance (HiGHS, 1e-7), hence the threshold ``tol``.

    Parameters
    ----------
    H : array_like, shape (n, d)
        The representation (a layer's activations).
    y : array_like of int, shape (n,), values in {0, 1}, both present.
    tol : float
        Margins at or below ``tol`` count as not separable (> 0).

    Returns
    -------
    Separability

    Reference: Boyd & Vandenberghe, *Convex Optimization* (2004), §8.6.1 (linear discrimination).
    """
    from scipy.optimize import linprog

    H = _checks.finite_array("H", H)
    if H.ndim != 2 or H.shape[0] < 2:
        raise ValueError(f"H must have shape (n, d) with n >= 2, got shape {H.shape}")
    n, d = H.shape
    y = _labels("y", y, n, 2)
    if np.all(y == y[0]):
        raise ValueError("y must contain both classes 0 and 1")
    tol = _checks.positive("tol", tol)
    mean = H.mean(axis=0)
    scale = H.std(axis=0)
    scale = np.where(scale > 1e-12 * (1 + np.abs(mean)), scale, np.inf)  # constant columns -> 0
    Z = (H - mean) / scale
    s = 2.0 * y - 1.0
    # variables (w_1..w_d, b, t); minimise -t;  -s_i (z_i w + b) + t <= 0
    c = np.zeros(d + 2)
    c[-1] = -1.0
    A = np.hstack([-s[:, None] * Z, -s[:, None], np.ones((n, 1))])
    bounds = [(-1.0, 1.0)] * d + [(None, None), (None, None)]
    res = linprog(c, A_ub=A, b_ub=np.zeros(n), bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the programme is always feasible and bounded
        raise RuntimeError(f"the separability programme did not solve: {res.message}")
    margin = float(-res.fun)
    margin = margin if margin > 0 else 0.0  # never -0.0
    w = res.x[:d] / scale
    b = float(res.x[d] - mean @ w)
    return Separability(margin > tol, margin, w, b)


# --- many learning rates at once -----------------------------------------------------------------


class Sweep(NamedTuple):
    """What :func:`train_sweep` records: the full-data loss of every run at the recorded steps.

    ``loss[k, j]`` is the loss of learning rate ``lrs[k]`` after ``steps[j]`` updates (nan after a
    divergence); ``examples = steps * batch_size`` counts the single-example gradients computed.
    """

    lrs: Array
    steps: Array
    loss: Array
    batch_size: int

    @property
    def examples(self) -> Array:
        return self.steps * self.batch_size

    def best(self) -> Array:
        """The lower envelope over learning rates, ``nanmin(loss, axis=0)`` (inf where every run diverged)."""
        safe = np.where(np.isfinite(self.loss), self.loss, np.inf)
        return safe.min(axis=0)


def train_sweep(net: MLP, X, y, *, lrs, batch_size: int, steps: int, rng: np.random.Generator, record=None) -> Sweep:
    r"""Plain mini-batch SGD at many learning rates at once, :math:`\theta \leftarrow \theta - \gamma_k \nabla L_B`.

    Every run starts from the parameters of ``net`` (left unchanged) and sees the same sequence of
    batches (reshuffled each epoch, as :func:`train` does); the runs differ only in :math:`\gamma`. The
    networks are stacked along a leading axis, so one step of all of them costs about one step of one
    (vectorised, batched matrix products). ReLU activations only.

    Parameters
    ----------
    net : MLP (activation "relu")
    X, y : the training set
    lrs : sequence of float > 0, the learning rates :math:`\gamma_k`
    batch_size : int, 1 <= B <= n
    steps : int, number of updates >= 1
    rng : numpy.random.Generator, source of the shuffles
    record : sequence of int in [0, steps], optional
        The step counts at which the full-data loss is recorded (default every step).

    Returns
    -------
    Sweep

    Reference: Bottou, Curtis & Nocedal, SIAM Review 60 (2018), §4.
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP, got {net!r}")
    if net.activation != "relu":
        raise ValueError(f"train_sweep supports relu networks, got activation {net.activation!r}")
    X, y = net._check_batch(X, y)
    lrs = _checks.finite_array("lrs", lrs)
    if lrs.ndim != 1 or lrs.size < 1 or np.any(lrs <= 0):
        raise ValueError(f"lrs must be a non-empty 1-d sequence of positive numbers, got {lrs!r}")
    n = X.shape[0]
    batch_size = _checks.count("batch_size", batch_size, minimum=1)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= the number of examples {n}, got {batch_size}")
    steps = _checks.count("steps", steps, minimum=1)
    rng = _checks.generator("rng", rng)
    rec = np.arange(steps + 1) if record is None else np.unique(np.asarray(record, dtype=np.int64))
    if rec.size == 0 or rec.min() < 0 or rec.max() > steps:
        raise ValueError(f"record must hold step counts in [0, {steps}], got {record!r}")
    k = lrs.size
    Ws = [np.repeat(W[None], k, axis=0) for W in net.weights]
    bs = [np.repeat(b[None, None], k, axis=0) for b in net.biases]
    rate = lrs[:, None, None]
    loss = np.full((k, rec.size), np.nan)
    alive = np.ones(k, dtype=bool)
    rows = np.arange(n)

    def forward(Xb):
        acts = [np.broadcast_to(Xb, (k, *Xb.shape))]
        for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
            z = acts[-1] @ W + b
            acts.append(np.maximum(z, 0.0) if i < len(Ws) - 1 else z)
        return acts

    def full_loss():
        z = forward(X)[-1]
        shifted = z - z.max(axis=2, keepdims=True)
        return np.mean(np.log(np.exp(shifted).sum(axis=2)) - shifted[:, rows, y], axis=1)

    order, pos, j = rng.permutation(n), 0, 0
    with np.errstate(all="ignore"):
        for t in range(steps + 1):
            if j < rec.size and rec[j] == t:
                value = full_loss()
                alive &= np.isfinite(value)
                loss[:, j] = np.where(alive, value, np.nan)
                j += 1
            if t == steps:
                break
            if pos >= n:
                order, pos = rng.permutation(n), 0
            idx = order[pos : pos + batch_size]
            pos += batch_size
            acts = forward(X[idx])
            z = acts[-1]
            shifted = z - z.max(axis=2, keepdims=True)
            p = np.exp(shifted)
            p /= p.sum(axis=2, keepdims=True)
            p[:, np.arange(idx.size), y[idx]] -= 1.0
            delta = p / idx.size
            for i in range(len(Ws) - 1, -1, -1):
                h = acts[i]
                gW = np.swapaxes(h, 1, 2) @ delta
                gb = delta.sum(axis=1, keepdims=True)
                if i > 0:
                    delta = (delta @ np.swapaxes(Ws[i], 1, 2)) * (h > 0)
                Ws[i] -= rate * gW
                bs[i] -= rate * gb
    return Sweep(lrs, rec, loss, batch_size)


def random_relu_features(X, width: int, *, rng: np.random.Generator, scale: float = 1.0) -> Array:
    r"""One untrained ReLU layer of ``width`` units whose folds pass through random data points.

    .. math:: h_{ij} = \operatorname{relu}\big((x_i - x_{I_j})^\top W_{\cdot j}\big), \qquad
        W_{kj} \sim N(0, 2\,\text{scale}^2 / n_\text{in}),

    that is, unit :math:`j` has weights :math:`W_{\cdot j}` and bias :math:`b_j = -x_{I_j}^\top W_{\cdot j}` for a
    data point :math:`x_{I_j}` drawn at random, so every fold cuts through the data. A random-features
    model (Rahimi & Recht, NeurIPS 2007): the control for what training adds.

    Returns
    -------
    ndarray, shape (n, width)
    """
    X = _checks.finite_array("X", X)
    if X.ndim != 2 or X.shape[0] < 1:
        raise ValueError(f"X must have shape (n, d) with n >= 1, got shape {X.shape}")
    width = _checks.count("width", width, minimum=1)
    rng = _checks.generator("rng", rng)
    scale = _checks.positive("scale", scale)
    n, d = X.shape
    W = rng.standard_normal((d, width)) * scale * np.sqrt(2.0 / d)
    b = -np.einsum("jd,dj->j", X[rng.integers(0, n, width)], W)
    return np.maximum(X @ W + b, 0.0)
