"""Top-K ranking metrics over a full item ranking: Recall@K and NDCG@K.

Recall@K follows Liang et al. (2018): hits in the top K divided by ``min(K, number of targets)``,
so that a perfect ranking scores 1 whatever the number of targets. NDCG@K uses binary relevance
with the ideal DCG over ``min(K, number of targets)`` positions. With a single target per user
(leave-one-out), Recall@K is the hit rate.

Items that must not be recommended (a user's fold-in or training items) are excluded by setting
their scores to ``-inf`` before calling these functions; see `mask_scores`.

References:
    - [Liang et al., 2018](https://arxiv.org/abs/1802.05814). Variational Autoencoders for
      Collaborative Filtering. WWW. Section 4.2.
"""

import numpy as np
import scipy.sparse as sp


def _to_dense(targets) -> np.ndarray:
    if sp.issparse(targets):
        targets = targets.toarray()
    return np.asarray(targets) > 0


def mask_scores(scores, exclude):
    """Returns a copy of `scores` with excluded items set to ``-inf`` (numpy).

    Args:
        scores: float array `[num_users, num_items]`.
        exclude: 0/1 dense or scipy sparse `[num_users, num_items]`: items to exclude.

    Returns:
        float32 array of the same shape.
    """
    scores = np.array(scores, dtype=np.float32, copy=True)
    if sp.issparse(exclude):
        rows, cols = exclude.nonzero()
        scores[rows, cols] = -np.inf
    else:
        scores[np.asarray(exclude) > 0] = -np.inf
    return scores


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"k must be in [1, num_items={scores.shape[1]}], got {k}.")
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def recall_at_k(scores, targets, k: int) -> np.ndarray:
    """Recall@K per user with Liang's normalisation by ``min(K, number of targets)``.

    Args:
        scores: float array `[num_users, num_items]`; excluded items already ``-inf``.
        targets: 0/1 dense or scipy sparse `[num_users, num_items]`: the held-out items.
        k: int. Cut-off, 1 <= k <= num_items.

    Returns:
        float array `[num_users]`; NaN for users without targets.

    Raises:
        ValueError: if `k` is outside [1, num_items].
    """
    scores = np.asarray(scores)
    relevant = _to_dense(targets)
    hits = np.take_along_axis(relevant, _top_k(scores, k), axis=1).sum(axis=1)
    num_targets = relevant.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / np.minimum(k, num_targets)


def ndcg_at_k(scores, targets, k: int) -> np.ndarray:
    """NDCG@K per user with binary relevance.

    Args:
        scores: float array `[num_users, num_items]`; excluded items already ``-inf``.
        targets: 0/1 dense or scipy sparse `[num_users, num_items]`.
        k: int. Cut-off, 1 <= k <= num_items.

    Returns:
        float array `[num_users]`; NaN for users without targets.

    Raises:
        ValueError: if `k` is outside [1, num_items].
    """
    scores = np.asarray(scores)
    relevant = _to_dense(targets)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    hits = np.take_along_axis(relevant, _top_k(scores, k), axis=1)
    dcg = (hits * discounts).sum(axis=1)
    ideal_cumulative = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cumulative[np.minimum(k, relevant.sum(axis=1))]
    with np.errstate(invalid="ignore", divide="ignore"):
        return dcg / idcg


def average_precision_at_k(scores, targets, k: int) -> np.ndarray:
    """Average precision at K per user, binary relevance; its mean over users is MAP@K.

    ``AP@K = sum_{i <= K} precision@i * rel_i / min(K, number of targets)``, the definition of
    NVIDIA's VAE-CF case study (DeepLearningExamples) beside Recall@K and NDCG@K.

    Args:
        scores: float array `[num_users, num_items]`; excluded items already ``-inf``.
        targets: 0/1 dense or scipy sparse `[num_users, num_items]`.
        k: int. Cut-off, 1 <= k <= num_items.

    Returns:
        float array `[num_users]`; NaN for users without targets.

    Raises:
        ValueError: if `k` is outside [1, num_items].
    """
    scores = np.asarray(scores)
    relevant = _to_dense(targets)
    hits = np.take_along_axis(relevant, _top_k(scores, k), axis=1).astype(np.float64)
    precision = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    num_targets = relevant.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (precision * hits).sum(axis=1) / np.minimum(k, num_targets)
