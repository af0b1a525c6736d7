import numpy as np
import pytest

from toolkit.grokking import linear_task, modular_task, polynomial_task
from toolkit.grokking.tasks import is_prime


@pytest.mark.parametrize("op, f", [
    ("add", lambda a, b, p: (a + b) % p),
    ("subtract", lambda a, b, p: (a - b) % p),
    ("multiply", lambda a, b, p: (a * b) % p),
    ("quadratic", lambda a, b, p: (a * a + a * b + b * b) % p),
])
def test_targets_follow_the_operation_on_all_pairs_in_row_major_order(op, f):
    p = 7
    t = modular_task(op, p, 0.5, seed=0)
    assert t.inputs.shape == (p * p, 2)
    assert np.array_equal(t.inputs[:, 0] * p + t.inputs[:, 1], np.arange(p * p))
    for (a, b), y in zip(t.inputs, t.targets):
        assert y == f(int(a), int(b), p)


def test_division_inverts_multiplication_and_skips_zero():
    p = 11
    t = modular_task("divide", p, 0.5, seed=0)
    assert len(t.targets) == p * (p - 1)
    assert np.all(t.inputs[:, 1] != 0)
    assert np.all((t.targets * t.inputs[:, 1]) % p == t.inputs[:, 0])


def test_split_size_and_seed():
    t = modular_task("add", 31, 0.3, seed=3)
    assert t.n_train == round(0.3 * 31 * 31)
    again = modular_task("add", 31, 0.3, seed=3)
    other = modular_task("add", 31, 0.3, seed=4)
    assert np.array_equal(t.train, again.train)
    assert not np.array_equal(t.train, other.train)
    s = t.splits()
    assert len(s["train"][0]) + len(s["test"][0]) == 31 * 31
    assert t.to_frame()["train"].sum() == t.n_train


@pytest.mark.parametrize("kwargs, match", [
    (dict(operation="multiply", p=12), "p: 'multiply' needs a prime"),
    (dict(operation="divide", p=9), "p: 'divide' needs a prime"),
    (dict(operation="add", p=1), "p: must be at least 2"),
    (dict(operation="add", p=11, train_fraction=0.0), "train_fraction"),
    (dict(operation="add", p=11, train_fraction=1.0), "train_fraction"),
    (dict(operation="add", p=11, train_fraction=1.5), "train_fraction"),
    (dict(operation="add", p=11, train_fraction=0.001), "train_fraction"),
    (dict(operation="power", p=11), "task: unknown value 'power'"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        modular_task(**kwargs)


def test_is_prime():
    assert [n for n in range(20) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19]


def test_polynomial_task_targets_and_scale():
    t = polynomial_task(D=10, n_train=50, n_test=20000, seed=1)
    assert np.linalg.norm(t.beta) ** 2 == pytest.approx(10)
    np.testing.assert_allclose(t.y_train, 0.5 * (t.x_train @ t.beta) ** 2)
    # x ~ N(0, I/D): E|x|² = 1 and β·x ~ N(0, 1), so E y = 1/2
    assert np.mean(np.sum(t.x_test**2, 1)) == pytest.approx(1.0, rel=0.02)
    assert t.y_test.mean() == pytest.approx(0.5, rel=0.05)


def test_linear_task_has_the_chosen_singular_values():
    t = linear_task((0.5, 3.0, 1.0), n_in=5, n_out=4, seed=0)
    np.testing.assert_allclose(np.linalg.svd(t.sigma31, compute_uv=False)[:3], [3, 1, 0.5])
    np.testing.assert_allclose(t.U.T @ t.U, np.eye(3), atol=1e-12)
    x, y = t.splits()["train"]
    np.testing.assert_allclose(y.numpy(), (t.sigma31 @ x.numpy().T).T)
    with pytest.raises(ValueError, match="singular_values"):
        linear_task((1.0, -1.0))
    with pytest.raises(ValueError, match="singular_values"):
        linear_task((1.0, 1.0, 1.0), n_in=2)
