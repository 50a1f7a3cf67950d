import gzip

from tfrec.data.sequences import (
    next_item_examples,
    pad_left,
    read_amazon_beauty,
    read_sequences,
    sequences_from_frame,
    training_dataset,
)

import numpy as np
import pandas as pd
import pytest

from tests.helpers import data_dir


def test_chronological_leave_one_out_split():
    frame = pd.DataFrame(
        {
            "user_id": [7, 7, 7, 7, 3, 3, 3, 9, 9],
            "item_id": [50, 10, 30, 20, 10, 40, 20, 10, 20],
            "timestamp": [4, 1, 3, 3, 9, 8, 7, 1, 2],
        }
    )
    split = sequences_from_frame(frame, "timestamp")
    # User 9 has 2 interactions: dropped. Items 10,20,30,40,50 -> indices 1..5.
    np.testing.assert_array_equal(split.user_ids, [3, 7])
    np.testing.assert_array_equal(split.item_ids, [10, 20, 30, 40, 50])
    # User 3 by time: 20, 40, 10. User 7: 10, then the tie at t=3 by item id (20, 30), then 50.
    assert [list(s) for s in split.sequences] == [[2, 4, 1], [1, 2, 3, 5]]
    assert [list(s) for s in split.training_sequences()] == [[2], [1, 2]]
    histories, targets = split.evaluation_sequences("validation")
    assert [list(h) for h in histories] == [[2], [1, 2]] and list(targets) == [4, 3]
    histories, targets = split.evaluation_sequences("test")
    assert [list(h) for h in histories] == [[2, 4], [1, 2, 3]] and list(targets) == [1, 5]
    with pytest.raises(ValueError, match="stage"):
        split.evaluation_sequences("train")


def test_left_padding_keeps_the_latest_items():
    np.testing.assert_array_equal(pad_left([[1, 2, 3, 4], [5]], 3), [[2, 3, 4], [0, 0, 5]])


def test_next_item_examples_shift_by_one_and_windows():
    inputs, labels = next_item_examples([[1, 2, 3, 4, 5], [6]], 3)
    np.testing.assert_array_equal(inputs, [[2, 3, 4]])
    np.testing.assert_array_equal(labels, [[3, 4, 5]])
    inputs, labels = next_item_examples([[1, 2, 3, 4, 5, 6]], 2, all_windows=True)
    np.testing.assert_array_equal(inputs, [[4, 5], [2, 3], [0, 1]])
    np.testing.assert_array_equal(labels, [[5, 6], [3, 4], [0, 2]])
    batches = list(training_dataset(inputs, labels, batch_size=2, shuffle=False))
    assert [tuple(b[0].shape) for b in batches] == [(2, 2), (1, 2)]


def test_beauty_reader_names_bad_line(tmp_path):
    with gzip.open(tmp_path / "sequential_data.txt.gz", "wt") as handle:
        handle.write("1 4 5 6\n2 7 x\n")
    with pytest.raises(ValueError, match="line 2"):
        read_amazon_beauty(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_amazon_beauty(tmp_path / "missing")


def test_real_beauty_and_ml100k_counts():
    beauty = read_sequences("beauty", data_dir("amazon-beauty-p5"))
    assert (beauty.num_users, beauty.num_items) == (22363, 12101)
    assert sum(len(s) for s in beauty.sequences) == 198502
    movielens = read_sequences("ml-100k", data_dir("ml-100k"))
    assert (movielens.num_users, movielens.num_items) == (943, 1682)
    raw = pd.read_csv(data_dir("ml-100k") / "u.data.gz", sep="\t", names=["u", "i", "r", "t"])
    last = raw[raw.u == movielens.user_ids[0]].t.max()
    first_user = raw[raw.u == movielens.user_ids[0]]
    test_item = movielens.item_ids[movielens.sequences[0][-1] - 1]
    assert first_user[first_user.i == test_item].t.iloc[0] == last


def test_read_sequences_downloads_ml100k_only_when_asked(tmp_path, monkeypatch):
    """`download=True` goes through `download_movielens` when no folder is found (faked here:
    no network), and is refused for Beauty, which has no official download."""
    import tfrec.data.movielens as movielens
    from tfrec.data.sequences import read_sequences

    from tests.helpers import write_ml100k_ratings

    archive = tmp_path / "cache" / "ml-100k"
    archive.mkdir(parents=True)
    write_ml100k_ratings(archive, 5, 12, (4, 8), (1, 6), np.random.default_rng(0))
    calls = []
    monkeypatch.setattr(
        movielens, "download_movielens", lambda dataset, cache_dir=None: calls.append(1) or archive
    )
    monkeypatch.setenv("TFREC_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path)  # no ../shared/data here
    with pytest.raises(FileNotFoundError):
        read_sequences("ml-100k")
    split = read_sequences("ml-100k", download=True)
    assert calls == [1] and split.num_users == 5
    with pytest.raises(ValueError, match="no official download"):
        read_sequences("beauty", download=True)
