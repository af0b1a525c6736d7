"""The noise-driven ReLU RNN of Torre et al. (NeurIPS 2025) and sampling from it.

    h_t = relu(W_hh h_{t−1} + W_in x_t),   h_0 = 0,   x_t ~ N(0, I)
    logits_t = W_out h_t,                 o_t ~ Categorical(softmax(logits_t))

No biases anywhere, so the network is positively homogeneous: scaling every noise vector
by σ > 0 scales every hidden state (and logit) by σ exactly. Emissions are drawn with a
straight-through Gumbel-softmax (τ = 1, hard): the forward value is a one-hot sample, the
gradient that of the soft sample. Outputs t = 1..L come from h_1..h_L.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from .._checks import as_array, positive

__all__ = ["NoiseRNN", "sample", "run", "noise", "check_rnn"]


class NoiseRNN(nn.Module):
    """Noise-driven ReLU RNN without biases and with a Gumbel-softmax readout.

    Parameters
    ----------
    n_hidden : number of hidden units N (the reference uses 150).
    n_noise : dimension D of the Gaussian noise input (the reference uses 100).
    n_symbols : number of output symbols K.
    seed : seeds the weight initialisation (PyTorch's default RNN initialisation,
        U(−1/√N, 1/√N), as in the reference).
    bias : add biases (recurrent layer and readout). Off in the reference model, and off
        by default: with biases the network is no longer homogeneous and h = 0 is no
        longer a fixed point. Provided so that other RNNs (``from_torch``) can be
        dissected with the same tools.
    """

    def __init__(self, n_hidden: int = 150, n_noise: int = 100, n_symbols: int = 3,
                 seed: int = 0, bias: bool = False):
        super().__init__()
        self.bias = bool(bias)
        self.n_hidden = positive(n_hidden, "n_hidden", integer=True)
        self.n_noise = positive(n_noise, "n_noise", integer=True)
        self.n_symbols = positive(n_symbols, "n_symbols", integer=True)
        if self.n_symbols < 2:
            raise ValueError(f"n_symbols: need at least 2 symbols, got {n_symbols}")
        self.seed = int(seed)
        gen = torch.Generator().manual_seed(self.seed)
        # torch's fused ReLU RNN is ~4x faster on CPU than a Python loop.
        self.rnn = nn.RNN(self.n_noise, self.n_hidden, nonlinearity="relu", bias=self.bias,
                          batch_first=True)
        self.readout = nn.Linear(self.n_hidden, self.n_symbols, bias=self.bias)
        bound = 1.0 / np.sqrt(self.n_hidden)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.empty(p.shape).uniform_(-bound, bound, generator=gen))

    @classmethod
    def from_torch(cls, rnn: nn.RNN, readout: nn.Linear) -> NoiseRNN:
        """Wrap your own single-layer ReLU ``torch.nn.RNN`` (noise input) and ``nn.Linear``
        readout, so that every analysis here applies to it. Weights are copied."""
        if not isinstance(rnn, nn.RNN):
            raise TypeError(f"rnn: expected a torch.nn.RNN, got {type(rnn).__name__}")
        if rnn.nonlinearity != "relu":
            raise ValueError(f"rnn: must use nonlinearity='relu', got {rnn.nonlinearity!r}")
        if rnn.num_layers != 1 or rnn.bidirectional:
            raise ValueError("rnn: must be a single-layer, one-directional RNN")
        if not isinstance(readout, nn.Linear):
            raise TypeError(f"readout: expected a torch.nn.Linear, got {type(readout).__name__}")
        if readout.in_features != rnn.hidden_size:
            raise ValueError(f"readout: takes {readout.in_features} inputs but the RNN has "
                             f"{rnn.hidden_size} hidden units")
        if rnn.bias != (readout.bias is not None):
            raise ValueError("readout: must have a bias exactly when the RNN has biases")
        out = cls(rnn.hidden_size, rnn.input_size, readout.out_features, bias=rnn.bias)
        with torch.no_grad():
            for name, p in out.rnn.named_parameters():
                p.copy_(getattr(rnn, name).detach())
            out.readout.weight.copy_(readout.weight.detach())
            if rnn.bias:
                out.readout.bias.copy_(readout.bias.detach())
        return out

    # --- named weights (views onto the parameters)
    @property
    def W_in(self) -> torch.Tensor:
        """Noise input weights (N, D)."""
        return self.rnn.weight_ih_l0

    @property
    def W_hh(self) -> torch.Tensor:
        """Recurrent weights (N, N)."""
        return self.rnn.weight_hh_l0

    @property
    def W_out(self) -> torch.Tensor:
        """Readout weights (K, N)."""
        return self.readout.weight

    def _io_config(self) -> dict:
        return {"n_hidden": self.n_hidden, "n_noise": self.n_noise,
                "n_symbols": self.n_symbols, "seed": self.seed, "bias": self.bias}

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden states h_1..h_L (B, L, N) driven by noise ``x`` (B, L, D), from h_0 = 0."""
        if x.ndim != 3 or x.shape[-1] != self.n_noise:
            raise ValueError(f"x: expected noise of shape (batch, length, {self.n_noise}), "
                             f"got {tuple(x.shape)}")
        if x.shape[1] == 0:
            raise ValueError("x: zero-length noise sequence")
        h0 = x.new_zeros(1, x.shape[0], self.n_hidden)
        out, _ = self.rnn(x, h0)
        return out

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden (B, L, N), logits (B, L, K)) for noise ``x`` (B, L, D)."""
        h = self.hidden(x)
        return h, self.readout(h)

    def step(self, h: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """One step of the map, h ↦ relu(W_hh h + W_in x) (x = None: the input-free map)."""
        pre = h @ self.W_hh.T
        if self.bias:
            pre = pre + self.rnn.bias_hh_l0 + self.rnn.bias_ih_l0
        if x is not None:
            pre = pre + x @ self.W_in.T
        return torch.relu(pre)

    def emit(self, logits: torch.Tensor, generator: torch.Generator | None = None,
             tau: float = 1.0) -> torch.Tensor:
        """Straight-through Gumbel-softmax: one-hot samples forward, soft gradients back."""
        u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
        exp1 = -torch.log(u.clamp_min(1e-20))  # Exp(1) samples
        gumbel = -torch.log(exp1.clamp_min(1e-20))
        soft = torch.softmax((logits + gumbel) / tau, dim=-1)
        hard = torch.nn.functional.one_hot(soft.argmax(-1), logits.shape[-1]).to(soft.dtype)
        return hard - soft.detach() + soft

    def copy(self) -> NoiseRNN:
        return copy.deepcopy(self)


def check_rnn(rnn, n_symbols: int | None = None, name: str = "rnn") -> NoiseRNN:
    """Check that ``rnn`` is a NoiseRNN (and has ``n_symbols`` outputs when given)."""
    if not isinstance(rnn, NoiseRNN):
        raise TypeError(f"{name}: expected a toolkit.hmmrnn.NoiseRNN, got {type(rnn).__name__}")
    if n_symbols is not None and rnn.n_symbols != n_symbols:
        raise ValueError(f"{name}: has {rnn.n_symbols} output symbols but the HMM emits "
                         f"{n_symbols}")
    return rnn


def noise(rnn: NoiseRNN, n_sequences: int, length: int, seed: int = 0,
          scale: float = 1.0) -> torch.Tensor:
    """Standard Gaussian noise (n_sequences, length, D) for ``rnn``, seeded, times ``scale``."""
    n_sequences = positive(n_sequences, "n_sequences", integer=True)
    length = positive(length, "length", integer=True)
    gen = torch.Generator().manual_seed(int(seed))
    return scale * torch.randn(n_sequences, length, rnn.n_noise, generator=gen)


def run(rnn: NoiseRNN, n_sequences: int = 1, length: int = 1000, seed: int = 0, *,
        x=None, scale: float = 1.0) -> dict:
    """Drive ``rnn`` with noise and return numpy arrays ``hidden`` (n, L, N), ``logits``
    (n, L, K), ``probs`` (n, L, K), ``symbols`` (n, L) (Gumbel samples) and ``noise``.

    ``x`` (n, L, D) replaces the seeded noise (then ``n_sequences``/``length`` are ignored).
    """
    check_rnn(rnn)
    if x is None:
        x = noise(rnn, n_sequences, length, seed, scale)
    else:
        x = torch.as_tensor(as_array(x, "x", ndim=3), dtype=torch.float32)
    gen = torch.Generator().manual_seed(int(seed) + 7919)
    with torch.no_grad():
        h, logits = rnn(x)
        onehot = rnn.emit(logits, gen)
    return {"hidden": h.numpy(), "logits": logits.numpy(),
            "probs": torch.softmax(logits, -1).numpy(),
            "symbols": onehot.argmax(-1).numpy().astype(np.int64), "noise": x.numpy()}


def sample(rnn: NoiseRNN, n_sequences: int, length: int, seed: int = 0) -> np.ndarray:
    """Integer output symbols of shape (n_sequences, length): the RNN run on fresh seeded
    noise, emissions drawn with the Gumbel-softmax readout. Same seed, same symbols."""
    check_rnn(rnn)
    n_sequences = positive(n_sequences, "n_sequences", integer=True)
    if isinstance(length, int | np.integer) and length == 0:
        raise ValueError("length: zero-length sequences; need at least 1 step")
    length = positive(length, "length", integer=True)
    out = []
    chunk = max(1, 2_000_000 // (length * rnn.n_hidden))  # bound memory
    for i, start in enumerate(range(0, n_sequences, chunk)):
        n = min(chunk, n_sequences - start)
        out.append(run(rnn, n, length, seed=int(seed) * 1_000_003 + i)["symbols"])
    return np.concatenate(out, axis=0)
