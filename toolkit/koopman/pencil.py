"""The data reduced once to a small pencil that answers every residual question.

With Ψ_X, Ψ_Y (M × N) and weights W, every quantity of ResDMD is a norm

    res(z, g) = ‖(Ψ_Y − zΨ_X) g‖_W / ‖Ψ_X g‖_W .

Factor the M × 2N matrix √W [Ψ_X  Ψ_Y] = Q [F_X  F_Y] once (F: 2N × 2N), take the SVD
F_X = U S V*, and write g = V S⁻¹ u (u: coordinates in a W-orthonormal basis of span Ψ_X,
rank r). Then, exactly,

    res(z, g)² = ‖(K − z) u‖² + ‖E u‖²,   ‖u‖ = ‖Ψ_X g‖_W,

with K = U*F_Y V S⁻¹ (r × r, the EDMD/Galerkin matrix) and E (r × r, upper triangular) the
part of Ψ_Y g that leaves span Ψ_X. Eigenpairs come from K; residuals of all of them cost
O(r³); and τ_N(z) = σ_min([K − z; E]) is a 2r × r problem independent of M.

Two ways to get F. ``"direct"``: Householder QR of the data (O(M N²), never forms Ψ*Ψ,
keeps all digits: residuals of exact eigenpairs come out at 1e-15). ``"gram"``: from the
Gram matrices G = Ψ_X*WΨ_X, A = Ψ_X*WΨ_Y, L = Ψ_Y*WΨ_Y through an eigendecomposition of
[[G, A], [A*, L]]; cheaper in memory and the only option when G, L are modified (the
measure-preserving symmetrisation), but squaring loses half the digits (a floor near
1e-8 on residuals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

__all__ = ["ReducedPencil", "reduce_pencil"]

EPS = np.finfo(float).eps


@dataclass(frozen=True)
class ReducedPencil:
    """K (r × r), E (p × r) and the map from orthonormal coordinates to dictionary
    coefficients ``basis`` (N × r): g = basis @ u."""

    K: np.ndarray
    E: np.ndarray
    basis: np.ndarray
    method: str

    @property
    def rank(self) -> int:
        return self.K.shape[0]

    # ------------------------------------------------------------------ residuals
    def residuals(self, z, U) -> np.ndarray:
        """res(z_k, u_k) for columns u_k of ``U`` (r × n), each normalised first."""
        z = np.asarray(z)
        U = U / np.linalg.norm(U, axis=0)
        R1 = self.K @ U - U * z
        r2 = np.linalg.norm(R1, axis=0) ** 2 + np.linalg.norm(self.E @ U, axis=0) ** 2
        return np.sqrt(r2)

    # -------------------------------------------------------------- pseudospectra
    def tau(self, z, *, method: str = "auto", vectors: bool = False, rtol: float = 1e-4):
        """τ_N(z) = min_u ‖[K − z; E] u‖ / ‖u‖ at the points ``z`` (1-D complex array).

        ``method="svd"``: a dense SVD of the 2r × r matrix per point (the reference).
        ``method="fast"``: per point one Cholesky factorisation of the r × r matrix
        H(z) = [K − z; E]*[K − z; E] (r³/3 flops), inverse Lanczos started from the
        previous point's vector (points are visited row by row), and a second Cholesky
        factorisation of H − ((1 − rtol)τ)²I that certifies τ to relative accuracy
        ``rtol``; a point that fails the certificate is decided densely. Where τ is near
        round-off it is evaluated unsquared, ‖[K − z; E]u‖, so no digits are lost there.
        ``method="auto"``: "svd" for r ≤ 64 (as fast, and exact), else "fast".
        Points with conjugate partners in ``z`` are computed once when K and E are real.
        Returns τ (n,) and, with ``vectors=True``, the minimising u (n, r), else None.
        """
        z = np.asarray(z, dtype=complex).ravel()
        if method == "auto":
            method = "svd" if self.rank <= 64 else "fast"
        real = not (np.iscomplexobj(self.K) or np.iscomplexobj(self.E))
        # work on unique points, folding conjugates together for a real pencil
        key = np.round(np.stack([z.real, np.abs(z.imag) if real else z.imag], 1), 13)
        uniq, inverse = np.unique(key, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        pts = uniq[:, 0] + 1j * uniq[:, 1]
        # visit rows of constant Im z in snake order so each start vector is a neighbour's
        rows = np.unique(uniq[:, 1], return_inverse=True)[1].ravel()
        order = np.lexsort((np.where(rows % 2 == 1, -uniq[:, 0], uniq[:, 0]), rows))
        if method == "svd":
            t, u = _tau_svd(self.K, self.E, pts[order], vectors)
        else:
            t, u = _tau_fast(self.K, self.E, pts[order], vectors, rtol=rtol)
        tau = np.empty(len(pts))
        tau[order] = t
        if not vectors:
            return tau[inverse], None
        vec = np.empty((len(pts), self.rank), dtype=complex)
        vec[order] = u
        vec = vec[inverse]
        flip = real & (z.imag < 0)
        vec[flip] = vec[flip].conj()  # the conjugate point's minimiser is the conjugate
        return tau[inverse], vec


def _tau_svd(K, E, pts, vectors):
    r = K.shape[0]
    M = np.vstack([K, E]).astype(complex)
    taus = np.empty(len(pts))
    vecs = np.empty((len(pts), r), dtype=complex) if vectors else None
    for i, zi in enumerate(pts):
        M[:r] = K - zi * np.eye(r)
        if vectors:
            _, s, vh = np.linalg.svd(M, full_matrices=False)
            vecs[i] = vh[-1].conj()
        else:
            s = np.linalg.svd(M, compute_uv=False)
        taus[i] = s[-1]
    return taus, vecs


def _tau_fast(K, E, pts, vectors, *, rtol=1e-4, max_steps=40, stats=None):
    r = K.shape[0]
    K = K.astype(complex)
    E = E.astype(complex)
    Kh = K.conj().T
    L = Kh @ K + E.conj().T @ E
    L = (L + L.conj().T) / 2
    nL, nK = np.linalg.norm(L), np.linalg.norm(K)
    diag = np.arange(r) * (r + 1)
    steps = min(r, max_steps)
    taus = np.empty(len(pts))
    vecs = np.empty((len(pts), r), dtype=complex) if vectors else None
    rng = np.random.default_rng(0)
    jitter = (rng.standard_normal(r) + 1j * rng.standard_normal(r)) * 1e-3
    u = np.ones(r, dtype=complex) / np.sqrt(r)
    work = (np.empty((steps, r), dtype=complex), np.empty((steps, r), dtype=complex))
    H = np.empty((r, r), dtype=complex, order="F")
    H0 = np.empty_like(H)
    for i, zi in enumerate(pts):
        a = abs(zi)
        np.multiply(Kh, -zi, out=H0)
        H0 -= np.conj(zi) * K
        H0 += L
        H0.flat[diag] += a * a
        # rounding in H and in its factorisation: ~ r·eps·‖H‖
        noise = 4 * r * EPS * (nL + 2 * a * nK + a * a)
        H[...] = H0
        H.flat[diag] += noise  # keeps the factorisation defined where τ ≈ 0
        c, info = lapack.zpotrf(H, lower=0, clean=0, overwrite_a=1)
        t = None
        if info == 0:
            u = _inverse_lanczos(c, u + jitter, work, steps, rtol)
            # u*H⁻¹u ≤ 1/λ_min(H) for any unit u: a rigorous upper bound of τ²
            y, _ = lapack.ztrtrs(c, u, lower=0, trans=2)
            lam1 = 1.0 / np.vdot(y, y).real - noise
            if lam1 > 1e3 * noise:
                t = np.sqrt(lam1)
            else:  # τ near round-off: evaluate unsquared (u is accurate there)
                Ku = K @ u - zi * u
                t = np.sqrt(np.vdot(Ku, Ku).real + np.linalg.norm(E @ u) ** 2)
            # certify: H − ((1 − rtol) t)² I positive definite ⇒ τ ≥ (1 − rtol) t
            low = ((1 - rtol) * t) ** 2 - noise
            if low > 0:
                H0.flat[diag] -= low
                if lapack.zpotrf(H0, lower=0, clean=0, overwrite_a=1)[1] != 0:
                    t = None
        if t is None:  # not certified: decide densely at this point
            t, u = _tau_dense(K, E, L, zi, noise)
            if stats is not None:
                stats["dense"] = stats.get("dense", 0) + 1
        taus[i] = t
        if vectors:
            vecs[i] = u
    return taus, vecs


def _tau_dense(K, E, L, z, noise):
    """Smallest eigenpair of H(z) by LAPACK (τ unsquared when it is near round-off)."""
    from scipy.linalg import eigh

    r = K.shape[0]
    H = L - z * K.conj().T - np.conj(z) * K + abs(z) ** 2 * np.eye(r)
    lam, v = eigh(H, subset_by_index=[0, 0], driver="evr")
    u = v[:, 0]
    if lam[0] > 1e3 * noise:
        return np.sqrt(lam[0]), u
    Ku = K @ u - z * u
    return np.sqrt(np.vdot(Ku, Ku).real + np.linalg.norm(E @ u) ** 2), u


def _inverse_lanczos(chol, start, work, steps, rtol):
    """The Ritz vector u of the largest eigenvalue of H⁻¹ (H = chol*chol), by Lanczos with
    full reorthogonalisation: converges in a few steps where τ is separated from the next
    singular value, and inside a cluster still settles on a Ritz value within it."""
    Q, Qc = work
    q = start / np.sqrt(np.vdot(start, start).real)
    alpha, beta = np.zeros(steps), np.zeros(steps)
    theta_old = 0.0
    b = 0.0
    for j in range(steps):
        Q[j] = q
        Qc[j] = q.conj()
        w, _ = lapack.zpotrs(chol, q, lower=0)
        a = np.vdot(q, w).real
        w -= a * q
        if j:
            w -= b * Q[j - 1]
        # full reorthogonalisation; a second pass only when the first cancelled a lot (DGKS)
        before = np.vdot(w, w).real
        w -= (Qc[: j + 1] @ w) @ Q[: j + 1]
        b2 = np.vdot(w, w).real
        if b2 < 0.5 * before:
            w -= (Qc[: j + 1] @ w) @ Q[: j + 1]
            b2 = np.vdot(w, w).real
        b = np.sqrt(b2)
        alpha[j] = a
        if j:  # Ritz pairs of the tridiagonal Lanczos matrix (LAPACK directly: it is tiny)
            vals, vecs, _ = lapack.dstev(alpha[: j + 1], beta[:j])
            theta, s = vals[-1], vecs[:, -1]
        else:
            theta, s = a, np.ones(1)
        # stop when the Ritz pair's residual b|s_last| is tiny, the Ritz value has settled
        # well inside rtol, or the Krylov space is exhausted
        if (b * abs(s[-1]) <= 1e-10 * theta or theta - theta_old <= 1e-2 * rtol * theta
                or b <= EPS * theta or j == steps - 1):
            u = s @ Q[: j + 1]
            return u / np.sqrt(np.vdot(u, u).real)
        theta_old = theta
        beta[j] = b
        q = w / b
    raise AssertionError("unreachable")  # pragma: no cover


# ------------------------------------------------------------------ reduction
def reduce_pencil(PX, PY, weights, *, method: str = "direct", measure_preserving=False,
                  rcond: float | None = None) -> ReducedPencil:
    """Reduce Ψ_X, Ψ_Y (M × N) with weights (M,) to a :class:`ReducedPencil`."""
    M, N = PX.shape
    sw = np.sqrt(weights)[:, None]
    # equilibrate columns: the span is unchanged and rank decisions become scale-free
    norms = np.sqrt(weights @ (np.abs(PX) ** 2))
    norms = np.where(norms > 0, norms, 1.0)
    D = 1.0 / norms
    if method == "direct" and not measure_preserving:
        B = np.empty((M, 2 * N), dtype=np.result_type(PX, PY), order="F")
        np.multiply(PX, sw * D, out=B[:, :N])
        np.multiply(PY, sw * D, out=B[:, N:])
        R = _qr_r(B)
        FX, FY = R[:, :N], R[:, N:]
        rcond = 50 * N * EPS if rcond is None else rcond
    else:
        PXs, PYs = PX * (sw * D), PY * (sw * D)
        G = PXs.conj().T @ PXs
        A = PXs.conj().T @ PYs
        L = PYs.conj().T @ PYs
        if measure_preserving:  # an isometry has ‖Kg‖ = ‖g‖: L = G in the limit
            G = (G + L) / 2
            L = G
        H = np.block([[G, A], [A.conj().T, L]])
        H = (H + H.conj().T) / 2
        d, V = np.linalg.eigh(H)
        F = np.sqrt(np.maximum(d, 0.0))[:, None] * V.conj().T
        FX, FY = F[:, :N], F[:, N:]
        rcond = 1e-7 if rcond is None else rcond
        method = "gram"
    U, s, Vh = np.linalg.svd(FX, full_matrices=False)
    r = int(np.sum(s > rcond * s[0])) if s[0] > 0 else 0
    if r == 0:
        raise ValueError("dictionary: every function vanishes on the data")
    T = Vh[:r].conj().T / s[:r]
    Ur = U[:, :r]
    FYT = FY @ T
    K = Ur.conj().T @ FYT
    leak = FYT - Ur @ K
    leak -= Ur @ (Ur.conj().T @ leak)  # second Gram–Schmidt pass: keep E tiny when it is
    E = np.linalg.qr(leak, mode="r")
    return ReducedPencil(K=K, E=E, basis=D[:, None] * T, method=method)


def _qr_r(B):
    """The R factor of B (Fortran-ordered, overwritten), as a min(M, 2N) × 2N array."""
    geqrf = lapack.zgeqrf if np.iscomplexobj(B) else lapack.dgeqrf
    qr, _, _, info = geqrf(B, overwrite_a=1)
    if info != 0:  # pragma: no cover - LAPACK argument error
        raise RuntimeError(f"QR factorisation failed (info={info})")
    k = min(B.shape)
    return np.triu(qr[:k])
