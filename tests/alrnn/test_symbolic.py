import networkx as nx
import numpy as np
import pytest

from toolkit.alrnn import ALRNN, region_label, symbolic_code, topological_entropy
from toolkit.alrnn.symbolic import word_counts


def tent():
    return ALRNN.from_params(np.array([2.0]), np.array([[-4.0]]), np.array([1.0]), P=1, N=1)


def rotation_model():
    # M = 3, P = 2: a slow rotation in the linear units pushes the two ReLU units through
    # their sign changes, so the orbit cycles through several regions
    th = 0.3
    W = np.zeros((3, 3))
    A = np.array([1.0, 0.0, 0.0])
    W[0, 0] = np.cos(th) - 1.0
    W[0, 1], W[1, 0] = -np.sin(th), np.sin(th)
    W[1, 1] = np.cos(th)
    W[2, 0] = 1.0
    W[2, 1] = 0.0
    return ALRNN.from_params(A, W, np.zeros(3), P=2, N=1)


def test_code_counts_and_graph():
    m = rotation_model()
    latent = m.iterate(np.array([1.0, 0.0, 0.5]), 400)
    code = symbolic_code(m, latent)
    assert code.symbols.shape == (400,)
    assert set(code.regions) == set(np.unique(code.symbols))
    np.testing.assert_allclose(code.occupancy.sum(), 1.0)
    assert code.transitions.sum() == 399
    # transition counts agree with a direct count
    i = np.searchsorted(code.regions, code.symbols)
    for a in range(len(code.regions)):
        for b in range(len(code.regions)):
            assert code.transitions[a, b] == np.sum((i[:-1] == a) & (i[1:] == b))
    np.testing.assert_allclose(code.transition_matrix.sum(1), 1.0)
    g = code.graph
    assert isinstance(g, nx.DiGraph) and set(g.nodes) == set(code.labels)
    assert sum(d["weight"] for *_, d in g.edges(data=True)) == 399
    assert code.labels == [region_label(r, 2) for r in code.regions]
    assert code.bits.shape == (len(code.regions), 2)


def test_region_table_fixed_points_real_and_virtual():
    code = symbolic_code(tent(), tent().iterate(np.array([0.1]), 30))
    assert code.table_regions.tolist() == [0, 1]
    np.testing.assert_allclose(code.fixed_points[:, 0], [-1.0, 1.0 / 3.0])
    assert code.fixed_point_real.tolist() == [True, True]
    np.testing.assert_allclose(np.abs(code.eigenvalues[:, 0]), [2.0, 2.0])
    # z -> 0.5 z + 1 in both regions: the fixed point 2 is real in region 1 only
    half = ALRNN.from_params(np.array([0.5]), np.array([[0.0]]), np.array([1.0]), P=1, N=1)
    code = symbolic_code(half, half.iterate(np.array([-3.0]), 20))
    assert code.fixed_point_real.tolist() == [False, True]
    frame = code.to_frame()
    assert frame.fixed_point.tolist() == ["virtual", "real"]
    assert frame.visited.tolist() == [True, True]


def test_entropy_of_full_and_golden_mean_shifts():
    rng = np.random.default_rng(0)
    full = rng.integers(0, 2, 50_000)
    assert topological_entropy(full, order=4) == pytest.approx(np.log(2), abs=1e-9)
    # golden-mean shift: no two 1s in a row → entropy log φ
    s, out = 0, []
    for u in rng.random(50_000):
        s = 0 if s == 1 else int(u < 0.5)
        out.append(s)
    phi = (1 + np.sqrt(5)) / 2
    assert topological_entropy(out, order=3) == pytest.approx(np.log(phi), abs=1e-9)
    # a periodic sequence has zero entropy
    assert topological_entropy([0, 1, 1] * 200, order=3) == pytest.approx(0.0, abs=1e-9)


def test_word_statistics():
    s = np.array([0, 1, 1, 0, 1, 1, 0])
    counts = word_counts(s, 2)
    assert counts == {(0, 1): 2, (1, 1): 2, (1, 0): 2}
    assert sum(word_counts(s, 3).values()) == len(s) - 2
    m = rotation_model()
    code = symbolic_code(m, m.iterate(np.array([1.0, 0.0, 0.5]), 300))
    words = code.words(3)
    assert words["count"].sum() == 298
    np.testing.assert_allclose(words["frequency"].sum(), 1.0)
    est = code.entropy_by_order(5)
    assert np.all(np.diff(est) <= 1e-12)  # higher orders never raise the estimate


def test_plot_builds():
    m = rotation_model()
    code = symbolic_code(m, m.iterate(np.array([1.0, 0.0, 0.5]), 300))
    layout = code.plot(dims=(0, 0))
    assert len(layout) == 4


def test_bad_input():
    m = rotation_model()
    with pytest.raises(ValueError, match="^latent"):
        symbolic_code(m, np.zeros((10, 4)))
    with pytest.raises(ValueError, match="^latent"):
        symbolic_code(m, np.full((10, 3), np.nan))
    with pytest.raises(TypeError, match="^model"):
        symbolic_code("model", np.zeros((10, 3)))
