"""Strong-generalisation split with held-out users, as in Liang et al. (2018).

References:
    - [Liang et al., 2018](https://arxiv.org/abs/1802.05814). Variational Autoencoders for
      Collaborative Filtering. WWW. Section 4.1 and the authors' preprocessing notebook.
"""

import dataclasses

from tfrec.data.data_error import DataError
from tfrec.data.interactions import Interactions

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclasses.dataclass
class HeldOutUserSplit:
    """Training users' interactions and fold-in/target matrices of held-out users.

    All matrices share the item columns `item_ids` (the items seen by training users).

    Attributes:
        train: `Interactions` of the training users.
        validation_fold_in: csr float32 `[num_validation_users, num_items]`: the 80% of each
            validation user's items given to the model.
        validation_target: csr float32, same shape: the 20% to be ranked.
        test_fold_in: csr float32 `[num_test_users, num_items]`.
        test_target: csr float32 `[num_test_users, num_items]`.
        validation_user_ids: int64 `[num_validation_users]`, dataset ids of the rows above.
        test_user_ids: int64 `[num_test_users]`.
    """

    train: Interactions
    validation_fold_in: sp.csr_matrix
    validation_target: sp.csr_matrix
    test_fold_in: sp.csr_matrix
    test_target: sp.csr_matrix
    validation_user_ids: np.ndarray
    test_user_ids: np.ndarray

    @property
    def item_ids(self) -> np.ndarray:
        return self.train.item_ids

    @property
    def num_items(self) -> int:
        return self.train.num_items


def filter_interactions(
    frame: pd.DataFrame,
    rating_threshold=None,
    min_user_interactions: int = 5,
    min_item_interactions: int = 0,
) -> pd.DataFrame:
    """Binarises ratings and drops rare items, then inactive users (Liang's ``filter_triplets``).

    Args:
        frame: DataFrame with ``user_id``, ``item_id`` and optionally ``rating``.
        rating_threshold: float or None. Keep ratings strictly above it (Liang: 3.5 on a 5-star
            scale). Ignored when the frame has no ``rating`` column (implicit data).
        min_user_interactions: int. Users with fewer interactions are dropped (Liang: 5).
        min_item_interactions: int. Items with fewer interactions are dropped first (Liang: 0).

    Returns:
        The filtered DataFrame, one row per distinct (user, item) pair.

    Raises:
        DataError: (a `ValueError`) if nothing is left after filtering.
    """
    if rating_threshold is not None and "rating" in frame.columns:
        frame = frame[frame["rating"] > rating_threshold]
    frame = frame.drop_duplicates(["user_id", "item_id"])
    if min_item_interactions > 0:
        counts = frame.groupby("item_id")["user_id"].transform("size")
        frame = frame[counts >= min_item_interactions]
    if min_user_interactions > 0:
        counts = frame.groupby("user_id")["item_id"].transform("size")
        frame = frame[counts >= min_user_interactions]
    if frame.empty:
        raise DataError(
            "No interactions left after filtering (rating_threshold="
            f"{rating_threshold}, min_user_interactions={min_user_interactions}, "
            f"min_item_interactions={min_item_interactions})."
        )
    return frame


def _fold_in_target_split(frame, user_ids, item_ids, target_fraction, rng):
    """Per user, a random `target_fraction` of items becomes the target (users with >= 5 items)."""
    interactions = Interactions.from_frame(frame, item_ids=item_ids)
    # Keep the requested user order and users whose items all fell outside the catalogue.
    rows = pd.Index(interactions.user_ids).get_indexer(user_ids)
    matrix = interactions.matrix
    fold_in_rows, fold_in_cols, target_rows, target_cols = [], [], [], []
    for position, row in enumerate(rows):
        items = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]] if row >= 0 else []
        items = np.asarray(items)
        # Liang's split_train_test_proportion: users with fewer than 5 items keep all as fold-in.
        if len(items) >= 5:
            chosen = np.zeros(len(items), bool)
            chosen[
                rng.choice(len(items), size=int(target_fraction * len(items)), replace=False)
            ] = True
        else:
            chosen = np.zeros(len(items), bool)
        fold_in_rows.append(np.full((~chosen).sum(), position))
        fold_in_cols.append(items[~chosen])
        target_rows.append(np.full(chosen.sum(), position))
        target_cols.append(items[chosen])
    shape = (len(user_ids), len(item_ids))

    def build(row_parts, col_parts):
        r = np.concatenate(row_parts) if row_parts else np.zeros(0, int)
        c = np.concatenate(col_parts) if col_parts else np.zeros(0, int)
        return sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=shape)

    return build(fold_in_rows, fold_in_cols), build(target_rows, target_cols)


