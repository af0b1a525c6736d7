"""Symbolic coding of AL-RNN trajectories by their linear subregions (Brenner et al. 2024).

Each latent state lies in one of 2^P linear subregions, the sign pattern of the P ReLU
units. Reading that pattern at every step turns a trajectory into a symbol sequence; the
symbols, their transitions and the linear map inside each region make the model
readable: where the dynamics spend their time, in what order they move between regions,
and what each region does on its own (its fixed point, real or virtual, and eigenvalues).

Region ids read the bits 1(z_j > 0) of the ReLU units as a binary number, the first ReLU
unit the most significant bit; labels are the bit strings ("10": first unit on, second
off).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from .._checks import as_array, positive
from .._result import Result
from .model import ALRNN, region_ids

__all__ = ["SymbolicCode", "symbolic_code", "topological_entropy", "region_label",
           "word_counts"]


def region_label(region: int, P: int) -> str:
    """The bit string of a region id, first ReLU unit first (e.g. 2 → "10" for P = 2)."""
    return format(int(region), f"0{P}b") if P > 0 else "·"


def word_counts(symbols, n: int) -> Counter:
    """Counts of the length-n words (n-grams) of a symbol sequence, as tuples."""
    s = np.asarray(symbols, dtype=np.int64)
    n = positive(n, "n", integer=True)
    if len(s) < n:
        return Counter()
    win = np.stack([s[i:len(s) - n + 1 + i] for i in range(n)], axis=1)
    uniq, counts = np.unique(win, axis=0, return_counts=True)
    return Counter({tuple(int(x) for x in w): int(c) for w, c in zip(uniq, counts)})


def topological_entropy(symbols, order: int = 4) -> float:
    """Topological entropy (nats per step) of a symbol sequence, from its order-n graph.

    Nodes are the observed words of length n = ``order``, an edge u → v for each observed
    word of length n + 1 starting with u and ending with v; the entropy is the log of the
    spectral radius of that 0/1 adjacency matrix (the entropy of the smallest shift of
    finite type with memory n containing every observed word). It is exact for shifts of
    finite type of memory ≤ n and decreases towards the true value as n grows; words too
    rare to appear in a finite sample bias it low.
    """
    order = positive(order, "order", integer=True)
    words = word_counts(symbols, order + 1)
    if not words:
        return 0.0
    nodes = {}
    for w in words:
        nodes.setdefault(w[:-1], len(nodes))
        nodes.setdefault(w[1:], len(nodes))
    n = len(nodes)
    rows = [nodes[w[:-1]] for w in words]
    cols = [nodes[w[1:]] for w in words]
    if n <= 1500:
        adj = np.zeros((n, n))
        adj[rows, cols] = 1.0
        rho = float(np.abs(np.linalg.eigvals(adj)).max())
    else:  # pragma: no cover - very long words of many regions
        from scipy.sparse import csr_matrix
        from scipy.sparse.linalg import eigs

        adj = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        rho = float(np.abs(eigs(adj, k=1, return_eigenvectors=False)).max())
    return float(np.log(rho)) if rho > 1e-12 else 0.0


@dataclass(frozen=True)
class SymbolicCode(Result):
    """The symbolic code of a trajectory and the linear pieces it visits.

    - ``symbols`` (T,): region id at each step; ``regions`` the visited ids (sorted);
      ``occupancy`` the fraction of steps in each visited region; ``transitions`` the
      counts i → j between visited regions (self-loops on the diagonal).
    - Region table, over ``table_regions`` (every region when 2^P ≤ 64, else the
      visited ones): ``matrices`` W_D = diag(A) + W D, their ``eigenvalues`` (sorted by
      modulus), ``fixed_points`` z* = (I − W_D)^{-1} h (latent) and
      ``fixed_points_observed`` (data units), ``fixed_point_real``: z* lies in its own
      region (otherwise the fixed point is virtual and never reached).
    - ``topological_entropy`` of the symbol sequence at ``entropy_order`` (see
      :func:`topological_entropy`).
    - ``observed`` (T, N): the trajectory in data units, for plots.
    """

    symbols: np.ndarray
    P: int
    regions: np.ndarray
    occupancy: np.ndarray
    transitions: np.ndarray
    table_regions: np.ndarray
    matrices: np.ndarray
    eigenvalues: np.ndarray
    fixed_points: np.ndarray
    fixed_points_observed: np.ndarray
    fixed_point_real: np.ndarray
    topological_entropy: float
    entropy_order: int
    observed: np.ndarray

    # ------------------------------------------------------------------ derived
    @property
    def n_regions(self) -> int:
        """Number of visited regions."""
        return len(self.regions)

    @property
    def labels(self) -> list[str]:
        """Bit-pattern labels of the visited regions."""
        return [region_label(r, self.P) for r in self.regions]

    @property
    def bits(self) -> np.ndarray:
        """Visited regions as (n_visited, P) 0/1 arrays."""
        from .model import region_bits

        return region_bits(self.regions, self.P)

    @property
    def transition_matrix(self) -> np.ndarray:
        """Row-normalised transition probabilities between visited regions."""
        rows = self.transitions.sum(1, keepdims=True)
        return self.transitions / np.where(rows > 0, rows, 1)

    @property
    def graph(self):
        """Weighted ``networkx.DiGraph``: nodes are visited regions (labelled by bit
        pattern, with ``occupancy``), edges observed transitions with ``weight`` = count
        and ``probability``."""
        import networkx as nx

        g = nx.DiGraph()
        labels = self.labels
        for lab, r, occ in zip(labels, self.regions, self.occupancy):
            g.add_node(lab, region=int(r), occupancy=float(occ))
        prob = self.transition_matrix
        for i, j in zip(*np.nonzero(self.transitions)):
            g.add_edge(labels[i], labels[j], weight=float(self.transitions[i, j]),
                       probability=float(prob[i, j]))
        return g

    def words(self, n: int = 3):
        """n-gram statistics: each observed word of length n with count and frequency."""
        import pandas as pd

        counts = word_counts(self.symbols, n)
        total = sum(counts.values()) or 1
        rows = [{"word": " ".join(region_label(r, self.P) for r in w), "count": c,
                 "frequency": c / total} for w, c in counts.most_common()]
        return pd.DataFrame(rows, columns=["word", "count", "frequency"])

    def entropy_by_order(self, max_order: int = 8) -> np.ndarray:
        """Topological entropy estimates at orders 1..max_order (they decrease with n)."""
        return np.array([topological_entropy(self.symbols, n)
                         for n in range(1, positive(max_order, "max_order", integer=True) + 1)])

    def to_frame(self):
        """The region table: one row per region (visited ones, or all for small P)."""
        import pandas as pd

        occ = dict(zip(self.regions.tolist(), self.occupancy.tolist()))
        rows = []
        for i, r in enumerate(self.table_regions):
            ev = self.eigenvalues[i]
            row = {"region": int(r), "bits": region_label(r, self.P),
                   "visited": int(r) in occ, "occupancy": occ.get(int(r), 0.0),
                   "fixed_point": "real" if self.fixed_point_real[i] else "virtual",
                   "spectral_radius": float(np.abs(ev).max()),
                   "leading_eigenvalue": complex(ev[0])}
            for d in range(self.fixed_points_observed.shape[1]):
                row[f"x*{d}"] = float(self.fixed_points_observed[i, d])
            rows.append(row)
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ views
    def region_colors(self, highlight: int | None = None) -> dict:
        """Colour per region label; with ``highlight``, every other region is grey."""
        from ..viz import REGION_PALETTE

        colors = {region_label(r, self.P): REGION_PALETTE[int(r) % len(REGION_PALETTE)]
                  for r in self.table_regions}
        if highlight is not None:
            key = region_label(highlight, self.P)
            colors = {k: (v if k == key else "#dddddd") for k, v in colors.items()}
        return colors

    def portrait(self, dims=(0, 1), *, labels=None, highlight: int | None = None,
                 window: tuple[int, int] | None = None, max_points: int = 20_000, title=""):
        """Trajectory projection coloured by region, real fixed points as black stars.

        ``highlight``: a region id drawn in its colour while the others turn grey.
        ``window``: (start, stop) steps drawn as a dark path on top.
        """
        import holoviews as hv

        from ..viz import phase_portrait

        step = max(1, len(self.observed) // max_points)
        colour = np.array([region_label(s, self.P) for s in self.symbols[::step]])
        cmap = self.region_colors(highlight)
        el = phase_portrait(self.observed[::step], dims=dims, labels=labels, color=colour,
                            kind="points", title=title or "trajectory by region")
        el = el.opts(cmap=cmap, size=2)
        kdims = el.kdims
        if window is not None:
            a, b = (int(v) for v in window)
            seg = self.observed[max(a, 0):max(b, a + 2)][:, list(dims)]
            el = el * hv.Path([seg], kdims=kdims).opts(color="black", line_width=1.2)
        real = self.fixed_point_real
        if real.any():
            pts = self.fixed_points_observed[real][:, list(dims)]
            el = el * hv.Points(pts, kdims=kdims).opts(marker="star", size=14, color="black")
        return el

    def raster(self, start: int = 0, length: int = 1000, *, highlight: int | None = None):
        """Symbols over a window of time, one row per visited region."""
        import holoviews as hv

        from ..viz import _ensure_theme

        _ensure_theme()
        start = int(min(max(start, 0), max(len(self.symbols) - 2, 0)))
        stop = min(len(self.symbols), start + max(int(length), 2))
        t = np.arange(start, stop)
        s = self.symbols[start:stop]
        row = {int(r): i for i, r in enumerate(self.regions)}
        cmap = self.region_colors(highlight)
        data = {"time": t, "region": [row.get(int(v), -1) for v in s],
                "bits": [region_label(v, self.P) for v in s]}
        return hv.Points(data, kdims=["time", "region"], vdims=["bits"]).opts(
            color="bits", cmap=cmap, marker="square", size=5,
            yticks=[(i, lab) for i, lab in enumerate(self.labels)], width=840, height=180,
            title="symbol sequence", show_legend=False, framewise=True)

    def graph_view(self, *, highlight: int | None = None):
        """The transition graph, edge width by count; ``highlight`` marks one region."""
        from ..viz import graph

        el = graph(self.graph, title=f"transitions ({self.n_regions} regions visited)",
                   node_colors=self.region_colors())
        return el if highlight is None else el * self.graph_marker(highlight)

    def graph_marker(self, region: int | None):
        """A ring round ``region`` in :meth:`graph_view`'s layout (empty for None or a
        region not visited): overlay it on a graph drawn once to move the mark cheaply."""
        import holoviews as hv

        pts = []
        if region is not None and int(region) in set(self.regions.tolist()):
            import networkx as nx

            pos = nx.circular_layout(self.graph)
            pts = [tuple(pos[region_label(region, self.P)])]
        return hv.Points(pts).opts(size=30, fill_alpha=0.0, line_color="black", line_width=3,
                                   show_grid=False, xaxis=None, yaxis=None)

    def plot(self, dims=(0, 1), *, labels=None):
        """Region-coloured portrait, transition graph, transition heatmap and raster."""
        import holoviews as hv

        from ..viz import heatmap

        heat = heatmap(self.transition_matrix, xlabel="to", ylabel="from",
                       xticks=self.labels, yticks=self.labels, title="transition probabilities")
        return hv.Layout([self.portrait(dims, labels=labels), self.graph_view(), heat,
                          self.raster()]).cols(2)


def symbolic_code(model: ALRNN, latent, *, entropy_order: int = 4,
                  max_table_regions: int = 64) -> SymbolicCode:
    """The symbolic code of a latent trajectory (T, M) of ``model``.

    ``latent`` comes from ``model.generate(x0, T, return_latent=True)[1]`` (or any
    sequence of latent states). The region table covers every region when
    2^P ≤ ``max_table_regions``, else only the visited ones.
    """
    if not isinstance(model, ALRNN):
        raise TypeError(f"model: expected an ALRNN, got {type(model).__name__}")
    z = as_array(latent, "latent", ndim=2, min_length=2)
    if z.shape[1] != model.M:
        raise ValueError(f"latent: expected {model.M} latent dimensions, got {z.shape[1]}")
    P = model.P
    symbols = region_ids(z, P)
    regions, inverse, counts = np.unique(symbols, return_inverse=True, return_counts=True)
    occupancy = counts / counts.sum()
    n = len(regions)
    transitions = np.zeros((n, n))
    np.add.at(transitions, (inverse[:-1], inverse[1:]), 1.0)
    if 2**P <= max_table_regions:
        table = np.arange(2**P)
    else:
        table = regions
    A, W, h, _ = model.numpy_params()
    from .model import _region_matrices

    mats = _region_matrices(A, W, P, table)
    eig = np.linalg.eigvals(mats)
    order = np.argsort(-np.abs(eig), axis=1, kind="stable")
    eig = np.take_along_axis(eig, order, axis=1)
    eye = np.eye(model.M)
    fps = np.full((len(table), model.M), np.nan)
    for i in range(len(table)):
        try:
            fps[i] = np.linalg.solve(eye - mats[i], h)
        except np.linalg.LinAlgError:  # no isolated fixed point in this region
            pass
    real = np.isfinite(fps).all(1) & (region_ids(np.nan_to_num(fps), P) == table)
    return SymbolicCode(symbols, P, regions, occupancy, transitions, table, mats, eig, fps,
                        model.observe(fps), real,
                        topological_entropy(symbols, entropy_order), int(entropy_order),
                        model.observe(z))
