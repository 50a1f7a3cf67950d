"""Readers for the MovieLens rating files (GroupLens).

References:
    - [Harper and Konstan, 2015](https://doi.org/10.1145/2827872). The MovieLens Datasets: History
      and Context. ACM TiiS 5(4).
"""

import csv
import io
import logging
import math
import pathlib

from tfrec.data.data_error import DataError
from tfrec.data.paths import resolve_data_dir
from tfrec.data.text_files import (
    INT64_MAX,
    INTEGER,
    decode_line,
    parse_id,
    read_bytes,
)

import numpy as np
import pandas as pd

# Official archives and the MD5 sums GroupLens publishes beside them (``<archive>.md5``).
ARCHIVES = {
    "ml-100k": (
        "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        "0e33842e24a9c977be4e0107933c0723",
    ),
    "ml-1m": (
        "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        "c4d9eecfca2ab87c1945afe126590906",
    ),
    "ml-20m": (
        "https://files.grouplens.org/datasets/movielens/ml-20m.zip",
        "cd245b17a1ae2cc31bb14903e1204af3",
    ),
}

# Rating files per dataset, in order of preference: (file name, separator, header, columns).
# ``ratings_implicit.csv.gz`` is an ML-1M copy holding only (user, movie) pairs.
_RATING_FILES: dict[str, list[tuple[str, str, int | None, list[str]]]] = {
    "ml-100k": [
        ("u.data", "\t", None, ["user_id", "item_id", "rating", "timestamp"]),
        ("u.data.gz", "\t", None, ["user_id", "item_id", "rating", "timestamp"]),
    ],
    "ml-1m": [
        ("ratings.dat", "::", None, ["user_id", "item_id", "rating", "timestamp"]),
        ("ratings.dat.gz", "::", None, ["user_id", "item_id", "rating", "timestamp"]),
        ("ratings_implicit.csv.gz", ",", 0, ["user_id", "item_id"]),
    ],
    "ml-20m": [
        ("ratings.csv", ",", 0, ["user_id", "item_id", "rating", "timestamp"]),
        ("ratings.csv.gz", ",", 0, ["user_id", "item_id", "rating", "timestamp"]),
    ],
}

DATASETS = tuple(ARCHIVES)
_DTYPES = {"user_id": np.int64, "item_id": np.int64, "rating": np.float32, "timestamp": np.int64}
_LOGGER = logging.getLogger(__name__)


def download_movielens(dataset: str, cache_dir=None) -> pathlib.Path:
    """Downloads and unpacks an official MovieLens archive, verifying its MD5 sum.

    Uses `tf_keras.utils.get_file`, which caches the archive, so a second call does not download.

    Args:
        dataset: str. One of ``"ml-100k"``, ``"ml-1m"``, ``"ml-20m"``.
        cache_dir: str or None. Cache folder; defaults to ``~/.keras``.

    Returns:
        The folder holding the unpacked files.

    Raises:
        ValueError: for an unknown dataset, or when the checksum does not match.
    """
    if dataset not in ARCHIVES:
        raise ValueError(f"Unknown dataset '{dataset}'; expected one of {', '.join(DATASETS)}.")
    import tf_keras as keras  # Deferred: reading local files needs no TensorFlow.

    url, md5 = ARCHIVES[dataset]
    archive = keras.utils.get_file(
        fname=f"{dataset}.zip",
        origin=url,
        file_hash=md5,
        hash_algorithm="md5",
        extract=True,
        cache_dir=cache_dir,
        cache_subdir="tfrec_datasets",
    )
    return pathlib.Path(archive).parent / dataset


def _find_rating_file(dataset: str, folder: pathlib.Path):
    for spec in _RATING_FILES[dataset]:
        if (folder / spec[0]).is_file():
            return folder / spec[0], spec
    names = ", ".join(spec[0] for spec in _RATING_FILES[dataset])
    raise FileNotFoundError(f"No {dataset} rating file in {folder} (looked for {names}).")


