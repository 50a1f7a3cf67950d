"""The progress bar of the long evaluations: shown at verbose 1 only, same results either way."""

from tfrec.metrics import evaluate_heldout_users
from tfrec.metrics.next_item_evaluation import evaluate_next_item
from tfrec.models.fmrlrec import FMRLRec

import numpy as np
import pytest
import scipy.sparse as sp


def test_heldout_evaluation_shows_a_bar_over_batches_at_verbose_1(capsys):
    rng = np.random.default_rng(0)
    fold_in = sp.csr_matrix((rng.random((7, 6)) < 0.3).astype(np.float32))
    target = sp.csr_matrix(np.eye(7, 6, k=1, dtype=np.float32))  # every user but the last
    results = {}
    for verbose in (0, 1):
        results[verbose] = evaluate_heldout_users(
            lambda x: rng.random(x.shape), fold_in, target, (2,), (3,), batch_size=2,
            verbose=verbose,
        )  # fmt: skip
        results[verbose].pop("recall@2"), results[verbose].pop("ndcg@3")  # random scores
        printed = capsys.readouterr().out
        # 6 users with targets in batches of 2: a bar reaching 3/3 at verbose 1 only.
        assert ("3/3" in printed) == (verbose == 1)
    assert results[0] == results[1]


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_next_item_evaluation_shows_a_bar_at_verbose_1_only(capsys, verbose):
    rng = np.random.default_rng(1)
    model = FMRLRec(20, [4, 8], item_id_embedding_dim=8, r_min=0.5, r_max=0.9)
    histories = [rng.choice(np.arange(1, 21), rng.integers(1, 6)) for _ in range(9)]
    targets = rng.integers(1, 21, size=9)
    quiet = evaluate_next_item(model, histories, targets, 5, 4, False)
    capsys.readouterr()
    assert evaluate_next_item(model, histories, targets, 5, 4, False, verbose=verbose) == quiet
    assert ("3/3" in capsys.readouterr().out) == (verbose == 1)
