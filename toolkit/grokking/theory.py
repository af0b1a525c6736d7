"""Closed-form learning dynamics to hold simulations against.

Saxe, McClelland & Ganguli (2013): a deep linear network W₂W₁ trained by gradient descent
(step η, τ = 1/η) on whitened inputs, L = ½‖Σ₃₁ − W₂W₁‖²_F, learns each singular mode
of Σ₃₁ = U diag(s) Vᵀ along a sigmoid

    u(t) = s e^{2st/τ} / (e^{2st/τ} − 1 + s/u₀),

exactly (in continuous time) when the initialisation is decoupled and balanced.

Kumar, Bordelon, Gershman & Pehlevan (2023): for f(x) = α·mean_i φ(w_i·x),
φ(z) = z + εz²/2, target y = (β·x)²/2 and x ~ N(0, I/D), the test MSE is t₁ + t₂ + t₃
with M = WᵀW/N:

    t₁ = (αε·tr M/(2D) − ‖β‖²/(2D))²,  t₂ = ½·mean((αεM − ββᵀ)²),  t₃ = α²‖mean_i w_i‖²/D.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_array, positive
from .._result import Result

__all__ = ["saxe_mode_strength", "saxe_learning_time", "balanced_init", "mode_strengths",
           "mode_strength_probe", "simulate_deep_linear", "ModeDynamics",
           "kumar_statistics", "KumarStatistics", "monte_carlo_test_loss",
           "kumar_probe", "train_kumar", "kumar_alpha_sweep", "AlphaSweep", "loss_drop_step"]


# ------------------------------------------------------------------ Saxe et al.
def saxe_mode_strength(s, u0, t, lr: float) -> np.ndarray:
    """Closed-form mode strengths u(t) for singular values ``s`` (r,) from ``u0`` (scalar
    or (r,)) at steps ``t`` (T,) with step size ``lr``; returns (T, r)."""
    s = as_array(s, "s", ndim=1, min_length=1)
    if np.any(s <= 0):
        raise ValueError("s: singular values must be positive")
    u0 = np.broadcast_to(as_array(u0, "u0", ndim=(0, 1)), s.shape)
    if np.any(u0 <= 0) or np.any(u0 >= s):
        raise ValueError("u0: initial strengths must lie in (0, s)")
    t = as_array(t, "t", ndim=1)
    lr = positive(lr, "lr")
    e = np.exp(np.clip(2 * s[None, :] * t[:, None] * lr, None, 700))
    return s * e / (e - 1 + s / u0)


def saxe_learning_time(s, u0, uf, lr: float) -> np.ndarray:
    """Steps for a mode to grow from ``u0`` to ``uf``: (τ/2s) ln[u_f(s − u₀)/(u₀(s − u_f))].
    With ``uf = s/2`` (roughly) this is the half-time (τ/2s) ln(s/u₀ − 1)."""
    s = as_array(s, "s", ndim=(0, 1))
    u0 = as_array(u0, "u0", ndim=(0, 1))
    uf = as_array(uf, "uf", ndim=(0, 1))
    lr = positive(lr, "lr")
    if np.any(u0 <= 0) or np.any(u0 >= s) or np.any(uf <= 0) or np.any(uf >= s):
        raise ValueError("u0: u0 and uf must lie in (0, s)")
    return np.log(uf * (s - u0) / (u0 * (s - uf))) / (2 * s * lr)


def balanced_init(model, task, u0, *, seed: int = 0):
    """Set ``model`` (a :class:`~toolkit.grokking.models.DeepLinear`) to the decoupled,
    balanced initialisation W₁ = R diag(√u₀) Vᵀ, W₂ = U diag(√u₀) Rᵀ (R: orthonormal
    columns in the hidden layer), so every mode starts at strength u₀ and stays
    decoupled."""
    import torch

    r = len(task.s)
    if model.n_hidden < r:
        raise ValueError(f"model: n_hidden = {model.n_hidden} < {r} modes; widen the hidden layer")
    if model.W1.shape != (model.n_hidden, task.V.shape[0]) or model.W2.shape[0] != task.U.shape[0]:
        raise ValueError("model: its sizes do not match the task's n_in and n_out")
    u0 = np.broadcast_to(as_array(u0, "u0", ndim=(0, 1)), (r,))
    if np.any(u0 <= 0):
        raise ValueError("u0: must be positive")
    rng = np.random.default_rng(seed)
    R = np.linalg.qr(rng.standard_normal((model.n_hidden, model.n_hidden)))[0][:, :r]
    root = np.sqrt(u0)
    with torch.no_grad():
        model.W1.copy_(torch.as_tensor((R * root) @ task.V.T))
        model.W2.copy_(torch.as_tensor((task.U * root) @ R.T))
    return model


def mode_strengths(model, task) -> np.ndarray:
    """u_α = a_αᵀ W₂W₁ b_α for each mode α of the task (a: U columns, b: V columns)."""
    W = model.product().detach().cpu().double().numpy()
    return np.einsum("oa,oi,ia->a", task.U, W, task.V)


def mode_strength_probe(task, every: int = 1):
    """Probe logging ``"mode/<α>"``: each mode's strength (data ignored)."""
    from ..probes.core import Probe

    return Probe("mode", lambda model, data: {str(i): v for i, v in
                                              enumerate(mode_strengths(model, task))}, every)


