from tfrec.models import EASE, Popularity

import numpy as np
import pytest
import scipy.sparse as sp

from tests.helpers import assert_keras_serialization_round_trip


def _interactions(seed=0, users=30, items=8):
    rng = np.random.default_rng(seed)
    return (rng.random((users, items)) < 0.4).astype(np.float32)


def test_ease_matches_per_item_ridge_regression():
    """EASE's column j is the ridge regression of item j on all other items (Steck, Eq. 1)."""
    x = _interactions()
    lam = 3.0
    model = EASE(x.shape[1], l2_regularization=lam).fit_closed_form(sp.csr_matrix(x))
    weights = model.item_weights.numpy()
    for j in range(x.shape[1]):
        others = np.delete(np.arange(x.shape[1]), j)
        a = x[:, others].astype(np.float64)
        expected = np.linalg.solve(a.T @ a + lam * np.eye(len(others)), a.T @ x[:, j])
        np.testing.assert_allclose(weights[others, j], expected, atol=1e-5)
        assert weights[j, j] == 0.0
    np.testing.assert_allclose(model(x).numpy(), x @ weights, atol=1e-5)


def test_popularity_counts_training_interactions():
    x = _interactions()
    model = Popularity(x.shape[1]).fit_closed_form(sp.csr_matrix(x))
    scores = model(x[:3]).numpy()
    for row in scores:
        np.testing.assert_array_equal(row, x.sum(axis=0))


@pytest.mark.parametrize("model_class", [EASE, Popularity])
def test_serialization_round_trip(model_class, tmp_path):
    x = _interactions()
    model = model_class(x.shape[1]).fit_closed_form(sp.csr_matrix(x))
    assert_keras_serialization_round_trip(model, x[:4], tmp_path)


def test_shape_and_argument_errors():
    with pytest.raises(ValueError, match="l2_regularization"):
        EASE(4, l2_regularization=0)
    with pytest.raises(ValueError, match="interactions have 3 items"):
        EASE(4).fit_closed_form(np.ones((2, 3)))
