"""`evaluate_next_item` (Keras metrics in one pass over all sizes) against the numpy metrics."""

from tfrec.data.sequences import pad_left
from tfrec.metrics.next_item_evaluation import evaluate_next_item
from tfrec.metrics.ranking import mask_scores, ndcg_at_k, recall_at_k
from tfrec.models.fmrlrec import FMRLRec

import numpy as np
import pytest


@pytest.mark.parametrize("mask_history", [False, True])
def test_matches_numpy_ranking_metrics_at_every_size(mask_history):
    rng = np.random.default_rng(5)
    num_items, max_len = 30, 6
    model = FMRLRec(num_items, [4, 8], item_id_embedding_dim=8, r_min=0.5, r_max=0.9)
    histories = [rng.choice(np.arange(1, num_items + 1), rng.integers(1, 9)) for _ in range(37)]
    targets = rng.integers(1, num_items + 1, size=37)
    got = evaluate_next_item(model, histories, targets, max_len, 16, mask_history)
    # A second call reuses the traced step and starts its metrics afresh.
    assert evaluate_next_item(model, histories, targets, max_len, 16, mask_history) == got

    inputs = pad_left(histories, max_len)
    scores = model(inputs, training=False).numpy()[:, :, 1:]  # drop the padding column
    relevant = np.zeros((37, num_items), bool)
    relevant[np.arange(37), targets - 1] = True
    seen = np.zeros((37, num_items), bool)
    for row, history in enumerate(inputs):
        seen[row, history[history > 0] - 1] = True
    for position, size in enumerate([4, 8]):
        ranked = scores[:, position]
        if mask_history:  # a target already in the history is masked too, as in evaluation
            ranked = mask_scores(ranked, seen)
        for k in (5, 10, 20):
            assert got[size][f"ndcg@{k}"] == pytest.approx(
                ndcg_at_k(ranked, relevant, k).mean(), abs=1e-5
            )
            assert got[size][f"recall@{k}"] == pytest.approx(
                recall_at_k(ranked, relevant, k).mean(), abs=1e-5
            )
