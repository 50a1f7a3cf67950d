"""`LinearRecurrentBlock` as LRURec builds it: post-norm, GELU feed-forward 4x, LRU state 2x."""

import math

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
from tfrec.layers import LinearRecurrentBlock, LinearRecurrentUnit

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

WIDTH = 6


def _lrurec_block(**kwargs):
    kwargs.setdefault("dropout", 0.0)
    return LinearRecurrentBlock(
        [WIDTH],
        feed_forward_multiplier=4,
        r_min=0.8,
        r_max=0.99,
        norm_placement="post",
        feed_forward="gelu",
        state_multiplier=2,
        use_skip=False,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        bias_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        **kwargs,
    )


def _value(variable):
    return variable.numpy().astype(np.float64)


def _lru_loop(lru, x, mask):
    """LRURec's LRU as a plain loop over time: h_t = lambda h_{t-1} + gamma (B x_t + b),
    y_t = Re(C h_t + c), with a state of twice the width and no skip; padding is skipped."""
    b = _value(lru.input_projection_re.kernel) + 1j * _value(lru.input_projection_im.kernel)
    b_bias = _value(lru.input_projection_re.bias) + 1j * _value(lru.input_projection_im.bias)
    c = _value(lru.output_projection_re.kernel) + 1j * _value(lru.output_projection_im.kernel)
    c_bias = _value(lru.output_projection_re.bias)
    lam = np.exp(-np.exp(_value(lru.nu_log)) + 1j * np.exp(_value(lru.theta_log)))
    gamma = np.exp(_value(lru.gamma_log))
    batch, length, width = x.shape
    assert lam.shape == (2 * width,) and b.shape == (width, 2 * width)
    out = np.zeros_like(x)
    for n in range(batch):
        h = np.zeros(2 * width, np.complex128)
        for t in range(length):
            if not mask[n, t]:
                continue
            h = lam * h + gamma * (x[n, t] @ b + b_bias)
            out[n, t] = (h @ c).real + c_bias
    return out


def _layer_norm(x, gamma, beta, epsilon=1e-5):
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


def _gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def _block_reference(block, x, mask):
    """yueqirex/LRURec's LRUBlock: x = LN(x + LRU(x)); x = LN(x + W_2 gelu(W_1 x))."""
    x = _layer_norm(
        x + _lru_loop(block.recurrence, x, mask),
        _value(block.recurrence_norm.gamma),
        _value(block.recurrence_norm.beta),
    )
    hidden = _gelu(x @ _value(block.expand.kernel) + _value(block.expand.bias))
    feed_forward = hidden @ _value(block.contract.kernel) + _value(block.contract.bias)
    return _layer_norm(
        x + feed_forward,
        _value(block.feed_forward_norm.gamma),
        _value(block.feed_forward_norm.beta),
    )


