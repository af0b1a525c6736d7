"""Tasks: modular arithmetic (Power et al.), Kumar et al.'s polynomial regression, and
Saxe et al.'s linear map with chosen singular values.

Each task is a frozen result holding numpy arrays; ``task.splits()`` gives the
``{"train": (x, y), "test": (x, y)}`` dict of torch tensors that the probes in
:mod:`toolkit.probes` take as ``data``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_array, in_range, one_of, positive
from .._result import Result

__all__ = ["ModularTask", "modular_task", "OPERATIONS", "PolynomialTask", "polynomial_task",
           "LinearTask", "linear_task", "is_prime"]

#: name → (formula, needs a prime modulus)
OPERATIONS = {
    "add": ("(a + b) mod p", False),
    "subtract": ("(a − b) mod p", False),
    "multiply": ("(a · b) mod p", True),
    "divide": ("(a · b⁻¹) mod p, b ≠ 0", True),
    "quadratic": ("(a² + ab + b²) mod p", False),
}


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % k for k in range(2, int(n**0.5) + 1))


def _apply(op: str, a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    if op == "add":
        return (a + b) % p
    if op == "subtract":
        return (a - b) % p
    if op == "multiply":
        return (a * b) % p
    if op == "divide":
        inv = np.array([pow(int(v), -1, p) if v else 0 for v in range(p)])
        return (a * inv[b]) % p
    return (a * a + a * b + b * b) % p


def _split_sizes(n: int, train_fraction: float):
    n_train = int(round(train_fraction * n))
    if not 0 < n_train < n:
        raise ValueError(f"train_fraction: {train_fraction} leaves an empty train or test set "
                         f"for {n} examples")
    return n_train


@dataclass(frozen=True, repr=False)
class ModularTask(Result):
    """All pairs (a, b) of a binary operation mod p, split at random into train and test.

    ``inputs`` (n, 2) int64 in row-major order over (a, b) (for ``divide`` the pairs with
    b = 0 are left out), ``targets`` (n,), ``train`` boolean mask (n,).
    """

    operation: str
    p: int
    train_fraction: float
    seed: int
    inputs: np.ndarray
    targets: np.ndarray
    train: np.ndarray

    @property
    def n_train(self) -> int:
        return int(self.train.sum())

    def splits(self, device=None) -> dict:
        """``{"train": (x, y), "test": (x, y)}`` as torch int64 tensors."""
        import torch

        x = torch.as_tensor(self.inputs, dtype=torch.int64, device=device)
        y = torch.as_tensor(self.targets, dtype=torch.int64, device=device)
        tr = torch.as_tensor(self.train, device=device)
        return {"train": (x[tr], y[tr]), "test": (x[~tr], y[~tr])}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"a": self.inputs[:, 0], "b": self.inputs[:, 1],
                             "target": self.targets, "train": self.train})

    def plot(self):
        """The (a, b) grid: the result of the operation, with train pairs marked."""
        import holoviews as hv

        from ..viz import _ensure_theme

        _ensure_theme()
        grid = np.full((self.p, self.p), np.nan)
        grid[self.inputs[:, 0], self.inputs[:, 1]] = self.targets
        img = hv.Image(grid, bounds=(-0.5, -0.5, self.p - 0.5, self.p - 0.5),
                       kdims=["b", "a"], vdims=["target"])
        pts = hv.Points(self.inputs[self.train][:, ::-1].astype(float), ["b", "a"]).opts(
            size=1.5, color="white", alpha=0.6)
        title = f"{OPERATIONS[self.operation][0]}, p = {self.p}: " \
                f"{self.n_train} train pairs (dots)"
        return (img * pts).opts(title=title)


def modular_task(operation: str = "add", p: int = 97, train_fraction: float = 0.3,
                 seed: int = 0) -> ModularTask:
    """All pairs of ``operation`` mod ``p`` with a random ``train_fraction`` for training.

    ``operation``: ``"add"``, ``"subtract"``, ``"multiply"``, ``"divide"`` or
    ``"quadratic"`` (a² + ab + b²). Multiplication and division need a prime p.
    """
    one_of(operation, "task", OPERATIONS)
    p = positive(p, "p", integer=True)
    if p < 2:
        raise ValueError(f"p: must be at least 2, got {p}")
    if OPERATIONS[operation][1] and not is_prime(p):
        raise ValueError(f"p: {operation!r} needs a prime modulus, got {p}")
    in_range(train_fraction, "train_fraction", 0, 1, inclusive=(False, False))
    a, b = (g.ravel() for g in np.meshgrid(np.arange(p), np.arange(p), indexing="ij"))
    if operation == "divide":
        a, b = a[b != 0], b[b != 0]
    n_train = _split_sizes(len(a), train_fraction)
    rng = np.random.default_rng(seed)
    train = np.zeros(len(a), dtype=bool)
    train[rng.permutation(len(a))[:n_train]] = True
    return ModularTask(operation, p, float(train_fraction), int(seed),
                       np.stack([a, b], axis=1).astype(np.int64), _apply(operation, a, b, p),
                       train)


@dataclass(frozen=True, repr=False)
class PolynomialTask(Result):
    """Kumar et al.'s target y = (β·x)²/2 with x ~ N(0, I/D); ``beta`` has ‖β‖² = D."""

    beta: np.ndarray
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seed: int

    @property
    def D(self) -> int:
        return len(self.beta)

    def splits(self) -> dict:
        import torch

        t = lambda a: torch.as_tensor(a, dtype=torch.float64)
        return {"train": (t(self.x_train), t(self.y_train)),
                "test": (t(self.x_test), t(self.y_test))}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"split": ["train", "test"],
                             "n": [len(self.y_train), len(self.y_test)],
                             "y_var": [self.y_train.var(), self.y_test.var()]})

    def plot(self):
        import holoviews as hv

        from ..viz import _ensure_theme

        _ensure_theme()
        return hv.Histogram(np.histogram(self.y_train, bins=40), "y").opts(
            title=f"targets, D = {self.D}, {len(self.y_train)} train samples")