def split_heldout_users(
    frame: pd.DataFrame,
    num_validation_users: int,
    num_test_users: int,
    target_fraction: float = 0.2,
    rating_threshold=3.5,
    min_user_interactions: int = 5,
    min_item_interactions: int = 0,
    seed: int = 98765,
) -> HeldOutUserSplit:
    """Liang et al.'s preprocessing: filter, hold out users, split their items into fold-in/target.

    Users are permuted with `seed` (``numpy.random.RandomState``, as the paper's notebook); the
    last ``num_validation_users + num_test_users`` become validation then test users. Items are
    those seen by training users; held-out interactions on other items are dropped. Each held-out
    user with at least 5 items gets a seeded random `target_fraction` of them as targets.

    Args:
        frame: DataFrame from a reader: ``user_id``, ``item_id``, optional ``rating``.
        num_validation_users: int. Held-out users for validation (Liang: 10,000 on ML-20M).
        num_test_users: int. Held-out users for test.
        target_fraction: float in (0, 1). Share of a held-out user's items to predict (0.2).
        rating_threshold: float or None. See `filter_interactions`.
        min_user_interactions: int. See `filter_interactions`.
        min_item_interactions: int. See `filter_interactions`.
        seed: int. Seed of the user permutation and of the fold-in/target split.

    Returns:
        A `HeldOutUserSplit`.

    Raises:
        ValueError: if the sizes are negative.
        DataError: (a `ValueError`) if the sizes leave no training users, or the filtered data is
            empty.
    """
    if num_validation_users < 0 or num_test_users < 0:
        raise ValueError(
            f"num_validation_users and num_test_users must be >= 0, got "
            f"{num_validation_users} and {num_test_users}."
        )
    if not 0.0 < target_fraction < 1.0:
        raise ValueError(f"target_fraction must be in (0, 1), got {target_fraction}.")
    frame = filter_interactions(
        frame, rating_threshold, min_user_interactions, min_item_interactions
    )
    unique_users = np.unique(frame["user_id"].to_numpy(np.int64))
    num_heldout = num_validation_users + num_test_users
    if num_heldout >= len(unique_users):
        raise DataError(
            f"{num_heldout} held-out users requested but only {len(unique_users)} users remain "
            "after filtering; no training users would be left."
        )
    rng = np.random.RandomState(seed)
    permuted = unique_users[rng.permutation(len(unique_users))]
    num_train = len(unique_users) - num_heldout
    train_users = permuted[:num_train]
    validation_users = permuted[num_train : num_train + num_validation_users]
    test_users = permuted[num_train + num_validation_users :]

    train_frame = frame[frame["user_id"].isin(train_users)]
    train = Interactions.from_frame(train_frame)

    def heldout(users):
        # The paper's notebook reseeds before splitting each of the validation and test sets.
        split_rng = np.random.RandomState(seed)
        users = np.sort(users)
        part = frame[frame["user_id"].isin(users)]
        fold_in, target = _fold_in_target_split(
            part, users, train.item_ids, target_fraction, split_rng
        )
        return fold_in, target, users

    validation_fold_in, validation_target, validation_user_ids = heldout(validation_users)
    test_fold_in, test_target, test_user_ids = heldout(test_users)
    return HeldOutUserSplit(
        train=train,
        validation_fold_in=validation_fold_in,
        validation_target=validation_target,
        test_fold_in=test_fold_in,
        test_target=test_target,
        validation_user_ids=validation_user_ids,
        test_user_ids=test_user_ids,
    )
