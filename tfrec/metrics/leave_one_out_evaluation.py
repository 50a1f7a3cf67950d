"""He and McAuley's leave-one-out evaluation: AUC on all, cold-start and withheld new items.

Each user has one held-out validation and one held-out test item; a seeded fraction of the items
is withheld from training entirely ("new items"). `evaluate_leave_one_out` reports the AUC of the
held-out item against the items the user never interacted with (all items and cold-start items,
Section 5.3), and Recall@K / NDCG@K of the full ranking; `evaluate_new_items` ranks withheld items
by their features alone.

References:
    - [He and McAuley, 2016](https://arxiv.org/abs/1510.01784). VBPR: Visual Bayesian
      Personalized Ranking from Implicit Feedback. AAAI. Section 5.3.
"""

import dataclasses

from tfrec.metrics.auc import auc_per_user, pairwise_auc_per_user
from tfrec.metrics.ranking import mask_scores, ndcg_at_k, recall_at_k

import numpy as np

COLD_START_MAX_INTERACTIONS = 5


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


def sample_users(split, max_users: int, seed: int = 0):
    """A copy of `split` whose validation and test items are kept for `max_users` users only.

    The users are a seeded sample of those with a validation item (all of them when there are
    no more than `max_users`), to evaluate a large split's validation AUC faster.

    Args:
        split: `tfrec.data.leave_one_out.LeaveOneOutSplit`.
        max_users: int. Users kept.
        seed: int. Seeds the sample.

    Returns:
        A `LeaveOneOutSplit` sharing the training data of `split`.
    """
    users = np.flatnonzero(split.validation_items >= 0)
    if len(users) <= max_users:
        return split
    keep = np.zeros(split.num_users, bool)
    keep[np.random.default_rng(seed).choice(users, max_users, replace=False)] = True
    return dataclasses.replace(
        split,
        validation_items=np.where(keep, split.validation_items, -1),
        test_items=np.where(keep, split.test_items, -1),
    )
