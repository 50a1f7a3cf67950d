"""Training throughput of VBPR and BPR-MF on MovieLens 1M: triples per second, seconds per epoch.

Measures, in one run on this machine:
  1. the tf.data triple pipeline alone (sampling negatives by in-batch rejection), one epoch;
  2. `model.fit` of VBPR (K = K' = 10, 1,280-d poster features) and BPR-MF (K = 20), epochs 2..N
     (epoch 1 includes tracing and is reported separately).

Usage:
    python examples/benchmark_vbpr.py --data-dir ../shared/data/ml-1m [--epochs 3]
    (``--dataset ml-100k --data-dir ../shared/data/ml-100k`` for a quick check)
"""

import argparse
import time

import tfrec  # noqa: F401  (selects Keras 2 before TensorFlow is imported)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-1m", choices=["ml-100k", "ml-1m"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--features", default="image_features.npz")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from tfrec.data.interactions import Interactions
    from tfrec.data.item_features import load_item_features
    from tfrec.data.leave_one_out import split_leave_one_out
    from tfrec.data.movielens import read_movielens
    from tfrec.data.paths import resolve_data_dir
    from tfrec.data.triples import bpr_triples
    from tfrec.models.bpr_mf import BPRMF
    from tfrec.models.vbpr import VBPR

    import tf_keras as keras

    folder = resolve_data_dir(args.data_dir, args.dataset)
    split = split_leave_one_out(
        Interactions.from_frame(read_movielens(args.dataset, folder)), seed=args.seed
    )
    features, _ = load_item_features(folder / args.features, split.item_ids, scaling="minmax")
    triples = split.train.nnz
    print(f"{args.dataset}: {triples} training triples per epoch, batch {args.batch_size}.")

    dataset = bpr_triples(split.train, args.batch_size, seed=args.seed)
    started = time.perf_counter()
    for _ in dataset:
        pass
    seconds = time.perf_counter() - started
    print(f"pipeline only: {seconds:.2f} s/epoch, {triples / seconds:,.0f} triples/s")

    builds = {
        "VBPR (K=10, K'=10)": lambda: VBPR(
            split.num_users, split.num_items, features.shape[1], 10, 10
        ),
        "BPR-MF (K=20)": lambda: BPRMF(split.num_users, split.num_items, 20),
    }
    for name, build in builds.items():
        keras.utils.set_random_seed(args.seed)
        model = build()
        if model.has_visual_term:
            model.set_item_features(features)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        epoch_seconds = []
        for _ in range(args.epochs):
            started = time.perf_counter()
            model.fit(dataset, epochs=1, verbose=0)
            epoch_seconds.append(time.perf_counter() - started)
        steady = epoch_seconds[1:] or epoch_seconds
        mean = sum(steady) / len(steady)
        print(
            f"{name}: first epoch {epoch_seconds[0]:.1f} s (with tracing); later epochs "
            f"{mean:.1f} s/epoch, {triples / mean:,.0f} triples/s"
        )


if __name__ == "__main__":
    main()
