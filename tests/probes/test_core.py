import numpy as np
import pytest

from toolkit import io
from toolkit.probes import HistoryRecorder, Probe, ProbeHistory, probe


def _history():
    rec = HistoryRecorder()
    rec.log(10, {"loss": 1.0, "acc": 0.1})
    rec.log(20, {"loss": 0.5})
    rec.log(20, {"acc": 0.7})          # same step: merged
    rec.log(30, {"loss": 0.2, "acc": 0.995})
    return rec.freeze({"note": "x"})


def test_recorder_builds_aligned_columns():
    h = _history()
    np.testing.assert_array_equal(h.steps, [10, 20, 30])
    np.testing.assert_array_equal(h.values["acc"], [0.1, 0.7, 0.995])
    assert h.first_step("acc", lambda a: a >= 0.99) == 30
    assert h.first_step("acc", lambda a: a > 1) is None
    assert h.last("loss") == 0.2


def test_tidy_frame_has_one_row_per_logged_value():
    frame = _history().to_frame()
    assert list(frame.columns) == ["step", "probe", "value"]
    assert len(frame) == 6


def test_history_round_trips_through_io(tmp_path):
    h = _history()
    io.save(h, tmp_path / "h.st")
    back = io.load(tmp_path / "h.st")
    assert isinstance(back, ProbeHistory) and back.meta == {"note": "x"}
    np.testing.assert_array_equal(back.values["loss"], h.values["loss"])


def test_history_plots_each_probe():
    overlay = _history().plot(["loss", "acc"])
    assert len(overlay) == 2


def test_probe_dict_outputs_are_prefixed_and_checked():
    p = Probe("split", lambda m, d: {"train": 1, "test": np.float32(0.5)})
    assert p(None, None) == {"split/train": 1.0, "split/test": 0.5}
    bad = Probe("bad", lambda m, d: "high")
    with pytest.raises(TypeError, match="bad"):
        bad(None, None)


def test_probe_decorator_and_validation():
    @probe("twice")
    def twice(model, data):
        return 2 * data

    assert twice(None, 3) == {"twice": 6.0}
    with pytest.raises(TypeError, match="fn"):
        Probe("x", 3)
    with pytest.raises(ValueError, match="every"):
        Probe("x", lambda m, d: 0, every=0)
    with pytest.raises(KeyError, match="name"):
        _history()["missing"]
