import tfrec  # noqa: F401
from tfrec.layers import MatryoshkaDense, MatryoshkaLayerNormalization

import numpy as np
import pytest


def test_first_outputs_depend_only_on_first_inputs():
    rng = np.random.default_rng(0)
    layer = MatryoshkaDense([2, 3, 6], input_sizes=[4, 5, 7])
    x = rng.normal(size=(5, 7)).astype(np.float32)
    y = layer(x).numpy()
    for in_size, out_size in [(4, 2), (5, 3)]:
        changed = x.copy()
        changed[:, in_size:] = rng.normal(size=(5, 7 - in_size))
        np.testing.assert_array_equal(layer(changed).numpy()[:, :out_size], y[:, :out_size])
    # Independent reference: output block k = x[:, :n_k] @ W[:n_k, block k] + b.
    w, b = layer.kernel.numpy(), rng.normal(size=6).astype(np.float32)
    layer.bias.assign(b)
    want = (
        np.concatenate(
            [x[:, :4] @ w[:4, 0:2], x[:, :5] @ w[:5, 2:3], x[:, :7] @ w[:7, 3:6]], axis=1
        )
        + b
    )
    np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-5, atol=1e-5)


def test_sliced_weights_give_the_smaller_layer():
    rng = np.random.default_rng(1)
    big = MatryoshkaDense([2, 4, 8])
    small = MatryoshkaDense([2, 4])
    x = rng.normal(size=(3, 8)).astype(np.float32)
    big(x)
    small(x[:, :4])
    small.kernel.assign(big.kernel.numpy()[:4, :4])
    small.bias.assign(rng.normal(size=4).astype(np.float32))
    big.bias.assign(np.concatenate([small.bias.numpy(), np.zeros(4, np.float32)]))
    np.testing.assert_allclose(big(x).numpy()[:, :4], small(x[:, :4]).numpy(), atol=1e-6)


def test_folded_block_mask_gives_the_same_outputs_and_stays_nested_in_training():
    import tensorflow as tf

    rng = np.random.default_rng(2)
    layer = MatryoshkaDense([2, 3, 6], input_sizes=[4, 5, 7])
    x = rng.normal(size=(5, 7)).astype(np.float32)
    before = layer(x, training=False).numpy()
    mask = layer._block_mask.numpy()
    assert np.any(layer.kernel.numpy()[mask == 0] != 0)
    layer.fold_block_mask()
    np.testing.assert_array_equal(layer.kernel.numpy()[mask == 0], 0.0)
    np.testing.assert_allclose(layer(x, training=False).numpy(), before, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(layer(x, training=True).numpy(), before, rtol=1e-6, atol=1e-6)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) ** 2)
    gradient = tape.gradient(loss, layer.kernel).numpy()
    np.testing.assert_array_equal(gradient[mask == 0], 0.0)


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="strictly increasing"):
        MatryoshkaDense([4, 2])
    with pytest.raises(ValueError, match="input width"):
        MatryoshkaDense([2, 4])(np.zeros((1, 3), np.float32))


def test_nested_layer_norm_matches_blockwise_numpy():
    rng = np.random.default_rng(2)
    layer = MatryoshkaLayerNormalization([2, 5, 8], epsilon=1e-5)
    x = rng.normal(size=(4, 3, 8)).astype(np.float32) * 3 + 1
    layer(x)
    gamma, beta = rng.normal(size=8), rng.normal(size=8)
    layer.gamma.assign(gamma.astype(np.float32))
    layer.beta.assign(beta.astype(np.float32))
    parts = []
    for start, stop in [(0, 2), (2, 5), (5, 8)]:
        block = x[..., start:stop].astype(np.float64)
        mean = block.mean(-1, keepdims=True)
        var = block.var(-1, keepdims=True)
        parts.append((block - mean) / np.sqrt(var + 1e-5))
    want = np.concatenate(parts, -1) * gamma + beta
    np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-4, atol=1e-4)
    changed = x.copy()
    changed[..., 5:] = 0.0
    np.testing.assert_array_equal(layer(changed).numpy()[..., :5], layer(x).numpy()[..., :5])
