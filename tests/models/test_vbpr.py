from tfrec.data.triples import bpr_triples
from tfrec.models.bpr_mf import BPRMF
from tfrec.models.vbpr import VBPR

import numpy as np
import pytest
import scipy.sparse as sp
import tf_keras as keras

from tests.helpers import assert_keras_serialization_round_trip

NUM_USERS, NUM_ITEMS, FEATURE_DIM = 4, 5, 3


def _vbpr(**kwargs):
    model = VBPR(
        NUM_USERS, NUM_ITEMS, feature_dim=FEATURE_DIM, num_factors=2, num_visual_factors=2, **kwargs
    )
    rng = np.random.default_rng(0)
    model.set_item_features(rng.random((NUM_ITEMS, FEATURE_DIM)).astype(np.float32))
    for weight in model.trainable_weights:  # non-zero biases too
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    return model


def _hand_score(model, u, i):
    beta_i = model.item_bias.numpy()[i]
    gamma_u, gamma_i = model.user_factors.numpy()[u], model.item_factors.numpy()[i]
    theta_u = model.user_visual_factors.numpy()[u]
    E, beta_prime = model.visual_projection.numpy(), model.visual_bias.numpy()
    f_i = model.item_features.numpy()[i]
    score = beta_i + sum(gamma_u[k] * gamma_i[k] for k in range(2))
    projected = [sum(E[f, k] * f_i[f] for f in range(FEATURE_DIM)) for k in range(2)]
    score += sum(theta_u[k] * projected[k] for k in range(2))
    return score + sum(beta_prime[f] * f_i[f] for f in range(FEATURE_DIM))


def test_predictor_matches_hand_computed_score():
    model = _vbpr()
    users, items = np.array([0, 3, 2]), np.array([4, 1, 1])
    scores = model({"user": users, "item": items}).numpy()
    expected = [_hand_score(model, u, i) for u, i in zip(users, items)]
    np.testing.assert_allclose(scores, expected, rtol=1e-5)
    diff = model({"user": users, "positive_item": items, "negative_item": [0, 0, 3]}).numpy()
    expected_diff = [
        _hand_score(model, u, i) - _hand_score(model, u, j)
        for u, i, j in zip(users, items, [0, 0, 3])
    ]
    np.testing.assert_allclose(diff, expected_diff, rtol=1e-5, atol=1e-6)
    all_scores = model.score_all_items(np.array([1])).numpy()[0]
    np.testing.assert_allclose(all_scores, [_hand_score(model, 1, i) for i in range(5)], rtol=1e-5)


def test_new_item_scores_use_features_only():
    model = _vbpr()
    features = np.array([[1.0, 0.0, 2.0]], np.float32)
    theta = model.user_visual_factors.numpy()[2]
    expected = (
        theta @ (features[0] @ model.visual_projection.numpy())
        + features[0] @ model.visual_bias.numpy()
    )
    np.testing.assert_allclose(
        model.score_new_items([2], features).numpy(), [[expected]], rtol=1e-5
    )
    assert np.all(BPRMF(3, 4, num_factors=2).score_new_items([0, 1], features).numpy() == 0)


def test_regularization_terms():
    model = _vbpr(factor_regularization=0.1, bias_regularization=0.2, visual_regularization=0.3)
    model({"user": [1], "positive_item": [2], "negative_item": [4]}, training=True)
    (reg,) = model.losses
    w = {v.name.split("/")[-1].split(":")[0]: v.numpy() for v in model.weights}
    expected = 0.1 * (
        (w["user_factors"][1] ** 2).sum()
        + (w["user_visual_factors"][1] ** 2).sum()
        + (w["item_factors"][2] ** 2).sum()
        + (w["item_factors"][4] ** 2).sum()
    )
    expected += 0.2 * (w["item_bias"][2] ** 2 + w["item_bias"][4] ** 2)
    expected += 0.3 * ((w["visual_projection"] ** 2).sum() + (w["visual_bias"] ** 2).sum())
    np.testing.assert_allclose(reg.numpy(), expected, rtol=1e-5)


def test_bpr_mf_is_vbpr_without_visual_term():
    model = BPRMF(NUM_USERS, NUM_ITEMS, num_factors=3)
    assert isinstance(model, VBPR) and not model.has_visual_term
    assert {w.name.split("/")[-1].split(":")[0] for w in model.trainable_weights} == {
        "user_factors",
        "item_factors",
        "item_bias",
    }
    u, i = 2, 3
    expected = (
        model.item_bias.numpy()[i] + model.user_factors.numpy()[u] @ (model.item_factors.numpy()[i])
    )
    np.testing.assert_allclose(model({"user": [u], "item": [i]}).numpy(), [expected], rtol=1e-5)
    with pytest.raises(ValueError, match="no visual term"):
        model.set_item_features(np.zeros((NUM_ITEMS, 2)))


@pytest.mark.parametrize("build", [_vbpr, lambda: BPRMF(NUM_USERS, NUM_ITEMS, num_factors=3)])
def test_serialization_round_trip(build, tmp_path):
    model = build()
    inputs = {"user": np.array([0, 1, 3]), "item": np.array([4, 0, 2])}
    reloaded = assert_keras_serialization_round_trip(model, inputs, tmp_path)
    if model.has_visual_term:  # the non-trainable features travel with the weights
        np.testing.assert_array_equal(reloaded.item_features.numpy(), model.item_features.numpy())


def test_bad_features_and_arguments():
    model = VBPR(2, 3, feature_dim=2, num_factors=1, num_visual_factors=1)
    with pytest.raises(ValueError, match=r"shape \[num_items=3, feature_dim=2\]"):
        model.set_item_features(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="NaN"):
        model.set_item_features(np.array([[0.0, np.nan]] * 3))
    with pytest.raises(ValueError, match="both be 0"):
        VBPR(2, 3, feature_dim=0, num_visual_factors=2)


def test_fit_learns_a_visual_preference_and_float32_under_mixed_precision():
    # Items 0-4 carry feature [1, 0], items 5-9 [0, 1]; every user likes only the first kind.
    # VBPR must rank an unseen item with feature [1, 0] above one with [0, 1].
    num_users, num_items = 20, 10
    rng = np.random.default_rng(0)
    dense = np.zeros((num_users, num_items), np.float32)
    for u in range(num_users):
        dense[u, rng.choice(5, 3, replace=False)] = 1.0
    features = np.zeros((num_items, 2), np.float32)
    features[:5, 0] = features[5:, 1] = 1.0
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(0)
        model = VBPR(num_users, num_items, feature_dim=2, num_factors=2, num_visual_factors=2)
        model.set_item_features(features)
        model.compile(optimizer=keras.optimizers.Adam(0.05))
        history = model.fit(bpr_triples(sp.csr_matrix(dense), 16, seed=0), epochs=15, verbose=0)
        out = model({"user": [0], "positive_item": [0], "negative_item": [7]}, training=True)
        assert out.dtype.name == "float32"
        assert model.losses[0].dtype.name == "float32"
        assert model.user_factors.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy(previous)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] * 0.5
    new = model.score_new_items(np.arange(num_users), np.array([[1.0, 0.0], [0.0, 1.0]])).numpy()
    assert np.all(new[:, 0] > new[:, 1])
