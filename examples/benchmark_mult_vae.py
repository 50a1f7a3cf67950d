"""Mult-VAE training throughput on MovieLens 1M: sparse vs densified input, prefetch on vs off.

NVIDIA's VAE-CF work reports that feeding the interaction matrix as sparse batches and
prefetching with tf.data speed up training. This script measures both on this machine, in one
run, so the ratios are comparable (absolute CPU numbers are not GPU numbers).

    .venv/bin/python examples/benchmark_mult_vae.py --data-dir ../shared/data/ml-1m --epochs 5

Input variants:
  sparse   rows of the CSR matrix assembled as tf.SparseTensor batches inside tf.data
           (tfrec.data.pipeline.sparse_user_batches); only a batch is ever dense.
  dense    the whole user x item matrix densified in host memory and fed with
           tf.data.Dataset.from_tensor_slices, the usual non-sparse pipeline.
"""

import argparse
import time

from tfrec.data.heldout_users import split_heldout_users
from tfrec.data.movielens import read_movielens
from tfrec.data.pipeline import sparse_user_batches
from tfrec.models import MultVAE

import numpy as np
import tensorflow as tf
import tf_keras as keras


def dense_batches(matrix, batch_size, seed, prefetch):
    dense = matrix.toarray()
    dataset = tf.data.Dataset.from_tensor_slices(dense)
    dataset = dataset.shuffle(len(dense), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    return dataset.prefetch(tf.data.AUTOTUNE) if prefetch else dataset


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/ml-1m")
    parser.add_argument("--epochs", type=int, default=5, help="Timed epochs per variant.")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=98765)
    args = parser.parse_args()

    split = split_heldout_users(read_movielens("ml-1m", args.data_dir), 600, 600, seed=args.seed)
    matrix = split.train.matrix
    num_users, num_items = matrix.shape
    csr_bytes = matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes
    print(
        f"ML-1M training matrix: {num_users} users x {num_items} items, {matrix.nnz} interactions; "
        f"CSR {csr_bytes / 2**20:.1f} MiB vs dense {num_users * num_items * 4 / 2**20:.1f} MiB"
    )
    print(
        f"TensorFlow {tf.__version__}, {len(tf.config.list_physical_devices('CPU'))} CPU device, "
        f"batch {args.batch_size}, {args.epochs} timed epochs after 1 warm-up epoch"
    )
    variants = [
        ("sparse", True),
        ("sparse", False),
        ("dense", True),
        ("dense", False),
    ]
    # Epochs of the variants are interleaved (round-robin), so that load from other processes
    # on a shared machine falls on every variant alike; the first round warms up (tracing).
    runs = {}
    for input_kind, prefetch in variants:
        keras.utils.set_random_seed(args.seed)
        model = MultVAE(num_items)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        if input_kind == "sparse":
            data = sparse_user_batches(matrix, args.batch_size, seed=args.seed, prefetch=prefetch)
        else:
            data = dense_batches(matrix, args.batch_size, args.seed, prefetch)
        runs[(input_kind, prefetch)] = (model, data, [])
    for round_index in range(args.epochs + 1):
        for model, data, times in runs.values():
            start = time.perf_counter()
            model.fit(data, epochs=1, verbose=0)
            if round_index > 0:
                times.append(time.perf_counter() - start)
    results = {}
    for (input_kind, prefetch), (_, _, times) in runs.items():
        epoch_seconds = float(np.median(times))
        results[(input_kind, prefetch)] = epoch_seconds
        print(
            f"{input_kind:>6} input, prefetch {'on ' if prefetch else 'off'}: "
            f"{epoch_seconds:6.2f} s/epoch (median of {len(times)}), "
            f"{num_users / epoch_seconds:8.0f} users/s"
        )
    base = results[("dense", False)]
    print("Speed-up against dense input without prefetch (same run):")
    for key, seconds in results.items():
        print(f"  {key[0]:>6}, prefetch {'on ' if key[1] else 'off'}: {base / seconds:.2f}x")


if __name__ == "__main__":
    main()
