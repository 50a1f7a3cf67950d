"""A user-item interaction matrix with the dataset's own ids."""

import dataclasses

from tfrec.data.data_error import DataError

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclasses.dataclass
class Interactions:
    """Implicit-feedback interactions as a sparse user x item matrix.

    Attributes:
        matrix: `scipy.sparse.csr_matrix`, float32, shape `[num_users, num_items]`, 1.0 where the
            user interacted with the item. Rows have sorted, unique column indices.
        user_ids: int64 array `[num_users]`, the dataset's own id of each row.
        item_ids: int64 array `[num_items]`, the dataset's own id of each column.
    """

    matrix: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def num_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def num_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def num_interactions(self) -> int:
        return self.matrix.nnz

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        user_col: str = "user_id",
        item_col: str = "item_id",
        item_ids=None,
    ) -> "Interactions":
        """Builds the matrix from (user, item) rows; duplicate pairs count once.

        Args:
            frame: DataFrame with integer user and item id columns.
            user_col: str. Name of the user id column.
            item_col: str. Name of the item id column.
            item_ids: optional int array. Fixes the column order (e.g. the items of the training
                users); rows naming other items are dropped. Default: sorted distinct items.

        Returns:
            `Interactions` with users sorted by id.

        Raises:
            ValueError: if `frame` lacks the columns.
            DataError: (a `ValueError`) if `frame` is empty.
        """
        for column in (user_col, item_col):
            if column not in frame.columns:
                raise ValueError(f"Interaction frame has no column '{column}'.")
        if frame.empty:
            raise DataError("No interactions to build a matrix from (empty frame).")
        users = frame[user_col].to_numpy(np.int64)
        items = frame[item_col].to_numpy(np.int64)
        user_ids, rows = np.unique(users, return_inverse=True)
        if item_ids is None:
            item_ids, cols = np.unique(items, return_inverse=True)
        else:
            item_ids = np.asarray(item_ids, np.int64)
            index = pd.Index(item_ids)
            cols = index.get_indexer(items)
            keep = cols >= 0
            rows, cols = rows[keep], cols[keep]
        matrix = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)),
            shape=(len(user_ids), len(item_ids)),
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return cls(matrix=matrix, user_ids=user_ids, item_ids=np.asarray(item_ids, np.int64))
