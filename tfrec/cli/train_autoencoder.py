"""Flags of ``tfrec train mult-vae|mult-dae|ease|popularity`` (Liang et al.'s protocol).

The protocol itself is `tfrec.training.HeldOutUsersExperiment`.
"""

from tfrec.cli import common
from tfrec.data.movielens import DATASETS
from tfrec.training.heldout_users_experiment import DEFAULT_STEPS_PER_EXECUTION, NVIDIA_RECIPE

PAPER_TOTAL_ANNEAL_STEPS = 200_000  # Liang et al.'s notebook (ML-20M)
# Named presets of `tfrec train mult-vae`: flag defaults that a command line's own flags still
# override.
RECIPES = {"nvidia": NVIDIA_RECIPE}


def anneal_steps(text: str) -> int:
    """argparse type of --total-anneal-steps: a positive int or ``paper`` (200,000)."""
    if text == "paper":
        return PAPER_TOTAL_ANNEAL_STEPS
    return common.positive_int(text)


def add_arguments(parser, model: str) -> None:
    common.add_data_arguments(parser, DATASETS, "ml-1m", downloadable=True)
    group = parser.add_argument_group("protocol (Liang et al., 2018)")
    group.add_argument(
        "--validation-users",
        type=common.positive_int,
        default=None,
        help="Held-out validation users (default 100 / 600 / 10,000 on ML-100K / ML-1M / ML-20M).",
    )
    group.add_argument(
        "--test-users",
        type=common.positive_int,
        default=None,
        help="Held-out test users (default: as --validation-users).",
    )
    group.add_argument(
        "--rating-threshold",
        type=float,
        default=3.5,
        help="Keep ratings above this (ignored for implicit data). Default 3.5.",
    )
    group.add_argument("--min-user-interactions", type=common.positive_int, default=5)
    group = parser.add_argument_group("model")
    if model in ("mult-vae", "mult-dae"):
        group.add_argument(
            "--hidden-dims",
            type=common.positive_int,
            nargs="*",
            default=None,
            help="Encoder widths (default: 600 for Mult-VAE, none for Mult-DAE).",
        )
        group.add_argument("--latent-dim", type=common.positive_int, default=200)
        group.add_argument("--dropout-rate", type=common.fraction, default=0.5)
    if model == "mult-vae":
        group.add_argument("--anneal-cap", type=common.non_negative_float, default=0.2)
        group.add_argument(
            "--total-anneal-steps",
            type=anneal_steps,
            default=None,
            help="Updates over which the KL weight beta = updates / N would reach 1 (it stops at "
            "--anneal-cap). Default: the run's number of updates, so beta reaches the cap after "
            "--anneal-cap of training (20%%); on ML-1M this beat the paper's N on validation "
            "NDCG@100 (README). 'paper': Liang et al.'s N = 200,000, tuned for ML-20M, where "
            "beta reaches 0.2 after 40,000 of the notebook's ~46,800 updates (85%% of "
            "training); on smaller datasets beta then stays far below the cap.",
        )
    if model == "mult-vae":
        group.add_argument(
            "--recipe",
            choices=sorted(RECIPES),
            default=None,
            help="nvidia: NVIDIA DeepLearningExamples VAE-CF's tuned setting: global batch "
            "24,576 with Adam lr 0.004 tuned for it (not rescaled), betas 0.9/0.9, epsilon 1e-8, "
            "KL weight min(0.1, updates / 15,000), dropout 0.5, 400 epochs, no L2 (its --lam 1.0 "
            "never reached its loss). Flags given on the command line override it.",
        )
    if model != "popularity":
        group.add_argument(
            "--l2-regularization",
            type=common.non_negative_float,
            default=None,
            help={
                "mult-vae": "Weight decay lam: adds lam * sum w^2 over the kernels to the "
                "per-user mean loss (default 0).",
                "mult-dae": "Weight decay (default 0.01 / --batch-size, Liang et al.'s notebook: "
                "2e-5 at batch 500).",
                "ease": "EASE's lambda (default 500).",
            }[model],
        )
    if model in ("mult-vae", "mult-dae"):
        group = parser.add_argument_group("Adam")
        group.add_argument("--adam-beta-1", type=common.fraction, default=0.9)
        group.add_argument("--adam-beta-2", type=common.fraction, default=0.999)
        group.add_argument(
            "--adam-epsilon",
            type=common.positive_float,
            default=1e-7,
            help="Default 1e-7 (tf_keras's; TensorFlow 1's tf.train.AdamOptimizer used 1e-8).",
        )
        common.add_training_arguments(
            parser,
            epochs=200,
            batch_size=500,
            learning_rate=1e-3,
            steps_per_execution=DEFAULT_STEPS_PER_EXECUTION,
            patience=None,
            distribute=True,
        )
    common.add_output_arguments(parser, model)


def make_experiment(args):
    from tfrec.training import HeldOutUsersExperiment

    return HeldOutUsersExperiment(
        model=args.model,
        dataset=args.dataset,
        data_dir=args.data_dir,
        download=args.download,
        cache_dir=args.cache_dir,
        validation_users=args.validation_users,
        test_users=args.test_users,
        rating_threshold=args.rating_threshold,
        min_user_interactions=args.min_user_interactions,
        hidden_dims=getattr(args, "hidden_dims", None),
        latent_dim=getattr(args, "latent_dim", 200),
        dropout_rate=getattr(args, "dropout_rate", 0.5),
        anneal_cap=getattr(args, "anneal_cap", 0.2),
        total_anneal_steps=getattr(args, "total_anneal_steps", None),
        l2_regularization=getattr(args, "l2_regularization", None),
        adam_beta_1=getattr(args, "adam_beta_1", 0.9),
        adam_beta_2=getattr(args, "adam_beta_2", 0.999),
        adam_epsilon=getattr(args, "adam_epsilon", 1e-7),
    )
