"""Evaluation of a recommender on held-out users (fold-in items in, target items ranked)."""

import math

from tfrec.metrics.ranking import average_precision_at_k, mask_scores, ndcg_at_k, recall_at_k
from tfrec.utils.progress import progress_bar

import numpy as np


def evaluate_heldout_users(
    score_fn,
    fold_in,
    target,
    recall_ks=(20, 50),
    ndcg_ks=(100,),
    batch_size: int = 1000,
    map_ks=(),
    verbose: int = 0,
) -> dict:
    """Recall@K, NDCG@K and MAP@K over the full item ranking, fold-in items masked.

    Liang et al.'s protocol; MAP@K is the average precision of NVIDIA's VAE-CF case study.

    Users without target items (fewer than 5 items before the fold-in/target split) are skipped;
    their number is reported.

    Args:
        score_fn: callable mapping a dense float32 numpy batch `[b, num_items]` of fold-in
            interactions to scores `[b, num_items]` (numpy or tensor), e.g. a Keras model.
        fold_in: scipy sparse `[num_users, num_items]`.
        target: scipy sparse `[num_users, num_items]`.
        recall_ks: ints. Cut-offs for Recall@K.
        ndcg_ks: ints. Cut-offs for NDCG@K.
        batch_size: int. Users scored at once.
        map_ks: ints. Cut-offs for MAP@K (`average_precision_at_k`). Default none.
        verbose: int. 1 shows a `tf_keras.utils.Progbar` over the batches; 0 (default) is silent.

    Returns:
        dict: ``"recall@K"``, ``"ndcg@K"`` and ``"map@K"`` means (floats), ``"users"`` evaluated and
        ``"users_without_targets"``.

    Raises:
        ValueError: if shapes differ, a cut-off exceeds the number of items, or no user has targets.
    """
    if fold_in.shape != target.shape:
        raise ValueError(f"fold_in {fold_in.shape} and target {target.shape} shapes differ.")
    num_items = fold_in.shape[1]
    for k in tuple(recall_ks) + tuple(ndcg_ks) + tuple(map_ks):
        if not 1 <= k <= num_items:
            raise ValueError(f"Cut-off k={k} must be in [1, num_items={num_items}].")
    has_target = np.asarray(target.sum(axis=1)).ravel() > 0
    rows = np.flatnonzero(has_target)
    if rows.size == 0:
        raise ValueError("No held-out user has target items to evaluate.")
    sums = (
        {f"recall@{k}": 0.0 for k in recall_ks}
        | {f"ndcg@{k}": 0.0 for k in ndcg_ks}
        | {f"map@{k}": 0.0 for k in map_ks}
    )
    progress = progress_bar(math.ceil(rows.size / batch_size), verbose)
    for batch_index, start in enumerate(range(0, rows.size, batch_size)):
        batch = rows[start : start + batch_size]
        x = fold_in[batch].toarray().astype(np.float32)
        scores = mask_scores(np.asarray(score_fn(x)), fold_in[batch])
        y = target[batch]
        for k in recall_ks:
            sums[f"recall@{k}"] += float(recall_at_k(scores, y, k).sum())
        for k in ndcg_ks:
            sums[f"ndcg@{k}"] += float(ndcg_at_k(scores, y, k).sum())
        for k in map_ks:
            sums[f"map@{k}"] += float(average_precision_at_k(scores, y, k).sum())
        if progress:
            progress.update(batch_index + 1)
    results = {name: total / rows.size for name, total in sums.items()}
    results["users"] = int(rows.size)
    results["users_without_targets"] = int((~has_target).sum())
    return results
