"""LRURec's next-item protocol: the fMRLRec protocol with LRURec's model and reference recipe."""

from tfrec.training.config_error import ConfigError
from tfrec.training.next_item_experiment import DEFAULT_STEPS_PER_EXECUTION, NextItemExperiment

# Yue et al.'s reference settings (yueqirex/LRURec: config.py `set_template`, trainer/base.py,
# trainer/loggers.py). ML-100K is not in the paper: it takes the reference's MovieLens (ML-1M)
# settings.
MAX_LEN = {"beauty": 50, "ml-100k": 200}
# Updates between two validations (the reference's `val_iterations`, `val_strategy` iteration).
VALIDATION_INTERVAL = {"beauty": 1000, "ml-100k": 500}
REFERENCE_EPOCHS = 500  # `num_epochs`: passes over the training windows
PATIENCE = 10  # `early_stopping_patience`, in validations
BATCH_SIZE = 128
LEARNING_RATE = 1e-3


class LRURecExperiment(NextItemExperiment):
    """Trains `tfrec.models.LRURec` on chronological item-id sequences, as its reference code.

    The split, the training windows, the full-ranking evaluation and the export are those of
    `NextItemExperiment` (leave-one-out; NDCG@{5,10,20} and Recall@{5,10,20} over all items);
    the model is LRURec and the defaults are its reference recipe: width 64, 2 blocks, dropout
    0.2, LRU ring [0.8, 0.99], AdamW (learning rate 1e-3, weight decay 0.01 on weights only,
    epsilon 1e-9, global gradient norm clipped at 5), batch 128, no learning-rate schedule,
    sliding windows of `max_len` over long histories, history items excluded from the ranking.
    The epoch is chosen on validation Recall@10, validated every `validation_interval` updates
    with a patience of 10 validations.

    A Keras epoch here is one validation round: with a `validation_interval`, `fit` runs that
    many updates per epoch over the reshuffled, repeated training windows, so `epochs`,
    `patience` and the metric file's `best_epoch` count validations, as the reference does.
    The default epoch cap is the reference's 500 passes over the training windows at batch 128.

    Args:
        dataset: "beauty" or "ml-100k". Default "beauty".
        data_dir: str, path or None. Folder of the dataset (None:
            `tfrec.data.paths.resolve_data_dir`).
        width: int. Model width. Default 64.
        max_len: int or None. History length (items); None: 50 for Beauty, 200 for ML-100K
            (the reference's Amazon and MovieLens lengths).
        num_blocks: int. LRU blocks. Default 2.
        dropout_rate: float. Default 0.2.
        weight_decay: float. AdamW weight decay. Default 0.01.
        r_min, r_max: floats. Ring of the LRU's eigenvalue moduli at initialisation, checked
            when the model is built. Defaults 0.8 and 0.99.
        mask_history: bool. Exclude the history's items from the ranking and the export's
            recommendations. Default True (LRURec's protocol).
        all_windows: bool. Train on every `max_len` window of long histories. Default True.
        validation_interval: int or None. Updates between validations; None: the reference's
            (1,000 on Beauty, 500 on MovieLens); 0: once per pass over the training windows.
        eval_batch_size: int. Users per evaluation forward pass. Default 512.
        adam_epsilon: float. AdamW's epsilon. Default 1e-9 (the reference's).
        decay_norms_and_biases: bool. Apply weight decay to biases and layer norms too.
            Default False (the reference's AdamW groups).

    Raises:
        ConfigError: (a `ValueError`) before any data is read, for an unknown dataset,
            `width`, `max_len` or `eval_batch_size` < 1 (a bad width is reported as
            ``matryoshka_sizes``), not 0 <= `r_min` < `r_max` <= 1, or `validation_interval`
            < 0.

    References:
        - [Yue et al., 2024](https://arxiv.org/abs/2310.02367). Linear Recurrent Units for
          Sequential Recommendation. WSDM.
    """

    name = "lrurec"
    monitor = "recall@10"

    def __init__(
        self,
        dataset: str = "beauty",
        data_dir=None,
        width: int = 64,
        max_len: int | None = None,
        num_blocks: int = 2,
        dropout_rate: float = 0.2,
        weight_decay: float = 0.01,
        r_min: float = 0.8,
        r_max: float = 0.99,
        mask_history: bool = True,
        all_windows: bool = True,
        validation_interval: int | None = None,
        eval_batch_size: int = 512,
        adam_epsilon: float = 1e-9,
        decay_norms_and_biases: bool = False,
    ):
        if dataset not in MAX_LEN:
            raise ConfigError(f"Unknown dataset {dataset!r}; expected one of {sorted(MAX_LEN)}.")
        if validation_interval is None:
            validation_interval = VALIDATION_INTERVAL[dataset]
        if validation_interval < 0:
            raise ConfigError(f"validation_interval must be >= 0, got {validation_interval}.")
        super().__init__(
            dataset,
            data_dir,
            features=("id",),
            matryoshka_sizes=(width,),
            max_len=MAX_LEN[dataset] if max_len is None else max_len,
            num_blocks=num_blocks,
            dropout_rate=dropout_rate,
            weight_decay=weight_decay,
            r_min=r_min,
            r_max=r_max,
            mask_history=mask_history,
            all_windows=all_windows,
            eval_batch_size=eval_batch_size,
            adam_epsilon=adam_epsilon,
            decay_norms_and_biases=decay_norms_and_biases,
        )
        self.width = int(width)
        self.validation_interval = int(validation_interval)

    def _batches_per_pass(self, batch_size: int) -> int:
        return -(-len(self.inputs) // batch_size)

    def default_config(self) -> dict:
        """The reference's recipe; ``epochs`` in validation rounds (500 passes at batch 128)."""
        rounds = REFERENCE_EPOCHS
        if self.validation_interval:
            passes = REFERENCE_EPOCHS * self._batches_per_pass(BATCH_SIZE)
            rounds = -(-passes // self.validation_interval)
        return {
            "epochs": rounds,
            "batch_size": BATCH_SIZE,
            "learning_rate": LEARNING_RATE,
            "steps_per_execution": DEFAULT_STEPS_PER_EXECUTION,
            "patience": PATIENCE,
        }

    def steps_per_epoch(self, context, local_batch_size: int) -> int:
        """`validation_interval` updates, or one pass over the training windows when it is 0."""
        return self.validation_interval or self._batches_per_pass(local_batch_size)

    def create_model(self):
        """The unbuilt `tfrec.models.LRURec` of the experiment's settings."""
        from tfrec.models.lrurec import LRURec

        return LRURec(
            self.split.num_items,
            width=self.width,
            num_blocks=self.num_blocks,
            dropout=self.dropout_rate,
            r_min=self.r_min,
            r_max=self.r_max,
        )

    def training_data(self, context, local_batch_size, steps_per_epoch, seed):
        """The shuffled training windows, repeated when a `validation_interval` cuts epochs."""
        data = super().training_data(context, local_batch_size, steps_per_epoch, seed)
        if not self.validation_interval:
            return data
        # Passes follow one another without a break (each reshuffled); Keras cuts them into
        # epochs of `validation_interval` updates, after each of which the model is validated.
        return {"x": data["x"].repeat(), "steps_per_epoch": steps_per_epoch}

    def validation_metrics(self, model) -> dict:
        """Validation NDCG@K and Recall@K (K in 5, 10, 20) of the one width, as floats."""
        return dict(self._evaluate(model, "validation")[self.width])

    def describe(self) -> dict:
        return {
            "width": self.width,
            "max_len": self.max_len,
            "mask_history": self.mask_history,
            "all_windows": self.all_windows,
            "validation_interval": self.validation_interval,
        }
