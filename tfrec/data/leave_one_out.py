"""Leave-one-out split of He and McAuley (AAAI 2016), with an optional set of withheld new items.

References:
    - [He and McAuley, 2016](https://arxiv.org/abs/1510.01784). VBPR. Section 5.2 (one random
      validation and one random test item per user, the rest for training).
"""

import dataclasses

from tfrec.data.data_error import DataError

import numpy as np
import scipy.sparse as sp

NO_ITEM = -1


@dataclasses.dataclass
class LeaveOneOutSplit:
    """Training matrix plus one validation and one test item per user (item indices).

    Attributes:
        train: `scipy.sparse.csr_matrix` float32 `[num_users, num_items]`: training interactions.
            Columns of `new_items` are empty.
        validation_items: int64 `[num_users]`: each user's validation item index, or -1 for users
            with fewer than 3 interactions on the training catalogue (all kept for training).
        test_items: int64 `[num_users]`: each user's test item index, or -1.
        new_items: int64 `[num_new_items]`, sorted: items withheld from training entirely.
        new_item_interactions: csr `[num_users, num_items]`: the interactions on `new_items`.
        user_ids: int64 `[num_users]`: dataset id of each row.
        item_ids: int64 `[num_items]`: dataset id of each column.
    """

    train: sp.csr_matrix
    validation_items: np.ndarray
    test_items: np.ndarray
    new_items: np.ndarray
    new_item_interactions: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def num_users(self) -> int:
        return self.train.shape[0]

    @property
    def num_items(self) -> int:
        return self.train.shape[1]

    @property
    def warm_items(self) -> np.ndarray:
        """int64 indices of the training catalogue (all items but `new_items`)."""
        return np.setdiff1d(np.arange(self.num_items), self.new_items)

    def known_items(self, users) -> sp.csr_matrix:
        """0/1 csr `[len(users), num_items]`: train, validation and test items of `users`."""
        users = np.asarray(users)
        train = self.train[users].tocoo()
        row_parts, col_parts = [train.row], [train.col]
        for column in (self.validation_items[users], self.test_items[users]):
            held = np.flatnonzero(column >= 0)
            row_parts.append(held)
            col_parts.append(column[held])
        rows, cols = np.concatenate(row_parts), np.concatenate(col_parts)
        known = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), self.num_items)
        )
        known.sum_duplicates()
        known.data[:] = 1.0
        return known


def split_leave_one_out(interactions, seed: int = 0, new_item_fraction: float = 0.0):
    """Holds out one random validation and one random test item per user (seeded).

    Protocol: first a seeded fraction `new_item_fraction` of the items is withheld entirely (their
    interactions go to `new_item_interactions`, for the new-item evaluation); then, on the
    remaining catalogue, each user with at least 3 interactions gives one uniformly random test
    item and one validation item; everything else is training data. Users with fewer than 3
    interactions keep them all for training and have no validation/test item (-1).

    Args:
        interactions: `tfrec.data.interactions.Interactions` (every rating counts as an
            interaction: implicit feedback as in the paper).
        seed: int. Seeds the withheld items and the held-out picks.
        new_item_fraction: float in [0, 1). Fraction of items withheld (rounded). Default 0.

    Returns:
        `LeaveOneOutSplit`.

    Raises:
        ValueError: if `new_item_fraction` is outside [0, 1).
        DataError: (a `ValueError`) if no user is left with a test item.
    """
    if not 0.0 <= float(new_item_fraction) < 1.0:
        raise ValueError(f"new_item_fraction must be in [0, 1), got {new_item_fraction}.")
    rng = np.random.default_rng(seed)
    matrix = sp.csr_matrix(interactions.matrix, dtype=np.float32)
    matrix.sum_duplicates()
    matrix.sort_indices()
    num_users, num_items = matrix.shape
    num_new = int(round(float(new_item_fraction) * num_items))
    new_items = np.sort(rng.choice(num_items, size=num_new, replace=False)).astype(np.int64)
    is_new = np.zeros(num_items, bool)
    is_new[new_items] = True

    coo = matrix.tocoo()
    on_new = is_new[coo.col]
    new_item_interactions = sp.csr_matrix(
        (coo.data[on_new], (coo.row[on_new], coo.col[on_new])), shape=matrix.shape
    )
    rows, cols = coo.row[~on_new].astype(np.int64), coo.col[~on_new].astype(np.int64)

    # Random order inside each user: sort by (user, random key); the first two entries of users
    # with >= 3 interactions become test and validation.
    order = np.lexsort((rng.random(len(rows)), rows))
    rows, cols = rows[order], cols[order]
    counts = np.bincount(rows, minlength=num_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    eligible = counts >= 3
    test_items = np.full(num_users, NO_ITEM, np.int64)
    validation_items = np.full(num_users, NO_ITEM, np.int64)
    test_items[eligible] = cols[starts[eligible]]
    validation_items[eligible] = cols[starts[eligible] + 1]
    if not eligible.any():
        raise DataError("No user has 3 or more interactions; a leave-one-out split is empty.")
    held = np.zeros(len(rows), bool)
    held[starts[eligible]] = True
    held[starts[eligible] + 1] = True
    train = sp.csr_matrix(
        (np.ones((~held).sum(), np.float32), (rows[~held], cols[~held])), shape=matrix.shape
    )
    return LeaveOneOutSplit(
        train=train,
        validation_items=validation_items,
        test_items=test_items,
        new_items=new_items,
        new_item_interactions=new_item_interactions,
        user_ids=np.asarray(interactions.user_ids, np.int64),
        item_ids=np.asarray(interactions.item_ids, np.int64),
    )
