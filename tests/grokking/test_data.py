"""The shipped transformer run (scripts/make_grokking_history.py) tells Nanda et al.'s story."""

import numpy as np
import torch

import toolkit as tk
from toolkit.grokking import (
    all_pairs,
    grokking_phases,
    load_transformer_history,
    load_transformer_model,
    steps_to_grok,
)


def test_shipped_history_memorises_then_groks():
    h = load_transformer_history()
    assert h.meta["p"] == 113 and h.meta["train_fraction"] == 0.3
    assert h.meta["epochs"] >= 10_000
    g = steps_to_grok(h)
    assert g.train is not None and g.test is not None
    assert g.test >= 3 * g.train
    # train loss is tiny long before the test loss comes down
    assert h["train/loss"].loc[:2000].min() < 1e-5
    ph = grokking_phases(h)
    assert ph.memorised < ph.cleanup_start < ph.generalised
    # the excluded loss rises during circuit formation while the restricted loss falls
    ex = h["fourier/excluded_loss"]
    rl = h["fourier/restricted_loss"]
    assert ex.loc[ph.cleanup_start:].max() > 10 * ex.loc[:ph.memorised + 500].min()
    assert rl.iloc[-1] < 0.1 * rl.loc[:ph.memorised + 500].max()
    assert 2 <= len(h.meta["key_frequencies"]) <= 10
    # a sparse embedding spectrum once grokked
    assert h.last("fourier/embedding_gini") > h["fourier/embedding_gini"].iloc[0] + 0.2


def test_shipped_model_solves_the_task_and_matches_the_history():
    h = load_transformer_history()
    model = load_transformer_model()
    assert isinstance(model, tk.grokking.Transformer) and model.p == 113
    x = all_pairs(113)
    with torch.no_grad():
        pred = model(x).argmax(1).numpy()
    assert np.mean(pred == (x[:, 0] + x[:, 1]).numpy() % 113) == 1.0
    # the history's key frequencies are those of the final model's single-frequency neurons
    assert list(tk.grokking.neuron_frequencies(model).key) == h.meta["key_frequencies"]
    logits = tk.grokking.model_logits(model)
    assert list(tk.grokking.key_frequencies_of_logits(logits, 113)) == \
        h.meta["logit_key_frequencies"]
