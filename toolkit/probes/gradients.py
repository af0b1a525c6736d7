"""Gradient probes.

By default :func:`gradient_norm` reads the gradients the last optimisation step left in
``p.grad`` (free: no extra pass; ``data`` is ignored). With ``split=...`` it recomputes
the gradient of the loss on ``data[split]`` (``data``: dict of named splits of
(inputs, targets)), which costs one forward and backward pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .core import Probe

__all__ = ["gradient_norm", "loss_gradient"]


def loss_gradient(model, x, y, *, loss: Callable | None = None,
                  forward: Callable | None = None) -> dict:
    """Gradient of the loss on (x, y) with respect to every trainable parameter, as
    detached tensors by name; the model's ``.grad`` fields are left untouched."""
    import torch

    from .loss import default_loss

    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    out = (forward or (lambda m, inp: m(inp)))(model, x)
    value = (loss or default_loss)(out, y)
    grads = torch.autograd.grad(value, [p for _, p in params], allow_unused=True)
    return {n: (g if g is not None else torch.zeros_like(p)).detach()
            for (n, p), g in zip(params, grads)}


def gradient_norm(split: str | None = None, *, loss: Callable | None = None,
                  forward: Callable | None = None, per_parameter: bool = False,
                  every: int = 1) -> Probe:
    """‖∇θ L‖₂ over all trainable parameters, logged as ``"grad_norm"``.

    ``split=None``: the gradient left by the last step in ``p.grad`` (after any gradient
    filter such as Grokfast). ``split="train"``: recomputed on ``data["train"]``.
    ``per_parameter`` adds ``"grad_norm/<name>"``.
    """
    def fn(model, data):
        if split is None:
            grads = {n: p.grad.detach() for n, p in model.named_parameters()
                     if p.requires_grad and p.grad is not None}
        else:
            from .loss import check_splits

            check_splits(data, [split])
            x, y = data[split]
            grads = loss_gradient(model, x, y, loss=loss, forward=forward)
        sq = {n: float((g.double() ** 2).sum()) for n, g in grads.items()}
        out = {"grad_norm": float(np.sqrt(sum(sq.values()))) if sq else float("nan")}
        if per_parameter:
            out.update({f"grad_norm/{n}": float(np.sqrt(v)) for n, v in sq.items()})
        return out

    return Probe("", fn, every)
