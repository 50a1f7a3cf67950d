"""Every reader rejects bad input with a `DataError` naming the file, the line and the value.

Property-based (hypothesis): valid files generated at random read back exactly, and a file with
one corrupted line fails naming that line. Then one explicit case per rule. Expected values come
from the generated rows themselves, never from the readers.
"""

import gzip
import logging
import re

from tfrec.data import DataError
from tfrec.data.item_features import load_item_features
from tfrec.data.movielens import read_movielens
from tfrec.data.sequences import read_amazon_beauty, read_sequences, sequences_from_frame
from tfrec.data.text_files import read_bytes
from tfrec.training import ConfigError, TrainingConfig

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

INT64_MAX = 2**63 - 1
PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# (dataset, file name, separator, header line or None, columns).
RATING_FILES = [
    ("ml-100k", "u.data", "\t", None, ("user_id", "item_id", "rating", "timestamp")),
    ("ml-100k", "u.data.gz", "\t", None, ("user_id", "item_id", "rating", "timestamp")),
    ("ml-1m", "ratings.dat", "::", None, ("user_id", "item_id", "rating", "timestamp")),
    ("ml-1m", "ratings_implicit.csv.gz", ",", "user_id,movie_id", ("user_id", "item_id")),
]
RATING_IDS = [spec[1] for spec in RATING_FILES]

ids = st.integers(0, INT64_MAX)
rating_rows = st.tuples(ids, ids, st.integers(1, 5), st.integers(0, 2**31))
# Values an id field must refuse, with the text that the message must quote.
bad_ids = st.one_of(
    st.integers(1, INT64_MAX).map(lambda v: str(-v)),  # negative (-1 is a padding value)
    st.integers(INT64_MAX + 1, 2**80).map(str),  # past int64
    st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8),  # a word, e.g. a header
    st.integers(0, 1000).map(lambda v: f"{v}.5"),  # a decimal
)


def _write(path, data: bytes) -> None:
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)


def _rating_lines(rows, sep, width):
    return [sep.join(str(value) for value in row[:width]) for row in rows]


def _assert_names(error, path, line, value=None):
    message = str(error.value)
    assert str(path) in message
    assert re.search(rf"\bline {line}\b", message), message
    if value is not None:
        assert repr(value) in message or str(value) in message, message
    assert "\n" not in message


# === Property-based: rating files ===


@PROPERTY_SETTINGS
@pytest.mark.parametrize("spec", RATING_FILES, ids=RATING_IDS)
@given(rows=st.lists(rating_rows, min_size=1, max_size=8), repeat=st.booleans())
def test_valid_rating_files_read_back_exactly(tmp_path_factory, spec, rows, repeat):
    dataset, name, sep, header, columns = spec
    if repeat:
        rows = rows + rows[:1]  # an exact duplicate line, dropped
    folder = tmp_path_factory.mktemp("ratings")
    lines = ([header] if header else []) + _rating_lines(rows, sep, len(columns))
    _write(folder / name, ("\n".join(lines) + "\n").encode())
    frame = read_movielens(dataset, folder)
    expected = list(dict.fromkeys(tuple(row[: len(columns)]) for row in rows))  # first kept
    assert list(frame.columns) == list(columns)
    assert [tuple(int(v) for v in row) for row in frame.itertuples(index=False)] == expected
    assert frame["user_id"].dtype == np.int64 and frame["item_id"].dtype == np.int64


