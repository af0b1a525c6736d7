"""Empirical neural tangent kernel on a probe set, its alignment with the labels, and its
distance from the kernel at initialisation (Kumar et al. 2023; Fort et al. 2020).

K(x, x') = Σ_c ⟨∂f_c(x)/∂θ, ∂f_c(x')/∂θ⟩ (``output="trace"``), or the full (n·k, n·k)
kernel, or the kernel of one output. Jacobians come from ``torch.func`` (``vmap`` of
``jacrev`` over the probe set, in chunks of outputs to bound memory).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._checks import as_array, positive
from .core import Probe

__all__ = ["jacobian", "empirical_ntk", "ntk_alignment", "kernel_distance", "ntk_probe"]


def _params(model):
    return {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}


def _outputs(model, x, readout):
    out = model(x)
    return readout(out) if readout is not None else out


def jacobian(model, x, *, readout: Callable | None = None, outputs=None):
    """Jacobian of the model's outputs on ``x`` with respect to all trainable parameters,
    a tensor (n, k, P) (k outputs per example, flattened; P parameters).

    ``readout(out)`` picks the outputs from what ``model(x)`` returns (e.g. ``lambda o:
    o[0]`` for a model returning a tuple); ``outputs``: indices of the (flattened)
    outputs to keep (default all).
    """
    import torch
    from torch.func import functional_call, jacrev, vmap

    params = _params(model)
    buffers = {n: b.detach() for n, b in model.named_buffers()}
    idx = None if outputs is None else torch.as_tensor(outputs, dtype=torch.long)

    def f(theta, xi):
        out = functional_call(model, (theta, buffers), (xi[None],))
        out = (readout(out) if readout is not None else out).reshape(-1)
        return out if idx is None else out[idx]

    jac = vmap(jacrev(f), in_dims=(None, 0))(params, x)
    n = x.shape[0]
    return torch.cat([j.reshape(n, j.shape[1], -1) for j in jac.values()], dim=2)


def empirical_ntk(model, x, *, readout: Callable | None = None, output="trace",
                  chunk: int = 16) -> np.ndarray:
    """The empirical NTK on the probe set ``x`` (n examples), float64 numpy.

    ``output``: ``"trace"`` (sum over outputs, (n, n)), ``"full"`` ((n·k, n·k), example
    major), or an int picking one output ((n, n)). ``chunk`` outputs are differentiated
    at a time (memory n·chunk·P).
    """
    import torch

    if not torch.is_tensor(x):
        raise TypeError("x: expected a tensor of probe inputs")
    if x.ndim < 1 or len(x) < 1:
        raise ValueError("x: needs at least one probe example")
    chunk = positive(chunk, "chunk", integer=True)
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            k = int(_outputs(model, x[:1], readout).numel())
        if isinstance(output, int | np.integer) and not isinstance(output, bool):
            if not 0 <= int(output) < k:
                raise ValueError(f"output: {output} is not one of the model's {k} outputs")
            J = jacobian(model, x, readout=readout, outputs=[int(output)]).double()
            return (J[:, 0] @ J[:, 0].T).numpy()
        if output == "full":
            J = jacobian(model, x, readout=readout).double()
            J = J.reshape(len(x) * k, -1)
            return (J @ J.T).numpy()
        if output != "trace":
            raise ValueError(f"output: choose 'trace', 'full' or an output index, got {output!r}")
        K = torch.zeros(len(x), len(x), dtype=torch.float64)
        for start in range(0, k, chunk):
            J = jacobian(model, x, readout=readout,
                         outputs=list(range(start, min(k, start + chunk)))).double()
            K += torch.einsum("icp,jcp->ij", J, J)
        return K.numpy()
    finally:
        model.train(was)


def _centre_columns(K):
    return K - K.mean(axis=0, keepdims=True)


def ntk_alignment(K, y) -> float:
    """Kernel–label alignment ⟨K_c, Y_cY_cᵀ⟩_F / (‖K_c‖_F ‖Y_cY_cᵀ‖_F).

    ``y`` (n,) or (n, k) (e.g. one-hot); Y_c = y − mean, K_c = K − column mean. For a
    vector this is y_cᵀ K_c y_c / (‖K_c‖_F ‖y_c‖²); it is 1 for K = y_c y_cᵀ.
    """
    K = as_array(K, "K", ndim=2)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"K: expected a square kernel matrix, got shape {K.shape}")
    Y = as_array(y, "y", ndim=(1, 2))
    if len(Y) != len(K):
        raise ValueError(f"y: has {len(Y)} rows but K is {len(K)} × {len(K)}")
    Y = Y.reshape(len(Y), -1)
    Y = Y - Y.mean(axis=0)
    T = Y @ Y.T
    Kc = _centre_columns(K)
    den = np.linalg.norm(Kc) * np.linalg.norm(T)
    return float(np.sum(Kc * T) / den) if den > 0 else float("nan")


def kernel_distance(K0, K) -> float:
    """1 − ⟨K₀, K⟩_F / (‖K₀‖_F ‖K‖_F): 0 when K is a positive multiple of K₀."""
    K0 = as_array(K0, "K0", ndim=2)
    K = as_array(K, "K", ndim=2)
    if K0.shape != K.shape:
        raise ValueError(f"K: shape {K.shape} differs from K0's {K0.shape}")
    den = np.linalg.norm(K0) * np.linalg.norm(K)
    return float(1 - np.sum(K0 * K) / den) if den > 0 else float("nan")


def _targets_matrix(y, k):
    import torch

    if torch.is_tensor(y) and not y.dtype.is_floating_point and y.ndim == 1 and k > 1:
        return torch.nn.functional.one_hot(y.long(), k).double().numpy()
    return as_array(y, "y", ndim=(1, 2))


def ntk_probe(x=None, y=None, *, split: str = "train", n: int = 64, output="trace",
              readout: Callable | None = None, reference=None, chunk: int = 16,
              every: int = 10) -> Probe:
    """Probe logging the NTK on a fixed probe set: ``"ntk/alignment"`` with the labels,
    ``"ntk/kernel_distance"`` from the first kernel, ``"ntk/trace"`` (mean diagonal).

    The probe set is ``x`` (and labels ``y``, integer labels one-hot encoded against the
    model's outputs) if given, else the first ``n`` examples of ``data[split]`` (``data``:
    dict of named splits of (inputs, targets)). ``reference``: the model at
    initialisation; without it the kernel distance is measured from the first call.
    Costs a Jacobian per call, hence ``every=10`` logging steps by default.
    """
    import torch

    n = positive(n, "n", integer=True)
    if x is not None:
        if not torch.is_tensor(x) or x.ndim < 1:
            raise ValueError("x: expected a tensor of probe inputs, one row per example")
        if y is not None and len(y) != len(x):
            raise ValueError(f"y: has {len(y)} rows but the probe set x has {len(x)}")
    elif y is not None:
        raise ValueError("y: give the probe inputs x with the labels y")
    state = {"K0": None}

    def probe_set(data):
        if x is not None:
            return x, y
        from .loss import check_splits

        check_splits(data, [split])
        xs, ys = data[split]
        return xs[:n], ys[:n]

    def fn(model, data):
        xs, ys = probe_set(data)
        if state["K0"] is None and reference is not None:
            state["K0"] = empirical_ntk(reference, xs, readout=readout, output=output,
                                        chunk=chunk)
        K = empirical_ntk(model, xs, readout=readout, output=output, chunk=chunk)
        if state["K0"] is None:
            state["K0"] = K
        out = {"kernel_distance": kernel_distance(state["K0"], K),
               "trace": float(np.trace(K) / len(K))}
        if ys is not None:
            with torch.no_grad():
                k = int(_outputs(model, xs[:1], readout).numel())
            Y = _targets_matrix(ys, k)
            if output == "full":
                Y = Y.reshape(-1)
            out["alignment"] = ntk_alignment(K, Y)
        return out

    return Probe("ntk", fn, every)
