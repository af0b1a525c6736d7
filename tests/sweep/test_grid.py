"""Grid expansion, stable point keys and per-point seeds."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from toolkit.sweep import expand_grid, point_key, point_seed


def test_dict_grid_is_the_product_in_order():
    points = expand_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(points) == 6
    assert points[0] == {"a": 1, "b": "x"} and points[1] == {"a": 1, "b": "y"}
    assert points[-1] == {"a": 2, "b": "z"}
    assert [list(p) for p in points] == [["a", "b"]] * 6


def test_list_grid_keeps_points_and_order():
    grid = [{"a": 3, "b": 0.5}, {"b": 0.1, "a": 1}]
    assert expand_grid(grid) == [{"a": 3, "b": 0.5}, {"a": 1, "b": 0.1}]


def test_numpy_values_become_plain_and_hash_like_python_values():
    points = expand_grid({"lr": np.array([0.1, 0.2]), "n": np.arange(2), "flag": [np.bool_(1)]})
    assert type(points[0]["lr"]) is float and type(points[0]["n"]) is int
    assert type(points[0]["flag"]) is bool
    assert point_key(points[0]) == point_key({"lr": 0.1, "n": 0, "flag": True})
    assert point_key({"h": (64, 64)}) == point_key({"h": [64, 64]})


def test_key_is_the_truncated_sha256_of_the_canonical_json():
    point = {"b": 0.1, "a": [1, "x"], "c": None}
    text = json.dumps({"a": [1, "x"], "b": 0.1, "c": None}, sort_keys=True,
                      separators=(",", ":"))
    assert point_key(point) == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert point_key(point) == point_key(dict(reversed(list(point.items()))))
    assert point_key({"a": 1}) != point_key({"a": 1.0}) != point_key({"a": True})


def test_key_is_stable_across_processes_and_hash_seeds():
    # str hashing is randomised per process; the key must not depend on it
    code = ("from toolkit.sweep import point_key; "
            "print(point_key({'wd': 0.3, 'task': 'add', 'frac': [0.3, 0.5]}))")
    mine = point_key({"wd": 0.3, "task": "add", "frac": [0.3, 0.5]})
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
        assert out.stdout.strip() == mine


def test_seed_is_the_first_32_bits_of_the_key_and_differs_between_points():
    points = expand_grid({"a": list(range(50)), "b": list(range(20))})
    seeds = [point_seed(p) for p in points]
    assert all(s == int(point_key(p)[:8], 16) for s, p in zip(seeds, points))
    assert all(0 <= s < 2**32 for s in seeds)
    assert len(set(seeds)) == len(seeds)
    np.random.default_rng(max(seeds))  # accepted by numpy


@pytest.mark.parametrize("grid, match", [
    ({}, "grid: is empty"),
    ([], "grid: is an empty list"),
    ({"a": []}, "grid: parameter 'a' has no values"),
    ({"a": [1, 1]}, "grid: parameter 'a' lists the value 1 twice"),
    ([{"a": 1}, {"a": 1}], "grid: point 1 repeats point 0"),
    ([{"a": 1}, {"b": 1}], "grid: point 1 has parameters"),
    ([{"a": 1}, {}], "grid: point 1 is an empty dict"),
    ({"not valid": [1]}, "grid: parameter names must be valid Python identifiers"),
    ({"a": [float("nan")]}, "grid: parameter 'a' has the value nan"),
])
def test_bad_grids_raise_value_errors_naming_the_problem(grid, match):
    with pytest.raises(ValueError, match=match):
        expand_grid(grid)


@pytest.mark.parametrize("grid, match", [
    ({"a": 3}, "grid: parameter 'a' needs a list of values"),
    ({"a": "abc"}, "grid: parameter 'a' needs a list of values"),
    ({"a": [object()]}, "grid: parameter 'a' has a value of type object"),
    ([{"a": 1}, 5], "grid: point 1 is a int"),
    (42, "grid: expected a dict of lists or a list of dicts"),
])
def test_bad_grid_types_raise_type_errors_naming_the_parameter(grid, match):
    with pytest.raises(TypeError, match=match):
        expand_grid(grid)
