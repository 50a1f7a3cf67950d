"""Flags of ``tfrec train fmrlrec`` (fMRLRec or the ID-only LRU ablation, next-item protocol).

The protocol itself is `tfrec.training.NextItemExperiment`.
"""

from tfrec.cli import common
from tfrec.data.sequences import DATASETS
from tfrec.training.next_item_experiment import DEFAULT_STEPS_PER_EXECUTION, FEATURES


def add_arguments(parser, model: str) -> None:
    common.add_data_arguments(parser, DATASETS, "beauty", downloadable=False)
    group = parser.add_argument_group("fMRLRec")
    group.add_argument(
        "--features",
        type=common.comma_separated(FEATURES),
        default=["text", "image"],
        help="Comma-separated item representation: any of text, image, id (learned id "
        "embedding). 'id' alone is the ID-only LRU ablation. Default text,image.",
    )
    group.add_argument(
        "--matryoshka-sizes", type=common.increasing_ints, default=[16, 32, 64, 128, 256]
    )
    group.add_argument(
        "--max-len", type=common.positive_int, default=50, help="History length (items)."
    )
    group.add_argument("--num-blocks", type=common.positive_int, default=1)
    group.add_argument("--dropout-rate", type=common.fraction, default=0.1)
    group.add_argument(
        "--weight-decay", type=common.non_negative_float, default=0.01, help="AdamW weight decay."
    )
    group.add_argument("--r-min", type=common.non_negative_float, default=0.0)
    group.add_argument("--r-max", type=common.non_negative_float, default=0.1)
    group.add_argument(
        "--mask-history",
        action="store_true",
        help="Exclude items already in the history from the ranking and the export's "
        "recommendations (LRURec does; fMRLRec does not). Default: not masked.",
    )
    group.add_argument(
        "--all-windows",
        action="store_true",
        help="Train on every max-len window of long histories, not only the last one.",
    )
    group.add_argument("--eval-batch-size", type=common.positive_int, default=512)
    common.add_training_arguments(
        parser,
        epochs=20,
        batch_size=128,
        learning_rate=1e-3,
        steps_per_execution=DEFAULT_STEPS_PER_EXECUTION,
        patience=None,
        distribute=False,
    )
    common.add_output_arguments(parser, model)


def make_experiment(args):
    from tfrec.training import NextItemExperiment

    return NextItemExperiment(
        dataset=args.dataset,
        data_dir=args.data_dir,
        features=args.features,
        matryoshka_sizes=args.matryoshka_sizes,
        max_len=args.max_len,
        num_blocks=args.num_blocks,
        dropout_rate=args.dropout_rate,
        weight_decay=args.weight_decay,
        r_min=args.r_min,
        r_max=args.r_max,
        mask_history=args.mask_history,
        all_windows=args.all_windows,
        eval_batch_size=args.eval_batch_size,
    )