@PROPERTY_SETTINGS
@pytest.mark.parametrize("spec", RATING_FILES, ids=RATING_IDS)
@given(
    rows=st.lists(rating_rows, min_size=1, max_size=6),
    data=st.data(),
    corruption=st.sampled_from(
        ["bad_id", "extra_field", "missing_field", "wrong_separator", "non_utf8"]
    ),
)
def test_one_corrupted_rating_line_is_named(tmp_path_factory, spec, rows, data, corruption):
    dataset, name, sep, header, columns = spec
    lines = [line.encode() for line in _rating_lines(rows, sep, len(columns))]
    bad = data.draw(st.integers(0, len(lines) - 1), label="bad line index")
    fields = lines[bad].decode().split(sep)
    value = None
    if corruption == "bad_id":
        column = data.draw(st.integers(0, 1), label="id column")
        fields[column] = value = data.draw(bad_ids, label="value")
        lines[bad] = sep.join(fields).encode()
    elif corruption == "extra_field":
        lines[bad] += (sep + "7").encode()
    elif corruption == "missing_field":
        lines[bad] = sep.join(fields[:-1]).encode()
    elif corruption == "wrong_separator":
        lines[bad] = data.draw(st.sampled_from([" ", ";", "|"])).join(fields).encode()
    else:
        lines[bad] = b"\xff" + lines[bad]
    folder = tmp_path_factory.mktemp("ratings")
    _write(folder / name, b"\n".join(([header.encode()] if header else []) + lines) + b"\n")
    with pytest.raises(DataError) as error:
        read_movielens(dataset, folder)
    _assert_names(error, folder / name, bad + 1 + (1 if header else 0), value)


# === Property-based: Beauty sequences ===

sequence_items = st.lists(st.integers(1, INT64_MAX), min_size=1, max_size=5)


@PROPERTY_SETTINGS
@given(
    users=st.lists(ids, min_size=1, max_size=6, unique=True),
    data=st.data(),
    gz=st.booleans(),
)
def test_valid_sequence_files_read_back_exactly(tmp_path_factory, users, data, gz):
    histories = [data.draw(sequence_items) for _ in users]
    folder = tmp_path_factory.mktemp("beauty")
    text = "".join(f"{u} {' '.join(map(str, h))}\n" for u, h in zip(users, histories))
    _write(folder / ("sequential_data.txt" + (".gz" if gz else "")), text.encode())
    frame = read_amazon_beauty(folder)
    expected = [(u, item, p) for u, h in zip(users, histories) for p, item in enumerate(h)]
    assert [tuple(int(v) for v in row) for row in frame.itertuples(index=False)] == expected


@PROPERTY_SETTINGS
@given(
    users=st.lists(ids, min_size=1, max_size=6, unique=True),
    data=st.data(),
    corruption=st.sampled_from(
        ["bad_item", "bad_user", "padding_item", "no_items", "commas", "non_utf8"]
    ),
)
def test_one_corrupted_sequence_line_is_named(tmp_path_factory, users, data, corruption):
    lines = [f"{u} {' '.join(map(str, data.draw(sequence_items)))}".encode() for u in users]
    bad = data.draw(st.integers(0, len(lines) - 1), label="bad line index")
    fields = lines[bad].decode().split(" ")
    value = None
    if corruption == "bad_item":
        fields[-1] = value = data.draw(bad_ids, label="value")
    elif corruption == "bad_user":
        fields[0] = value = data.draw(bad_ids, label="value")
    elif corruption == "padding_item":
        fields[-1] = value = "0"
    elif corruption == "no_items":
        fields = fields[:1]
    if corruption == "commas":
        lines[bad] = ",".join(fields).encode()
    elif corruption == "non_utf8":
        lines[bad] = lines[bad] + b" \xc3\x28"
    else:
        lines[bad] = " ".join(fields).encode()
    folder = tmp_path_factory.mktemp("beauty")
    _write(folder / "sequential_data.txt.gz", b"\n".join(lines) + b"\n")
    with pytest.raises(DataError) as error:
        read_amazon_beauty(folder)
    _assert_names(error, folder / "sequential_data.txt.gz", bad + 1, value)


# === Property-based: item feature files ===


@st.composite
def feature_files(draw):
    item_ids = np.array(draw(st.lists(ids, min_size=1, max_size=6, unique=True)), np.int64)
    width = draw(st.integers(1, 4))
    values = st.floats(-1e3, 1e3, allow_nan=False, width=32)
    rows = draw(
        st.lists(
            st.lists(values, min_size=width, max_size=width),
            min_size=len(item_ids),
            max_size=len(item_ids),
        )
    )
    return item_ids, np.array(rows, np.float32)