def read_ratings_file(path, sep: str, header, columns, min_item_id: int = 0) -> pd.DataFrame:
    """Parses one delimited rating file into typed, checked columns.

    Every line holds the fields of `columns` separated by `sep`. Rules, each enforced with a
    `DataError` naming the file, the line and the value:

    - ``user_id`` and ``item_id`` are integers in [0, 2**63 - 1] (``item_id`` >= `min_item_id`):
      a negative id, an id past int64, a decimal or a word is rejected. So no real id can equal
      a serving padding value: -1 in the interaction exports (Mult-VAE, Mult-DAE, EASE,
      popularity; `tfrec.export.InteractionServing`) and, with ``min_item_id=1``, 0 in the
      sequence exports (fMRLRec, LRURec; `tfrec.export.SequenceServing`).
    - ``rating`` is a finite number; ``timestamp`` an integer (seconds since the Unix epoch).
    - Each line has exactly ``len(columns)`` fields: a wrong separator, a missing or an extra
      field names its own line. Surrounding spaces and blank lines are ignored.
    - With ``header=0`` the first line is a header (a first line of numbers is rejected); with
      None a header line is rejected as a non-numeric field on line 1.
    - The file is UTF-8 text; an empty file, a ``.gz`` that is truncated, corrupt or not gzip
      at all, and non-UTF-8 bytes are rejected.
    - Duplicate rows: a line that repeats an earlier line field for field (the same event
      twice) is dropped, the first kept, and the number dropped is logged as a warning
      (logger ``tfrec.data.movielens``). The same user and item with another rating or time
      (a re-rating) is kept: readers return every event, and `Interactions` counts the pair
      once.

    Args:
        path: path of the file (``.gz`` is decompressed on the fly).
        sep: str. Field separator; ``"::"`` is read by splitting on ``":"``.
        header: 0 when the file has a header line, else None.
        columns: list of str. Column names in file order: ``user_id``, ``item_id`` and optionally
            ``rating`` and ``timestamp``.
        min_item_id: int. Smallest valid item id: 0, or 1 where 0 is an export's padding value.

    Returns:
        DataFrame with int64 ``user_id``, ``item_id``, ``timestamp`` and float32 ``rating``, one
        row per kept line in file order.

    Raises:
        FileNotFoundError: if `path` does not exist.
        DataError: (a `ValueError`) for any of the rules above, naming file, line and value.
    """
    path = pathlib.Path(path)
    data = read_bytes(path)
    if not data.strip():
        raise DataError(f"{path} is empty; expected lines of {sep.join(columns)!r}.")
    frame = _parse_ratings(data, sep, header, columns, min_item_id)
    if frame is None:
        # The fast parse only says that something is wrong; find and describe the first line.
        _raise_first_bad_line(path, data, sep, header, columns, min_item_id)
        raise DataError(f"{path} cannot be parsed as lines of {sep.join(columns)!r}.")
    if frame.empty:
        raise DataError(f"{path} holds no ratings.")
    duplicated = frame.duplicated(keep="first").to_numpy()
    if duplicated.any():
        _LOGGER.warning(
            "%s: dropped %d duplicate line(s) repeating an earlier line exactly (first at line "
            "%d).",
            path,
            int(duplicated.sum()),
            int(frame.index[duplicated][0]),
        )
        frame = frame[~duplicated]
    return frame.reset_index(drop=True)


