"""Mult-VAE's `--recipe nvidia` (NVIDIA DeepLearningExamples VAE-CF's large-batch setting).

The references are NVIDIA's definitions written out here: `vae/models/train.py` computes
``beta = min(step / total_anneal_steps, anneal_cap)`` from the updates applied so far and
``loss = nll + lam * 2 * sum(l2_loss(kernel)) + beta * kl``, with ``nll`` the per-user mean of
``-sum_i x_ui log softmax(logits)_i`` and TensorFlow's ``l2_loss(w) = sum(w^2) / 2``.
"""

import json

from tfrec.cli.common import training_config
from tfrec.cli.main import main, parse_args
from tfrec.data.pipeline import sparse_user_batches
from tfrec.distribute import make_context
from tfrec.models import MultVAE
from tfrec.training.experiment import learning_rate_schedule
from tfrec.training.heldout_users_experiment import NVIDIA_RECIPE

import numpy as np
import pytest
import scipy.sparse as sp
import tf_keras as keras

from tests.helpers import write_ml100k_ratings


def test_recipe_sets_nvidia_defaults_that_explicit_flags_override():
    args = parse_args(["train", "mult-vae", "--recipe", "nvidia"])
    for name, value in NVIDIA_RECIPE.items():
        assert getattr(args, name) == value, name
    want = {
        "batch_size": 24_576,
        "learning_rate": 0.004,
        "adam_beta_1": 0.9,
        "adam_beta_2": 0.9,
        "adam_epsilon": 1e-8,
        "total_anneal_steps": 15_000,
        "anneal_cap": 0.1,
        "epochs": 400,
        "dropout_rate": 0.5,
    }
    assert {name: getattr(args, name) for name in want} == want
    args = parse_args(
        ["train", "mult-vae", "--recipe", "nvidia", "--epochs", "3", "--adam-beta-2", "0.999",
         "--l2-regularization", "1.0", "--batch-size", "512"]
    )  # fmt: skip
    assert (args.epochs, args.adam_beta_2, args.l2_regularization, args.batch_size) == (
        3,
        0.999,
        1.0,
        512,
    )
    assert (args.learning_rate, args.anneal_cap) == (0.004, 0.1)
    plain = parse_args(["train", "mult-vae"])
    assert (plain.batch_size, plain.learning_rate, plain.epochs) == (500, 1e-3, 200)
    assert (plain.adam_beta_1, plain.adam_beta_2, plain.adam_epsilon) == (0.9, 0.999, 1e-7)
    assert (plain.anneal_cap, plain.total_anneal_steps, plain.base_batch_size) == (0.2, None, None)
    with pytest.raises(SystemExit):  # NVIDIA's code has no Mult-DAE setting
        parse_args(["train", "mult-dae", "--recipe", "nvidia"])


@pytest.mark.parametrize("scaling", ["linear", "sqrt", "none"])
def test_recipe_learning_rate_is_not_rescaled_at_its_batch(scaling):
    args = parse_args(["train", "mult-vae", "--recipe", "nvidia", "--lr-scaling", scaling])
    rate = learning_rate_schedule(training_config(args), steps_per_epoch=5)
    assert rate == 0.004  # a plain float: no scaling rule, no warmup


def test_batch_larger_than_the_training_users_is_one_full_batch():
    # ML-1M has 4,840 training users: batch 24,576 is one update an epoch over all of them.
    assert make_context("none").steps_per_epoch(4840, 24_576) == 1
    matrix = sp.random(37, 11, density=0.3, format="csr", random_state=0)
    batches = list(sparse_user_batches(matrix, 24_576, shuffle=True, seed=0))
    assert len(batches) == 1 and int(batches[0].dense_shape[0]) == 37


def test_adam_betas_and_epsilon_reach_the_optimizer():
    from tfrec.cli.train_autoencoder import make_experiment

    args = parse_args(["train", "mult-vae", "--recipe", "nvidia"])
    optimizer = make_experiment(args).make_optimizer(0.004, training_config(args))
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.9, 0.9, 1e-8)
    assert float(optimizer.learning_rate) == pytest.approx(0.004)
    plain = parse_args(["train", "mult-dae", "--adam-beta-1", "0.8"])
    optimizer = make_experiment(plain).make_optimizer(1e-3, training_config(plain))
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.8, 0.999, 1e-7)


