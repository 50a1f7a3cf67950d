import tfrec  # noqa: F401  (selects tf_keras before TensorFlow loads)
from tfrec.layers import LinearRecurrentUnit

import numpy as np
import pytest
import tensorflow as tf


def _sequential_reference(layer, x, mask):
    """Plain numpy loop over time of h_t = lambda h_{t-1} + gamma B x_t, y_t = Re(C h_t) + D x_t."""

    def value(variable):
        return variable.numpy().astype(np.float64)

    b = value(layer.input_projection_re.kernel) + 1j * value(layer.input_projection_im.kernel)
    b_bias = value(layer.input_projection_re.bias) + 1j * value(layer.input_projection_im.bias)
    c = value(layer.output_projection_re.kernel) + 1j * value(layer.output_projection_im.kernel)
    c_bias = value(layer.output_projection_re.bias)
    lam = np.exp(-np.exp(value(layer.nu_log)) + 1j * np.exp(value(layer.theta_log)))
    gamma = np.exp(value(layer.gamma_log))
    skip = value(layer.skip)
    batch, length, width = x.shape
    out = np.zeros_like(x)
    for n in range(batch):
        h = np.zeros(width, np.complex128)
        for t in range(length):
            if not mask[n, t]:
                continue  # padding: no input, no output, state untouched
            h = lam * h + gamma * (x[n, t] @ b + b_bias)
            # Re(h C) with C = C_re + i C_im: Re(h) C_re - Im(h) C_im.
            out[n, t] = h.real @ c.real - h.imag @ c.imag + c_bias + skip * x[n, t]
    return out


@pytest.mark.parametrize("length", [1, 7, 16])
def test_parallel_scan_equals_sequential_loop_with_left_padding(length):
    tf.random.set_seed(0)
    rng = np.random.default_rng(length)
    layer = LinearRecurrentUnit(r_min=0.4, r_max=0.99, use_bias=True)
    x = rng.normal(size=(4, length, 6)).astype(np.float32)
    lengths = np.array([length, max(length - 3, 1), 1, max(length // 2, 1)])
    mask = np.arange(length)[None, :] >= (length - lengths)[:, None]
    layer(x, mask=tf.constant(mask))
    # Biases are zero at init; make them non-zero so leaking padding would show.
    for dense in (layer.input_projection_re, layer.input_projection_im, layer.output_projection_re):
        dense.bias.assign(rng.normal(size=dense.bias.shape).astype(np.float32))
    got = layer(x, mask=tf.constant(mask)).numpy()
    want = _sequential_reference(layer, x.astype(np.float64), mask)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_padding_values_never_reach_real_positions():
    rng = np.random.default_rng(1)
    layer = LinearRecurrentUnit(r_min=0.9, r_max=0.999)
    x = rng.normal(size=(2, 9, 4)).astype(np.float32)
    mask = np.ones((2, 9), bool)
    mask[:, :4] = False
    noisy = x.copy()
    noisy[:, :4] = rng.normal(size=(2, 4, 4)) * 100
    a = layer(x, mask=mask).numpy()
    b = layer(noisy, mask=mask).numpy()
    np.testing.assert_array_equal(a[:, 4:], b[:, 4:])
    np.testing.assert_array_equal(a[:, :4], 0.0)


def test_causal_future_does_not_change_past():
    rng = np.random.default_rng(2)
    layer = LinearRecurrentUnit(matryoshka_sizes=[2, 4])
    x = rng.normal(size=(1, 8, 4)).astype(np.float32)
    changed = x.copy()
    changed[:, 5:] += 1.0
    np.testing.assert_allclose(layer(x).numpy()[:, :5], layer(changed).numpy()[:, :5], atol=1e-6)


def test_ring_initialisation_and_gradients():
    layer = LinearRecurrentUnit(r_min=0.5, r_max=0.8, max_phase=0.3)
    x = tf.random.normal((2, 5, 64))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    re, im = (t.numpy() for t in layer.eigenvalues())
    modulus, phase = np.hypot(re, im), np.exp(layer.theta_log.numpy())
    assert np.all((modulus >= 0.5 - 1e-5) & (modulus <= 0.8 + 1e-5))
    assert np.all((phase >= 0) & (phase <= 0.3))
    np.testing.assert_allclose(np.exp(layer.gamma_log.numpy()), np.sqrt(1 - modulus**2), rtol=1e-4)


def test_nested_prefix_is_the_smaller_lru():
    rng = np.random.default_rng(3)
    big = LinearRecurrentUnit(matryoshka_sizes=[2, 4, 8])
    small = LinearRecurrentUnit(matryoshka_sizes=[2, 4])
    x = rng.normal(size=(2, 6, 8)).astype(np.float32)
    big(x)
    small(x[..., :4])
    for s, b in zip(small.weights, big.weights):
        s.assign(b.numpy()[tuple(slice(0, n) for n in s.shape)])
    np.testing.assert_allclose(big(x).numpy()[..., :4], small(x[..., :4]).numpy(), atol=1e-5)


def test_config_round_trip_and_bad_radius():
    layer = LinearRecurrentUnit(matryoshka_sizes=[2, 4], r_min=0.1, r_max=0.5, max_phase=1.0)
    clone = LinearRecurrentUnit.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="r_min"):
        LinearRecurrentUnit(r_min=0.5, r_max=0.2)
