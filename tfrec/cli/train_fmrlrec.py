"""Flags of ``tfrec train fmrlrec`` (fMRLRec or its ID-only LRU ablation, next-item protocol).

The protocol itself is `tfrec.training.NextItemExperiment`.
"""

from tfrec.cli import common
from tfrec.data.sequences import DATASETS
from tfrec.training.next_item_experiment import (
    DEFAULT_STEPS_PER_EXECUTION,
    FEATURES,
    LR_SCHEDULES,
    PAPER_RECIPE,
)

# Named presets: flag defaults that a command line's own flags still override.
RECIPES = {"paper": PAPER_RECIPE}


def add_arguments(parser, model: str) -> None:
    common.add_data_arguments(parser, DATASETS, "beauty", downloadable=False)
    group = parser.add_argument_group("fMRLRec")
    group.add_argument(
        "--features",
        type=common.comma_separated(FEATURES),
        default=["text", "image"],
        help="Comma-separated item representation: any of text, image, id (learned id "
        "embedding). 'id' alone is fMRLRec's ID-only LRU ablation (LRURec itself is `tfrec train "
        "lrurec`). Default text,image.",
    )
    group.add_argument(
        "--matryoshka-sizes", type=common.increasing_ints, default=[16, 32, 64, 128, 256]
    )
    common.add_next_item_arguments(
        group,
        max_len=50,
        num_blocks=1,
        dropout_rate=0.1,
        weight_decay=0.01,
        r_min=0.0,
        r_max=0.1,
        mask_history=False,
        all_windows=False,
        adam_epsilon=1e-7,
        decay_norms_and_biases=True,
    )
    group.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        default=None,
        help="paper: Wang et al.'s reference recipe (dropout 0.6, AdamW lr 1e-4, epsilon 1e-9, "
        "weight decay 0.01 on weights only, cosine decay after 100 warmup updates over the "
        "epoch budget, batch 32, max-len 50, up to 500 epochs with patience 10, sizes "
        "8..1024, history not masked). Flags given on the command line override it.",
    )
    group.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        default="constant",
        help="constant, or cosine: linear warmup from 0 over --lr-warmup-steps, then cosine "
        "decay to 0 at the last epoch of --epochs. Default constant.",
    )
    group.add_argument("--lr-warmup-steps", type=common.non_negative_int, default=0)
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
        adam_epsilon=args.adam_epsilon,
        decay_norms_and_biases=args.decay_norms_and_biases,
        lr_schedule=args.lr_schedule,
        lr_warmup_steps=args.lr_warmup_steps,
    )