def test_recipe_anneal_schedule_is_min_of_cap_and_updates_over_15000():
    model = MultVAE(
        6,
        hidden_dims=(4,),
        latent_dim=2,
        anneal_cap=NVIDIA_RECIPE["anneal_cap"],
        total_anneal_steps=NVIDIA_RECIPE["total_anneal_steps"],
    )
    model.compile(optimizer=keras.optimizers.Adam(0.004))
    for step in (0, 1, 750, 1499, 1500, 1600, 15_000, 40_000):
        model.optimizer.iterations.assign(step)
        want = min(0.1, step / 15_000)
        assert float(model.kl_weight()) == pytest.approx(want, rel=1e-6, abs=1e-9), step


def _nvidia_loss(logits, x, kernels, lam):
    """train.py's loss at step 0 (beta = 0), in numpy: per-user mean NLL + lam * 2 * l2_loss."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    nll = -(log_softmax * x).sum() / x.shape[0]
    l2_loss = sum(0.5 * float((kernel**2).sum()) for kernel in kernels)
    return nll + lam * 2.0 * l2_loss


def test_l2_term_is_nvidias_lam_times_sum_of_squared_kernels_beside_the_mean_nll():
    lam = 0.3
    model = MultVAE(7, hidden_dims=(5,), latent_dim=3, dropout_rate=0.0, l2_regularization=lam)
    kernels = [w.numpy() for w in model.weights if "kernel" in w.name]
    assert len(kernels) == 4  # encoder, Gaussian parameters, decoder, output; biases not decayed
    regularization = float(sum(loss.numpy() for loss in model.losses))
    assert regularization == pytest.approx(lam * 2.0 * sum(0.5 * (k**2).sum() for k in kernels))

    # The training loss itself: make z deterministic (log-variance -60) so the sampled forward
    # pass is the mean's, and read the loss of the first update (beta = 0 there).
    bias = model.gaussian_parameters.bias
    bias.assign(np.concatenate([bias.numpy()[:3], np.full(3, -60.0, np.float32)]))
    x = np.array(
        [
            [1, 0, 1, 0, 0, 1, 0],
            [0, 1, 0, 0, 0, 0, 0],
            [1, 1, 1, 1, 0, 0, 1],
            [0, 0, 0, 1, 1, 0, 0],
        ],
        np.float32,
    )
    logits = model(x, training=False).numpy()
    want = _nvidia_loss(logits, x, kernels, lam)
    model.compile(optimizer=keras.optimizers.Adam(0.004, beta_1=0.9, beta_2=0.9, epsilon=1e-8))
    loss = model.train_on_batch(x, return_dict=True)["loss"]
    assert loss == pytest.approx(want, rel=1e-5)

    # The preset's value: NVIDIA's regularization collection was empty, so no term at all.
    preset = MultVAE(7, hidden_dims=(5,), latent_dim=3, l2_regularization=0.0)
    assert preset.losses == []


def test_recipe_trains_one_full_batch_update_per_epoch(tmp_path):
    """End to end on a made-up ML-100K folder smaller than one batch: 2 epochs, 2 updates."""
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    write_ml100k_ratings(
        folder, 40, 120, interactions=(6, 15), ratings=(4, 6), rng=np.random.default_rng(1)
    )
    metrics_path = tmp_path / "metrics.json"
    argv = ["train", "mult-vae", "--recipe", "nvidia", "--dataset", "ml-100k",
            "--data-dir", str(folder), "--validation-users", "5", "--epochs", "2",
            "--hidden-dims", "8", "--latent-dim", "4", "--no-export", "--verbose", "0",
            "--metrics-out", str(metrics_path)]  # fmt: skip
    assert main(argv) == 0
    metrics = json.loads(metrics_path.read_text())
    arguments = metrics["arguments"]
    assert (arguments["batch_size"], arguments["learning_rate"]) == (24_576, 0.004)
    # One update an epoch: epoch e trains at beta = (e - 1) / 15,000.
    assert metrics["validation_curve"]["beta"] == pytest.approx([0.0, 1 / 15_000], abs=1e-9)
