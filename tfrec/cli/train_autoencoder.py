"""``tfrec train mult-vae|mult-dae|ease|popularity``: Liang et al.'s held-out-user protocol.

Reads MovieLens, holds out validation and test users, trains (Mult-VAE/Mult-DAE with `fit`,
keeping the weights of the epoch with the best validation NDCG@100; EASE and popularity in
closed form), prints test Recall@20, Recall@50 and NDCG@100, and exports a SavedModel.
"""

import pathlib
import time

from tfrec.cli import common
from tfrec.data.movielens import DATASETS

# Held-out users per dataset: Liang et al. use 10,000 of 136,677 users on ML-20M.
DEFAULT_HELDOUT_USERS = {"ml-100k": 100, "ml-1m": 600, "ml-20m": 10000}
DEFAULT_EPOCHS = {"mult-vae": 200, "mult-dae": 200}
TEST_RECALL_KS = (20, 50)
TEST_NDCG_KS = (100,)
# Measured by examples/benchmark_training.py (README, "Training speed").
DEFAULT_STEPS_PER_EXECUTION = 10


def add_arguments(parser) -> None:
    common.add_common_arguments(parser, default_dataset="ml-1m", datasets=DATASETS)
    group = parser.add_argument_group("protocol (Liang et al., 2018)")
    group.add_argument("--validation-users", type=int, default=None)
    group.add_argument("--test-users", type=int, default=None)
    group.add_argument(
        "--rating-threshold",
        type=float,
        default=3.5,
        help="Keep ratings above this (ignored for implicit data). Default 3.5.",
    )
    group.add_argument("--min-user-interactions", type=int, default=5)
    group = parser.add_argument_group("model")
    group.add_argument("--hidden-dims", type=int, nargs="*", default=None)
    group.add_argument("--latent-dim", type=int, default=200)
    group.add_argument("--dropout-rate", type=float, default=0.5)
    group.add_argument("--anneal-cap", type=float, default=0.2)
    group.add_argument(
        "--total-anneal-steps",
        type=int,
        default=None,
        help="Updates over which the KL weight would reach 1 (it stops at --anneal-cap). "
        "Default: the run's number of updates, so beta reaches the cap after anneal_cap of "
        "training, as with the paper's 200,000 on ML-20M (46,600 updates for 200 epochs).",
    )
    group.add_argument(
        "--l2-regularization",
        type=float,
        default=None,
        help="Weight decay (Mult-VAE 0, Mult-DAE 0.01) or EASE lambda (500).",
    )
    group.add_argument(
        "--patience",
        type=int,
        default=None,
        help="Stop after this many epochs without a better validation NDCG@100 "
        "(default: never stop early; the best epoch's weights are restored either way).",
    )
    common.add_execution_arguments(
        parser,
        steps_per_execution=DEFAULT_STEPS_PER_EXECUTION,
        jit_compile=False,  # XLA cannot compile the sparse first layer's product
    )
    common.add_scaling_arguments(parser)


def _build_model(args, num_items):
    from tfrec import models

    if args.model == "mult-vae":
        return models.MultVAE(
            num_items,
            hidden_dims=args.hidden_dims if args.hidden_dims is not None else (600,),
            latent_dim=args.latent_dim,
            dropout_rate=args.dropout_rate,
            anneal_cap=args.anneal_cap,
            total_anneal_steps=args.total_anneal_steps,
            l2_regularization=args.l2_regularization or 0.0,
        )
    if args.model == "mult-dae":
        return models.MultDAE(
            num_items,
            hidden_dims=args.hidden_dims if args.hidden_dims is not None else (),
            latent_dim=args.latent_dim,
            dropout_rate=args.dropout_rate,
            l2_regularization=0.01 if args.l2_regularization is None else args.l2_regularization,
        )
    if args.model == "ease":
        return models.EASE(
            num_items,
            l2_regularization=500.0 if args.l2_regularization is None else args.l2_regularization,
        )
    return models.Popularity(num_items)


def _train_with_fit(args, model, split, epochs, context):
    """Trains a Keras autoencoder with `fit`; returns the validation NDCG@100 curve.

    Under --distribute each worker reads its shard of one seeded shuffle per epoch at the local
    batch (global / world size), gradients are averaged across workers and the rate follows
    `LinearScalingWarmup`. Every worker runs the (cheap) validation on all validation users so
    that all take the same best-epoch and early-stopping decisions.
    """
    from tfrec.data.pipeline import sparse_evaluation_batches, sparse_user_batches
    from tfrec.metrics import NDCGAtK

    import tf_keras as keras

    local_batch = common.local_batch_size(args, context)
    steps_per_epoch = context.steps_per_epoch(split.train.num_users, local_batch)
    learning_rate = common.learning_rate_schedule(args, steps_per_epoch)
    with context.scope():
        model.compile(
            optimizer=context.wrap_optimizer(keras.optimizers.Adam(learning_rate=learning_rate)),
            metrics=[NDCGAtK(100)],
            **common.compile_options(args),
        )
    context.prepare_model(model)
    train = context.fit_data(
        lambda num_shards, shard_index: sparse_user_batches(
            split.train.matrix,
            local_batch,
            shuffle=True,
            seed=args.seed,
            num_shards=num_shards,
            shard_index=shard_index,
        ),
        steps_per_epoch,
    )
    validation = sparse_evaluation_batches(
        split.validation_fold_in, split.validation_target, batch_size=2000
    )
    # Horovod's broadcast and metric averaging come first, so early stopping sees averaged logs.
    callbacks = context.callbacks() + [
        keras.callbacks.EarlyStopping(
            monitor="val_ndcg@100",
            mode="max",
            patience=args.patience or epochs,
            restore_best_weights=True,
            verbose=1 if context.is_chief else 0,
        ),
        keras.callbacks.TerminateOnNaN(),
    ]
    history = model.fit(
        **train,
        validation_data=validation,
        epochs=epochs,
        callbacks=callbacks,
        verbose=args.verbose if context.is_chief else 0,
    )
    return [float(v) for v in history.history.get("val_ndcg@100", [])]


