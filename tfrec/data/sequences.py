"""Chronological item sequences with a leave-one-out split, left padding and a tf.data pipeline.

The split is the one of SASRec, LRURec and fMRLRec: per user, the last item is the test target,
the second to last the validation target and the rest the training sequence. Item indices are
contiguous, 1-based (0 is padding), and `SequenceSplit.item_ids` maps them back to the dataset's
own ids.

References:
    - [Kang and McAuley, 2018](https://arxiv.org/abs/1808.09781). Self-Attentive Sequential
      Recommendation. ICDM.
"""

import dataclasses
import logging

from tfrec.data.data_error import DataError
from tfrec.data.movielens import read_movielens
from tfrec.data.paths import resolve_data_dir
from tfrec.data.text_files import decode_line, parse_id, read_bytes

import numpy as np
import pandas as pd

PADDING = 0  # of item indices here, and of dataset item ids in the sequence exports
_LOGGER = logging.getLogger(__name__)
DATASETS = ("beauty", "ml-100k")
# Folder name under the data root for each dataset name the CLI accepts.
DATA_FOLDERS = {"beauty": "amazon-beauty-p5", "ml-100k": "ml-100k"}


@dataclasses.dataclass
class SequenceSplit:
    """Per-user chronological sequences of item indices, split leave-one-out.

    Attributes:
        user_ids: int64 `[num_users]`, the dataset's own user ids.
        item_ids: int64 `[num_items]`, the dataset's own id of item index ``i + 1``.
        sequences: list of int64 arrays, each user's full sequence of item indices (1-based),
            oldest first; every sequence has at least 3 items.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    sequences: list

    @property
    def num_users(self) -> int:
        return len(self.sequences)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    def training_sequences(self) -> list:
        """Each user's sequence without its last two items (validation and test targets)."""
        return [sequence[:-2] for sequence in self.sequences]

    def evaluation_sequences(self, stage: str):
        """History and target of each user for ``"validation"`` or ``"test"``.

        Returns:
            (histories, targets): list of int64 arrays (items before the target) and an int64
            array `[num_users]` of target item indices.

        Raises:
            ValueError: for another `stage`.
        """
        if stage == "validation":
            return [s[:-2] for s in self.sequences], np.array([s[-2] for s in self.sequences])
        if stage == "test":
            return [s[:-1] for s in self.sequences], np.array([s[-1] for s in self.sequences])
        raise ValueError(f"Unknown stage '{stage}'; expected 'validation' or 'test'.")


def sequences_from_frame(frame: pd.DataFrame, order_col: str) -> SequenceSplit:
    """Orders each user's interactions chronologically and maps item ids to 1-based indices.

    Ties in `order_col` are broken by item id, so the order does not depend on file order.
    Users with fewer than 3 interactions are dropped (they have no training item).

    Args:
        frame: DataFrame with int columns ``user_id``, ``item_id`` and `order_col`.
        order_col: str. Column that orders interactions in time (seconds or positions).

    Returns:
        `SequenceSplit` with users sorted by id and items sorted by id.

    Raises:
        ValueError: missing columns.
        DataError: (a `ValueError`) an item id below 1 (0 is the padding value of the sequence
            exports), or no user with 3 or more interactions.
    """
    for column in ("user_id", "item_id", order_col):
        if column not in frame.columns:
            raise ValueError(f"Interaction frame has no column '{column}'.")
    too_small = frame["item_id"].to_numpy(np.int64) <= PADDING
    if too_small.any():
        raise DataError(
            f"Item id {frame['item_id'].to_numpy()[too_small][0]}: item ids of sequences must "
            f"be >= 1, as {PADDING} pads the histories of the sequence exports (fMRLRec, LRURec)."
        )
    frame = frame.sort_values(["user_id", order_col, "item_id"], kind="stable")
    counts = frame.groupby("user_id", sort=True).size()
    frame = frame[frame["user_id"].isin(counts.index[counts >= 3])]
    if frame.empty:
        raise DataError("No user has the 3 interactions a leave-one-out split needs.")
    item_ids = np.unique(frame["item_id"].to_numpy(np.int64))
    indices = np.searchsorted(item_ids, frame["item_id"].to_numpy(np.int64)) + 1
    users = frame["user_id"].to_numpy(np.int64)
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    sequences = np.split(indices.astype(np.int64), starts[1:])
    return SequenceSplit(user_ids=users[starts], item_ids=item_ids, sequences=sequences)


