"""Raw access to the users' text files for the readers: bytes, UTF-8 lines and ids, all checked.

Every problem becomes a `tfrec.data.DataError` naming the file and, where it has one, the line.
"""

import gzip
import pathlib
import re
import zlib

from tfrec.data.data_error import DataError

import numpy as np

GZIP_MAGIC = b"\x1f\x8b"
INT64_MAX = int(np.iinfo(np.int64).max)
# ASCII digits only: Python's int() also takes "1_000" and non-ASCII digits, which no data
# file means as an id.
INTEGER = re.compile(r"[+-]?[0-9]+")


def read_bytes(path) -> bytes:
    """The content of `path`, decompressed when its name ends in ``.gz`` (any case).

    Args:
        path: str or path. The file.

    Returns:
        bytes. The whole (decompressed) content.

    Raises:
        FileNotFoundError: if `path` does not exist.
        OSError: if it cannot be read otherwise (e.g. a folder, no permission).
        DataError: for a ``.gz`` file that is not gzip data, or is truncated or corrupt (naming
            the line it breaks off in), and for gzip data in a file not named ``.gz``.
    """
    path = pathlib.Path(path)
    if path.suffix.lower() != ".gz":
        data = path.read_bytes()
        if data.startswith(GZIP_MAGIC):
            raise DataError(
                f"{path} is gzip-compressed but its name does not end in .gz; rename it to "
                f"{path.name}.gz."
            )
        return data
    with open(path, "rb") as stream:
        start = stream.read(16)
    if not start:
        raise DataError(f"{path} is empty (0 bytes), not a gzip file.")
    if not start.startswith(GZIP_MAGIC):
        raise DataError(
            f"{path} is named .gz but is not gzip-compressed (it starts with {start!r}); "
            "remove the .gz suffix or compress it with gzip."
        )
    chunks: list[bytes] = []
    try:
        with gzip.open(path, "rb") as stream:
            # Small reads, so that a break is located to within a few lines.
            while chunk := stream.read(1 << 16):
                chunks.append(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        lines = sum(chunk.count(b"\n") for chunk in chunks)
        where = f"after line {lines}" if lines else "before the end of line 1"
        raise DataError(
            f"{path}, line {lines + 1}: the gzip data is truncated or corrupt {where} "
            f"({error}); the file was cut short or damaged, fetch or compress it again."
        ) from error
    return b"".join(chunks)


def decode_line(path, line_number: int, raw: bytes) -> str:
    """`raw` decoded as UTF-8.

    Args:
        path: the file `raw` comes from, for the message.
        line_number: int. 1-based number of the line, for the message.
        raw: bytes. One line.

    Returns:
        str.

    Raises:
        DataError: naming the file, the line, the column and the bytes that are not UTF-8.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = raw[error.start : error.end]
        raise DataError(
            f"{path}, line {line_number}: byte {bad!r} at column {error.start + 1} is not UTF-8 "
            f"(line {_shorten(raw)!r})."
        ) from None


def parse_id(path, line_number: int, name: str, text: str, minimum: int = 0, hint: str = ""):
    """The integer id in `text`, which must lie in [`minimum`, int64 max].

    Args:
        path, line_number: where `text` comes from (file, 1-based line), for the message.
        name: str. The field, e.g. ``"item_id"``.
        text: str. The field's text, surrounding spaces already stripped.
        minimum: int. Smallest valid id (0; 1 where 0 is the padding value of an export).
        hint: str. Appended to the message of a non-integer (e.g. the expected separator).

    Returns:
        int. The id.

    Raises:
        DataError: naming the file, the line, the field and the value, if `text` is not an
            ASCII integer (an optional sign, digits) or the value is past int64, negative or
            below `minimum`.
    """
    where = f"{path}, line {line_number}: field '{name}'"
    if not INTEGER.fullmatch(text):
        raise DataError(f"{where} is not an integer ({_shorten(text)!r}){hint}.")
    value = int(text)
    if value > INT64_MAX:
        raise DataError(f"{where} is past the int64 range ({text!r} > {INT64_MAX}).")
    if value < 0:
        raise DataError(f"{where} is negative ({text!r}); ids are integers >= 0.")
    if value < minimum:
        raise DataError(
            f"{where} is {value}, the padding value of sequence exports (fMRLRec, LRURec "
            f"histories are left-padded with 0); item ids of sequences must be >= {minimum}."
        )
    return value


def _shorten(text, limit: int = 80):
    """`text` (str or bytes) cut to `limit` characters, for a message."""
    if len(text) <= limit:
        return text
    if isinstance(text, bytes):
        return text[:limit] + b"..."
    return text[:limit] + "..."
