"""He and McAuley's leave-one-out protocol with withheld new items: VBPR and BPR-MF."""

import pathlib
from typing import Any

from tfrec.models.vbpr import BIAS_REGULARIZATION, FACTOR_REGULARIZATION, VISUAL_REGULARIZATION
from tfrec.training.config_error import ConfigError
from tfrec.training.experiment import Experiment

import numpy as np

MODELS = ("vbpr", "bpr-mf")
TEST_KS = (50,)
# Beside the paper's "at most 5 training interactions", which few MovieLens test items meet.
EXTRA_COLD_START_THRESHOLDS = (20,)
DEFAULT_K = 100
# Measured by examples/benchmark_training.py (README, "Training speed").
DEFAULT_STEPS_PER_EXECUTION = 8
# Default batch: the largest power of two in [MIN_BATCH, MAX_BATCH] that leaves at least
# MIN_STEPS_PER_EPOCH updates per epoch (ML-1M: 16,384; ML-100K: 1,024). Larger batches cut the
# per-step overhead that dominates BPR on CPU; with fewer than about 50 Adam updates an epoch,
# ML-100K needed many more epochs (README, "Training speed").
MIN_BATCH, MAX_BATCH, MIN_STEPS_PER_EPOCH = 1024, 16384, 50


def default_batch_size(num_interactions: int) -> int:
    """The default BPR batch for a training set of `num_interactions` triples."""
    batch = MIN_BATCH
    while batch * 2 <= MAX_BATCH and num_interactions / (batch * 2) >= MIN_STEPS_PER_EPOCH:
        batch *= 2
    return batch


