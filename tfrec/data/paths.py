"""Where datasets are found on disk."""

import os
import pathlib

DATA_DIR_ENV = "TFREC_DATA_DIR"


def resolve_data_dir(data_dir, dataset: str, search_root=None) -> pathlib.Path:
    """Finds the folder that holds `dataset`.

    Looks, in order, at `data_dir` when given, at ``$TFREC_DATA_DIR/<dataset>``, and at
    ``../shared/data/<dataset>`` relative to `search_root`.

    Args:
        data_dir: str, path or None. An explicit folder holding the dataset's files.
        dataset: str. Dataset name, e.g. ``"ml-1m"``; used for the fallbacks.
        search_root: str, path or None. Folder the ``../shared/data`` fallback is relative to
            (default: the working directory).

    Returns:
        The folder as a `pathlib.Path`.

    Raises:
        FileNotFoundError: if no candidate exists; the message lists every path tried.
    """
    candidates = []
    if data_dir is not None:
        candidates.append(pathlib.Path(data_dir).expanduser())
    else:
        if os.environ.get(DATA_DIR_ENV):
            candidates.append(pathlib.Path(os.environ[DATA_DIR_ENV]).expanduser() / dataset)
        candidates.append(pathlib.Path(search_root or ".", "..", "shared", "data", dataset))
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"No data folder for dataset '{dataset}' (tried: {tried}). Pass --data-dir, set "
        f"{DATA_DIR_ENV}, or use --download to fetch the official archive."
    )