def _parse_ratings(data: bytes, sep, header, columns, min_item_id):
    """The fast parse (pandas' C engine): the frame indexed by line number, or None on any fault."""
    double_colon = sep == "::"
    width = len(columns) * 2 - 1 if double_colon else len(columns)
    first_line = 1
    if header == 0:
        end = data.find(b"\n")
        head, data = (data, b"") if end < 0 else (data[:end], data[end + 1 :])
        try:
            names = [field.strip() for field in head.decode("utf-8").split(sep)]
        except UnicodeDecodeError:
            return None
        if len(names) != len(columns) or all(_is_number(name) for name in names):
            return None
        first_line = 2
    if not data.strip():
        return pd.DataFrame({column: pd.Series(dtype=_DTYPES[column]) for column in columns})
    try:
        raw = pd.read_csv(
            io.BytesIO(data),
            # ``::`` as a regex separator would force pandas' slow Python engine; splitting on
            # ``:`` keeps the C engine, with the fields at even positions.
            sep=":" if double_colon else sep,
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,  # one row per line, so that row i is line i + first_line
            index_col=False,
            quoting=csv.QUOTE_NONE,
            encoding="utf-8",
            engine="c",
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return None
    if raw.shape[1] != width:
        return None
    raw = raw.apply(lambda column: column.str.strip())
    raw.index = raw.index + first_line
    raw = raw[~(raw == "").all(axis=1)]  # blank lines
    if double_colon:
        if (raw.iloc[:, 1::2] != "").to_numpy().any():
            return None
        raw = raw.iloc[:, ::2]
    raw.columns = columns
    frame = pd.DataFrame(index=raw.index)
    for column in columns:
        values = pd.to_numeric(raw[column], errors="coerce")
        if column == "rating":
            if values.dtype.kind not in "iuf" or not np.isfinite(values.to_numpy(float)).all():
                return None
        elif values.dtype != np.int64:
            return None  # a word, a decimal, a blank field or an id past int64
        elif column != "timestamp" and (values < _minimum(column, min_item_id)).any():
            return None
        frame[column] = values.astype(_DTYPES[column])
    return frame


def _raise_first_bad_line(path, data: bytes, sep, header, columns, min_item_id) -> None:
    """Raises the DataError of the first line of `data` that breaks a rule of the file."""
    layout = sep.join(columns)
    separator = {"\t": "tabs", ",": "commas", "::": "'::'"}.get(sep, repr(sep))
    for number, raw in enumerate(data.split(b"\n"), 1):
        text = decode_line(path, number, raw)
        if not text.strip():
            continue
        fields = [field.strip() for field in text.split(sep)]
        if number == 1 and header == 0:
            if all(_is_number(field) for field in fields):
                raise DataError(
                    f"{path}, line 1: expected a header line naming the {len(columns)} columns "
                    f"({layout!r}), got data ({text.strip()!r})."
                )
            if len(fields) != len(columns):
                raise DataError(
                    f"{path}, line 1: the header has {len(fields)} field(s) separated by "
                    f"{separator}, expected {len(columns)} ({layout!r})."
                )
            continue
        if len(fields) != len(columns):
            raise DataError(
                f"{path}, line {number}: {len(fields)} field(s) separated by {separator}, "
                f"expected {len(columns)} ({layout!r}); got {text.strip()[:80]!r}."
            )
        hint = f"; {path.name} has no header line" if number == 1 and header is None else ""
        for column, field in zip(columns, fields):
            if column == "rating":
                if not (_is_number(field) and math.isfinite(float(field))):
                    raise DataError(
                        f"{path}, line {number}: field 'rating' is not a finite number "
                        f"({field[:80]!r}){hint}."
                    )
            elif column == "timestamp":
                if not INTEGER.fullmatch(field):
                    raise DataError(
                        f"{path}, line {number}: field 'timestamp' is not an integer "
                        f"({field[:80]!r}){hint}."
                    )
                if not -INT64_MAX <= int(field) <= INT64_MAX:
                    raise DataError(
                        f"{path}, line {number}: field 'timestamp' is past the int64 range "
                        f"({field!r})."
                    )
            else:
                parse_id(path, number, column, field, _minimum(column, min_item_id), hint)


def _minimum(column: str, min_item_id: int) -> int:
    return min_item_id if column == "item_id" else 0


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_movielens(
    dataset: str, data_dir=None, download: bool = False, cache_dir=None, min_item_id: int = 0
):
    """Reads the ratings of a MovieLens dataset.

    ML-1M: ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``) when present, else the
    implicit copy ``ratings_implicit.csv.gz`` (header ``user_id,movie_id``; no ratings or times).
    ML-100K: ``u.data`` (tab-separated). ML-20M: ``ratings.csv``.

    The file is checked line by line as `read_ratings_file` describes. Padding rule: user and
    item ids are non-negative integers, so no real item id collides with -1, the padding of the
    interaction exports (Mult-VAE, Mult-DAE, EASE, popularity); `read_sequences` asks for
    ``min_item_id=1``, so that none collides with 0, the padding of the sequence exports
    (fMRLRec, LRURec). Lines repeating an earlier line exactly are dropped (count logged).

    Args:
        dataset: str. One of ``"ml-100k"``, ``"ml-1m"``, ``"ml-20m"``.
        data_dir: str, path or None. Folder with the files; see `resolve_data_dir` for defaults.
        download: bool. If no local folder is found, download the official archive (checksum
            verified) into `cache_dir`.
        cache_dir: str or None. Download cache folder (default ``~/.keras``).
        min_item_id: int. Smallest valid item id (0; 1 where 0 is an export's padding value).

    Returns:
        `pandas.DataFrame`, one row per rating in file order, with int64 ``user_id`` and
        ``item_id`` (the dataset's own ids), and when the file has them float32 ``rating``
        (stars) and int64 ``timestamp`` (seconds since the Unix epoch).

    Raises:
        ValueError: unknown dataset.
        DataError: (a `ValueError`) a bad or empty file; names the file, line and value.
        FileNotFoundError: no folder or no rating file (names the paths tried).
    """
    if dataset not in _RATING_FILES:
        raise ValueError(f"Unknown dataset '{dataset}'; expected one of {', '.join(DATASETS)}.")
    try:
        folder = resolve_data_dir(data_dir, dataset)
    except FileNotFoundError:
        if not download:
            raise
        folder = download_movielens(dataset, cache_dir)
    path, (_, sep, header, columns) = _find_rating_file(dataset, folder)
    return read_ratings_file(path, sep, header, columns, min_item_id=min_item_id)
