"""Softmax collapse (Prieto et al., "Grokking at the edge of numerical stability").

When one logit leads the others by enough, Σ_j exp(z_j − max z) rounds to exactly 1 in
the working precision: the predicted probability is exactly 1, the cross-entropy of
that example is exactly 0 and its gradient vanishes.
"""

from __future__ import annotations

from collections.abc import Callable

from .core import Probe

__all__ = ["softmax_collapse_fraction", "softmax_collapse"]


def softmax_collapse_fraction(logits, dtype=None) -> float:
    """Fraction of rows of ``logits`` (n, k) whose Σ exp(z − max z) equals 1 exactly.

    ``dtype``: the precision to test in (default the logits' own, e.g. torch.float32).
    """
    import torch

    z = torch.as_tensor(logits)
    if z.ndim != 2 or z.shape[1] < 2:
        raise ValueError(f"logits: expected shape (n, k) with k ≥ 2, got {tuple(z.shape)}")
    if dtype is not None:
        z = z.to(dtype)
    if not z.dtype.is_floating_point:
        z = z.to(torch.float32)
    s = torch.exp(z - z.max(dim=1, keepdim=True).values).sum(dim=1)
    return float((s == 1).to(torch.float64).mean())


def softmax_collapse(split: str = "train", *, forward: Callable | None = None, dtype=None,
                     every: int = 1) -> Probe:
    """Probe logging ``"softmax_collapse"``: the collapsed fraction of ``data[split]``.

    ``data``: dict of named splits of (inputs, targets); the model's outputs on the
    inputs are the logits (``forward(model, inputs)`` to pick them otherwise).
    """
    import torch

    from .loss import check_splits

    def fn(model, data):
        check_splits(data, [split])
        x = data[split][0]
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                z = (forward or (lambda m, inp: m(inp)))(model, x)
        finally:
            model.train(was)
        return softmax_collapse_fraction(z, dtype)

    return Probe("softmax_collapse", fn, every)
