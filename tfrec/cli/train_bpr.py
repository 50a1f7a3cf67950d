"""Flags of ``tfrec train vbpr|bpr-mf`` (He and McAuley's leave-one-out protocol).

The protocol itself is `tfrec.training.LeaveOneOutExperiment`.
"""

from tfrec.cli import common
from tfrec.data.movielens import DATASETS
from tfrec.models.vbpr import BIAS_REGULARIZATION, FACTOR_REGULARIZATION, VISUAL_REGULARIZATION
from tfrec.training.leave_one_out_experiment import DEFAULT_STEPS_PER_EXECUTION


def add_arguments(parser, model: str) -> None:
    common.add_data_arguments(parser, DATASETS, "ml-1m", downloadable=True)
    group = parser.add_argument_group("protocol (He and McAuley, 2016)")
    group.add_argument(
        "--new-item-fraction",
        type=common.fraction,
        default=0.1,
        help="Fraction of items withheld from training for the new-item AUC (default 0.1).",
    )
    group.add_argument(
        "--validation-users",
        type=common.positive_int,
        default=None,
        help="Evaluate the validation AUC on a seeded sample of this many users (default all).",
    )
    group.add_argument(
        "--popularity-baseline",
        action="store_true",
        help="Also evaluate the most-popular baseline on the same split (under 'popularity').",
    )
    group = parser.add_argument_group("model")
    if model == "vbpr":
        group.add_argument(
            "--image-features",
            default="image_features.npz",
            help="Item image features .npz (arrays item_ids, features); a relative path not "
            "found as given is looked up in the data folder. Default image_features.npz.",
        )
        group.add_argument(
            "--feature-scaling",
            default="minmax",
            choices=["minmax", "l2", "none"],
            help="Feature scaling (global min-max as Cornac by default). Items without a vector "
            "get a zero vector.",
        )
    group.add_argument(
        "--num-factors",
        type=common.positive_int,
        default=10 if model == "vbpr" else 20,
        help="K, latent factors per user and item.",
    )
    if model == "vbpr":
        group.add_argument("--num-visual-factors", type=common.positive_int, default=10, help="K'.")
    group.add_argument(
        "--factor-regularization",
        type=common.non_negative_float,
        default=FACTOR_REGULARIZATION,
        help="L2 weight per sampled triple on the user and item factors (default "
        f"{FACTOR_REGULARIZATION:g}, chosen on validation AUC; README).",
    )
    group.add_argument(
        "--bias-regularization",
        type=common.non_negative_float,
        default=BIAS_REGULARIZATION,
        help=f"L2 weight on the item biases (default {BIAS_REGULARIZATION:g}).",
    )
    if model == "vbpr":
        group.add_argument(
            "--visual-regularization",
            type=common.non_negative_float,
            default=VISUAL_REGULARIZATION,
            help="L2 weight on E and beta', once per step (default "
            f"{VISUAL_REGULARIZATION:g}, chosen on validation AUC).",
        )
    group.add_argument(
        "--optimizer",
        default="adam",
        choices=["adam", "lazy-adam"],
        help="adam: tf_keras Adam (every row's moments decay each step); lazy-adam: "
        "tfrec.optimizers.LazyAdam, which updates only the rows in the batch (faster on large "
        "catalogues, see README). Default adam.",
    )
    common.add_training_arguments(
        parser,
        epochs=300,
        batch_size=None,
        learning_rate=5e-3,
        steps_per_execution=DEFAULT_STEPS_PER_EXECUTION,
        patience=20,
        distribute=False,
    )
    common.add_output_arguments(parser, model)


def make_experiment(args):
    from tfrec.training import LeaveOneOutExperiment

    vbpr = args.model == "vbpr"
    return LeaveOneOutExperiment(
        model=args.model,
        dataset=args.dataset,
        data_dir=args.data_dir,
        download=args.download,
        cache_dir=args.cache_dir,
        new_item_fraction=args.new_item_fraction,
        validation_users=args.validation_users,
        popularity_baseline=args.popularity_baseline,
        image_features=args.image_features if vbpr else None,
        feature_scaling=args.feature_scaling if vbpr else "none",
        num_factors=args.num_factors,
        num_visual_factors=args.num_visual_factors if vbpr else 0,
        factor_regularization=args.factor_regularization,
        bias_regularization=args.bias_regularization,
        visual_regularization=args.visual_regularization if vbpr else 0.0,
        optimizer=args.optimizer,
    )
