import json
import os
from dataclasses import dataclass

import numpy as np
import pytest
import torch

import toolkit as tk
from toolkit import io
from toolkit._result import Result


@io.register
@dataclass(frozen=True)
class Sample(Result):
    values: np.ndarray
    spectrum: np.ndarray
    label: str
    extra: dict


def _sample():
    r = np.random.default_rng(0)
    return Sample(r.standard_normal((4, 3)).astype(np.float32),
                  r.standard_normal(5) + 1j * r.standard_normal(5), "lorenz",
                  {"n": 3, "weights": r.integers(0, 9, 6), "nested": [1.5, float("inf")]})


@io.register
class Tiny(torch.nn.Module):
    def __init__(self, n: int = 3):
        super().__init__()
        self.n = n
        self.lin = torch.nn.Linear(n, 2)
        self.register_buffer("mean", torch.zeros(n))

    def _io_config(self):
        return {"n": self.n}


def test_result_round_trip_is_bit_exact(tmp_path):
    s = _sample()
    path = io.save(s, tmp_path / "s.safetensors")
    back = io.load(path)
    assert isinstance(back, Sample)
    assert back.values.dtype == np.float32
    np.testing.assert_array_equal(back.values, s.values)
    np.testing.assert_array_equal(back.spectrum, s.spectrum)
    np.testing.assert_array_equal(back.extra["weights"], s.extra["weights"])
    assert back.label == "lorenz" and back.extra["nested"] == [1.5, float("inf")]


def test_module_round_trip_rebuilds_from_config(tmp_path):
    torch.manual_seed(0)
    m = Tiny(5)
    io.save(m, tmp_path / "m.safetensors")
    back = io.load(tmp_path / "m.safetensors")
    assert isinstance(back, Tiny) and back.n == 5
    for a, b in zip(m.state_dict().values(), back.state_dict().values()):
        assert torch.equal(a, b)


def test_header_is_json_with_versions(tmp_path):
    io.save(_sample(), tmp_path / "s.st", metadata={"note": "hello"})
    header = io.read_header(tmp_path / "s.st")
    assert header["format_version"] == io.FORMAT_VERSION
    assert header["toolkit_version"] == tk.__version__
    assert header["metadata"] == {"note": "hello"}
    json.dumps(header)


def test_existing_path_is_not_overwritten(tmp_path):
    p = tmp_path / "s.st"
    io.save(_sample(), p)
    before = p.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        io.save({"other": np.zeros(2)}, p)
    assert p.read_bytes() == before
    io.save({"other": np.zeros(2)}, p, overwrite=True)
    assert set(io.load(p)) == {"other"}
    assert [f for f in os.listdir(tmp_path) if f.endswith(".tmp")] == []


def test_truncated_file_gives_checkpoint_error(tmp_path):
    p = tmp_path / "m.st"
    io.save(Tiny(), p)
    data = p.read_bytes()
    for cut in (len(data) - 7, 20, 4):
        (tmp_path / "cut.st").write_bytes(data[:cut])
        with pytest.raises(io.CheckpointError, match="truncated or corrupt"):
            io.load(tmp_path / "cut.st")


def test_wrong_config_gives_checkpoint_error(tmp_path):
    p = tmp_path / "m.st"
    io.save(Tiny(3), p)
    with pytest.raises(io.CheckpointError, match=r"checkpoint has shape .*the model has"):
        io.load(p, into=Tiny(4))


def test_foreign_safetensors_file_is_rejected(tmp_path):
    from safetensors.numpy import save_file

    save_file({"a": np.zeros(3)}, str(tmp_path / "x.st"))
    with pytest.raises(io.CheckpointError, match="not a dynalens checkpoint"):
        io.load(tmp_path / "x.st")


def test_unsavable_values_are_named(tmp_path):
    with pytest.raises(TypeError, match="value.f"):
        io.save({"f": lambda: 0}, tmp_path / "x.st")
    assert not (tmp_path / "x.st").exists()


def test_load_refuses_non_toolkit_classes(tmp_path):
    p = tmp_path / "m.st"
    io.save(Tiny(), p)
    raw = p.read_bytes()
    # corrupt the class path in the header, keeping the length so the file stays valid
    name = io._qualname(Tiny).encode()
    tampered = raw.replace(name, b"os.system" + b"x" * (len(name) - len("os.system")))
    assert tampered != raw
    p.write_bytes(tampered)
    with pytest.raises(io.CheckpointError):
        io.load(p)


def test_missing_file_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        io.load(tmp_path / "nope.st")
