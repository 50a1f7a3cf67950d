"""AUC of He and McAuley (AAAI 2016): all items, cold-start items and withheld new items.

Per user u with held-out item i, AUC_u is the fraction of items j outside the user's training,
validation and test items that score below i (Section 5.3, Equation 9); the reported AUC is the
mean over users. Ties count one half (the paper's strict ``>`` would score a constant model 0,
half counts give it the 0.5 of a random ranking). "Cold start" AUC restricts the users to those
whose test item has at most 5 training interactions (Section 5.3); on dense data such as ML-1M
few users qualify, so the count is reported beside it.

References:
    - [He and McAuley, 2016](https://arxiv.org/abs/1510.01784). VBPR: Visual Bayesian
      Personalized Ranking from Implicit Feedback. AAAI. Section 5.3.
"""

from tfrec.metrics.ranking import mask_scores, ndcg_at_k, recall_at_k

import numpy as np
import scipy.sparse as sp
import scipy.stats
import tf_keras as keras

COLD_START_MAX_INTERACTIONS = 5


def auc_per_user(scores, target_items, exclude) -> np.ndarray:
    """Per-user AUC of one held-out item against the items not excluded.

    Args:
        scores: float array `[num_users, num_items]`.
        target_items: int array `[num_users]`: the held-out item index of each row.
        exclude: 0/1 dense or scipy sparse `[num_users, num_items]`: items that are not negatives
            (the user's training/validation/test items, withheld items). The target itself is
            never a negative.

    Returns:
        float64 array `[num_users]`: ``(#{j: s_j < s_i} + 0.5 #{j: s_j = s_i}) / #{j}`` over
        the negatives j; NaN for a row without negatives.

    Raises:
        ValueError: if shapes disagree or a target index is out of range.
    """
    scores = np.asarray(scores, np.float64)
    target_items = np.asarray(target_items, np.int64)
    if scores.ndim != 2 or target_items.shape != (scores.shape[0],):
        raise ValueError(
            f"scores must be [num_users, num_items] and target_items [num_users]; got "
            f"{scores.shape} and {target_items.shape}."
        )
    if target_items.min(initial=0) < 0 or target_items.max(initial=0) >= scores.shape[1]:
        raise ValueError("target_items holds an index outside [0, num_items).")
    excluded = exclude.toarray() if sp.issparse(exclude) else np.asarray(exclude)
    negative = excluded <= 0
    rows = np.arange(len(target_items))
    negative[rows, target_items] = False
    target_scores = scores[rows, target_items][:, np.newaxis]
    below = ((scores < target_scores) & negative).sum(axis=1)
    tied = ((scores == target_scores) & negative).sum(axis=1)
    count = negative.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (below + 0.5 * tied) / count


def pairwise_auc_per_user(scores, positives) -> np.ndarray:
    """Per-user AUC of positive against negative items within one candidate set.

    Used for new items: the candidates are the withheld items, positives the ones the user
    interacted with. Ties count one half (average ranks).

    Args:
        scores: float array `[num_users, num_candidates]`.
        positives: 0/1 dense or scipy sparse `[num_users, num_candidates]`.

    Returns:
        float64 array `[num_users]`; NaN for users with no positive or no negative.
    """
    scores = np.asarray(scores, np.float64)
    positive = (positives.toarray() if sp.issparse(positives) else np.asarray(positives)) > 0
    ranks = scipy.stats.rankdata(scores, axis=1)  # 1 = lowest; ties get the average rank
    num_positive = positive.sum(axis=1)
    num_negative = positive.shape[1] - num_positive
    rank_sum = (ranks * positive).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - num_positive * (num_positive + 1) / 2.0) / (num_positive * num_negative)
    auc[(num_positive == 0) | (num_negative == 0)] = np.nan
    return auc


