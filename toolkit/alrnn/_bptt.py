"""Hand-written forward pass and backpropagation through time for teacher-forced AL-RNNs.

Per-step autograd costs tens of microseconds per operation and dominates training at
M = 20; here a whole batch of sequences runs forward in numpy and the backward pass is
written out by hand (the map is piecewise linear, so every derivative is a mask).

Two layout choices make each step one matrix product plus a few tiny operations:
- states are stored unit-major, (M, B), so elementwise work runs along the batch;
- the map is written as one product with an augmented matrix,
      z_t = W̄ u_{t-1},  u = [Φ*(z̃); min(z̃_R, 0); 1],  W̄ = [diag(A) + W | A_R | h],
  (A_R puts A_j of each ReLU unit j back on its negative part), so A and h need no
  separate broadcasts. Parameter gradients are one large product after the loop.

Forcing (identity observation: only the first N units are forced):
    z_t      = A ⊙ z̃_{t-1} + W Φ*(z̃_{t-1}) + h
    z̃_t[:N] = (1 − α) z_t[:N] + α x_t on forcing steps (every τ-th), z̃_t = z_t otherwise.
α = 1 is sparse teacher forcing, τ = 1 with α < 1 generalized teacher forcing. Loss: mean
squared error of the un-forced predictions z_t[:N] against x_t over t = 1..T−1.
"""

from __future__ import annotations

import numpy as np


def augmented(A, W, h, P):
    """W̄ = [diag(A) + W | A_R | h] of shape (M, M + P + 1)."""
    M = len(A)
    k = M - P
    Wb = np.zeros((M, M + P + 1))
    Wb[:, :M] = W + np.diag(A)
    Wb[np.arange(k, M), M + np.arange(P)] = A[k:]
    Wb[:, M + P] = h
    return Wb


def forward_backward(A, W, h, L, X, P, tau, alpha, *, burn_in=0, need_grad=True):
    """Loss and gradients for a batch of teacher sequences.

    X: (T, N, B) teacher data, time first, unit-major. The first ``burn_in`` predictions
    are left out of the loss (the hidden state settles from its estimate L x_1 first).
    Returns (loss, grads, Z) with grads a tuple (dA, dW, dh, dL) and Z (T, M, B) the
    forced states z̃_t.
    """
    T, N, B = X.shape
    M = A.shape[0]
    k = M - P
    Wb = augmented(A, W, h, P)
    U = np.empty((T, M + P + 1, B))   # u_t; rows :M hold Φ*(z̃_t)
    Z = np.empty((T, M, B))           # z̃_t
    pred = np.empty((T, N, B))
    Z[0, :N] = X[0]
    np.matmul(L, X[0], out=Z[0, N:])
    U[:, M + P] = 1.0
    forced = np.zeros(T, dtype=bool)
    forced[::tau] = True
    forced[0] = False
    a = float(alpha)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(T):
            z = Z[t]
            if t > 0:
                np.matmul(Wb, U[t - 1], out=z)
                pred[t] = z[:N]
                if forced[t]:
                    if a == 1.0:
                        z[:N] = X[t]
                    else:
                        z[:N] *= 1.0 - a
                        z[:N] += a * X[t]
            u = U[t]
            u[:M] = z
            np.maximum(z[k:], 0.0, out=u[k:M])
            np.minimum(z[k:], 0.0, out=u[M:M + P])
    resid = pred[1:] - X[1:]
    if burn_in:
        resid[:burn_in] = 0.0
    n = resid[burn_in:].size
    loss = float(np.sum(resid * resid) / n)
    if not need_grad or not np.isfinite(loss):
        return loss, None, Z
    R = resid * (2.0 / n)
    G = np.empty((T - 1, M, B))       # dL/dz_t (before forcing), t = 1..T-1
    on = Z[:, k:] > 0
    WbT = np.ascontiguousarray(Wb[:, :M + P].T)
    du = np.empty((M + P, B))
    g = np.zeros((M, B))              # dL/dz̃_t
    keep = 1.0 - a
    for t in range(T - 1, 0, -1):
        gz = G[t - 1]
        np.copyto(gz, g)
        if forced[t]:
            gz[:N] *= keep
        gz[:N] += R[t - 1]
        np.matmul(WbT, gz, out=du)
        # dΦ*/dz̃ picks the ReLU row on the positive side, the min row on the negative side
        g[:k] = du[:k]
        np.copyto(g[k:], du[M:M + P])
        np.copyto(g[k:], du[k:M], where=on[t - 1])
    # dW̄ = Σ_t g_t u_{t-1}ᵀ in one product
    Gf = G.transpose(1, 0, 2).reshape(M, -1)
    Uf = U[:-1].transpose(1, 0, 2).reshape(M + P + 1, -1)
    dWb = Gf @ Uf.T
    dW = dWb[:, :M].copy()
    dA = np.diag(dWb[:, :M]).copy()
    dA[k:] += dWb[np.arange(k, M), M + np.arange(P)]
    dh = dWb[:, M + P].copy()
    dL = g[N:] @ X[0].T
    return loss, (dA, dW, dh, dL), Z