@dataclass(frozen=True, repr=False)
class ModeDynamics(Result):
    """Simulated (``simulated``) and closed-form (``theory``) mode strengths, (T, r), at
    ``steps``, for singular values ``s``; ``max_relative_error``: per mode, the maximum
    over time of |simulated − theory|/s."""

    steps: np.ndarray
    simulated: np.ndarray
    theory: np.ndarray
    s: np.ndarray
    lr: float

    @property
    def max_relative_error(self) -> np.ndarray:
        return np.max(np.abs(self.simulated - self.theory), axis=0) / self.s

    def to_frame(self):
        import pandas as pd

        rows = []
        for a in range(len(self.s)):
            rows.append(pd.DataFrame({"step": self.steps, "mode": a, "s": self.s[a],
                                      "simulated": self.simulated[:, a],
                                      "theory": self.theory[:, a]}))
        return pd.concat(rows, ignore_index=True)

    def plot(self, title: str = ""):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        els = []
        for a, s in enumerate(self.s):
            c = PALETTE[a % len(PALETTE)]
            els.append(hv.Curve((self.steps, self.theory[:, a]), "step", "mode strength u",
                                label=f"s = {s:g} theory").opts(color=c, line_dash="dashed"))
            els.append(hv.Scatter((self.steps, self.simulated[:, a]), "step", "mode strength u",
                                  label=f"s = {s:g} simulated").opts(color=c, size=3))
        worst = float(self.max_relative_error.max())
        return hv.Overlay(els).opts(
            title=title or f"η·s_max = {self.lr * self.s.max():.3g}: max error {worst:.1%} of s",
            width=640, legend_position="right")


def simulate_deep_linear(task, *, lr: float = 0.01, n_steps: int = 2000, u0: float = 1e-3,
                         init: str = "balanced", n_hidden: int | None = None,
                         init_scale: float = 1e-3, log_every: int = 5, seed: int = 0,
                         probes=(), on_log=None, progress: bool = False) -> ModeDynamics:
    """Train a deep linear network on ``task`` (a :class:`~toolkit.grokking.tasks.LinearTask`)
    by plain gradient descent on ½‖Σ₃₁ − W₂W₁‖²_F and compare with Saxe's closed form.

    ``init="balanced"``: decoupled balanced init at strength ``u0`` (the closed form is
    then exact up to time discretisation); ``"random"``: N(0, init_scale²) entries, the
    closed form started from the measured initial strengths. Runs through
    :func:`toolkit.training.fit` (extra ``probes`` and ``on_log`` are passed on).
    """
    import torch

    from ..training import fit
    from .models import DeepLinear

    if init not in ("balanced", "random"):
        raise ValueError(f"init: choose 'balanced' or 'random', got {init!r}")
    lr = positive(lr, "lr")
    n_in, n_out = task.V.shape[0], task.U.shape[0]
    n_hidden = n_hidden or max(n_in, n_out)
    model = DeepLinear(n_in, n_hidden, n_out, init_scale=init_scale, seed=seed)
    if init == "balanced":
        balanced_init(model, task, u0, seed=seed)
    start = mode_strengths(model, task)
    if np.any(np.abs(start) >= task.s):
        raise ValueError("init_scale: the initial mode strengths are not small compared with "
                         "s; use a smaller init_scale")
    # a random init may start a mode at a negative strength, which the sigmoid cannot
    # describe: compare from |u₀| (part of why random inits deviate)
    u_start = np.maximum(np.abs(start), 1e-12)
    target = torch.as_tensor(task.sigma31)
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step(i):
        opt.zero_grad()
        loss = 0.5 * ((target - model.product()) ** 2).sum()
        loss.backward()
        opt.step()
        return loss.detach()

    history = fit(step, model, n_steps, probes=[mode_strength_probe(task), *probes],
                  log_every=log_every, on_log=on_log, progress=progress, desc="deep linear")
    steps = np.concatenate([[0], history.steps])
    sim = np.vstack([start] + [[history.values[f"mode/{a}"][i] for a in range(len(task.s))]
                               for i in range(len(history.steps))])
    theory = saxe_mode_strength(task.s, u_start, steps.astype(float), lr)
    return ModeDynamics(steps, sim, theory, task.s.copy(), float(lr))


