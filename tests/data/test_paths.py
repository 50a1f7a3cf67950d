"""`resolve_data_dir`: the order of the places a dataset is looked for."""

import pathlib

from tfrec.data.paths import DATA_DIR_ENV, resolve_data_dir

import pytest


def _dataset_beside(repository: pathlib.Path, dataset: str) -> pathlib.Path:
    folder = repository.parent / "shared" / "data" / dataset
    folder.mkdir(parents=True)
    return folder


def test_explicit_folder_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    (tmp_path / "ml-1m").mkdir()
    explicit = tmp_path / "mine"
    explicit.mkdir()
    assert resolve_data_dir(explicit, "ml-1m") == explicit


def test_environment_then_shared_data(tmp_path, monkeypatch):
    repository = tmp_path / "checkout"
    repository.mkdir()
    shared = _dataset_beside(repository, "ml-1m")
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert resolve_data_dir(None, "ml-1m", search_root=repository).resolve() == shared
    environment = tmp_path / "env"
    (environment / "ml-1m").mkdir(parents=True)
    monkeypatch.setenv(DATA_DIR_ENV, str(environment))
    assert resolve_data_dir(None, "ml-1m", search_root=repository) == environment / "ml-1m"


def test_default_is_relative_to_the_working_directory(tmp_path, monkeypatch):
    repository = tmp_path / "checkout"
    repository.mkdir()
    shared = _dataset_beside(repository, "ml-100k")
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.chdir(repository)
    found = resolve_data_dir(None, "ml-100k")
    assert found == pathlib.Path("..", "shared", "data", "ml-100k")
    assert found.resolve() == shared


def test_missing_dataset_lists_every_path_tried(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError) as error:
        resolve_data_dir(None, "ml-20m", search_root=tmp_path / "checkout")
    message = str(error.value)
    assert str(tmp_path / "env" / "ml-20m") in message
    assert str(tmp_path / "checkout" / ".." / "shared" / "data" / "ml-20m") in message
