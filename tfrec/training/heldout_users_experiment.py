"""Liang et al.'s held-out-user protocol: Mult-VAE, Mult-DAE, EASE and popularity."""

from typing import Any

from tfrec.training.config_error import ConfigError
from tfrec.training.experiment import Experiment

import numpy as np

# Held-out users per dataset: Liang et al. use 10,000 of 136,677 users on ML-20M.
DEFAULT_HELDOUT_USERS = {"ml-100k": 100, "ml-1m": 600, "ml-20m": 10000}
MODELS = ("mult-vae", "mult-dae", "ease", "popularity")
RECALL_KS = (20, 50)
NDCG_KS = (100,)
MAP_KS = (100,)
# Liang et al.'s notebook: MultiDAE(..., lam=0.01 / batch_size) on a batch-mean loss.
MULT_DAE_WEIGHT_DECAY = 0.01
# Measured by examples/benchmark_training.py (README, "Training speed").
DEFAULT_STEPS_PER_EXECUTION = 10
# NVIDIA's large-batch Mult-VAE setting, the CLI's `--recipe nvidia`: the defaults of
# DeepLearningExamples' TensorFlow/Recommendation/VAE-CF/main.py, with the model and loss of its
# vae/models/vae.py and vae/models/train.py. Keys are `tfrec train mult-vae` flag destinations.
NVIDIA_RECIPE = {
    "batch_size": 24_576,  # global (1 GPU x 24,576 or 8 x 3,072 in NVIDIA's runs)
    "learning_rate": 0.004,
    # Tuned at that global batch: the scaling rule has nothing to scale (k = 1), no warmup.
    "base_batch_size": 24_576,
    "warmup_epochs": 0.0,
    "adam_beta_1": 0.9,
    "adam_beta_2": 0.9,
    "adam_epsilon": 1e-8,  # tf.train.AdamOptimizer's default; main.py does not set it
    "total_anneal_steps": 15_000,  # beta = min(0.1, updates / 15,000), as train.py
    "anneal_cap": 0.1,
    "epochs": 400,  # a fixed budget: NVIDIA reports the last epoch and never stops early
    "patience": None,
    "hidden_dims": [600],  # encoder [I-600-200], tanh, dropout 0.5 on the normalised input
    "latent_dim": 200,
    "dropout_rate": 0.5,
    # main.py passes --lam 1.0 to `loss = nll + lam * 2 * sum(REGULARIZATION_LOSSES) + beta * kl`
    # (train.py), which as written is `lam * sum w^2` over the kernels next to a per-user mean
    # negative log-likelihood: `l2_regularization` here. But vae.py hands its layers
    # `tf.contrib.layers.l2_regularizer` itself, uncalled, and tf.keras layers never add to that
    # graph collection: it is empty and NVIDIA's models trained with no L2 term at all.
    "l2_regularization": 0.0,
}


