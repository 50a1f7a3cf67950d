"""The next-item protocol of fMRLRec (and its ID-only LRU ablation); LRURec's extends it."""

from typing import Any

from tfrec.training.config_error import ConfigError
from tfrec.training.experiment import Experiment

import numpy as np

FEATURES = ("text", "image", "id")
FEATURE_FILES = {"text": "text_features.npz", "image": "image_features.npz"}
# Measured by examples/benchmark_training.py (README, "Training speed").
DEFAULT_STEPS_PER_EXECUTION = 4
DEFAULT_K = 10
LR_SCHEDULES = ("constant", "cosine")
# Weight decay on weights only, as the reference's AdamW groups (no decay on parameters whose
# name holds 'bias' or 'layer_norm'): regular expressions on tf_keras variable names (dense
# biases ".../bias:0", LRURec's output "item_bias:0"; layer norms ".../<name>_norm/...").
NO_DECAY_NAMES = (r"bias:", r"_norm/")
# Wang et al.'s reference recipe (yueqirex/fMRLRec: config.py, trainer/base.py), the CLI's
# `--recipe paper`.
PAPER_RECIPE = {
    "dropout_rate": 0.6,
    "learning_rate": 1e-4,
    "adam_epsilon": 1e-9,
    "weight_decay": 0.01,
    "decay_norms_and_biases": False,
    "lr_schedule": "cosine",
    "lr_warmup_steps": 100,
    "batch_size": 32,
    "max_len": 50,
    "epochs": 500,
    "patience": 10,
    "matryoshka_sizes": [8, 16, 32, 64, 128, 256, 512, 1024],
    "mask_history": False,
}


# Key prefix of the test figures under the history rule a run was not trained for.
OTHER_RULE_PREFIX = {True: "history_masked/", False: "history_not_masked/"}


def load_features(folder, features, item_ids) -> dict:
    """Loads the frozen text/image tables aligned to `item_ids` (missing items: zero rows).

    Args:
        folder: `pathlib.Path`. The dataset's folder, holding ``text_features.npz`` and
            ``image_features.npz``.
        features: collection of "text", "image", "id"; "id" needs no file.
        item_ids: int array `[num_items]`. The catalogue's dataset ids, in model order.

    Returns:
        dict from "text" and/or "image" to a float32 numpy table `[num_items, dim]`; image
        rows are scaled to unit L2 norm.

    Raises:
        FileNotFoundError: naming the missing `.npz` file of a requested feature.
        DataError: (a `ValueError`) from `tfrec.data.load_item_features`, for a malformed file.
    """
    from tfrec.data.item_features import load_item_features

    tables = {}
    for name in ("text", "image"):
        if name in features:
            path = folder / FEATURE_FILES[name]
            if not path.is_file():
                raise FileNotFoundError(
                    f"features {name}: no {FEATURE_FILES[name]} in {folder} (this dataset may "
                    f"have no {name} features)."
                )
            # Image features (ReLU6 activations) are scaled to unit norm like the text ones.
            table, _ = load_item_features(path, item_ids, scaling="l2" if name == "image" else None)
            tables[name] = table
    return tables