@PROPERTY_SETTINGS
@given(arrays=feature_files(), data=st.data())
def test_valid_feature_files_align_to_the_catalogue(tmp_path_factory, arrays, data):
    item_ids, features = arrays
    order = data.draw(st.permutations(range(len(item_ids))))
    path = tmp_path_factory.mktemp("features") / "f.npz"
    np.savez(path, item_ids=item_ids, features=features)
    table, has_feature = load_item_features(path, item_ids[list(order)])
    np.testing.assert_array_equal(table, features[list(order)])
    assert has_feature.all()


@PROPERTY_SETTINGS
@given(
    arrays=feature_files(),
    data=st.data(),
    corruption=st.sampled_from(["nan", "inf", "negative_id", "repeated_id", "rows", "1-d"]),
)
def test_corrupted_feature_files_are_named(tmp_path_factory, arrays, data, corruption):
    item_ids, features = arrays
    row = data.draw(st.integers(0, len(item_ids) - 1), label="bad row")
    expected = []
    if corruption in ("nan", "inf"):
        features = features.astype(np.float64)
        features[row, -1] = np.nan if corruption == "nan" else -np.inf
        expected = [f"row {row}", "nan" if corruption == "nan" else "-inf"]
    elif corruption == "negative_id":
        item_ids = item_ids.copy()
        item_ids[row] = -data.draw(st.integers(1, 2**40))
        expected = [f"row {row}", str(item_ids[row])]
    elif corruption == "repeated_id":
        item_ids = np.append(item_ids, item_ids[row])
        features = np.concatenate([features, features[row : row + 1]])
        expected = [f"repeated id {item_ids[row]}"]
    elif corruption == "rows":
        features = np.concatenate([features, features[:1]])  # a row too many: wrong shape
        expected = [str(features.shape)]
    else:
        features = features[:, 0]
        expected = [str(features.shape)]
    path = tmp_path_factory.mktemp("features") / "f.npz"
    np.savez(path, item_ids=item_ids, features=features)
    with pytest.raises(DataError) as error:
        load_item_features(path, item_ids)
    for text in [str(path), *expected]:
        assert text in str(error.value)


# === Explicit cases, one per rule ===


def test_errors_are_value_errors():
    assert issubclass(DataError, ValueError) and issubclass(ConfigError, ValueError)
    with pytest.raises(ConfigError, match="learning_rate"):
        TrainingConfig(learning_rate=-1.0).validate(partial=True)


