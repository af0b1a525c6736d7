import itertools

import numpy as np
import pytest

from toolkit.alrnn import ALRNN, find_cycles, region_ids
from toolkit.alrnn.cycles import lyndon_words, n_lyndon


def tent():
    # the tent map on [-1, 1] as an AL-RNN: z -> 2z - 4 relu(z) + 1
    return ALRNN.from_params(np.array([2.0]), np.array([[-4.0]]), np.array([1.0]), P=1, N=1)


def random_model(M=20, P=2, seed=0, gain=1.2):
    rng = np.random.default_rng(seed)
    A = rng.uniform(0.2, 0.9, M)
    W = rng.normal(0, gain / np.sqrt(M), (M, M))
    h = rng.normal(0, 1, M)
    return ALRNN.from_params(A, W, h, P=P, N=3)


def verify(model, cycle, tol=1e-10):
    """Independent check: iterate the model's own step k times."""
    Z = cycle.points
    k = cycle.period
    z = Z[0]
    for t in range(k):
        np.testing.assert_allclose(z, Z[t], atol=1e-8)
        z = model.step(z)
    scale = 1 + np.abs(Z).max()
    assert np.abs(z - Z[0]).max() <= 1e3 * tol * scale
    assert np.abs(model.step(Z) - np.roll(Z, -1, axis=0)).max() <= tol * scale
    assert list(region_ids(Z, model.P)) == list(cycle.regions)
    for d in range(1, k):  # minimal period
        if k % d == 0:
            assert np.abs(Z - np.roll(Z, -d, axis=0)).max() > 1e-8


def test_tent_fixed_points_and_two_cycle():
    cs = find_cycles(tent(), max_period=2)
    fixed = sorted(float(c.points[0, 0]) for c in cs.of_period(1))
    np.testing.assert_allclose(fixed, [-1.0, 1.0 / 3.0], atol=1e-14)
    (two,) = cs.of_period(2)
    np.testing.assert_allclose(sorted(two.points[:, 0]), [-0.2, 0.6], atol=1e-14)
    # |slope| = 2 everywhere: every cycle is unstable with multiplier ±2^k
    assert all(not c.stable for c in cs)
    np.testing.assert_allclose(abs(two.eigenvalues[0]), 4.0)


@pytest.mark.parametrize("k", range(1, 11))
def test_tent_has_two_to_the_k_period_k_points(k):
    cs = find_cycles(tent(), max_period=k)
    assert cs.complete
    points = sum(c.period for c in cs if k % c.period == 0)
    assert points == 2**k
    for c in cs.of_period(k):
        verify(tent(), c)


def test_lyndon_words_and_counts():
    assert lyndon_words(2, 4).tolist() == [[0, 0, 0, 1], [0, 0, 1, 1], [0, 1, 1, 1]]
    for q, k in [(2, 6), (3, 4), (4, 5), (8, 3)]:
        words = lyndon_words(q, k)
        assert len(words) == n_lyndon(q, k)
        # each is aperiodic and strictly least among its rotations
        for w in words[:50]:
            rots = {tuple(np.roll(w, -s)) for s in range(k)}
            assert len(rots) == k and tuple(w) == min(rots)


def brute_force_cycles(model, k):
    """All k-cycles by solving every region sequence with the product formula."""
    A, W, h, _ = model.numpy_params()
    M, P = model.M, model.P
    found = []
    for word in itertools.product(range(2**P), repeat=k):
        mats = model.region_matrix(np.array(word))
        prod, acc = np.eye(M), np.zeros(M)
        for t in range(k):  # z_{t+1} = W_{D_t} z_t + h
            prod = mats[t] @ prod
            acc = mats[t] @ acc + h
        z0 = np.linalg.solve(np.eye(M) - prod, acc)
        Z = [z0]
        for _ in range(k - 1):
            Z.append(model.step(Z[-1]))
        Z = np.array(Z)
        if list(region_ids(Z, P)) != list(word):
            continue
        if any(np.abs(Z - np.roll(Z, -d, axis=0)).max() < 1e-9 for d in range(1, k) if k % d == 0):
            continue
        key = tuple(np.round(np.sort(Z[:, 0]), 8))
        if key not in [f[0] for f in found]:
            found.append((key, Z))
    return found


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exhaustive_search_matches_brute_force(seed):
    model = random_model(M=5, P=2, seed=seed, gain=2.5)
    cs = find_cycles(model, max_period=4)
    assert cs.complete
    for k in range(1, 5):
        assert len(cs.of_period(k)) == len(brute_force_cycles(model, k)), k


