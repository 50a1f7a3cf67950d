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

import numpy as np
import scipy.sparse as sp
import scipy.stats


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