class NextItemExperiment(Experiment):
    """Trains fMRLRec on chronological sequences; evaluates every Matryoshka size.

    Splits each user's sequence leave-one-out (last item test, second to last validation),
    trains with the nested next-item loss, chooses the epoch on validation NDCG@10 at the full
    size and reports full-ranking NDCG@{5,10,20} and Recall@{5,10,20} over all items for every
    Matryoshka size from one forward pass. The export has a signature per size.

    Args:
        dataset: "beauty" or "ml-100k" (`tfrec.data.sequences.DATASETS`); not checked until `load`.
            Default "beauty".
        data_dir: str, path or None. Folder of the dataset (None:
            `tfrec.data.paths.resolve_data_dir`).
        features: sequence of "text", "image", "id": the item representation; ("id",) alone
            is fMRLRec's ID-only LRU ablation (not LRURec: `tfrec.training.LRURecExperiment`).
            Default ("text", "image").
        matryoshka_sizes: strictly increasing ints; the last is the model width. Default
            (16, 32, 64, 128, 256).
        max_len: int. History length, in items. Default 50.
        num_blocks: int. Recurrent blocks. Default 1.
        dropout_rate: float. Default 0.1.
        weight_decay: float. AdamW weight decay. Default 0.01.
        r_min, r_max: floats. Ring of the LRU's eigenvalue magnitudes at initialisation,
            checked when the model is built. Defaults 0.0 and 0.1.
        mask_history: bool. Exclude the history's items from the ranking (LRURec does;
            fMRLRec does not); the export follows the same rule. Default False.
        all_windows: bool. Train on every `max_len` window of long histories. Default False.
        eval_batch_size: int. Users per evaluation forward pass. Default 512.
        adam_epsilon: float. AdamW's epsilon (the reference uses 1e-9). Default 1e-7.
        decay_norms_and_biases: bool. Apply weight decay to biases and layer norms too (True,
            tfrec's default) or to weights only (False, the reference's).
        lr_schedule: "constant" (default) or "cosine": a linear warmup from 0 over
            `lr_warmup_steps`, then a cosine decay to 0 at the end of the epoch budget (the
            reference's ``get_cosine_schedule_with_warmup``), behind `LinearScalingWarmup`'s
            decay hook.
        lr_warmup_steps: int. Warmup of the cosine schedule, in updates. Default 0.

    Raises:
        ConfigError: (a `ValueError`) before any data is read: an unknown `dataset`, no or
            unknown features, `matryoshka_sizes` not strictly increasing positive ints,
            `max_len`, `eval_batch_size` or `num_blocks` < 1, not 0 <= `r_min` < `r_max` <= 1,
            `dropout_rate` outside [0, 1), `weight_decay` < 0, an unknown `lr_schedule`, or
            `lr_warmup_steps` < 0.

    References:
        - [Wang et al., 2024](https://arxiv.org/abs/2409.16627). Train Once, Deploy Anywhere:
          Matryoshka Representation Learning for Multimodal Recommendation. EMNLP Findings.
    """

    name = "fmrlrec"
    protocol = "next-item"
    monitor = "ndcg@10"

    def __init__(
        self,
        dataset: str = "beauty",
        data_dir=None,
        features=("text", "image"),
        matryoshka_sizes=(16, 32, 64, 128, 256),
        max_len: int = 50,
        num_blocks: int = 1,
        dropout_rate: float = 0.1,
        weight_decay: float = 0.01,
        r_min: float = 0.0,
        r_max: float = 0.1,
        mask_history: bool = False,
        all_windows: bool = False,
        eval_batch_size: int = 512,
        adam_epsilon: float = 1e-7,
        decay_norms_and_biases: bool = True,
        lr_schedule: str = "constant",
        lr_warmup_steps: int = 0,
    ):
        from tfrec.data.sequences import DATASETS

        features = list(features)
        unknown = sorted(set(features) - set(FEATURES))
        if dataset not in DATASETS:
            raise ConfigError(
                f"Unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}."
            )
        if not features or unknown:
            raise ConfigError(f"features must list some of {', '.join(FEATURES)}; got {features}.")
        sizes = [int(size) for size in matryoshka_sizes]
        if not sizes or sizes[0] < 1 or any(b <= a for a, b in zip(sizes, sizes[1:])):
            raise ConfigError(
                f"matryoshka_sizes must be strictly increasing positive ints, got {sizes}."
            )
        for name, value in (
            ("max_len", max_len),
            ("eval_batch_size", eval_batch_size),
            ("num_blocks", num_blocks),
        ):
            if value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value}.")
        if not 0.0 <= r_min < r_max <= 1.0:  # the LRU's ring; checked before any data is read
            raise ConfigError(f"Need 0 <= r_min < r_max <= 1, got r_min={r_min}, r_max={r_max}.")
        if not 0.0 <= dropout_rate < 1.0:
            raise ConfigError(f"dropout_rate must be in [0, 1), got {dropout_rate}.")
        if weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {weight_decay}.")
        self.dataset = dataset
        self.data_dir = data_dir
        self.features = features
        self.matryoshka_sizes = sizes
        self.max_len = max_len
        self.num_blocks = num_blocks
        self.dropout_rate = dropout_rate
        self.weight_decay = weight_decay
        self.r_min = r_min
        self.r_max = r_max
        self.mask_history = mask_history
        self.all_windows = all_windows
        self.eval_batch_size = eval_batch_size
        if lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"lr_schedule must be one of {LR_SCHEDULES}, got {lr_schedule!r}.")
        if lr_warmup_steps < 0:
            raise ConfigError(f"lr_warmup_steps must be >= 0, got {lr_warmup_steps}.")
        self.adam_epsilon = adam_epsilon
        self.decay_norms_and_biases = decay_norms_and_biases
        self.lr_schedule = lr_schedule
        self.lr_warmup_steps = lr_warmup_steps
        self.split: Any = None  # set by `load`
        self.tables: dict = {}

    def load(self, context, seed: int) -> None:
        """Reads the sequences and feature tables and builds the training windows.

        The leave-one-out split does not depend on `seed`.

        Raises:
            KeyError: for an unknown `dataset`.
            FileNotFoundError: no data folder, or no file of a requested feature.
            DataError: (a `ValueError`) a malformed sequence or feature file.
        """
        from tfrec.data.paths import resolve_data_dir
        from tfrec.data.sequences import DATA_FOLDERS, next_item_examples, read_sequences

        folder = resolve_data_dir(self.data_dir, DATA_FOLDERS[self.dataset])
        self.split = split = read_sequences(self.dataset, folder)
        self.tables = load_features(folder, self.features, split.item_ids)
        self.inputs, self.labels = next_item_examples(
            split.training_sequences(), self.max_len, self.all_windows
        )
        print(
            f"{self.dataset}: {split.num_users} users, {split.num_items} items, "
            f"{sum(len(s) for s in split.sequences)} interactions; features "
            f"{','.join(self.features)}"
        )

    def default_config(self) -> dict:
        return {
            "epochs": 20,
            "batch_size": 128,
            "learning_rate": 1e-3,
            "steps_per_execution": DEFAULT_STEPS_PER_EXECUTION,
        }

    def steps_per_epoch(self, context, local_batch_size: int) -> int:
        return -(-len(self.inputs) // local_batch_size)

    def build_model(self, config, steps_per_epoch: int):
        """The model, built on `example_input` so that `BackupAndRestore` can restore it."""
        model = self.create_model()
        model(self.example_input())
        return model

    def example_input(self):
        return np.zeros((1, self.max_len), np.int64)

    def create_model(self):
        """The unbuilt Keras model (fMRLRec here)."""
        from tfrec.models.fmrlrec import FMRLRec

        sizes = self.matryoshka_sizes
        return FMRLRec(
            self.split.num_items,
            sizes,
            item_text_features=self.tables.get("text"),
            item_image_features=self.tables.get("image"),
            item_id_embedding_dim=sizes[-1] if "id" in self.features else 0,
            num_blocks=self.num_blocks,
            dropout=self.dropout_rate,
            r_min=self.r_min,
            r_max=self.r_max,
        )

    def learning_rate_decay(self, config, steps_per_epoch: int):
        """None (constant rate), or the cosine schedule over ``epochs * steps_per_epoch``."""
        import tf_keras as keras

        if self.lr_schedule == "constant":
            return None
        total = config.epochs * steps_per_epoch
        warmup = min(self.lr_warmup_steps, total - 1)
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=total - warmup,
            warmup_target=config.learning_rate,
            warmup_steps=warmup,
        )

    def make_optimizer(self, learning_rate, config):
        """AdamW, global gradient norm clipped at 5; biases and norms not decayed unless
        `decay_norms_and_biases`."""
        import tf_keras as keras

        optimizer = keras.optimizers.AdamW(
            learning_rate,
            weight_decay=self.weight_decay,
            epsilon=self.adam_epsilon,
            global_clipnorm=5.0,
        )
        if not self.decay_norms_and_biases:
            optimizer.exclude_from_weight_decay(var_names=list(NO_DECAY_NAMES))
        return optimizer

    def training_data(self, context, local_batch_size, steps_per_epoch, seed):
        from tfrec.data.sequences import training_dataset

        return {"x": training_dataset(self.inputs, self.labels, local_batch_size, seed=seed)}

    def _evaluate(
        self, model, stage: str, mask_history: bool | None = None, verbose: int = 0
    ) -> dict:
        from tfrec.metrics.next_item_evaluation import evaluate_next_item

        if mask_history is None:
            mask_history = self.mask_history
        histories, targets = self.split.evaluation_sequences(stage)
        return evaluate_next_item(
            model,
            histories,
            targets,
            self.max_len,
            self.eval_batch_size,
            mask_history,
            verbose=verbose,
        )

    def validation_metrics(self, model) -> dict:
        """The full size's metrics (``ndcg@10``, ...), and each size's as ``ndcg@10/size_16``."""
        by_size = self._evaluate(model, "validation")
        full = self.matryoshka_sizes[-1]
        flat = dict(by_size[full])
        for size, values in by_size.items():
            flat.update({f"{name}/size_{size}": value for name, value in values.items()})
        return flat

    def test_metrics(self, model) -> dict:
        """Test metrics per size under the run's history rule, and under the other one.

        The other rule's figures carry the prefix ``history_masked/`` (or
        ``history_not_masked/``): fMRLRec's paper ranks with the history, LRURec's without it,
        and the two are compared both ways. Only the run's own rule selects epochs.

        Returns:
            dict from the size (str) to a dict of float metrics, ``ndcg@5`` ... ``recall@20``
            and the other rule's prefixed ones.
        """
        own = self._evaluate(model, "test", verbose=self.verbose)
        other = self._evaluate(
            model, "test", mask_history=not self.mask_history, verbose=self.verbose
        )
        prefix = OTHER_RULE_PREFIX[not self.mask_history]
        return {
            str(size): {
                **values,
                **{f"{prefix}{name}": value for name, value in other[size].items()},
            }
            for size, values in own.items()
        }

    def print_test_metrics(self, test: dict) -> None:
        from tfrec.metrics.next_item_evaluation import CUTOFFS

        names = [f"{kind}@{k}" for kind in ("ndcg", "recall") for k in CUTOFFS]
        rules = [(self.mask_history, ""), (not self.mask_history, "other")]
        for masked, which in rules:
            prefix = OTHER_RULE_PREFIX[masked] if which else ""
            print(
                f"\nTest, full ranking over {self.split.num_items} items, history "
                f"{'masked' if masked else 'not masked'}:"
            )
            print("size   " + "  ".join(f"{name:>9}" for name in names))
            for size, values in test.items():
                cells = "  ".join(f"{values[prefix + name]:9.4f}" for name in names)
                print(f"{size:<6} {cells}")

    def serving(self, model):
        """A `tfrec.export.SequenceServing` of every size, excluding history per `mask_history`."""
        from tfrec.export.sequence_serving import SequenceServing

        return SequenceServing(
            model,
            self.split.item_ids,
            max_len=self.max_len,
            default_k=DEFAULT_K,
            exclude_history=self.mask_history,
        )

    def describe(self) -> dict:
        return {
            "features": self.features,
            "matryoshka_sizes": self.matryoshka_sizes,
            "mask_history": self.mask_history,
        }