class LeaveOneOutExperiment(Experiment):
    """Trains VBPR or BPR-MF on BPR triples and evaluates He and McAuley's AUCs.

    Reads MovieLens (every rating is an interaction: implicit feedback as in the paper),
    withholds a seeded fraction of the items from training entirely, holds out one random
    validation and one random test item per user, trains on BPR triples with negatives drawn
    from the training catalogue, chooses the epoch on validation AUC and reports test AUC,
    cold-start AUC (with its user count), new-item AUC, Recall@50 and NDCG@50.

    Args:
        model: "vbpr" or "bpr-mf".
        dataset: "ml-100k", "ml-1m" or "ml-20m".
        data_dir, download, cache_dir: as `tfrec.data.movielens.read_movielens`.
        new_item_fraction: float in [0, 1). Items withheld from training (new-item AUC).
        validation_users: int. Evaluate the validation AUC on a seeded sample of this many
            users (None: all).
        popularity_baseline: bool. Also report the most-popular baseline (under
            ``"popularity"``).
        image_features: str or path. VBPR's item features (.npz with ``item_ids`` and
            ``features``); a relative path not found as given is looked up in the data folder.
        feature_scaling: "minmax" (global, as Cornac), "l2" or "none".
        num_factors: int. K (None: 10 for VBPR, 20 for BPR-MF).
        num_visual_factors: int. K' (VBPR).
        factor_regularization, bias_regularization, visual_regularization: float. L2 weights.
        optimizer: "adam" or "lazy-adam" (`tfrec.optimizers.LazyAdam`).

    Raises:
        ConfigError: (a `ValueError`) on an unknown model, a bad fraction or option.
        DataError: (a `ValueError`) from `load`, for a bad rating or feature file.

    References:
        - [He and McAuley, 2016](https://arxiv.org/abs/1510.01784). VBPR. AAAI.
    """

    protocol = "leave-one-out"
    monitor = "auc"

    def __init__(
        self,
        model: str = "vbpr",
        dataset: str = "ml-1m",
        data_dir=None,
        download: bool = False,
        cache_dir=None,
        new_item_fraction: float = 0.1,
        validation_users: int | None = None,
        popularity_baseline: bool = False,
        image_features="image_features.npz",
        feature_scaling: str = "minmax",
        num_factors: int | None = None,
        num_visual_factors: int = 10,
        factor_regularization: float = FACTOR_REGULARIZATION,
        bias_regularization: float = BIAS_REGULARIZATION,
        visual_regularization: float = VISUAL_REGULARIZATION,
        optimizer: str = "adam",
    ):
        if model not in MODELS:
            raise ConfigError(f"model must be one of {MODELS}, got {model!r}.")
        if not 0.0 <= new_item_fraction < 1.0:
            raise ConfigError(f"new_item_fraction must be in [0, 1), got {new_item_fraction}.")
        if validation_users is not None and validation_users < 1:
            raise ConfigError(
                f"validation_users must be a positive integer, got {validation_users}."
            )
        if feature_scaling not in ("minmax", "l2", "none"):
            raise ConfigError(
                f"feature_scaling must be minmax, l2 or none, got {feature_scaling!r}."
            )
        if optimizer not in ("adam", "lazy-adam"):
            raise ConfigError(f"optimizer must be adam or lazy-adam, got {optimizer!r}.")
        self.name = model
        self.dataset = dataset
        self.data_dir = data_dir
        self.download = download
        self.cache_dir = cache_dir
        self.new_item_fraction = new_item_fraction
        self.validation_users = validation_users
        self.popularity_baseline = popularity_baseline
        self.image_features = image_features
        self.feature_scaling = feature_scaling
        self.num_factors = num_factors
        self.num_visual_factors = num_visual_factors
        self.factor_regularization = factor_regularization
        self.bias_regularization = bias_regularization
        self.visual_regularization = visual_regularization
        self.optimizer = optimizer
        self.split: Any = None  # set by `load`
        self.validation_split: Any = None  # the users of the per-epoch validation AUC
        self.features: Any = None
        self.applied_scaling: dict | None = None  # the features' scaling, for the export
        self.seed = 0

    def load(self, context, seed: int) -> None:
        from tfrec.data.interactions import Interactions
        from tfrec.data.item_features import load_item_features
        from tfrec.data.leave_one_out import split_leave_one_out
        from tfrec.data.movielens import read_movielens
        from tfrec.data.paths import resolve_data_dir

        self.seed = seed
        frame = read_movielens(self.dataset, self.data_dir, self.download, self.cache_dir)
        from tfrec.metrics.leave_one_out_evaluation import sample_users

        self.split = split = split_leave_one_out(
            Interactions.from_frame(frame), seed=seed, new_item_fraction=self.new_item_fraction
        )
        # The users the per-epoch validation AUC is taken over, drawn once.
        self.validation_split = (
            split
            if self.validation_users is None
            else sample_users(split, self.validation_users, seed=0)
        )
        if self.name == "vbpr":
            path = pathlib.Path(self.image_features)
            if not (path.is_file() or path.is_absolute()):
                try:
                    path = resolve_data_dir(self.data_dir, self.dataset) / path
                except FileNotFoundError:
                    pass  # read_movielens downloaded the ratings; the features stay relative
            self.features, has_feature, self.applied_scaling = load_item_features(
                path,
                split.item_ids,
                missing="zero",
                scaling=None if self.feature_scaling == "none" else self.feature_scaling,
                return_scaling=True,
            )
            print(
                f"Features: {path} ({self.features.shape[1]}-d), {int(has_feature.sum())} of "
                f"{len(has_feature)} items have a vector (the others get zeros)."
            )
        print(
            f"{self.dataset}: {split.num_users} users, {split.num_items} items "
            f"({len(split.new_items)} withheld as new items), {split.train.nnz} training "
            f"interactions, {int((split.test_items >= 0).sum())} test users."
        )

    def default_config(self) -> dict:
        return {
            # An upper bound: early stopping on the validation AUC decides (every run of the
            # regularisation grid stopped before epoch 150). Patience 20: on ML-100K the chosen
            # epoch's validation AUC still rose between patience 10 and 20 (README).
            "epochs": 300,
            "batch_size": default_batch_size(self.split.train.nnz),
            "learning_rate": 5e-3,  # Cornac's VBPR default, with Adam as here
            "steps_per_execution": DEFAULT_STEPS_PER_EXECUTION,
            "patience": 20,
        }

    def steps_per_epoch(self, context, local_batch_size: int) -> int:
        return -(-self.split.train.nnz // local_batch_size)

    def build_model(self, config, steps_per_epoch: int):
        from tfrec.models.bpr_mf import BPRMF
        from tfrec.models.vbpr import VBPR

        split = self.split
        if self.name == "bpr-mf":
            return BPRMF(
                split.num_users,
                split.num_items,
                num_factors=self.num_factors or 20,
                factor_regularization=self.factor_regularization,
                bias_regularization=self.bias_regularization,
            )
        model = VBPR(
            split.num_users,
            split.num_items,
            feature_dim=self.features.shape[1],
            num_factors=10 if self.num_factors is None else self.num_factors,
            num_visual_factors=self.num_visual_factors,
            factor_regularization=self.factor_regularization,
            bias_regularization=self.bias_regularization,
            visual_regularization=self.visual_regularization,
        )
        model.set_item_features(self.features)
        return model

    def make_optimizer(self, learning_rate, config):
        from tfrec.optimizers import LazyAdam

        import tf_keras as keras

        optimizer_class = LazyAdam if self.optimizer == "lazy-adam" else keras.optimizers.Adam
        return optimizer_class(learning_rate=learning_rate)

    def training_data(self, context, local_batch_size, steps_per_epoch, seed):
        from tfrec.data.triples import bpr_triples

        train = bpr_triples(
            self.split.train, local_batch_size, seed=seed, candidate_items=self.split.warm_items
        )
        return {"x": train}

    def validation_metrics(self, model) -> dict:
        from tfrec.metrics.leave_one_out_evaluation import evaluate_leave_one_out

        result = evaluate_leave_one_out(
            lambda users: model.score_all_items(users).numpy(),
            self.validation_split,
            "validation",
            ks=(),
        )
        return {"auc": result["auc"]}

    def test_metrics(self, model) -> dict:
        split = self.split
        features = self.features
        new_features = features[split.new_items] if features is not None else None

        def score_new(users):
            if new_features is None:
                return np.zeros((len(users), len(split.new_items)), np.float32)
            return model.score_new_items(users, new_features).numpy()

        return self._evaluate(lambda users: model.score_all_items(users).numpy(), score_new)

    def describe(self) -> dict:
        if not self.popularity_baseline:
            return {}
        # The most-popular baseline on the same split needs no model.
        split = self.split
        counts = np.asarray(split.train.sum(axis=0)).ravel().astype(np.float32)
        popularity = self._evaluate(
            lambda users: np.tile(counts, (len(users), 1)),
            lambda users: np.tile(counts[split.new_items], (len(users), 1)),
        )
        self._print_table("popularity", popularity)
        return {"popularity": popularity}

    def _evaluate(self, score_all, score_new) -> dict:
        from tfrec.metrics.leave_one_out_evaluation import (
            evaluate_leave_one_out,
            evaluate_new_items,
        )

        result = evaluate_leave_one_out(
            score_all,
            self.split,
            "test",
            ks=TEST_KS,
            extra_cold_start_thresholds=EXTRA_COLD_START_THRESHOLDS,
        )
        result.update(evaluate_new_items(score_new, self.split))
        return result

    def print_test_metrics(self, test: dict) -> None:
        self._print_table(self.name, test)

    def _print_table(self, title: str, metrics: dict) -> None:
        print(f"{title} test ({metrics['users']} users):")
        for label, key in [
            ("AUC", "auc"),
            ("cold AUC", "cold_auc"),
            ("cold users", "cold_users"),
            *[(f"cold AUC@{n}", f"cold_auc@{n}") for n in EXTRA_COLD_START_THRESHOLDS],
            *[(f"cold users@{n}", f"cold_users@{n}") for n in EXTRA_COLD_START_THRESHOLDS],
            ("new-item AUC", "new_item_auc"),
            ("new users", "new_item_users"),
            ("Recall@50", "recall@50"),
            ("NDCG@50", "ndcg@50"),
        ]:
            value = metrics[key]
            print(
                f"  {label:<12} {value:.4f}"
                if isinstance(value, float)
                else f"  {label:<12} {value}"
            )

    def protocol_settings(self) -> dict:
        return {
            "new_item_fraction": self.new_item_fraction,
            # The test's new-item AUC scores VBPR's withheld items from these features.
            "image_features": str(self.image_features) if self.name == "vbpr" else None,
            "feature_scaling": self.feature_scaling,
        }

    def serving(self, model):
        from tfrec.export.bpr_serving import BPRServing

        split = self.split
        return BPRServing(
            model,
            split.user_ids,
            split.item_ids,
            split.train,
            default_k=DEFAULT_K,
            feature_scaling=self.applied_scaling,
        )