class HeldOutUsersExperiment(Experiment):
    """Trains and evaluates an autoencoder recommender on held-out users (Liang et al., 2018).

    Reads MovieLens, keeps ratings above `rating_threshold` as interactions, holds out
    validation and test users whose interactions are split 80/20 into fold-in and target items,
    trains on the other users (Mult-VAE/Mult-DAE with `fit`; EASE and popularity in closed form)
    and ranks all items for the held-out users with their fold-in items masked. The epoch is
    chosen on validation NDCG@100; the test reports Recall@20, Recall@50, NDCG@100 and MAP@100.

    Args:
        model: "mult-vae", "mult-dae", "ease" or "popularity".
        dataset: "ml-100k", "ml-1m" or "ml-20m".
        data_dir: folder of the dataset files (None: `tfrec.data.paths.resolve_data_dir`).
        download: bool. Download the official archive when no folder is found.
        cache_dir: download cache (None: ~/.keras).
        validation_users, test_users: int. Held-out users (None: 100 / 600 / 10,000 for
            ML-100K / ML-1M / ML-20M; test defaults to the validation count).
        rating_threshold: float. Keep ratings above this (ignored for implicit data).
        min_user_interactions: int. Drop users with fewer interactions.
        hidden_dims: ints. Encoder widths (None: (600,) for Mult-VAE, () for Mult-DAE).
        latent_dim: int. Width of the bottleneck.
        dropout_rate: float. Input dropout.
        anneal_cap: float. Mult-VAE's largest KL weight.
        total_anneal_steps: int. Updates over which the KL weight would reach 1 (None: the run's
            number of updates, so the weight reaches `anneal_cap` after that fraction of training).
        l2_regularization: float. Weight decay (Mult-VAE 0; Mult-DAE ``0.01 / batch_size``,
            the notebook's rule: 2e-5 at batch 500) or EASE's lambda (500); None takes those
            defaults.
        adam_beta_1, adam_beta_2, adam_epsilon: floats. Adam's moment decays and epsilon for
            Mult-VAE/Mult-DAE (default 0.9, 0.999, 1e-7, tf_keras's).

    Raises:
        ConfigError: (a `ValueError`) on an unknown model or dataset, or a non-positive user
            count.

    References:
        - [Liang et al., 2018](https://arxiv.org/abs/1802.05814). Variational Autoencoders for
          Collaborative Filtering. WWW.
    """

    protocol = "heldout-users"
    monitor = "ndcg@100"
    supports_distribute = True

    def __init__(
        self,
        model: str = "mult-vae",
        dataset: str = "ml-1m",
        data_dir=None,
        download: bool = False,
        cache_dir=None,
        validation_users: int | None = None,
        test_users: int | None = None,
        rating_threshold: float = 3.5,
        min_user_interactions: int = 5,
        hidden_dims=None,
        latent_dim: int = 200,
        dropout_rate: float = 0.5,
        anneal_cap: float = 0.2,
        total_anneal_steps: int | None = None,
        l2_regularization: float | None = None,
        adam_beta_1: float = 0.9,
        adam_beta_2: float = 0.999,
        adam_epsilon: float = 1e-7,
    ):
        if model not in MODELS:
            raise ConfigError(f"model must be one of {MODELS}, got {model!r}.")
        if dataset not in DEFAULT_HELDOUT_USERS:
            raise ConfigError(
                f"dataset must be one of {tuple(DEFAULT_HELDOUT_USERS)}, got {dataset!r}."
            )
        self.name = model
        self.dataset = dataset
        self.closed_form = model in ("ease", "popularity")
        self.supports_distribute = not self.closed_form
        self.data_dir = data_dir
        self.download = download
        self.cache_dir = cache_dir
        self.validation_users = validation_users or DEFAULT_HELDOUT_USERS[dataset]
        self.test_users = test_users or self.validation_users
        for name in ("validation_users", "test_users"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}.")
        self.rating_threshold = rating_threshold
        self.min_user_interactions = min_user_interactions
        self.hidden_dims = hidden_dims
        self.latent_dim = latent_dim
        self.dropout_rate = dropout_rate
        self.anneal_cap = anneal_cap
        self.total_anneal_steps = total_anneal_steps
        self.l2_regularization = l2_regularization
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.adam_epsilon = adam_epsilon
        self.split: Any = None  # set by `load`

    def load(self, context, seed: int) -> None:
        from tfrec.data.heldout_users import split_heldout_users
        from tfrec.data.movielens import read_movielens

        frame = read_movielens(self.dataset, self.data_dir, self.download, self.cache_dir)
        self.split = split_heldout_users(
            frame,
            num_validation_users=self.validation_users,
            num_test_users=self.test_users,
            rating_threshold=self.rating_threshold,
            min_user_interactions=self.min_user_interactions,
            seed=seed,
        )
        split = self.split
        if context.is_chief:
            print(
                f"{self.dataset}: {split.train.num_users} training users, "
                f"{len(split.validation_user_ids)} validation and "
                f"{len(split.test_user_ids)} test users, "
                f"{split.num_items} items, {split.train.num_interactions} training interactions."
            )

    def default_config(self) -> dict:
        return {
            "epochs": 200 if not self.closed_form else 1,
            "batch_size": 500,
            "learning_rate": 1e-3,
            "steps_per_execution": DEFAULT_STEPS_PER_EXECUTION,
        }

    def steps_per_epoch(self, context, local_batch_size: int) -> int:
        return context.steps_per_epoch(self.split.train.num_users, local_batch_size)

    def build_model(self, config, steps_per_epoch: int):
        from tfrec import models

        num_items = self.split.num_items
        if self.name == "mult-vae":
            total_anneal_steps = self.total_anneal_steps
            if total_anneal_steps is None:
                total_anneal_steps = config.epochs * steps_per_epoch
            return models.MultVAE(
                num_items,
                hidden_dims=self.hidden_dims if self.hidden_dims is not None else (600,),
                latent_dim=self.latent_dim,
                dropout_rate=self.dropout_rate,
                anneal_cap=self.anneal_cap,
                total_anneal_steps=total_anneal_steps,
                l2_regularization=self.l2_regularization or 0.0,
            )
        if self.name == "mult-dae":
            return models.MultDAE(
                num_items,
                hidden_dims=self.hidden_dims if self.hidden_dims is not None else (),
                latent_dim=self.latent_dim,
                dropout_rate=self.dropout_rate,
                l2_regularization=(
                    MULT_DAE_WEIGHT_DECAY / config.batch_size
                    if self.l2_regularization is None
                    else self.l2_regularization
                ),
            )
        if self.name == "ease":
            return models.EASE(
                num_items,
                l2_regularization=(
                    500.0 if self.l2_regularization is None else self.l2_regularization
                ),
            )
        return models.Popularity(num_items)

    def make_optimizer(self, learning_rate, config):
        import tf_keras as keras

        return keras.optimizers.Adam(
            learning_rate,
            beta_1=self.adam_beta_1,
            beta_2=self.adam_beta_2,
            epsilon=self.adam_epsilon,
        )

    def fit_closed_form(self, model) -> None:
        model.fit_closed_form(self.split.train.matrix)

    def training_data(self, context, local_batch_size, steps_per_epoch, seed):
        from tfrec.data.pipeline import sparse_user_batches

        return context.fit_data(
            lambda num_shards, shard_index: sparse_user_batches(
                self.split.train.matrix,
                local_batch_size,
                shuffle=True,
                seed=seed,
                num_shards=num_shards,
                shard_index=shard_index,
            ),
            steps_per_epoch,
        )

    def _evaluate(self, model, fold_in, target, verbose: int = 0) -> dict:
        from tfrec.metrics import evaluate_heldout_users

        return evaluate_heldout_users(
            lambda x: model(x, training=False).numpy(),
            fold_in,
            target,
            RECALL_KS,
            NDCG_KS,
            map_ks=MAP_KS,
            verbose=verbose,
        )

    def validation_metrics(self, model) -> dict:
        result = self._evaluate(model, self.split.validation_fold_in, self.split.validation_target)
        return {name: value for name, value in result.items() if "@" in name}

    def test_metrics(self, model) -> dict:
        return self._evaluate(
            model, self.split.test_fold_in, self.split.test_target, verbose=self.verbose
        )

    def print_test_metrics(self, test: dict) -> None:
        print(f"Test ({test['users']} held-out users, fold-in items masked):")
        for name in ("recall@20", "recall@50", "ndcg@100", "map@100"):
            print(f"  {name:<12} {test[name]:.4f}")

    def example_input(self):
        return np.zeros((1, self.split.num_items), np.float32)

    def protocol_settings(self) -> dict:
        return {
            "validation_users": self.validation_users,
            "test_users": self.test_users,
            "rating_threshold": self.rating_threshold,
            "min_user_interactions": self.min_user_interactions,
        }

    def serving(self, model):
        from tfrec.export.interaction_serving import InteractionServing

        return InteractionServing(model, self.split.item_ids, default_k=100)
