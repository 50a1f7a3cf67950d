"""Item titles of the MovieLens datasets, to show recommendations by name."""

import pathlib

import pandas as pd

# Title file per dataset: (file name, separator). GroupLens writes them in Latin-1.
TITLE_FILES = {"ml-1m": ("movies.dat", "::"), "ml-100k": ("u.item", "|")}


def read_item_titles(dataset: str, data_dir) -> dict:
    """Reads item id -> title from ML-1M's ``movies.dat`` or ML-100K's ``u.item``.

    Args:
        dataset: str. ``"ml-1m"`` or ``"ml-100k"``.
        data_dir: str or path. The dataset's folder.

    Returns:
        dict from int item id (MovieLens MovieID) to title, e.g. ``{1: "Toy Story (1995)"}``.

    Raises:
        ValueError: if `dataset` has no title file here.
        FileNotFoundError: if the folder has no title file (names the path).
    """
    if dataset not in TITLE_FILES:
        raise ValueError(
            f"No item titles for dataset {dataset!r}; titles are read for {', '.join(TITLE_FILES)}."
        )
    name, sep = TITLE_FILES[dataset]
    path = pathlib.Path(data_dir) / name
    if not path.is_file():
        raise FileNotFoundError(f"No {name} in {data_dir}: cannot show {dataset} titles.")
    frame = pd.read_csv(
        path,
        sep=sep,
        header=None,
        usecols=[0, 1],
        names=["item_id", "title"],
        encoding="latin-1",
        engine="python",
        dtype={"item_id": "int64", "title": "string"},
    )
    return dict(zip(frame["item_id"].tolist(), frame["title"].tolist()))