def test_every_cycle_is_verified_unique_and_minimal():
    model = random_model(M=20, P=3, seed=4, gain=3.0)
    cs = find_cycles(model, max_period=5)
    assert len(cs) > 0
    for c in cs:
        verify(model, c)
        assert c.closure_error < 1e-10
    # no duplicates: no two cycles share a point
    pts = np.concatenate([c.points for c in cs])
    d = np.abs(pts[:, None, :] - pts[None, :, :]).max(-1)
    assert np.sum(d < 1e-8) == len(pts)


def test_scyfi_returns_verified_subset_of_exhaustive():
    model = random_model(M=20, P=2, seed=0, gain=2.5)
    full = find_cycles(model, max_period=6)
    heuristic = find_cycles(model, max_period=6, max_candidates=10, n_starts=400)
    assert not heuristic.exhaustive[-1] and full.exhaustive[-1]
    words = {(c.period, tuple(c.regions)) for c in full}
    for c in heuristic:
        verify(model, c)
        rotations = {(c.period, tuple(np.roll(c.regions, s))) for s in range(c.period)}
        assert rotations & words
    # the fixed points are small enough to be searched exhaustively either way
    assert len(heuristic.of_period(1)) == len(full.of_period(1))


def test_stable_cycle_is_found_by_scyfi_from_orbit_words():
    # a model whose orbits settle on a stable 2-cycle: z -> -0.5 z - relu(z)·1 + 1
    model = ALRNN.from_params(np.array([-0.5]), np.array([[-1.0]]), np.array([1.0]), P=1, N=1)
    orbit = model.iterate(np.array([0.3]), 200)
    cs = find_cycles(model, max_period=4, max_candidates=1, latent=orbit)
    stable = [c for c in cs if c.stable]
    assert stable
    tail = orbit[-4:, 0]
    assert any(np.allclose(sorted(c.points[:, 0]), sorted(set(np.round(tail, 9))), atol=1e-8)
               for c in stable)


def test_frame_and_plot():
    cs = find_cycles(tent(), max_period=3)
    frame = cs.to_frame()
    assert len(frame) == len(cs) and set(frame.period) == {1, 2, 3}
    assert frame.exhaustive.all()
    cs.plot()


def test_bad_input():
    with pytest.raises(ValueError, match="^max_period"):
        find_cycles(tent(), max_period=0)
    with pytest.raises(TypeError, match="^model"):
        find_cycles(object(), max_period=2)
    with pytest.raises(ValueError, match="^tol"):
        find_cycles(tent(), max_period=2, tol=-1.0)


def lozi(P, M=12, a=1.7, b=0.5, thresholds=(0.5, -0.5, 1.0)):
    """The Lozi map x' = 1 − a|x| + y, y' = b x as an AL-RNN: one ReLU unit carries |x|,
    P − 1 more switch at other thresholds but feed nothing back, so the cycles are the
    same for every P while the region words differ."""
    k0 = M - P
    A = np.zeros(M)
    A[2:k0] = 0.5
    W = np.zeros((M, M))
    h = np.zeros(M)
    W[0, 1] = b
    for j, row in enumerate([1, k0] + list(range(k0 + 1, M))):
        W[row, 0], W[row, 1], W[row, k0] = 1.0, a, -2.0 * a
        h[row] = 1.0 - (thresholds[j - 2] if j >= 2 else 0.0)
    return ALRNN.from_params(A, W, h, P=P, N=2)


def cycle_keys(cs):
    return sorted((c.period, tuple(np.round(np.sort(c.points[:, 1]), 8))) for c in cs)


def test_lozi_cycles_do_not_depend_on_extra_relu_units():
    one = find_cycles(lozi(1), max_period=5)
    three = find_cycles(lozi(3), max_period=5)
    assert one.complete and three.complete
    assert len(one) >= 4
    assert cycle_keys(one) == cycle_keys(three)
    # SCYFI beyond the exhaustive budget finds them too, here
    scyfi = find_cycles(lozi(3), max_period=5, max_candidates=50)
    assert not scyfi.exhaustive[-1]
    assert cycle_keys(scyfi) == cycle_keys(one)