def read_amazon_beauty(data_dir=None) -> pd.DataFrame:
    """Reads the P5/S3-Rec Amazon Beauty 5-core sequences (``sequential_data.txt[.gz]``).

    Each line is ``user_id item_id item_id ...``: a user's whole history, items in chronological
    order, fields separated by spaces. Rules, each enforced with a `DataError` naming the file,
    the line and the value:

    - User ids are integers in [0, 2**63 - 1]; item ids in [1, 2**63 - 1]. Item id 0 is
      rejected because 0 is the padding value of the sequence exports (fMRLRec and LRURec
      histories are left-padded with 0, `tfrec.export.SequenceServing`), so a real id can never
      collide with it; a negative id, an id past int64, a decimal or a word is rejected too.
    - Every line has a user id and at least one item; blank lines are ignored.
    - The file is UTF-8 text; an empty file, a ``.gz`` that is truncated, corrupt or not gzip
      at all, and non-UTF-8 bytes are rejected.
    - Duplicate rows: a line repeating an earlier line exactly is dropped (the first kept) and
      the number dropped is logged as a warning (logger ``tfrec.data.sequences``); a user on
      two lines with different items is rejected (which history is meant is ambiguous). An item
      repeated inside one line is kept: buying an item again is an event of the sequence.

    Args:
        data_dir: folder with the file; default found by `resolve_data_dir(.., "amazon-beauty-p5")`.

    Returns:
        DataFrame with int64 ``user_id``, ``item_id`` and ``position`` (0-based order in the line).

    Raises:
        FileNotFoundError: no folder or file.
        DataError: (a `ValueError`) for any of the rules above, naming file, line and value.
    """
    folder = resolve_data_dir(data_dir, DATA_FOLDERS["beauty"])
    for name in ("sequential_data.txt", "sequential_data.txt.gz"):
        path = folder / name
        if path.is_file():
            break
    else:
        raise FileNotFoundError(f"No sequential_data.txt(.gz) in {folder}.")
    data = read_bytes(path)
    users: list[int] = []
    items: list[int] = []
    positions: list[int] = []
    first_line: dict[int, tuple[int, list[int]]] = {}  # user id -> (line, items)
    duplicates: list[int] = []
    hint = "; fields are separated by spaces: user_id item_id item_id ..."
    for line_number, raw in enumerate(data.split(b"\n"), 1):
        fields = decode_line(path, line_number, raw).split()
        if not fields:
            continue
        user = parse_id(path, line_number, "user_id", fields[0], hint=hint)
        if len(fields) < 2:
            raise DataError(f"{path}, line {line_number}: user {user} has no items{hint}.")
        line_items = [
            parse_id(path, line_number, "item_id", field, minimum=1 + PADDING, hint=hint)
            for field in fields[1:]
        ]
        if user in first_line:
            earlier, earlier_items = first_line[user]
            if earlier_items != line_items:
                raise DataError(
                    f"{path}, line {line_number}: user {user} already has a different sequence "
                    f"on line {earlier}; each user's history must be on one line."
                )
            duplicates.append(line_number)
            continue
        first_line[user] = (line_number, line_items)
        users.extend([user] * len(line_items))
        items.extend(line_items)
        positions.extend(range(len(line_items)))
    if not users:
        raise DataError(f"{path} is empty; expected lines of 'user_id item_id item_id ...'.")
    if duplicates:
        _LOGGER.warning(
            "%s: dropped %d duplicate line(s) repeating an earlier line exactly (first at line "
            "%d).",
            path,
            len(duplicates),
            duplicates[0],
        )
    return pd.DataFrame(
        {
            "user_id": np.asarray(users, np.int64),
            "item_id": np.asarray(items, np.int64),
            "position": np.asarray(positions, np.int64),
        }
    )


