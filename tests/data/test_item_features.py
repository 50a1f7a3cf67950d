from tfrec.data.item_features import load_item_features, save_item_features

import numpy as np
import pytest

from tests.helpers import data_dir


def _write(path, ids, features):
    np.savez(path, item_ids=np.asarray(ids), features=np.asarray(features))
    return path


def test_aligns_rows_to_catalogue_and_fills_missing(tmp_path):
    path = _write(tmp_path / "f.npz", [30, 10, 20], [[3.0, 3.0], [1.0, 1.0], [2.0, 2.0]])
    features, has = load_item_features(path, [10, 40, 30])
    np.testing.assert_array_equal(features, [[1, 1], [0, 0], [3, 3]])
    np.testing.assert_array_equal(has, [True, False, True])
    features, _ = load_item_features(path, [10, 40, 30], missing="mean")
    np.testing.assert_array_equal(features[1], [2.0, 2.0])


def test_scalings(tmp_path):
    path = _write(tmp_path / "f.npz", [1, 2], [[0.0, 4.0], [2.0, 8.0]])
    features, _ = load_item_features(path, [1, 2], scaling="minmax")
    np.testing.assert_allclose(features, [[0.0, 0.5], [0.25, 1.0]])
    features, _ = load_item_features(path, [1, 2], scaling="l2")
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), [1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize(
    "ids, features, message",
    [
        ([1, 2], [[1.0], [np.nan]], "NaN"),
        ([1, 2], [1.0, 2.0], "shape"),
        ([1, 2, 3], [[1.0], [2.0]], "shape"),
        ([7, 8], [[1.0], [2.0]], "do not match"),
        ([1, 1], [[1.0], [2.0]], "repeated"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, ids, features, message):
    path = _write(tmp_path / "bad.npz", ids, features)
    with pytest.raises(ValueError, match=message) as error:
        load_item_features(path, [1, 2])
    assert "bad.npz" in str(error.value)


def test_missing_arrays_and_files(tmp_path):
    np.savez(tmp_path / "x.npz", ids=np.arange(2))
    with pytest.raises(ValueError, match="'item_ids' and 'features'"):
        load_item_features(tmp_path / "x.npz", [0])
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_item_features(tmp_path / "nope.npz", [0])
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        load_item_features(tmp_path / "junk.npz", [0])


def test_real_ml1m_poster_features():
    features, has = load_item_features(data_dir("ml-1m") / "image_features.npz", [1, 769, 3952])
    assert features.shape == (3, 1280)
    # Movie 769 has no poster (SOURCE.md): zero vector.
    np.testing.assert_array_equal(has, [True, False, True])
    assert not features[1].any() and features[0].any()


def test_saved_features_load_back(tmp_path):
    path = save_item_features(tmp_path / "f.npz", [7, 3], np.array([[1.0, 2.0], [3.0, 4.0]]))
    features, has = load_item_features(path, np.array([3, 7, 9]))
    np.testing.assert_array_equal(features, [[3.0, 4.0], [1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(has, [True, True, False])
    assert [p.name for p in tmp_path.iterdir()] == ["f.npz"]
    with pytest.raises(ValueError, match="NaN"):
        save_item_features(tmp_path / "g.npz", [1], [[np.nan]])
