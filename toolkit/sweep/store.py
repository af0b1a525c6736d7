"""The folder a sweep writes to: a manifest, one JSON file per finished point, arrays.

Layout::

    store/
      sweep.json                 which sweep this is (function, fixed arguments, parameters)
      points/<key>.json          one finished point: its parameters, seed, status, scalars,
                                 error and traceback if it failed, timing, host
      points/<key>.safetensors   the point's arrays (written first, with toolkit.io)

Every file appears atomically (written to a hidden temporary name, then linked or
renamed into place), so a killed process leaves either a complete record or none. A point
counts as finished exactly when its JSON file exists; the JSON file is linked without
overwriting, so two writers can never both record the same point.
"""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
from pathlib import Path

from .grid import point_key

__all__ = ["SweepStore", "load", "load_arrays", "StoreMismatch", "META_COLUMNS"]

FORMAT = "dynalens-sweep"
FORMAT_VERSION = 1
MANIFEST = "sweep.json"
POINTS = "points"


class StoreMismatch(ValueError):
    """The store folder holds a different sweep (another function or other parameters)."""


# ------------------------------------------------------------------ JSON helpers
def encode_scalar(v):
    """A result scalar as JSON: non-finite floats and complex numbers are tagged."""
    if isinstance(v, float) and not math.isfinite(v):
        return {"__float__": repr(v)}
    if isinstance(v, complex):
        return {"__complex__": [encode_scalar(v.real), encode_scalar(v.imag)]}
    return v


def decode_scalar(v):
    if isinstance(v, dict):
        if "__float__" in v:
            return float(v["__float__"])
        if "__complex__" in v:
            re, im = (decode_scalar(x) for x in v["__complex__"])
            return complex(re, im)
    return v


