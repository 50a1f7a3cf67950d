"""Flags of ``tfrec train lrurec`` (LRURec on item ids, next-item protocol).

The protocol itself is `tfrec.training.LRURecExperiment`; the defaults are LRURec's reference
recipe (yueqirex/LRURec).
"""

from tfrec.cli import common
from tfrec.data.sequences import DATASETS
from tfrec.training.lrurec_experiment import (
    BATCH_SIZE,
    LEARNING_RATE,
    MAX_LEN,
    PATIENCE,
    REFERENCE_EPOCHS,
    VALIDATION_INTERVAL,
)
from tfrec.training.next_item_experiment import DEFAULT_STEPS_PER_EXECUTION


def _per_dataset(values: dict) -> str:
    return ", ".join(f"{value} on {dataset}" for dataset, value in values.items())


def add_arguments(parser, model: str) -> None:
    common.add_data_arguments(parser, DATASETS, "beauty", downloadable=False)
    group = parser.add_argument_group("LRURec")
    group.add_argument(
        "--width", type=common.positive_int, default=64, help="Model width (default 64)."
    )
    common.add_next_item_arguments(
        group,
        max_len=None,
        num_blocks=2,
        dropout_rate=0.2,
        weight_decay=0.01,
        r_min=0.8,
        r_max=0.99,
        mask_history=True,
        all_windows=True,
        adam_epsilon=1e-9,
        decay_norms_and_biases=False,
        max_len_help=f" (default: the reference's, {_per_dataset(MAX_LEN)}).",
    )
    group.add_argument(
        "--validation-interval",
        type=common.non_negative_int,
        default=None,
        help="Validate (and count --patience) every this many updates, as the reference does; "
        "0: once per pass over the training windows. Default: the reference's, "
        f"{_per_dataset(VALIDATION_INTERVAL)}.",
    )
    common.add_training_arguments(
        parser,
        epochs=None,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        steps_per_execution=DEFAULT_STEPS_PER_EXECUTION,
        patience=PATIENCE,
        distribute=False,
        epochs_help="Cap on epochs, here validation rounds of --validation-interval updates "
        f"(default: {REFERENCE_EPOCHS} passes over the training windows at batch {BATCH_SIZE}, "
        "the reference's cap).",
    )
    common.add_output_arguments(parser, model)


def make_experiment(args):
    from tfrec.training import LRURecExperiment

    return LRURecExperiment(
        dataset=args.dataset,
        data_dir=args.data_dir,
        width=args.width,
        max_len=args.max_len,
        num_blocks=args.num_blocks,
        dropout_rate=args.dropout_rate,
        weight_decay=args.weight_decay,
        r_min=args.r_min,
        r_max=args.r_max,
        mask_history=args.mask_history,
        all_windows=args.all_windows,
        validation_interval=args.validation_interval,
        eval_batch_size=args.eval_batch_size,
        adam_epsilon=args.adam_epsilon,
        decay_norms_and_biases=args.decay_norms_and_biases,
    )
