"""Weight probes: norms, movement from initialisation, effective rank.

These read the model's parameters only; ``data`` is ignored except by
:func:`activation_effective_rank`, which takes a split of the usual dict
``{"train": (x, y), ...}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .._checks import as_array
from .core import Probe

__all__ = ["weight_norm", "parameter_movement", "effective_rank", "weight_effective_rank",
           "activation_effective_rank"]


def _params(model, names=None):
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if names is not None:
        have = dict(params)
        missing = [n for n in names if n not in have]
        if missing:
            raise KeyError(f"names: the model has no parameters {missing}; have {list(have)}")
        params = [(n, have[n]) for n in names]
    return params


def weight_norm(*, per_parameter: bool = False, every: int = 1) -> Probe:
    """‖θ‖₂ over all trainable parameters, logged as ``"weight_norm"``.

    ``per_parameter=True`` also logs ``"weight_norm/<parameter name>"``. (Σθ² is the
    square; Omnigrok's weight-norm picture uses either.)
    """
    import torch

    def fn(model, data):
        with torch.no_grad():
            sq = {n: float((p.double() ** 2).sum()) for n, p in _params(model)}
        out = {"weight_norm": float(np.sqrt(sum(sq.values())))}
        if per_parameter:
            out.update({f"weight_norm/{n}": float(np.sqrt(v)) for n, v in sq.items()})
        return out

    return Probe("", fn, every)


def parameter_movement(reference=None, *, squared: bool = False, every: int = 1) -> Probe:
    """Relative distance from the initial parameters, ‖θ − θ₀‖/‖θ₀‖ (``"movement"``).

    ``reference``: the model before training (its parameters are copied now) or a state
    dict. Without it, θ₀ is taken at the probe's first call, i.e. the first logged step,
    not step 0. ``squared`` gives Kumar et al.'s version ‖θ − θ₀‖²/‖θ₀‖².
    """
    import torch

    def copy(src):
        items = src.named_parameters() if hasattr(src, "named_parameters") else src.items()
        return {n: p.detach().clone() for n, p in items}

    store = {"theta0": copy(reference) if reference is not None else None}

    def fn(model, data):
        if store["theta0"] is None:
            store["theta0"] = copy(model)
        theta0 = store["theta0"]
        num = den = 0.0
        with torch.no_grad():
            for n, p in _params(model):
                if n not in theta0:
                    raise KeyError(f"reference: has no parameter {n!r}")
                num += float(((p - theta0[n]).double() ** 2).sum())
                den += float((theta0[n].double() ** 2).sum())
        ratio = num / den if den > 0 else float("nan")
        return ratio if squared else float(np.sqrt(ratio))

    return Probe("movement", fn, every)


def effective_rank(matrix) -> float:
    """exp of the entropy of the normalised singular values, exp(H(σ/Σσ)) (Roy & Vetterli).

    Between 1 (rank one) and min(shape) (all singular values equal).
    """
    m = as_array(matrix, "matrix", ndim=2)
    s = np.linalg.svd(m, compute_uv=False)
    total = s.sum()
    if total == 0:
        return 0.0
    q = s[s > 0] / total
    return float(np.exp(-(q * np.log(q)).sum()))


def weight_effective_rank(names: Sequence[str] | None = None, *, every: int = 1) -> Probe:
    """Effective rank of each 2-D weight matrix, ``"effective_rank/<name>"``.

    ``names`` picks parameters (default: every parameter with two dimensions).
    """
    def fn(model, data):
        params = _params(model, names)
        return {n: effective_rank(p.detach().cpu().double().numpy())
                for n, p in params if p.ndim == 2}

    return Probe("effective_rank", fn, every)


def activation_effective_rank(features: Callable, split: str = "train", *,
                              max_rows: int = 2048, every: int = 1) -> Probe:
    """Effective rank of the activations ``features(model, inputs)`` (n, d) on a split.

    ``data``: dict of named splits of (inputs, targets); the first ``max_rows`` inputs of
    ``data[split]`` are used. Logged as ``"activation_rank"``.
    """
    import torch

    from .loss import check_splits

    if not callable(features):
        raise TypeError("features: expected a function features(model, inputs) -> (n, d)")

    def fn(model, data):
        check_splits(data, [split])
        x = data[split][0][:max_rows]
        with torch.no_grad():
            h = features(model, x)
        h = h.detach().cpu().double().numpy().reshape(len(x), -1)
        return effective_rank(h - h.mean(axis=0))

    return Probe("activation_rank", fn, every)
