"""Precomputed item feature vectors (image or text embeddings) aligned to a catalogue."""

import pathlib
import zipfile
import zlib

from tfrec.data.data_error import DataError
from tfrec.data.text_files import INT64_MAX
from tfrec.utils.atomic import atomic_output

import numpy as np

MISSING_POLICIES = ("zero", "mean")
SCALINGS = (None, "minmax", "l2")


def load_item_features(
    path, item_ids, missing: str = "zero", scaling=None, return_scaling: bool = False
):
    """Reads an ``.npz`` of item features and aligns its rows to `item_ids`.

    The file holds ``item_ids`` (int, `[n]`, the dataset's own ids) and ``features`` (float,
    `[n, d]`), as the files in ``shared/data`` (``image_features.npz``, ``text_features.npz``).
    Rules, each enforced with a `DataError` naming the file, the array, the row and the value:
    both arrays present; ``item_ids`` 1-D, integer, non-negative (the ids of the rating files;
    -1 and 0 are export padding values, see `tfrec.data.read_movielens`), within int64 and
    without repeats; ``features`` numeric, 2-D, one row per id (the width), finite (no NaN).
    Catalogue items the file lacks (missing items) get the `missing` vector; when none of the
    catalogue has a vector, the file belongs to another dataset and is rejected.

    Args:
        path: path of the ``.npz`` file.
        item_ids: int array `[num_items]`: the catalogue order wanted (the dataset's own ids).
        missing: str. Vector for catalogue items absent from the file: ``"zero"`` (default; a
            VBPR visual term of 0) or ``"mean"`` (the mean of the items found).
        scaling: None, ``"minmax"`` (one global min-max to [0, 1] over all entries, as Cornac's
            VBPR) or ``"l2"`` (each found row to unit L2 norm). Applied before filling missing rows.
        return_scaling: bool. Also return the scaling applied, so that new items' raw features
            can be scaled the same way (`scale_item_features`).

    Returns:
        Tuple ``(features, has_feature)``: float32 `[num_items, d]` and bool `[num_items]`;
        with `return_scaling`, ``(features, has_feature, scaling)`` where `scaling` is a dict:
        ``{"scaling": "minmax", "low": float, "high": float}`` (the file's global minimum and
        maximum), ``{"scaling": "l2"}`` or ``{"scaling": None}``.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if `missing` or `scaling` is unknown.
        DataError: (a `ValueError`) naming the file, if it is not a readable ``.npz``, arrays
            are missing or mis-shaped, an id is negative or repeated, values are NaN or
            infinite, or no catalogue item has a vector.
    """
    path = pathlib.Path(path)
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}.")
    if scaling not in SCALINGS:
        raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}.")
    if not path.is_file():
        raise FileNotFoundError(f"Item feature file not found: {path}")
    file_ids, file_features = _read_arrays(path)
    if file_ids.ndim != 1 or not np.issubdtype(file_ids.dtype, np.integer):
        raise DataError(
            f"{path}: 'item_ids' must be a 1-D integer array, got shape {file_ids.shape} "
            f"and dtype {file_ids.dtype}."
        )
    if file_features.ndim != 2 or file_features.shape[0] != file_ids.shape[0]:
        raise DataError(
            f"{path}: 'features' must have shape [len(item_ids)={len(file_ids)}, d], got "
            f"{file_features.shape}."
        )
    if not np.issubdtype(file_features.dtype, np.number) or np.issubdtype(
        file_features.dtype, np.complexfloating
    ):
        raise DataError(f"{path}: 'features' must be real numbers, got {file_features.dtype}.")
    if file_ids.size == 0 or file_features.shape[1] == 0:
        raise DataError(
            f"{path} holds no feature vectors ('features' has shape {file_features.shape})."
        )
    if file_ids.min() < 0:
        row = int(np.argmin(file_ids))
        raise DataError(
            f"{path}: 'item_ids' row {row} is negative ({file_ids[row]}); ids are integers >= 0."
        )
    if file_ids.max() > INT64_MAX:
        row = int(np.argmax(file_ids))
        raise DataError(f"{path}: 'item_ids' row {row} is past the int64 range ({file_ids[row]}).")
    file_ids = file_ids.astype(np.int64)
    with np.errstate(over="ignore"):
        features32 = file_features.astype(np.float32)  # float64 past float32's range -> inf
    finite = np.isfinite(features32).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        value = file_features[row][~np.isfinite(features32[row])][0]
        raise DataError(
            f"{path}: 'features' row {row} (item id {file_ids[row]}) holds {value}; NaN, "
            "infinite or values past float32 are not allowed."
        )
    unique, counts = np.unique(file_ids, return_counts=True)
    if (counts > 1).any():
        repeated = unique[counts > 1][0]
        rows = np.flatnonzero(file_ids == repeated)[:2].tolist()
        raise DataError(f"{path}: 'item_ids' has repeated id {repeated} (rows {rows}).")
    applied: dict = {"scaling": scaling}
    if scaling == "minmax":
        applied.update(low=float(features32.min()), high=float(features32.max()))
    file_features = scale_item_features(features32, applied)

    item_ids = np.asarray(item_ids, np.int64)
    order = np.argsort(file_ids)
    sorted_ids = file_ids[order]
    position = np.searchsorted(sorted_ids, item_ids)
    position = np.clip(position, 0, len(sorted_ids) - 1)
    has_feature = sorted_ids[position] == item_ids
    if not has_feature.any():
        raise DataError(
            f"{path}: none of the {len(item_ids)} catalogue item ids has a feature vector; the "
            "file's ids do not match this dataset."
        )
    features = np.zeros((len(item_ids), file_features.shape[1]), np.float32)
    features[has_feature] = file_features[order[position[has_feature]]]
    if missing == "mean":
        features[~has_feature] = features[has_feature].mean(axis=0)
    if return_scaling:
        return features, has_feature, applied
    return features, has_feature