def read_sequences(dataset: str, data_dir=None, download: bool = False) -> SequenceSplit:
    """Reads ``"beauty"`` (P5 order) or ``"ml-100k"`` (by timestamp) as a `SequenceSplit`.

    Args:
        dataset: str. ``"beauty"`` or ``"ml-100k"``.
        data_dir: str, path or None. The dataset's folder (default: `resolve_data_dir`'s search).
        download: bool. ML-100K only: when no local folder is found, fetch the official
            GroupLens archive (`tfrec.data.read_movielens`); Beauty has no official download.

    Padding rule: item ids must be integers >= 1, since 0 is the padding value of the sequence
    exports (fMRLRec, LRURec); the readers reject item id 0 and negative ids with a `DataError`
    naming the file and line, so a real item can never collide with padding. (Item indices
    inside the model are 1-based too, 0 being padding.)

    Raises:
        ValueError: unknown dataset, or `download` for Beauty.
        DataError: (a `ValueError`) a malformed or empty file (see `read_amazon_beauty` and
            `tfrec.data.movielens.read_ratings_file`), or no user with 3 interactions.
        FileNotFoundError: missing files.
    """
    if dataset == "beauty":
        if download:
            raise ValueError(
                "The Amazon Beauty sequences (S3-Rec/P5 files) have no official download; "
                "pass data_dir."
            )
        return sequences_from_frame(read_amazon_beauty(data_dir), "position")
    if dataset == "ml-100k":
        frame = read_movielens("ml-100k", data_dir, download=download, min_item_id=1 + PADDING)
        return sequences_from_frame(frame, "timestamp")
    raise ValueError(f"Unknown dataset '{dataset}'; expected one of {', '.join(DATASETS)}.")


def pad_left(sequences, max_len: int) -> np.ndarray:
    """Keeps the last `max_len` items of each sequence and left-pads with 0.

    Returns:
        int64 array `[len(sequences), max_len]`.
    """
    if max_len < 1:
        raise ValueError(f"`max_len` must be >= 1, got {max_len}.")
    out = np.full((len(sequences), max_len), PADDING, np.int64)
    for row, sequence in enumerate(sequences):
        tail = np.asarray(sequence, np.int64)[-max_len:]
        if len(tail):
            out[row, max_len - len(tail) :] = tail
    return out


def next_item_examples(sequences, max_len: int, all_windows: bool = False):
    """Next-item training pairs: every position predicts the item that follows it.

    Args:
        sequences: list of int arrays of item indices, oldest first.
        max_len: int. Positions per example.
        all_windows: bool. False: one example per sequence, its last ``max_len`` transitions
            (SASRec). True: cut each sequence, from its end, into consecutive windows of
            ``max_len`` transitions (a stride of ``max_len``) so that long histories are used
            in full: LRURec's sliding windows (yueqirex/LRURec ``SASTrainDataset`` with
            ``sliding_window_size`` 1.0), except that here every transition is used once (the
            reference's windows of ``max_len`` items drop the transition between two windows
            and a remainder shorter than ``max_len``).

    Returns:
        (inputs, labels), int64 `[n, max_len]` each, left-padded; ``labels[:, t]`` is the item
        after ``inputs[:, t]`` and 0 (ignored) at padding. Sequences shorter than 2 are skipped.
    """
    inputs, labels = [], []
    for sequence in sequences:
        sequence = np.asarray(sequence, np.int64)
        stop = len(sequence)
        while stop >= 2:
            window = sequence[max(0, stop - max_len - 1) : stop]
            inputs.append(window[:-1])
            labels.append(window[1:])
            if not all_windows:
                break
            stop -= max_len
    return pad_left(inputs, max_len), pad_left(labels, max_len)


def training_dataset(inputs, labels, batch_size: int, seed=None, shuffle: bool = True):
    """A `tf.data.Dataset` of ``(inputs, labels)`` batches for `Model.fit`.

    Args:
        inputs, labels: int64 arrays `[n, max_len]` from `next_item_examples`.
        batch_size: int. Examples per batch.
        seed: int or None. Shuffle seed.
        shuffle: bool. Reshuffle every epoch.

    Returns:
        Dataset of int64 `([batch, max_len], [batch, max_len])`.
    """
    import tensorflow as tf  # Deferred: reading sequences needs no TensorFlow.

    dataset = tf.data.Dataset.from_tensor_slices((inputs, labels))
    if shuffle:
        dataset = dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
