"""The speed levers train the same models: steps_per_execution, XLA and the large BPR batch.

Tolerances: `steps_per_execution` runs the same updates, so the weights must match to float32
rounding (1e-6); XLA fuses and reorders float32 arithmetic, so after a few Adam steps the weights
must match within 1e-4; a 16x larger BPR batch is a different trajectory, so it must reach the
same validation AUC on a structured problem within 0.02.
"""

from tfrec.data.pipeline import sparse_user_batches
from tfrec.data.triples import bpr_triples
from tfrec.metrics.auc import auc_per_user
from tfrec.models import BPRMF, FMRLRec, MultVAE

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
import tf_keras as keras


def _clustered(num_users=64, num_items=40, seed=0):
    """Users in 4 groups; each interacts with 6 of its group's 10 items."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((num_users, num_items), np.float32)
    for user in range(num_users):
        block = user % 4
        dense[user, rng.choice(np.arange(block * 10, block * 10 + 10), 6, replace=False)] = 1.0
    return dense


def _weights_after(build, data, epochs, **compile_kwargs):
    keras.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(0.01), **compile_kwargs)
    model.fit(data(), epochs=epochs, verbose=0)
    return [w.numpy() for w in model.trainable_weights]


def _assert_same(weights, expected, atol):
    assert len(weights) == len(expected)
    for got, want in zip(weights, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=atol)


def test_steps_per_execution_gives_the_same_mult_vae_weights():
    matrix = sp.csr_matrix(_clustered())

    def build():
        return MultVAE(40, hidden_dims=(8,), latent_dim=4, total_anneal_steps=10)

    def data():
        return sparse_user_batches(matrix, 16, seed=0)

    _assert_same(
        _weights_after(build, data, 3, steps_per_execution=3),
        _weights_after(build, data, 3, steps_per_execution=1),
        atol=1e-6,
    )


def test_xla_gives_the_same_bpr_mf_weights():
    matrix = sp.csr_matrix(_clustered())

    def build():
        return BPRMF(64, 40, num_factors=4)

    def data():
        return bpr_triples(matrix, 64, seed=0)

    _assert_same(
        _weights_after(build, data, 2, jit_compile=True),
        _weights_after(build, data, 2, jit_compile=False),
        atol=1e-4,
    )


def test_xla_gives_the_same_fmrlrec_weights():
    rng = np.random.default_rng(0)
    text = rng.normal(size=(30, 6)).astype(np.float32)
    inputs = rng.integers(1, 31, size=(48, 6))
    inputs[::3, :2] = 0  # left padding
    labels = np.where(inputs > 0, rng.integers(1, 31, size=inputs.shape), 0)

    def build():
        return FMRLRec(30, [4, 8], item_text_features=text, dropout=0.0, r_min=0.5, r_max=0.9)

    def data():
        return tf.data.Dataset.from_tensor_slices((inputs, labels)).batch(16)

    _assert_same(
        _weights_after(build, data, 2, jit_compile=True),
        _weights_after(build, data, 2, jit_compile=False),
        atol=1e-4,
    )


@pytest.mark.parametrize("batch_size", [1024])
def test_large_bpr_batch_reaches_the_same_auc(batch_size):
    # 512 users in 4 groups; each group's users share 10 of 40 items. Hold one positive per user
    # out; BPR-MF at batch 64 (the reference) and at a 16x larger batch, same learning rate
    # (Adam; the default rule of the CLI), must rank held-out items equally well.
    num_users, num_items = 512, 40
    dense = _clustered(num_users, num_items, seed=1)
    rng = np.random.default_rng(2)
    held_out = np.array([rng.choice(np.flatnonzero(row)) for row in dense])
    train = dense.copy()
    train[np.arange(num_users), held_out] = 0.0
    matrix = sp.csr_matrix(train)

    def auc(batch, epochs):
        keras.utils.set_random_seed(0)
        model = BPRMF(num_users, num_items, num_factors=8)
        model.compile(optimizer=keras.optimizers.Adam(0.01), steps_per_execution=4)
        model.fit(bpr_triples(matrix, batch, seed=0), epochs=epochs, verbose=0)
        scores = model.score_all_items(np.arange(num_users)).numpy()
        return float(np.nanmean(auc_per_user(scores, held_out, train)))

    small, large = auc(batch_size // 16, 20), auc(batch_size, 20)
    assert small > 0.8, small  # the problem is learnable
    assert abs(large - small) < 0.02, (small, large)