def run(args) -> dict:
    from tfrec.data.heldout_users import split_heldout_users
    from tfrec.data.movielens import read_movielens

    epochs = args.epochs if args.epochs is not None else DEFAULT_EPOCHS.get(args.model, 1)
    epochs = common.positive_int("--epochs", epochs)
    common.positive_int("--batch-size", args.batch_size)
    validation_users = args.validation_users
    if validation_users is None:
        validation_users = DEFAULT_HELDOUT_USERS[args.dataset]
    test_users = args.test_users if args.test_users is not None else validation_users
    common.positive_int("--validation-users", validation_users)
    common.positive_int("--test-users", test_users)

    # The distribute context first: MultiWorkerMirroredStrategy must exist before any TF op.
    context = common.make_distribute_context(args)
    if context.kind != "none" and args.model not in ("mult-vae", "mult-dae"):
        raise ValueError(
            f"--distribute {context.kind} needs mult-vae or mult-dae, not {args.model}."
        )
    common.set_seed(args.seed)
    common.apply_precision(args.precision)
    frame = read_movielens(args.dataset, args.data_dir, args.download, args.cache_dir)
    split = split_heldout_users(
        frame,
        num_validation_users=validation_users,
        num_test_users=test_users,
        rating_threshold=args.rating_threshold,
        min_user_interactions=args.min_user_interactions,
        seed=args.seed,
    )
    if context.is_chief:
        print(
            f"{args.dataset}: {split.train.num_users} training users, "
            f"{len(split.validation_user_ids)} validation and "
            f"{len(split.test_user_ids)} test users, "
            f"{split.num_items} items, {split.train.num_interactions} training interactions."
        )

    from tfrec.metrics import evaluate_heldout_users

    if args.model == "mult-vae" and args.total_anneal_steps is None:
        local_batch = common.local_batch_size(args, context)
        args.total_anneal_steps = epochs * context.steps_per_epoch(
            split.train.num_users, local_batch
        )
    with context.scope():
        model = _build_model(args, split.num_items)
    started = time.time()
    if hasattr(model, "fit_closed_form"):
        model.fit_closed_form(split.train.matrix)
        curve = []
    else:
        curve = _train_with_fit(args, model, split, epochs, context)
    train_seconds = time.time() - started
    if context.kind != "none":
        import numpy as np

        # Every worker takes part in the copy; then evaluation and export are the chief's.
        model = context.chief_model(model, np.zeros((1, split.num_items), np.float32))
    if not context.is_chief:
        # Test evaluation, export and metrics are the chief's alone (rank 0).
        return {"rank": context.rank, "train_seconds": train_seconds}

    def score(x):
        return model(x, training=False).numpy()

    test = evaluate_heldout_users(
        score, split.test_fold_in, split.test_target, TEST_RECALL_KS, TEST_NDCG_KS
    )
    validation = evaluate_heldout_users(
        score, split.validation_fold_in, split.validation_target, TEST_RECALL_KS, TEST_NDCG_KS
    )
    common.print_table(
        f"Test ({test['users']} held-out users, fold-in items masked):",
        [(name, test[name]) for name in ("recall@20", "recall@50", "ndcg@100")],
    )
    payload = {
        "model": args.model,
        "dataset": args.dataset,
        "test": test,
        "validation": validation,
        "validation_curve": {"ndcg@100": curve},
        "best_epoch": (curve.index(max(curve)) + 1) if curve else None,
        "train_seconds": train_seconds,
        **context.describe(),
        "arguments": {k: v for k, v in vars(args).items() if not k.startswith("_")},
    }
    if not args.no_export:
        payload["export"] = str(_export(args, model, split))
        print(f"SavedModel written to {payload['export']}")
    if args.metrics_out:
        common.write_metrics(args.metrics_out, payload)
        print(f"Metrics written to {args.metrics_out}")
    return payload


def _export(args, model, split) -> pathlib.Path:
    from tfrec.export import export_saved_model
    from tfrec.export.interaction_serving import InteractionServing

    export_dir = args.export_dir or str(pathlib.Path("saved_models") / args.model.replace("-", "_"))
    serving = InteractionServing(model, split.item_ids, default_k=100)
    return export_saved_model(
        serving,
        export_dir,
        signatures={"serving_default": serving.serve},
        warmup_requests=serving.warmup_requests(),
    )
