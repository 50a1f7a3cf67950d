"""A standard Horovod training script for tfrec's Mult-VAE on MovieLens.

Written the way Horovod's own Keras examples are (hvd.init, DistributedOptimizer, broadcast and
metric-averaging callbacks, rank-0 side effects), with tfrec supplying the model, the sharded
tf.data pipeline and the warmup schedule driven by ``hvd.size()``. Launch::

    .venv/bin/horovodrun --gloo -np 2 -H localhost:2 .venv/bin/python examples/horovod_train.py \
        --data-dir ../shared/data/ml-1m --epochs 20 --local-batch-size 250

Horovod is an optional extra: ``python tools/install_horovod.py`` builds it.
"""

import argparse
import os
import sys

import tfrec  # noqa: F401  (first: selects tf_keras before TensorFlow is imported)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--local-batch-size", type=int, default=250, help="Users per rank.")
    parser.add_argument("--base-learning-rate", type=float, default=1e-3)
    parser.add_argument("--base-batch-size", type=int, default=500)
    parser.add_argument("--lr-scaling", default="sqrt", choices=["linear", "sqrt", "none"])
    parser.add_argument("--warmup-epochs", type=float, default=2.0)
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--seed", type=int, default=98765)
    parser.add_argument("--export-dir", default=None, help="SavedModel folder (rank 0 only).")
    args = parser.parse_args(argv)

    from tfrec.distribute import import_horovod_keras

    hvd = import_horovod_keras()  # horovod.tensorflow.keras, bound to tf_keras
    hvd.init()

    from tfrec.data.heldout_users import split_heldout_users
    from tfrec.data.movielens import read_movielens
    from tfrec.data.pipeline import sparse_evaluation_batches, sparse_user_batches
    from tfrec.metrics import NDCGAtK, evaluate_heldout_users
    from tfrec.models import MultVAE
    from tfrec.schedules import LinearScalingWarmup

    import tf_keras as keras

    keras.mixed_precision.set_global_policy(args.precision)
    # The same seed on every rank: same split, same initial weights, one shared shuffle order.
    keras.utils.set_random_seed(args.seed)
    split = split_heldout_users(
        read_movielens(args.dataset, args.data_dir),
        num_validation_users=600,
        num_test_users=600,
        seed=args.seed,
    )
    global_batch = args.local_batch_size * hvd.size()
    users_per_rank = split.train.num_users // hvd.size()
    steps_per_epoch = -(-users_per_rank // args.local_batch_size)

    # Each rank reads its part of one seeded shuffle per epoch (Goyal et al.); every rank gets
    # the same number of batches, so no rank waits at the end of an epoch.
    train = sparse_user_batches(
        split.train.matrix,
        args.local_batch_size,
        seed=args.seed,
        num_shards=hvd.size(),
        shard_index=hvd.rank(),
    ).repeat()
    validation = sparse_evaluation_batches(
        split.validation_fold_in, split.validation_target, batch_size=1000
    )
    schedule = LinearScalingWarmup(
        args.base_learning_rate,
        base_batch_size=args.base_batch_size,
        global_batch_size=global_batch,
        scaling_rule=args.lr_scaling,
        warmup_epochs=args.warmup_epochs,
        steps_per_epoch=steps_per_epoch,
    )
    model = MultVAE(split.num_items)
    model.compile(
        optimizer=hvd.DistributedOptimizer(keras.optimizers.Adam(schedule)),
        metrics=[NDCGAtK(100)],
    )
    callbacks = [
        hvd.callbacks.BroadcastGlobalVariablesCallback(0),
        hvd.callbacks.MetricAverageCallback(),
    ]
    model.fit(
        train,
        steps_per_epoch=steps_per_epoch,
        epochs=args.epochs,
        validation_data=validation,
        callbacks=callbacks,
        verbose=2 if hvd.rank() == 0 else 0,
    )

    if hvd.rank() != 0:
        return 0
    test = evaluate_heldout_users(
        lambda x: model(x, training=False).numpy(), split.test_fold_in, split.test_target
    )
    print(
        f"{hvd.size()} ranks, global batch {global_batch}, target rate "
        f"{schedule.target_learning_rate:.2e}: test NDCG@100 {test['ndcg@100']:.4f}, "
        f"Recall@20 {test['recall@20']:.4f}"
    )
    if args.export_dir:
        from tfrec.export import export_saved_model
        from tfrec.export.interaction_serving import InteractionServing

        serving = InteractionServing(model, split.item_ids, default_k=100)
        path = export_saved_model(
            serving, args.export_dir, signatures={"serving_default": serving.serve}
        )
        print(f"SavedModel written to {os.fspath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
