"""LazyAdam against tf_keras Adam and a numpy reference of the lazy (row-wise) update.

Tolerances (table entries are O(1), each step moves them by up to LR = 0.05):
- ``atol=1e-6`` between LazyAdam and Adam, which reach the same update by a different float32
  order of operations (Adam's sparse branch adds duplicate rows inside `scatter_add` and decays
  m as ``m - m (1 - beta_1)``);
- ``atol=1e-5`` against the float64 numpy reference: float32 ``1 - beta_2**t`` keeps only about
  four significant digits for beta_2 = 0.999, in Adam as well;
- exact equality where both run the same ops (dense gradients) or differ only by a power-of-two
  loss scale.
"""

from tfrec.models import BPRMF
from tfrec.optimizers import LazyAdam

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

LR = 0.05  # large enough that a row moves visibly in a few steps
NUM_ROWS, DIM = 6, 3
TABLE = np.random.default_rng(0).normal(size=(NUM_ROWS, DIM)).astype(np.float32)


def _batches(index_lists, seed=1):
    """(indices, targets) pairs; the loss pulls each gathered row towards its target."""
    rng = np.random.default_rng(seed)
    return [
        (np.asarray(indices, np.int32), rng.normal(size=(len(indices), DIM)).astype(np.float32))
        for indices in index_lists
    ]


def _loss(variable, indices, targets):
    rows = tf.gather(variable, indices)
    return 0.5 * tf.reduce_sum(tf.square(rows - targets))


def _sparse_steps(optimizer, batches, mode="eager"):
    """Runs one `apply_gradients` per batch on a copy of TABLE; returns the value after each."""
    variable = tf.Variable(TABLE)

    def step(indices, targets):
        with tf.GradientTape() as tape:
            loss = _loss(variable, indices, targets)
        gradient = tape.gradient(loss, variable)
        assert isinstance(gradient, tf.IndexedSlices)
        optimizer.apply_gradients([(gradient, variable)])

    if mode != "eager":
        step = tf.function(step, jit_compile=mode == "xla")
    snapshots = []
    for indices, targets in batches:
        step(tf.constant(indices), tf.constant(targets))
        snapshots.append(variable.numpy())
    return snapshots


def _slot(optimizer, name):
    """The optimiser's slot `name` ("m", "v") of the single variable, as numpy."""
    (slot,) = [v for v in optimizer.variables if name in v.name.split("/")[:-1]]
    return slot.numpy()


def _numpy_lazy_adam(batches, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Reference: Kingma and Ba's update (epsilon hat form) on the touched rows only."""
    w = TABLE.astype(np.float64)
    m, v = np.zeros_like(w), np.zeros_like(w)
    snapshots = []
    for t, (indices, targets) in enumerate(batches, start=1):
        gradient = np.zeros_like(w)
        np.add.at(gradient, indices, w[indices] - targets)
        rows = np.unique(indices)
        m[rows] = beta_1 * m[rows] + (1 - beta_1) * gradient[rows]
        v[rows] = beta_2 * v[rows] + (1 - beta_2) * gradient[rows] ** 2
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w[rows] -= alpha * m[rows] / (np.sqrt(v[rows]) + epsilon)
        snapshots.append(w.copy())
    return snapshots


# Every row in every batch, with duplicates, so lazy and dense moment decay coincide.
EVERY_ROW = [[0, 1, 2, 3, 4, 5, 2, 0], [5, 4, 3, 3, 2, 1, 0], [1, 0, 2, 3, 5, 4, 4, 4]] * 2


MODES = ["eager", "tf_function", "xla"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "options",
    [{}, {"amsgrad": True}, {"adaptive_epsilon": True}],
    ids=["adam", "amsgrad", "adaptive_epsilon"],
)
def test_rows_touched_every_step_follow_adam(options, mode):
    batches = _batches(EVERY_ROW)
    lazy = _sparse_steps(LazyAdam(LR, **options), batches, mode)
    dense = _sparse_steps(keras.optimizers.Adam(LR, **options), batches, mode)
    assert np.abs(lazy[-1] - TABLE).min() > 1e-3  # every entry moved
    for got, expected in zip(lazy, dense):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_untouched_rows_keep_value_and_moments(mode):
    # Row 2 is touched in step 1 only; rows 3-5 never; step 3 has a single index.
    batches = _batches([[0, 1, 2, 1], [0, 1, 0], [1], [1, 0]])
    lazy_optimizer = LazyAdam(LR)
    lazy = _sparse_steps(lazy_optimizer, batches, mode)
    dense = _sparse_steps(keras.optimizers.Adam(LR), batches, mode)

    for got, expected in zip(lazy, _numpy_lazy_adam(batches, LR)):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)

    np.testing.assert_array_equal(lazy[-1][3:], TABLE[3:])
    np.testing.assert_array_equal(_slot(lazy_optimizer, "m")[3:], 0.0)
    np.testing.assert_array_equal(_slot(lazy_optimizer, "v")[3:], 0.0)
    # Adam moves never-touched rows by 0 / (0 + epsilon) = 0 too ...
    np.testing.assert_array_equal(dense[-1][3:], TABLE[3:])
    # ... but keeps moving row 2 on its decaying momentum after it left the batches, which
    # LazyAdam does not.
    np.testing.assert_array_equal(lazy[-1][2], lazy[0][2])
    assert np.abs(dense[-1][2] - dense[0][2]).min() > 1e-3
    assert np.abs(lazy[0][2] - TABLE[2]).min() > 1e-3


