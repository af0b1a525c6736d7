import numpy as np
import pytest
import torch

from toolkit import io
from toolkit.alrnn import ALRNN, region_bits, region_ids
from toolkit.io import CheckpointError


def tent():
    return ALRNN.from_params(torch.tensor([2.0]), torch.tensor([[-4.0]]), torch.tensor([1.0]),
                             P=1, N=1)


def small(seed=0, M=6, P=2, N=2):
    rng = np.random.default_rng(seed)
    return ALRNN.from_params(rng.uniform(0.3, 0.9, M), rng.normal(0, 0.4, (M, M)),
                             rng.normal(0, 0.5, M), P=P, N=N,
                             L=rng.normal(size=(M - N, N)), mean=[1.0, -2.0], std=[2.0, 0.5])


def test_sizes_and_parameters():
    m = ALRNN(20, 2, 3)
    assert (m.M, m.P, m.N) == (20, 2, 3)
    assert m.A.shape == (20,) and m.W.shape == (20, 20) and m.h.shape == (20,)
    assert m.L.shape == (17, 3)
    # default: near identity, A = 0.99, W ~ N(0, 0.01²), h = 0
    np.testing.assert_array_equal(m.A.detach().numpy(), 0.99)
    assert abs(m.W.detach().numpy().std() - 0.01) < 0.002
    assert np.all(m.h.detach().numpy() == 0)
    # reference initialisation: A = diag(K)/λmax(K), K = RᵀR/M + I
    ref = ALRNN(20, 2, 3, init="reference")
    A = ref.A.detach().numpy()
    assert np.all((A > 0) & (A < 1)) and A.max() < 0.9
    # same seed, same model
    assert torch.equal(ALRNN(20, 2, 3, seed=4).W, ALRNN(20, 2, 3, seed=4).W)


@pytest.mark.parametrize("args, name", [((3, 4, 2), "P"), ((3, 1, 4), "N"), ((0, 0, 1), "M"),
                                        ((3, -1, 2), "P")])