def _inputs(length=9, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, length, WIDTH)).astype(np.float32)
    lengths = np.array([length, length - 4, 1, length // 2])[:batch]
    mask = np.arange(length)[None, :] >= (length - lengths)[:, None]
    return x, mask


@pytest.mark.parametrize("length", [1, 5, 9])
def test_lrurec_recurrence_equals_a_sequential_loop(length):
    tf.random.set_seed(length)
    lru = LinearRecurrentUnit(
        r_min=0.8,
        r_max=0.99,
        state_multiplier=2,
        use_skip=False,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.5),
        bias_initializer=keras.initializers.TruncatedNormal(stddev=0.5),
    )
    x, mask = _inputs(max(length, 2))
    x, mask = x[:, -length:], mask[:, -length:]
    got = lru(x, mask=tf.constant(mask)).numpy()
    assert lru.skip is None and lru.nu_log.shape == (2 * WIDTH,)
    np.testing.assert_allclose(got, _lru_loop(lru, x.astype(np.float64), mask), atol=1e-4)


def test_lrurec_ring_initialisation_and_independent_real_and_imaginary_parts():
    lru = LinearRecurrentUnit(
        r_min=0.8,
        r_max=0.99,
        state_multiplier=2,
        use_skip=False,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        bias_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
    )
    lru(tf.zeros((1, 3, 32)))
    re, im = (t.numpy() for t in lru.eigenvalues())
    modulus = np.hypot(re, im)
    assert modulus.shape == (64,)
    assert np.all((modulus >= 0.8 - 1e-5) & (modulus <= 0.99 + 1e-5))
    np.testing.assert_allclose(np.exp(lru.gamma_log.numpy()), np.sqrt(1 - modulus**2), rtol=1e-4)
    b_re, b_im = lru.input_projection_re.kernel.numpy(), lru.input_projection_im.kernel.numpy()
    assert not np.allclose(b_re, b_im)  # each weight draws its own values
    for weight in (b_re, b_im, lru.input_projection_re.bias.numpy()):
        assert np.all(np.abs(weight) <= 0.04) and 0.01 < weight.std() < 0.02


def test_post_norm_gelu_block_equals_the_reference_computation():
    block = _lrurec_block()
    x, mask = _inputs()
    block(x, mask=tf.constant(mask))
    rng = np.random.default_rng(5)
    for weight in block.weights:  # away from the initial values, norms included
        if "log" not in weight.name:
            weight.assign(weight.numpy() + rng.normal(size=weight.shape).astype(np.float32) * 0.3)
    got = block(x, mask=tf.constant(mask)).numpy()
    want = _block_reference(block, x.astype(np.float64), mask)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_post_norm_gelu_block_structure():
    block = _lrurec_block()
    x, mask = _inputs()
    out = block(x, mask=tf.constant(mask)).numpy()
    # Post-norm: the output is the feed-forward norm's (gamma 1, beta 0 at initialisation).
    np.testing.assert_allclose(out.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.var(-1), 1.0, atol=1e-3)
    assert block.gate is None
    assert block.expand.kernel.shape == (WIDTH, 4 * WIDTH)
    assert block.contract.kernel.shape == (4 * WIDTH, WIDTH)
    assert block.recurrence.nu_log.shape == (2 * WIDTH,)
    assert block.recurrence.input_projection_re.kernel.shape == (WIDTH, 2 * WIDTH)
    assert block.recurrence.skip is None
    # The last position alone gives the full output's last position.
    last = block(x, mask=tf.constant(mask), last_only=True).numpy()
    np.testing.assert_allclose(last, out[:, -1:], rtol=1e-5, atol=1e-5)


def test_dropout_only_in_training_and_config_round_trip():
    block = _lrurec_block(dropout=0.5)
    x, mask = _inputs()
    inference = block(x, mask=tf.constant(mask), training=False).numpy()
    np.testing.assert_array_equal(block(x, mask=tf.constant(mask)).numpy(), inference)
    assert not np.allclose(block(x, mask=tf.constant(mask), training=True).numpy(), inference)
    clone = LinearRecurrentBlock.from_config(block.get_config())
    assert clone.get_config() == block.get_config()
    assert (clone.norm_placement, clone.feed_forward, clone.state_multiplier) == ("post", "gelu", 2)
    with pytest.raises(ValueError, match="norm_placement"):
        LinearRecurrentBlock([4], norm_placement="middle")
    with pytest.raises(ValueError, match="feed_forward"):
        LinearRecurrentBlock([4], feed_forward="relu")
    with pytest.raises(ValueError, match="state_multiplier"):
        LinearRecurrentUnit(state_multiplier=0)


def test_state_multiplier_keeps_matryoshka_nesting():
    rng = np.random.default_rng(3)
    kwargs = dict(norm_placement="post", feed_forward="gelu", state_multiplier=2, use_skip=False)
    big = LinearRecurrentBlock([2, 4], feed_forward_multiplier=4, **kwargs)
    small = LinearRecurrentBlock([2], feed_forward_multiplier=4, **kwargs)
    x = rng.normal(size=(2, 5, 4)).astype(np.float32)
    big(x)
    small(x[..., :2])
    for target, source in zip(small.weights, big.weights):
        target.assign(source.numpy()[tuple(slice(0, n) for n in target.shape)])
    np.testing.assert_allclose(big(x).numpy()[..., :2], small(x[..., :2]).numpy(), atol=1e-5)
