import gzip

from tfrec.data.movielens import ARCHIVES, download_movielens, read_movielens

import numpy as np
import pytest

from tests.helpers import data_dir


def test_reads_ml100k_with_ratings_and_timestamps():
    frame = read_movielens("ml-100k", data_dir("ml-100k"))
    assert len(frame) == 100_000
    assert frame["user_id"].nunique() == 943
    assert frame["item_id"].nunique() == 1682
    assert frame["rating"].dtype == np.float32
    assert set(np.unique(frame["rating"])) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert frame["timestamp"].dtype == np.int64


def test_reads_ml1m_implicit_copy():
    frame = read_movielens("ml-1m", data_dir("ml-1m"))
    assert list(frame.columns) == ["user_id", "item_id"]
    assert len(frame) == 1_000_209
    assert frame["user_id"].nunique() == 6040
    assert frame["item_id"].nunique() == 3706
    # ratings.dat order is kept: the first rows of user 1 (SOURCE.md).
    assert frame["item_id"].iloc[:3].tolist() == [1193, 661, 914]


def test_reads_ml1m_ratings_dat_double_colon(tmp_path):
    (tmp_path / "ratings.dat").write_text("1::1193::5::978300760\n2::661::3::978302109\n")
    frame = read_movielens("ml-1m", tmp_path)
    assert frame.to_dict("list") == {
        "user_id": [1, 2],
        "item_id": [1193, 661],
        "rating": [5.0, 3.0],
        "timestamp": [978300760, 978302109],
    }


def test_reads_ml20m_csv_with_header(tmp_path):
    with gzip.open(tmp_path / "ratings.csv.gz", "wt") as stream:
        stream.write("userId,movieId,rating,timestamp\n1,2,3.5,1112486027\n1,29,3.5,1112484676\n")
    frame = read_movielens("ml-20m", tmp_path)
    assert frame["item_id"].tolist() == [2, 29]
    assert frame["rating"].tolist() == [3.5, 3.5]


def test_non_numeric_id_names_file_and_line(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n5\tabc\t3\t4\n")
    with pytest.raises(ValueError, match=r"u\.data, line 2: field 'item_id'"):
        read_movielens("ml-100k", tmp_path)


def test_malformed_line_names_file(tmp_path):
    (tmp_path / "ratings.dat").write_text("1::2::3::4\n1::2::3::4::9::9::9\n")
    with pytest.raises(ValueError, match="ratings.dat"):
        read_movielens("ml-1m", tmp_path)


def test_short_line_is_reported(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n7\t8\n")
    with pytest.raises(ValueError, match=r"line 2"):
        read_movielens("ml-100k", tmp_path)


def test_missing_folder_and_file_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_movielens("ml-1m", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="ratings.dat"):
        read_movielens("ml-1m", tmp_path)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="ml-7m"):
        read_movielens("ml-7m")
    with pytest.raises(ValueError, match="ml-7m"):
        download_movielens("ml-7m")


def test_download_table_points_at_grouplens():
    for name, (url, md5) in ARCHIVES.items():
        assert url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
        assert len(md5) == 32