def polynomial_task(D: int = 40, n_train: int = 600, n_test: int = 4000,
                    seed: int = 0) -> PolynomialTask:
    """Kumar et al.'s quadratic regression task (inputs N(0, I/D), y = (β·x)²/2)."""
    D = positive(D, "D", integer=True)
    n_train = positive(n_train, "n_train", integer=True)
    n_test = positive(n_test, "n_test", integer=True)
    rng = np.random.default_rng(seed)
    beta = rng.standard_normal(D)
    beta *= np.sqrt(D) / np.linalg.norm(beta)

    def sample(n):
        x = rng.standard_normal((n, D)) / np.sqrt(D)
        return x, 0.5 * (x @ beta) ** 2

    x_tr, y_tr = sample(n_train)
    x_te, y_te = sample(n_test)
    return PolynomialTask(beta, x_tr, y_tr, x_te, y_te, int(seed))


@dataclass(frozen=True, repr=False)
class LinearTask(Result):
    """Saxe et al.'s task: whitened inputs and the input–output correlation
    Σ₃₁ = U diag(s) Vᵀ. ``U`` (n_out, r), ``V`` (n_in, r), ``s`` (r,) descending."""

    U: np.ndarray
    s: np.ndarray
    V: np.ndarray

    @property
    def sigma31(self) -> np.ndarray:
        return (self.U * self.s) @ self.V.T

    def splits(self) -> dict:
        """Whitened inputs (the identity batch) and targets Σ₃₁ xᵢ: the squared loss on
        this batch is ½‖Σ₃₁ − W₂W₁‖²_F up to the batch size."""
        import torch

        n_in = self.V.shape[0]
        x = torch.eye(n_in, dtype=torch.float64)
        y = torch.as_tensor(self.sigma31.T.copy())
        return {"train": (x, y)}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"mode": np.arange(len(self.s)), "s": self.s})

    def plot(self):
        import holoviews as hv

        from ..viz import _ensure_theme

        _ensure_theme()
        return hv.Bars(self.to_frame(), "mode", "s").opts(title="singular values of Σ₃₁")


def linear_task(singular_values=(3.0, 2.0, 1.0, 0.5), n_in: int = 8, n_out: int = 8,
                seed: int = 0) -> LinearTask:
    """Σ₃₁ with the given singular values and random orthonormal singular vectors."""
    s = as_array(singular_values, "singular_values", ndim=1, min_length=1)
    if np.any(s <= 0):
        raise ValueError("singular_values: must all be positive")
    n_in = positive(n_in, "n_in", integer=True)
    n_out = positive(n_out, "n_out", integer=True)
    r = len(s)
    if r > min(n_in, n_out):
        raise ValueError(f"singular_values: {r} modes need n_in and n_out ≥ {r}")
    rng = np.random.default_rng(seed)
    U = np.linalg.qr(rng.standard_normal((n_out, n_out)))[0][:, :r]
    V = np.linalg.qr(rng.standard_normal((n_in, n_in)))[0][:, :r]
    order = np.argsort(-s)
    return LinearTask(U[:, order], s[order].copy(), V[:, order])