def test_dense_gradients_are_exactly_adam():
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(size=(8, 4)).astype(np.float32))
    y = tf.constant(rng.normal(size=(8, 2)).astype(np.float32))
    initial = rng.normal(size=(4, 2)).astype(np.float32)

    def train(optimizer):
        weight = tf.Variable(initial)
        for _ in range(5):
            with tf.GradientTape() as tape:
                loss = 0.5 * tf.reduce_sum(tf.square(tf.matmul(x, weight) - y))
            gradient = tape.gradient(loss, weight)
            assert isinstance(gradient, tf.Tensor)
            optimizer.apply_gradients([(gradient, weight)])
        return weight.numpy()

    np.testing.assert_array_equal(train(LazyAdam(LR)), train(keras.optimizers.Adam(LR)))


NUM_USERS, NUM_ITEMS, UNSEEN_USERS = 24, 40, 4


def _bpr_triples(num_triples=256, seed=3):
    """Users 0..19 each prefer 5 items; users 20..23 never appear (their rows must not move)."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, NUM_USERS - UNSEEN_USERS, num_triples)
    positives = (2 * users + rng.integers(0, 5, num_triples)) % NUM_ITEMS
    negatives = (positives + rng.integers(5, NUM_ITEMS, num_triples)) % NUM_ITEMS
    triples = {"user": users, "positive_item": positives, "negative_item": negatives}
    triples = {key: value.astype(np.int32) for key, value in triples.items()}
    return tf.data.Dataset.from_tensor_slices(triples).batch(64)


def _fit_bprmf(optimizer, jit_compile=False, epochs=5):
    keras.utils.set_random_seed(0)
    model = BPRMF(NUM_USERS, NUM_ITEMS, num_factors=8, initializer_stddev=0.1)
    initial_users = model.user_factors.numpy()
    sparse = {}
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    update_step = inner.update_step

    def recording_update_step(gradient, variable):
        sparse[variable.name.split(":")[0]] = isinstance(gradient, tf.IndexedSlices)
        return update_step(gradient, variable)

    inner.update_step = recording_update_step
    model.compile(optimizer=optimizer, jit_compile=jit_compile)
    losses = model.fit(_bpr_triples(), epochs=epochs, verbose=0).history["loss"]
    return model, initial_users, losses, sparse


def test_bprmf_fit_with_and_without_xla():
    runs = {jit: _fit_bprmf(LazyAdam(1e-2), jit) for jit in (False, True)}
    for model, initial_users, losses, sparse in runs.values():
        assert np.all(np.isfinite(losses))
        assert losses[-1] < losses[0] - 0.05, losses
        assert np.all(np.diff(losses) < 0), losses
        # The embedding tables reached the row-wise branch inside `fit`.
        assert sparse == {"user_factors": True, "item_factors": True, "item_bias": True}
        np.testing.assert_array_equal(
            model.user_factors.numpy()[-UNSEEN_USERS:], initial_users[-UNSEEN_USERS:]
        )
        assert np.abs(model.user_factors.numpy()[0] - initial_users[0]).max() > 1e-3
    # XLA computes the same training run (up to float32 rounding).
    for graph_weight, xla_weight in zip(runs[False][0].get_weights(), runs[True][0].get_weights()):
        np.testing.assert_allclose(xla_weight, graph_weight, rtol=0, atol=1e-5)


def test_config_round_trip():
    optimizer = LazyAdam(
        learning_rate=keras.optimizers.schedules.ExponentialDecay(3e-3, 100, 0.5),
        beta_1=0.8,
        beta_2=0.99,
        epsilon=1e-6,
        adaptive_epsilon=True,
        amsgrad=True,
        clipnorm=1.0,
    )
    config = optimizer.get_config()
    assert config["adaptive_epsilon"] is True and config["amsgrad"] is True
    assert keras.saving.get_registered_name(LazyAdam) == "tfrec>LazyAdam"

    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is LazyAdam
    assert restored.get_config() == config
    # `from_config` replaces the schedule's config in its argument by the schedule itself.
    assert LazyAdam.from_config(dict(config)).get_config() == config


def test_loss_scale_optimizer_applies_the_unwrapped_update():
    batches = _batches([[0, 1, 2, 1], [0, 1, 0], [1, 0, 5]])
    expected = _sparse_steps(LazyAdam(LR), batches)

    optimizer = keras.mixed_precision.LossScaleOptimizer(LazyAdam(LR))
    variable = tf.Variable(TABLE)

    @tf.function
    def step(indices, targets):
        with tf.GradientTape() as tape:
            scaled_loss = optimizer.get_scaled_loss(_loss(variable, indices, targets))
        (gradient,) = optimizer.get_unscaled_gradients([tape.gradient(scaled_loss, variable)])
        assert isinstance(gradient, tf.IndexedSlices)
        optimizer.apply_gradients([(gradient, variable)])

    for (indices, targets), want in zip(batches, expected):
        step(tf.constant(indices), tf.constant(targets))
        # Scaling by 2**15 and back is exact in float32, so the updates are identical.
        np.testing.assert_array_equal(variable.numpy(), want)
    assert float(optimizer.loss_scale) == 2.0**15  # no step was skipped


def test_bprmf_fit_under_mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model, initial_users, losses, sparse = _fit_bprmf(LazyAdam(1e-2), epochs=3)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert isinstance(model.optimizer, keras.mixed_precision.LossScaleOptimizer)
    assert isinstance(model.optimizer.inner_optimizer, LazyAdam)
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0], losses
    assert sparse["user_factors"] and sparse["item_factors"]
    np.testing.assert_array_equal(
        model.user_factors.numpy()[-UNSEEN_USERS:], initial_users[-UNSEEN_USERS:]
    )