def test_bad_sizes_name_the_parameter(args, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        ALRNN(*args)


def test_unknown_init_is_named():
    with pytest.raises(ValueError, match="^init"):
        ALRNN(4, 1, 2, init="xavier")


def test_step_matches_definition_and_torch_forward():
    m = small()
    A, W, h, _ = m.numpy_params()
    z = np.random.default_rng(1).normal(size=(5, 6))
    phi = np.concatenate([z[:, :4], np.maximum(z[:, 4:], 0)], axis=1)
    expected = A * z + phi @ W.T + h
    np.testing.assert_allclose(m.step(z), expected, atol=1e-14)
    np.testing.assert_allclose(m(torch.tensor(z)).detach().numpy(), expected, atol=1e-14)


def test_jacobian_matches_autograd():
    m = small()
    z = torch.tensor(np.random.default_rng(2).normal(size=6))
    auto = torch.autograd.functional.jacobian(m, z).detach().numpy()
    np.testing.assert_allclose(m.jacobian(z.numpy()), auto, atol=1e-12)
    # constant inside a region: equals the region matrix W_D
    np.testing.assert_allclose(m.jacobian(z.numpy()), m.region_matrix(m.regions(z.numpy())))


def test_region_ids_read_bits_first_relu_unit_first():
    z = np.array([[0.0, 1.0, -1.0], [0.0, -1.0, 2.0], [5.0, 3.0, 3.0], [1.0, -1.0, 0.0]])
    np.testing.assert_array_equal(region_ids(z, 2), [2, 1, 3, 0])  # z = 0 counts as off
    np.testing.assert_array_equal(region_bits([2, 1, 3, 0], 2), [[1, 0], [0, 1], [1, 1], [0, 0]])


def test_generate_in_data_units_and_latent():
    m = small()
    x0 = np.array([[3.0, -1.0]])
    x, z = m.generate(x0, 50, return_latent=True)
    assert x.shape == (50, 2) and z.shape == (50, 6)
    np.testing.assert_allclose(x[0], x0[0])                 # starts at x0, in data units
    xn = (x0[0] - m.mean) / m.std
    np.testing.assert_allclose(z[0], np.concatenate([xn, m.L.detach().numpy() @ xn]))
    np.testing.assert_allclose(z[1], m.step(z[0]))
    np.testing.assert_allclose(x, z[:, :2] * m.std + m.mean)
    np.testing.assert_allclose(m.generate(x0[0], 50), x)   # (N,) works too
    batch = m.generate(np.vstack([x0, x0 + 1]), 10)
    assert batch.shape == (2, 10, 2)
    np.testing.assert_allclose(batch[0], x[:10])
    # transient steps are dropped
    np.testing.assert_allclose(m.generate(x0, 10, transient=5), x[5:15])


def test_generate_warns_at_the_step_the_orbit_leaves_finite_values():
    """z ↦ 10 z from x0 = 1 reaches 1e308 at step 308 and overflows at step 309 (1e10:
    step 299); from 0 it stays at 0."""
    import warnings

    from toolkit.alrnn.model import OrbitDiverged

    m = ALRNN.from_params([10.0], [[0.0]], [0.0], P=0, N=1)
    with pytest.warns(OrbitDiverged, match=r"left finite values at step 309 of the returned "
                                           r"orbit.*bounded_run.*reconstruct") as rec:
        x = m.generate(np.array([1.0]), 400)
    assert len(rec) == 1 and issubclass(rec[0].category, RuntimeWarning)
    assert np.isfinite(x[308, 0]) and np.isinf(x[309, 0])     # behaviour unchanged
    with pytest.warns(OrbitDiverged, match=r"step 299 of the returned orbit \(in 2 of 3 "
                                           r"orbits, first in orbit 2\)"):
        m.generate(np.array([[0.0], [1.0], [1e10]]), 400)
    with pytest.warns(OrbitDiverged, match="step 309 of the transient"):
        m.generate(np.array([1.0]), 10, transient=400)
    with pytest.warns(OrbitDiverged, match=r"step 9 of the returned orbit"):
        m.generate(np.array([1.0]), 20, transient=300)
    with warnings.catch_warnings():                            # a finite run: no warning
        warnings.simplefilter("error")
        m.generate(np.array([1.0]), 300)
        small().generate(np.array([[3.0, -1.0]]), 200)


def test_generate_bad_input():
    m = small()
    with pytest.raises(ValueError, match="^x0"):
        m.generate(np.zeros((1, 3)), 10)
    with pytest.raises(ValueError, match="^x0"):
        m.generate(np.array([[np.nan, 0.0]]), 10)
    with pytest.raises(ValueError, match="^T"):
        m.generate(np.zeros((1, 2)), 0)


def test_fixed_points_of_each_region():
    m = small()
    for region in range(4):
        z = m.fixed_point(region)
        np.testing.assert_allclose(m.region_matrix(region) @ z + m.h.detach().numpy(), z,
                                   atol=1e-12)


def test_tent_lyapunov_exponent_is_ln2_through_the_jacobian():
    spectrum = tent().lyapunov_spectrum(2000, z0=np.array([0.1234]), transient=10)
    assert spectrum.exponents[0] == pytest.approx(np.log(2), abs=1e-12)
    np.testing.assert_allclose(tent().fixed_point([0, 1]), [[-1.0], [1.0 / 3.0]])


def test_plrnn_is_the_case_p_equals_m():
    m = ALRNN(4, 4, 2)
    z = np.array([1.0, -1.0, 2.0, -3.0])
    np.testing.assert_allclose(m.jacobian(z), np.diag(m.A.detach().numpy())
                               + m.W.detach().numpy() * np.array([1, 0, 1, 0]))


def test_io_round_trip_and_wrong_shape(tmp_path):
    m = small()
    m.dt = 0.05
    path = io.save(m, tmp_path / "m.safetensors")
    back = io.load(path)
    assert isinstance(back, ALRNN) and (back.M, back.P, back.N, back.dt) == (6, 2, 2, 0.05)
    np.testing.assert_allclose(back.mean, m.mean)
    x0 = np.array([[0.5, 0.5]])
    np.testing.assert_array_equal(back.generate(x0, 30), m.generate(x0, 30))
    with pytest.raises(CheckpointError, match=r"^(A|W|h|L|data_mean|data_std):"):
        io.load(path, into=ALRNN(8, 2, 2))