# ------------------------------------------------------------------ Kumar et al.
@dataclass(frozen=True, repr=False)
class KumarStatistics(Result):
    """The three terms of the test MSE and their sum."""

    t1: float
    t2: float
    t3: float

    @property
    def total(self) -> float:
        return self.t1 + self.t2 + self.t3

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"term": ["t1", "t2", "t3", "total"],
                             "value": [self.t1, self.t2, self.t3, self.total]})

    def plot(self):
        import holoviews as hv

        from ..viz import _ensure_theme

        _ensure_theme()
        return hv.Bars(self.to_frame(), "term", "value").opts(title="test-loss decomposition")


def _kumar_parts(model_or_W, beta, alpha=None, eps=None):
    if hasattr(model_or_W, "W"):
        W = model_or_W.W.detach().cpu().double().numpy()
        alpha = model_or_W.alpha if alpha is None else alpha
        eps = model_or_W.eps if eps is None else eps
    else:
        W = as_array(model_or_W, "W", ndim=2)
        if alpha is None or eps is None:
            raise ValueError("alpha: give alpha and eps with a weight matrix")
    beta = as_array(beta, "beta", ndim=1)
    if len(beta) != W.shape[1]:
        raise ValueError(f"beta: length {len(beta)} differs from the input dimension "
                         f"{W.shape[1]}")
    return W, beta, float(alpha), float(eps)


def kumar_statistics(model_or_W, beta, *, alpha: float | None = None,
                     eps: float | None = None) -> KumarStatistics:
    """t₁, t₂, t₃ of the test MSE E[(f(x) − y)²] from the weights alone (see module doc).

    Takes a :class:`~toolkit.grokking.models.KumarNet` or W (N, D) with ``alpha``, ``eps``.
    """
    W, beta, alpha, eps = _kumar_parts(model_or_W, beta, alpha, eps)
    N, D = W.shape
    M = W.T @ W / N
    t1 = (alpha * eps * np.trace(M) / (2 * D) - beta @ beta / (2 * D)) ** 2
    t2 = 0.5 * np.mean((alpha * eps * M - np.outer(beta, beta)) ** 2)
    t3 = alpha**2 * np.sum(W.mean(axis=0) ** 2) / D
    return KumarStatistics(float(t1), float(t2), float(t3))


def monte_carlo_test_loss(model_or_W, beta, *, alpha: float | None = None,
                          eps: float | None = None, n: int = 400_000, seed: int = 0,
                          chunk: int = 50_000) -> float:
    """E[(f(x) − y)²] estimated from ``n`` fresh samples x ~ N(0, I/D)."""
    W, beta, alpha, eps = _kumar_parts(model_or_W, beta, alpha, eps)
    n = positive(n, "n", integer=True)
    D = W.shape[1]
    rng = np.random.default_rng(seed)
    total, done = 0.0, 0
    while done < n:
        m = min(chunk, n - done)
        x = rng.standard_normal((m, D)) / np.sqrt(D)
        z = x @ W.T
        f = alpha * (z + 0.5 * eps * z * z).mean(axis=1)
        total += np.sum((f - 0.5 * (x @ beta) ** 2) ** 2)
        done += m
    return float(total / n)


