"""Loss and accuracy on named data splits.

``data`` is a dict of named splits, each a pair ``(inputs, targets)`` of tensors:
``{"train": (x_tr, y_tr), "test": (x_te, y_te)}``. The model is called as
``forward(model, inputs)`` (default ``model(inputs)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .core import Probe

__all__ = ["loss_and_accuracy", "evaluate", "check_splits", "default_loss"]


def check_splits(data, splits: Sequence[str] | None = None, name: str = "data") -> list[str]:
    """Check that ``data`` is a dict of (inputs, targets) pairs; return the split names."""
    if not isinstance(data, Mapping):
        raise TypeError(f"{name}: expected a dict of named splits {{'train': (x, y), ...}}, "
                        f"got {type(data).__name__}")
    names = list(data) if splits is None else list(splits)
    for s in names:
        if s not in data:
            raise KeyError(f"{name}: no split {s!r}; have {list(data)}")
        pair = data[s]
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(f"{name}[{s!r}]: expected a pair (inputs, targets)")
        x, y = pair
        if len(x) != len(y):
            raise ValueError(f"{name}[{s!r}]: inputs have {len(x)} rows, targets {len(y)}")
    return names


def default_loss(outputs, targets):
    """Cross-entropy for integer targets with (n, k) outputs, else mean squared error."""
    import torch.nn.functional as F

    if not targets.dtype.is_floating_point and outputs.ndim == 2:
        return F.cross_entropy(outputs.to(_wide(outputs)), targets)
    return F.mse_loss(outputs.reshape(targets.shape), targets.to(outputs.dtype))


def _wide(t):
    import torch

    # the loss in float64 so tiny train losses (1e-7) are not lost to rounding
    return torch.float64 if t.dtype in (torch.float32, torch.float64) else t.dtype


def _forward(model, x, forward, batch_size):
    import torch

    call = forward or (lambda m, inp: m(inp))
    if batch_size is None or len(x) <= batch_size:
        return call(model, x)
    return torch.cat([call(model, x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


def evaluate(model, x, y, *, loss: Callable | None = None, forward: Callable | None = None,
             batch_size: int | None = None) -> dict:
    """Loss (and accuracy for classification) of ``model`` on one split, without gradients.

    Returns ``{"loss": float}`` plus ``"accuracy"`` when targets are integers and outputs
    are (n, k) scores.
    """
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = _forward(model, x, forward, batch_size)
            value = (loss or default_loss)(out, y)
            result = {"loss": float(value)}
            if not y.dtype.is_floating_point and out.ndim == 2:
                result["accuracy"] = float((out.argmax(dim=1) == y).float().mean())
    finally:
        model.train(was_training)
    return result


def loss_and_accuracy(splits: Sequence[str] | None = None, *, loss: Callable | None = None,
                      forward: Callable | None = None, batch_size: int | None = None,
                      every: int = 1) -> Probe:
    """Probe logging ``"<split>/loss"`` and, for classification, ``"<split>/accuracy"``.

    ``data``: dict of named splits of (inputs, targets) tensors. ``splits`` picks some
    (default: all). ``loss(outputs, targets)`` defaults to cross-entropy for integer
    targets and MSE otherwise; ``forward(model, inputs)`` defaults to ``model(inputs)``.
    """
    chosen = None if splits is None else list(splits)

    def fn(model, data):
        out = {}
        for s in check_splits(data, chosen):
            x, y = data[s]
            for k, v in evaluate(model, x, y, loss=loss, forward=forward,
                                 batch_size=batch_size).items():
                out[f"{s}/{k}"] = v
        return out

    return Probe("", fn, every)