def write_text_atomic(path: Path, text: str, *, replace: bool = False) -> bool:
    """Write ``text`` to ``path`` atomically. Without ``replace``, an existing file is left
    alone and False is returned; otherwise True.

    No fsync: it would cost milliseconds per point on a busy disk, and what it protects
    against (a power cut, not a killed process) is covered anyway, since a record that
    never reached the disk reads back as unreadable and its point is computed again.
    """
    # hidden and unique to this live thread (so a leftover with its name is stale);
    # cheaper than mkstemp, which reads os.urandom for every name
    tmp = str(path.parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)  # atomic, and refuses to clobber a file that appeared meanwhile
        except FileExistsError:
            return False
        except OSError:  # filesystems without hard links
            if path.exists():
                return False
            os.replace(tmp, path)
        return True
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ------------------------------------------------------------------ the store
class SweepStore:
    """A sweep's folder. ``open(path, identity)`` creates it or checks that it holds the
    same sweep; ``records()`` reads the finished points; ``write(record, arrays)`` adds one.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.points = self.path / POINTS

    # manifest --------------------------------------------------------
    @classmethod
    def open(cls, path, identity: dict, *, create: bool = True) -> SweepStore:
        """Open the store at ``path`` for the sweep described by ``identity``
        (``{"fn": name, "fixed": {...}, "params": [...]}``).
        """
        store = cls(path)
        p = store.path
        if p.exists() and not p.is_dir():
            raise NotADirectoryError(f"store: {p} is a file; give a folder for the sweep")
        manifest = p / MANIFEST
        if not manifest.exists():
            if p.exists() and any(not c.name.startswith(".") for c in p.iterdir()):
                raise StoreMismatch(f"store: {p} is a non-empty folder without a {MANIFEST}; "
                                    "it is not a sweep store. Choose a new or empty folder.")
            if not create:
                raise FileNotFoundError(f"store: {p} holds no sweep ({MANIFEST} is missing)")
            from .. import __version__

            p.mkdir(parents=True, exist_ok=True)
            body = {"format": FORMAT, "format_version": FORMAT_VERSION,
                    "toolkit_version": __version__, **identity}
            write_text_atomic(manifest, json.dumps(body, indent=1, sort_keys=False))
        store.points.mkdir(exist_ok=True)
        store.manifest = store.read_manifest()
        if identity is not None:
            store.check(identity)
        return store

    def read_manifest(self) -> dict:
        try:
            body = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreMismatch(f"store: {self.path / MANIFEST} is unreadable ({exc})") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise StoreMismatch(f"store: {self.path / MANIFEST} is not a dynalens sweep manifest")
        if body.get("format_version", 0) > FORMAT_VERSION:
            raise StoreMismatch(f"store: {self.path} was written by a newer dynalens; upgrade")
        return body

    def check(self, identity: dict):
        m = self.manifest
        mine = (m.get("fn"), m.get("fixed"), sorted(m.get("params", [])))
        theirs = (identity["fn"], identity["fixed"], sorted(identity["params"]))
        if mine != theirs:
            what = []
            if mine[0] != theirs[0]:
                what.append(f"function {mine[0]} (this call: {theirs[0]})")
            if mine[1] != theirs[1]:
                what.append(f"fixed arguments {mine[1]} (this call: {theirs[1]})")
            if mine[2] != theirs[2]:
                what.append(f"parameters {mine[2]} (this call: {theirs[2]})")
            raise StoreMismatch(
                f"store: {self.path} already holds a different sweep: " + "; ".join(what)
                + ". Use another folder for this sweep, or delete that one to start over.")

    # points ----------------------------------------------------------
    def record_path(self, key: str) -> Path:
        return self.points / f"{key}.json"

    def arrays_path(self, key: str) -> Path:
        return self.points / f"{key}.safetensors"

    def records(self) -> tuple[dict[str, dict], set[str]]:
        """Finished points as ``{key: record}``, and the keys of unreadable records."""
        out: dict[str, dict] = {}
        broken: set[str] = set()
        for f in sorted(self.points.glob("*.json")):
            if f.name.startswith("."):
                continue
            key = f.stem
            try:
                rec = json.loads(f.read_text(encoding="utf-8"))
                ok = rec.get("key") == key and point_key(rec["point"]) == key
            except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError,
                    ValueError):
                ok = False
            if not ok:
                warnings.warn(f"store: {f} is unreadable or does not match its name; the "
                              "point will be computed again", RuntimeWarning, stacklevel=3)
                broken.add(key)
                continue
            rec["result"] = {k: decode_scalar(v) for k, v in rec.get("result", {}).items()}
            out[key] = rec
        return out, broken

    def write(self, record: dict, arrays: dict | None, *, replace: bool = False) -> dict | None:
        """Store one finished point: arrays first, then the JSON that marks it finished.

        Returns the record as stored, or None when (``replace`` False) the point had
        already been recorded by another writer.
        """
        from .. import io

        key = record["key"]
        record = dict(record)
        record["arrays"] = None
        if arrays:
            io.save(arrays, self.arrays_path(key), overwrite=True,
                    metadata={"sweep_key": key, "point": record["point"]})
            record["arrays"] = self.arrays_path(key).name
        body = dict(record)
        body["result"] = {k: encode_scalar(v) for k, v in record["result"].items()}
        text = json.dumps(body, indent=1, allow_nan=False)
        if not write_text_atomic(self.record_path(key), text, replace=replace):
            return None
        return record


# ------------------------------------------------------------------ reading back
def load(store):
    """Every finished point in ``store`` as a DataFrame (same columns as ``run`` returns),
    in the order the points finished. Reads only; needs no function and no cluster.
    """
    s = SweepStore(store)
    if not (s.path / MANIFEST).exists():
        raise FileNotFoundError(f"store: {s.path} holds no sweep ({MANIFEST} is missing)")
    s.manifest = s.read_manifest()
    recs, _ = s.records()
    ordered = sorted(recs.values(), key=lambda r: (r.get("finished", ""), r["key"]))
    params = list(s.manifest.get("params", []))
    return records_frame(ordered, params, s)


def load_arrays(where, name: str | None = None):
    """The arrays a point returned: a dict of name → array, or one array with ``name``.

    ``where`` is a row of the frame that :func:`run` or :func:`load` returned
    (``df.loc[i]`` or ``df.iloc[i]``) or the path in its ``arrays`` column.
    """
    from .. import io

    path = where
    if hasattr(where, "get") and not isinstance(where, str | os.PathLike):
        if "arrays" not in where:
            raise KeyError("where: this row has no 'arrays' column; pass a row of a sweep "
                           "frame or a path")
        path = where.get("arrays")
    if path is None or (isinstance(path, float) and math.isnan(path)):
        raise ValueError("where: this point stored no arrays (it failed, or fn returned "
                         "only scalars)")
    data = io.load(path)
    if name is None:
        return data
    if name not in data:
        raise KeyError(f"name: {name!r} is not among the stored arrays {sorted(data)}")
    return data[name]


#: columns the sweep adds after the parameters and the results
META_COLUMNS = ("status", "error", "traceback", "seed", "seconds", "key", "arrays")


def records_frame(records: list[dict], params: list[str], store: SweepStore):
    """One row per record: parameters, result scalars, then :data:`META_COLUMNS`."""
    import pandas as pd

    results: dict[str, None] = {}
    for r in records:
        results.update(dict.fromkeys(r.get("result", {})))
    rows = []
    for r in records:
        row = dict(r["point"])
        row.update(r.get("result", {}))
        row.update(status=r["status"], error=r.get("error"), traceback=r.get("traceback"),
                   seed=r["seed"], seconds=r.get("seconds"), key=r["key"],
                   arrays=str(store.points / r["arrays"]) if r.get("arrays") else None)
        rows.append(row)
    columns = list(params) + [c for c in results if c not in params] + \
        [c for c in META_COLUMNS if c not in params]  # a "seed" parameter is the seed
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for c in ("error", "traceback", "arrays"):  # None, not NaN, where there is nothing
        frame[c] = pd.Series([row[c] for row in rows], index=frame.index, dtype=object)
    frame.attrs["store"] = str(store.path)
    return frame