def test_truncated_gzip_names_file_and_line(tmp_path):
    data = gzip.compress(b"".join(b"%d\t%d\t3\t4\n" % (u, u) for u in range(1, 50_000)))
    (tmp_path / "u.data.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"u\.data\.gz, line \d+: the gzip data is truncated"):
        read_movielens("ml-100k", tmp_path)
    (tmp_path / "u.data.gz").unlink()
    (tmp_path / "sequential_data.txt.gz").write_bytes(gzip.compress(b"1 2 3\n")[:-6])
    with pytest.raises(
        DataError,
        match="sequential_data.txt.gz, line 1: the gzip data is truncated or corrupt before the "
        "end of line 1",
    ):
        read_amazon_beauty(tmp_path)


def test_gzip_suffix_in_any_case(tmp_path):
    (tmp_path / "ITEMS.TXT.GZ").write_bytes(gzip.compress(b"1 2 3\n"))
    assert read_bytes(tmp_path / "ITEMS.TXT.GZ") == b"1 2 3\n"


def test_plain_file_named_gz_and_gzip_named_plain(tmp_path):
    (tmp_path / "u.data.gz").write_bytes(b"1\t2\t3\t4\n")
    with pytest.raises(DataError, match=r"u\.data\.gz is named \.gz but is not gzip"):
        read_movielens("ml-100k", tmp_path)
    (tmp_path / "u.data.gz").unlink()
    (tmp_path / "u.data").write_bytes(gzip.compress(b"1\t2\t3\t4\n"))
    with pytest.raises(DataError, match=r"u\.data is gzip-compressed"):
        read_movielens("ml-100k", tmp_path)


def test_non_utf8_names_file_line_and_byte(tmp_path):
    (tmp_path / "ratings.dat").write_bytes(b"1::2::3::4\n5::6::3::4\n7::\xe98::3::4\n")
    with pytest.raises(DataError, match=r"ratings\.dat, line 3: byte b'\\xe9' at column 4"):
        read_movielens("ml-1m", tmp_path)


def test_extra_field_on_line_1_names_line_1(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\t5\n6\t7\t3\t4\n")
    with pytest.raises(DataError, match=r"u\.data, line 1: 5 field\(s\) separated by tabs"):
        read_movielens("ml-100k", tmp_path)


def test_wrong_separator_is_explained(tmp_path):
    (tmp_path / "ratings.dat").write_text("1,2,3,4\n")
    with pytest.raises(DataError, match=r"line 1: 1 field\(s\) separated by '::', expected 4"):
        read_movielens("ml-1m", tmp_path)


def test_negative_ids_are_rejected_at_read_time(tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n-3\t2\t3\t4\n")
    with pytest.raises(DataError, match=r"u\.data, line 2: field 'user_id' is negative \('-3'\)"):
        read_movielens("ml-100k", tmp_path)
    # -1 is the padding value of the interaction exports: it can never enter the catalogue.
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n1\t-1\t3\t4\n")
    with pytest.raises(DataError, match=r"line 2: field 'item_id' is negative \('-1'\)"):
        read_movielens("ml-100k", tmp_path)


def test_item_id_zero_is_padding_for_sequences_only(tmp_path):
    (tmp_path / "u.data").write_text("".join(f"1\t{i}\t3\t{i}\n" for i in range(4)))
    assert read_movielens("ml-100k", tmp_path)["item_id"].tolist() == [0, 1, 2, 3]
    with pytest.raises(DataError, match=r"u\.data, line 1: field 'item_id' is 0, the padding"):
        read_sequences("ml-100k", tmp_path)
    (tmp_path / "sequential_data.txt").write_text("1 1 2 3\n2 4 0 5\n")
    with pytest.raises(DataError, match=r"sequential_data\.txt, line 2: field 'item_id' is 0"):
        read_amazon_beauty(tmp_path)
    frame = pd.DataFrame({"user_id": [1, 1, 1], "item_id": [0, 1, 2], "position": [0, 1, 2]})
    with pytest.raises(DataError, match="Item id 0"):
        sequences_from_frame(frame, "position")


def test_ids_past_int64_are_rejected(tmp_path):
    (tmp_path / "u.data").write_text("1\t9223372036854775807\t3\t4\n1\t9223372036854775808\t3\t4\n")
    with pytest.raises(DataError, match=r"line 2: field 'item_id' is past the int64 range"):
        read_movielens("ml-100k", tmp_path)


def test_header_lines(tmp_path):
    (tmp_path / "u.data").write_text("user\titem\trating\ttime\n1\t2\t3\t4\n")
    with pytest.raises(DataError, match=r"line 1: field 'user_id' is not an integer .*no header"):
        read_movielens("ml-100k", tmp_path)
    (tmp_path / "u.data").unlink()
    _write(tmp_path / "ratings_implicit.csv.gz", b"1,2\n3,4\n")
    with pytest.raises(DataError, match="line 1: expected a header line"):
        read_movielens("ml-1m", tmp_path)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"], ids=["zero-bytes", "blank-lines"])
@pytest.mark.parametrize(
    "name", ["u.data", "u.data.gz", "sequential_data.txt", "sequential_data.txt.gz"]
)
def test_empty_files(tmp_path, content, name):
    path = tmp_path / name
    if name.endswith(".gz") and content:
        content = gzip.compress(content)
    path.write_bytes(content)
    with pytest.raises(DataError, match=re.escape(str(path)) + " is empty"):
        if name.startswith("u.data"):
            read_movielens("ml-100k", tmp_path)
        else:
            read_amazon_beauty(tmp_path)


def test_header_only_file_holds_no_ratings(tmp_path):
    _write(tmp_path / "ratings_implicit.csv.gz", b"user_id,movie_id\n")
    with pytest.raises(DataError, match="holds no ratings"):
        read_movielens("ml-1m", tmp_path)


def test_duplicate_rating_lines_are_dropped_and_logged(tmp_path, caplog):
    (tmp_path / "u.data").write_text("1\t2\t3\t4\n1\t5\t3\t4\n1\t2\t3\t4\n1\t2\t5\t9\n1\t2\t3\t4\n")
    with caplog.at_level(logging.WARNING, logger="tfrec.data"):
        frame = read_movielens("ml-100k", tmp_path)
    # Exact repeats go (first kept); a re-rating of the same item (other rating, time) stays.
    assert frame.values.tolist() == [[1, 2, 3, 4], [1, 5, 3, 4], [1, 2, 5, 9]]
    assert "dropped 2 duplicate line(s)" in caplog.text and "first at line 3" in caplog.text


def test_duplicate_sequence_lines(tmp_path, caplog):
    (tmp_path / "sequential_data.txt").write_text("1 4 5 4\n2 6 7\n1 4 5 4\n")
    with caplog.at_level(logging.WARNING, logger="tfrec.data"):
        frame = read_amazon_beauty(tmp_path)
    # The repeated line goes; item 4 twice in one history is two events and stays.
    assert frame["item_id"].tolist() == [4, 5, 4, 6, 7]
    assert "dropped 1 duplicate line(s)" in caplog.text and "first at line 3" in caplog.text
    (tmp_path / "sequential_data.txt").write_text("1 4 5\n2 6 7\n1 4 8\n")
    with pytest.raises(
        DataError, match="line 3: user 1 already has a different sequence on line 1"
    ):
        read_amazon_beauty(tmp_path)


def test_feature_file_nan_width_and_missing_items(tmp_path):
    path = tmp_path / "f.npz"
    np.savez(path, item_ids=np.array([1, 2]), features=np.array([[1.0, 2.0], [np.nan, 0.0]]))
    with pytest.raises(DataError, match=r"f\.npz: 'features' row 1 \(item id 2\) holds nan"):
        load_item_features(path, [1, 2])
    np.savez(path, item_ids=np.array([1, 2, 3]), features=np.ones((2, 4)))
    with pytest.raises(DataError, match=r"shape \[len\(item_ids\)=3, d\], got \(2, 4\)"):
        load_item_features(path, [1, 2])
    np.savez(path, item_ids=np.array([1, 2]), features=np.ones((2, 0)))
    with pytest.raises(DataError, match="holds no feature vectors"):
        load_item_features(path, [1, 2])
    np.savez(path, item_ids=np.array([1, 2]))
    with pytest.raises(DataError, match="must hold arrays 'item_ids' and 'features'"):
        load_item_features(path, [1, 2])
    # Items missing from the file get the `missing` vector; a file with none of them is refused.
    np.savez(path, item_ids=np.array([1, 2]), features=np.ones((2, 3)))
    table, has_feature = load_item_features(path, [2, 7])
    assert has_feature.tolist() == [True, False] and table[1].tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(DataError, match="none of the 2 catalogue item ids"):
        load_item_features(path, [7, 8])


def test_truncated_feature_file(tmp_path):
    path = tmp_path / "f.npz"
    np.savez_compressed(path, item_ids=np.arange(100), features=np.random.rand(100, 8))
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match=r"f\.npz"):
        load_item_features(path, np.arange(100))
