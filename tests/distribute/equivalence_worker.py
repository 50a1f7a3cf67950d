"""One process of the data-parallel equivalence test (run by tests/distribute/test_equivalence.py).

Trains a Mult-DAE without dropout with `MomentumCorrectedSGD` under `LinearScalingWarmup` on a
small seeded interaction matrix, through tfrec's distribute context and tf.data pipeline, and
writes the chief's final weights to ``--out`` (``.npz``). Run as a single process
(``--distribute none``), under ``horovodrun`` or with ``TF_CONFIG``.
"""

import argparse
import os
import sys

import tfrec  # noqa: F401  (selects tf_keras before TensorFlow)

NUM_USERS, NUM_ITEMS = 96, 40
BASE_BATCH, BASE_LEARNING_RATE = 8, 0.05


def interaction_matrix(seed=0):
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, NUM_ITEMS + 1) ** 0.8
    dense = rng.random((NUM_USERS, NUM_ITEMS)) < 0.4 * popularity / popularity.mean() * 0.5
    dense[np.arange(NUM_USERS), rng.integers(0, NUM_ITEMS, NUM_USERS)] = True
    return sp.csr_matrix(dense.astype(np.float32))


def _optimizer_chain(optimizer):
    """E.g. ``"LossScaleOptimizerV3>MomentumCorrectedSGD+allreduce"``."""
    names = []
    while optimizer is not None:
        name = type(optimizer).__name__
        names.append(name + ("+allreduce" if hasattr(optimizer, "_allreduce") else ""))
        optimizer = getattr(optimizer, "inner_optimizer", None)
    return ">".join(names)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--distribute", default="none")
    parser.add_argument("--local-batch", type=int, required=True)
    parser.add_argument("--global-batch", type=int, required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-shuffle", action="store_true")
    parser.add_argument(
        "--die-rank", type=int, default=None, help="This rank exits abruptly at step 3."
    )
    args = parser.parse_args(argv)

    from tfrec.distribute import make_context

    context = make_context(args.distribute)

    from tfrec.data.pipeline import sparse_user_batches
    from tfrec.models import MultDAE
    from tfrec.optimizers import MomentumCorrectedSGD
    from tfrec.schedules import LinearScalingWarmup

    import numpy as np
    import tf_keras as keras

    keras.mixed_precision.set_global_policy(args.precision)
    keras.utils.set_random_seed(1234)
    matrix = interaction_matrix()
    steps_per_epoch = NUM_USERS // args.global_batch
    with context.scope():
        model = MultDAE(
            NUM_ITEMS, hidden_dims=(16,), latent_dim=8, dropout_rate=0.0, l2_regularization=0.0
        )
        model(np.zeros((1, NUM_ITEMS), np.float32))
        schedule = LinearScalingWarmup(
            BASE_LEARNING_RATE,
            base_batch_size=BASE_BATCH,
            global_batch_size=args.global_batch,
            warmup_epochs=1,
            steps_per_epoch=steps_per_epoch,
        )
        optimizer = context.wrap_optimizer(MomentumCorrectedSGD(schedule, momentum=0.9))
        model.compile(optimizer=optimizer)
    initial = [w.numpy().copy() for w in model.trainable_weights]
    data = context.fit_data(
        lambda num_shards, shard_index: sparse_user_batches(
            matrix,
            args.local_batch,
            shuffle=not args.no_shuffle,
            seed=7,
            num_shards=num_shards,
            shard_index=shard_index,
            prefetch=False,
        ),
        context.steps_per_epoch(NUM_USERS, args.local_batch),
    )
    callbacks = context.callbacks()
    if args.die_rank == context.rank:

        class Die(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 3:
                    os._exit(3)

        callbacks.append(Die())
    history = model.fit(**data, epochs=args.epochs, callbacks=callbacks, verbose=0)
    weights = [w.numpy() for w in model.trainable_weights]
    if context.is_chief:
        out = args.out
        temporary = out + ".tmp.npz"
        np.savez(
            temporary,
            *weights,
            initial_kernel=initial[0],
            world_size=context.world_size,
            iterations=int(model.optimizer.iterations.numpy()),
            loss=np.array(history.history["loss"]),
            optimizer_chain=_optimizer_chain(model.optimizer),
        )
        os.replace(temporary, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