def scale_item_features(features, scaling: dict):
    """Scales raw feature rows as `load_item_features` scaled a file (its `scaling` dict).

    Works on numpy arrays and on TensorFlow tensors (the VBPR export applies it in its
    ``score_new_items`` signature).

    Args:
        features: float `[n, d]`, raw features from the same extractor as the file's.
        scaling: dict from ``load_item_features(..., return_scaling=True)``.

    Returns:
        float32 `[n, d]`: min-max with the file's range (values of new items may fall outside
        [0, 1]), unit L2 rows, or the input unchanged.
    """
    kind = scaling.get("scaling")
    if kind == "minmax":
        low, high = scaling["low"], scaling["high"]
        return (features - low) / max(float(high - low), 1e-12)
    if kind == "l2":
        if isinstance(features, np.ndarray):
            norms = np.linalg.norm(features, axis=1, keepdims=True)
            return features / np.maximum(norms, 1e-12)
        import tensorflow as tf

        return tf.math.l2_normalize(features, axis=1, epsilon=1e-24)
    if kind is None:
        return features
    raise ValueError(f"Unknown feature scaling {kind!r}; expected minmax, l2 or None.")


def _read_arrays(path: pathlib.Path):
    """The ``item_ids`` and ``features`` arrays of the ``.npz`` at `path`, read in full."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        # Not an npz, truncated, or pickled.
        raise DataError(f"{path} is not a readable .npz file: {error}") from error
    if not hasattr(archive, "files"):
        raise DataError(f"{path} is a single .npy array, not an .npz with named arrays.")
    with archive:
        if "item_ids" not in archive.files or "features" not in archive.files:
            raise DataError(
                f"{path} must hold arrays 'item_ids' and 'features'; it has "
                f"{sorted(archive.files)}."
            )
        try:
            return np.asarray(archive["item_ids"]), np.asarray(archive["features"])
        except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as error:
            raise DataError(f"{path}: an array cannot be read ({error}).") from error


def save_item_features(path, item_ids, features) -> pathlib.Path:
    """Writes an ``.npz`` with ``item_ids`` and ``features`` atomically (temporary file, rename).

    The result is what `load_item_features` reads (and the CLI's ``--image-features`` and
    fMRLRec's feature files).

    Args:
        path: destination file.
        item_ids: int array `[n]`: the dataset's item ids.
        features: float array `[n, d]`.

    Returns:
        The written path.

    Raises:
        ValueError: if shapes disagree or features are not finite.
    """
    item_ids = np.asarray(item_ids, np.int64)
    features = np.asarray(features, np.float32)
    if features.ndim != 2 or item_ids.shape != (features.shape[0],):
        raise ValueError(
            f"item_ids {item_ids.shape} and features {features.shape} do not match ([n], [n, d])."
        )
    if not np.all(np.isfinite(features)):
        raise ValueError("features contain NaN or infinite values.")
    path = pathlib.Path(path)
    with atomic_output(path) as temporary:
        with open(temporary, "wb") as stream:  # a file object: np.savez adds no ".npz" suffix
            np.savez(stream, item_ids=item_ids, features=features)
    return path