def kumar_probe(beta, every: int = 1):
    """Probe logging ``"kumar/t1"``, ``"kumar/t2"``, ``"kumar/t3"`` and ``"kumar/total"``
    for a KumarNet (data ignored)."""
    from ..probes.core import Probe

    def fn(model, data):
        st = kumar_statistics(model, beta)
        return {"t1": st.t1, "t2": st.t2, "t3": st.t3, "total": st.total}

    return Probe("kumar", fn, every)


def train_kumar(task, *, alpha: float = 1.0, eps: float = 0.1, N: int = 200,
                lr: float = 0.5, n_steps: int = 5000, log_every: int = 25, seed: int = 0,
                probes=None, extra_probes=(), on_log=None, progress: bool = False):
    """Full-batch gradient descent on the mean squared error of a
    :class:`~toolkit.grokking.models.KumarNet` on ``task`` (a polynomial task).

    The step is ``lr · N/α²`` (as in Kumar et al.), so α alone sets how lazy training is:
    large α keeps W near its initial features (kernel regime) for longer. Default probes:
    loss on both splits, the t₁/t₂/t₃ decomposition, and the movement from initialisation
    (``probes`` replaces them, ``extra_probes`` adds to them, e.g.
    ``tk.probes.ntk_probe(n=64)``). Returns ``(model, history)``.
    """
    import torch

    from .. import probes as P
    from ..training import fit
    from .models import KumarNet

    alpha = positive(alpha, "alpha")
    model = KumarNet(task.D, N, alpha=alpha, eps=eps, seed=seed)
    data = task.splits()
    x, y = data["train"]
    if probes is None:
        probes = [P.loss_and_accuracy(), kumar_probe(task.beta),
                  P.parameter_movement(model, squared=True)]
    probes = list(probes) + list(extra_probes)
    opt = torch.optim.SGD(model.parameters(), lr=lr * N / alpha**2)

    def step(i):
        opt.zero_grad()
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        opt.step()
        return loss.detach()

    history = fit(step, model, n_steps, probes=probes, data=data, log_every=log_every,
                  on_log=on_log, progress=progress, desc=f"Kumar α={alpha:g}",
                  meta=dict(alpha=alpha, eps=eps, N=N, lr=lr, D=task.D))
    return model, history


def loss_drop_step(history, name: str, fraction: float = 0.5) -> int | None:
    """First logged step at which ``history[name]`` has fallen below ``fraction`` of its
    first logged value (None if it never does)."""
    s = history[name]
    if not len(s):
        return None
    first = float(s.iloc[0])
    return history.first_step(name, lambda v: v <= fraction * first)


@dataclass(frozen=True, repr=False)
class AlphaSweep(Result):
    """Steps at which train and test loss first halve, per output scale α, and the
    delay between them."""

    alpha: np.ndarray
    train_drop: np.ndarray
    test_drop: np.ndarray

    @property
    def delay(self) -> np.ndarray:
        return self.test_drop - self.train_drop

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"alpha": self.alpha, "train_drop": self.train_drop,
                             "test_drop": self.test_drop, "delay": self.delay})

    def plot(self):
        import holoviews as hv

        from ..viz import PALETTE, _ensure_theme

        _ensure_theme()
        f = self.to_frame()
        return (hv.Curve(f, "alpha", "train_drop", label="train loss halves").opts(
            color=PALETTE[0], logx=True)
            * hv.Curve(f, "alpha", "test_drop", label="test loss halves").opts(color=PALETTE[1])
            * hv.Scatter(f, "alpha", "test_drop").opts(color=PALETTE[1])
            * hv.Scatter(f, "alpha", "train_drop").opts(color=PALETTE[0])).opts(
            title="lazier (larger α) → longer grokking delay", ylabel="step")


def kumar_alpha_sweep(task, alphas, *, fraction: float = 0.5, **kwargs) -> AlphaSweep:
    """Train at each α and record when the train and test losses first fall below
    ``fraction`` of their starting values (NaN if never). ``kwargs`` go to
    :func:`train_kumar`."""
    alphas = as_array(alphas, "alphas", ndim=1, min_length=1)
    tr, te = [], []
    for a in alphas:
        _, h = train_kumar(task, alpha=float(a), **kwargs)
        s_tr = loss_drop_step(h, "train/loss", fraction)
        s_te = loss_drop_step(h, "test/loss", fraction)
        tr.append(np.nan if s_tr is None else s_tr)
        te.append(np.nan if s_te is None else s_te)
    return AlphaSweep(alphas.copy(), np.array(tr, float), np.array(te, float))
