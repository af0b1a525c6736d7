"""Models of the grokking literature, as small torch modules.

- :class:`EmbedMLP`: embeddings of a and b (summed or concatenated) → hidden layer with
  x² or ReLU activation → p logits (Gromov 2023; the fast CPU recipe).
- :class:`Transformer`: Nanda et al.'s one-layer, attention + MLP, no-LayerNorm
  transformer on the tokens ``a b =``.
- :class:`KumarNet`: f(x) = α · mean_i φ(w_i·x), φ(z) = z + εz²/2 (Kumar et al. 2023).
- :class:`DeepLinear`: W₂W₁ (Saxe et al. 2013).

The modular models take integer pairs of shape (n, 2) and return logits (n, p). They also
expose what the Fourier probes need: ``embeddings()`` (the (p, d) input embedding
matrices) and ``neurons(x)`` (the hidden activations the logits are read from).
Every model defines ``_io_config()`` so ``toolkit.io.load`` rebuilds it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import one_of, positive

__all__ = ["EmbedMLP", "Transformer", "KumarNet", "DeepLinear", "ACTIVATIONS"]

ACTIVATIONS = ("square", "relu")


def _activation(name: str, z):
    return z * z if name == "square" else torch.relu(z)


def _generator(seed):
    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


def _check_pairs(x, p):
    if not torch.is_tensor(x) or x.dtype not in (torch.int64, torch.int32):
        raise TypeError("x: expected an integer tensor of pairs (a, b), shape (n, 2)")
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x: expected shape (n, 2), got {tuple(x.shape)}")
    return x


class EmbedMLP(nn.Module):
    """MLP on token embeddings: logits = W_U · σ(h(a, b)).

    ``embed="sum"``: h = E_a[a] + E_b[b] with E_a, E_b of shape (p, hidden) (equivalently a
    linear layer on the concatenated one-hot codes). ``embed="concat"``: h = W_in [E[a];
    E[b]] with one shared embedding E of shape (p, d_embed). ``activation`` is ``"square"``
    (x²) or ``"relu"``. Entries are drawn N(0, init_scale²/fan_in) from ``seed``.
    ``output_scale`` α multiplies the logits (large α: lazier training, Kumar et al.).
    """

    def __init__(self, p: int, hidden: int = 256, *, activation: str = "square",
                 embed: str = "sum", d_embed: int = 128, init_scale: float = 1.0,
                 output_scale: float = 1.0, seed: int = 0):
        super().__init__()
        self.p = positive(p, "p", integer=True)
        self.hidden = positive(hidden, "hidden", integer=True)
        self.activation = one_of(activation, "activation", ACTIVATIONS)
        self.embed = one_of(embed, "embed", ("sum", "concat"))
        self.d_embed = positive(d_embed, "d_embed", integer=True)
        self.init_scale = positive(float(init_scale), "init_scale")
        self.output_scale = positive(float(output_scale), "output_scale")
        self.seed = int(seed)
        g = _generator(seed)

        def randn(*shape, fan_in):
            return nn.Parameter(torch.randn(*shape, generator=g) * init_scale / math.sqrt(fan_in))

        if embed == "sum":
            # one-hot inputs: fan-in of the (concatenated one-hot → hidden) map is 2
            self.E_a = randn(p, hidden, fan_in=2)
            self.E_b = randn(p, hidden, fan_in=2)
        else:
            self.E = randn(p, d_embed, fan_in=1)
            self.W_in = randn(2 * d_embed, hidden, fan_in=2 * d_embed)
        self.W_U = randn(hidden, p, fan_in=hidden)

    def _io_config(self):
        return dict(p=self.p, hidden=self.hidden, activation=self.activation, embed=self.embed,
                    d_embed=self.d_embed, init_scale=self.init_scale,
                    output_scale=self.output_scale, seed=self.seed)

    def preactivations(self, x):
        x = _check_pairs(x, self.p)
        a, b = x[:, 0], x[:, 1]
        if self.embed == "sum":
            return self.E_a[a] + self.E_b[b]
        return torch.cat([self.E[a], self.E[b]], dim=1) @ self.W_in

    def neurons(self, x):
        """Hidden activations (n, hidden): what the key-frequency probe analyses."""
        return _activation(self.activation, self.preactivations(x))

    def forward(self, x):
        out = self.neurons(x) @ self.W_U
        return out if self.output_scale == 1.0 else self.output_scale * out

    def embeddings(self) -> dict:
        """Input embedding matrices (p, ·) by name, for the embedding spectrum."""
        if self.embed == "sum":
            return {"E_a": self.E_a, "E_b": self.E_b}
        return {"E": self.E}


class Transformer(nn.Module):
    """Nanda et al.'s one-layer transformer on ``a b =`` (no LayerNorm, ReLU MLP).

    Residual stream: token + position embeddings → multi-head attention (causal) → MLP →
    unembedding to p logits, read at the ``=`` position. With one layer the logits at
    ``=`` depend only on that position's query, MLP and unembedding, so only that
    position is computed (identical output, a third of the cost). Initialisation: entries
    N(0, 1/d_model), unembedding N(0, 1/(p + 1)), biases zero.
    """

    def __init__(self, p: int, d_model: int = 128, n_heads: int = 4, d_mlp: int = 512, *,
                 activation: str = "relu", seed: int = 0):
        super().__init__()
        self.p = positive(p, "p", integer=True)
        self.d_model = positive(d_model, "d_model", integer=True)
        self.n_heads = positive(n_heads, "n_heads", integer=True)
        if d_model % n_heads:
            raise ValueError(f"n_heads: must divide d_model = {d_model}, got {n_heads}")
        self.d_mlp = positive(d_mlp, "d_mlp", integer=True)
        self.activation = one_of(activation, "activation", ACTIVATIONS)
        self.seed = int(seed)
        d_head = d_model // n_heads
        vocab = p + 1  # the p residues and "="
        g = _generator(seed)

        def randn(*shape, std):
            return nn.Parameter(torch.randn(*shape, generator=g) * std)

        s = 1 / math.sqrt(d_model)
        self.W_E = randn(vocab, d_model, std=s)
        self.W_pos = randn(3, d_model, std=s)
        self.W_Q = randn(n_heads, d_model, d_head, std=s)
        self.W_K = randn(n_heads, d_model, d_head, std=s)
        self.W_V = randn(n_heads, d_model, d_head, std=s)
        self.W_O = randn(n_heads, d_head, d_model, std=s)
        self.W_in = randn(d_model, d_mlp, std=s)
        self.b_in = nn.Parameter(torch.zeros(d_mlp))
        self.W_out = randn(d_mlp, d_model, std=s)
        self.b_out = nn.Parameter(torch.zeros(d_model))
        self.W_U = randn(d_model, p, std=1 / math.sqrt(vocab))

    def _io_config(self):
        return dict(p=self.p, d_model=self.d_model, n_heads=self.n_heads, d_mlp=self.d_mlp,
                    activation=self.activation, seed=self.seed)

    def _residual_mid(self, x):
        x = _check_pairs(x, self.p)
        eq = torch.full((x.shape[0], 1), self.p, dtype=x.dtype, device=x.device)
        tokens = torch.cat([x, eq], dim=1)                       # (n, 3)
        resid = self.W_E[tokens] + self.W_pos                    # (n, 3, d)
        q = torch.einsum("nd,hde->nhe", resid[:, -1], self.W_Q)  # query at "=" only
        k = torch.einsum("npd,hde->nhpe", resid, self.W_K)
        v = torch.einsum("npd,hde->nhpe", resid, self.W_V)
        scores = torch.einsum("nhe,nhpe->nhp", q, k) / math.sqrt(q.shape[-1])
        attn = torch.softmax(scores, dim=-1)
        z = torch.einsum("nhp,nhpe->nhe", attn, v)
        return resid[:, -1] + torch.einsum("nhe,hed->nd", z, self.W_O)

    def neurons(self, x):
        """MLP activations at the ``=`` position, (n, d_mlp)."""
        return _activation(self.activation, self._residual_mid(x) @ self.W_in + self.b_in)

    def forward(self, x):
        mid = self._residual_mid(x)
        hidden = _activation(self.activation, mid @ self.W_in + self.b_in)
        return (mid + hidden @ self.W_out + self.b_out) @ self.W_U

    def embeddings(self) -> dict:
        return {"W_E": self.W_E[: self.p]}


class KumarNet(nn.Module):
    """Two-layer network f(x) = α · mean_i φ(w_i·x), φ(z) = z + εz²/2 (Kumar et al.).

    Only the first layer W (N, D) is trained. α is the output scale: large α is lazy
    (kernel) training, small α rich (feature learning). W is drawn N(0, 1) from ``seed``.
    """

    def __init__(self, D: int, N: int = 500, *, alpha: float = 1.0, eps: float = 1.0,
                 seed: int = 0):
        super().__init__()
        self.D = positive(D, "D", integer=True)
        self.N = positive(N, "N", integer=True)
        self.alpha = positive(float(alpha), "alpha")
        self.eps = float(eps)
        self.seed = int(seed)
        self.W = nn.Parameter(torch.randn(N, D, generator=_generator(seed), dtype=torch.float64))

    def _io_config(self):
        return dict(D=self.D, N=self.N, alpha=self.alpha, eps=self.eps, seed=self.seed)

    def forward(self, x):
        z = x @ self.W.T
        return self.alpha * (z + 0.5 * self.eps * z * z).mean(dim=1)


class DeepLinear(nn.Module):
    """y = W₂ W₁ x (no biases), sizes n_in → n_hidden → n_out (Saxe et al.).

    ``init_scale`` sets a small random init N(0, init_scale²); use
    :func:`toolkit.grokking.theory.balanced_init` for the decoupled balanced init.
    """

    def __init__(self, n_in: int, n_hidden: int, n_out: int, *, init_scale: float = 1e-3,
                 seed: int = 0):
        super().__init__()
        self.n_in = positive(n_in, "n_in", integer=True)
        self.n_hidden = positive(n_hidden, "n_hidden", integer=True)
        self.n_out = positive(n_out, "n_out", integer=True)
        self.init_scale = positive(float(init_scale), "init_scale", strict=False)
        self.seed = int(seed)
        g = _generator(seed)
        self.W1 = nn.Parameter(torch.randn(n_hidden, n_in, generator=g, dtype=torch.float64)
                               * init_scale)
        self.W2 = nn.Parameter(torch.randn(n_out, n_hidden, generator=g, dtype=torch.float64)
                               * init_scale)

    def _io_config(self):
        return dict(n_in=self.n_in, n_hidden=self.n_hidden, n_out=self.n_out,
                    init_scale=self.init_scale, seed=self.seed)

    def product(self):
        """The end-to-end map W₂W₁ (n_out, n_in)."""
        return self.W2 @ self.W1

    def forward(self, x):
        return x @ self.product().T
