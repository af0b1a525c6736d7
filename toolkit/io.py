"""Save and load models and results: safetensors for tensors, JSON for everything else.

One file per object. The safetensors header carries a JSON document with the object's
kind, its configuration (constructor arguments, normalisation, ...), the format
version and the toolkit version; tensors hold the numbers. Never pickle.

    tk.io.save(model, "lorenz.safetensors")          # refuses to overwrite
    tk.io.save(model, "lorenz.safetensors", overwrite=True)
    model = tk.io.load("lorenz.safetensors")
    tk.io.read_header("lorenz.safetensors")           # the JSON part, no tensors

Writes are atomic: the file is written to a temporary name in the same folder, synced,
then linked (no overwrite) or renamed (overwrite) into place, so a crash never leaves a
half-written file under the final name and an existing file is never clobbered by
accident.

What can be saved:
- a torch ``nn.Module`` or any class registered with :func:`register` that provides
  ``_io_config() -> dict`` and ``_io_tensors() -> dict`` and a classmethod
  ``_io_restore(config, tensors)``;
- a dataclass (frozen results) whose fields are arrays, tensors, JSON values, nested
  dataclasses or dicts of those;
- a plain ``dict`` of the same.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["save", "load", "read_header", "register", "CheckpointError", "load_state_dict",
           "FORMAT_VERSION"]

FORMAT_VERSION = 1
_MAGIC = "dynalens"
_REGISTRY: dict[str, type] = {}


class CheckpointError(ValueError):
    """A file that is not a readable dynalens checkpoint, or does not match what was asked."""


def register(cls):
    """Class decorator: make ``cls`` savable and loadable by its qualified name."""
    _REGISTRY[_qualname(cls)] = cls
    return cls


def _qualname(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# ------------------------------------------------------------------ encoding
def _is_tensor(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _encode(value, key: str, tensors: dict):
    """Turn ``value`` into JSON, moving arrays into ``tensors`` under ``key``."""
    if isinstance(value, np.ndarray) or _is_tensor(value):
        arr = value.detach().cpu().numpy() if _is_tensor(value) else value
        kind = "torch" if _is_tensor(value) else "numpy"
        if arr.dtype.kind == "O":
            raise TypeError(f"{key}: object arrays cannot be saved")
        if arr.dtype.kind == "c":
            tensors[key + ".real"] = np.ascontiguousarray(arr.real)
            tensors[key + ".imag"] = np.ascontiguousarray(arr.imag)
            return {"__array__": key, "kind": kind, "complex": True}
        tensors[key] = np.ascontiguousarray(arr)
        return {"__array__": key, "kind": kind}
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, complex):
        return {"__complex__": [value.real, value.imag]}
    if isinstance(value, list | tuple):
        enc = [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(value)]
        return enc if isinstance(value, list) else {"__tuple__": enc}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{key}: dict keys must be strings to be saved")
        return {"__dict__": {k: _encode(v, f"{key}.{k}", tensors) for k, v in value.items()}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__dataclass__": _qualname(type(value)),
                "fields": {f.name: _encode(getattr(value, f.name), f"{key}.{f.name}", tensors)
                           for f in dataclasses.fields(value) if f.init}}
    if hasattr(value, "_io_config"):
        return {"__object__": _qualname(type(value)),
                "config": _encode(value._io_config(), f"{key}.config", tensors),
                "tensors": _encode(dict(value._io_tensors()), f"{key}.tensors", tensors)}
    raise TypeError(f"{key}: cannot save a {type(value).__name__}; use arrays, numbers, "
                    "strings, lists, dicts or dataclasses of those")


def _decode(value, tensors: dict):
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        key = value["__array__"]
        if value.get("complex"):
            arr = _get(tensors, key + ".real") + 1j * _get(tensors, key + ".imag")
        else:
            arr = _get(tensors, key)
        if value.get("kind") == "torch":
            import torch

            return torch.from_numpy(np.array(arr))
        return arr
    if "__float__" in value:
        return float(value["__float__"])
    if "__complex__" in value:
        return complex(*value["__complex__"])
    if "__tuple__" in value:
        return tuple(_decode(v, tensors) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: _decode(v, tensors) for k, v in value["__dict__"].items()}
    if "__dataclass__" in value:
        cls = _resolve(value["__dataclass__"])
        fields = {k: _decode(v, tensors) for k, v in value["fields"].items()}
        try:
            return cls(**fields)
        except TypeError as exc:
            raise CheckpointError(f"stored fields do not fit {cls.__name__}: {exc}") from None
    if "__object__" in value:
        cls = _resolve(value["__object__"])
        return cls._io_restore(_decode(value["config"], tensors),
                               _decode(value["tensors"], tensors))
    raise CheckpointError(f"unrecognised entry in the file's JSON: {sorted(value)}")


def _get(tensors, key):
    if key not in tensors:
        raise CheckpointError(f"tensor {key!r} is missing from the file")
    return tensors[key]


def _resolve(qualname: str):
    if qualname in _REGISTRY:
        return _REGISTRY[qualname]
    module, _, name = qualname.rpartition(".")
    if not module.startswith("toolkit"):
        raise CheckpointError(f"refusing to import {qualname!r}: only toolkit classes or "
                              "classes registered with toolkit.io.register are loaded")
    try:
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise CheckpointError(f"the file stores a {qualname!r}, which this toolkit version "
                              "does not have") from None
    return obj


# ------------------------------------------------------------------ modules
def _module_payload(module):
    import torch

    config = module._io_config() if hasattr(module, "_io_config") else {}
    state = {k: v for k, v in module.state_dict().items() if isinstance(v, torch.Tensor)}
    return {"__module__": _qualname(type(module)), "config": config, "state": state}


# ------------------------------------------------------------------ public API
def save(obj, path, *, overwrite: bool = False, metadata: dict | None = None) -> Path:
    """Save ``obj`` to ``path`` atomically. Refuses to replace an existing file unless
    ``overwrite=True``. ``metadata`` (JSON values) is stored alongside, for your notes.
    """
    from safetensors.numpy import save as st_save

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"path: {path} exists; pass overwrite=True to replace it")
    if path.is_dir():
        raise IsADirectoryError(f"path: {path} is a directory")

    tensors: dict[str, np.ndarray] = {}
    try:
        import torch

        is_module = isinstance(obj, torch.nn.Module)
    except ImportError:  # pragma: no cover - torch is a dependency
        is_module = False
    if is_module:
        payload = _module_payload(obj)
        body = {"__module__": payload["__module__"],
                "config": _encode(payload["config"], "config", tensors)}
        for k, v in payload["state"].items():
            tensors["state." + k] = np.ascontiguousarray(v.detach().cpu().numpy())
        body["state_keys"] = sorted(payload["state"])
    else:
        body = {"value": _encode(obj, "value", tensors)}

    from . import __version__

    header = {"format": _MAGIC, "format_version": FORMAT_VERSION, "toolkit_version": __version__,
              "body": body, "metadata": metadata or {}}
    text = json.dumps(header, allow_nan=False)
    blob = st_save(tensors, metadata={"dynalens": text})

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic and fails if path appeared meanwhile
            except FileExistsError:
                raise FileExistsError(f"path: {path} exists; pass overwrite=True to replace it") \
                    from None
            except OSError:  # filesystems without hard links
                if path.exists():
                    raise FileExistsError(f"path: {path} exists") from None
                os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _read(path):
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"path: {path} does not exist")
    try:
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{path} is not a readable safetensors file (truncated or "
                              f"corrupt?): {exc}") from None
    if "dynalens" not in meta:
        raise CheckpointError(f"{path} is a safetensors file but not a dynalens checkpoint")
    try:
        header = json.loads(meta["dynalens"])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: the JSON header is corrupt ({exc})") from None
    if header.get("format") != _MAGIC:
        raise CheckpointError(f"{path}: not a dynalens checkpoint")
    if header.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer format (v{header['format_version']}); "
                              "upgrade dynalens")
    return header, tensors


def read_header(path) -> dict:
    """The JSON part of a checkpoint (kind, config, versions, your metadata); no tensors."""
    return _read(path)[0]


def load(path, *, into=None):
    """Load what :func:`save` wrote. With ``into=module`` the stored state is copied into
    an existing torch module after checking that every name and shape matches.
    """
    header, tensors = _read(path)
    body = header["body"]
    if "__module__" in body:
        state = {k[len("state."):]: v for k, v in tensors.items() if k.startswith("state.")}
        missing = set(body.get("state_keys", [])) - set(state)
        if missing:
            raise CheckpointError(f"{path}: tensors {sorted(missing)} are missing (truncated?)")
        config = _decode(body["config"], tensors)
        if into is None:
            cls = _resolve(body["__module__"])
            if hasattr(cls, "_io_restore"):
                into = cls._io_restore(config, {})
            elif hasattr(cls, "_io_config"):
                into = cls(**config)
            else:
                raise CheckpointError(f"{body['__module__']} cannot be rebuilt from a file; "
                                      "pass into=<an instance> to load its weights")
        load_state_dict(into, state, source=str(path))
        return into
    if into is not None:
        raise CheckpointError(f"{path} holds a result, not a module; load it without into=")
    return _decode(body["value"], tensors)


def load_state_dict(module, state: dict, *, source: str = "state"):
    """Copy ``state`` (name → array) into ``module`` after checking names and shapes.

    A mismatch raises :class:`CheckpointError` naming the parameter, instead of torch's
    error from deep inside ``load_state_dict``.
    """
    import torch

    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise CheckpointError(f"{source} does not fit {type(module).__name__}: "
                              f"missing {missing}, unexpected {extra}")
    for k, v in own.items():
        if tuple(v.shape) != tuple(np.shape(state[k])):
            raise CheckpointError(f"{k}: checkpoint has shape {tuple(np.shape(state[k]))}, "
                                  f"the model has {tuple(v.shape)} ({source})")
    module.load_state_dict({k: torch.as_tensor(np.asarray(v)).to(own[k].dtype)
                            for k, v in state.items()})
    return module
