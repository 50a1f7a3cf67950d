from tfrec.data.pipeline import sparse_evaluation_batches, sparse_user_batches
from tfrec.metrics import NDCGAtK
from tfrec.models import MultDAE, MultVAE
from tfrec.models.mult_vae import multinomial_log_likelihood

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
import tf_keras as keras

from tests.helpers import (
    assert_float32_outputs_under_mixed_precision,
    assert_gradients_close,
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


class _FixedMask(keras.layers.Layer):
    """Stands in for the input dropout: multiplies by a fixed mask, in training or not.

    Dense inputs `[batch, items]` are multiplied by `mask`; the 1-D non-zero values of a sparse
    batch by the mask entries at `indices` (the batch's coordinates, in the order given).
    """

    def __init__(self, mask, indices=None):
        super().__init__()
        self.mask = tf.constant(mask, tf.float32)
        self.indices = indices

    def call(self, inputs, training=None):
        if inputs.shape.rank == 1:
            return inputs * tf.gather_nd(self.mask, self.indices)
        return inputs * self.mask


def _dense_reference(model, x, mask):
    """The paper's order on the dense batch, with plain TF ops on the model's weights."""
    h = tf.math.l2_normalize(tf.constant(x), axis=1) * mask  # normalise, then drop out
    layers = (
        model.encoder_layers + [model.gaussian_parameters]
        if isinstance(model, MultVAE)
        else model.hidden_layers
    )
    for layer in layers:
        h = tf.matmul(h, layer.kernel) + layer.bias
        if layer.activation is not None:
            h = layer.activation(h)
    if isinstance(model, MultVAE):
        mean, log_variance = h[:, : model.latent_dim], h[:, model.latent_dim :]
        h = mean  # z = mean: the deterministic part that the sampled z is built around
        for layer in model.decoder_layers:
            h = layer.activation(tf.matmul(h, layer.kernel) + layer.bias)
    else:
        mean = log_variance = None
    logits = tf.matmul(h, model.output_logits.kernel) + model.output_logits.bias
    log_likelihood = tf.reduce_sum(tf.nn.log_softmax(logits) * x, axis=1)
    return logits, log_likelihood, mean, log_variance


@pytest.mark.parametrize("max_density", [1.0, 0.0, 0.5], ids=["sparse", "dense", "auto"])
@pytest.mark.parametrize("model_class", [MultVAE, MultDAE])
def test_sparse_first_layer_matches_the_dense_computation_and_its_gradients(
    model_class, max_density
):
    # The model multiplies the sparse batch directly (or scatters it into a dense batch when it
    # is dense enough) and reads the loss at its non-zeros; with the same dropout mask it must
    # give the dense computation's outputs and gradients.
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = (rng.random((7, NUM_ITEMS)) < 0.25).astype(np.float32)
    x[0] = 0.0  # a user without items: stays zero after normalisation
    mask = (rng.random(x.shape) < 0.5).astype(np.float32) * 2.0  # dropout 0.5 keeps and scales
    kwargs = {"hidden_dims": (12,)} if model_class is MultVAE else {"hidden_dims": (9,)}
    model = model_class(NUM_ITEMS, latent_dim=5, sparse_input_max_density=max_density, **kwargs)
    sparse = tf.sparse.from_dense(x)
    model.input_dropout = _FixedMask(mask, sparse.indices)

    with tf.GradientTape(persistent=True) as tape:
        if model_class is MultVAE:
            mean, log_variance = model.encode(sparse, training=True)
            logits = model.decode(mean)
        else:
            logits = model(sparse, training=True)
        log_likelihood = multinomial_log_likelihood(logits, sparse)
        loss = -tf.reduce_mean(log_likelihood)
        if model_class is MultVAE:
            loss += 0.2 * tf.reduce_mean(tf.reduce_sum(tf.exp(log_variance) + mean**2, axis=1))
        ref_logits, ref_log_likelihood, ref_mean, ref_log_variance = _dense_reference(
            model, x, mask
        )
        ref_loss = -tf.reduce_mean(ref_log_likelihood)
        if model_class is MultVAE:
            ref_loss += 0.2 * tf.reduce_mean(
                tf.reduce_sum(tf.exp(ref_log_variance) + ref_mean**2, axis=1)
            )
    np.testing.assert_allclose(logits.numpy(), ref_logits.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        log_likelihood.numpy(), ref_log_likelihood.numpy(), rtol=1e-5, atol=1e-5
    )
    gradients = tape.gradient(loss, model.trainable_variables)
    ref_gradients = tape.gradient(ref_loss, model.trainable_variables)
    assert len(gradients) == len(model.trainable_variables) > 3
    assert_gradients_close(model.trainable_variables, gradients, ref_gradients)
    # A dense batch takes the same sparse path: same logits.
    model.input_dropout = _FixedMask(mask, sparse.indices)
    dense_logits = model(x, training=True) if model_class is MultDAE else None
    if dense_logits is not None:
        np.testing.assert_allclose(dense_logits.numpy(), logits.numpy(), rtol=1e-6)


def test_sparse_log_likelihood_counts_repeated_interactions():
    logits = tf.constant([[0.5, -1.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    counts = np.array([[2.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 3.0]], np.float32)
    expected = (tf.nn.log_softmax(logits).numpy() * counts).sum(axis=1)
    np.testing.assert_allclose(
        multinomial_log_likelihood(logits, tf.sparse.from_dense(counts)).numpy(),
        expected,
        rtol=1e-6,
    )
    np.testing.assert_allclose(multinomial_log_likelihood(logits, counts).numpy(), expected)
