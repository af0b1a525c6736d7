"""Training for the grokking models, on top of :func:`toolkit.training.fit`.

Full-batch or minibatch AdamW / SGD, optional Grokfast gradient filters (Lee et al.: EMA
and moving-average), cross-entropy, StableMax cross-entropy (Prieto et al.) or MSE.
Probes, logging interval, live curves (``on_log``), divergence handling and the progress
bar are ``fit``'s.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from .._checks import in_range, one_of, positive
from ..probes.core import Probe, ProbeHistory
from ..probes.loss import check_splits

__all__ = ["train", "stablemax", "stablemax_cross_entropy", "GrokfastEMA", "GrokfastMA",
           "LOSSES", "OPTIMIZERS"]

LOSSES = ("cross_entropy", "stablemax", "mse")
OPTIMIZERS = ("adamw", "sgd")


def stablemax(z, dim: int = -1):
    """StableMax probabilities: s(x) = x + 1 (x ≥ 0), 1/(1 − x) (x < 0); p = s/Σs.

    Grows linearly instead of exponentially, so a confident model cannot push the
    probabilities to exactly one in floating point (no softmax collapse).
    """
    import torch

    s = torch.where(z >= 0, z + 1, 1 / (1 - torch.clamp(z, max=0)))
    return s / s.sum(dim=dim, keepdim=True)


def stablemax_cross_entropy(logits, targets):
    """Mean −log StableMax(logits)[target], computed in float64."""
    import torch

    probs = stablemax(logits.to(torch.float64), dim=-1)
    return -torch.log(probs.gather(-1, targets[:, None])).mean()


def _loss_fn(name: str) -> Callable:
    import torch.nn.functional as F

    if name == "cross_entropy":
        import torch

        return lambda out, y: F.cross_entropy(out.to(torch.float64), y)
    if name == "stablemax":
        return stablemax_cross_entropy
    def mse(out, y):
        if not y.dtype.is_floating_point and out.ndim == 2:  # classes: one-hot targets
            y = F.one_hot(y, out.shape[1])
        return F.mse_loss(out.reshape(y.shape), y.to(out.dtype))

    return mse


class GrokfastEMA:
    """Grokfast-EMA: μ_t = αμ_{t−1} + (1−α)g_t (μ₀ = g₀), gradient replaced by g + λμ.

    Call ``filter(model)`` after ``backward()`` and before the optimiser step.
    """

    def __init__(self, alpha: float = 0.98, lamb: float = 2.0):
        self.alpha = in_range(alpha, "grokfast_alpha", 0, 1, inclusive=(True, False))
        self.lamb = positive(lamb, "grokfast_lamb", strict=False)
        self.mu: dict = {}

    def __call__(self, model):
        for name, p in model.named_parameters():
            if p.grad is None:
                continue
            g = p.grad
            if name not in self.mu:
                self.mu[name] = g.detach().clone()
            else:
                self.mu[name].mul_(self.alpha).add_(g.detach(), alpha=1 - self.alpha)
            g.add_(self.mu[name], alpha=self.lamb)


class GrokfastMA:
    """Grokfast-MA: gradient replaced by g + λ · mean of the last ``window`` gradients
    (the filter acts once the window is full, as in Lee et al.)."""

    def __init__(self, window: int = 100, lamb: float = 5.0):
        self.window = positive(window, "grokfast_window", integer=True)
        self.lamb = positive(lamb, "grokfast_lamb", strict=False)
        self.past: dict = {}

    def __call__(self, model):
        for name, p in model.named_parameters():
            if p.grad is None:
                continue
            q = self.past.setdefault(name, deque(maxlen=self.window))
            q.append(p.grad.detach().clone())
            if len(q) == self.window:
                p.grad.add_(sum(q) / self.window, alpha=self.lamb)


def train(
    model,
    data,
    n_steps: int,
    *,
    optimizer: str = "adamw",
    lr: float = 1e-3,
    weight_decay: float = 1.0,
    betas: Sequence[float] = (0.9, 0.98),
    momentum: float = 0.0,
    batch_size: int | None = None,
    loss: str = "cross_entropy",
    grokfast: str | None = None,
    grokfast_alpha: float = 0.98,
    grokfast_lamb: float | None = None,
    grokfast_window: int = 100,
    warmup_steps: int = 0,
    probes: Sequence[Probe] = (),
    log_every: int = 10,
    on_log: Callable | None = None,
    should_stop: Callable | None = None,
    max_loss: float | None = None,
    on_divergence: str = "raise",
    progress: bool = True,
    seed: int = 0,
    checkpoint_every: int | None = None,
    checkpoint_dir=None,
    meta: dict | None = None,
) -> ProbeHistory:
    """Train ``model`` on ``data["train"]`` for ``n_steps`` optimiser steps.

    Parameters
    ----------
    model : a torch module mapping inputs to outputs (logits for classification).
    data : dict of named splits ``{"train": (x, y), "test": (x, y)}`` (a task's
        ``.splits()``; a task object is accepted too). Probes receive the same dict.
    optimizer : ``"adamw"`` (with ``betas``) or ``"sgd"`` (with ``momentum``); decoupled
        ``weight_decay`` in both cases (SGD: L2 penalty in the update).
    batch_size : None for full batch, else minibatches drawn without replacement per
        epoch from a generator seeded by ``seed``.
    loss : ``"cross_entropy"`` (float64), ``"stablemax"`` or ``"mse"`` (one-hot targets
        for integer labels).
    grokfast : None, ``"ema"`` (α = ``grokfast_alpha``, λ default 2) or ``"ma"`` (window
        ``grokfast_window``, λ default 5).
    warmup_steps : linear learning-rate warm-up (Nanda et al. use 10).
    probes, log_every, on_log, should_stop, max_loss, on_divergence, progress,
    checkpoint_every, checkpoint_dir : passed to :func:`toolkit.training.fit`; each probe
        is called as ``probe(model, data)``.

    Returns the :class:`~toolkit.probes.ProbeHistory`; its ``meta`` holds the settings.
    """
    import torch

    from ..training import fit

    if hasattr(data, "splits") and callable(data.splits):
        data = data.splits()
    check_splits(data, ["train"])
    one_of(optimizer, "optimizer", OPTIMIZERS)
    one_of(loss, "loss", LOSSES)
    one_of(grokfast, "grokfast", (None, "ema", "ma"))
    positive(lr, "lr")
    positive(weight_decay, "weight_decay", strict=False)
    warmup_steps = positive(warmup_steps, "warmup_steps", strict=False, integer=True)
    x_train, y_train = data["train"]
    n = len(x_train)
    if batch_size is not None:
        batch_size = positive(batch_size, "batch_size", integer=True)
        batch_size = min(batch_size, n)

    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "adamw":
        b1, b2 = (float(b) for b in betas)
        in_range(b1, "betas", 0, 1, inclusive=(True, False))
        in_range(b2, "betas", 0, 1, inclusive=(True, False))
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=(b1, b2))
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    schedule = None
    if warmup_steps:
        schedule = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda i: min((i + 1) / warmup_steps, 1.0))
    if grokfast == "ema":
        filt = GrokfastEMA(grokfast_alpha, 2.0 if grokfast_lamb is None else grokfast_lamb)
    elif grokfast == "ma":
        filt = GrokfastMA(grokfast_window, 5.0 if grokfast_lamb is None else grokfast_lamb)
    else:
        filt = None
    loss_fn = _loss_fn(loss)
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    order = {"perm": None, "pos": n}

    def batch():
        if batch_size is None:
            return x_train, y_train
        if order["pos"] + batch_size > n:
            order["perm"], order["pos"] = torch.randperm(n, generator=gen), 0
        idx = order["perm"][order["pos"]:order["pos"] + batch_size]
        order["pos"] += batch_size
        return x_train[idx], y_train[idx]

    def step(i):
        x, y = batch()
        opt.zero_grad(set_to_none=False)
        value = loss_fn(model(x), y)
        value.backward()
        if filt is not None:
            filt(model)
        opt.step()
        if schedule is not None:
            schedule.step()
        return value.detach()

    settings = dict(optimizer=optimizer, lr=float(lr), weight_decay=float(weight_decay),
                    betas=[float(b) for b in betas], momentum=float(momentum),
                    batch_size=batch_size, loss=loss, grokfast=grokfast,
                    warmup_steps=warmup_steps, seed=int(seed), n_train=int(n),
                    log_every=int(log_every))
    settings.update(meta or {})
    model.train()
    return fit(step, model, n_steps, probes=probes, data=data, log_every=log_every,
               on_log=on_log, should_stop=should_stop, max_loss=max_loss,
               on_divergence=on_divergence, progress=progress, desc="grokking",
               checkpoint_every=checkpoint_every, checkpoint_dir=checkpoint_dir,
               meta=settings)

