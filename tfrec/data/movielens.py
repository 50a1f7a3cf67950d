"""Readers for the MovieLens rating files (GroupLens).

References:
    - [Harper and Konstan, 2015](https://doi.org/10.1145/2827872). The MovieLens Datasets: History
      and Context. ACM TiiS 5(4).
"""

import pathlib

from tfrec.data.paths import resolve_data_dir

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


def read_ratings_file(path, sep: str, header, columns) -> pd.DataFrame:
    """Parses one delimited rating file into typed columns.

    Args:
        path: path of the file (``.gz`` is decompressed on the fly).
        sep: str. Field separator; ``"::"`` is read by splitting on ``":"``.
        header: 0 when the file has a header line, else None.
        columns: list of str. Column names in file order: ``user_id``, ``item_id`` and optionally
            ``rating`` and ``timestamp``.

    Returns:
        DataFrame with int64 ``user_id``, ``item_id``, ``timestamp`` and float32 ``rating``.

    Raises:
        ValueError: naming the file and line for a malformed line or a non-numeric field.
    """
    path = pathlib.Path(path)
    # ``::`` as a regex separator would force pandas' slow Python engine; splitting on ``:`` keeps
    # the C engine, with the fields at even positions.
    double_colon = sep == "::"
    width = len(columns) * 2 - 1 if double_colon else len(columns)
    try:
        raw = pd.read_csv(
            path,
            sep=":" if double_colon else sep,
            header=header,
            names=range(width),
            dtype=str,
            keep_default_na=False,
            engine="c",
        )
    except pd.errors.ParserError as error:
        raise ValueError(f"Malformed line in {path}: {error}") from error
    if double_colon:
        raw = raw.iloc[:, ::2]
    raw.columns = columns
    first_line = 2 if header == 0 else 1
    frame = pd.DataFrame(index=raw.index)
    for column in columns:
        values = pd.to_numeric(raw[column].str.strip(), errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy())
        if bad.size:
            row = int(bad[0])
            raise ValueError(
                f"{path}, line {row + first_line}: field '{column}' is not a number "
                f"({raw[column].iloc[row]!r}); the line may be malformed."
            )
        frame[column] = values.astype(np.float32 if column == "rating" else np.int64)
    return frame


def read_movielens(dataset: str, data_dir=None, download: bool = False, cache_dir=None):
    """Reads the ratings of a MovieLens dataset.

    ML-1M: ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``) when present, else the
    implicit copy ``ratings_implicit.csv.gz`` (header ``user_id,movie_id``; no ratings or times).
    ML-100K: ``u.data`` (tab-separated). ML-20M: ``ratings.csv``.

    Args:
        dataset: str. One of ``"ml-100k"``, ``"ml-1m"``, ``"ml-20m"``.
        data_dir: str, path or None. Folder with the files; see `resolve_data_dir` for defaults.
        download: bool. If no local folder is found, download the official archive (checksum
            verified) into `cache_dir`.
        cache_dir: str or None. Download cache folder (default ``~/.keras``).

    Returns:
        `pandas.DataFrame`, one row per rating in file order, with int64 ``user_id`` and
        ``item_id`` (the dataset's own ids), and when the file has them float32 ``rating``
        (stars) and int64 ``timestamp`` (seconds since the Unix epoch).

    Raises:
        ValueError: unknown dataset, malformed line, or non-numeric field (names file and line).
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
    frame = read_ratings_file(path, sep, header, columns)
    if frame.empty:
        raise ValueError(f"{path} holds no ratings.")
    return frame
