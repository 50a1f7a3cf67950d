from tfrec.data.pipeline import sparse_evaluation_batches, sparse_user_batches
from tfrec.metrics import NDCGAtK
from tfrec.models import MultDAE, MultVAE

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
import tf_keras as keras

from tests.helpers import (
    assert_float32_outputs_under_mixed_precision,
    assert_keras_serialization_round_trip,
)

NUM_ITEMS = 40


def _clustered_interactions(num_users=120, seed=0):
    """Users in 4 groups, each liking 8 of its group's block of 10 items: learnable structure."""
    rng = np.random.default_rng(seed)
    x = np.zeros((num_users, NUM_ITEMS), np.float32)
    for user in range(num_users):
        block = user % 4
        items = rng.choice(np.arange(block * 10, block * 10 + 10), size=8, replace=False)
        x[user, items] = 1.0
    return sp.csr_matrix(x)


@pytest.mark.parametrize("model_class", [MultVAE, MultDAE])
def test_training_reduces_loss_and_learns_structure(model_class):
    keras.utils.set_random_seed(1)
    matrix = _clustered_interactions()
    model = model_class(
        NUM_ITEMS, latent_dim=8, **({"hidden_dims": (16,)} if model_class is MultVAE else {})
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), metrics=[NDCGAtK(5)])
    # Held-out users of each group: fold-in = even items of the block, targets = all odd ones,
    # so a model that learned the blocks ranks exactly the targets first (NDCG@5 near 1).
    block_of_user = np.arange(40) % 4
    in_block = np.arange(NUM_ITEMS)[None, :] // 10 == block_of_user[:, None]
    fold_in = (in_block & (np.arange(NUM_ITEMS) % 2 == 0)).astype(np.float32)
    target = (in_block & (np.arange(NUM_ITEMS) % 2 == 1)).astype(np.float32)
    validation = sparse_evaluation_batches(sp.csr_matrix(fold_in), sp.csr_matrix(target), 20)
    history = model.fit(
        sparse_user_batches(matrix, 32, seed=0),
        validation_data=validation,
        epochs=30,
        verbose=0,
    )
    losses = history.history["loss"]
    assert losses[-1] < 0.9 * losses[0]
    assert history.history["val_ndcg@5"][-1] > 0.8
    assert history.history["val_ndcg@5"][0] < history.history["val_ndcg@5"][-1]


def test_kl_annealing_counts_updates_up_to_the_cap():
    model = MultVAE(
        NUM_ITEMS, hidden_dims=(8,), latent_dim=4, anneal_cap=0.2, total_anneal_steps=10
    )
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    history = model.fit(sparse_user_batches(_clustered_interactions(40), 10), epochs=4, verbose=0)
    # 4 batches per epoch; beta is logged as the epoch mean of min(0.2, updates / 10).
    expected = [np.mean([min(0.2, u / 10) for u in range(e * 4, e * 4 + 4)]) for e in range(4)]
    np.testing.assert_allclose(history.history["beta"], expected, rtol=1e-6)


def test_inference_is_deterministic_and_ignores_dropout():
    model = MultVAE(NUM_ITEMS, hidden_dims=(8,), latent_dim=4)
    x = _clustered_interactions(5).toarray()
    np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())
    sparse = tf.sparse.from_dense(x)
    np.testing.assert_allclose(model(sparse).numpy(), model(x).numpy(), rtol=1e-6)


def test_masked_scores_and_recommend_exclude_fold_in_items():
    model = MultDAE(NUM_ITEMS, latent_dim=4)
    x = _clustered_interactions(3).toarray()
    columns, _ = model.recommend(x, k=10)
    for row in range(3):
        assert not set(columns[row].numpy()) & set(np.flatnonzero(x[row]))
    with pytest.raises(ValueError, match="k must be in"):
        model.recommend(x, k=NUM_ITEMS + 1)


@pytest.mark.parametrize("model_class", [MultVAE, MultDAE])
def test_serialization_round_trip(model_class, tmp_path):
    model = model_class(NUM_ITEMS, latent_dim=6, dropout_rate=0.3)
    model.compile(optimizer="adam")
    model.fit(sparse_user_batches(_clustered_interactions(20), 10), epochs=1, verbose=0)
    x = _clustered_interactions(4).toarray()
    reloaded = assert_keras_serialization_round_trip(model, x, tmp_path)
    assert reloaded.dropout_rate == 0.3


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_keeps_logits_and_loss_float32(policy):
    x = _clustered_interactions(16)
    model = assert_float32_outputs_under_mixed_precision(
        lambda: MultVAE(NUM_ITEMS, hidden_dims=(16,), latent_dim=4), x.toarray(), policy
    )
    assert model.gaussian_parameters.compute_dtype == "float32"
    assert model.encoder_layers[0].compute_dtype == policy.split("_")[1]
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = MultVAE(NUM_ITEMS, hidden_dims=(16,), latent_dim=4)
        model.compile(optimizer=keras.optimizers.Adam(0.01))
        if policy == "mixed_float16":
            assert isinstance(model.optimizer, keras.mixed_precision.LossScaleOptimizer)
        history = model.fit(sparse_user_batches(x, 8), epochs=3, verbose=0)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert np.all(np.isfinite(history.history["loss"]))
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_items"):
        MultVAE(0)
    with pytest.raises(ValueError, match="dropout_rate"):
        MultDAE(10, dropout_rate=1.0)
    with pytest.raises(ValueError, match="latent_dim"):
        MultVAE(10, latent_dim=0)