def evaluate_leave_one_out(
    score_all_items,
    split,
    target: str = "test",
    ks=(50,),
    cold_start_max_interactions: int = COLD_START_MAX_INTERACTIONS,
    batch_size: int = 1024,
    extra_cold_start_thresholds=(),
) -> dict:
    """AUC, cold-start AUC, Recall@K and NDCG@K of a leave-one-out split.

    Withheld new items take no part (they are neither negatives nor ranked). Recall@K and NDCG@K
    rank the whole training catalogue with the user's training items and the other held-out item
    (validation when testing, test when validating) masked; with one target they are HitRate@K
    and the usual NDCG@K (`tfrec.metrics.ranking`).

    Args:
        score_all_items: callable mapping int32 user indices `[batch]` to float scores
            `[batch, num_items]` (numpy or tensor).
        split: `tfrec.data.leave_one_out.LeaveOneOutSplit`.
        target: ``"test"`` or ``"validation"``: which held-out item is scored.
        ks: iterable of int cut-offs for Recall@K / NDCG@K.
        cold_start_max_interactions: int. A test item with at most this many training
            interactions is a cold-start item. Default 5 (the paper's).
        batch_size: int. Users scored at once.
        extra_cold_start_thresholds: iterable of int N. Also report the AUC over users whose
            test item has at most N training interactions, as ``cold_auc@N`` and
            ``cold_users@N`` (the paper's threshold of 5 leaves few users on MovieLens).

    Returns:
        dict with ``auc``, ``cold_auc`` (NaN if no cold user), ``cold_users``, ``users`` and
        ``recall@K``, ``ndcg@K`` for each K.

    Raises:
        ValueError: for an unknown `target` or a split without held-out items.
    """
    if target not in ("test", "validation"):
        raise ValueError(f"target must be 'test' or 'validation', got {target!r}.")
    targets = split.test_items if target == "test" else split.validation_items
    users = np.flatnonzero(targets >= 0).astype(np.int32)
    if users.size == 0:
        raise ValueError(f"The split has no {target} items.")
    item_counts = np.asarray(split.train.sum(axis=0)).ravel()
    is_new = np.zeros(split.num_items, bool)
    is_new[split.new_items] = True
    aucs: list[np.ndarray] = []
    recalls: dict[int, list[np.ndarray]] = {k: [] for k in ks}
    ndcgs: dict[int, list[np.ndarray]] = {k: [] for k in ks}
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = np.asarray(score_all_items(batch), np.float32)
        known = split.known_items(batch).toarray() > 0
        known |= is_new[np.newaxis, :]
        aucs.append(auc_per_user(scores, targets[batch], known))
        # Rank everything but training items, the other held-out item and new items.
        masked = known.copy()
        rows = np.arange(len(batch))
        masked[rows, targets[batch]] = False
        ranked = mask_scores(scores, masked)
        relevant = np.zeros_like(known)
        relevant[rows, targets[batch]] = True
        for k in ks:
            recalls[k].append(recall_at_k(ranked, relevant, k))
            ndcgs[k].append(ndcg_at_k(ranked, relevant, k))
    auc = np.concatenate(aucs)
    cold = item_counts[targets[users]] <= cold_start_max_interactions
    result = {
        "auc": float(np.nanmean(auc)),
        "cold_auc": float(np.nanmean(auc[cold])) if cold.any() else float("nan"),
        "cold_users": int(cold.sum()),
        "users": int(len(users)),
    }
    for threshold in extra_cold_start_thresholds:
        rare = item_counts[targets[users]] <= threshold
        result[f"cold_auc@{threshold}"] = float(np.nanmean(auc[rare])) if rare.any() else np.nan
        result[f"cold_users@{threshold}"] = int(rare.sum())
    for k in ks:
        result[f"recall@{k}"] = float(np.nanmean(np.concatenate(recalls[k])))
        result[f"ndcg@{k}"] = float(np.nanmean(np.concatenate(ndcgs[k])))
    return result


def evaluate_new_items(score_new_items, split, batch_size: int = 1024) -> dict:
    """New-item AUC: withheld items scored without any of their interactions.

    For each user with at least one interaction on a withheld item (and at least one withheld
    item without), AUC of the user's withheld items against the other withheld items.

    Args:
        score_new_items: callable mapping int32 user indices `[batch]` to float scores
            `[batch, len(split.new_items)]` of the withheld items in `split.new_items` order.
        split: `LeaveOneOutSplit` with withheld items.

    Returns:
        dict with ``new_item_auc`` (NaN if no user qualifies) and ``new_item_users``.
    """
    if len(split.new_items) < 2:
        return {"new_item_auc": float("nan"), "new_item_users": 0}
    positives = split.new_item_interactions[:, split.new_items].tocsr()
    count = np.diff(positives.indptr)
    users = np.flatnonzero((count > 0) & (count < len(split.new_items))).astype(np.int32)
    aucs = []
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        scores = np.asarray(score_new_items(batch), np.float64)
        aucs.append(pairwise_auc_per_user(scores, positives[batch]))
    auc = np.concatenate(aucs) if aucs else np.array([np.nan])
    return {"new_item_auc": float(np.nanmean(auc)), "new_item_users": int(len(users))}


class ValidationAUC(keras.callbacks.Callback):
    """Adds ``val_auc`` (leave-one-out validation AUC) to the epoch logs.

    Place it before `keras.callbacks.EarlyStopping(monitor="val_auc", mode="max")` in the
    callback list: callbacks share the logs dict, in order.

    Args:
        split: `LeaveOneOutSplit`.
        score_all_items: callable as in `evaluate_leave_one_out` (typically
            ``model.score_all_items``).
        max_users: optional int. Evaluate a fixed, seeded sample of this many users to save time.
        seed: int. Seeds the user sample.
    """

    def __init__(self, split, score_all_items, max_users=None, seed: int = 0):
        super().__init__()
        self.split = split
        self.score_all_items = score_all_items
        self.max_users = max_users
        self.seed = seed

    def on_epoch_end(self, epoch, logs=None):
        split = self.split
        if self.max_users is not None:
            users = np.flatnonzero(split.validation_items >= 0)
            if len(users) > self.max_users:
                rng = np.random.default_rng(self.seed)
                keep = np.zeros(split.num_users, bool)
                keep[rng.choice(users, self.max_users, replace=False)] = True
                split = _subset_users(split, keep)
        result = evaluate_leave_one_out(self.score_all_items, split, target="validation", ks=())
        if logs is not None:
            logs["val_auc"] = result["auc"]


def _subset_users(split, keep):
    import dataclasses

    return dataclasses.replace(
        split,
        validation_items=np.where(keep, split.validation_items, -1),
        test_items=np.where(keep, split.test_items, -1),
    )
