"""Tiny trained exports shared by the tests of ``tfrec recommend`` and ``tfrec evaluate``.

Each fixture trains one model through ``tfrec train`` on made-up data (seconds) the first time
a test asks for it, and returns where its export, metrics file and data are.
"""

import dataclasses
import gzip
import json
import pathlib

from tfrec.cli.main import main

import numpy as np
import pytest

from tests.helpers import write_ml100k_ratings


@dataclasses.dataclass
class TrainedExport:
    export: pathlib.Path  # the model folder (versions inside)
    metrics: dict  # the training run's metrics file
    data: pathlib.Path  # the dataset folder it was trained on


def _train(root: pathlib.Path, data: pathlib.Path, argv: list) -> TrainedExport:
    metrics = root / "metrics.json"
    export = root / "export"
    code = main(
        ["train", *argv, "--data-dir", str(data), "--verbose", "0"]
        + ["--metrics-out", str(metrics), "--export-dir", str(export)]
    )
    assert code == 0
    return TrainedExport(export, json.loads(metrics.read_text()), data)


@pytest.fixture(scope="session")
def movielens_folder(tmp_path_factory):
    """A made-up ML-100K folder: 80 users x 130 items, titles, 8-d features for most items."""
    folder = tmp_path_factory.mktemp("ml-100k")
    rng = np.random.default_rng(0)
    write_ml100k_ratings(folder, 80, 130, interactions=(15, 40), ratings=(1, 6), rng=rng)
    lines = [
        f"{item}|Movie {item} (1995)|01-Jan-1995||http://example.org|0|1\n"
        for item in range(1, 131)
    ]
    (folder / "u.item").write_text("".join(lines), encoding="latin-1")
    np.savez(
        folder / "image_features.npz",
        item_ids=np.arange(1, 121),
        features=rng.random((120, 8)) * 40 - 10,  # raw: the exports scale them to [0, 1]
    )
    return folder


@pytest.fixture(scope="session")
def beauty_folder(tmp_path_factory):
    """Made-up Amazon Beauty sequences: 40 users over items 101-125, 6-d text features."""
    folder = tmp_path_factory.mktemp("beauty")
    rng = np.random.default_rng(0)
    with gzip.open(folder / "sequential_data.txt.gz", "wt") as handle:
        for user in range(1, 41):
            items = rng.choice(np.arange(101, 126), size=rng.integers(4, 12), replace=False)
            handle.write(" ".join(map(str, [user, *items])) + "\n")
    np.savez(
        folder / "text_features.npz",
        item_ids=np.arange(101, 126),
        features=rng.normal(size=(25, 6)).astype(np.float32),
    )
    return folder


@pytest.fixture(scope="session")
def mult_vae_export(tmp_path_factory, movielens_folder):
    argv = ["mult-vae", "--dataset", "ml-100k", "--validation-users", "10", "--test-users", "10",
            "--epochs", "2", "--batch-size", "16", "--seed", "7"]  # fmt: skip
    return _train(tmp_path_factory.mktemp("mult_vae"), movielens_folder, argv)


@pytest.fixture(scope="session")
def vbpr_export(tmp_path_factory, movielens_folder):
    argv = ["vbpr", "--dataset", "ml-100k", "--epochs", "2", "--batch-size", "64", "--seed", "7"]
    return _train(tmp_path_factory.mktemp("vbpr"), movielens_folder, argv)


@pytest.fixture(scope="session")
def fmrlrec_export(tmp_path_factory, beauty_folder):
    argv = ["fmrlrec", "--dataset", "beauty", "--features", "text,id", "--matryoshka-sizes", "4,8",
            "--max-len", "6", "--epochs", "1", "--batch-size", "16"]  # fmt: skip
    return _train(tmp_path_factory.mktemp("fmrlrec"), beauty_folder, argv)


@pytest.fixture(scope="session")
def lrurec_export(tmp_path_factory, beauty_folder):
    argv = ["lrurec", "--dataset", "beauty", "--width", "8", "--max-len", "6", "--epochs", "2",
            "--batch-size", "16", "--validation-interval", "3"]  # fmt: skip
    return _train(tmp_path_factory.mktemp("lrurec"), beauty_folder, argv)
